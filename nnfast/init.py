"""Weight initializers. Each returns a new array; ``rng`` as in ``nf.seed``.

The fan-based initializers share one signature,
``f(shape, fan_in, fan_out, dtype=np.float32, rng=None)``:

shape : int or tuple of int
    Shape of the array to return.
fan_in, fan_out : int >= 1
    Inputs and outputs per unit: (in_features, out_features) for a Linear,
    (in_channels * kh * kw, out_channels * kh * kw) for a Conv2D.
dtype : np.float32 (default) or np.float64
rng : None, int or numpy.random.Generator
    None draws from the generator ``nf.seed(n)`` seeds.

``initialize(spec, ...)`` picks one by name (or takes such a callable);
``uniform(shape, low, high)`` and ``constant(shape, value)`` are the plain
building blocks.
"""
import math
import numbers

import numpy as np

from nnfast._random import get_rng
from nnfast._validation import check_allocation, check_float, check_int, float_dtype


def _shape(shape, dtype=np.float64, copies=2):
    """``shape`` (an int or a sequence of ints >= 0) as a tuple, checked to fit
    in memory: by default as float64 draws and their cast."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, np.ndarray) or not isinstance(shape, (tuple, list)):
        raise TypeError(f"shape must be an int or a tuple of ints, got {type(shape).__name__}")
    shape = tuple(check_int(s, "shape", 0) for s in shape)
    check_allocation(shape, dtype, "shape", copies=copies)
    return shape


def uniform(shape, low=0.0, high=1.0, dtype=np.float32, rng=None):
    """Array of ``shape`` drawn from U[low, high)."""
    low, high = check_float(low, "low"), check_float(high, "high")
    if high < low:
        raise ValueError(f"high must be >= low, got low={low}, high={high}")
    if not math.isfinite(high - low):
        raise ValueError(f"high - low must be finite, got high={high}, low={low}")
    return np.asarray(get_rng(rng).uniform(low, high, size=_shape(shape))).astype(float_dtype(dtype))


def constant(shape, value=0.0, dtype=np.float32, rng=None):
    """Array of ``shape`` filled with ``value`` (``rng`` unused)."""
    dtype = float_dtype(dtype)
    return np.full(_shape(shape, dtype, 1), value, dtype=dtype)


def zeros(shape, fan_in=None, fan_out=None, dtype=np.float32, rng=None):
    """Array of ``shape`` filled with 0 (the fans and ``rng`` unused)."""
    dtype = float_dtype(dtype)
    return np.zeros(_shape(shape, dtype, 1), dtype=dtype)


def _normal(shape, std, dtype, rng):
    draws = np.asarray(get_rng(rng).standard_normal(size=_shape(shape)))
    return np.asarray(draws * std).astype(float_dtype(dtype))   # 0-d stays an array


def he_normal(shape, fan_in, fan_out=None, dtype=np.float32, rng=None):
    """N(0, 2 / fan_in): He et al. 2015, for ReLU layers (``fan_out`` unused)."""
    fan_in = check_int(fan_in, "fan_in", 1)
    return _normal(shape, math.sqrt(2.0 / fan_in), dtype, rng)


def he_uniform(shape, fan_in, fan_out=None, dtype=np.float32, rng=None):
    """U(-b, b) with b = sqrt(6 / fan_in): the variance of ``he_normal``."""
    fan_in = check_int(fan_in, "fan_in", 1)
    bound = math.sqrt(6.0 / fan_in)
    return uniform(shape, -bound, bound, dtype, rng)


def xavier_normal(shape, fan_in, fan_out, dtype=np.float32, rng=None):
    """N(0, 2 / (fan_in + fan_out)): Glorot & Bengio 2010."""
    fan_in = check_int(fan_in, "fan_in", 1)
    fan_out = check_int(fan_out, "fan_out", 1)
    return _normal(shape, math.sqrt(2.0 / (fan_in + fan_out)), dtype, rng)


def xavier_uniform(shape, fan_in, fan_out, dtype=np.float32, rng=None):
    """U(-b, b) with b = sqrt(6 / (fan_in + fan_out)): Glorot & Bengio 2010."""
    fan_in = check_int(fan_in, "fan_in", 1)
    fan_out = check_int(fan_out, "fan_out", 1)
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, -bound, bound, dtype, rng)


glorot_normal = xavier_normal
glorot_uniform = xavier_uniform


def uniform_fan_in(shape, fan_in, fan_out=None, dtype=np.float32, rng=None):
    """U(-b, b) with b = 1 / sqrt(fan_in): PyTorch's default for Linear and
    Conv2D weights and biases (``fan_out`` unused)."""
    fan_in = check_int(fan_in, "fan_in", 1)
    bound = 1.0 / math.sqrt(fan_in)
    return uniform(shape, -bound, bound, dtype, rng)


def constant_fill(value):
    """An initializer (fan-based signature) filling with ``value``."""
    value = check_float(value, "value")

    def fill(shape, fan_in=None, fan_out=None, dtype=np.float32, rng=None):
        return constant(shape, value, dtype)
    fill.__name__ = f"constant_{value}"
    return fill


# The "constant" spec fills with 0.1: a small positive bias keeps ReLU units
# active at the start (the classic teaching framework's Constant default);
# a number as the spec fills with that number.
CONSTANT_DEFAULT = 0.1

INITIALIZERS = {
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "xavier": xavier_normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "glorot": xavier_normal,
    "glorot_normal": xavier_normal,
    "glorot_uniform": xavier_uniform,
    "uniform": uniform_fan_in,
    "zeros": zeros,
    "constant": constant_fill(CONSTANT_DEFAULT),
}


def check_spec(spec, name="spec"):
    """``spec`` as something ``initialize`` accepts; raises naming ``name``."""
    if isinstance(spec, str):
        if spec not in INITIALIZERS:
            raise ValueError(f"{name} must be one of {sorted(INITIALIZERS)} or a callable, got {spec!r}")
        return spec
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        return check_float(spec, name)
    if callable(spec):
        return spec
    raise TypeError(f"{name} must be an initializer name, a number or a callable "
                    f"f(shape, fan_in, fan_out, dtype, rng), got {type(spec).__name__}")


def initialize(spec, shape, fan_in, fan_out, dtype=np.float32, rng=None, name="spec"):
    """A new array of ``shape`` initialized as ``spec`` says.

    Parameters
    ----------
    spec : str, float or callable
        "he" (= "he_normal"), "he_uniform", "xavier" (= "xavier_normal",
        "glorot"), "xavier_uniform" (= "glorot_uniform"), "uniform"
        (U(+-1/sqrt(fan_in)), PyTorch's default), "zeros", "constant" (0.1);
        a number fills with that number; a callable is called as
        ``spec(shape, fan_in, fan_out, dtype=dtype, rng=rng)`` and must return
        an array of ``shape``.
    shape : tuple of int
    fan_in, fan_out : int >= 1
    dtype : np.float32 or np.float64
    rng : None, int or numpy.random.Generator
    name : str
        The argument's name in error messages (e.g. "weight_init").

    Returns
    -------
    ndarray of ``shape`` and ``dtype``, C-contiguous.
    """
    spec = check_spec(spec, name)
    dtype = float_dtype(dtype)
    shape = tuple(shape) if not isinstance(shape, numbers.Integral) else (int(shape),)
    if isinstance(spec, str):
        f = INITIALIZERS[spec]
    elif isinstance(spec, float):
        f = constant_fill(spec)
    else:
        f = spec
    out = f(shape, fan_in, fan_out, dtype=dtype, rng=rng)
    try:
        out = np.asarray(out)
    except (TypeError, ValueError):
        out = None
    if out is None or out.shape != shape or out.dtype.kind not in "biuf":
        raise ValueError(f"{name} must return a numeric array of shape {shape}, got "
                         f"{getattr(out, 'dtype', type(out).__name__)} of shape "
                         f"{getattr(out, 'shape', None)}")
    out = np.asarray(out, dtype=dtype, order="C")    # 0-d stays 0-d
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} returned non-finite values")
    return out
