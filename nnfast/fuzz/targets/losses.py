"""Losses: construction (reduction, class weights, margin, smooth), forward
with good and bad predictions and targets (labels out of range, negative,
non-integral, of the wrong length, malformed one-hot rows, one class only),
and backward, before and after forward. Valid cases must give a finite
Python float and a gradient of pred's shape and dtype, equal on a
C-contiguous copy and on the reference kernels."""
import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import (bad_floats, finite_real, input_array, make, not_arrays,
                                seeds, threads)
from nnfast.fuzz.outcome import Garbage, check_array, check_float, expect
from nnfast.fuzz.targets import register
from nnfast.fuzz.targets._steps import RTOL, native, unchanged

LABEL_LOSSES = ("CrossEntropyLoss", "NLLLoss", "HingeLoss")
ELEMENT_LOSSES = ("MSELoss", "BCEWithLogitsLoss", "BCELoss")
BAD_REDUCTIONS = ("none", None, 1, "MEAN", ["mean"])


@st.composite
def _reduction(draw, kwargs):
    r = draw(st.integers(0, 9))
    if r <= 2:
        return True
    if r <= 8:
        kwargs["reduction"] = draw(st.sampled_from(["mean", "sum"]))
        return True
    kwargs["reduction"] = draw(st.sampled_from(BAD_REDUCTIONS))
    return False


@st.composite
def labels(draw, n, c):
    """(target spec, valid) for n samples of c classes."""
    r = draw(st.integers(0, 19))
    rng_seed = draw(seeds)
    if r <= 7:
        dtype = draw(st.sampled_from(["int64", "int64", "int32", "int8", "uint8", "float64",
                                      "float32"]))
        return ("labels", n, c, dtype, rng_seed, draw(st.sampled_from(["c", "list", "neg"]))), True
    if r <= 9:
        return ("onehot", n, c, draw(st.sampled_from(["float32", "int64", "bool"])), rng_seed), True
    bad = draw(st.sampled_from(["too_big", "negative", "huge", "fraction", "nan", "bool",
                                "short", "long", "onehot_two", "onehot_shape", "2d_column",
                                "0d", "str", "complex"]))
    if bad == "2d_column" and c == 1:
        bad = "too_big"
    return ("bad", n, c, bad, rng_seed), False


def make_labels(spec):
    kind, n, c = spec[0], spec[1], spec[2]
    rng = np.random.default_rng(spec[4])
    y = rng.integers(0, c, n)
    if kind == "labels":
        dtype, layout = spec[3], spec[5]
        a = y.astype(dtype)
        if layout == "list":
            return a.tolist()
        if layout == "neg":
            return np.flip(np.flip(a).copy())
        return a
    if kind == "onehot":
        a = np.zeros((n, c))
        a[np.arange(n), y] = 1
        return a.astype(spec[3])
    bad = spec[3]
    if bad == "too_big":
        y[rng.integers(0, n)] = c
        return y
    if bad == "negative":
        y[rng.integers(0, n)] = -1
        return y
    if bad == "huge":
        y[rng.integers(0, n)] = 2**62
        return y
    if bad == "fraction":
        return y + 0.5
    if bad == "nan":
        return np.where(np.arange(n) == 0, np.nan, y.astype(float))
    if bad == "bool":
        return y > 0
    if bad == "short":
        return y[:-1]
    if bad == "long":
        return np.concatenate([y, y[:1]])
    if bad == "onehot_two":
        a = np.zeros((n, c))
        a[:, 0] = 1
        a[0, -1] = 1 if c > 1 else 2
        return a
    if bad == "onehot_shape":
        return np.zeros((n, c + 1))
    if bad == "2d_column":
        return y[:, None]
    if bad == "0d":
        return np.int64(0)
    if bad == "str":
        return y.astype(str)
    return y + 0j


