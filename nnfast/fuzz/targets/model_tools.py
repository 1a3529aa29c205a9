"""``model.state_dict()`` / ``model.load_state_dict(d, strict)`` and
``model.summary(input_shape)`` / ``count_params()`` / ``astype(dtype)``.

State dicts: missing and unexpected keys (strict and not), a "module."
prefix, wrong shapes, Keras (in, out) Dense kernels and HWIO convolution
kernels (refused naming the transpose that fixes them), other dtypes
(cast), non-numeric values, objects with ``.numpy()``, nested lists, NaN,
bad buffer values (a NaN or fractional batch count, a negative variance),
a value that is no mapping, a bad ``strict``. A refused load changes
nothing; a valid one gives the model the values given (cast), and the
round trip into a fresh model gives identical outputs.

Inspection: ``summary`` with shapes that fit, do not fit, are empty, huge,
negative or not ints; ``count_params`` equals the sum of the parameter
sizes; ``astype`` to float32/float64 gives a copy of that dtype whose
outputs match the original's within the dtype's tolerance, and refuses
every other dtype.
"""
import io

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import seeds, threads
from nnfast.fuzz.outcome import Garbage, check_array, check_equal, expect
from nnfast.fuzz.targets import register

MODELS = ("mlp", "cnn", "bn", "nested", "single", "conv")
CRAFTS = ("roundtrip", "roundtrip", "torchlike", "missing", "unexpected", "prefix", "keras",
          "hwio", "ohwi", "wrong_shape", "int", "float16", "bool", "complex", "str", "object",
          "none_value", "nan", "list", "ragged", "not_mapping", "strict_bad", "count_nan",
          "count_fraction", "count_negative", "var_negative", "scalar", "numpy_raises",
          "numpy_returns_str", "int_keys")


def build_model(kind, dtype):
    dt = np.dtype(dtype).type
    L = nf.layers
    if kind == "mlp":
        return nf.Sequential([L.Linear(3, 4, dtype=dt), L.ReLU(), L.Linear(4, 2, dtype=dt)])
    if kind == "cnn":
        return nf.Sequential([L.Conv2D(1, 2, 3, padding="same", dtype=dt), L.ReLU(), L.Flatten(),
                              L.Linear(2 * 4 * 4, 3, dtype=dt)])
    if kind == "conv":
        return L.Conv2D(2, 3, (3, 2), dtype=dt)
    if kind == "bn":
        return nf.Sequential([L.Linear(3, 4, dtype=dt), L.BatchNorm1D(4, dtype=dt), L.Tanh(),
                              L.Linear(4, 2, dtype=dt)])
    if kind == "nested":
        return nf.Sequential([L.Linear(3, 5, dtype=dt),
                              nf.Sequential([L.PReLU(5, dtype=dt), L.Linear(5, 2, dtype=dt)])])
    return L.Linear(3, 2, dtype=dt)


def model_input(kind, rng, n=4):
    if kind == "cnn":
        return rng.standard_normal((n, 1, 4, 4))
    if kind == "conv":
        return rng.standard_normal((n, 2, 5, 4))
    return rng.standard_normal((n, 3))


@st.composite
def state_case(draw):
    return {"model": draw(st.sampled_from(MODELS)),
            "dtype": draw(st.sampled_from(["float32", "float64"])),
            "craft": draw(st.sampled_from(CRAFTS)), "strict": draw(st.booleans()),
            "train_first": draw(st.booleans()), "seed": draw(seeds), "threads": draw(threads)}


class Tensorish:
    """What a torch tensor looks like to load_state_dict: detach/cpu/numpy."""

    def __init__(self, value, mode="ok"):
        self.value, self.mode = value, mode

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        if self.mode == "raises":
            raise RuntimeError("Can't call numpy() on Tensor that requires grad")
        if self.mode == "str":
            return "not an array"
        return self.value


def _weight_key(d, rank):
    """The first key of a weight of ``rank`` dimensions (None if none)."""
    return next((k for k, v in d.items() if k.endswith("weight") and v.ndim == rank), None)


