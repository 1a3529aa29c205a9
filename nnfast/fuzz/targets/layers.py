"""Layers: construction, forward and backward, in every order, with inputs
of every dtype, layout and size.

A case builds one layer from its (sometimes bad) constructor arguments and
calls it as ``steps`` says ("f" forward, "b" backward: "b" first is a
backward before any forward). Where every argument is valid, the results
must have the shape and dtype the layer documents, be finite for moderate
input (NaN-free for any finite input where the layer promises it), and equal
the same calls on a C-contiguous copy of the input (bit for bit) and on the
reference kernels (within the design's tolerances).
"""
import math

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import (NOT_REAL, Arr, any_kind, any_layout, bad_floats, finite_real,
                                bad_ints, input_array, make, not_arrays, seeds, threads)
from nnfast.fuzz.targets import register
from nnfast.fuzz.outcome import expect
from nnfast.fuzz.targets._steps import (GRAD_SHAPES, check_result, cross_check, grad_valid,
                                        native, replicate, run_steps)

STEPS = ("fb", "fb", "fb", "f", "fbb", "ffb", "fbfb", "b")
DTYPES = (np.float32, np.float64, "float32", "float64")
BAD_DTYPES = ("float16", np.int64, "abc", 3, np.complex128, "int32")
BAD_SEEDS = (-1, "seed", 1.5, [1], True)


# -- constructor arguments --------------------------------------------------
def _with_bad(draw, kwargs, bad):
    """kwargs, one argument replaced by a bad value about a quarter of the
    time; (kwargs, valid)."""
    if not bad or draw(st.integers(0, 3)) < 3:
        return kwargs, True
    name = draw(st.sampled_from(sorted(bad)))
    kwargs = dict(kwargs)
    kwargs[name] = draw(bad[name])
    return kwargs, False


def _pair_or_int(low, high):
    return st.one_of(st.integers(low, high),
                     st.tuples(st.integers(low, high), st.integers(low, high)))


def _pairs(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


HUGE = st.sampled_from([2**31 - 1, 2**31, 2**40, 2**62, 2**63 - 1])


@st.composite
def linear_args(draw):
    kwargs = {"in_features": draw(st.integers(1, 6)), "out_features": draw(st.integers(1, 6)),
              "dtype": draw(st.sampled_from(DTYPES))}
    if draw(st.booleans()):
        kwargs["rng"] = draw(st.integers(0, 2**31))
    if draw(st.integers(0, 4)) == 0:
        kwargs["weight_init"] = draw(st.sampled_from(["he", "xavier_uniform", 0.5, "zeros"]))
    bad = {"in_features": bad_ints(), "out_features": bad_ints(),
           "dtype": st.sampled_from(BAD_DTYPES), "rng": st.sampled_from(BAD_SEEDS),
           "weight_init": st.sampled_from(["nope", float("nan"), object(), float("inf"), True])}
    return _with_bad(draw, kwargs, bad)


@st.composite
def conv_args(draw):
    stride = draw(_pair_or_int(1, 2))
    padding = draw(st.one_of(_pair_or_int(0, 2),
                             st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                                       st.tuples(st.integers(0, 2), st.integers(0, 2))),
                             st.just("same")))
    if padding == "same":
        stride = 1
    # groups divide both channel counts: 1, 2, 3 groups of 1 or 2 channels each
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    kwargs = {"in_channels": groups * draw(st.integers(1, 3 if groups == 1 else 2)),
              "out_channels": groups * draw(st.integers(1, 3 if groups == 1 else 2)),
              "kernel_size": draw(_pair_or_int(1, 3)), "stride": stride, "padding": padding,
              "dilation": draw(_pair_or_int(1, 2)),
              "algorithm": draw(st.sampled_from(["auto", "im2col", "direct"])),
              "dtype": draw(st.sampled_from(DTYPES)), "rng": draw(st.integers(0, 2**31))}
    if groups > 1 or draw(st.booleans()):
        kwargs["groups"] = groups
    huge_pad = st.one_of(HUGE, st.tuples(HUGE, st.just(0)), st.tuples(st.just(0), HUGE),
                         st.just(((2**30, 0), (0, 0))), st.just(((0, 0), (0, 2**31 - 1))))
    bad = {"in_channels": bad_ints(), "out_channels": bad_ints(),
           "kernel_size": st.one_of(bad_ints(), st.just((1, 2, 3)), st.just((0, 1)),
                                    st.tuples(HUGE, st.just(1))),
           "stride": st.one_of(bad_ints().filter(lambda v: v != 2**31 - 1), st.just((1, 0))),
           "padding": st.one_of(st.sampled_from([-1, "valid", (1, 2, 3), ((1,), (2,)), None,
                                                 1.5, ((1, -1), (0, 0))]), huge_pad),
           "dilation": st.one_of(bad_ints(), st.just((2**31 - 1, 1))),
           "algorithm": st.sampled_from(["fft", None, 1, "AUTO"]),
           # 5 and 7 divide none of the channel counts drawn (at most 6)
           "groups": st.one_of(bad_ints(), st.sampled_from([5, 7, np.int64(5)])),
           "dtype": st.sampled_from(BAD_DTYPES), "rng": st.sampled_from(BAD_SEEDS)}
    return _with_bad(draw, kwargs, bad)


