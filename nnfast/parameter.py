"""A trainable array and its gradient."""
import numbers

import numpy as np

from nnfast import _aligned


def _as_ndarray(array, expected):
    """array as an ndarray (np.asarray), or a TypeError that says
    ``expected``, what came and why NumPy could not convert it."""
    if isinstance(array, np.ndarray):
        return array
    try:
        return np.asarray(array)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{expected}, got {type(array).__name__} that NumPy cannot "
                        f"convert ({e})") from None


def _as_parameter_array(array, what, name, shape, dtype, layout):
    """``array`` as a writeable C-contiguous ndarray of ``shape`` and
    ``dtype`` (cast or copied only where needed), or a ValueError/TypeError
    naming the parameter, what was expected and what came.

    Kernels read a parameter's memory with the layer's shapes and no checks
    of their own, so a wrong shape here would read out of bounds.
    """
    label = f"Parameter {name!r}" if name else "Parameter"
    if array is None or isinstance(array, (str, bytes, dict, set)):
        raise TypeError(f"{label} {what} must be an array of shape {shape} and dtype "
                        f"{np.dtype(dtype).name}, got {type(array).__name__}")
    array = _as_ndarray(array, f"{label} {what} must be an array of shape {shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
            or array.dtype == np.bool_):
        raise TypeError(f"{label} {what} must hold real numbers (dtype {np.dtype(dtype).name}), "
                        f"got dtype {array.dtype}")
    if array.shape != shape:
        hint = ""
        if sorted(array.shape) == sorted(shape) and array.ndim > 1:
            hint = (f"; it has the right sizes in another order: arrays from another library's "
                    f"layout need transposing to {layout or shape}")
        elif layout:
            hint = f" (layout {layout})"
        raise ValueError(f"{label} {what} must have shape {shape}{hint}, got shape {array.shape}")
    if array.dtype != dtype or not array.flags.c_contiguous or not array.flags.writeable:
        array = np.array(array, dtype=dtype, order="C", copy=True)
    return array


def _initial_array(value):
    """A Parameter's first value as a float32/float64 ndarray: integers and
    bools become float64, float16 becomes float32, other byte orders native;
    anything that is not real numbers is a TypeError."""
    if value is None or isinstance(value, (str, bytes, dict, set)) or (
            isinstance(value, numbers.Number) and not isinstance(value, numbers.Real)):
        raise TypeError(f"Parameter value must be a real array, got {type(value).__name__}")
    value = _as_ndarray(value, "Parameter value must be a real array")
    kind = value.dtype.kind
    if kind in "biu":
        return value.astype(np.float64)
    if kind != "f":
        raise TypeError(f"Parameter value must be a real array (float32 or float64), got "
                        f"dtype {value.dtype}")
    return value.astype(np.float32 if value.dtype.itemsize <= 4 else np.float64, copy=False)


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

    __slots__ = ("_value", "_grad", "_grad_cleared", "name", "layout")

    def __init__(self, value, name="", layout=""):
        self.name = name
        self.layout = layout   # e.g. "(out_features, in_features)", for error messages
        value = _initial_array(value)
        self._value = np.array(value, order="C", copy=True) if (
            not value.flags.c_contiguous or not value.flags.writeable) else value
        if not _aligned.is_aligned(self._value):   # the kernels' vector loads (nnfast._aligned)
            self._value = _aligned.copy(self._value)
        self._grad = _aligned.zeros(self._value.shape, self._value.dtype)
        self._grad_cleared = False

    @property
    def value(self):
        """The array (its shape and dtype are fixed when the parameter is made)."""
        return self._value

    @value.setter
    def value(self, array):
        # Checked: shape as the layer made it, dtype cast (float64 into a
        # float32 layer, say), a contiguous writeable copy where needed.
        self._value = _as_parameter_array(array, "value", self.name, self._value.shape,
                                          self._value.dtype, self.layout)

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
        self._grad = _as_parameter_array(array, "grad", self.name, self._value.shape,
                                         self._value.dtype, self.layout)
        self._grad_cleared = False

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    def _convert(self, dtype):
        """value cast to ``dtype`` (float32 or float64), grad zeros of it: for
        ``model.astype``, the one place a parameter's dtype may change."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"Parameter dtype must be float32 or float64, got {dtype}")
        value = _aligned.empty(self._value.shape, dtype)
        value[...] = self._value           # cast in the one copy
        self._value = value
        self._grad = _aligned.zeros(value.shape, dtype)
        self._grad_cleared = False

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
        return f"Parameter(name={self.name!r}, shape={self._value.shape}, dtype={self._value.dtype})"


def grads_to_accumulate(weight, bias):
    """(grad_weight, grad_bias, accumulate) for a kernel that adds into both
    gradients or writes both (see Parameter._grad_to_accumulate): when only
    one of the two was cleared, that one is zeroed here, and both are added
    to."""
    grad_weight, accumulate = weight._grad_to_accumulate()
    grad_bias, accumulate_bias = bias._grad_to_accumulate()
    if accumulate != accumulate_bias:
        for array, add in ((grad_weight, accumulate), (grad_bias, accumulate_bias)):
            if not add:
                array.fill(0)
        accumulate = True
    return grad_weight, grad_bias, accumulate
