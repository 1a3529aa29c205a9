"""nnfast.fau's BatchNormalization: the course's checks (shapes, batch
statistics in training, the moving average in the testing phase, reformat,
central differences on input, weights and bias, an update), its moving
average with decay 0.8, dtypes and bad input."""
import numpy as np
import pytest

from nnfast.fau.Layers import BatchNormalization, Flatten, FullyConnected, Initializers
from nnfast.fau.Optimization import Optimizers
from fau_helpers import L2Loss, assert_input_gradient, assert_weight_gradient, one_hot_labels

CHANNELS = 2
IMAGE = (CHANNELS, 3, 3)


def _vector_input(rng=0):
    return np.abs(np.random.default_rng(rng).random((200, 18)))


def _image_input(rng=1):
    return np.random.default_rng(rng).uniform(-1, 1, (200, *IMAGE))


def _channel_moments(tensor, channels):
    tensor = np.transpose(tensor, (0, *range(2, tensor.ndim), 1)).reshape(-1, channels)
    return tensor.mean(axis=0), tensor.var(axis=0)


def _layers(first, labels_categories=5):
    return [first, Flatten.Flatten(), FullyConnected.FullyConnected(18, labels_categories),
            L2Loss()]


def test_trainable_and_default_phase():
    layer = BatchNormalization.BatchNormalization(18)
    assert layer.trainable and layer.testing_phase is False
    assert layer.weights.shape == layer.bias.shape == (18,)
    np.testing.assert_array_equal(layer.weights, 1)
    np.testing.assert_array_equal(layer.bias, 0)


def test_initialize_sets_ones_and_zeros_whatever_initializers():
    layer = BatchNormalization.BatchNormalization(4)
    layer.weights, layer.bias = np.full(4, 3.0), np.full(4, 2.0)
    layer.initialize(Initializers.Constant(0.5), Initializers.UniformRandom())
    np.testing.assert_array_equal(layer.weights, 1)
    np.testing.assert_array_equal(layer.bias, 0)


@pytest.mark.parametrize("x", [_vector_input(), _image_input()], ids=["2d", "4d"])
def test_training_forward_normalises_each_channel(x):
    channels = x.shape[1]
    out = BatchNormalization.BatchNormalization(channels).forward(x)
    assert out.shape == x.shape and out.dtype == np.float64
    mean, var = _channel_moments(out, channels)
    assert np.sum(np.square(mean)) < 1e-12
    assert np.sum(np.square(var - 1)) < 1e-12


@pytest.mark.parametrize("x", [_vector_input(), _image_input()], ids=["2d", "4d"])
def test_testing_phase_uses_the_first_batchs_statistics(x):
    channels = x.shape[1]
    layer = BatchNormalization.BatchNormalization(channels)
    layer.forward(x)
    train_out = layer.forward(np.zeros_like(x))   # still training: zeros normalise to zeros
    mean_in, var_in = _channel_moments(x, channels)
    assert np.sum(np.square(_channel_moments(train_out, channels)[0] + mean_in / np.sqrt(var_in))) > 0
    layer = BatchNormalization.BatchNormalization(channels)
    layer.forward(x)
    layer.testing_phase = True
    mean, var = _channel_moments(layer.forward(np.zeros_like(x)), channels)
    np.testing.assert_allclose(mean, -mean_in / np.sqrt(var_in), rtol=1e-12)
    assert np.sum(np.square(var)) < 1e-20


def test_moving_average_decay():
    rng = np.random.default_rng(4)
    batches = [rng.standard_normal((50, 3)) * (i + 1) + i for i in range(4)]
    layer = BatchNormalization.BatchNormalization(3)
    mean, var = batches[0].mean(axis=0), batches[0].var(axis=0)
    for i, b in enumerate(batches):
        layer.forward(b)
        if i:
            mean = 0.8 * mean + 0.2 * b.mean(axis=0)
            var = 0.8 * var + 0.2 * b.var(axis=0)
    np.testing.assert_allclose(layer.moving_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_var, var, rtol=1e-12)
    layer.testing_phase = True
    x = rng.standard_normal((7, 3))
    np.testing.assert_allclose(layer.forward(x), (x - mean) / np.sqrt(var + BatchNormalization.EPSILON),
                               rtol=1e-10)
    np.testing.assert_allclose(layer.moving_mean, mean, rtol=1e-12)   # testing changes nothing