def _craft(spec, d):
    """(the state dict to load, valid, words the refusal must hold)."""
    craft = spec["craft"]
    d = dict(d)
    key = next(iter(d))
    if craft == "roundtrip":
        return d, True, ()
    if craft == "torchlike":
        return {k: Tensorish(v) for k, v in d.items()}, True, ()
    if craft == "missing":
        d.pop(key)
        return d, None if spec["strict"] else True, ("missing",)
    if craft == "unexpected":
        d["extra.weight"] = np.ones(3)
        return d, None if spec["strict"] else True, ("unexpected",)
    if craft == "int_keys":
        d[7] = np.ones(3)
        return d, None if spec["strict"] else True, ("unexpected",)
    if craft == "prefix":
        d = {"module." + k: v for k, v in d.items()}
        return d, None if spec["strict"] else True, ("module.",)
    if craft in ("keras", "hwio", "ohwi"):
        rank = 2 if craft == "keras" else 4
        wkey = _weight_key(d, rank)
        if wkey is None:
            return d, True, ()
        w = d[wkey]
        if craft == "keras":
            d[wkey] = w.T
            fix = "w.T"
        elif craft == "hwio":
            d[wkey] = np.transpose(w, (2, 3, 1, 0))
            fix = "np.transpose(w, (3, 2, 0, 1))"
        else:
            d[wkey] = np.transpose(w, (0, 2, 3, 1))
            fix = "np.transpose(w, (0, 3, 1, 2))"
        if d[wkey].shape == w.shape:
            return d, True, ()     # a square kernel: no layout tells
        return d, False, (fix,)
    if craft == "wrong_shape":
        d[key] = np.ones(d[key].shape + (1,))
        return d, False, ("shape",)
    if craft == "scalar":
        d[key] = np.float64(1.0)
        return d, False, ("shape",)
    if craft in ("int", "float16", "bool"):
        dt = {"int": np.int32, "float16": np.float16, "bool": np.bool_}[craft]
        return {k: v.astype(dt) if k.endswith(("weight", "bias")) else v for k, v in d.items()}, \
            True, ()
    if craft == "complex":
        d[key] = d[key].astype(np.complex128)
        return d, False, (key,)
    if craft == "str":
        d[key] = d[key].astype(str)
        return d, False, (key,)
    if craft == "object":
        a = np.empty(d[key].shape, dtype=object)
        a[...] = 1.0
        d[key] = a
        return d, False, (key,)
    if craft == "none_value":
        d[key] = None
        return d, False, (key,)
    if craft == "nan":
        d[key] = np.full_like(d[key], np.nan)
        return d, True, ()
    if craft == "list":
        d[key] = d[key].tolist()
        return d, True, ()
    if craft == "ragged":
        d[key] = [[1.0, 2.0], [3.0]]
        return d, False, (key,)
    if craft == "not_mapping":
        return list(d.items()), False, ("state_dict",)
    if craft == "strict_bad":
        return d, False, ("strict",)
    if craft == "numpy_raises":
        d[key] = Tensorish(d[key], "raises")
        return d, False, (key,)
    if craft == "numpy_returns_str":
        d[key] = Tensorish(d[key], "str")
        return d, False, (key,)
    bn_key = next((k for k in d if k.endswith("num_batches_tracked")), None)
    if bn_key is None:
        return d, True, ()
    if craft == "count_nan":
        d[bn_key] = np.array(np.nan)
    elif craft == "count_fraction":
        d[bn_key] = np.array(1.5)
    elif craft == "count_negative":
        d[bn_key] = np.array(-3)
    else:
        var_key = bn_key.replace("num_batches_tracked", "running_var")
        d[var_key] = -np.abs(d[var_key]) - 1.0
        bn_key = var_key
    return d, False, (bn_key,)


@register("model.state_dict/load_state_dict", state_case(),
          ("state_dict", "strict", "model"), weight=2.0)
def run_state_dict(spec, ctx):
    rng = np.random.default_rng(spec["seed"])
    nf.seed(spec["seed"] % 2**31)
    source = build_model(spec["model"], spec["dtype"])
    x = model_input(spec["model"], rng).astype(spec["dtype"])
    if spec["train_first"]:
        out = source.forward(x)
        source.backward(np.ones_like(out))
    d = source.state_dict()
    for k, v in d.items():
        if not isinstance(v, np.ndarray):
            raise Garbage(f"state_dict()[{k!r}] is {type(v).__name__}, not an ndarray")
    again = source.state_dict()
    for k in d:
        if d[k] is again[k] or np.shares_memory(d[k], again[k]):
            raise Garbage("two state dicts share an array: they are not copies")
    nf.seed((spec["seed"] + 1) % 2**31)
    target = build_model(spec["model"], spec["dtype"])
    before = target.state_dict()
    given, valid, words = _craft(spec, d)
    strict = "yes" if spec["craft"] == "strict_bad" else spec["strict"]
    try:
        result = expect(lambda: target.load_state_dict(given, strict=strict), valid,
                        f"load_state_dict({spec['craft']}, strict={strict})")
    except (ValueError, TypeError) as e:
        if words and not any(str(w) in str(e) for w in words):
            raise Garbage(f"load_state_dict({spec['craft']}) refused without naming "
                          f"{words}: {e}") from None
        _unchanged(target, before, spec["craft"])
        raise
    missing, unexpected = result
    if spec["craft"] in ("missing", "unexpected", "prefix", "int_keys") and not spec["strict"]:
        if not (missing or unexpected):
            raise Garbage(f"load_state_dict(strict=False) of a {spec['craft']} dict reported "
                          "nothing missing or unexpected")
        if spec["craft"] == "prefix":
            _unchanged(target, before, "prefix")
        return
    if missing or unexpected:
        raise Garbage(f"a matching state dict reported missing {missing}, unexpected {unexpected}")
    after = target.state_dict()
    for k, v in after.items():
        want = given[k].value if isinstance(given[k], Tensorish) else given[k]
        want = np.asarray(want)
        if v.dtype != before[k].dtype or v.shape != before[k].shape:
            raise Garbage(f"{k}: loading changed its dtype/shape to {v.dtype}{v.shape}")
        check_equal(v, want.astype(v.dtype), f"{k} after load_state_dict")
    if spec["craft"] in ("roundtrip", "torchlike"):
        source.eval()
        target.eval()
        check_equal(target.forward(x), source.forward(x), "outputs after a state-dict round trip")


