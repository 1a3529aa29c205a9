"""Linear: kernels fast == reference, gradient check, layer API and bad input."""
import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from conftest import assert_backward_checks, assert_close, random_linear_case

SEEDS = range(50)


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_forward_fast_matches_reference(seed, dtype, threads):
    x, w, b, _ = random_linear_case(seed, dtype)
    out_fast = np.empty((x.shape[0], w.shape[0]), dtype)
    out_ref = np.empty_like(out_fast)
    _kernels.linear_forward(x, w, b, out_fast)
    reference.linear_forward(x, w, b, out_ref)
    assert out_fast.dtype == dtype
    assert_close(out_fast, out_ref, dtype)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("requires_input_grad", [True, False])
@pytest.mark.parametrize("small_gemm", [True, False], ids=["small_gemm", "blas"])
@pytest.mark.parametrize("accumulate", [True, False])
def test_linear_backward_fast_matches_reference(seed, dtype, threads, requires_input_grad,
                                                small_gemm, accumulate):
    """On both float32 weight-gradient paths: the register-tile GEMM where
    the CPU has AVX-512F or AVX2, BLAS (every other CPU, and float64)."""
    from nnfast._kernels import _small_gemm
    if small_gemm and not _small_gemm.available():
        pytest.skip("this CPU has neither AVX-512F nor AVX2 with FMA")
    x, w, b, g = random_linear_case(seed, dtype)
    results = []
    old = _small_gemm.set_enabled(small_gemm)
    try:
        for k in (_kernels, reference):
            gx = np.empty_like(x) if requires_input_grad else None
            gw = np.ones_like(w)  # accumulates: start from non-zero
            gb = np.ones_like(b)
            k.linear_backward(x, w, g, gx, gw, gb, accumulate)
            results.append((gx, gw, gb))
    finally:
        _small_gemm.set_enabled(old)
    for fast, ref in zip(*results):
        if ref is not None:
            assert_close(fast, ref, dtype)


@pytest.mark.parametrize("seed", SEEDS)
def test_gemm_fast_matches_reference(seed, dtype, threads):
    rng = np.random.default_rng(seed)
    m, n, k = rng.integers(1, 40, size=3)
    ta, tb = rng.integers(0, 2, size=2).astype(bool)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    alpha, beta = rng.standard_normal(2)
    outs = []
    for kern in (_kernels, reference):
        c = c0.copy()
        kern.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta)
        outs.append(c)
    assert_close(outs[0], outs[1], dtype)


def test_linear_gradcheck():
    layer = nf.layers.Linear(6, 4, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).standard_normal((5, 6))
    errors = nf.gradcheck(layer, x, rtol=1e-6)
    assert set(errors) == {"input", "weight", "bias"}


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_linear_layer_same_on_both_backends(backend, dtype):
    rng = np.random.default_rng(3)
    layer = nf.layers.Linear(13, 7, dtype=dtype, rng=4)
    x = rng.standard_normal((9, 13))
    g = rng.standard_normal((9, 7))
    with nf.use_backend(backend):
        out = layer.forward(x)
        gx = layer.backward(g)
    assert out.dtype == dtype and gx.dtype == dtype
    expected = x.astype(dtype) @ layer.weight.value.T + layer.bias.value
    assert_close(out, expected, dtype, rtol=1e-4 if dtype == np.float32 else 1e-10)
    assert_close(layer.weight.grad, g.astype(dtype).T @ x.astype(dtype), dtype,
                 rtol=1e-4 if dtype == np.float32 else 1e-10)


def test_linear_non_contiguous_and_int_input_converted():
    layer = nf.layers.Linear(5, 3, rng=0)
    x = np.arange(40, dtype=np.int64).reshape(4, 10)[:, ::2]
    out = layer.forward(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x.astype(np.float32) @ layer.weight.value.T + layer.bias.value, rtol=1e-5)


def test_linear_skips_input_gradient_when_not_required():
    layer = nf.layers.Linear(5, 3, rng=0)
    layer.requires_input_grad = False
    layer.forward(np.ones((2, 5)))
    assert layer.backward(np.ones((2, 3))) is None
    assert np.all(layer.weight.grad == 2.0)


def test_linear_parameters_order_and_layout():
    layer = nf.layers.Linear(5, 3)
    w, b = layer.parameters()
    assert w is layer.weight and b is layer.bias
    assert w.shape == (3, 5) and b.shape == (3,)


@pytest.mark.parametrize("args, exc, words", [
    ((0, 3), ValueError, "in_features"),
    ((3, 0), ValueError, "out_features"),
    ((2.5, 3), TypeError, "in_features"),
    ((3, "4"), TypeError, "out_features"),
])
def test_linear_bad_constructor(args, exc, words):
    with pytest.raises(exc, match=words):
        nf.layers.Linear(*args)


def test_linear_bad_dtype():
    with pytest.raises(TypeError, match="dtype"):
        nf.layers.Linear(3, 2, dtype=np.int32)


@pytest.mark.parametrize("x, exc, words", [
    (np.ones((4, 6)), ValueError, r"shape \(n_samples, 5\)"),
    (np.ones((4, 5, 1)), ValueError, "dimensions"),
    (np.ones(5), ValueError, "dimensions"),
    (np.ones((0, 5)), ValueError, "empty"),
    (np.array([["a"] * 5]), TypeError, "numeric"),
    (np.ones((2, 5), dtype=complex), TypeError, "numeric"),
    ([[1, 2], [3]], TypeError, "numeric"),
])
def test_linear_bad_input(x, exc, words):
    layer = nf.layers.Linear(5, 3)
    with pytest.raises(exc, match=words):
        layer.forward(x)


def test_linear_backward_errors():
    layer = nf.layers.Linear(5, 3)
    assert_backward_checks(layer, np.ones((2, 5)), [(2, 4), (3, 3)])
