"""nnfast.fau: optimizers' update values and state, initializers' statistics."""
import copy

import numpy as np
import pytest

import nnfast as nf
from nnfast.fau.Layers import *  # noqa: F401,F403  (the course's imports)
from nnfast.fau.Optimization import *  # noqa: F401,F403


def test_sgd():
    opt = Optimizers.Sgd(1.0)
    result = opt.calculate_update(1.0, 1.0)
    assert isinstance(result, float) and result == 0.0
    assert opt.calculate_update(result, 1.0) == -1.0
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    new = Optimizers.Sgd(0.5).calculate_update(w, np.ones((2, 2)))
    assert new is not w and np.array_equal(w, [[1, 2], [3, 4]])  # a new array
    np.testing.assert_array_equal(new, w - 0.5)


def test_sgd_with_momentum_sequence():
    # v := mu v - lr g; w := w + v, by hand
    opt = Optimizers.SgdWithMomentum(1.0, 0.9)
    result = opt.calculate_update(1.0, 1.0)
    assert result == pytest.approx(0.0)  # v = -1
    result = opt.calculate_update(result, 1.0)
    assert result == pytest.approx(-1.9)  # v = -0.9 - 1
    result = opt.calculate_update(result, -2.0)
    assert result == pytest.approx(-1.9 + 0.29)  # v = -1.71 + 2


def test_sgd_with_momentum_matches_the_course_rule_on_arrays():
    rng = np.random.default_rng(0)
    lr, mu = 0.01, 0.8
    opt = Optimizers.SgdWithMomentum(lr, mu)
    w = rng.standard_normal(7)
    w_ref, v = w.copy(), np.zeros(7)
    for _ in range(6):
        g = rng.standard_normal(7)
        w = opt.calculate_update(w, g)
        v = mu * v - lr * g
        w_ref = w_ref + v
    np.testing.assert_allclose(w, w_ref, rtol=1e-12)


def _adam_by_hand(w, grads, lr, mu, rho, eps=1e-8):
    v = r = 0.0
    for k, g in enumerate(grads, 1):
        v = mu * v + (1 - mu) * g
        r = rho * r + (1 - rho) * g * g
        w = w - lr * (v / (1 - mu ** k)) / (np.sqrt(r / (1 - rho ** k)) + eps)
    return w


def test_adam_sequence():
    opt = Optimizers.Adam(1.0, 0.01, 0.02)
    result = opt.calculate_update(1.0, 1.0)
    assert result == pytest.approx(0.0, abs=1e-7)
    result = opt.calculate_update(result, 0.5)
    assert result == pytest.approx(-0.9814473195614205, abs=1e-7)
    rng = np.random.default_rng(1)
    grads = rng.standard_normal((5, 3))
    opt, w = Optimizers.Adam(1e-2, 0.9, 0.999), np.ones(3)
    for g in grads:
        w = opt.calculate_update(w, g)
    np.testing.assert_allclose(w, _adam_by_hand(np.ones(3), grads, 1e-2, 0.9, 0.999), rtol=1e-12)


def test_optimizer_state_is_per_instance_and_copies_are_independent():
    opt = Optimizers.SgdWithMomentum(1.0, 0.9)
    twin = copy.deepcopy(opt)
    opt.calculate_update(np.zeros(2), np.ones(2))
    np.testing.assert_allclose(twin.calculate_update(np.zeros(2), np.ones(2)), -1.0)
    with pytest.raises(ValueError, match="own optimizer"):
        opt.calculate_update(np.zeros(3), np.ones(3))


@pytest.mark.parametrize("make", [lambda: Optimizers.Sgd(0.1),
                                  lambda: Optimizers.SgdWithMomentum(0.1, 0.9),
                                  lambda: Optimizers.Adam(0.1, 0.9, 0.999)])
def test_optimizers_same_on_both_backends_and_keep_float32(make):
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal((4, 3))
    grads = rng.standard_normal((3, 4, 3))
    results = []
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            opt, w = make(), w0
            for g in grads:
                w = opt.calculate_update(w, g)
            results.append(w)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)
    assert make().calculate_update(w0.astype(np.float32), grads[0]).dtype == np.float32


# -- Initializers ----------------------------------------------------------------

def _draw(initializer, shape=(400, 400)):
    np.random.seed(1337)
    return initializer.initialize(shape, shape[1], shape[0])


def test_initializer_shapes_and_seeding():
    for init in (Initializers.Constant(), Initializers.UniformRandom(),
                 Initializers.Xavier(), Initializers.He()):
        w = _draw(init, (3, 5, 2))
        assert w.shape == (3, 5, 2) and w.dtype == np.float64
        np.testing.assert_array_equal(w, _draw(init, (3, 5, 2)))  # np.random.seed repeats it
    np.testing.assert_array_equal(Initializers.Constant().initialize((2, 2), 2, 2), 0.1)
    np.testing.assert_array_equal(Initializers.Constant(0.5).initialize((1, 3), 1, 3), 0.5)


def test_initializer_distributions():
    stats = pytest.importorskip("scipy.stats")
    w = _draw(Initializers.UniformRandom())
    assert w.min() >= 0 and w.max() < 1
    assert stats.kstest(w.flat, "uniform", args=(0, 1)).pvalue > 0.01
    w = _draw(Initializers.Xavier())
    assert stats.kstest(w.flat, "norm", args=(0, np.sqrt(2 / 800))).pvalue > 0.01
    w = _draw(Initializers.He())
    assert stats.kstest(w.flat, "norm", args=(0, np.sqrt(2 / 400))).pvalue > 0.01
