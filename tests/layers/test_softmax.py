"""Softmax and LogSoftmax: kernels fast == reference, stability at +-1e4,
gradient checks, torch, layer API, bad input."""
import warnings

import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from conftest import assert_close

SEEDS = range(50)
KINDS = ["softmax", "log_softmax"]


def random_case(seed, dtype):
    """(N, C, size) logits; size == 1 (a classifier) for half the seeds."""
    rng = np.random.default_rng(seed)
    n, c = rng.integers(1, 20), rng.integers(1, 30)
    size = 1 if seed % 2 else rng.integers(2, 20)
    x = (rng.standard_normal((n, c, size)) * 10.0 ** rng.integers(-1, 3)).astype(dtype)
    g = rng.standard_normal((n, c, size)).astype(dtype)
    return x, g


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_kernels_fast_match_reference(seed, dtype, threads):
    x, g = random_case(seed, dtype)
    for kind in KINDS:
        results = []
        for k in (_kernels, reference):
            out = np.empty_like(x)
            getattr(k, kind + "_forward")(x, out)
            gx = np.empty_like(x)
            getattr(k, kind + "_backward")(out, g, gx)
            results.append((out, gx))
        (out_f, gx_f), (out_r, gx_r) = results
        assert out_f.dtype == dtype and gx_f.dtype == dtype
        assert_close(out_f, out_r, dtype)
        assert_close(gx_f, gx_r, dtype)


# -- stability ----------------------------------------------------------------

@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3, 2)])
def test_softmax_family_finite_at_1e4(backend, shape, dtype):
    rng = np.random.default_rng(0)
    x = np.where(rng.random(shape) < 0.5, -1e4, 1e4).astype(dtype)
    x[0, 0] = 1e4  # at least one maximum per row in row 0
    x += rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape)
    with nf.use_backend(backend), warnings.catch_warnings():
        warnings.simplefilter("error")
        for layer in (nf.layers.Softmax(), nf.layers.LogSoftmax()):
            y = layer.forward(x)
            gx = layer.backward(g)
            assert y.dtype == dtype and gx.dtype == dtype
            assert np.all(np.isfinite(y)) and np.all(np.isfinite(gx))
        p = nf.layers.Softmax().forward(x)
        np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
        # one logit 2e4 above the rest: probability exactly 1 and log-prob 0
        big = np.zeros(shape, dtype)
        big[:, 0] = 1e4
        big[:, 1:] = -1e4
        np.testing.assert_array_equal(nf.layers.Softmax().forward(big)[:, 0], 1)
        np.testing.assert_array_equal(nf.layers.LogSoftmax().forward(big)[:, 0], 0)


def test_softmax_plus_1e4_shift_invariant(dtype):
    """The teaching framework's test: input + 10000 gives the same softmax."""
    x = np.random.default_rng(1).standard_normal((4, 6)).astype(dtype)
    layer = nf.layers.Softmax()
    assert_close(layer.forward(x + dtype(10000)), layer.forward(x), dtype, rtol=1e-2 if dtype == np.float32 else 1e-9)


# -- gradient checks ----------------------------------------------------------

@pytest.mark.parametrize("cls", [nf.layers.Softmax, nf.layers.LogSoftmax])
@pytest.mark.parametrize("shape", [(5, 1), (5, 7), (2, 3, 4, 5)])
def test_softmax_gradcheck(cls, shape):
    x = np.random.default_rng(2).standard_normal(shape) * 2
    errors = nf.gradcheck(cls(), x, rtol=1e-6)
    assert set(errors) == {"input"}


# -- torch ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 4, 5)])
def test_softmax_matches_torch(torch, name, shape, dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    ours = getattr(nf.layers, name)()
    y = ours.forward(x)
    gx = ours.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn, name)(dim=1)(tx)
    ty.backward(torch.tensor(g))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close(y, ty.detach().numpy(), dtype, rtol=rtol)
    assert_close(gx, tx.grad.numpy(), dtype, rtol=rtol)


# -- layer API ----------------------------------------------------------------

@pytest.mark.parametrize("cls", [nf.layers.Softmax, nf.layers.LogSoftmax])
def test_softmax_layer_dtypes(cls, dtype):
    assert cls().forward(np.ones((2, 3), dtype)).dtype == dtype
    assert cls().forward(np.ones((2, 3), np.int32)).dtype == np.float32
    layer = cls()
    layer.forward(np.ones((2, 3), dtype))
    assert layer.backward(np.ones((2, 3))).dtype == dtype


@pytest.mark.parametrize("cls", [nf.layers.Softmax, nf.layers.LogSoftmax])
def test_softmax_same_on_both_backends(cls, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 4)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    outs = []
    for backend in ("fast", "reference"):
        layer = cls()
        with nf.use_backend(backend):
            outs.append((layer.forward(x), layer.backward(g)))
    assert_close(outs[0][0], outs[1][0], dtype)
    assert_close(outs[0][1], outs[1][1], dtype)


def test_softmax_non_contiguous_input():
    x = np.random.default_rng(5).standard_normal((6, 8))[:, ::2]
    np.testing.assert_allclose(nf.layers.Softmax().forward(x),
                               np.exp(x) / np.exp(x).sum(1, keepdims=True), rtol=1e-12)


# -- bad input ------------------------------------------------------------

@pytest.mark.parametrize("cls", [nf.layers.Softmax, nf.layers.LogSoftmax])
@pytest.mark.parametrize("x, exc, words", [
    (np.ones(4), ValueError, "at least 2 dimensions"),
    (np.float64(3.0), ValueError, "at least 2 dimensions"),
    (np.ones((3, 0)), ValueError, "empty"),
    (np.array([["a"]]), TypeError, "numeric"),
])
def test_softmax_bad_input(cls, x, exc, words):
    with pytest.raises(exc, match=words):
        cls().forward(x)


@pytest.mark.parametrize("cls", [nf.layers.Softmax, nf.layers.LogSoftmax])
def test_softmax_backward_errors(cls):
    layer = cls()
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="grad_output must have shape"):
        layer.backward(np.ones((3, 2)))