def _unchanged(model, before, craft):
    after = model.state_dict()
    for k in before:
        check_equal(after[k], before[k], f"{k} after a refused load_state_dict ({craft})")


# -- summary, count_params, astype ------------------------------------------------------
SHAPES = ("fits", "fits", "fits", "int", "wrong", "empty", "zero", "negative", "huge", "float",
          "bool", "none", "string", "nested", "numpy_int", "list")
DTYPES = ("float32", "float64", "float32", "float64", np.float32, np.float64, "float16", "int32",
          None, "complex64", "f4", "double", np.dtype("float64"), 3, "nope", object)


@st.composite
def inspect_case(draw):
    return {"model": draw(st.sampled_from(MODELS)),
            "dtype": draw(st.sampled_from(["float32", "float64"])),
            "shape": draw(st.sampled_from(SHAPES)), "to": draw(st.sampled_from(DTYPES)),
            "seed": draw(seeds), "threads": draw(threads)}


def _sample_shape(model):
    return {"cnn": (1, 4, 4), "conv": (2, 5, 4)}.get(model, (3,))


def _shape(kind, model):
    good = _sample_shape(model)
    return {"fits": (good, True), "int": (good[0], len(good) == 1),
            "wrong": (good + (2,), False), "empty": ((), False), "zero": ((0,) + good[1:], False),
            "negative": ((-1,) + good[1:], False), "huge": ((2**40,) + good[1:], False),
            "float": (tuple(float(v) for v in good), False), "bool": ((True,), False),
            "none": (None, False), "string": ("3", False), "nested": ((good,), False),
            "numpy_int": (tuple(np.int64(v) for v in good), True),
            "list": (list(good), True)}[kind]


def _dtype_valid(to):
    try:
        dt = np.dtype(to)
    except TypeError:
        return False
    return to is not None and dt in (np.float32, np.float64)


@register("model.summary/count_params/astype", inspect_case(),
          ("input_shape", "dtype", "model"), weight=1.5)
def run_inspect(spec, ctx):
    rng = np.random.default_rng(spec["seed"])
    model = build_model(spec["model"], spec["dtype"])
    n = model.count_params()
    if type(n) is not int or n != sum(p.value.size for p in model.parameters()):
        raise Garbage(f"count_params() is {n!r}, the parameters hold "
                      f"{sum(p.value.size for p in model.parameters())}")
    shape, shape_valid = _shape(spec["shape"], spec["model"])
    was_training = model.training
    buf = io.StringIO()
    expect(lambda: model.summary(shape, file=buf), shape_valid, f"summary({shape!r})")
    if model.training != was_training:
        raise Garbage("summary changed the model's train/eval mode")
    if shape_valid:
        text = buf.getvalue()
        if f"{n:,}" not in text:
            raise Garbage(f"summary does not show the total {n:,}: {text!r}")
    x = model_input(spec["model"], rng).astype(spec["dtype"])
    model.eval()
    ref = model.forward(x)
    ref = ref.copy()
    valid = _dtype_valid(spec["to"])
    copy = expect(lambda: model.astype(spec["to"]), valid, f"astype({spec['to']!r})")
    if not valid:
        return
    dt = np.dtype(spec["to"])
    if copy is model:
        raise Garbage("astype returned the model itself, not a copy")
    for p, q in zip(model.parameters(), copy.parameters()):
        check_array(q.value, "a parameter after astype", p.value.shape, dt)
        if np.shares_memory(p.value, q.value):
            raise Garbage("astype's copy shares a parameter array with the model")
        if p.value.dtype != np.dtype(spec["dtype"]):
            raise Garbage("astype changed the original model's dtype")
    copy.eval()
    out = copy.forward(x.astype(dt))
    check_array(out, "the astype copy's output", ref.shape, dt, finite=True)
    tol = 1e-4 if np.float32 in (dt.type, np.dtype(spec["dtype"]).type) else 1e-10
    check_equal(out.astype(np.float64), ref.astype(np.float64), "astype copy vs original",
                rtol=tol, atol=tol * max(1.0, float(np.max(np.abs(ref)))))
    check_equal(model.forward(x), ref, "the original after astype")
