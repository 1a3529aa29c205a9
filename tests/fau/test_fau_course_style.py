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


class TestExercise3(unittest.TestCase):
    """The third exercise's checks on the layers it adds without new kernels."""

    def setUp(self):
        np.random.seed(1337)
        self.input_tensor = np.random.random((5, 10)).T * 2 - 1
        self.label_tensor = np.eye(5)[np.random.randint(0, 5, 10)]

    def test_tanh_and_sigmoid_gradients(self):
        for layer in (TanH.TanH(), Sigmoid.Sigmoid()):
            self.assertFalse(layer.trainable)
            difference = Helpers.gradient_check([layer, L2Loss()], self.input_tensor,
                                                self.label_tensor)
            self.assertLessEqual(np.sum(difference), 1e-5)

    def test_dropout(self):
        layer = Dropout.Dropout(0.25)
        self.assertFalse(layer.testing_phase)
        output = layer.forward(np.ones((10000, 10)))
        self.assertEqual(np.max(output), 4)
        self.assertEqual(np.min(output), 0)
        layer.testing_phase = True
        self.assertEqual(np.min(layer.forward(np.ones((10, 10)))), 1.0)
        labels = np.eye(10)[np.random.randint(0, 10, 10)]
        difference = Helpers.gradient_check([Dropout.Dropout(0.5), L2Loss()], np.ones((10, 10)),
                                            labels, seed=1337)
        self.assertLessEqual(np.sum(difference), 1e-5)

    def test_constraints(self):
        weights = np.ones((4, 5))
        weights[1:3, 2:4] *= -2
        self.assertAlmostEqual(Constraints.L1_Regularizer(3).norm(weights), 3 * 24)
        self.assertAlmostEqual(Constraints.L2_Regularizer(3).norm(weights), 3 * 32)
        optimizer = Optimizers.Sgd(2)
        optimizer.add_regularizer(Constraints.L1_Regularizer(2))
        weights = np.ones((4, 5))
        weights[1:3, 2:4] *= -1
        for _ in range(2):
            weights = optimizer.calculate_update(weights, np.ones((4, 5)) * 2)
        np.testing.assert_almost_equal(np.sum(weights), -116, 2)

    def test_layer_phases(self):
        net = NeuralNetwork.NeuralNetwork(Optimizers.Adam(1e-2, 0.9, 0.999),
                                          Initializers.UniformRandom(), Initializers.Constant(0.1))
        for layer in (FullyConnected.FullyConnected(4, 3), ReLU.ReLU(), Dropout.Dropout(0.3),
                      SoftMax.SoftMax()):
            net.append_layer(layer)
        net.test(np.random.random((6, 4)))
        self.assertTrue(net.layers[2].testing_phase)


if __name__ == "__main__":
    unittest.main()
