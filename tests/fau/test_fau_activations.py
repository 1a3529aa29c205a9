"""nnfast.fau's TanH and Sigmoid: values, range, dtype, phase flag and the
course's central-difference check of the input gradient."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.fau.Layers import *  # noqa: F401,F403
from fau_helpers import L2Loss, assert_input_gradient, one_hot_labels

# (layer class, the function by another formula, its range)
ACTIVATIONS = [
    (lambda: TanH.TanH(), lambda x: 1 - 2 / (np.exp(2 * x) + 1), (-1.0, 1.0)),
    (lambda: Sigmoid.Sigmoid(), lambda x: 0.5 * (1 + np.tanh(x / 2)), (0.0, 1.0)),
]
IDS = ["TanH", "Sigmoid"]


@pytest.fixture
def course_input():
    # the course's (batch, input) made by transposing: not C-contiguous
    np.random.seed(11)
    return np.random.random((5, 10)).T * 2 - 1


@pytest.mark.parametrize("make, formula, bounds", ACTIVATIONS, ids=IDS)
def test_interface(make, formula, bounds):
    layer = make()
    assert not layer.trainable and layer.testing_phase is False


@pytest.mark.parametrize("make, formula, bounds", ACTIVATIONS, ids=IDS)
def test_forward_values_and_range(make, formula, bounds, course_input):
    layer = make()
    out = layer.forward(course_input)
    assert out.dtype == np.float64 and out.shape == course_input.shape
    np.testing.assert_allclose(out, formula(course_input), rtol=1e-14, atol=1e-15)
    wide = layer.forward(np.linspace(-800, 800, 101).reshape(1, -1))
    assert np.all(np.isfinite(wide))
    assert wide.min() >= bounds[0] and wide.max() <= bounds[1]


@pytest.mark.parametrize("make, formula, bounds", ACTIVATIONS, ids=IDS)
def test_backward_is_the_derivative_times_the_error(make, formula, bounds, course_input):
    layer = make()
    y = layer.forward(course_input)
    error = np.random.default_rng(2).standard_normal(y.shape)
    derivative = 1 - y ** 2 if bounds[0] < 0 else y * (1 - y)
    np.testing.assert_allclose(layer.backward(error), derivative * error, rtol=1e-13)


@pytest.mark.parametrize("make, formula, bounds", ACTIVATIONS, ids=IDS)
def test_input_gradient(make, formula, bounds, course_input):
    labels = one_hot_labels(10, 5, rng=3)
    assert_input_gradient([make(), L2Loss()], course_input, labels)


@pytest.mark.parametrize("make, formula, bounds", ACTIVATIONS, ids=IDS)
def test_input_gradient_of_a_3d_input(make, formula, bounds):
    x = np.random.default_rng(4).uniform(-2, 2, (2, 3, 4))
    labels = np.random.default_rng(5).random((2, 3, 4))
    assert_input_gradient([make(), L2Loss()], x, labels)


@pytest.mark.parametrize("make, formula, bounds", ACTIVATIONS, ids=IDS)
def test_float32_stays_float32_and_integers_become_float64(make, formula, bounds):
    layer = make()
    x32 = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    out = layer.forward(x32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, formula(x32.astype(np.float64)), rtol=1e-6, atol=1e-7)
    assert layer.backward(np.ones((3, 4))).dtype == np.float32
    assert layer.forward(np.arange(-2, 2).reshape(2, 2)).dtype == np.float64


@pytest.mark.parametrize("make, formula, bounds", ACTIVATIONS, ids=IDS)
def test_same_on_both_backends(make, formula, bounds, course_input):
    layer = make()
    error = np.random.default_rng(6).standard_normal(course_input.shape)
    results = []
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            results.append((layer.forward(course_input), layer.backward(error)))
    for fast, ref in zip(*results):
        np.testing.assert_allclose(fast, ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("make, formula, bounds", ACTIVATIONS, ids=IDS)
def test_bad_input(make, formula, bounds):
    layer = make()
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((2, 2)))
    with pytest.raises(TypeError, match="input_tensor"):
        layer.forward(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="input_tensor"):
        layer.forward(np.ones((0, 3)))
    layer.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="error_tensor"):
        layer.backward(np.ones((2, 3)))
