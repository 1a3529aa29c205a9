"""Fuzz inputs: compact descriptions of arrays (drawn by hypothesis in the
parent) that the child turns into the arrays a call receives.

An ``Arr`` names a shape, a dtype, a kind of values, a seed and a memory
layout; ``Arr.make()`` builds the array from them, so a case is small to
send to a child, replays exactly, and prints readably. Values are drawn
from the seed with NumPy, not by hypothesis element by element, which keeps
generating ten thousand cases fast.
"""
import math
import numbers

import numpy as np
from hypothesis import strategies as st

# -- value kinds ----------------------------------------------------------
# finite and of moderate size: results must be finite and must agree
# across layouts and backends
MODERATE = ("normal", "small_int", "unit", "binary", "ties", "zeros", "large")
# finite but extreme: results must not be NaN where the entry point promises
# stability (activations, softmax, cross-entropy on logits)
EXTREME = ("huge", "denormal")
NON_FINITE = ("nan", "inf")
KINDS = MODERATE + EXTREME + NON_FINITE

FLOATS = ("float32", "float64")
# numeric but not float32/float64: converted at the boundary
OTHER_REAL = ("float16", "int8", "int32", "int64", "uint8", "bool")
# not real numbers: refused with a TypeError
NOT_REAL = ("complex64", "complex128", "object", "str")
DTYPES = FLOATS + OTHER_REAL + NOT_REAL

# Memory layouts that hold the same values: every one must give the result
# of the C-contiguous array ("c").
VIEW_LAYOUTS = ("c", "f", "neg", "strided", "readonly", "swapped", "subclass")
LAYOUTS = VIEW_LAYOUTS + ("list",)


class _Subclass(np.ndarray):
    """A plain ndarray subclass (as np.matrix-free user code makes)."""


