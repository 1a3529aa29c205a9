"""Weight initializers. Each returns a new array; ``rng`` as in ``nf.seed``."""
import numpy as np

from nnfast._random import get_rng
from nnfast._validation import float_dtype


def uniform(shape, low=0.0, high=1.0, dtype=np.float32, rng=None):
    """Array of ``shape`` drawn from U[low, high)."""
    return get_rng(rng).uniform(low, high, size=shape).astype(float_dtype(dtype))


def constant(shape, value=0.0, dtype=np.float32):
    """Array of ``shape`` filled with ``value``."""
    return np.full(shape, value, dtype=float_dtype(dtype))
