"""Softmax and LogSoftmax over axis 1 (the class or channel axis)."""

from nnfast import _backend
from nnfast._validation import as_float_array
from nnfast.layers.base import Layer


class _OverClasses(Layer):
    """Normalises over axis 1 of (n_samples, C) or (n_samples, C, *spatial) input.

    N-D input is viewed as (n_samples, C, size) without a copy; the kernels walk the
    C entries of each of the n_samples * size vectors with a stride. Backward reads
    the saved output. Float32/float64 keep their dtype; other numeric input
    is cast to float32.
    """

    def __init__(self):
        super().__init__()
        self._out = None
        self._config = {}

    @staticmethod
    def _as_3d(a):
        return a.reshape(a.shape[0], a.shape[1], -1)

    def forward(self, x):
        """x : (n_samples, C) or (n_samples, C, *spatial) -> same shape,
        normalised over axis 1"""
        x = as_float_array(x, "x", min_ndim=2)
        if x.ndim < 2:
            raise ValueError(f"x must have at least 2 dimensions (n_samples, C, ...) for "
                             f"{type(self).__name__} over axis 1, got shape {x.shape}")
        out = self._new_array("out", x.shape, x.dtype)
        getattr(_backend.kernels(), self._forward_kernel)(self._as_3d(x), self._as_3d(out))
        self._out = out
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : the output's shape -> grad_input (same shape) or None
        when ``requires_input_grad`` is False"""
        dtype = self._out.dtype.type if self._out is not None else None
        g = self._check_grad_output(grad_output, dtype)
        if not self.requires_input_grad:
            return None
        grad_input = self._new_array("grad_input", g.shape, g.dtype)
        getattr(_backend.kernels(), self._backward_kernel)(
            self._as_3d(self._out), self._as_3d(g), self._as_3d(grad_input))
        return grad_input


class Softmax(_OverClasses, kernels="softmax"):
    """y = exp(x - max) / sum(exp(x - max)) over axis 1; finite for any finite x."""


class LogSoftmax(_OverClasses, kernels="log_softmax"):
    """y = (x - max) - log(sum(exp(x - max))) over axis 1; finite for any finite x."""
