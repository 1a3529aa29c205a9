"""CumulativeSoftmax: kernels fast == reference over seeded shapes, dtypes
and thread counts; a float64 formula; a monotone CDF in [0, 1] ending at
exactly 1; gradient checks; PyTorch (cumsum of softmax); two threads at once;
the caller's floating-point mode; layer API and bad input."""
import threading

import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from nnfast._kernels import _threads
from conftest import assert_close, threads_and_cutoff


def random_case(seed, dtype):
    """(N, K, size) logits of mixed scale, a few at +-1e4; size == 1 (an
    output layer) for half the seeds, strided bins for the rest."""
    rng = np.random.default_rng([seed, 71])
    n, k = int(rng.integers(1, 20)), int(rng.integers(1, 700))
    size = 1 if seed % 2 else int(rng.integers(2, 9))
    x = rng.standard_normal((n, k, size)) * 10.0 ** rng.integers(-1, 3)
    x[rng.random(x.shape) < 0.01] = 1e4
    g = rng.standard_normal((n, k, size))
    return x.astype(dtype), g.astype(dtype)


def _formula(x):
    """float64 running sum of the softmax over axis 1."""
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return np.cumsum(e / e.sum(axis=1, keepdims=True), axis=1)


@pytest.mark.parametrize("seed", range(40))
def test_cumulative_kernels_fast_match_reference(seed, dtype, threads):
    x, g = random_case(seed, dtype)
    with threads_and_cutoff(threads):
        results = []
        for k in (_kernels, reference):
            probs, out, gx = (np.full_like(x, np.nan) for _ in range(3))
            k.cumulative_softmax_forward(x, probs, out)
            k.cumulative_softmax_backward(probs, g, gx)
            results.append((probs, out, gx))
    for fast, ref in zip(*results):
        assert fast.dtype == dtype
        assert_close(fast, ref, dtype)
    probs, out, _ = results[0]
    np.testing.assert_allclose(out, _formula(x), rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-13)
    # a CDF: monotone, in [0, 1], the last bin exactly 1, on both kernel sets
    for _, cdf, _ in results:
        assert np.all(np.diff(cdf, axis=1) >= 0)
        assert cdf.min() >= 0 and cdf.max() <= 1
        np.testing.assert_array_equal(cdf[:, -1], 1)


def test_cumulative_kernels_on_empty_arrays():
    for k in (_kernels, reference):
        x = np.zeros((0, 5, 1), np.float32)
        k.cumulative_softmax_forward(x, x.copy(), x.copy())
        k.cumulative_softmax_backward(x, x, x.copy())


@pytest.mark.parametrize("shape, dim", [((5, 1), 1), ((4, 9), 1), ((2, 6, 3), 1), ((2, 3, 7), -1)])
def test_cumulative_softmax_gradcheck(shape, dim):
    x = np.random.default_rng(2).standard_normal(shape) * 2
    assert set(nf.gradcheck(nf.layers.CumulativeSoftmax(dim=dim), x, rtol=1e-6)) == {"input"}


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_cumulative_softmax_matches_torch(torch, backend, dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((6, 600)) * 3).astype(dtype)
    g = rng.standard_normal((6, 600)).astype(dtype)
    with nf.use_backend(backend):
        layer = nf.layers.CumulativeSoftmax()
        y = layer.forward(x)
        gx = layer.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.cumsum(torch.softmax(tx, dim=1), dim=1)
    ty.backward(torch.tensor(g))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close(y, ty.detach().numpy(), dtype, rtol=rtol)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=rtol,
                               atol=rtol * np.abs(tx.grad.numpy()).max())


def test_cumulative_softmax_layer_api(dtype):
    layer = nf.layers.CumulativeSoftmax()
    assert layer.forward(np.ones((2, 4), dtype)).dtype == dtype
    np.testing.assert_allclose(layer.forward(np.zeros((1, 4), dtype)), [[0.25, 0.5, 0.75, 1.0]])
    assert layer.backward(np.ones((1, 4))).dtype == dtype
    assert nf.layers.CumulativeSoftmax().forward(np.ones((2, 3), np.int32)).dtype == np.float32
    assert repr(nf.layers.CumulativeSoftmax(dim=-1)) == "CumulativeSoftmax(dim=-1)"
    # a constant shift does not change the CDF, even at 1e4
    x = np.random.default_rng(4).standard_normal((3, 50)).astype(dtype)
    assert_close(layer.forward(x + dtype(1e4)), layer.forward(x), dtype,
                 rtol=1e-2 if dtype == np.float32 else 1e-9)


def test_cumulative_softmax_in_a_model_saves_and_loads(tmp_path):
    nf.seed(0)
    model = nf.Sequential([nf.layers.Linear(3, 10), nf.layers.CumulativeSoftmax()])
    x = np.random.default_rng(5).standard_normal((4, 3)).astype(np.float32)
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(nf.load(tmp_path / "m.npz").predict(x), model.predict(x))


def test_two_threads_at_once_get_what_each_gets_alone():
    rng = np.random.default_rng(6)
    xs = [rng.standard_normal((64, 600)).astype(np.float32) for _ in range(2)]
    gs = [rng.standard_normal((64, 600)).astype(np.float32) for _ in range(2)]

    def run(i):
        layer = nf.layers.CumulativeSoftmax()
        return layer.forward(xs[i]).copy(), layer.backward(gs[i]).copy()

    alone = [run(0), run(1)]
    together = [None, None]

    def worker(i):
        for _ in range(20):
            together[i] = run(i)
            for a, b in zip(together[i], alone[i]):
                np.testing.assert_array_equal(a, b)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for i in range(2):
        for a, b in zip(together[i], alone[i]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_cumulative_softmax_leaves_the_fp_mode(n_threads):
    with threads_and_cutoff(n_threads):
        before = _threads.fp_mode()
        layer = nf.layers.CumulativeSoftmax()
        layer.forward(np.random.default_rng(7).standard_normal((32, 100)).astype(np.float32))
        layer.backward(np.ones((32, 100), np.float32))
        assert _threads.fp_mode() == before


@pytest.mark.parametrize("bad, error, match", [
    (np.float32(1.0), ValueError, "x must be an array"),
    (np.array(["a", "b"]), TypeError, "x must be a numeric"),
    (np.ones(4, np.float32), ValueError, r"at least 2 dimensions.*\(4,\)"),
    (np.ones((0, 3), np.float32), ValueError, "x must not be empty"),
])
def test_cumulative_softmax_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        nf.layers.CumulativeSoftmax().forward(bad)


def test_cumulative_softmax_bad_grad_output_and_dim():
    layer = nf.layers.CumulativeSoftmax()
    layer.forward(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match="grad_output"):
        layer.backward(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="dim"):
        nf.layers.CumulativeSoftmax(dim=3).forward(np.ones((2, 5), np.float32))
    with pytest.raises(TypeError, match="dim"):
        nf.layers.CumulativeSoftmax(dim=1.5)
