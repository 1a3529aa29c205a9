"""nnfast.fau.NeuralNetwork: appending, training on Iris (fully connected)
and on the 8x8 digits (convolutional), with scikit-learn's data."""
import numpy as np
import pytest

import nnfast.fau.NeuralNetwork as NeuralNetwork  # the course's import
from nnfast.fau.Layers import *  # noqa: F401,F403
from nnfast.fau.Optimization import *  # noqa: F401,F403


class ShuffledData:
    """A data layer: two thirds of (data, one-hot labels) for training, given
    out by ``next()`` in shuffled batches; the rest by ``get_test_set()``."""

    def __init__(self, data, labels, batch_size, seed):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(data))
        one_hot = np.eye(labels.max() + 1)[labels[order]]
        split = 2 * len(data) // 3
        self.train = data[order[:split]], one_hot[:split]
        self.test = data[order[split:]], one_hot[split:]
        self.batch_size, self.rng = batch_size, rng

    def next(self):
        rows = self.rng.choice(len(self.train[0]), self.batch_size, replace=False)
        return self.train[0][rows], self.train[1][rows]

    def get_test_set(self):
        return self.test


def accuracy(prediction, labels):
    return np.mean(prediction.argmax(axis=1) == labels.argmax(axis=1))


@pytest.fixture
def sklearn_datasets():
    return pytest.importorskip("sklearn.datasets")


def test_append_layer_initializes_and_copies_the_optimizer():
    net = NeuralNetwork.NeuralNetwork(Optimizers.Sgd(1), Initializers.Constant(0.123),
                                      Initializers.Constant(0.123))
    net.append_layer(FullyConnected.FullyConnected(1, 1))
    net.append_layer(ReLU.ReLU())
    net.append_layer(FullyConnected.FullyConnected(1, 1))
    assert len(net.layers) == 3 and net.loss == []
    assert net.layers[0].optimizer is not net.layers[2].optimizer
    assert net.layers[0].optimizer is not net.optimizer
    assert np.all(net.layers[0].weights == 0.123)


def test_forward_backward_test_on_a_toy_problem():
    class Toy:
        def next(self):
            x = np.random.default_rng(0).standard_normal((8, 2))
            return x, np.eye(2)[(x[:, 0] > 0).astype(int)]

    np.random.seed(0)
    net = NeuralNetwork.NeuralNetwork(Optimizers.SgdWithMomentum(1e-2, 0.9),
                                      Initializers.Xavier(), Initializers.Constant(0.0))
    net.data_layer, net.loss_layer = Toy(), Loss.CrossEntropyLoss()
    for layer in (FullyConnected.FullyConnected(2, 2), SoftMax.SoftMax()):
        net.append_layer(layer)
    first = net.forward()
    net.backward()
    net.train(50)
    assert len(net.loss) == 50 and net.loss[-1] < first
    out = net.test(np.ones((3, 2)))
    assert out.shape == (3, 2) and out.dtype == np.float64
    np.testing.assert_allclose(out.sum(axis=1), 1)


def test_iris_fully_connected_sgd(sklearn_datasets):
    iris = sklearn_datasets.load_iris()
    np.random.seed(0)
    net = NeuralNetwork.NeuralNetwork(Optimizers.Sgd(1e-3), Initializers.UniformRandom(),
                                      Initializers.Constant(0.1))
    net.data_layer = ShuffledData(iris.data, iris.target, 100, seed=0)
    net.loss_layer = Loss.CrossEntropyLoss()
    for layer in (FullyConnected.FullyConnected(4, 3), ReLU.ReLU(),
                  FullyConnected.FullyConnected(3, 3), SoftMax.SoftMax()):
        net.append_layer(layer)
    net.train(4000)
    assert len(net.loss) == 4000 and net.loss[-1] < net.loss[0]
    data, labels = net.data_layer.get_test_set()
    assert accuracy(net.test(data), labels) > 0.9


def test_digits_convolutional_adam(sklearn_datasets):
    digits = sklearn_datasets.load_digits()
    np.random.seed(0)
    net = NeuralNetwork.NeuralNetwork(Optimizers.Adam(5e-3, 0.98, 0.999), Initializers.He(),
                                      Initializers.Constant(0.1))
    net.data_layer = ShuffledData(digits.images.reshape(-1, 1, 8, 8) / 16.0, digits.target,
                                  200, seed=0)
    net.loss_layer = Loss.CrossEntropyLoss()
    for layer in (Conv.Conv((1, 1), (1, 3, 3), 4), ReLU.ReLU(), Pooling.Pooling((2, 2), (2, 2)),
                  Flatten.Flatten(), FullyConnected.FullyConnected(64, 32), ReLU.ReLU(),
                  FullyConnected.FullyConnected(32, 10), SoftMax.SoftMax()):
        net.append_layer(layer)
    net.train(200)
    data, labels = net.data_layer.get_test_set()
    assert accuracy(net.test(data), labels) > 0.5


def test_helpers_data_layers(sklearn_datasets):
    np.random.seed(0)
    iris = Helpers.IrisData(50)
    x1, y1 = iris.next()
    x2, _ = iris.next()
    assert x1.shape == (50, 4) and y1.shape == (50, 3) and not np.array_equal(x1, x2)
    assert np.all(y1.sum(axis=1) == 1)
    data, labels = iris.get_test_set()
    assert data.shape == (50, 4) and labels.shape == (50, 3)
    digits = Helpers.DigitData(20)
    x, y = digits.next()
    assert x.shape == (20, 1, 8, 8) and y.shape == (20, 10) and x.max() <= 1
    assert Helpers.calculate_accuracy(y, y) == 1.0
