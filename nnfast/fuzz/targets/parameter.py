"""Parameters: ``Parameter(value)`` from good and bad values, and assignment
to a layer's ``weight.value`` / ``.grad`` (and ``bias``) of arrays of every
shape, dtype and layout. An accepted array must leave the parameter with
its shape and dtype, C-contiguous and writeable, holding the values given;
the layer's next forward must compute with them (checked against NumPy);
anything else must be refused."""
import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import Arr, input_array, make, not_arrays, seeds, threads
from nnfast.fuzz.outcome import Garbage, check_array, expect
from nnfast.fuzz.targets import register
from nnfast.fuzz.targets._steps import native

LAYERS = {
    "Linear": (lambda dt: nf.layers.Linear(3, 2, dtype=dt), {"weight": (2, 3), "bias": (2,)}),
    "Conv2D": (lambda dt: nf.layers.Conv2D(2, 3, kernel_size=(2, 1), dtype=dt),
               {"weight": (3, 2, 2, 1), "bias": (3,)}),
    "PReLU": (lambda dt: nf.layers.PReLU(2, dtype=dt), {"weight": (2,)}),
}


@st.composite
def assignment_case(draw):
    layer = draw(st.sampled_from(sorted(LAYERS)))
    shapes = LAYERS[layer][1]
    which = draw(st.sampled_from(sorted(shapes)))
    attr = draw(st.sampled_from(["value", "value", "grad"]))
    shape = shapes[which]
    r = draw(st.integers(0, 9))
    if r <= 5:
        arr = draw(input_array(shape))
        valid = arr.real
    elif r <= 8:
        wrong = draw(st.sampled_from([shape[::-1], (), (1,) * len(shape), shape + (1,),
                                      (0,) + shape[1:], (1, 1)]))
        arr = draw(input_array(wrong))
        valid = arr.real and tuple(wrong) == tuple(shape)
    else:
        arr, valid = draw(not_arrays), False
    return {"layer": layer, "which": which, "attr": attr, "array": arr, "valid": valid,
            "dtype": draw(st.sampled_from(["float32", "float64"])), "seed": draw(seeds),
            "forward": draw(st.booleans()), "threads": draw(threads)}


def _expected_forward(layer_name, layer, x):
    w = layer.weight.value.astype(np.float64)
    if layer_name == "Linear":
        return x @ w.T + layer.bias.value.astype(np.float64)
    if layer_name == "PReLU":
        a = w.reshape((1, -1) + (1,) * (x.ndim - 2))
        return np.where(x > 0, x, a * x)
    n, c, h, wd = x.shape
    out = np.zeros((n, w.shape[0], h - w.shape[2] + 1, wd - w.shape[3] + 1))
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            patch = x[:, :, i:i + out.shape[2], j:j + out.shape[3]]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out + layer.bias.value.astype(np.float64)[None, :, None, None]


@register("nf.Parameter.assign", assignment_case(),
          ("weight", "bias", "value", "grad", "Parameter"), weight=2.0)
def run_assignment(spec, ctx):
    dtype = np.dtype(spec["dtype"])
    nf.seed(spec["seed"])
    layer = LAYERS[spec["layer"]][0](dtype.type)
    p = getattr(layer, spec["which"])
    shape = p.shape
    array = make(spec["array"])
    expect(lambda: setattr(p, spec["attr"], array), spec["valid"],
           f"{spec['layer']}.{spec['which']}.{spec['attr']} = {spec['array']!r}")
    if not spec["valid"]:
        return
    got = getattr(p, spec["attr"])
    check_array(got, f"{spec['which']}.{spec['attr']} after assignment", shape, dtype)
    if not got.flags.c_contiguous or not got.flags.writeable:
        raise Garbage(f"{spec['which']}.{spec['attr']} is not a writeable C-contiguous array "
                      "after assignment")
    want = native(array).astype(dtype)
    if not np.array_equal(got, want, equal_nan=True):
        raise Garbage(f"{spec['which']}.{spec['attr']} does not hold the assigned values")
    if spec["attr"] == "value" and isinstance(array, np.ndarray) and np.shares_memory(got, array) \
            and not array.flags.writeable:
        raise Garbage("a read-only array was kept as the parameter's value")
    if spec["forward"] and spec["attr"] == "value" and spec["array"].moderate:
        x_shape = {"Linear": (4, 3), "Conv2D": (2, 2, 3, 2), "PReLU": (3, 2, 2)}[spec["layer"]]
        x = Arr(x_shape, spec["dtype"], "normal", spec["seed"]).make()
        out = layer.forward(x)
        expected = _expected_forward(spec["layer"], layer, x.astype(np.float64))
        rtol = 1e-4 if dtype == np.float32 else 1e-10
        scale = max(1.0, float(np.max(np.abs(expected))))
        if not np.allclose(out, expected, rtol=rtol, atol=rtol * scale):
            raise Garbage(f"{spec['layer']}.forward after assigning {spec['which']} differs "
                          f"from NumPy by {float(np.max(np.abs(out - expected)))}")


@st.composite
def construction_case(draw):
    r = draw(st.integers(0, 9))
    if r <= 6:
        shape = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=3)))
        arr = draw(input_array(shape))
        valid = arr.real
    else:
        arr, valid = draw(not_arrays), None
    return {"value": arr, "valid": valid, "step": draw(st.booleans()),
            "threads": draw(threads)}


@register("nf.Parameter", construction_case(), ("value", "Parameter", "params", "params[0]"))
def run_construction(spec, ctx):
    value = make(spec["value"])
    p = expect(lambda: nf.Parameter(value), spec["valid"], f"Parameter({spec['value']!r})")
    if p is None:
        return
    v = p.value
    if not isinstance(v, np.ndarray) or v.dtype not in (np.float32, np.float64):
        raise Garbage(f"Parameter.value is {type(v).__name__} {getattr(v, 'dtype', '')}, not a "
                      "float32/float64 array")
    if v.shape != np.shape(native(value)):
        raise Garbage(f"Parameter.value has shape {v.shape}, the value given {np.shape(value)}")
    if spec["step"]:
        # a parameter of any shape (0-d, empty) is something an optimizer may be given
        p.grad = np.ones(v.shape)
        opt = nf.optim.SGD([p], lr=0.1, momentum=0.9)
        before = v.copy()
        opt.step()
        check_array(p.value, "Parameter after an SGD step", before.shape, before.dtype)
        if getattr(spec["value"], "moderate", False) and not np.allclose(p.value, before - 0.1, atol=1e-5):
            raise Garbage("SGD step on a Parameter did not subtract lr * grad")