@st.composite
def label_loss_case(draw, cls_name):
    kwargs = {}
    valid = draw(_reduction(kwargs))
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    if cls_name != "HingeLoss" and draw(st.integers(0, 2)) == 2:
        w = draw(st.sampled_from(["good", "good", "zeros", "short", "negative", "nan", "2d",
                                  "list"]))
        kwargs["weight"] = ("weight", w, c, draw(seeds))
        valid = valid and w in ("good", "zeros", "list")
    if cls_name == "HingeLoss" and draw(st.integers(0, 3)) == 3:
        m = draw(st.one_of(st.floats(-2, 2), bad_floats()))
        kwargs["margin"] = m
        valid = valid and finite_real(m)
    r = draw(st.integers(0, 9))
    if r <= 7:
        pred = draw(input_array((n, c)))
        pred_valid = pred.real
    elif r == 8:
        pred = draw(input_array(draw(st.sampled_from([(n,), (n, c, 2), (), (0, c), (n, 0)]))))
        pred_valid = False
    else:
        pred, pred_valid = draw(not_arrays), False
    target, target_valid = draw(labels(n, c))
    # one class: nothing to tell apart, the loss is constant (refused)
    valid_all = valid and pred_valid and target_valid and c >= 2
    return {"cls": cls_name, "kwargs": kwargs, "kwargs_valid": valid, "pred": pred,
            "target": target, "valid_inputs": valid_all, "steps": draw(_steps()),
            "threads": draw(threads)}


@st.composite
def _steps(draw):
    return draw(st.sampled_from(["fb", "fb", "fb", "f", "b", "fbb", "xfb"]))


def make_weight(spec):
    _, kind, c, seed = spec
    w = np.random.default_rng(seed).random(c) + 0.1
    return {"good": w, "zeros": np.zeros(c), "short": w[:-1] if c > 1 else np.ones(2),
            "negative": -w, "nan": np.full(c, np.nan), "2d": w[None, :],
            "list": w.tolist()}[kind]