@st.composite
def conv_transpose_args(draw):
    stride = draw(_pair_or_int(1, 3))
    dilation = draw(_pair_or_int(1, 2))
    # output_padding below max(stride, dilation) per axis (PyTorch's rule)
    limit = min(max(s, d) for s, d in zip(_pairs(stride), _pairs(dilation)))
    kwargs = {"in_channels": draw(st.integers(1, 3)), "out_channels": draw(st.integers(1, 3)),
              "kernel_size": draw(_pair_or_int(1, 3)), "stride": stride,
              "padding": draw(_pair_or_int(0, 1)),
              "output_padding": draw(_pair_or_int(0, limit - 1)), "dilation": dilation,
              "bias": draw(st.booleans()),
              "dtype": draw(st.sampled_from(DTYPES)), "rng": draw(st.integers(0, 2**31))}
    bad = {"in_channels": bad_ints(), "out_channels": bad_ints(),
           "kernel_size": st.one_of(bad_ints(), st.just((1, 2, 3)), st.just((0, 1)),
                                    st.tuples(HUGE, st.just(1))),
           "stride": st.one_of(bad_ints().filter(lambda v: v != 2**31 - 1), st.just((1, 0))),
           "padding": st.one_of(st.sampled_from([-1, "same", (1, 2, 3), None, 1.5, (1, -1)]),
                                HUGE),
           "output_padding": st.one_of(st.sampled_from([-1, (0, -1), 1.5, "1", (1, 2, 3)]),
                                       st.just((3, 3)), HUGE),
           "dilation": st.one_of(bad_ints(), st.just((2**31 - 1, 1))),
           "bias": st.sampled_from([None, 1, "yes", 0.0]),
           "groups": st.sampled_from([0, 2, -1, 1.5, None]),
           "dtype": st.sampled_from(BAD_DTYPES), "rng": st.sampled_from(BAD_SEEDS)}
    return _with_bad(draw, kwargs, bad)


