"""Layers without weights, run by the nnfast layer of the same job."""

from nnfast.fau._checks import as_tensor, check_error_tensor
from nnfast.fau.Layers.Base import BaseLayer


class DelegatingLayer(BaseLayer):
    """Checks and converts at the course interface, then hands the arrays to
    ``self._inner`` (an ``nnfast.layers`` layer, which calls the kernels).

    Float32 input stays float32; any other numeric input runs in float64.
    Subclasses set ``_inner`` in ``__init__`` and may set ``_ndim`` (allowed
    input ranks).
    """

    _ndim = None

    def __init__(self):
        super().__init__()
        self._error_shape = None   # the shape backward's error_tensor must have
        self._dtype = None

    def _check_input(self, x):
        """Hook for checks beyond the rank (Pooling's window size)."""

    def forward(self, input_tensor):
        x = as_tensor(input_tensor, "input_tensor", ndim=self._ndim)
        self._check_input(x)
        out = self._inner.forward(x)
        self._error_shape = out.shape
        self._dtype = x.dtype.type
        return out

    def backward(self, error_tensor):
        e = check_error_tensor(error_tensor, self._error_shape, self._dtype,
                               type(self).__name__)
        return self._inner.backward(e)