@st.composite
def element_loss_case(draw, cls_name):
    kwargs = {}
    valid = draw(_reduction(kwargs))
    if cls_name == "DiceLoss" and draw(st.integers(0, 2)) == 2:
        smooth = draw(st.one_of(st.sampled_from([0.0, 1.0, 1e-5]), bad_floats()))
        kwargs["smooth"] = smooth
        valid = valid and finite_real(smooth) and smooth >= 0
    # DiceLoss: (N, ...) for the deprecated whole-sample smooth= loss, (N, C,
    # *spatial) for MONAI's per-class one
    lowest = (2 if "smooth" in kwargs else 3) if cls_name == "DiceLoss" else 1
    ndim = draw(st.integers(lowest, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    unit = cls_name in ("BCELoss", "DiceLoss")
    r = draw(st.integers(0, 9))
    if r <= 7:
        kinds = ("unit", "unit", "binary", "zeros") if unit else None
        pred = draw(input_array(shape, kinds=None if draw(st.integers(0, 4)) == 4 else kinds))
        pred_valid = pred.real     # and in [0, 1] where needed: decided on the values
    elif r == 8:
        pred = draw(input_array(draw(st.sampled_from([(), (0,) + shape[1:], shape + (1,)]))))
        pred_valid = False
    else:
        pred, pred_valid = draw(not_arrays), False
    r = draw(st.integers(0, 9))
    if r <= 7:
        target = draw(input_array(shape, kinds=("unit", "binary", "zeros")
                                  if cls_name != "MSELoss" and draw(st.integers(0, 4)) < 4
                                  else None))
        target_valid = target.real
    elif r == 8:
        target = draw(input_array(draw(st.sampled_from([(), shape[:-1], shape + (2,)]))))
        target_valid = False
    else:
        target, target_valid = draw(not_arrays), False
    return {"cls": cls_name, "kwargs": kwargs, "kwargs_valid": valid, "pred": pred,
            "target": target, "valid_inputs": valid and pred_valid and target_valid,
            "steps": draw(_steps()), "threads": draw(threads)}


def _build_target(spec):
    t = spec["target"]
    if isinstance(t, tuple) and t and t[0] in ("labels", "onehot", "bad"):
        return make_labels(t)
    return make(t)


def _kwargs(spec):
    kwargs = dict(spec["kwargs"])
    if isinstance(kwargs.get("weight"), tuple):
        kwargs["weight"] = make_weight(kwargs["weight"])
    return kwargs


def _calls(loss, pred, target, steps):
    check_inputs = unchanged((pred, target), type(loss).__name__)
    value = grad = None
    for step in steps:
        if step == "f":
            value = loss.forward(pred, target)
        elif step == "x":
            # a failed forward must leave no state for backward to use
            try:
                loss.forward(None, target)
            except (TypeError, ValueError):
                pass
        else:
            grad = loss.backward()
            grad = grad.copy() if isinstance(grad, np.ndarray) else grad
    check_inputs()
    return value, grad


def _in_unit(v):
    a = native(v).astype(np.float64)
    return bool(np.all((a >= 0) & (a <= 1)))


def _contiguous(v):
    return native(v) if isinstance(v, (np.ndarray, list)) else v


def run_loss(spec, ctx):
    cls = getattr(nf.losses, spec["cls"])
    kwargs = _kwargs(spec)
    loss = expect(lambda: cls(**kwargs), True if spec["kwargs_valid"] else None,
                  f"{spec['cls']}(**{kwargs!r})")
    pred, target = make(spec["pred"]), _build_target(spec)
    steps = spec["steps"]
    if steps == "b":
        expect(loss.backward, False, "backward before forward")
        return
    if steps.startswith("x"):
        expect(lambda: _calls(loss, pred, target, "xb"), False, "backward after a failed forward")
        return
    valid = spec["valid_inputs"] and spec["kwargs_valid"]
    if valid and spec["cls"] in ("BCELoss", "DiceLoss") and not _in_unit(pred):
        valid = False
    if valid and spec["cls"] in ("BCELoss", "BCEWithLogitsLoss", "DiceLoss") and not _in_unit(target):
        valid = False
    if valid and spec["cls"] == "DiceLoss" and kwargs.get("smooth") == 0.0:
        valid = None        # all-zero samples make Dice undefined: either is right
    if valid and kwargs.get("reduction", "mean") == "mean" and isinstance(
            kwargs.get("weight"), np.ndarray) and not np.any(kwargs["weight"]):
        valid = None        # a weighted mean over weights that sum to 0
    value, grad = expect(lambda: _calls(loss, pred, target, steps), valid,
                         f"{spec['cls']} {steps!r}")
    if not valid:
        return
    p_arr, t_arr = spec["pred"], spec["target"]
    # a huge target (an Arr; labels are moderate) may overflow (pred - target)**2
    moderate = p_arr.moderate and getattr(t_arr, "moderate", True)
    finite_in = p_arr.finite and getattr(t_arr, "finite", True)
    stable = spec["cls"] in ("CrossEntropyLoss", "BCEWithLogitsLoss", "HingeLoss", "BCELoss",
                             "DiceLoss")
    check_float(value, f"{spec['cls']}.forward", finite=moderate, no_nan=finite_in and stable)
    p_native = native(pred)
    dtype = p_native.dtype if p_native.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    if grad is not None:
        check_array(grad, f"{spec['cls']}.backward", p_native.shape, dtype, finite=moderate,
                    no_nan=finite_in and stable)
    if not moderate:
        return
    twin = _calls(cls(**kwargs), _contiguous(pred), _contiguous(target), steps)
    _same(value, grad, twin, "C-contiguous copy", exact=True)
    with nf.use_backend("reference"):
        ref = _calls(cls(**kwargs), _contiguous(pred), _contiguous(target), steps)
    _same(value, grad, ref, "fast vs reference kernels", exact=False)


def _same(value, grad, other, what, exact):
    v2, g2 = other
    if exact:
        if not (value == v2 or (value != value and v2 != v2)):
            raise Garbage(f"loss value differs, {what}: {value!r} vs {v2!r}")
        if grad is not None and not np.array_equal(grad, g2, equal_nan=True):
            raise Garbage(f"loss gradient differs, {what}")
        return
    rtol = RTOL.get(np.asarray(grad).dtype if grad is not None else np.dtype(np.float64), 1e-4)
    rtol = max(rtol, 1e-6)
    if not np.isclose(value, v2, rtol=rtol, atol=rtol * max(1.0, abs(v2))):
        raise Garbage(f"loss value differs, {what}: {value!r} vs {v2!r}")
    if grad is not None:
        scale = max(1.0, float(np.max(np.abs(g2)))) if np.size(g2) else 1.0
        if not np.allclose(grad, g2, rtol=rtol, atol=rtol * scale, equal_nan=True):
            raise Garbage(f"loss gradient differs, {what}: max |diff| "
                          f"{float(np.max(np.abs(grad - g2)))}")


NAMES = ("pred", "target", "reduction", "weight", "backward", "forward")
for _name in LABEL_LOSSES:
    register(f"losses.{_name}", label_loss_case(_name), NAMES + ("margin",),
             weight=1.5)(run_loss)
for _name in ELEMENT_LOSSES + ("DiceLoss",):
    register(f"losses.{_name}", element_loss_case(_name), NAMES + ("smooth",))(run_loss)
