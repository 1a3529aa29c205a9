"""nnfast.fau's Optimization.Constraints (L1 and L2 regularizers) and
Optimizers.Optimizer.add_regularizer: the penalties' values and gradients,
and every optimizer's update with a penalty against the course's formula
(the penalty's gradient at the weights before the step, times the learning
rate, subtracted from the rule's result)."""
import copy

import numpy as np
import pytest

from nnfast.fau.Optimization import *  # noqa: F401,F403

STRENGTH = 1337
SHAPE = (4, 5)


def signed_weights():
    """Ones, with a 2x2 block of -2: the course's test tensor."""
    w = np.ones(SHAPE)
    w[1:3, 2:4] *= -2
    return w


def test_l1_gradient_and_norm():
    reg = Constraints.L1_Regularizer(STRENGTH)
    w = signed_weights()
    expected = np.sign(w) * STRENGTH
    np.testing.assert_array_equal(reg.calculate_gradient(w), expected)
    assert reg.norm(w) == pytest.approx(STRENGTH * (16 + 4 * 2))
    np.testing.assert_array_equal(reg.calculate_gradient(np.zeros(3)), 0.0)


def test_l2_gradient_and_norm():
    reg = Constraints.L2_Regularizer(STRENGTH)
    w = signed_weights()
    np.testing.assert_array_equal(reg.calculate_gradient(w), STRENGTH * w)
    assert reg.norm(w) == pytest.approx(STRENGTH * (16 + 4 * 4))


@pytest.mark.parametrize("make, factor", [(Constraints.L1_Regularizer, 1.0),
                                         (Constraints.L2_Regularizer, 2.0)])
def test_gradient_against_central_differences_of_the_norm(make, factor):
    # central differences (eps 1e-5) of norm against calculate_gradient, on
    # weights away from 0 (where |w| has no derivative). The course's L2
    # pair is alpha * sum(w**2) and alpha * w: half the norm's derivative.
    reg = make(0.3)
    rng = np.random.default_rng(0)
    w = rng.uniform(0.1, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))
    numerical = np.zeros_like(w)
    for index in np.ndindex(w.shape):
        plus, minus = w.copy(), w.copy()
        plus[index] += 1e-5
        minus[index] -= 1e-5
        numerical[index] = (reg.norm(plus) - reg.norm(minus)) / 2e-5
    np.testing.assert_allclose(factor * reg.calculate_gradient(w), numerical, rtol=1e-8)


@pytest.mark.parametrize("make", [Constraints.L1_Regularizer, Constraints.L2_Regularizer])
def test_dtypes_and_inputs_untouched(make):
    reg = make(0.5)
    w = np.array([[-1.5, 0.0, 2.0]], dtype=np.float32)
    before = w.copy()
    grad = reg.calculate_gradient(w)
    assert grad.dtype == np.float32 and grad is not w
    np.testing.assert_array_equal(w, before)
    assert isinstance(reg.norm(w), float)
    assert reg.calculate_gradient([[1, -2]]).dtype == np.float64
    assert make(0).norm(w) == 0.0


# -- with the optimizers --------------------------------------------------------

def course_rule(kind, lr, hyper):
    """The course's update rules by hand, the penalty added as the course
    does: w_new = rule(w, g) - lr * penalty_gradient(w)."""
    state = {"v": 0.0, "r": 0.0, "k": 0}

    def step(w, g, penalty):
        if kind == "sgd":
            new = w - lr * g
        elif kind == "momentum":
            state["v"] = hyper[0] * state["v"] - lr * g
            new = w + state["v"]
        else:
            mu, rho = hyper
            state["k"] += 1
            state["v"] = mu * state["v"] + (1 - mu) * g
            state["r"] = rho * state["r"] + (1 - rho) * g * g
            v_hat = state["v"] / (1 - mu ** state["k"])
            r_hat = state["r"] / (1 - rho ** state["k"])
            new = w - lr * v_hat / (np.sqrt(r_hat) + 1e-8)
        return new - lr * penalty(w)

    return step


OPTIMIZERS = [("sgd", lambda: Optimizers.Sgd(0.1), ()),
              ("momentum", lambda: Optimizers.SgdWithMomentum(0.1, 0.9), (0.9,)),
              ("adam", lambda: Optimizers.Adam(0.1, 0.9, 0.999), (0.9, 0.999))]
REGULARIZERS = [lambda: Constraints.L1_Regularizer(0.05), lambda: Constraints.L2_Regularizer(0.05)]


@pytest.mark.parametrize("kind, make, hyper", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
@pytest.mark.parametrize("make_reg", REGULARIZERS, ids=["L1", "L2"])
def test_update_matches_the_course_formula(kind, make, hyper, make_reg):
    rng = np.random.default_rng(1)
    reg = make_reg()
    opt = make()
    opt.add_regularizer(reg)
    assert opt.regularizer is reg
    by_hand = course_rule(kind, opt.learning_rate, hyper)
    w = rng.standard_normal((6, 7))
    w_ref = w.copy()
    for _ in range(5):
        g = rng.standard_normal((6, 7))
        w = opt.calculate_update(w, g)
        w_ref = by_hand(w_ref, g, reg.calculate_gradient)
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-14)


