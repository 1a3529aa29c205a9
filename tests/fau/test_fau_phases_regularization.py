"""nnfast.fau.NeuralNetwork in the third exercise's form: the phase switch,
the regularization loss in the training loss, and training on Iris and the
8x8 digits with dropout and L1/L2 penalties above chance."""
import numpy as np
import pytest

import nnfast.fau.NeuralNetwork as NeuralNetwork
from nnfast.fau.Layers import *  # noqa: F401,F403
from nnfast.fau.Optimization import *  # noqa: F401,F403


class FixedBatch:
    """A data layer giving the same batch every time."""

    def __init__(self, x, labels):
        self.x, self.labels = x, labels

    def next(self):
        return self.x, self.labels


def small_network(optimizer, dropout=None):
    net = NeuralNetwork.NeuralNetwork(optimizer, Initializers.Constant(0.5),
                                      Initializers.Constant(0.1))
    rng = np.random.default_rng(0)
    net.data_layer = FixedBatch(rng.random((8, 4)), np.eye(3)[rng.integers(0, 3, 8)])
    net.loss_layer = Loss.CrossEntropyLoss()
    layers = [FullyConnected.FullyConnected(4, 5), TanH.TanH()]
    if dropout is not None:
        layers.append(Dropout.Dropout(dropout))
    layers += [FullyConnected.FullyConnected(5, 3), SoftMax.SoftMax()]
    for layer in layers:
        net.append_layer(layer)
    return net


# -- the phase --------------------------------------------------------------------

def test_phase_sets_every_layer():
    net = small_network(Optimizers.Sgd(0.1), dropout=0.5)
    assert net.phase is False
    assert all(layer.testing_phase is False for layer in net.layers)
    net.phase = True
    assert all(layer.testing_phase is True for layer in net.layers)
    net.append_layer(Sigmoid.Sigmoid())  # joins in the network's phase
    assert net.layers[-1].testing_phase is True
    net.phase = False
    assert not any(layer.testing_phase for layer in net.layers)


def test_train_runs_in_training_and_test_in_testing():
    net = small_network(Optimizers.Sgd(0.1), dropout=0.5)
    net.phase = True
    net.train(1)
    assert net.phase is False and not net.layers[2].testing_phase
    x = np.random.default_rng(1).random((6, 4))
    first = net.test(x)
    assert net.phase is True and all(layer.testing_phase for layer in net.layers)
    np.testing.assert_array_equal(net.test(x), first)  # dropout is the identity
    np.testing.assert_allclose(first.sum(axis=1), 1)


def test_phase_must_be_a_bool():
    net = small_network(Optimizers.Sgd(0.1))
    for bad in ("test", 1, None):
        with pytest.raises(TypeError, match="phase"):
            net.phase = bad
    net.phase = np.bool_(True)
    assert net.phase is True


# -- the regularization loss ----------------------------------------------------------

@pytest.mark.parametrize("make_reg", [Constraints.L1_Regularizer, Constraints.L2_Regularizer])
def test_training_loss_adds_every_regularized_layer_norm(make_reg):
    plain = small_network(Optimizers.Sgd(1e-3))
    optimizer = Optimizers.Sgd(1e-3)
    reg = make_reg(8e-2)
    optimizer.add_regularizer(reg)
    penalized = small_network(optimizer)
    weights = [layer.weights.copy() for layer in penalized.layers if layer.trainable]
    plain.train(1)
    penalized.train(1)
    expected = sum(reg.norm(w) for w in weights)  # the weights the batch ran through
    assert expected > 0
    assert penalized.loss[0] - plain.loss[0] == pytest.approx(expected, rel=1e-12)
    assert penalized.regularization_loss() == pytest.approx(
        sum(reg.norm(layer.weights) for layer in penalized.layers if layer.trainable))
    assert plain.regularization_loss() == 0.0


def test_regularization_loss_skips_layers_without_a_regularizer():
    net = small_network(Optimizers.Sgd(1e-3))
    reg = Constraints.L2_Regularizer(1.0)
    net.layers[0].optimizer.add_regularizer(reg)  # only the first layer's copy
    assert net.regularization_loss() == pytest.approx(reg.norm(net.layers[0].weights))


