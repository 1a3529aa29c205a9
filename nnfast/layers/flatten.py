"""Flatten: (n_samples, d1, d2, ...) -> (n_samples, d1 * d2 * ...)."""
from nnfast._validation import as_float_array
from nnfast.layers.base import Layer


class Flatten(Layer):
    """Keep axis 0, merge the others: (n_samples, *rest) -> (n_samples, prod(rest)).

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
        """x : (n_samples, *rest), at least 2 dimensions -> (n_samples, prod(rest))"""
        x = as_float_array(x, "x", min_ndim=2)
        if x.ndim < 2:
            raise ValueError(f"x must have at least 2 dimensions (n_samples, ...) for Flatten, "
                             f"got shape {x.shape}")
        self._input_shape = x.shape
        self._dtype = x.dtype.type
        out = x.reshape(x.shape[0], -1)
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : (n_samples, prod(rest)) -> grad_input (n_samples, *rest)"""
        g = self._check_grad_output(grad_output, self._dtype)
        if not self.requires_input_grad:
            return None
        return g.reshape(self._input_shape)
