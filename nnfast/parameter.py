"""A trainable array and its gradient."""
import numpy as np


class Parameter:
    """A trainable array ``value`` and its gradient ``grad`` (same shape, dtype).

    Layers accumulate into ``grad`` in ``backward``; optimizers read it in
    ``step`` and clear it in ``zero_grad``.
    """

    __slots__ = ("value", "grad", "name")

    def __init__(self, value, name=""):
        self.value = np.ascontiguousarray(value)
        self.grad = np.zeros_like(self.value)
        self.name = name

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def zero_grad(self):
        """Set ``grad`` to zero, in place."""
        self.grad.fill(0)

    def __repr__(self):
        return f"Parameter(name={self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"
