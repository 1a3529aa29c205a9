"""Flatten: (N, d1, d2, ...) -> (N, d1 * d2 * ...)."""
from nnfast._validation import as_float_array
from nnfast.layers.base import Layer


class Flatten(Layer):
    """Keep axis 0, merge the others: (N, *rest) -> (N, prod(rest)).

    The output is a view of the (contiguous) input, and backward reshapes the
    gradient back to the input's shape: nothing is copied or computed.
    Float32/float64 keep their dtype; other numeric input is cast to float32.
    """

    def __init__(self):
        super().__init__()
        self._input_shape = None
        self._dtype = None
        self._config = {}

    def forward(self, x):
        """x : (N, *rest), at least 2 dimensions -> (N, prod(rest))"""
        x = as_float_array(x, "x", min_ndim=2)
        if x.ndim < 2:
            raise ValueError(f"x must have at least 2 dimensions (N, ...) for Flatten, got shape {x.shape}")
        self._input_shape = x.shape
        self._dtype = x.dtype.type
        out = x.reshape(x.shape[0], -1)
        self._remember_output_shape(out.shape)
        return out

    def backward(self, grad_output):
        """grad_output : (N, prod(rest)) -> grad_input (N, *rest)"""
        g = self._check_grad_output(grad_output, self._dtype)
        if not self.requires_input_grad:
            return None
        return g.reshape(self._input_shape)