def test_the_penalty_shrinks_the_weights():
    # with a zero gradient (the error of a fixed point is not zero, so use a
    # layer alone): L2 decay multiplies the weights by 1 - lr * alpha
    layer = FullyConnected.FullyConnected(3, 2)
    optimizer = Optimizers.Sgd(0.5)
    optimizer.add_regularizer(Constraints.L2_Regularizer(0.2))
    layer.optimizer = optimizer
    before = layer.weights.copy()
    layer.forward(np.ones((1, 3)))
    layer.backward(np.zeros((1, 2)))
    np.testing.assert_allclose(layer.weights, before * (1 - 0.5 * 0.2), rtol=1e-15)


# -- training above chance ------------------------------------------------------------

@pytest.fixture
def sklearn_datasets():
    return pytest.importorskip("sklearn.datasets")


def iris_network(optimizer, dropout):
    net = NeuralNetwork.NeuralNetwork(optimizer, Initializers.UniformRandom(),
                                      Initializers.Constant(0.1))
    net.data_layer = Helpers.IrisData(50)
    net.loss_layer = Loss.CrossEntropyLoss()
    layers = [FullyConnected.FullyConnected(4, 3), ReLU.ReLU(), FullyConnected.FullyConnected(3, 3)]
    if dropout:
        layers.append(Dropout.Dropout(0.7))
    for layer in layers + [SoftMax.SoftMax()]:
        net.append_layer(layer)
    return net


@pytest.mark.parametrize("make_reg, dropout", [
    (None, True), (lambda: Constraints.L1_Regularizer(4e-4), False),
    (lambda: Constraints.L2_Regularizer(4e-4), True)], ids=["dropout", "L1", "L2+dropout"])
def test_iris_above_chance(sklearn_datasets, make_reg, dropout):
    np.random.seed(0)
    optimizer = Optimizers.Adam(1e-2, 0.9, 0.999)
    if make_reg is not None:
        optimizer.add_regularizer(make_reg())
    net = iris_network(optimizer, dropout)
    net.train(1000)
    data, labels = net.data_layer.get_test_set()
    results = net.test(data)
    np.testing.assert_array_equal(net.test(data), results)
    assert Helpers.calculate_accuracy(results, labels) > 0.6  # chance: 1/3


@pytest.mark.parametrize("make_reg, dropout", [
    (lambda: Constraints.L2_Regularizer(8e-2), False),
    (lambda: Constraints.L1_Regularizer(8e-2), False),
    (lambda: Constraints.L2_Regularizer(4e-4), True)], ids=["L2", "L1", "dropout"])
def test_digits_above_chance(sklearn_datasets, make_reg, dropout):
    # the course's convolutional network on the 8x8 digits, 100 iterations
    np.random.seed(0)
    optimizer = Optimizers.Adam(5e-3, 0.98, 0.999)
    optimizer.add_regularizer(make_reg())
    net = NeuralNetwork.NeuralNetwork(optimizer, Initializers.He(), Initializers.Constant(0.1))
    net.data_layer = Helpers.DigitData(150)
    net.loss_layer = Loss.CrossEntropyLoss()
    layers = [Conv.Conv((1, 1), (1, 3, 3), 4), ReLU.ReLU(), Flatten.Flatten(),
              FullyConnected.FullyConnected(256, 128)]
    if dropout:
        layers.append(Dropout.Dropout(0.3))
    layers += [ReLU.ReLU(), FullyConnected.FullyConnected(128, 85), ReLU.ReLU(),
               FullyConnected.FullyConnected(85, 10), SoftMax.SoftMax()]
    for layer in layers:
        net.append_layer(layer)
    net.train(100)
    assert all(np.isfinite(net.loss))
    data, labels = net.data_layer.get_test_set()
    assert Helpers.calculate_accuracy(net.test(data), labels) > 0.3  # chance: 1/10