@st.composite
def pool_args(draw):
    k = draw(_pair_or_int(1, 3))
    kh, kw = _pairs(k)
    kwargs = {"kernel_size": k,
              "stride": draw(st.one_of(st.none(), _pair_or_int(1, 3))),
              "padding": draw(st.one_of(st.integers(0, min(kh, kw) // 2),
                                        st.tuples(st.integers(0, kh // 2),
                                                  st.integers(0, kw // 2))))}
    huge_window = st.sampled_from([(2**31 - 1, 1), (2**30, 2**30)])
    bad = {"kernel_size": st.one_of(bad_ints(), huge_window, st.just((1, 2, 3))),
           "stride": st.one_of(bad_ints().filter(lambda v: v is not None and v != 2**31 - 1),
                               st.just((0, 1))),
           "padding": st.one_of(bad_ints(), st.just((5, 0)), st.just(-1))}
    kwargs, valid = _with_bad(draw, kwargs, bad)
    if valid and draw(st.integers(0, 9)) == 9:
        # a huge window with padding of half its size: valid, the output small
        kwargs = {"kernel_size": (2**31 - 1, 1), "stride": draw(st.sampled_from([1, 2**31 - 1])),
                  "padding": (2**30 - 1, 0)}
    return kwargs, valid


@st.composite
def upsample_args(draw):
    mode = draw(st.sampled_from(["nearest", "bilinear"]))
    scale = draw(st.one_of(st.integers(1, 3), st.sampled_from([0.5, 1.5, 2.5, 0.75, 1.1]),
                           st.floats(0.3, 3.0),
                           st.tuples(st.integers(1, 3), st.floats(0.3, 2.5))))
    kwargs = {"scale_factor": scale, "mode": mode}
    if mode == "bilinear" and draw(st.booleans()):
        kwargs["align_corners"] = True
    bad = {"scale_factor": st.one_of(bad_floats().filter(lambda v: not (finite_real(v) and v > 0)),
                                     st.sampled_from([(2, 2, 2), (1, 0), (2, -1.0)])),
           "mode": st.sampled_from(["bicubic", "trilinear", None, 3, "Nearest"]),
           "align_corners": st.sampled_from(["yes", 1, 2.0, np.array(True)])}
    return _with_bad(draw, kwargs, bad)


@st.composite
def leaky_args(draw):
    kwargs = {}
    if draw(st.booleans()):
        kwargs["negative_slope"] = draw(st.one_of(st.floats(-3, 3), st.sampled_from([0.0, 1e10])))
    return _with_bad(draw, kwargs, {"negative_slope": bad_floats().filter(
        lambda v: not finite_real(v))})


@st.composite
def prelu_args(draw):
    kwargs = {"num_parameters": draw(st.sampled_from([1, 1, 2, 3])),
              "init": draw(st.floats(-2, 2)), "dtype": draw(st.sampled_from(DTYPES))}
    bad = {"num_parameters": bad_ints(), "init": bad_floats().filter(lambda v: not finite_real(v)),
           "dtype": st.sampled_from(BAD_DTYPES)}
    return _with_bad(draw, kwargs, bad)


@st.composite
def dropout_args(draw):
    kwargs = {"p": draw(st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0, 1))),
              "rng": draw(st.one_of(st.none(), st.integers(0, 2**31)))}
    bad = {"p": st.one_of(bad_floats().filter(lambda v: not (finite_real(v) and 0 <= v <= 1)),
                          st.sampled_from([1.0000001, -0.1, 2])),
           "rng": st.sampled_from(BAD_SEEDS)}
    return _with_bad(draw, kwargs, bad)


# Axis arguments that are no axis of any input up to 4-D, or no int at all.
BAD_DIMS = st.sampled_from([True, False, 1.5, 1.0, "1", None, np.float64(1.0), [1], 4, 10, -5,
                            2**63, -2**70])


def _min_rank(dim):
    return dim + 1 if dim >= 0 else -dim


@st.composite
def softmax_args(draw):
    kwargs = {}
    if draw(st.booleans()):
        kwargs["dim"] = draw(st.one_of(st.integers(-4, 3), st.integers(-4, 3).map(np.int64)))
    return _with_bad(draw, kwargs, {"dim": BAD_DIMS})


def _flatten_ranks(start_dim, end_dim):
    """The ranks (2 to 4) of the inputs Flatten(start_dim, end_dim) takes."""
    return [r for r in range(max(2, _min_rank(start_dim), _min_rank(end_dim)), 5)
            if start_dim % r <= end_dim % r]


@st.composite
def flatten_args(draw):
    kwargs = {}
    if draw(st.booleans()):
        start, end = draw(st.tuples(st.integers(-4, 3), st.integers(-4, 3)).filter(
            lambda se: _flatten_ranks(*se)))
        kwargs = {"start_dim": start, "end_dim": end}
    bad = {"start_dim": BAD_DIMS, "end_dim": BAD_DIMS}
    if draw(st.integers(0, 7)) == 0:   # an end before the start, as no rank can fix
        pair = draw(st.sampled_from([(2, 1), (-1, -2), (3, 0), (0, -5)]))
        return {"start_dim": pair[0], "end_dim": pair[1]}, False
    return _with_bad(draw, kwargs, bad)


# -- shapes ------------------------------------------------------------------
def _conv_input_shape(draw, kwargs):
    kh, kw = _pairs(kwargs["kernel_size"])
    dh, dw = _pairs(kwargs["dilation"])
    pad = kwargs["padding"]
    if pad == "same":
        ph = pw = 0
    elif isinstance(pad, tuple) and isinstance(pad[0], tuple):
        ph, pw = sum(pad[0]), sum(pad[1])
    else:
        ph, pw = (2 * p for p in _pairs(pad))
    need_h = max(1, dh * (kh - 1) + 1 - ph)
    need_w = max(1, dw * (kw - 1) + 1 - pw)
    return (draw(st.integers(1, 3)), kwargs["in_channels"],
            need_h + draw(st.integers(0, 4)), need_w + draw(st.integers(0, 4)))


def _conv_transpose_input_shape(draw, kwargs):
    # big enough that the padding leaves an output: (h - 1) s + d (k - 1) + op + 1 > 2 p
    return (draw(st.integers(1, 3)), kwargs["in_channels"],
            3 + draw(st.integers(0, 3)), 3 + draw(st.integers(0, 3)))


def _pool_input_shape(draw, kwargs):
    kh, kw = _pairs(kwargs["kernel_size"])
    ph, pw = _pairs(kwargs["padding"])
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)),
            max(1, kh - 2 * ph) + draw(st.integers(0, 4)),
            max(1, kw - 2 * pw) + draw(st.integers(0, 4)))


def _upsample_input_shape(draw, kwargs):
    # sizes >= 4: the smallest scale drawn, 0.3, still gives an output >= 1
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(4, 9)),
            draw(st.integers(4, 9)))


