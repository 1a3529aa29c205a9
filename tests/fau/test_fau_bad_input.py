"""nnfast.fau: every kind of bad input raises ValueError or TypeError naming
the argument, before any kernel runs."""
import numpy as np
import pytest

import nnfast.fau.NeuralNetwork as NeuralNetwork
from nnfast.fau.Layers import *  # noqa: F401,F403
from nnfast.fau.Optimization import *  # noqa: F401,F403


@pytest.mark.parametrize("args, error, match", [
    ((0, 3), ValueError, "input_size"), ((3, -1), ValueError, "output_size"),
    ((2.5, 3), TypeError, "input_size"), ((True, 3), TypeError, "input_size")])
def test_fully_connected_constructor(args, error, match):
    with pytest.raises(error, match=match):
        FullyConnected.FullyConnected(*args)


def test_fully_connected_forward_backward():
    layer = FullyConnected.FullyConnected(3, 2)
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((4, 2)))
    for bad, error in ((np.ones((4, 4)), ValueError), (np.ones(3), ValueError),
                       (np.ones((0, 3)), ValueError), (np.array([["a", "b", "c"]]), TypeError)):
        with pytest.raises(error, match="input_tensor"):
            layer.forward(bad)
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="error_tensor"):
        layer.backward(np.ones((4, 3)))
    layer.weights = np.ones((3, 2))  # the bias row forgotten
    with pytest.raises(ValueError, match="weights"):
        layer.forward(np.ones((4, 3)))
    with pytest.raises(TypeError, match="optimizer"):
        layer.optimizer = "sgd"


def test_fully_connected_initializer_of_the_wrong_shape():
    class Wrong:
        def initialize(self, shape, fan_in, fan_out):
            return np.ones((7, 7))

    with pytest.raises(ValueError, match="weights_initializer"):
        FullyConnected.FullyConnected(3, 2).initialize(Wrong(), Initializers.Constant())


@pytest.mark.parametrize("args, error, match", [
    (((1, 1), (3, 3, 3, 3), 2), ValueError, "convolution_shape"),
    (((1, 1), (3,), 2), ValueError, "convolution_shape"),
    (((1, 1), (3, 0, 3), 2), ValueError, "convolution_shape"),
    (((1, 1, 1), (3, 3, 3), 2), ValueError, "stride_shape"),
    (((1, 1), (3, 3), 2), ValueError, "stride_shape"),
    (((0, 1), (3, 3, 3), 2), ValueError, "stride_shape"),
    (((1, 1), (3, 3, 3), 0), ValueError, "num_kernels"),
    (((1, 1), (3, 3.0, 3), 2), TypeError, "convolution_shape")])
def test_conv_constructor(args, error, match):
    with pytest.raises(error, match=match):
        Conv.Conv(*args)


def test_conv_forward_backward():
    layer = Conv.Conv((1, 1), (3, 3, 3), 2)
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((1, 2, 5, 5)))
    with pytest.raises(ValueError, match="input_tensor"):
        layer.forward(np.ones((1, 3, 5)))  # 1-D input to a 2-D layer
    with pytest.raises(ValueError, match="3 channels"):
        layer.forward(np.ones((1, 4, 5, 5)))
    out = layer.forward(np.ones((1, 3, 5, 5)))
    with pytest.raises(ValueError, match="error_tensor"):
        layer.backward(out[:, :, :4])
    layer.bias = np.ones(3)
    with pytest.raises(ValueError, match="bias"):
        layer.forward(np.ones((1, 3, 5, 5)))
    layer.bias, layer.weights = np.ones(2), np.ones((2, 3, 3))
    with pytest.raises(ValueError, match="weights"):
        layer.forward(np.ones((1, 3, 5, 5)))
    with pytest.raises(ValueError, match="input_tensor"):
        Conv.Conv([1], (3, 3), 2).forward(np.ones((1, 3, 5, 5)))


