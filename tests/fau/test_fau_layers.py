"""nnfast.fau: FullyConnected, ReLU, SoftMax, Flatten, CrossEntropyLoss,
in the patterns of the course's test file (imports changed only)."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.fau.Layers import *  # noqa: F401,F403  (the course's imports)
from nnfast.fau.Optimization import *  # noqa: F401,F403
from fau_helpers import L2Loss, assert_input_gradient, assert_weight_gradient, one_hot_labels

BATCH, IN, OUT, CATEGORIES = 9, 4, 3, 4


@pytest.fixture
def label_tensor():
    return one_hot_labels(BATCH, CATEGORIES, rng=0)


# -- FullyConnected -----------------------------------------------------------

def test_fully_connected_interface():
    layer = FullyConnected.FullyConnected(IN, OUT)
    assert layer.trainable and not Base.BaseLayer().trainable
    assert layer.weights.shape == (IN + 1, OUT) and layer.weights.dtype == np.float64
    assert np.all((layer.weights >= 0) & (layer.weights < 1))
    assert layer.optimizer is None


def test_fully_connected_forward_backward_values():
    rng = np.random.default_rng(1)
    layer = FullyConnected.FullyConnected(IN, OUT)
    x = rng.random((BATCH, IN))
    ones = np.hstack([x, np.ones((BATCH, 1))])
    out = layer.forward(x)
    assert out.shape == (BATCH, OUT) and out.dtype == np.float64
    np.testing.assert_allclose(out, ones @ layer.weights, rtol=1e-12)
    e = rng.standard_normal((BATCH, OUT))
    w = layer.weights.copy()
    grad_x = layer.backward(e)
    assert grad_x.shape == (BATCH, IN)
    np.testing.assert_allclose(grad_x, e @ w[:-1].T, rtol=1e-12)
    np.testing.assert_allclose(layer.gradient_weights, ones.T @ e, rtol=1e-12)


def test_fully_connected_bias_is_the_last_row():
    layer = FullyConnected.FullyConnected(100000, 1)
    assert np.sum(layer.forward(np.zeros((1, 100000)))) > 0
    layer = FullyConnected.FullyConnected(2, 3)
    layer.weights = np.vstack([np.zeros((2, 3)), [[1.0, 2.0, 3.0]]])
    np.testing.assert_array_equal(layer.forward(np.ones((4, 2))), [[1, 2, 3]] * 4)


@pytest.mark.parametrize("zero_input", [False, True])
def test_fully_connected_update_moves_weights(zero_input):
    # descending on -sum(out^2)/2 makes the output grow (the bias alone when
    # the input is zero)
    rng = np.random.default_rng(2)
    x = np.zeros((BATCH, IN)) if zero_input else rng.random((BATCH, IN))
    layer = FullyConnected.FullyConnected(IN, OUT)
    layer.optimizer = Optimizers.Sgd(1)
    for _ in range(10):
        out = layer.forward(x)
        w = layer.weights.copy()
        grad_x = layer.backward(-out)
        np.testing.assert_allclose(grad_x, -out @ w[:-1].T, rtol=1e-12)  # weights before the update
        assert np.sum(layer.forward(x) ** 2) > np.sum(out ** 2)


def test_fully_connected_initialize():
    class Recorder:
        def initialize(self, shape, fan_in, fan_out):
            self.args = (shape, fan_in, fan_out)
            w = np.zeros(shape)
            w[0] = 1
            w[1:2] = 2
            return w

    layer = FullyConnected.FullyConnected(4, 10)
    weights_init, bias_init = Recorder(), Recorder()
    layer.initialize(weights_init, bias_init)
    assert weights_init.args == ((4, 10), 4, 10)
    assert bias_init.args == ((1, 10), 1, 10)
    layer.initialize(Recorder(), Initializers.Constant(0.5))
    assert layer.weights.shape == (5, 10) and np.sum(layer.weights) == 10 + 20 + 5


def test_fully_connected_gradients(label_tensor):
    np.random.seed(3)
    x = np.abs(np.random.random((BATCH, IN)))
    layers = [FullyConnected.FullyConnected(IN, CATEGORIES), L2Loss()]
    assert_input_gradient(layers, x, label_tensor)
    assert_weight_gradient(layers, x, label_tensor, bias=False)


def test_fully_connected_float32_weights_compute_in_float32():
    layer = FullyConnected.FullyConnected(3, 2)
    layer.weights = layer.weights.astype(np.float32)
    out = layer.forward(np.ones((2, 3)))
    assert out.dtype == np.float32
    assert layer.backward(np.ones((2, 2))).dtype == np.float32


def test_fully_connected_same_on_both_backends():
    rng = np.random.default_rng(4)
    layer = FullyConnected.FullyConnected(7, 5)
    x, e = rng.random((6, 7)), rng.standard_normal((6, 5))
    results = []
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            results.append((layer.forward(x), layer.backward(e), layer.gradient_weights))
    for fast, ref in zip(*results):
        np.testing.assert_allclose(fast, ref, rtol=1e-10)


# -- ReLU -----------------------------------------------------------------------

def test_relu_forward_backward():
    x = np.ones((10, 5))
    x[:5] -= 2
    expected = np.zeros((10, 5))
    expected[5:] = 1
    layer = ReLU.ReLU()
    assert not layer.trainable
    np.testing.assert_array_equal(layer.forward(x), expected)
    np.testing.assert_array_equal(layer.backward(2 * x), 2 * expected)


def test_relu_gradient():
    np.random.seed(5)
    x = np.random.random((10, 5)) * 2 - 1
    assert_input_gradient([ReLU.ReLU(), L2Loss()], x, one_hot_labels(10, 5, rng=5))


# -- SoftMax --------------------------------------------------------------------

def test_softmax_is_stable_and_exact(label_tensor):
    layer = SoftMax.SoftMax()
    assert not layer.trainable
    out = layer.forward(np.zeros((BATCH, CATEGORIES)) + 10000.0)
    np.testing.assert_allclose(out, 1 / CATEGORIES)
    x = np.arange(CATEGORIES * BATCH).reshape(CATEGORIES, BATCH).T / 100  # not contiguous, int-derived
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(layer.forward(x), e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    assert L2Loss().forward(layer.forward(label_tensor * 100.0), label_tensor) < 1e-10
    # the 3 wrong classes share the mass: per row 3 * (1/3)^2 + 1^2
    assert L2Loss().forward(layer.forward((label_tensor - 1) * -100.0), label_tensor) == pytest.approx(12)


def test_softmax_backward_is_the_jacobian_applied_to_the_error():
    rng = np.random.default_rng(6)
    x, e = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    layer = SoftMax.SoftMax()
    y = layer.forward(x)
    expected = np.stack([(np.diag(yi) - np.outer(yi, yi)) @ ei for yi, ei in zip(y, e)])
    np.testing.assert_allclose(layer.backward(e), expected, rtol=1e-12, atol=1e-15)


def test_softmax_with_cross_entropy(label_tensor):
    softmax, loss = SoftMax.SoftMax(), Loss.CrossEntropyLoss()
    loss.forward(softmax.forward(label_tensor * 100.0), label_tensor)
    assert np.sum(softmax.backward(loss.backward(label_tensor))) == pytest.approx(0, abs=1e-7)
    # very wrong: every wrong class pushed down by 1/3, the right one up by 1
    loss.forward(softmax.forward((label_tensor - 1) * -10.0), label_tensor)
    error = softmax.backward(loss.backward(label_tensor))
    np.testing.assert_allclose(error[label_tensor == 0], 1 / 3, atol=1e-3)
    np.testing.assert_allclose(error[label_tensor == 1], -1, atol=1e-3)


def test_softmax_gradient(label_tensor):
    np.random.seed(7)
    x = np.abs(np.random.random(label_tensor.shape))
    assert_input_gradient([SoftMax.SoftMax(), L2Loss()], x, label_tensor)


# -- Flatten --------------------------------------------------------------------

def test_flatten_round_trip():
    x = np.arange(9 * 3 * 4 * 11, dtype=float).reshape(9, 3, 4, 11)
    layer = Flatten.Flatten()
    assert not layer.trainable
    out = layer.forward(x)
    np.testing.assert_array_equal(out, x.reshape(9, -1))
    back = layer.backward(out)
    assert back.shape == x.shape
    np.testing.assert_array_equal(back, x)


# -- CrossEntropyLoss -----------------------------------------------------------

def test_cross_entropy_values(label_tensor):
    loss = Loss.CrossEntropyLoss()
    assert loss.forward(label_tensor, label_tensor) == pytest.approx(0, abs=1e-12)
    labels = np.zeros((BATCH, CATEGORIES))
    labels[:, 2] = 1
    wrong = np.zeros_like(labels)
    wrong[:, 1] = 1
    eps = np.finfo(float).eps
    assert loss.forward(wrong, labels) == pytest.approx(-BATCH * np.log(eps), rel=1e-12)  # 324.3928805...
    p = np.full((BATCH, CATEGORIES), 0.25)
    loss.forward(p, labels)
    np.testing.assert_allclose(loss.backward(labels), -labels / (p + eps), rtol=1e-15)


def test_cross_entropy_gradient(label_tensor):
    np.random.seed(8)
    x = np.abs(np.random.random(label_tensor.shape)) + 0.01
    assert_input_gradient([Loss.CrossEntropyLoss()], x, label_tensor, course_limit=1e-4)


def test_fully_connected_weights_edited_in_place_and_dtype_switched():
    layer = FullyConnected.FullyConnected(3, 2)
    x = np.ones((4, 3))
    layer.weights[...] = 0.0
    layer.weights[-1] = [1.0, 2.0]        # an edit in place is seen by the next forward
    np.testing.assert_array_equal(layer.forward(x), [[1.0, 2.0]] * 4)
    layer.weights = layer.weights.astype(np.float32)
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(np.ones((4, 2))).dtype == np.float32
    assert layer.gradient_weights.dtype == np.float32
    layer.weights = layer.weights.astype(np.float64)
    out = layer.forward(x)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1.0, 2.0]] * 4)


def test_fau_layers_leave_nnfast_random_stream_alone():
    nf.seed(5)
    expected = nf.init.uniform((4,), 0.0, 1.0, np.float64, None)
    nf.seed(5)
    FullyConnected.FullyConnected(3, 2).forward(np.ones((1, 3)))
    Conv.Conv((1, 1), (1, 3, 3), 2).forward(np.ones((1, 1, 4, 4)))
    np.testing.assert_array_equal(nf.init.uniform((4,), 0.0, 1.0, np.float64, None), expected)