def _global_pool_input_shape(draw, kwargs):
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 9)),
            draw(st.integers(1, 9)))


def _any_shape(draw, min_ndim=1):
    ndim = draw(st.integers(min_ndim, 4))
    return tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))


# Shapes near a valid input shape that the layer must refuse, by how the
# layer reads its input.
def _bad_any(shape, kwargs=None):            # element-wise: any shape but 0-d or empty
    return [(), (0,), shape[:-1] + (0,)]


def _bad_softmax(shape, kwargs=None):        # Softmax, LogSoftmax: axis ``dim`` needed
    need = _min_rank((kwargs or {}).get("dim", 1))
    return [(), (0,) + shape[1:], shape[:-1] + (0,)] + ([shape[:need - 1]] if need > 1 else [])


def _bad_flatten(shape, kwargs=None):        # at least 2-D, axes start_dim..end_dim in order
    kwargs = kwargs or {}
    ranks = _flatten_ranks(kwargs.get("start_dim", 1), kwargs.get("end_dim", -1))
    return [(), shape[:1], (0,) + shape[1:], shape[:-1] + (0,)] + [
        shape[:r] for r in range(2, len(shape)) if r not in ranks]


def _softmax_shape(draw, kwargs):
    return _any_shape(draw, _min_rank(int(kwargs.get("dim", 1))))


def _flatten_shape(draw, kwargs):
    r = draw(st.sampled_from(_flatten_ranks(kwargs.get("start_dim", 1), kwargs.get("end_dim", -1))))
    return tuple(draw(st.lists(st.integers(1, 4), min_size=r, max_size=r)))


def _flatten_out(layer, shape):
    """torch.nn.Flatten's output shape, worked out here, not by the layer."""
    r = len(shape)
    a, b = layer.start_dim % r, layer.end_dim % r
    return shape[:a] + (math.prod(shape[a:b + 1]),) + shape[b + 1:]


def _bad_linear(shape, kwargs=None):
    return [(), shape[:1], shape + (1,), (0,) + shape[1:], shape[:1] + (shape[1] + 1,),
            shape[:1] + (0,)]


def _bad_conv(shape, kwargs=None):
    return [(), shape[:3], shape + (1,), (0,) + shape[1:],
            shape[:1] + (shape[1] + 1,) + shape[2:], shape[:3] + (0,)]


def _bad_pool(shape, kwargs=None):
    return [(), shape[:3], shape + (1,), (0,) + shape[1:], shape[:3] + (0,)]


def _bad_prelu_channels(shape, kwargs):
    if kwargs["num_parameters"] > 1:
        return [(), (0,) + shape[1:], shape[:1] + (shape[1] + 1,) + shape[2:], shape[:1]]
    return _bad_any(shape)


# -- a case ---------------------------------------------------------------------
@st.composite
def array_arg(draw, shape, bad_shapes, dtypes=None):
    """(spec, valid) of an array argument: mostly ``shape``, else a bad shape,
    an empty one or something that is not an array."""
    r = draw(st.integers(0, 11))
    if r <= 7 or not bad_shapes:
        arr = draw(input_array(shape, dtypes=dtypes))
        return arr, arr.real
    if r <= 9:
        arr = draw(input_array(draw(st.sampled_from(bad_shapes))))
        return arr, False
    return draw(not_arrays), False


