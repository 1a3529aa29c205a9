"""Shared fixtures: thread counts, dtypes, tolerances, torch (when importable)."""
import contextlib

import numpy as np
import pytest

import nnfast as nf
from nnfast._kernels import _threads

DTYPES = [np.float32, np.float64]
# fast == reference tolerances (DESIGN.md: float32 rtol 1e-4, float64 rtol 1e-10)
RTOL = {np.float32: 1e-4, np.float64: 1e-10}


def assert_close(actual, expected, dtype, rtol=None):
    """Elementwise rtol, with an absolute floor scaled to the array's magnitude
    (sums of many products of either sign cancel towards 0)."""
    rtol = RTOL[np.dtype(dtype).type] if rtol is None else rtol
    expected = np.asarray(expected)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


@contextlib.contextmanager
def threads_and_cutoff(n_threads, flops_per_thread=1.0):
    """Inside the block: ``n_threads`` OpenMP threads and the kernels' serial
    cut-off at ``flops_per_thread`` (1: the parallel path even for tiny
    shapes); after it, the thread count as it was and the default cut-off
    (1e5 flops)."""
    old = nf.get_num_threads()
    nf.set_num_threads(n_threads)
    _threads.set_flops_per_thread(flops_per_thread)
    try:
        yield n_threads
    finally:
        _threads.set_flops_per_thread(1.0e5)
        nf.set_num_threads(old)


def forward_backward(layer, x, rng, backend):
    """``layer.forward(x)`` then ``layer.backward(g)`` on ``backend``, ``g``
    a random grad_output of the output's shape in x's dtype: (out, g,
    grad_input)."""
    with nf.use_backend(backend):
        out = layer.forward(x)
        g = rng.standard_normal(out.shape).astype(x.dtype)
        return out, g, layer.backward(g)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    """Run with 1 and 2 OpenMP threads, the parallel path forced on even for
    tiny shapes (the serial cut-off lowered to 1 flop)."""
    with threads_and_cutoff(request.param):
        yield request.param


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def torch():
    """PyTorch (CPU) if importable, else the test is skipped."""
    return pytest.importorskip("torch")


def random_linear_case(seed, dtype):
    """(x, weight, bias, grad_output) of a random Linear shape, both sides of
    the 64-output split; shared by the Linear and zero_grad tests."""
    rng = np.random.default_rng(seed)
    n, i, o = rng.integers(1, 150, size=3)  # both sides of 64 outputs (the split)
    x = rng.standard_normal((n, i)).astype(dtype)
    w = rng.standard_normal((o, i)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    g = rng.standard_normal((n, o)).astype(dtype)
    return x, w, b, g


def assert_backward_checks(layer, x, wrong_shapes):
    """layer.backward refuses a call before any forward, then, after
    forward(x), a grad_output of each shape in wrong_shapes (ValueErrors
    that say so)."""
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones_like(x))
    layer.forward(x)
    for shape in wrong_shapes:
        with pytest.raises(ValueError, match="grad_output must have shape"):
            layer.backward(np.ones(shape))


def loss_pred_target(stem, rng, dtype, size, clamped=0.05, max_exponent=2):
    """(pred, target) for the element-wise loss ``stem`` ("mse",
    "bce_with_logits" or "bce"): BCE's probabilities with a fraction
    ``clamped`` of exact 0s and 1s (its clamped logs), the others' scores
    up to 10 ** (max_exponent - 1); targets real for MSE, in [0, 1] else."""
    if stem == "bce":
        pred = rng.uniform(0, 1, size)
        pred[rng.random(size) < clamped] = 0.0
        pred[rng.random(size) < clamped] = 1.0
    else:
        pred = rng.standard_normal(size) * 10.0 ** rng.integers(-1, max_exponent)
    target = rng.standard_normal(size) if stem == "mse" else rng.uniform(0, 1, size)
    return pred.astype(dtype), target.astype(dtype)
