"""Fully connected layer with the bias folded into the weights."""
import numpy as np

from nnfast._validation import INT32_MAX, check_allocation, check_int
from nnfast.fau._checks import as_parameter, as_tensor, check_initialized
from nnfast.fau._optimized import OptimizedLayer
from nnfast.fau.Layers.Base import BaseLayer
from nnfast.layers import Linear


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

    The work is an ``nnfast.layers.Linear`` of the weights' dtype: at each
    forward and backward, ``weights`` is read into its ``weight``
    (output_size, input_size) and ``bias`` (output_size,) Parameters, and
    ``gradient_weights`` is assembled from their gradients.
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
        self._linear = None        # the Linear that ran the last forward
        self._error_shape = None   # the shape backward's error_tensor must have

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

    def _load_weights(self, dtype=None):
        """``weights`` (checked) copied into the Linear of its dtype (or of
        ``dtype``), which is returned."""
        w = as_parameter(self.weights, "weights", (self.input_size + 1, self.output_size), dtype)
        linear = self._linear
        if linear is None or linear.dtype != w.dtype.type:
            # the initial values are overwritten here: rng=0 keeps nf.seed's stream untouched
            linear = Linear(self.input_size, self.output_size, dtype=w.dtype.type, rng=0)
        linear.weight.value[...] = w[:-1].T
        linear.bias.value[...] = w[-1]
        return linear

    def forward(self, input_tensor):
        """input_tensor : (batch, input_size) -> (batch, output_size)"""
        linear = self._load_weights()
        x = as_tensor(input_tensor, "input_tensor", linear.dtype, ndim=2)
        if x.shape[1] != self.input_size:
            raise ValueError(f"input_tensor must have shape (batch, {self.input_size}), got {x.shape}")
        out = linear.forward(x)
        self._linear = linear
        self._error_shape = out.shape
        return out

    def backward(self, error_tensor):
        """error_tensor : (batch, output_size) -> (batch, input_size).

        The error below uses the weights as they were before this call's
        update."""
        e, linear = self._backward_start(error_tensor, self._linear, "FullyConnected")
        error_below = linear.backward(e)
        self.gradient_weights = np.concatenate([linear.weight.grad.T, linear.bias.grad[None, :]])
        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
        return error_below

    def __repr__(self):
        return f"FullyConnected({self.input_size}, {self.output_size})"
