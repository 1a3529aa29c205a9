"""Fully connected layer with the bias folded into the weights."""
import numpy as np

from nnfast import _backend
from nnfast._validation import INT32_MAX, check_allocation, check_int
from nnfast.fau._checks import as_parameter, as_tensor, check_error_tensor, check_initialized
from nnfast.fau._optimized import OptimizedLayer
from nnfast.fau.Layers.Base import BaseLayer


class FullyConnected(OptimizedLayer, BaseLayer):
    """output = [input, 1] @ weights.

    Parameters
    ----------
    input_size, output_size : int >= 1

    Attributes
    ----------
    weights : ndarray of shape (input_size + 1, output_size)
        The last row is the bias (the input gets a column of ones). Drawn
        from U[0, 1) (``np.random``) until ``initialize`` is called. A plain
        attribute: assign any array of this shape; float32 weights make the
        layer compute in float32, anything else in float64.
    gradient_weights : ndarray of the weights' shape
        Set by ``backward``: [input, 1].T @ error_tensor.
    optimizer : object with ``calculate_update(weight_tensor, gradient_tensor)``
        When set, ``backward`` replaces ``weights`` by its update.

    The products run in nnfast's ``linear_forward``/``linear_backward``
    kernels (one GEMM block per thread), on the weights in their
    (output_size, input_size) layout and the bias row.
    """

    def __init__(self, input_size, output_size):
        super().__init__()
        self.trainable = True
        self.input_size = check_int(input_size, "input_size", 1, INT32_MAX - 1)
        self.output_size = check_int(output_size, "output_size", 1, INT32_MAX)
        check_allocation((self.input_size + 1, self.output_size), np.float64,
                         "weights (input_size + 1, output_size)")
        self.weights = np.random.uniform(0.0, 1.0, (self.input_size + 1, self.output_size))
        self.gradient_weights = None
        self._x = None

    def initialize(self, weights_initializer, bias_initializer):
        """weights := [weights_initializer(...); bias_initializer(...)]: the
        (input_size, output_size) weights with fan_in = input_size and
        fan_out = output_size, then the (1, output_size) bias row with fan_in
        = 1 and fan_out = output_size."""
        n_in, n_out = self.input_size, self.output_size
        w = weights_initializer.initialize((n_in, n_out), n_in, n_out)
        b = bias_initializer.initialize((1, n_out), 1, n_out)
        self.weights = np.concatenate([check_initialized(w, "weights_initializer", (n_in, n_out)),
                                       check_initialized(b, "bias_initializer", (1, n_out))])

    def _kernel_parameters(self):
        """(weight (output_size, input_size), bias (output_size,)) as
        contiguous arrays of the weights' dtype, from ``weights``."""
        w = as_parameter(self.weights, "weights", (self.input_size + 1, self.output_size))
        return np.ascontiguousarray(w[:-1].T), np.ascontiguousarray(w[-1])

    def forward(self, input_tensor):
        """input_tensor : (batch, input_size) -> (batch, output_size)"""
        weight, bias = self._kernel_parameters()
        x = as_tensor(input_tensor, "input_tensor", weight.dtype.type, ndim=2)
        if x.shape[1] != self.input_size:
            raise ValueError(f"input_tensor must have shape (batch, {self.input_size}), got {x.shape}")
        check_allocation((x.shape[0], self.output_size), weight.dtype,
                         f"the output for input_tensor of shape {x.shape}")
        out = np.empty((x.shape[0], self.output_size), dtype=weight.dtype)
        _backend.kernels().linear_forward(x, weight, bias, out)
        self._x = x
        return out

    def backward(self, error_tensor):
        """error_tensor : (batch, output_size) -> (batch, input_size).

        The error below uses the weights as they were before this call's
        update."""
        shape = None if self._x is None else (self._x.shape[0], self.output_size)
        weight, bias = self._kernel_parameters()
        dtype = weight.dtype.type
        e = check_error_tensor(error_tensor, shape, dtype, "FullyConnected")
        x = self._x.astype(dtype, copy=False)
        grad_x = np.empty_like(x)
        grad_weight = np.zeros_like(weight)  # the kernel accumulates
        grad_bias = np.zeros_like(bias)
        _backend.kernels().linear_backward(x, weight, e, grad_x, grad_weight, grad_bias)
        self.gradient_weights = np.concatenate([grad_weight.T, grad_bias[None, :]])
        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
        return grad_x

    def __repr__(self):
        return f"FullyConnected({self.input_size}, {self.output_size})"
