"""nnfast.fau: the course's RNN and LSTM (the batch axis is the time axis),
in the patterns of the course's test file."""
import numpy as np
import pytest

from nnfast.fau.Layers import *  # noqa: F401,F403  (the course's imports)
from nnfast.fau.Optimization import *  # noqa: F401,F403
from fau_helpers import L2Loss, assert_input_gradient, assert_weight_gradient

TIME, IN, HIDDEN, CATEGORIES = 9, 5, 4, 3
CLASSES = {"RNN": (lambda *a: RNN.RNN(*a), 1), "LSTM": (lambda *a: LSTM.LSTM(*a), 4)}


def _layer(kind):
    return CLASSES[kind][0](IN, HIDDEN, CATEGORIES)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    labels = np.zeros((TIME, CATEGORIES))
    labels[np.arange(TIME), rng.integers(0, CATEGORIES, TIME)] = 1
    return rng.random((TIME, IN)), labels


@pytest.mark.parametrize("kind", CLASSES)
def test_interface_and_shapes(kind):
    np.random.seed(0)
    layer = _layer(kind)
    gates = CLASSES[kind][1]
    assert layer.trainable and layer.memorize is False and layer.optimizer is None
    assert layer.weights.shape == (IN + HIDDEN + 1, gates * HIDDEN)
    x, _ = _data()
    out = layer.forward(x)
    assert out.shape == (TIME, CATEGORIES) and out.dtype == np.float64
    assert np.all((out > 0) & (out < 1))   # the sigmoid output
    error_below = layer.backward(np.ones_like(out))
    assert error_below.shape == (TIME, IN)
    assert layer.gradient_weights.shape == layer.weights.shape


@pytest.mark.parametrize("kind", CLASSES)
def test_gradients(kind):
    """Central differences on the input and the weights, from the default
    U[0, 1) weights and from Xavier ones (U[0, 1) saturates the LSTM's
    gates: per-element differences of gradients near 0 then dominate the
    course's criterion, so the LSTM is checked from Xavier only)."""
    np.random.seed(1)
    x, labels = _data(1)
    for init in (None, Initializers.Xavier()):
        if init is None and kind == "LSTM":
            continue
        layers = [_layer(kind), L2Loss()]
        if init is not None:
            layers[0].initialize(init, Initializers.Constant(0.1))
        assert_input_gradient(layers, x, labels)
        assert_weight_gradient(layers, x, labels, bias=False)


def test_rnn_computes_the_elman_cell():
    np.random.seed(2)
    layer = _layer("RNN")
    x, _ = _data(2)
    w, v = layer.weights, layer.output_weights
    h = np.zeros(HIDDEN)
    expected = []
    for t in range(TIME):
        h = np.tanh(np.concatenate([x[t], h, [1.0]]) @ w)
        expected.append(1 / (1 + np.exp(-(np.concatenate([h, [1.0]]) @ v))))
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)
    np.testing.assert_allclose(layer.hidden_state, h, rtol=1e-12)


@pytest.mark.parametrize("kind", CLASSES)
def test_memorize_carries_the_state_over(kind):
    np.random.seed(3)
    layer = _layer(kind)
    x, _ = _data(3)
    first = layer.forward(x)
    np.testing.assert_array_equal(layer.forward(x), first)   # memorize False: from zeros
    layer.memorize = True
    layer.forward(x)
    second = layer.forward(x)
    assert not np.allclose(second, first)
    # two halves with memorize == the whole sequence at once
    layer.memorize = False
    whole = layer.forward(np.concatenate([x, x]))
    layer.forward(x)
    layer.memorize = True
    np.testing.assert_allclose(layer.forward(x), whole[TIME:], rtol=1e-12)
    with pytest.raises(TypeError, match="memorize"):
        layer.memorize = 1


@pytest.mark.parametrize("kind", CLASSES)
def test_initialize_and_optimizer(kind):
    layer = _layer(kind)
    layer.initialize(Initializers.Constant(0.5), Initializers.Constant(0.25))
    assert np.all(layer.weights[:-1] == 0.5) and np.all(layer.weights[-1] == 0.25)
    assert np.all(layer.output_weights[:-1] == 0.5)
    x, _ = _data(4)
    layer.optimizer = Optimizers.Sgd(1.0)
    before = layer.weights.copy()
    layer.forward(x)
    layer.backward(np.ones((TIME, CATEGORIES)))
    np.testing.assert_allclose(layer.weights, before - layer.gradient_weights, rtol=1e-12)


class _Regularizer:
    def norm(self, weights):
        return 2.0 * np.sum(np.abs(weights))


@pytest.mark.parametrize("kind", CLASSES)
def test_regularization_loss(kind):
    layer = _layer(kind)
    assert layer.calculate_regularization_loss() == 0.0
    optimizer = Optimizers.Sgd(0.1)
    layer.optimizer = optimizer
    assert layer.calculate_regularization_loss() == 0.0
    optimizer.regularizer = _Regularizer()
    layer.optimizer = optimizer
    assert layer.calculate_regularization_loss() == pytest.approx(2.0 * np.abs(layer.weights).sum())


@pytest.mark.parametrize("kind", CLASSES)
def test_bad_input(kind):
    layer = _layer(kind)
    with pytest.raises(ValueError, match="input_tensor must have shape"):
        layer.forward(np.zeros((TIME, IN + 1)))
    with pytest.raises(ValueError, match="input_tensor must have 2 dimensions"):
        layer.forward(np.zeros((TIME, IN, 1)))
    with pytest.raises(ValueError, match="backward called before forward"):
        layer.backward(np.zeros((TIME, CATEGORIES)))
    layer.weights = np.zeros((2, 2))
    with pytest.raises(ValueError, match="weights must have shape"):
        layer.forward(np.zeros((TIME, IN)))
    with pytest.raises(ValueError, match="hidden_size"):
        CLASSES[kind][0](IN, 0, CATEGORIES)
