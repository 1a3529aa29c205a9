"""A course-style test file (unittest classes, the course's imports with
``nnfast.fau`` in front, ``Helpers.gradient_check``), as students run it."""
import unittest

import numpy as np

from nnfast.fau.Layers import *  # noqa: F401,F403
from nnfast.fau.Optimization import *  # noqa: F401,F403
import nnfast.fau.NeuralNetwork as NeuralNetwork
from fau_helpers import L2Loss


class TestGradients(unittest.TestCase):
    def setUp(self):
        np.random.seed(1337)
        self.label_tensor = np.zeros((2, 3 * 5 * 7))
        self.label_tensor[[0, 1], np.random.randint(0, 3 * 5 * 7, 2)] = 1

    def test_fully_connected(self):
        x = np.abs(np.random.random((9, 4)))
        labels = np.eye(3)[np.random.randint(0, 3, 9)]
        layers = [FullyConnected.FullyConnected(4, 3), L2Loss()]
        self.assertLessEqual(np.sum(Helpers.gradient_check(layers, x, labels)), 1e-5)
        self.assertLessEqual(np.sum(Helpers.gradient_check_weights(layers, x, labels, False)), 1e-5)

    def test_conv(self):
        x = np.abs(np.random.random((2, 3, 5, 7)))
        layers = [Conv.Conv((1, 1), (3, 3, 3), 3), Flatten.Flatten(), L2Loss()]
        self.assertLessEqual(np.sum(Helpers.gradient_check(layers, x, self.label_tensor)), 5e-2)
        for bias in (False, True):
            difference = Helpers.gradient_check_weights(layers, x, self.label_tensor, bias)
            self.assertLessEqual(np.sum(difference), 1e-5)

    def test_softmax_cross_entropy(self):
        x = np.abs(np.random.random((9, 4)))
        labels = np.eye(4)[np.random.randint(0, 4, 9)]
        difference = Helpers.gradient_check([SoftMax.SoftMax(), Loss.CrossEntropyLoss()], x, labels)
        self.assertLessEqual(np.sum(difference), 1e-5)


class TestNeuralNetwork(unittest.TestCase):
    def test_append_layer(self):
        net = NeuralNetwork.NeuralNetwork(Optimizers.Sgd(1), Initializers.Constant(0.123),
                                          Initializers.Constant(0.123))
        net.append_layer(FullyConnected.FullyConnected(1, 1))
        net.append_layer(FullyConnected.FullyConnected(1, 1))
        self.assertEqual(len(net.layers), 2)
        self.assertFalse(net.layers[0].optimizer is net.layers[1].optimizer)
        self.assertTrue(np.all(net.layers[0].weights == 0.123))


if __name__ == "__main__":
    unittest.main()
