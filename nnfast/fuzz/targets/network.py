"""Sequential: construction from good and bad layer lists; forward and
backward through stacks that take every fusion (Linear/Conv2D + ReLU,
ReLU + MaxPool2D); the results must equal the layers called one by one
without fusion (bit for bit), the same calls on a C-contiguous copy and on
the reference kernels."""
import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.doubles import LayerChain
from nnfast.fuzz.inputs import make, seeds, threads
from nnfast.fuzz.outcome import expect
from nnfast.fuzz.targets import register
from nnfast.fuzz.targets._steps import (check_result, compare, cross_check, grad_valid,
                                        native, replicate, run_steps)
from nnfast.fuzz.targets.layers import MODERATE_KINDS, array_arg, grad_arg

ACTIVATIONS = ("ReLU", "ReLU", "LeakyReLU", "PReLU", "Sigmoid", "Tanh", "Dropout")
TAILS = (None, None, "Softmax", "LogSoftmax", "ReLU", "Dropout")
# (a single Layer is no bad list: Sequential(a, b) and Sequential(a) are
# PyTorch's form, accepted)
BAD_LAYER_LISTS = ("empty", "none_item", "string_item", "class_item", "not_iterable")


@st.composite
def mlp(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    a, b, c = (draw(st.integers(1, 5)) for _ in range(3))
    layers = [("Linear", {"in_features": a, "out_features": b, "dtype": dtype})]
    act = draw(st.sampled_from(ACTIVATIONS))
    layers.append((act, {"dtype": dtype} if act == "PReLU" else {}))
    layers.append(("Linear", {"in_features": b, "out_features": c, "dtype": dtype}))
    tail = draw(st.sampled_from(TAILS))
    if tail:
        layers.append((tail, {}))
    return layers, (draw(st.integers(1, 5)), a)


@st.composite
def cnn(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    c, k = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = 2 * draw(st.integers(1, 3)), 2 * draw(st.integers(1, 3))
    pool = draw(st.sampled_from(["MaxPool2D", "MaxPool2D", "AvgPool2D"]))
    out = draw(st.integers(1, 4))
    layers = [("Conv2D", {"in_channels": c, "out_channels": k, "kernel_size": 3, "padding": 1,
                          "algorithm": draw(st.sampled_from(["auto", "direct"])),
                          "dtype": dtype}),
              ("ReLU", {}), (pool, {"kernel_size": 2}), ("Flatten", {}),
              ("Linear", {"in_features": k * (h // 2) * (w // 2), "out_features": out,
                          "dtype": dtype})]
    if draw(st.booleans()):
        layers.insert(3, ("ReLU", {}))
    return layers, (draw(st.integers(1, 3)), c, h, w)


@st.composite
def network_case(draw):
    layers, shape = draw(st.one_of(mlp(), mlp(), cnn()))
    bad = draw(st.sampled_from((None,) * 8 + BAD_LAYER_LISTS))
    x, x_valid = draw(array_arg(shape, [(), shape[:1], (0,) + shape[1:],
                                        shape[:1] + (shape[1] + 1,) + shape[2:]]))
    return {"layers": layers, "bad": bad, "x": x, "x_valid": x_valid,
            "grad": draw(grad_arg()), "steps": draw(st.sampled_from(("fb", "fb", "f", "fbb",
                                                                      "ffb", "b"))),
            "mode": draw(st.sampled_from(["train", "train", "eval"])),
            "input_grad": draw(st.sampled_from([True, True, False])),
            "seed": draw(seeds), "threads": draw(threads)}


def _layer_list(spec):
    return [getattr(nf.layers, name)(**kwargs) for name, kwargs in spec["layers"]]


def _bad_list(kind, layers):
    return {"empty": [], "none_item": layers[:1] + [None], "string_item": layers + ["relu"],
            "class_item": [nf.layers.ReLU] + layers, "not_iterable": 3}[kind]


def _prepared(model, spec):
    model.train(spec["mode"] == "train")
    first = model.layers[0]
    first.requires_input_grad = spec["input_grad"]
    return model


@register("nf.Sequential", network_case(),
          ("layers", "x", "grad_output", "backward", "forward"), weight=3.0)
def run_sequential(spec, ctx):
    if spec["bad"] is not None:
        expect(lambda: nf.Sequential(_bad_list(spec["bad"], _layer_list(spec))), False,
               f"Sequential({spec['bad']})")
        return

    def build():
        return _prepared(nf.Sequential(_layer_list(spec)), spec)

    model = expect(lambda: replicate(build, spec["seed"]), True, "Sequential(...)")
    x = make(spec["x"])
    steps, grad = spec["steps"], spec["grad"]
    if steps[0] == "b":
        expect(lambda: run_steps(model, x, grad, "b"), False, "backward before forward")
        return
    first = expect(lambda: run_steps(model, x, grad, "f"), spec["x_valid"], "forward")
    valid_grad = grad_valid(grad, first["out"].shape)
    model = replicate(build, spec["seed"])
    first = expect(lambda: run_steps(model, x, grad, steps),
                   valid_grad if "b" in steps else True, f"steps {steps!r}")
    if "b" in steps and not valid_grad:
        return
    grad_kind = grad[3] if "b" in steps else "normal"
    moderate = spec["x"].moderate and grad_kind in MODERATE_KINDS
    last = model.layers[-1]
    out_dtype = np.dtype(spec["layers"][0][1]["dtype"])   # one dtype for the whole stack
    if spec["layers"][-1][0] == "Linear":
        out_shape = (np.shape(native(x))[0], last.out_features)
    else:
        out_shape = first["out"].shape
    check_result(first, model, np.shape(native(x)), out_shape, out_dtype, finite=moderate,
                 no_nan=False, what="Sequential", input_grad=spec["input_grad"])
    chain = run_steps(replicate(lambda: LayerChain(build().layers), spec["seed"]), x, grad, steps)
    compare(first, chain, "Sequential (fused) vs its layers one by one", exact=True)
    if moderate:
        cross_check(build, spec["seed"], x, grad, steps, first)
