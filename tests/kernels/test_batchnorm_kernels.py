"""Batch normalization kernels: fast == reference over seeded (N, C, S)
shapes, both dtypes and thread counts; statistics stable for a float32
input far from zero; the fused ReLU."""
import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from conftest import assert_close, threads_and_cutoff

# (n_samples, channels, spatial): single values, odd sizes, a spatial size
# above the statistics' 256-value block and one not a multiple of it
SHAPES = [(2, 1, 1), (1, 3, 2), (5, 4, 1), (3, 2, 7), (7, 3, 13), (2, 5, 300),
          (33, 2, 9), (4, 17, 5), (1, 1, 513)]


def _inputs(shape, dtype, seed):
    rng = np.random.default_rng([seed, *shape])
    n, c, s = shape
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3, (1, c, 1))
         + rng.uniform(-5, 5, (1, c, 1))).astype(dtype)
    weight = rng.standard_normal(c).astype(dtype)
    bias = rng.standard_normal(c).astype(dtype)
    grad_output = rng.standard_normal(shape).astype(dtype)
    return x, weight, bias, grad_output


def _stats(k, x):
    mean, var = np.full(x.shape[1], np.nan), np.full(x.shape[1], np.nan)
    k.batchnorm_stats(x, mean, var)
    return mean, var


def _normalisation(k, x):
    """Kernel set k's mean and var of x's channels, and invstd = 1 / sqrt(var + 1e-5)."""
    mean, var = _stats(k, x)
    return mean, var, 1 / np.sqrt(var + 1e-5)


def _compiled_step(x, weight, bias, grad_output):
    """The compiled statistics, forward (ReLU fused) and backward (batch
    statistics, gradients written): mean, var, out, grad_input, grad_weight,
    grad_bias."""
    mean, var, invstd = _normalisation(_kernels, x)
    out, grad_input = np.empty_like(x), np.empty_like(x)
    _kernels.batchnorm_forward(x, mean, invstd, weight, bias, out, True)
    grad_weight, grad_bias = np.zeros_like(weight), np.zeros_like(weight)
    _kernels.batchnorm_backward(x, mean, invstd, weight, grad_output, grad_input, grad_weight,
                                grad_bias, True, False)
    return mean, var, out, grad_input, grad_weight, grad_bias


