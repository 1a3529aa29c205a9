"""Weight initializers: ``initialize(weights_shape, fan_in, fan_out)``.

They draw from NumPy's global random state (``np.random``), as the course
framework does, so that ``np.random.seed`` makes them reproducible. The
arrays are float64.
"""
import numpy as np

from nnfast._validation import check_allocation, check_float, check_int
from nnfast.fau._checks import check_shape_tuple


def _checked(weights_shape, fan_in, fan_out):
    shape = check_shape_tuple(weights_shape, "weights_shape", range(0, 33), minimum=0)
    check_allocation(shape, np.float64, "weights_shape")
    return shape, check_int(fan_in, "fan_in", 1), check_int(fan_out, "fan_out", 1)


class Constant:
    """Every weight equal to ``value`` (default 0.1)."""

    def __init__(self, value=0.1):
        self.value = check_float(value, "value")

    def initialize(self, weights_shape, fan_in, fan_out):
        shape, _, _ = _checked(weights_shape, fan_in, fan_out)
        return np.full(shape, self.value, dtype=np.float64)

    def __repr__(self):
        return f"Constant({self.value!r})"


class UniformRandom:
    """Uniform on [0, 1)."""

    def initialize(self, weights_shape, fan_in, fan_out):
        shape, _, _ = _checked(weights_shape, fan_in, fan_out)
        return np.random.uniform(0.0, 1.0, shape)

    def __repr__(self):
        return "UniformRandom()"


class Xavier:
    """Glorot: normal with mean 0 and sigma = sqrt(2 / (fan_in + fan_out))."""

    def initialize(self, weights_shape, fan_in, fan_out):
        shape, fan_in, fan_out = _checked(weights_shape, fan_in, fan_out)
        return np.random.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape)

    def __repr__(self):
        return "Xavier()"


class He:
    """He: normal with mean 0 and sigma = sqrt(2 / fan_in)."""

    def initialize(self, weights_shape, fan_in, fan_out):
        shape, fan_in, _ = _checked(weights_shape, fan_in, fan_out)
        return np.random.normal(0.0, np.sqrt(2.0 / fan_in), shape)

    def __repr__(self):
        return "He()"
