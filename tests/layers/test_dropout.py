"""Dropout: kernels fast == reference, statistics, eval, gradient check, bad input."""
import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from conftest import assert_backward_checks, assert_close

SEEDS = range(50)


def random_dropout_case(seed, dtype):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 5, 100, int(rng.integers(1, 20000))]))
    p = float(rng.choice([0.0, 0.1, 0.5, 0.9, 1.0]))
    x = rng.standard_normal(n).astype(dtype)
    mask = (rng.random(n) >= p).astype(np.uint8)
    scale = 1 / (1 - p) if p < 1 else 0.0
    return x, mask, scale


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kernel", ["dropout_forward", "dropout_backward"])
def test_dropout_kernels_fast_match_reference(kernel, seed, dtype, threads):
    x, mask, scale = random_dropout_case(seed, dtype)
    out_fast = np.full_like(x, np.nan)
    out_ref = np.full_like(x, np.nan)
    getattr(_kernels, kernel)(x, mask, scale, out_fast)
    getattr(reference, kernel)(x, mask, scale, out_ref)
    assert out_fast.dtype == dtype
    assert_close(out_fast, out_ref, dtype)
    assert_close(out_ref, x * mask * dtype(scale), dtype)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p, dtype):
    layer = nf.layers.Dropout(p, rng=0)
    x = np.full((200, 500), 2.0, dtype)
    out = layer.forward(x)
    assert out.dtype == dtype and out.shape == x.shape
    kept = out != 0
    # 100,000 Bernoulli draws: std of the kept fraction < 0.0016
    assert kept.mean() == pytest.approx(1 - p, abs=0.01)
    np.testing.assert_allclose(out[kept], 2.0 / (1 - p), rtol=1e-6)
    assert out.mean() == pytest.approx(2.0, rel=0.03)


def test_dropout_eval_and_p0_are_identity():
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32)
    layer = nf.layers.Dropout(0.5).eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    g = np.ones_like(x)
    np.testing.assert_array_equal(layer.backward(g), g)
    layer = nf.layers.Dropout(0.0)
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(g), g)


def test_dropout_p1_drops_everything_without_nan():
    layer = nf.layers.Dropout(1.0, rng=0)
    out = layer.forward(np.ones((3, 4)))
    assert np.all(out == 0) and np.all(np.isfinite(out))
    assert np.all(layer.backward(np.ones((3, 4))) == 0)


def test_dropout_backward_uses_forward_mask():
    layer = nf.layers.Dropout(0.5, rng=1)
    x = np.random.default_rng(2).standard_normal((10, 20))
    out = layer.forward(x)
    g = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(g != 0, out != 0)
    np.testing.assert_allclose(g[g != 0], 2.0)


class FixedMaskDropout(nf.layers.Dropout):
    """The same mask at every forward (one seed per draw): what a central
    difference needs, which compares forwards."""

    def _draw_mask(self, shape):
        self._rng = np.random.default_rng(123)
        return super()._draw_mask(shape)


def test_dropout_gradcheck():
    layer = FixedMaskDropout(0.4)
    x = np.random.default_rng(0).standard_normal((6, 7))
    errors = nf.gradcheck(layer, x, rtol=1e-6)
    assert errors["input"] <= 1e-6


def test_dropout_in_network_gradcheck():
    model = nf.Sequential([nf.layers.Linear(5, 8, dtype=np.float64, rng=0), FixedMaskDropout(0.3),
                           nf.layers.Linear(8, 3, dtype=np.float64, rng=1)])
    nf.gradcheck(model, np.random.default_rng(1).standard_normal((4, 5)), rtol=1e-6)


def test_dropout_seeding_and_fresh_masks():
    x = np.ones((50, 50))
    a, b = nf.layers.Dropout(0.5, rng=3), nf.layers.Dropout(0.5, rng=3)
    first = a.forward(x)
    np.testing.assert_array_equal(first, b.forward(x))
    assert not np.array_equal(first, a.forward(x))  # a new mask each forward
    nf.seed(9)
    c = nf.layers.Dropout(0.5).forward(x)
    nf.seed(9)
    np.testing.assert_array_equal(c, nf.layers.Dropout(0.5).forward(x))


def test_dropout_same_on_both_backends(dtype):
    x = np.random.default_rng(0).standard_normal((8, 9)).astype(dtype)
    g = np.random.default_rng(1).standard_normal((8, 9)).astype(dtype)
    results = []
    for backend in ("fast", "reference"):
        layer = nf.layers.Dropout(0.3, rng=5)
        with nf.use_backend(backend):
            results.append((layer.forward(x), layer.backward(g)))
    for fast, ref in zip(*results):
        assert fast.dtype == dtype
        assert_close(fast, ref, dtype)


def test_dropout_converts_input():
    layer = nf.layers.Dropout(0.5, rng=0)
    out = layer.forward(np.arange(24).reshape(4, 6)[:, ::2])
    assert out.dtype == np.float32 and out.shape == (4, 3)
    assert layer.backward(np.ones((4, 3), np.float64)).dtype == np.float32


def test_dropout_config_and_repr():
    assert repr(nf.layers.Dropout(0.25)) == "Dropout(p=0.25)"
    assert nf.layers.Dropout().p == 0.5 and nf.layers.Dropout().parameters() == []


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(p=-0.1), ValueError, "p must be >= 0"),
    (dict(p=1.5), ValueError, "p must be <= 1"),
    (dict(p=float("nan")), ValueError, "p must be finite"),
    (dict(p="0.5"), TypeError, "p must be a real number"),
    (dict(p=True), TypeError, "p"),
    (dict(rng="x"), TypeError, "rng"),
    (dict(rng=-1), TypeError, "rng"),
    (dict(rng=1.5), TypeError, "rng"),
])
def test_dropout_bad_constructor(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        nf.layers.Dropout(**kwargs)


@pytest.mark.parametrize("x, exc, words", [
    (np.ones((0, 3)), ValueError, "empty"),
    (np.array(["a", "b"]), TypeError, "numeric"),
    (np.ones(3, dtype=complex), TypeError, "numeric"),
    ([[1, 2], [3]], TypeError, "numeric"),
])
def test_dropout_bad_input(x, exc, words):
    with pytest.raises(exc, match=words):
        nf.layers.Dropout(0.5).forward(x)


def test_dropout_backward_errors():
    layer = nf.layers.Dropout(0.5)
    assert_backward_checks(layer, np.ones((2, 3)), [(3, 2)])
    with pytest.raises(TypeError, match="grad_output"):
        layer.backward(np.array([["a"] * 3] * 2))