@pytest.mark.parametrize("shape", SHAPES)
def test_stats_fast_matches_reference(shape, dtype, threads):
    x = _inputs(shape, dtype, 0)[0]
    for f, r in zip(_stats(_kernels, x), _stats(reference, x)):
        assert_close(f, r, np.float64)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_fast_matches_reference(shape, relu, dtype, threads):
    x, weight, bias, _ = _inputs(shape, dtype, 1)
    mean, var, invstd = _normalisation(reference, x)
    outs = []
    for k in (_kernels, reference):
        out = np.full(shape, np.nan, dtype)
        k.batchnorm_forward(x, mean, invstd, weight, bias, out, relu)
        outs.append(out)
    assert outs[0].dtype == dtype
    assert_close(outs[0], outs[1], dtype)
    if relu:
        assert np.all(outs[0] >= 0)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("batch_stats", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_backward_fast_matches_reference(shape, batch_stats, accumulate, relu, dtype, threads):
    """With relu, grad_output is the ReLU's after the layer: the mask the
    fast kernel recomputes from x must be the twin's (from the forward's
    rounded output) exactly, or the sums would differ by whole terms."""
    x, weight, bias, grad_output = _inputs(shape, dtype, 2)
    mean, var, invstd = _normalisation(reference, x)
    results = []
    for k in (_kernels, reference):
        grad_input = np.full(shape, np.nan, dtype)
        grad_weight = np.full(shape[1], 0.5, dtype)
        grad_bias = np.full(shape[1], -0.25, dtype)
        k.batchnorm_backward(x, mean, invstd, weight, grad_output, grad_input, grad_weight,
                             grad_bias, batch_stats, accumulate, bias, relu)
        results.append((grad_input, grad_weight, grad_bias))
    for f, r in zip(*results):
        assert f.dtype == dtype
        assert_close(f, r, dtype)


def test_backward_without_input_gradient(dtype):
    x, weight, _, grad_output = _inputs((4, 3, 5), dtype, 3)
    mean, var, invstd = _normalisation(reference, x)
    grads = []
    for k in (_kernels, reference):
        gw, gb = np.zeros(3, dtype), np.zeros(3, dtype)
        k.batchnorm_backward(x, mean, invstd, weight, grad_output, None, gw, gb, True, False)
        grads.append((gw, gb))
    for f, r in zip(*grads):
        assert_close(f, r, dtype)


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_float32_stats_far_from_zero_agree_with_float64(backend):
    """Mean 1e4, std 1, float32: the normalised output agrees with one
    computed from the float64 values to 1e-3 (PyTorch's float32 BatchNorm
    is off by 1.0-1.7e-3 on (256, 6))."""
    rng = np.random.default_rng(12)
    x64 = 1e4 + rng.standard_normal((256, 6, 1))
    x32 = x64.astype(np.float32)
    k = _kernels if backend == "fast" else reference
    mean, var, invstd = _normalisation(k, x32)
    ref = x32.astype(np.float64)
    np.testing.assert_allclose(mean, ref.mean(axis=(0, 2)), rtol=0, atol=1e-9)
    np.testing.assert_allclose(var, ref.var(axis=(0, 2)), rtol=1e-9)
    ones, zeros = np.ones(6, np.float32), np.zeros(6, np.float32)
    out = np.empty_like(x32)
    k.batchnorm_forward(x32, mean, invstd, ones, zeros, out, False)
    expected = (ref - ref.mean(axis=(0, 2), keepdims=True)) / np.sqrt(
        ref.var(axis=(0, 2), keepdims=True) + 1e-5)
    assert np.max(np.abs(out - expected)) < 1e-3


def test_stats_do_not_depend_on_thread_count():
    """Each channel is reduced by one thread in a fixed order: 1 and 2
    threads give the same bits (the parallel path even for this size)."""
    x, weight, bias, grad_output = _inputs((64, 6, 37), np.float32, 4)
    results = []
    for n_threads in (1, 2):
        with threads_and_cutoff(n_threads):
            results.append(_compiled_step(x, weight, bias, grad_output))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("parts", [1, 3, 4])
def test_deterministic_mode_gives_the_free_running_bits(parts):
    """In deterministic mode (any number of parts) the kernels give the
    bits they give at one thread: no result depends on the split."""
    x, weight, bias, grad_output = _inputs((16, 5, 21), np.float32, 5)
    with threads_and_cutoff(1):
        serial = _compiled_step(x, weight, bias, grad_output)
    with threads_and_cutoff(2):
        nf.set_deterministic(True, parts=parts)
        try:
            deterministic = _compiled_step(x, weight, bias, grad_output)
        finally:
            nf.set_deterministic(False)
    for a, b in zip(serial, deterministic):
        np.testing.assert_array_equal(a, b)


def test_relu_backward_mask_is_the_forwards(dtype, threads):
    """The fused backward passes the gradient exactly where the fused
    forward's output is > 0: outputs at and around 0 (x == mean with zero
    bias, tiny positive and negative values), NaN in x; its input gradient
    equals the ReLU kernel's backward followed by the plain one, bitwise."""
    rng = np.random.default_rng(31)
    n, c, s = 3, 4, 37
    x = rng.standard_normal((n, c, s)).astype(dtype)
    mean, var, invstd = _normalisation(reference, x)
    x[0, 0, :5] = mean[0]                      # output exactly bias[0] = 0
    x[1, 1, :3] = mean[1] + np.array([1e-7, -1e-7, 1e-30])
    x[2, 2, 0] = np.nan
    weight = rng.random(c).astype(dtype) + 0.5
    bias = np.array([0.0, 0.0, 0.1, -0.1], dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    out = np.empty_like(x)
    _kernels.batchnorm_forward(x, mean, invstd, weight, bias, out, True)
    through = np.empty_like(g)
    _kernels.relu_backward(out.reshape(-1), g.reshape(-1), through.reshape(-1))
    grads = []
    for fused in (True, False):
        gi, gw, gb = np.empty_like(x), np.zeros(c, dtype), np.zeros(c, dtype)
        _kernels.batchnorm_backward(x, mean, invstd, weight, g if fused else through, gi, gw,
                                    gb, True, False, bias, fused)
        grads.append((gi, gw, gb))
    for f, u in zip(*grads):
        np.testing.assert_array_equal(f, u)


def test_relu_backward_mask_for_outputs_that_round_to_zero(dtype, threads):
    """Positive outputs too small for the dtype (below 2**-150 a float32 0,
    subnormal floats flushed to 0 in the kernels): the fused backward's
    vector loops, which mask by the sign of the output in double, must find
    them and mask exactly as the forward rounded them. Channel 0 all tiny,
    channel 1 subnormal-sized, channel 2 ordinary with a few tiny outputs;
    checked bitwise against the forward's output through the ReLU kernel."""
    rng = np.random.default_rng(32)
    n, c, s = 3, 3, 40               # two runs of 16 and a tail per plane
    x = rng.standard_normal((n, c, s)).astype(dtype)
    mean = np.zeros(c)
    invstd = np.array([1e-46, 1e-40, 1.0])
    weight = np.ones(c, dtype)
    bias = np.zeros(c, dtype)
    x[:, 2, 3:7] = np.array([1e-45, 1e-44, 1e-39, -1e-45], dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    out = np.empty_like(x)
    _kernels.batchnorm_forward(x, mean, invstd, weight, bias, out, True)
    through = np.empty_like(g)
    _kernels.relu_backward(out.reshape(-1), g.reshape(-1), through.reshape(-1))
    grads = []
    for fused in (True, False):
        gi, gw, gb = np.empty_like(x), np.zeros(c, dtype), np.zeros(c, dtype)
        _kernels.batchnorm_backward(x, mean, invstd, weight, g if fused else through, gi, gw,
                                    gb, True, False, bias, fused)
        grads.append((gi, gw, gb))
    for f, u in zip(*grads):
        np.testing.assert_array_equal(f, u)


def test_relu_backward_needs_the_bias():
    x = np.ones((2, 1, 3), np.float32)
    args = (x, np.zeros(1), np.ones(1), np.ones(1, np.float32), x, np.empty_like(x),
            np.zeros(1, np.float32), np.zeros(1, np.float32), True, False)
    for k in (_kernels, reference):
        with pytest.raises(ValueError, match="relu=True needs the bias"):
            k.batchnorm_backward(*args, None, True)
