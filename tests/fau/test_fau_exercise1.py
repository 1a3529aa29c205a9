"""The first exercise's form of nnfast.fau: ``NeuralNetwork(optimizer)``,
where every layer keeps the weights it drew when it was made (the course's
exercise-1 test file builds its networks this way)."""
import unittest

import numpy as np
import pytest

import nnfast.fau.NeuralNetwork as NeuralNetwork
from nnfast.fau.Layers import *  # noqa: F401,F403  (the course's imports)
from nnfast.fau.Optimization import *  # noqa: F401,F403
from fau_helpers import assert_weight_gradient


def test_append_layer_keeps_the_layers_own_weights():
    net = NeuralNetwork.NeuralNetwork(Optimizers.Sgd(1))
    assert net.weights_initializer is None and net.bias_initializer is None
    np.random.seed(3)
    first, second = FullyConnected.FullyConnected(4, 3), FullyConnected.FullyConnected(3, 2)
    drawn = first.weights.copy()
    net.append_layer(first)
    net.append_layer(ReLU.ReLU())
    net.append_layer(second)
    assert len(net.layers) == 3
    np.testing.assert_array_equal(net.layers[0].weights, drawn)  # not re-initialized
    assert net.layers[0].optimizer is not net.layers[2].optimizer
    assert net.layers[0].optimizer is not net.optimizer
    assert isinstance(net.layers[2].optimizer, Optimizers.Sgd)


def test_the_second_form_still_initializes():
    net = NeuralNetwork.NeuralNetwork(Optimizers.Sgd(1), Initializers.Constant(0.25),
                                      Initializers.Constant(0.5))
    net.append_layer(FullyConnected.FullyConnected(2, 3))
    np.testing.assert_array_equal(net.layers[0].weights[:-1], 0.25)
    np.testing.assert_array_equal(net.layers[0].weights[-1], 0.5)


@pytest.mark.parametrize("args, error, match", [
    ((Initializers.Constant(), None), ValueError, "together"),
    ((None, Initializers.Constant()), ValueError, "together"),
    (("he", Initializers.Constant()), TypeError, "weights_initializer"),
    ((Initializers.He(), 0.1), TypeError, "bias_initializer")])
def test_initializers_given_by_halves_or_of_the_wrong_kind(args, error, match):
    with pytest.raises(error, match=match):
        NeuralNetwork.NeuralNetwork(Optimizers.Sgd(1), *args)


def test_an_optimizer_without_calculate_update():
    with pytest.raises(TypeError, match="optimizer"):
        NeuralNetwork.NeuralNetwork(1e-3)


def test_weight_gradient_in_an_exercise_one_stack():
    # Central differences (eps 1e-5) on the first layer's weights, bias row
    # included, through ReLU, a second layer, SoftMax and cross-entropy.
    np.random.seed(8)
    x = np.random.random((6, 4))
    labels = np.eye(3)[np.random.randint(0, 3, 6)]
    layers = [FullyConnected.FullyConnected(4, 5), ReLU.ReLU(), FullyConnected.FullyConnected(5, 3),
              SoftMax.SoftMax(), Loss.CrossEntropyLoss()]
    assert_weight_gradient(layers, x, labels, bias=False)


class TestNeuralNetwork1(unittest.TestCase):
    """As the exercise-1 test file runs it: the optimizer alone, Iris."""

    def setUp(self):
        pytest.importorskip("sklearn.datasets")
        np.random.seed(0)

    def _network(self, learning_rate, batch_size):
        net = NeuralNetwork.NeuralNetwork(Optimizers.Sgd(learning_rate))
        net.data_layer = Helpers.IrisData(batch_size)
        net.loss_layer = Loss.CrossEntropyLoss()
        for layer in (FullyConnected.FullyConnected(4, 3), ReLU.ReLU(),
                      FullyConnected.FullyConnected(3, 3), SoftMax.SoftMax()):
            net.append_layer(layer)
        return net

    def test_data_access(self):
        net = self._network(1e-4, 50)
        self.assertNotEqual(net.forward(), net.forward())

    def test_iris_data(self):
        net = self._network(1e-3, 100)
        net.train(4000)
        self.assertEqual(len(net.loss), 4000)
        self.assertLess(np.mean(net.loss[-100:]), np.mean(net.loss[:100]))
        data, labels = net.data_layer.get_test_set()
        self.assertGreater(Helpers.calculate_accuracy(net.test(data), labels), 0.9)

