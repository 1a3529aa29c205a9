"""BatchNorm1D/2D and the recurrent layers (RNN, LSTM, GRU).

The layer cases run through ``layers.run_layer`` (construction, forward and
backward in every order, the results' shapes and dtypes, the C-contiguous
copy and the reference kernels). The recurrent layers' own arguments,
``h0`` and ``lengths``, get a target of their own: out-of-range, misshapen
and mistyped lengths and initial states are refused; valid ones give zeros
past each sequence's end, states of the documented shapes, and the
reference kernels' values.
"""
import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import Arr, bad_floats, bad_ints, make, not_arrays, seeds, threads
from nnfast.fuzz.outcome import Garbage, check_array, check_equal, expect
from nnfast.fuzz.targets import register
from nnfast.fuzz.targets._steps import RTOL
from nnfast.fuzz.targets.layers import (BAD_DTYPES, BAD_SEEDS, DTYPES, OUT_SHAPES, _any_shape,
                                        _with_bad, layer_case, run_layer)

FLAGS = st.sampled_from([1, 0, "yes", None, np.int64(1), 1.0])


# -- BatchNorm --------------------------------------------------------------------
@st.composite
def batchnorm_args(draw):
    kwargs = {"num_features": draw(st.integers(1, 4)), "dtype": draw(st.sampled_from(DTYPES))}
    if draw(st.booleans()):
        kwargs["eps"] = draw(st.sampled_from([1e-5, 1e-3, 1.0]))
    if draw(st.booleans()):
        kwargs["momentum"] = draw(st.sampled_from([0.1, 0.0, 1.0, None, 0.5]))
    if draw(st.booleans()):
        kwargs["affine"] = draw(st.booleans())
    if draw(st.booleans()):
        kwargs["track_running_stats"] = draw(st.booleans())
    bad = {"num_features": bad_ints().filter(lambda v: v != 2**31 - 1),
           "eps": st.one_of(st.sampled_from([0.0, -1e-5, "1e-5"]),
                            bad_floats().filter(lambda v: not (isinstance(v, float) and v > 0
                                                               and v < float("inf")))),
           "momentum": st.one_of(st.sampled_from([-0.1, 1.5, "0.1", float("nan")]),
                                 bad_floats().filter(lambda v: not (isinstance(v, float)
                                                                    and 0 <= v <= 1))),
           "affine": FLAGS, "track_running_stats": FLAGS, "dtype": st.sampled_from(BAD_DTYPES)}
    return _with_bad(draw, kwargs, bad)


def _bn_shape(rank):
    def shape(draw, kwargs):
        # at least two values per channel: a training batch of one value
        # has no variance (refused, as PyTorch refuses it)
        n = draw(st.integers(2, 4))
        return (n, kwargs["num_features"]) + tuple(draw(st.lists(st.integers(1, 3),
                                                                 min_size=rank - 2,
                                                                 max_size=rank - 2)))
    return shape


def _bad_bn(ranks):
    def bad(shape, kwargs=None):
        c = shape[1]
        out = [(), shape[:1], (0,) + shape[1:], shape[:1] + (c + 1,) + shape[2:]]
        out += [shape[:2] + (1,) * (r - 2) for r in range(1, 6) if r not in ranks and r >= 2]
        return out
    return bad


# -- recurrent layers ---------------------------------------------------------------
@st.composite
def recurrent_args(draw, cls_name):
    kwargs = {"input_size": draw(st.integers(1, 4)), "hidden_size": draw(st.integers(1, 4)),
              "dtype": draw(st.sampled_from(DTYPES)), "rng": draw(st.integers(0, 2**31))}
    if draw(st.integers(0, 3)) == 0:
        kwargs["num_layers"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 3)) == 0:
        kwargs["batch_first"] = True
    if cls_name == "RNN" and draw(st.booleans()):
        kwargs["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    bad = {"input_size": bad_ints().filter(lambda v: v != 2**31 - 1),
           "hidden_size": bad_ints().filter(lambda v: v != 2**31 - 1),
           "num_layers": st.one_of(bad_ints(), st.just(2000)),
           "batch_first": st.sampled_from([False, 1, "yes", None]),
           "dtype": st.sampled_from(BAD_DTYPES), "rng": st.sampled_from(BAD_SEEDS)}
    if cls_name == "RNN":
        bad["nonlinearity"] = st.sampled_from(["sigmoid", None, "TANH", 1])
    return _with_bad(draw, kwargs, bad)


def _sequence_shape(draw, kwargs):
    return (draw(st.integers(1, 3)), draw(st.integers(1, 4)), kwargs["input_size"])


def _bad_sequence(shape, kwargs=None):
    n, t, i = shape
    return [(), (n, t), (n, t, i + 1), (0, t, i), (n, 0, i), (n, t, i, 1), (n * t * i,)]


for _bn, _ranks in (("BatchNorm1D", (2, 3)), ("BatchNorm2D", (4,))):
    register(f"layers.{_bn}",
             layer_case(_bn, batchnorm_args(),
                        (lambda ranks: lambda draw, kw: _bn_shape(
                            draw(st.sampled_from(ranks)))(draw, kw))(_ranks),
                        _bad_bn(_ranks)),
             ("num_features", "eps", "momentum", "affine", "track_running_stats", "x",
              "grad_output", "backward", "forward", "dtype", "values per channel"))(run_layer)

for _cell in ("RNN", "LSTM", "GRU"):
    OUT_SHAPES[_cell] = lambda layer, s: (s[0], s[1], layer.hidden_size)
    register(f"layers.{_cell}",
             layer_case(_cell, recurrent_args(_cell), _sequence_shape, _bad_sequence),
             ("input_size", "hidden_size", "num_layers", "batch_first", "nonlinearity", "x",
              "grad_output", "backward", "forward", "dtype", "rng"))(run_layer)


