"""Optimizer update kernels: fast == reference over seeded random sizes and
options, several steps each, float32/float64, 1 and 2 threads."""
import numpy as np
import pytest

from nnfast import _kernels, reference
from conftest import assert_close

SEEDS = range(50)
KERNELS = ["sgd", "adam", "adagrad", "rmsprop"]


def _maybe(rng, p=0.5):
    """A random positive number or 0, each half of the time."""
    return float(rng.uniform(0.01, 0.5)) if rng.random() < p else 0.0


def random_case(kind, seed, dtype):
    """(size, options, state names) for one kernel; options drawn per seed so
    that every option is both on and off across the seeds."""
    rng = np.random.default_rng([seed, KERNELS.index(kind)])
    n = int(rng.choice([1, 2, 3, 7, 64, 257, 1000, int(rng.integers(1, 5000))]))
    wd, l1 = _maybe(rng), _maybe(rng)
    if kind == "sgd":
        momentum = _maybe(rng, 0.7)
        nesterov = bool(momentum > 0 and rng.random() < 0.5)
        dampening = 0.0 if nesterov else _maybe(rng)
        opts = dict(lr=float(rng.uniform(0.001, 0.5)), momentum=momentum, dampening=dampening,
                    nesterov=nesterov, weight_decay=wd, l1=l1)
    elif kind == "adam":
        opts = dict(lr=float(rng.uniform(1e-4, 0.1)), beta1=float(rng.choice([0.0, 0.5, 0.9])),
                    beta2=float(rng.choice([0.0, 0.9, 0.999])), eps=float(rng.choice([1e-8, 1e-3])),
                    weight_decay=wd, l1=l1)
    elif kind == "adagrad":
        opts = dict(lr=float(rng.uniform(1e-3, 0.5)), lr_decay=_maybe(rng),
                    weight_decay=wd, eps=float(rng.choice([1e-10, 1e-3])), l1=l1)
    else:
        opts = dict(lr=float(rng.uniform(1e-3, 0.1)), alpha=float(rng.choice([0.0, 0.5, 0.99])),
                    eps=float(rng.choice([1e-8, 1e-3])), weight_decay=wd,
                    momentum=_maybe(rng), centered=bool(rng.random() < 0.5), l1=l1)
    value = rng.standard_normal(n).astype(dtype)
    if l1:
        value[rng.random(n) < 0.1] = 0  # sign(0) == 0
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(int(rng.integers(2, 5)))]
    init_sum = _maybe(rng) if kind == "adagrad" else 0.0
    return value, grads, opts, init_sum


def run(kernels, kind, value, grads, opts, init_sum):
    """Run len(grads) steps of one kernel; returns value and the state arrays."""
    value = value.copy()
    z = lambda: np.zeros_like(value)  # noqa: E731
    if kind == "sgd":
        buf = z() if opts["momentum"] != 0 else None
        for i, g in enumerate(grads):
            kernels.sgd_update(value, g, buf, first_step=(i == 0), **opts)
        return [value, buf]
    if kind == "adam":
        m, v = z(), z()
        for step, g in enumerate(grads, 1):
            kernels.adam_update(value, g, m, v, step, **opts)
        return [value, m, v]
    if kind == "adagrad":
        s = np.full_like(value, init_sum)
        for step, g in enumerate(grads, 1):
            kernels.adagrad_update(value, g, s, step, **opts)
        return [value, s]
    sa = z()
    buf = z() if opts["momentum"] > 0 else None
    ga = z() if opts["centered"] else None
    for g in grads:
        kernels.rmsprop_update(value, g, sa, buf, ga, **opts)
    return [value, sa, buf, ga]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", KERNELS)
def test_update_fast_matches_reference(kind, seed, dtype, threads):
    case = random_case(kind, seed, dtype)
    fast = run(_kernels, kind, *case)
    ref = run(reference, kind, *case)
    for f, r in zip(fast, ref):
        if r is None:
            assert f is None
            continue
        assert f.dtype == dtype
        assert_close(f, r, dtype)


def _sign(x):
    return np.sign(x)


def test_sgd_kernel_formula_with_l1_and_weight_decay():
    """The L1 term adds l1 * sign(value) to the gradient, like weight decay
    adds weight_decay * value (checked by hand, no momentum)."""
    value = np.array([-2.0, 0.0, 3.0])
    grad = np.array([0.5, 0.5, -1.0])
    expected = value - 0.1 * (grad + 0.01 * value + 0.2 * _sign(value))
    for k in (_kernels, reference):
        v = value.copy()
        k.sgd_update(v, grad, None, 0.1, weight_decay=0.01, l1=0.2)
        np.testing.assert_allclose(v, expected, rtol=1e-15)


def test_sgd_first_step_sets_buffer_to_gradient():
    """torch: the first momentum step copies the gradient (no dampening)."""
    for k in (_kernels, reference):
        v = np.array([1.0, 2.0])
        buf = np.full(2, 99.0)
        k.sgd_update(v, np.array([1.0, -1.0]), buf, 0.5, momentum=0.9, dampening=0.5,
                     first_step=True)
        np.testing.assert_array_equal(buf, [1.0, -1.0])
        np.testing.assert_array_equal(v, [0.5, 2.5])


def test_kernels_keep_float32():
    v = np.ones(10, np.float32)
    g = np.ones(10, np.float32)
    m, s = np.zeros_like(v), np.zeros_like(v)
    _kernels.adam_update(v, g, m, s, 1)
    assert v.dtype == m.dtype == s.dtype == np.float32


def test_momentum_decay_to_denormals_stays_finite_and_zero():
    """Momentum buffers decaying towards 0 must not linger as denormals (they
    are flushed) nor turn into garbage."""
    v = np.zeros(1000, np.float32)
    buf = np.full(1000, 1e-30, np.float32)
    g = np.zeros_like(v)
    for _ in range(50):
        _kernels.sgd_update(v, g, buf, 0.1, momentum=0.1)
    assert np.all(np.isfinite(buf)) and np.all(np.abs(buf) < 1e-37)