class Arr:
    """An array to build in the child.

    Parameters
    ----------
    shape : tuple of int
    dtype : str, one of ``DTYPES``
    kind : str, one of ``KINDS``
    seed : int
    layout : str, one of ``LAYOUTS``
    """

    __slots__ = ("shape", "dtype", "kind", "seed", "layout")

    def __init__(self, shape, dtype="float32", kind="normal", seed=0, layout="c"):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = dtype
        self.kind = kind
        self.seed = int(seed)
        self.layout = layout

    def __getstate__(self):
        return (self.shape, self.dtype, self.kind, self.seed, self.layout)

    def __setstate__(self, state):
        self.shape, self.dtype, self.kind, self.seed, self.layout = state

    def __repr__(self):
        return (f"Arr({self.shape}, {self.dtype!r}, {self.kind!r}, seed={self.seed}, "
                f"layout={self.layout!r})")

    @property
    def size(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def real(self):
        """Holds real numbers NumPy converts (what entry points accept)."""
        # an object array's tolist() is a list of Python floats
        return self.dtype in FLOATS + OTHER_REAL or (self.dtype == "object"
                                                     and self.layout == "list")

    @property
    def moderate(self):
        return self.kind in MODERATE

    @property
    def finite(self):
        return self.kind in MODERATE + EXTREME

    @property
    def has_nan(self):
        return self.kind == "nan"

    def with_(self, **changes):
        state = {k: getattr(self, k) for k in self.__slots__}
        state.update(changes)
        return Arr(**state)

    def values(self):
        """The float64 values, before the dtype and the layout."""
        rng = np.random.default_rng(self.seed)
        shape = self.shape
        kind = self.kind
        if kind == "normal":
            v = rng.standard_normal(shape)
        elif kind == "small_int":
            v = rng.integers(-3, 4, shape).astype(np.float64)
        elif kind == "unit":
            v = rng.random(shape)
        elif kind == "binary":
            v = rng.integers(0, 2, shape).astype(np.float64)
        elif kind == "ties":
            v = rng.choice([-1.0, 0.0, 1.0], shape)
        elif kind == "zeros":
            v = np.zeros(shape)
        elif kind == "large":
            v = rng.standard_normal(shape) * 1e3
        elif kind == "huge":
            big = 3e38 if self.dtype in ("float32",) else (6e4 if self.dtype == "float16" else 1e307)
            v = rng.choice([-big, big, -1.0, 1.0, 0.5 * big], shape)
        elif kind == "denormal":
            tiny = 1e-41 if self.dtype in ("float32", "float16") else 1e-310
            v = rng.choice([-tiny, tiny, 0.0, 1.0], shape)
        else:
            v = rng.standard_normal(shape)
            special = np.nan if kind == "nan" else np.inf
            mask = rng.random(shape) < 0.3
            if v.size and not mask.any():
                mask.reshape(-1)[0] = True
            signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
            v = np.where(mask, special * signs, v)
        return np.asarray(v, dtype=np.float64)

    def make(self):
        """The array (or list) the call receives."""
        v = self.values()
        dt = self.dtype
        if dt == "object":
            a = v.astype(object)
        elif dt == "str":
            a = v.astype(str)
        elif dt in ("complex64", "complex128"):
            a = (v + 0.5j).astype(dt)
        elif dt == "bool":
            a = v > 0
        elif dt.startswith(("int", "uint")):
            with np.errstate(invalid="ignore", over="ignore"):
                info = np.iinfo(dt)
                a = np.clip(np.nan_to_num(np.round(v)), info.min, info.max).astype(dt)
        else:
            with np.errstate(over="ignore"):
                a = v.astype(dt)
        # arithmetic on 0-d arrays gives NumPy scalars: make them arrays again
        return _layout(np.asarray(a), self.layout)


def _layout(a, layout):
    """``a``'s values in ``layout``."""
    if layout == "c" or (a.ndim == 0 and layout in ("f", "neg", "strided")):
        return a
    if layout == "f":
        return np.asfortranarray(a)
    if layout == "neg":
        return np.flip(np.flip(a, 0).copy(), 0)
    if layout == "strided":
        return np.repeat(a, 2, axis=-1)[..., ::2]
    if layout == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    if layout == "swapped":
        if a.dtype.kind in "fiuc" and a.dtype.itemsize > 1:
            return a.astype(a.dtype.newbyteorder("S"))
        return a
    if layout == "subclass":
        return a.view(_Subclass)
    if layout == "list":
        return a.tolist()
    raise ValueError(f"unknown layout {layout!r}")


def make(value):
    """``value`` with every Arr in it built (tuples, lists and dicts walked)."""
    if isinstance(value, Arr):
        return value.make()
    if isinstance(value, tuple):
        return tuple(make(v) for v in value)
    if isinstance(value, list):
        return [make(v) for v in value]
    if isinstance(value, dict):
        return {k: make(v) for k, v in value.items()}
    return value


def contiguous_twin(value):
    """The Arr of the same values, C-contiguous (or ``value`` itself)."""
    if isinstance(value, Arr) and value.layout in VIEW_LAYOUTS:
        return value.with_(layout="c")
    return value


# -- strategies -----------------------------------------------------------
seeds = st.integers(0, 2**32 - 1)


def any_layout():
    """Mostly C-contiguous, often another view of the same values."""
    return st.one_of(st.just("c"), st.sampled_from(LAYOUTS))


def any_dtype():
    """Mostly float32/float64, often another real dtype, sometimes no real one."""
    return st.one_of(*[st.sampled_from(FLOATS)] * 5, st.sampled_from(OTHER_REAL),
                     st.sampled_from(OTHER_REAL), st.sampled_from(NOT_REAL))


def any_kind():
    """Mostly moderate values, sometimes extreme or non-finite ones."""
    return st.one_of(st.sampled_from(("normal", "normal", "small_int", "ties")),
                     st.sampled_from(KINDS))


def input_array(shape, dtypes=None, kinds=None, layouts=None):
    """An Arr of ``shape`` with any dtype, kind and layout (see the above)."""
    shapes = shape if isinstance(shape, st.SearchStrategy) else st.just(tuple(shape))
    return st.builds(Arr, shapes,
                     any_dtype() if dtypes is None else st.sampled_from(dtypes),
                     any_kind() if kinds is None else st.sampled_from(kinds),
                     seeds,
                     any_layout() if layouts is None else st.sampled_from(layouts))


# Things that are not arrays at all, for any array argument.
NOT_ARRAYS = (None, "abc", b"\x00\x01", {"a": 1}, [[1.0, 2.0], [3.0]], object(), 1.5, 3,
              [], (), float("nan"))
not_arrays = st.sampled_from(NOT_ARRAYS)


def finite_real(v):
    """What a finite-float argument accepts: a real number (no bool) that is
    finite as a float."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def valid_int(v, low=1, high=None):
    """An int (no bool) in [low, high]."""
    return (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low
            and (high is None or v <= high))


def bad_ints():
    """Sizes and counts to refuse: zero, negative, far too large for memory or
    for C ints, and what is not an int (2**31 - 1 is a valid stride)."""
    return st.sampled_from([0, -1, -2**31, 2**31 - 1, 2**31, 2**32 + 1, 2**40, 2**62, 2**63,
                            2**64, 10**30, True, False, 1.5, 2.0, float("nan"), float("inf"),
                            "3", None, [2], (2,), np.float64(2.0), np.array(3),
                            np.array([3]), 1 + 0j])


def bad_floats():
    """Hyper-parameter values at and past the edges: non-finite, negative,
    huge, beyond the float range, of the wrong type (a few, such as 1e308 or
    np.float64(0.5), are valid: a case decides with ``finite_real``)."""
    return st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, -1e-300, 1e308,
                            -1e308, True, False, "0.1", None, [0.1], np.array([0.1]),
                            1 + 1j, np.float32("nan"), 2**1100, -2**1100, np.array(0.5),
                            np.float64(0.5), np.int64(1), 1e-320])


# OpenMP threads for a case, and whether the parallel path is forced on
# even for tiny shapes
threads = st.sampled_from([(1, False), (1, False), (2, False), (2, True), (1, True)])
