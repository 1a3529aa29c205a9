"""zero_grad clears lazily; a Linear's backward then writes its gradient.

Whatever reads a gradient after ``zero_grad`` must see zeros plus what was
accumulated since, exactly as with an eager clear."""
import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from nnfast import layers as L
from nnfast.parameter import Parameter
from conftest import random_linear_case


def test_grad_reads_zero_after_zero_grad():
    p = Parameter(np.ones((2, 3), np.float32))
    p.grad[...] = 5
    p.zero_grad()
    np.testing.assert_array_equal(p.grad, 0)
    p.grad[0, 0] = 1
    np.testing.assert_array_equal(p.grad.sum(), 1)


def test_grad_to_accumulate_reports_the_clear_once():
    p = Parameter(np.ones(3))
    p.grad[...] = 2
    assert p._grad_to_accumulate()[1] is True
    p.zero_grad()
    g, accumulate = p._grad_to_accumulate()
    assert accumulate is False and g is p._grad
    assert p._grad_to_accumulate()[1] is True


def test_setting_grad_cancels_the_clear():
    p = Parameter(np.ones(3))
    p.zero_grad()
    p.grad = np.full(3, 7.0)
    np.testing.assert_array_equal(p.grad, 7.0)


def _linear_case(dtype, seed=0):
    rng = np.random.default_rng(seed)
    layer = L.Linear(6, 5, dtype=dtype, rng=seed)
    x = rng.standard_normal((4, 6)).astype(dtype)
    g = rng.standard_normal((4, 5)).astype(dtype)
    return layer, x, g


def test_linear_backward_after_zero_grad_writes_fresh_gradient(dtype, threads):
    layer, x, g = _linear_case(dtype)
    layer.forward(x)
    for p in layer.parameters():
        p.grad[...] = np.nan  # would poison an accumulation
        p.zero_grad()
    layer.backward(g)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(layer.weight.grad, g.T @ x, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.bias.grad, g.sum(0), rtol=tol, atol=tol)
    # a second backward accumulates
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * (g.T @ x), rtol=tol, atol=tol)


def test_linear_backward_with_only_one_parameter_cleared(dtype):
    layer, x, g = _linear_case(dtype, seed=1)
    layer.forward(x)
    layer.weight.grad[...] = 1.0
    layer.bias.grad[...] = 3.0
    layer.bias.zero_grad()
    layer.backward(g)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(layer.weight.grad, 1.0 + g.T @ x, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.bias.grad, g.sum(0), rtol=tol, atol=tol)


@pytest.mark.parametrize("seed", range(10))
def test_linear_backward_write_mode_fast_matches_reference(seed, dtype, threads):
    x, w, _, g = random_linear_case(seed, dtype)
    (n, i), o = x.shape, w.shape[0]
    results = []
    for kernels in (_kernels, reference):
        gw = np.full((o, i), np.nan, dtype)
        gb = np.full(o, np.nan, dtype)
        gx = np.empty((n, i), dtype)
        kernels.linear_backward(x, w, g, gx, gw, gb, False)
        results.append((gw, gb, gx))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for a, b in zip(*results):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 10)


def test_training_with_lazy_clear_matches_eager_clear():
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((8, 5)).astype(np.float32) for _ in range(6)]
    ys = [rng.integers(0, 3, 8) for _ in xs]
    weights = []
    for eager in (False, True):
        model = nf.Sequential([L.Linear(5, 7, rng=0), L.ReLU(), L.Linear(7, 3, rng=1)])
        loss = nf.losses.CrossEntropyLoss()
        opt = nf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for x, y in zip(xs, ys):
            if eager:
                for p in model.parameters():
                    p.grad.fill(0)
            else:
                opt.zero_grad()
            loss.forward(model.forward(x), y)
            model.backward(loss.backward())
            opt.step()
        weights.append([p.value.copy() for p in model.parameters()])
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_step_after_zero_grad_without_backward_changes_nothing():
    p = Parameter(np.ones(4, np.float32))
    p.grad[...] = 1.0
    opt = nf.optim.SGD([p], lr=0.5)
    opt.zero_grad()
    opt.step()
    np.testing.assert_array_equal(p.value, 1.0)