@st.composite
def grad_arg(draw):
    """A gradient spec for backward (see ``_steps.grad_like``)."""
    r = draw(st.integers(0, 11))
    if r <= 10:
        dt = None if r <= 6 else draw(st.sampled_from(
            ("float32", "float64", "float16", "int32", "bool") + NOT_REAL))
        return ("auto", draw(st.sampled_from(GRAD_SHAPES)) if r >= 4 else "same", dt,
                draw(any_kind()), draw(any_layout()), draw(seeds))
    return draw(not_arrays)


def layer_case(cls_name, args, x_shape, bad_shapes):
    """Strategy of a case for layer ``cls_name``: ``args`` draws (kwargs,
    valid), ``x_shape(draw, kwargs)`` a valid input shape, ``bad_shapes(shape)``
    shapes the layer must refuse."""
    @st.composite
    def case(draw):
        kwargs, kwargs_valid = draw(args)
        shape = x_shape(draw, kwargs) if kwargs_valid else _any_shape(draw)
        x, x_valid = draw(array_arg(shape, bad_shapes(shape, kwargs) if kwargs_valid
                                    else _bad_any(shape)))
        if cls_name == "Linear" and draw(st.integers(0, 19)) == 19:
            # small weight, small input, an output of 2**40 elements: refused
            kwargs, kwargs_valid = {"in_features": 1, "out_features": 2**20}, True
            x, x_valid = Arr((2**20, 1), "float32", "normal", draw(seeds)), False
        return {"cls": cls_name, "kwargs": kwargs, "kwargs_valid": kwargs_valid,
                "x": x, "x_valid": x_valid, "grad": draw(grad_arg()),
                "steps": draw(st.sampled_from(STEPS)),
                "mode": draw(st.sampled_from(["train", "train", "eval"])),
                "input_grad": draw(st.sampled_from([True, True, False])),
                "seed": draw(st.integers(0, 2**31)), "threads": draw(threads)}
    return case()


# -- what the results must be -----------------------------------------------------
def _out_dtype(layer, x):
    dtype = getattr(layer, "dtype", None)
    if dtype is not None:
        return np.dtype(dtype)
    dt = native(x).dtype
    return dt if dt in (np.float32, np.float64) else np.dtype(np.float32)


