"""A trainable array and its gradient."""
import numpy as np


class Parameter:
    """A trainable array ``value`` and its gradient ``grad`` (same shape, dtype).

    Layers accumulate into ``grad`` in ``backward``; optimizers read it in
    ``step`` and clear it in ``zero_grad``.

    Clearing is lazy: ``zero_grad`` only marks the gradient as zero, and the
    array is zeroed the next time ``grad`` is read. A Linear layer's
    backward, the first to accumulate after ``zero_grad``, writes its
    gradient instead of adding it to zeros, which saves a pass over the
    array (a megabyte or more for a wide layer). So a reference to the
    array taken before ``zero_grad`` is zeroed only when ``grad`` is read
    again, or overwritten by the next backward.
    """

    __slots__ = ("value", "_grad", "_grad_cleared", "name")

    def __init__(self, value, name=""):
        self.value = np.ascontiguousarray(value)
        self._grad = np.zeros_like(self.value)
        self._grad_cleared = False
        self.name = name

    @property
    def grad(self):
        """The gradient array (zeroed here first if ``zero_grad`` was called
        since it was last written)."""
        if self._grad_cleared:
            self._grad.fill(0)
            self._grad_cleared = False
        return self._grad

    @grad.setter
    def grad(self, array):
        self._grad = array
        self._grad_cleared = False

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def zero_grad(self):
        """Set ``grad`` to zero (lazily: see the class docstring)."""
        self._grad_cleared = True

    def _grad_to_accumulate(self):
        """(grad array, accumulate) for a layer's backward: accumulate is
        False when the gradient was cleared and not read since, and then the
        caller must write every element instead of adding to it."""
        accumulate = not self._grad_cleared
        self._grad_cleared = False
        return self._grad, accumulate

    def __repr__(self):
        return f"Parameter(name={self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"