def test_pooling():
    with pytest.raises(ValueError, match="pooling_shape"):
        Pooling.Pooling((1, 1), (2, 2, 2))
    with pytest.raises(ValueError, match="stride_shape"):
        Pooling.Pooling((0, 1), (2, 2))
    layer = Pooling.Pooling((2, 2), (3, 3))
    with pytest.raises(ValueError, match="pooling_shape"):
        layer.forward(np.ones((1, 1, 2, 5)))
    with pytest.raises(ValueError, match="input_tensor"):
        layer.forward(np.ones((1, 5, 5)))
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((1, 1, 1, 1)))


def test_layers_without_weights():
    with pytest.raises(ValueError, match="input_tensor"):
        SoftMax.SoftMax().forward(np.ones(4))
    with pytest.raises(TypeError, match="input_tensor"):
        ReLU.ReLU().forward(np.array(["x"]))
    layer = Flatten.Flatten()
    layer.forward(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="error_tensor"):
        layer.backward(np.ones((2, 11)))


def test_cross_entropy():
    loss = Loss.CrossEntropyLoss()
    labels = np.eye(3)
    with pytest.raises(ValueError, match="before forward"):
        loss.backward(labels)
    with pytest.raises(ValueError, match="one-hot"):
        loss.forward(np.full((3, 3), 1 / 3), labels * 2)
    with pytest.raises(ValueError, match="label_tensor"):
        loss.forward(np.full((3, 3), 1 / 3), np.eye(4))
    for bad in (np.full((3, 3), -0.1), np.full((3, 3), np.nan)):
        with pytest.raises(ValueError, match="prediction_tensor"):
            loss.forward(bad, labels)
    loss.forward(np.full((3, 3), 1 / 3), labels)
    with pytest.raises(ValueError, match="label_tensor"):
        loss.backward(np.eye(2))


@pytest.mark.parametrize("make, error, match", [
    (lambda: Optimizers.Sgd(-1.0), ValueError, "learning_rate"),
    (lambda: Optimizers.Sgd(float("nan")), ValueError, "learning_rate"),
    (lambda: Optimizers.Sgd("0.1"), TypeError, "learning_rate"),
    (lambda: Optimizers.SgdWithMomentum(0.1, 1.5), ValueError, "momentum_rate"),
    (lambda: Optimizers.Adam(0.1, 1.0, 0.9), ValueError, "mu"),
    (lambda: Optimizers.Adam(0.1, 0.9, -0.1), ValueError, "rho")])
def test_optimizer_hyper_parameters(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_optimizer_arguments():
    opt = Optimizers.Sgd(0.1)
    with pytest.raises(ValueError, match="gradient_tensor"):
        opt.calculate_update(np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match="weight_tensor"):
        opt.calculate_update("w", 1.0)
    with pytest.raises(TypeError, match="gradient_tensor"):
        opt.calculate_update(1.0, None)


def test_initializers():
    with pytest.raises(ValueError, match="fan_in"):
        Initializers.He().initialize((2, 2), 0, 2)
    with pytest.raises(TypeError, match="fan_out"):
        Initializers.Xavier().initialize((2, 2), 2, 2.5)
    with pytest.raises(ValueError, match="weights_shape"):
        Initializers.UniformRandom().initialize((2, -1), 2, 2)
    with pytest.raises(TypeError, match="value"):
        Initializers.Constant("0.1")


def test_neural_network():
    net = NeuralNetwork.NeuralNetwork(Optimizers.Sgd(1), Initializers.Constant(), Initializers.Constant())
    with pytest.raises(ValueError, match="data_layer"):
        net.forward()
    with pytest.raises(ValueError, match="before forward"):
        net.backward()
    with pytest.raises(ValueError, match="iterations"):
        net.train(-1)


def test_flatten_of_1d_input_names_input_tensor():
    # the error came from nnfast's Flatten, naming its own argument x
    with pytest.raises(ValueError, match="input_tensor must have at least 2 dimensions"):
        Flatten.Flatten().forward(np.ones(3))