def _conv_out(layer, shape):
    n, _, h, w = shape
    top, bottom, left, right = layer.padding
    size = []
    for extent, k, s, d, pad in ((h, layer.kernel_size[0], layer.stride[0], layer.dilation[0],
                                  top + bottom),
                                 (w, layer.kernel_size[1], layer.stride[1], layer.dilation[1],
                                  left + right)):
        size.append((extent + pad - d * (k - 1) - 1) // s + 1)
    return (n, layer.out_channels) + tuple(size)


def _conv_transpose_out(layer, shape):
    n, _, h, w = shape
    size = tuple((e - 1) * s - 2 * p + d * (k - 1) + op + 1 for e, k, s, p, op, d in
                 zip((h, w), layer.kernel_size, layer.stride, layer.padding,
                     layer.output_padding, layer.dilation))
    return (n, layer.out_channels) + size


def _upsample_out(layer, shape):
    n, c, h, w = shape
    return (n, c) + tuple(math.floor(e * s) for e, s in zip((h, w), layer.scale_factor))


def _pool_out(layer, shape):
    n, c, h, w = shape
    return (n, c) + tuple((e + 2 * p - k) // s + 1 for e, k, s, p in
                          zip((h, w), layer.kernel_size, layer.stride, layer.padding))


OUT_SHAPES = {
    "Linear": lambda layer, s: (s[0], layer.out_features),
    "Conv2D": _conv_out,
    "ConvTranspose2D": _conv_transpose_out,
    "MaxPool2D": _pool_out,
    "AvgPool2D": _pool_out,
    "Upsample": _upsample_out,
    "GlobalAvgPool2D": lambda layer, s: s[:2] + (1, 1),
    "Flatten": _flatten_out,
}
# NaN-free for any finite input (the layer promises it; a Linear's products
# of huge values may meet as inf - inf)
STABLE = {"ReLU", "LeakyReLU", "PReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout",
          "Flatten", "MaxPool2D"}
MODERATE_KINDS = ("normal", "small_int", "unit", "binary", "ties", "zeros", "large")


def run_layer(spec, ctx):
    """Build, call as ``steps`` says, check; see the module docstring."""
    cls = getattr(nf.layers, spec["cls"])
    kwargs = make(spec["kwargs"])

    def build():
        layer = cls(**kwargs)
        layer.train(spec["mode"] == "train")
        layer.requires_input_grad = spec["input_grad"]
        return layer

    # bad arguments must be refused by the constructor or, at the latest,
    # by the first forward (a dilation too large for any input, say)
    layer = expect(lambda: replicate(build, spec["seed"]), True if spec["kwargs_valid"] else None,
                   f"{spec['cls']}(**{kwargs!r})")
    x = make(spec["x"])
    steps, grad = spec["steps"], spec["grad"]
    if steps[0] == "b":
        expect(lambda: run_steps(layer, x, grad, "b"), False, "backward before forward")
        return
    first = expect(lambda: run_steps(layer, x, grad, "f"),
                   spec["x_valid"] and spec["kwargs_valid"], "forward")
    out_shape = first["out"].shape
    valid_grad = grad_valid(grad, out_shape)
    layer = replicate(build, spec["seed"])
    first = expect(lambda: run_steps(layer, x, grad, steps),
                   valid_grad if "b" in steps else True, f"steps {steps!r}")
    if "b" in steps and not valid_grad:
        return
    x_arr = spec["x"]
    grad_kind = grad[3] if "b" in steps else "normal"
    x_shape = np.shape(native(x))
    expected_shape = OUT_SHAPES.get(spec["cls"], lambda layer, s: s)(layer, x_shape)
    moderate = x_arr.moderate and grad_kind in MODERATE_KINDS
    # a gradient of huge values may overflow its sum (an inf that meets 0)
    finite_in = x_arr.finite and grad_kind in MODERATE_KINDS
    check_result(first, layer, x_shape, expected_shape, _out_dtype(layer, x), finite=moderate,
                 no_nan=finite_in and spec["cls"] in STABLE, what=spec["cls"])
    if moderate:
        cross_check(build, spec["seed"], x, grad, steps, first)


def _register(cls_name, args, x_shape, bad_shapes, names, weight=1.0):
    register(f"layers.{cls_name}", layer_case(cls_name, args, x_shape, bad_shapes),
             names + ("x", "grad_output", "backward", "forward", "dtype", "rng"),
             weight=weight)(run_layer)


_register("Linear", linear_args(),
          lambda draw, kw: (draw(st.integers(1, 4)), kw["in_features"]), _bad_linear,
          ("in_features", "out_features", "weight_init", "bias_init"), weight=1.5)
_register("Conv2D", conv_args(), _conv_input_shape, _bad_conv,
          ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
           "algorithm", "groups"), weight=2.0)
_register("ConvTranspose2D", conv_transpose_args(), _conv_transpose_input_shape, _bad_conv,
          ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding",
           "groups", "dilation", "bias"), weight=1.5)
for _pool in ("MaxPool2D", "AvgPool2D"):
    _register(_pool, pool_args(), _pool_input_shape, _bad_pool,
              ("kernel_size", "stride", "padding"), weight=1.5)
_register("Upsample", upsample_args(), _upsample_input_shape, _bad_pool,
          ("scale_factor", "mode", "align_corners"))
_register("GlobalAvgPool2D", st.just(({}, True)), _global_pool_input_shape, _bad_pool, ())
_register("Flatten", flatten_args(), _flatten_shape, _bad_flatten, ("start_dim", "end_dim"))
for _act in ("ReLU", "Sigmoid", "Tanh"):
    _register(_act, st.just(({}, True)), lambda draw, kw: _any_shape(draw), _bad_any, ())
_register("LeakyReLU", leaky_args(), lambda draw, kw: _any_shape(draw), _bad_any,
          ("negative_slope",))
_register("PReLU", prelu_args(),
          lambda draw, kw: ((draw(st.integers(1, 3)), kw["num_parameters"])
                            + tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
                            if kw["num_parameters"] > 1 else _any_shape(draw)),
          _bad_prelu_channels, ("num_parameters", "init", "weight"))
for _soft in ("Softmax", "LogSoftmax"):
    _register(_soft, softmax_args(), _softmax_shape, _bad_softmax, ("dim",))
_register("Dropout", dropout_args(), lambda draw, kw: _any_shape(draw), _bad_any, ("p",))
