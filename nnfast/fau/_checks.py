"""Boundary checks in the course's vocabulary (``input_tensor``,
``error_tensor``, ``weights``): each raises ValueError or TypeError naming
the argument, what was expected and what came, before any kernel runs."""
import numbers

import numpy as np

from nnfast._validation import INT32_MAX, _numeric, as_float_array, check_int


def tensor_dtype(x, name):
    """The dtype fau computes ``x`` in: float32 stays float32, anything else
    numeric becomes float64 (course code feeds float64 and integer arrays and
    expects float64 results, where nnfast's own layers default to float32)."""
    arr = _numeric(x, name)
    return np.float32 if arr.dtype.kind == "f" and arr.dtype.itemsize == 4 else np.float64


def as_tensor(x, name, dtype=None, ndim=None, allow_empty=False, allow_scalar=False):
    """``x`` as a C-contiguous float array of ``dtype`` (default: see
    ``tensor_dtype``), converted at most once; 0-d input only with
    ``allow_scalar``."""
    if dtype is None:
        dtype = tensor_dtype(x, name)
    return as_float_array(x, name, dtype, ndim=ndim, allow_empty=allow_empty,
                          allow_scalar=allow_scalar)


def as_parameter(value, name, shape, dtype=None):
    """A layer's ``weights``/``bias`` attribute (which course code assigns
    freely) as a contiguous float array of exactly ``shape``."""
    arr = as_tensor(value, name, dtype)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    return arr


def check_error_tensor(error_tensor, shape, dtype, layer):
    """``error_tensor`` as a contiguous array of the last forward's output
    ``shape`` (None: backward came before any forward)."""
    if shape is None:
        raise ValueError(f"{layer}.backward called before forward")
    e = as_float_array(error_tensor, "error_tensor", dtype)
    if e.shape != tuple(shape):
        raise ValueError(f"error_tensor must have the shape of the last forward's output "
                         f"{tuple(shape)}, got {e.shape}")
    return e


def check_shape_tuple(value, name, lengths, minimum=1):
    """``value`` (an int or a sequence of ints) as a tuple of ints >= minimum
    whose length is one of ``lengths``; an int counts as length 1."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, np.ndarray):
        value = tuple(value.tolist())
    if not isinstance(value, (tuple, list)) or len(value) not in lengths:
        want = (f"at most {max(lengths)}" if isinstance(lengths, range)
                else " or ".join(str(n) for n in lengths))
        raise ValueError(f"{name} must be a sequence of {want} ints, got {value!r}")
    return tuple(check_int(v, name, minimum, INT32_MAX) for v in value)


def check_initialized(value, name, shape):
    """An initializer's result broadcast to ``shape`` (a Constant-like
    initializer may return a scalar), as a new float array."""
    arr = _numeric(value, name)
    try:
        out = np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"{name} returned shape {arr.shape}, expected {tuple(shape)}") from None
    return np.array(out, dtype=tensor_dtype(arr, name))
