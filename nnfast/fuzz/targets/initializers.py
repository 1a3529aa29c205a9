"""``nf.init``: every initializer and ``initialize(spec, ...)`` with good and
bad shapes (huge ones refused before anything is allocated), fans, dtypes,
bounds and seeds. A valid call returns a finite array of the shape and
dtype asked for."""
import math
import numbers

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.outcome import check_array, expect
from nnfast.fuzz.targets import register

FAN_BASED = ("he_normal", "he_uniform", "xavier_normal", "xavier_uniform", "uniform_fan_in",
             "zeros")
SPECS = ("he", "xavier", "uniform", "zeros", "constant", "glorot_uniform", 0.5, "nope",
         float("nan"), True, None)
GOOD_SHAPES = st.one_of(st.integers(0, 5),
                        st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple))
BAD_SHAPES = st.sampled_from([(2**31 - 1, 2**31 - 1), (2**20, 2**20), (10**6,) * 3, 2**62,
                              (-1, 2), (2.5,), "3", None, (True,), np.array([2, 2])])


@st.composite
def init_case(draw):
    fn = draw(st.sampled_from(("uniform", "constant", "initialize") + FAN_BASED))
    bad_shape = draw(st.integers(0, 4)) == 4
    shape = draw(BAD_SHAPES if bad_shape else GOOD_SHAPES)
    fans = draw(st.one_of(st.tuples(st.integers(1, 9), st.integers(1, 9)),
                          st.sampled_from([(0, 3), (-1, 2), (1.5, 2), (True, 2), (None, 3)])))
    return {"fn": fn, "shape": shape, "shape_valid": not bad_shape, "fans": fans,
            "dtype": draw(st.sampled_from([np.float32, np.float64, "float64", np.int32, "x"])),
            "rng": draw(st.sampled_from([None, 0, 5, -1, "seed"])),
            "spec": draw(st.sampled_from(SPECS)),
            "bounds": draw(st.sampled_from([(0.0, 1.0), (-1.0, 1.0), (1.0, 0.0), (0.0, math.inf)])),
            "value": draw(st.sampled_from([0.0, 1.5, -2.0]))}


def _fan_ok(f):
    return isinstance(f, numbers.Integral) and not isinstance(f, bool) and f >= 1


@register("nf.init", init_case(),
          ("shape", "fan_in", "fan_out", "dtype", "rng", "spec", "value", "low", "high"))
def run_init(spec, ctx):
    fn, shape, dtype, rng = spec["fn"], spec["shape"], spec["dtype"], spec["rng"]
    fan_in, fan_out = spec["fans"]
    dtype_ok = dtype in (np.float32, np.float64, "float64")
    rng_ok = rng in (None, 0, 5) and not isinstance(rng, bool)
    fans_ok = _fan_ok(fan_in) and _fan_ok(fan_out)
    valid = spec["shape_valid"] and dtype_ok and rng_ok
    if fn == "uniform":
        low, high = spec["bounds"]
        call = lambda: nf.init.uniform(shape, low, high, dtype=dtype, rng=rng)  # noqa: E731
        valid = valid and math.isfinite(high) and low <= high
    elif fn == "constant":
        call = lambda: nf.init.constant(shape, spec["value"], dtype=dtype)  # noqa: E731
        valid = spec["shape_valid"] and dtype_ok
    elif fn == "zeros":
        call = lambda: nf.init.zeros(shape, dtype=dtype)  # noqa: E731
        valid = spec["shape_valid"] and dtype_ok
    elif fn == "initialize":
        s = spec["spec"]
        call = lambda: nf.init.initialize(s, shape, fan_in, fan_out, dtype=dtype,  # noqa: E731
                                          rng=rng)
        spec_ok = (s in ("he", "xavier", "uniform", "zeros", "constant", "glorot_uniform", 0.5)
                   and not isinstance(s, bool))
        if s in ("zeros", "constant", 0.5):
            # these use neither the fans nor the generator
            valid = spec["shape_valid"] and dtype_ok
        else:
            valid = valid and spec_ok and fans_ok
    else:
        f = getattr(nf.init, fn)
        call = lambda: f(shape, fan_in, fan_out, dtype=dtype, rng=rng)  # noqa: E731
        valid = valid and (fans_ok or fn == "zeros")
        if fn == "zeros":
            valid = spec["shape_valid"] and dtype_ok
    if not math.isfinite(spec["bounds"][1]) and fn == "uniform":
        valid = None if valid is not False else False
    out = expect(call, valid, f"nf.init.{fn}({shape!r}, ...)")
    if not valid:
        return
    want = (shape,) if isinstance(shape, int) else tuple(shape)
    check_array(out, f"nf.init.{fn}", want, np.dtype(dtype), finite=True)