# The course's test numbers: ones with a 2x2 block of -1, gradient 2 twice,
# learning rate 2, alpha 2. By hand for SGD with L1: a +1 weight goes
# 1 - 4 - 4 = -7, then -7 - 4 + 4 = -7; a -1 weight -1 - 4 + 4 = -1 twice:
# 16 * -7 + 4 * -1 = -116. The others follow from the same formula.
@pytest.mark.parametrize("make, make_reg, total", [
    (lambda: Optimizers.Sgd(2), Constraints.L1_Regularizer, -116),
    (lambda: Optimizers.Sgd(2), Constraints.L2_Regularizer, 268),
    (lambda: Optimizers.SgdWithMomentum(2, 0.9), Constraints.L1_Regularizer, -188),
    (lambda: Optimizers.SgdWithMomentum(2, 0.9), Constraints.L2_Regularizer, 196),
    (lambda: Optimizers.Adam(2, 0.9, 0.999), Constraints.L1_Regularizer, -68),
    (lambda: Optimizers.Adam(2, 0.9, 0.999), Constraints.L2_Regularizer, 188)])
def test_the_course_sums(make, make_reg, total):
    w = np.ones(SHAPE)
    w[1:3, 2:4] *= -1
    opt = make()
    opt.add_regularizer(make_reg(2))
    w = opt.calculate_update(w, np.full(SHAPE, 2.0))
    w = opt.calculate_update(w, np.full(SHAPE, 2.0))
    assert np.sum(w) == pytest.approx(total, abs=1e-2)


def test_the_penalty_sees_the_weights_before_the_step():
    seen = []

    class Spy:
        def calculate_gradient(self, weights):
            seen.append(np.array(weights))
            return np.zeros_like(weights)

        def norm(self, weights):
            return 0.0

    opt = Optimizers.Sgd(1.0)
    opt.add_regularizer(Spy())
    w = np.array([1.0, 2.0, 3.0])
    assert np.array_equal(opt.calculate_update(w, np.ones(3)), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(seen[0], [1.0, 2.0, 3.0])


def test_optimizer_base_class():
    for opt in (Optimizers.Sgd(1), Optimizers.SgdWithMomentum(1, 0.5), Optimizers.Adam(1, 0.5, 0.5)):
        assert isinstance(opt, Optimizers.Optimizer) and opt.regularizer is None
    base = Optimizers.Optimizer()
    assert base.regularizer is None
    with pytest.raises(NotImplementedError, match="update rule"):
        base.calculate_update(np.ones(2), np.ones(2))
    opt = Optimizers.Sgd(0.5)
    opt.add_regularizer(Constraints.L2_Regularizer(1.0))
    copied = copy.deepcopy(opt)  # what NeuralNetwork.append_layer hands each layer
    assert isinstance(copied.regularizer, Constraints.L2_Regularizer)
    assert "L2_Regularizer(1.0)" in repr(opt)
    opt.add_regularizer(None)
    assert opt.regularizer is None and opt.calculate_update(1.0, 1.0) == 0.5


def test_scalar_update_with_a_penalty():
    opt = Optimizers.Sgd(1.0)
    opt.add_regularizer(Constraints.L2_Regularizer(0.5))
    result = opt.calculate_update(2.0, 1.0)
    assert isinstance(result, float) and result == 2.0 - 1.0 - 1.0


def test_float32_weights_stay_float32():
    opt = Optimizers.Adam(0.1, 0.9, 0.999)
    opt.add_regularizer(Constraints.L1_Regularizer(0.1))
    assert opt.calculate_update(np.ones(4, dtype=np.float32), np.ones(4)).dtype == np.float32


# -- bad input -------------------------------------------------------------------

@pytest.mark.parametrize("make", [Constraints.L1_Regularizer, Constraints.L2_Regularizer])
@pytest.mark.parametrize("alpha, error", [
    (-0.1, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
    ("0.1", TypeError), (None, TypeError), (True, TypeError)])
def test_alpha_negative_nan_or_not_a_number(make, alpha, error):
    with pytest.raises(error, match="alpha"):
        make(alpha)


@pytest.mark.parametrize("make", [Constraints.L1_Regularizer, Constraints.L2_Regularizer])
def test_bad_weights(make):
    reg = make(0.1)
    with pytest.raises(TypeError, match="weights"):
        reg.norm(np.array(["a"]))
    with pytest.raises(TypeError, match="weights"):
        reg.calculate_gradient(None)


def test_add_regularizer_of_the_wrong_kind():
    opt = Optimizers.Sgd(1.0)
    with pytest.raises(TypeError, match="regularizer.*norm"):
        opt.add_regularizer(type("GradientOnly", (), {"calculate_gradient": lambda s, w: w})())
    with pytest.raises(TypeError, match="regularizer"):
        opt.add_regularizer(0.1)
    assert opt.regularizer is None


def test_a_regularizer_gradient_of_the_wrong_shape():
    class Wrong:
        def calculate_gradient(self, weights):
            return np.ones(7)

        def norm(self, weights):
            return 0.0

    opt = Optimizers.Sgd(1.0)
    opt.add_regularizer(Wrong())
    with pytest.raises(ValueError, match="calculate_gradient"):
        opt.calculate_update(np.ones((2, 3)), np.ones((2, 3)))