# -- h0 and lengths -------------------------------------------------------------------
LENGTHS = ("none", "good", "good", "good", "zero", "too_long", "wrong_shape", "floats",
           "string", "list", "negative", "int32", "2d", "huge")
STATES = ("none", "none", "good", "good", "pair", "h_only", "wrong_shape", "wrong_layers",
          "triple", "string", "float16", "nan")


@st.composite
def state_case(draw):
    cls_name = draw(st.sampled_from(["RNN", "LSTM", "GRU"]))
    return {"cls": cls_name, "input_size": draw(st.integers(1, 3)),
            "hidden_size": draw(st.integers(1, 3)), "num_layers": draw(st.integers(1, 2)),
            "dtype": draw(st.sampled_from(["float32", "float64"])),
            "n": draw(st.integers(1, 4)), "t": draw(st.integers(1, 5)),
            "lengths": draw(st.sampled_from(LENGTHS)), "h0": draw(st.sampled_from(STATES)),
            "seed": draw(seeds), "threads": draw(threads)}


def _lengths(kind, n, t, rng):
    good = rng.integers(1, t + 1, n)
    return {"none": None, "good": good, "zero": np.where(np.arange(n) == 0, 0, good),
            "too_long": good + t, "wrong_shape": np.append(good, 1), "floats": good + 0.5,
            "string": "1,2", "list": [int(v) for v in good], "negative": -good,
            "int32": good.astype(np.int32), "2d": good[None], "huge": good + 2**40}[kind]


def _lengths_valid(kind):
    return kind in ("none", "good", "list", "int32")


def _state(kind, cls_name, shape, dtype, rng):
    h = rng.standard_normal(shape).astype(dtype)
    c = rng.standard_normal(shape).astype(dtype)
    cell = cls_name == "LSTM"
    return {"none": None, "good": (h, c) if cell else h, "pair": (h, c), "h_only": h,
            "wrong_shape": h[:, :, :-1] if shape[2] > 1 else h[:, :1, :][:, :0],
            "wrong_layers": np.concatenate([h, h]), "triple": (h, c, h), "string": "zeros",
            "float16": h.astype(np.float16), "nan": np.full(shape, np.nan, dtype)}[kind]


def _state_valid(kind, cls_name):
    if kind in ("none", "good", "float16", "nan"):
        return True        # float16 is cast; NaN is a value like any other
    if kind == "h_only":
        return True        # LSTM: c0 zeros
    if kind == "pair":
        return cls_name == "LSTM"
    return False


@register("layers.RNN/LSTM/GRU(h0, lengths)", state_case(),
          ("h0", "c0", "lengths", "x", "grad_output"), weight=1.5)
def run_states(spec, ctx):
    cls = getattr(nf.layers, spec["cls"])
    dtype = np.dtype(spec["dtype"])
    n, t, H, L = spec["n"], spec["t"], spec["hidden_size"], spec["num_layers"]
    rng = np.random.default_rng(spec["seed"])
    x = rng.standard_normal((n, t, spec["input_size"])).astype(dtype)
    lengths = _lengths(spec["lengths"], n, t, rng)
    h0 = _state(spec["h0"], spec["cls"], (L, n, H), dtype, rng)
    valid = _lengths_valid(spec["lengths"]) and _state_valid(spec["h0"], spec["cls"])

    def build():
        nf.seed(spec["seed"] % 2**31)
        return cls(spec["input_size"], H, num_layers=L, dtype=dtype, rng=spec["seed"] % 2**31)

    layer = build()
    out = expect(lambda: layer.forward(x, h0=h0, lengths=lengths), valid,
                 f"{spec['cls']}.forward(h0={spec['h0']}, lengths={spec['lengths']})")
    if not valid:
        return
    check_array(out, f"{spec['cls']} output", (n, t, H), dtype, finite=spec["h0"] != "nan")
    if lengths is not None:
        past = np.arange(t)[None, :] >= np.asarray(lengths)[:, None]
        if np.any(out[past] != 0):
            raise Garbage(f"{spec['cls']}: output past a sequence's end is not zero")
    state = layer.last_state
    for part in (state if spec["cls"] == "LSTM" else (state,)):
        check_array(part, f"{spec['cls']} last_state", (L, n, H), dtype)
    g = rng.standard_normal(out.shape).astype(dtype)
    grad_x = layer.backward(g)
    check_array(grad_x, f"{spec['cls']} grad_input", x.shape, dtype, finite=spec["h0"] != "nan")
    if h0 is not None:
        for part in (layer.grad_h0 if spec["cls"] == "LSTM" else (layer.grad_h0,)):
            check_array(part, f"{spec['cls']} grad_h0", (L, n, H), dtype)
    elif layer.grad_h0 is not None:
        raise Garbage(f"{spec['cls']}: grad_h0 set although no h0 was given")
    if spec["h0"] == "nan":
        return
    with nf.use_backend("reference"):
        ref = build()
        ref_out = ref.forward(x, h0=h0, lengths=lengths)
        ref_grad = ref.backward(g)
    rtol = RTOL[dtype]
    check_equal(out, ref_out, f"{spec['cls']} output, fast vs reference", rtol=rtol, atol=rtol)
    check_equal(grad_x, ref_grad, f"{spec['cls']} grad_input, fast vs reference", rtol=rtol,
                atol=rtol * max(1.0, float(np.max(np.abs(ref_grad)))))
