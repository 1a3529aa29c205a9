"""Initializers: statistics, seeding, initialize(spec), Linear's weight_init."""
import math

import numpy as np
import pytest

import nnfast as nf
from nnfast import init

FAN_IN, FAN_OUT = 100, 50
SHAPE = (400, 500)  # 200,000 draws: the sample std is within ~0.5% of the true one

# initializer, expected std, bound (None: unbounded normal)
STATS = [
    (init.he_normal, math.sqrt(2 / FAN_IN), None),
    (init.he_uniform, math.sqrt(2 / FAN_IN), math.sqrt(6 / FAN_IN)),
    (init.xavier_normal, math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    (init.xavier_uniform, math.sqrt(2 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.uniform_fan_in, 1 / math.sqrt(3 * FAN_IN), 1 / math.sqrt(FAN_IN)),
]


@pytest.mark.parametrize("f, std, bound", STATS, ids=[s[0].__name__ for s in STATS])
def test_initializer_statistics(f, std, bound, dtype):
    w = f(SHAPE, FAN_IN, FAN_OUT, dtype=dtype, rng=0)
    assert w.shape == SHAPE and w.dtype == dtype and w.flags.c_contiguous
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.02)
    if bound is not None:
        assert np.all(np.abs(w) <= bound)
        assert np.abs(w).max() > 0.99 * bound
    else:
        # normal, not truncated: about 0.27% beyond 3 std
        assert 0.001 < np.mean(np.abs(w) > 3 * std) < 0.005


def test_zeros_constant_uniform():
    assert not np.any(init.zeros((3, 4), 4, 3))
    assert init.zeros((2,), 1, 1, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(init.constant((2, 2), 0.5), np.full((2, 2), 0.5, np.float32))
    u = init.uniform((1000,), -2.0, 3.0, rng=0)
    assert u.dtype == np.float32 and u.min() >= -2.0 and u.max() < 3.0


@pytest.mark.parametrize("f", [init.he_normal, init.he_uniform, init.xavier_normal,
                               init.xavier_uniform, init.uniform_fan_in])
def test_seeding(f):
    nf.seed(7)
    a = f((5, 6), 6, 5)
    nf.seed(7)
    b = f((5, 6), 6, 5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(f((5, 6), 6, 5, rng=3), f((5, 6), 6, 5, rng=3))
    g1, g2 = np.random.default_rng(11), np.random.default_rng(11)
    np.testing.assert_array_equal(f((5, 6), 6, 5, rng=g1), f((5, 6), 6, 5, rng=g2))
    assert not np.array_equal(f((5, 6), 6, 5, rng=3), f((5, 6), 6, 5, rng=4))


@pytest.mark.parametrize("spec, f", [
    ("he", init.he_normal), ("he_normal", init.he_normal), ("he_uniform", init.he_uniform),
    ("xavier", init.xavier_normal), ("xavier_uniform", init.xavier_uniform),
    ("glorot", init.xavier_normal), ("glorot_uniform", init.xavier_uniform),
    ("uniform", init.uniform_fan_in), ("zeros", init.zeros),
])
def test_initialize_by_name(spec, f, dtype):
    w = init.initialize(spec, (7, 3), 3, 7, dtype, rng=1)
    np.testing.assert_array_equal(w, f((7, 3), 3, 7, dtype=dtype, rng=1))
    assert w.dtype == dtype


def test_initialize_constant_number_and_callable():
    np.testing.assert_array_equal(init.initialize("constant", (2,), 1, 1), np.float32([0.1, 0.1]))
    np.testing.assert_array_equal(init.initialize(0.25, (2, 2), 2, 2, np.float64),
                                  np.full((2, 2), 0.25))

    def ones(shape, fan_in, fan_out, dtype=np.float32, rng=None):
        return np.ones(shape) * fan_in

    w = init.initialize(ones, (3, 2), 2, 3, np.float32)
    assert w.dtype == np.float32 and np.all(w == 2)


@pytest.mark.parametrize("spec, exc, words", [
    ("kaiming", ValueError, "spec must be one of"),
    (None, TypeError, "spec"),
    (True, TypeError, "spec"),
    (float("nan"), ValueError, "spec must be finite"),
    (lambda shape, *a, **k: np.ones(3), ValueError, r"shape \(2, 2\)"),
    (lambda shape, *a, **k: "x", ValueError, "numeric array"),
    (lambda shape, *a, **k: np.full(shape, np.inf), ValueError, "non-finite"),
])
def test_initialize_bad_spec(spec, exc, words):
    with pytest.raises(exc, match=words):
        init.initialize(spec, (2, 2), 2, 2)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: init.he_normal((2, 2), 0), ValueError, "fan_in"),
    (lambda: init.he_uniform((2, 2), 2.5), TypeError, "fan_in"),
    (lambda: init.xavier_normal((2, 2), 2, 0), ValueError, "fan_out"),
    (lambda: init.xavier_uniform((2, 2), 2, None), TypeError, "fan_out"),
    (lambda: init.he_normal((2, 2), 2, dtype=np.int32), TypeError, "dtype"),
    (lambda: init.he_normal((2, 2), 2, rng="seed"), TypeError, "rng"),
])
def test_initializer_bad_arguments(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


# -- Linear ------------------------------------------------------------------

def test_linear_default_init_unchanged():
    layer = nf.layers.Linear(50, 40, rng=0)
    bound = 1 / math.sqrt(50)
    assert np.abs(layer.weight.value).max() <= bound
    assert np.abs(layer.weight.value).max() > 0.95 * bound
    assert "weight_init" not in layer.config()
    # with an int seed, weight and bias come from one stream (the bias is not
    # a copy of the weight's first values)
    assert not np.allclose(layer.bias.value, layer.weight.value.reshape(-1)[:40])


def test_linear_weight_and_bias_init():
    layer = nf.layers.Linear(300, 200, dtype=np.float64, rng=0, weight_init="he", bias_init="zeros")
    assert layer.weight.value.std() == pytest.approx(math.sqrt(2 / 300), rel=0.03)
    assert not np.any(layer.bias.value)
    assert layer.config()["weight_init"] == "he" and layer.config()["bias_init"] == "zeros"
    layer = nf.layers.Linear(3, 2, bias_init=0.1, weight_init=init.xavier_uniform)
    np.testing.assert_allclose(layer.bias.value, 0.1)
    assert layer.config()["bias_init"] == 0.1 and "weight_init" not in layer.config()
    assert "bias_init=0.1" in repr(layer)


def test_linear_init_seeded():
    nf.seed(5)
    a = nf.layers.Linear(4, 3, weight_init="xavier_uniform")
    nf.seed(5)
    b = nf.layers.Linear(4, 3, weight_init="xavier_uniform")
    np.testing.assert_array_equal(a.weight.value, b.weight.value)
    np.testing.assert_array_equal(a.bias.value, b.bias.value)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(weight_init="gaussian"), ValueError, "weight_init must be one of"),
    (dict(bias_init=[0.0]), TypeError, "bias_init"),
    (dict(weight_init=lambda s, *a, **k: np.zeros(2)), ValueError, "weight_init must return"),
])
def test_linear_bad_init(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        nf.layers.Linear(3, 2, **kwargs)
