"""nnfast.fau: Conv (2-D and 1-D, strides, odd and even kernels) and Pooling."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.fau.Layers import *  # noqa: F401,F403  (the course's imports)
from nnfast.fau.Optimization import *  # noqa: F401,F403
from conftest import assert_close
from fau_helpers import L2Loss, assert_input_gradient, assert_weight_gradient


def conv_same_reference(x, weights, bias, stride):
    """The course's definition, spelled out: zero padding (m - 1) // 2 before
    and m // 2 after each spatial axis, valid cross-correlation summed over
    the channels, then every stride-th position from 0, plus the bias."""
    one_d = x.ndim == 3
    if one_d:
        x, weights, stride = x[..., None], weights[..., None], (stride[0], 1)
    m, n = weights.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), ((m - 1) // 2, m // 2), ((n - 1) // 2, n // 2)))
    h, w = x.shape[2:]
    out = np.zeros((x.shape[0], weights.shape[0], h, w)) + bias[None, :, None, None]
    for i in range(m):
        for j in range(n):
            out += np.einsum("nchw,kc->nkhw", xp[:, :, i:i + h, j:j + w], weights[:, :, i, j])
    out = out[:, :, ::stride[0], ::stride[1]]
    return out[..., 0] if one_d else out


CASES = [  # stride_shape, convolution_shape, num_kernels, input shape
    ((1, 1), (3, 5, 8), 4, (2, 3, 10, 14)),
    ((3, 2), (3, 5, 8), 4, (2, 3, 10, 14)),
    ((3, 2), (3, 5, 8), 5, (3, 3, 11, 15)),
    ((2, 2), (2, 4, 4), 3, (2, 2, 7, 6)),
    ((1, 2), (1, 2, 3), 2, (1, 1, 5, 5)),
    ((1, 1), (3, 1, 1), 4, (2, 3, 10, 14)),
    ([2], (3, 3), 4, (2, 3, 15)),
    (1, (2, 4), 3, (2, 2, 9)),
    ((3,), (1, 2), 2, (3, 1, 10)),
]


@pytest.mark.parametrize("stride, shape, kernels, x_shape", CASES)
def test_conv_matches_the_definition(stride, shape, kernels, x_shape, threads):
    np.random.seed(0)
    layer = Conv.Conv(stride, shape, kernels)
    assert layer.trainable and layer.weights.shape == (kernels, *shape)
    assert layer.bias.shape == (kernels,)
    x = np.random.uniform(-1, 1, x_shape)
    strides = [stride] * len(x_shape[2:]) if isinstance(stride, int) else list(stride)
    strides = strides * len(x_shape[2:]) if len(strides) == 1 else strides
    expected = conv_same_reference(x, layer.weights, layer.bias, strides)
    out = layer.forward(x)
    assert out.dtype == np.float64
    assert out.shape == (x_shape[0], kernels) + tuple(-(-s // t) for s, t in zip(x_shape[2:], strides))
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    grad_x = layer.backward(out)
    assert grad_x.shape == x_shape and layer.gradient_weights.shape == layer.weights.shape
    assert layer.gradient_bias.shape == (kernels,)


@pytest.mark.parametrize("stride, shape, kernels, x_shape", CASES)
def test_conv_same_on_both_backends(stride, shape, kernels, x_shape, threads):
    rng = np.random.default_rng(1)
    layer = Conv.Conv(stride, shape, kernels)
    x = rng.standard_normal(x_shape)
    results = []
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            out = layer.forward(x)
            results.append((out, layer.backward(np.cos(out)), layer.gradient_weights,
                            layer.gradient_bias))
    for fast, ref in zip(*results):
        assert_close(fast, ref, np.float64)


@pytest.mark.parametrize("stride, shape, kernels, x_shape", CASES[:5])
def test_conv_matches_torch(stride, shape, kernels, x_shape, torch):
    rng = np.random.default_rng(2)
    layer = Conv.Conv(stride, shape, kernels)
    x = rng.standard_normal(x_shape)
    m, n = shape[1:]
    xt = torch.tensor(x, requires_grad=True)
    padded = torch.nn.functional.pad(xt, ((n - 1) // 2, n // 2, (m - 1) // 2, m // 2))
    yt = torch.nn.functional.conv2d(padded, torch.tensor(layer.weights), torch.tensor(layer.bias),
                                    stride=tuple(stride))
    e = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(e))
    np.testing.assert_allclose(layer.forward(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.backward(e), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_assigned_weights_gaussian_filter():
    # course pattern: weights assigned (via an intermediate shape), integer bias
    ndimage = pytest.importorskip("scipy.ndimage")
    np.random.seed(1337)
    layer = Conv.Conv((1, 1), (1, 3, 3), 1)
    layer.weights = (1.0 / 15.0) * np.array([[[1, 2, 1], [2, 3, 2], [1, 2, 1]]])
    layer.bias = np.array([0])
    layer.weights = np.expand_dims(layer.weights, 0)
    x = np.random.random((1, 1, 10, 14))
    expected = ndimage.gaussian_filter(x[0, 0], 0.85, mode="constant", cval=0.0, truncate=1.0)
    assert np.max(np.abs(layer.forward(x).reshape(10, 14) - expected)) < 0.05


def test_conv_initialize_fans_and_layout():
    class Recorder:
        def initialize(self, shape, fan_in, fan_out):
            self.args = (shape, fan_in, fan_out)
            w = np.zeros((1, 3, 3, 3))
            w[0, 1, 1, 1] = 1
            return w

    layer = Conv.Conv((1, 1), (3, 5, 8), 4)
    init = Recorder()
    layer.initialize(init, Initializers.Constant(0.1))
    assert init.args == ((4, 3, 5, 8), 3 * 5 * 8, 4 * 5 * 8)
    np.testing.assert_array_equal(layer.bias, np.full(4, 0.1))
    one_d = Conv.Conv(2, (3, 5), 4)
    one_d.initialize(init, Initializers.Constant(0.1))
    assert init.args == ((4, 3, 5), 15, 20)
    # the centre tap of the middle channel copies that channel
    layer = Conv.Conv((1, 1), (3, 3, 3), 1)
    layer.initialize(Recorder(), Initializers.Constant(0.0))
    x = np.arange(2 * 3 * 10 * 14, dtype=float).reshape(2, 3, 10, 14)
    np.testing.assert_array_equal(np.squeeze(layer.forward(x)), x[:, 1])


def test_conv_default_initialization_is_not_zero():
    assert np.mean(np.abs(Conv.Conv((1, 1), (10, 5, 5), 15).weights)) > 1e-3
    assert np.mean(np.abs(Conv.Conv((1, 1), (1, 1, 1), 1500).bias)) > 1e-3


def test_conv_update_uses_separate_optimizer_copies():
    np.random.seed(3)
    x = np.random.uniform(-1, 1, (2, 3, 10, 14))
    layer = Conv.Conv((3, 2), (3, 5, 8), 4)
    layer.optimizer = Optimizers.Adam(1e-2, 0.9, 0.999)
    layer.initialize(Initializers.He(), Initializers.Constant(0.1))
    assert layer._bias_optimizer is not layer.optimizer
    for _ in range(5):
        out = layer.forward(x)
        w = layer.weights.copy()
        grad_x = layer.backward(-out)
        assert not np.array_equal(layer.weights, w)
        assert np.sum(layer.forward(x) ** 2) > np.sum(out ** 2)
    # the error below used the weights before the update
    check = Conv.Conv((3, 2), (3, 5, 8), 4)
    check.weights, check.bias = w, np.zeros(4)
    check.forward(x)
    np.testing.assert_allclose(grad_x, check.backward(-out), rtol=1e-12)


GRADIENT_CASES = [  # stride, convolution_shape, kernels, input shape
    ((1, 1), (3, 3, 3), 3, (2, 3, 5, 7)),
    ((2, 2), (3, 3, 3), 3, (2, 3, 5, 7)),
    ((1, 2), (6, 3, 3), 1, (2, 6, 5, 14)),
    ((2, 1), (2, 4, 2), 2, (2, 2, 6, 5)),
    ([1], (3, 3), 2, (2, 3, 7)),
    ([2], (2, 4), 3, (2, 2, 9)),
]


@pytest.mark.parametrize("stride, shape, kernels, x_shape", GRADIENT_CASES)
def test_conv_gradients(stride, shape, kernels, x_shape):
    np.random.seed(1337)
    x = np.abs(np.random.random(x_shape))
    layer = Conv.Conv(stride, shape, kernels)
    n_out = int(np.prod(layer.forward(x).shape[1:]))
    labels = np.random.random((x_shape[0], n_out))
    layers = [layer, Flatten.Flatten(), L2Loss()]
    assert_input_gradient(layers, x, labels, course_limit=5e-2)
    assert_weight_gradient(layers, x, labels, bias=False, course_limit=1e-4)
    assert_weight_gradient(layers, x, labels, bias=True, course_limit=1e-5)


# -- Pooling --------------------------------------------------------------------

@pytest.fixture
def pool_input():
    np.random.seed(1337)
    return np.random.uniform(-1, 1, (2, 2, 4, 7))


@pytest.mark.parametrize("stride, pool, shape", [((2, 2), (2, 2), (2, 2, 2, 3)),
                                                 ((2, 1), (2, 2), (2, 2, 2, 6)),
                                                 ((3, 2), (2, 2), (2, 2, 1, 3)),
                                                 (1, 3, (2, 2, 2, 5))])
def test_pooling_shapes_and_gradients(pool_input, stride, pool, shape):
    layer = Pooling.Pooling(stride, pool)
    assert not layer.trainable
    assert layer.forward(pool_input).shape == shape
    labels = np.random.default_rng(0).random((2, int(np.prod(shape[1:]))))
    assert_input_gradient([layer, Flatten.Flatten(), L2Loss()], pool_input, labels, course_limit=1e-6)


def test_pooling_values():
    x = np.arange(2 * 16, dtype=float).reshape(2, 1, 4, 4)
    np.testing.assert_array_equal(Pooling.Pooling((2, 2), (2, 2)).forward(x),
                                  [[[[5, 7], [13, 15]]], [[[21, 23], [29, 31]]]])
    x = np.arange(2 * 9, dtype=float).reshape(2, 1, 3, 3)  # the last row and column fall off
    np.testing.assert_array_equal(Pooling.Pooling((2, 2), (2, 2)).forward(x), [[[[4]]], [[[13]]]])
    x = np.arange(2 * 2 * 4 * 7, dtype=float).reshape(2, 2, 4, 7)
    np.testing.assert_array_equal(Pooling.Pooling((1, 1), (1, 1)).forward(x), x)


def test_pooling_backward_routes_to_the_maximum():
    x = np.array([[[[1.0, 3.0], [2.0, 0.0]]]])
    layer = Pooling.Pooling((2, 2), (2, 2))
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.array([[[[5.0]]]])), [[[[0, 5], [0, 0]]]])


def test_conv_float32_weights_compute_in_float32():
    layer = Conv.Conv((1, 1), (2, 4, 3), 3)
    layer.weights = layer.weights.astype(np.float32)
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 5))
    out = layer.forward(x)
    assert out.dtype == np.float32
    grad_x = layer.backward(np.ones_like(out))
    assert grad_x.dtype == np.float32 and layer.gradient_weights.dtype == np.float32
    expected = conv_same_reference(x, layer.weights.astype(np.float64), layer.bias, (1, 1))
    assert_close(out, expected, np.float32)


def test_conv_gradients_are_not_overwritten_by_the_next_backward():
    layer = Conv.Conv((1, 1), (1, 3, 3), 2)
    x = np.random.default_rng(1).standard_normal((1, 1, 5, 5))
    out = layer.forward(x)
    layer.backward(np.ones_like(out))
    first, first_bias = layer.gradient_weights, layer.gradient_bias
    kept, kept_bias = first.copy(), first_bias.copy()
    layer.forward(2 * x)
    layer.backward(3 * np.ones_like(out))
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(first_bias, kept_bias)
    assert not np.array_equal(layer.gradient_weights, kept)
