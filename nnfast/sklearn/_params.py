"""Checks of the estimators' hyper-parameters, run at the start of ``fit``
(scikit-learn's convention: ``__init__`` only stores them)."""
import numbers

import numpy as np

from nnfast._validation import check_bool  # noqa: F401 (one of the estimators' checks)


def _fail(name, expected, value):
    return ValueError(f"{name} must be {expected}, got {value!r}")


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise _fail(name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def check_int(value, name, minimum=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise _fail(name, f"an int >= {minimum}", value)
    return int(value)


def check_real(value, name, low=None, high=None, low_open=False, high_open=False):
    """A finite real number in the interval given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    if not np.isfinite(value) or (low is not None and (value < low or (low_open and value == low))) \
            or (high is not None and (value > high or (high_open and value == high))):
        raise _fail(name, f"a finite number in {interval}", value)
    return value


def check_n_jobs(value):
    """None (nnfast's current thread count) or an int >= 1."""
    return None if value is None else check_int(value, "n_jobs", 1)


def check_verbose(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return check_int(value, "verbose", 0)


def check_hidden_layer_sizes(value):
    """An int >= 1 or a sequence of them (empty: no hidden layer), as a list."""
    sizes = [value] if not hasattr(value, "__iter__") or isinstance(value, str) else list(value)
    for size in sizes:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral) or size < 1:
            raise _fail("hidden_layer_sizes", "an int >= 1 or a sequence of ints >= 1", value)
    return [int(s) for s in sizes]


def check_n_iter_no_change(value):
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and value == np.inf:
        return np.inf
    return check_int(value, "n_iter_no_change", 1)
