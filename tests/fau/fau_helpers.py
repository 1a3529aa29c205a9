"""Shared pieces of the nnfast.fau tests: the L2 loss course test files
define, one-hot labels, and the gradient-check assertions."""
import numpy as np

from nnfast.fau.Layers import Helpers

# Every layer's float64 central-difference check (eps 1e-5, the course's).
L2_RTOL = 1e-6


class L2Loss:
    """sum((x - label)^2): the loss course test files put after a layer to
    check its gradients."""

    def __init__(self):
        self.input_tensor = None

    def forward(self, input_tensor, label_tensor):
        self.input_tensor = input_tensor
        return np.sum(np.square(input_tensor - label_tensor))

    def backward(self, label_tensor):
        return 2 * np.subtract(self.input_tensor, label_tensor)


def one_hot_labels(batch_size, categories, rng=None):
    rng = np.random.default_rng(rng)
    labels = np.zeros((batch_size, categories))
    labels[np.arange(batch_size), rng.integers(0, categories, batch_size)] = 1
    return labels


def assert_input_gradient(layers, input_tensor, label_tensor, course_limit=1e-5, seed=None):
    """The course's criterion (sum of per-element relative differences) and
    nnfast's (L2-relative error <= 1e-6); ``seed`` reseeds np.random before
    each layer's forward (Dropout)."""
    analytical, numerical = Helpers.input_gradients(layers, input_tensor, label_tensor, seed)
    assert np.sum(Helpers._differences(analytical, numerical)) <= course_limit
    assert Helpers.relative_error(analytical, numerical) <= L2_RTOL


def assert_weight_gradient(layers, input_tensor, label_tensor, bias, course_limit=1e-5):
    analytical, numerical = Helpers.weight_gradients(layers, input_tensor, label_tensor, bias)
    assert np.sum(Helpers._differences(analytical, numerical)) <= course_limit
    assert Helpers.relative_error(analytical, numerical) <= L2_RTOL