def test_testing_phase_before_training_is_identity_stats():
    layer = BatchNormalization.BatchNormalization(3)
    layer.testing_phase = True
    x = np.random.default_rng(0).standard_normal((1, 3))
    np.testing.assert_allclose(layer.forward(x), x / np.sqrt(1 + BatchNormalization.EPSILON))


def test_reformat():
    layer = BatchNormalization.BatchNormalization(3)
    image = np.arange(0, 5 * 3 * 6 * 4).reshape(5, 3, 6, 4)
    vec = layer.reformat(image)
    assert vec.shape == (120, 3)
    assert np.sum(vec, 1)[0] == 72 and np.sum(vec, 0)[0] == 18660
    layer = BatchNormalization.BatchNormalization(3)
    layer.forward(image)
    back = layer.reformat(np.arange(0, 5 * 3 * 6 * 4).reshape(120, 3))
    assert back.shape == (5, 3, 6, 4)
    assert np.sum(back, (0, 1, 2))[0] == 15750 and np.sum(back, (0, 2, 3))[0] == 21420
    np.testing.assert_array_equal(layer.reformat(layer.reformat(image)), image)


@pytest.mark.parametrize("x", [_vector_input()[:20], _image_input()[:6]], ids=["2d", "4d"])
def test_gradients_central_differences(x):
    labels = one_hot_labels(x.shape[0], 5, rng=2)
    layer = BatchNormalization.BatchNormalization(x.shape[1])
    layer.weights = np.random.default_rng(3).uniform(0.5, 2, x.shape[1])
    layer.bias = np.random.default_rng(4).standard_normal(x.shape[1])
    layers = _layers(layer)
    layers[2].initialize(Initializers.UniformRandom(), Initializers.UniformRandom())
    assert_input_gradient(layers, x, labels, course_limit=1e-4)
    layer.forward(x)
    assert_weight_gradient(layers, x, labels, False)
    assert_weight_gradient(layers, x, labels, True)


def test_update_with_optimizer():
    x = _vector_input()
    layer = BatchNormalization.BatchNormalization(18)
    layer.optimizer = Optimizers.Sgd(1)
    assert layer.optimizer is not None and layer._bias_optimizer is not layer.optimizer
    for _ in range(10):
        out = layer.forward(x)
        layer.backward(-out)
        new = layer.forward(x)
        assert np.sum(out ** 2) < np.sum(new ** 2)


def test_float32_weights_compute_in_float32():
    layer = BatchNormalization.BatchNormalization(3)
    layer.weights = np.ones(3, np.float32)
    x = np.random.default_rng(0).standard_normal((6, 3))
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32
    assert layer.gradient_weights.dtype == np.float32


def test_bad_input():
    with pytest.raises(ValueError, match="channels"):
        BatchNormalization.BatchNormalization(0)
    with pytest.raises(TypeError, match="channels"):
        BatchNormalization.BatchNormalization(True)
    layer = BatchNormalization.BatchNormalization(3)
    with pytest.raises(ValueError, match="input_tensor"):
        layer.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="input_tensor"):
        layer.forward(np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match="more than one value"):
        layer.forward(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.zeros((4, 3)))
    layer.forward(np.random.default_rng(0).standard_normal((4, 3)))
    with pytest.raises(ValueError, match="error_tensor"):
        layer.backward(np.zeros((4, 2)))
    layer.weights = np.ones(2)
    with pytest.raises(ValueError, match="weights"):
        layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="tensor"):
        BatchNormalization.BatchNormalization(3).reformat(np.zeros((6, 3)))
