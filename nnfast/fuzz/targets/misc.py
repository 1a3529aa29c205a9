"""``nf.gradcheck``, ``nf.set_num_threads``, ``nf.set_backend`` /
``use_backend`` and ``nf.seed``: good and bad modules, inputs, targets and
tolerances; thread counts and backend names of every type. After a setting
is changed (or refused), a layer must still compute what NumPy computes."""
import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import (Arr, bad_floats, bad_ints, input_array, make, not_arrays, seeds,
                                valid_int)
from nnfast.fuzz.outcome import Garbage, expect
from nnfast.fuzz.targets import register
from nnfast.fuzz.targets._steps import native

# module kind -> (build, input shape, smooth: gradcheck must pass)
MODULES = {
    "linear": (lambda: nf.layers.Linear(3, 2, dtype=np.float64), (4, 3), True),
    "conv": (lambda: nf.layers.Conv2D(1, 2, 2, dtype=np.float64), (2, 1, 3, 3), True),
    "conv_transpose": (lambda: nf.layers.ConvTranspose2D(2, 1, 2, stride=2, padding=1,
                                                         output_padding=1, dtype=np.float64),
                       (2, 2, 3, 3), True),
    "sigmoid": (lambda: nf.layers.Sigmoid(), (3, 2), True),
    "tanh": (lambda: nf.layers.Tanh(), (3, 2), True),
    "softmax": (lambda: nf.layers.Softmax(), (3, 4), True),
    "log_softmax": (lambda: nf.layers.LogSoftmax(), (3, 4), True),
    "avgpool": (lambda: nf.layers.AvgPool2D(2), (1, 2, 4, 4), True),
    "mlp": (lambda: nf.Sequential([nf.layers.Linear(3, 4, dtype=np.float64), nf.layers.Tanh(),
                                   nf.layers.Linear(4, 2, dtype=np.float64)]), (5, 3), True),
    "relu": (lambda: nf.layers.ReLU(), (3, 3), False),
    "prelu": (lambda: nf.layers.PReLU(dtype=np.float64), (3, 3), False),
    "maxpool": (lambda: nf.layers.MaxPool2D(2), (1, 1, 4, 4), False),
    # a float32 model is checked on a float64 copy (with a note)
    "float32_linear": (lambda: nf.layers.Linear(3, 2), (4, 3), True),
    "mse": (lambda: nf.losses.MSELoss(), (3, 2), True),
    "ce": (lambda: nf.losses.CrossEntropyLoss(), (3, 4), True),
    "none": (lambda: None, (3, 3), None),
    "string": (lambda: "linear", (3, 3), None),
    "array": (lambda: np.ones(3), (3, 3), None),
    "layer_class": (lambda: nf.layers.Linear, (3, 3), None),
}
LOSSES = ("mse", "ce")
# modules that take one input shape only (the others take any rank)
STRICT_SHAPES = ("linear", "conv", "conv_transpose", "mlp", "avgpool", "maxpool", "float32_linear", "mse", "ce")


@st.composite
def gradcheck_case(draw):
    kind = draw(st.sampled_from(sorted(MODULES)))
    shape = MODULES[kind][1]
    r = draw(st.integers(0, 9))
    if r <= 6:
        x = Arr(shape, draw(st.sampled_from(["float64", "float32", "int64"])), "normal",
                draw(seeds), draw(st.sampled_from(["c", "neg", "list"])))
        x_valid = True
    elif r <= 8:
        strict = kind in STRICT_SHAPES
        x = draw(input_array(draw(st.sampled_from([(), shape[:1], shape + (1,)] if strict
                                                  else [()]))))
        x_valid = False
    else:
        x, x_valid = draw(not_arrays), False
    kwargs = {}
    valid = True
    for name, good in (("eps", st.sampled_from([1e-6, 1e-5])),
                       ("rtol", st.sampled_from([1e-4, 1e-3])),
                       ("max_checks", st.integers(1, 50))):
        if draw(st.integers(0, 4)) == 4:
            bad = draw(bad_ints() if name == "max_checks" else bad_floats())
            kwargs[name] = bad
            valid = None
        elif draw(st.booleans()):
            kwargs[name] = draw(good)
    target = None
    if kind in LOSSES or draw(st.integers(0, 9)) == 9:
        target = draw(st.sampled_from(["good", "good", "good", "none", "wrong_shape"]))
    grad_output = draw(st.sampled_from([None, None, None, "good", "wrong_shape", "string"]))
    rng = draw(st.sampled_from([0, 0, 1, -1, "seed", 1.5]))
    return {"kind": kind, "x": x, "x_valid": x_valid, "kwargs": kwargs, "kwargs_valid": valid,
            "target": target, "grad_output": grad_output, "rng": rng}


def _target(kind, spec_target, shape, seed):
    if spec_target is None or spec_target == "none":
        return None
    rng = np.random.default_rng(seed)
    if kind == "ce":
        n, c = shape
        return rng.integers(0, c, n + (spec_target == "wrong_shape"))
    t = rng.standard_normal(shape)
    return t if spec_target == "good" else t[:, :1].T


@register("nf.gradcheck", gradcheck_case(),
          ("module", "x", "target", "grad_output", "eps", "rtol", "max_checks", "rng",
           "float64"), allowed=(AssertionError,))
def run_gradcheck(spec, ctx):
    build, shape, smooth = MODULES[spec["kind"]]
    nf.seed(3)
    module = build()
    x = make(spec["x"])
    is_loss = spec["kind"] in LOSSES
    target = _target(spec["kind"], spec["target"], shape, 5)
    go = spec["grad_output"]
    grad_output = None
    if go == "good":
        if spec["x_valid"] and smooth is not None and not is_loss:
            grad_output = np.ones(module.forward(native(x).astype(np.float64)).shape)
        else:
            grad_output = np.ones(shape)
    elif go == "wrong_shape":
        grad_output = np.ones((7, 7))
    elif go == "string":
        grad_output = "ones"
    valid = (spec["x_valid"] and spec["kwargs_valid"] and smooth is not None
             and spec["rng"] in (0, 1) and not isinstance(spec["rng"], float))
    if is_loss:
        valid = valid and spec["target"] == "good"
    elif spec["target"] is not None:
        valid = None   # a target makes gradcheck treat the layer as a loss
    if not is_loss and go in ("wrong_shape", "string") and valid:
        valid = False
    kwargs = dict(spec["kwargs"])
    errors = expect(lambda: nf.gradcheck(module, x, target=target, grad_output=grad_output,
                                         rng=spec["rng"], raise_on_failure=bool(smooth),
                                         **kwargs),
                    valid, f"gradcheck({spec['kind']})")
    if not valid:
        return
    if not isinstance(errors, dict) or not errors:
        raise Garbage(f"gradcheck returned {errors!r}, not a dict of errors")
    for name, err in errors.items():
        if not isinstance(err, float) or not err >= 0:
            raise Garbage(f"gradcheck error for {name} is {err!r}")


# -- global settings ------------------------------------------------------------------
@st.composite
def settings_case(draw):
    which = draw(st.sampled_from(["threads", "threads", "backend", "use_backend", "seed",
                                  "deterministic"]))
    if which == "threads":
        value = draw(st.one_of(st.integers(1, 4), st.sampled_from([2**31, 2**63, 2**64,
                                                                   np.int64(2)]), bad_ints()))
    elif which in ("backend", "use_backend"):
        value = draw(st.sampled_from(["fast", "reference", "FAST", "", None, 1, b"fast",
                                      np.str_("reference"), np.array("fast"), ["fast"],
                                      "reference "]))
    elif which == "seed":
        value = draw(st.one_of(st.integers(0, 2**64), bad_ints()))
    else:
        value = draw(st.sampled_from([True, False, np.bool_(True), 1, "yes", None]))
    return {"which": which, "value": value, "seed": draw(seeds)}


def _check_compute(seed):
    """A Linear forward equals NumPy's x @ w.T + b."""
    layer = nf.layers.Linear(5, 3, dtype=np.float64, rng=seed)
    x = np.random.default_rng(seed).standard_normal((7, 5))
    out = layer.forward(x)
    want = x @ layer.weight.value.T + layer.bias.value
    if not np.allclose(out, want, rtol=1e-10, atol=1e-12):
        raise Garbage("a Linear forward is wrong after the setting changed")


@register("nf.settings", settings_case(),
          ("n", "backend", "name", "seed", "enabled", "parts"))
def run_settings(spec, ctx):
    which, value = spec["which"], spec["value"]
    if which == "threads":
        expect(lambda: nf.set_num_threads(value), valid_int(value, 1), f"set_num_threads({value!r})")
        n = nf.get_num_threads()
        if not isinstance(n, int) or n < 1:
            raise Garbage(f"get_num_threads() is {n!r}")
    elif which in ("backend", "use_backend"):
        valid = isinstance(value, str) and value in ("fast", "reference")
        if which == "backend":
            expect(lambda: nf.set_backend(value), valid, f"set_backend({value!r})")
        else:
            def use():
                with nf.use_backend(value):
                    _check_compute(spec["seed"])
            expect(use, valid, f"use_backend({value!r})")
        if nf.get_backend() not in ("fast", "reference") or type(nf.get_backend()) is not str:
            raise Garbage(f"get_backend() is {nf.get_backend()!r}")
    elif which == "seed":
        expect(lambda: nf.seed(value), valid_int(value, 0), f"seed({value!r})")
    else:
        valid = isinstance(value, (bool, np.bool_))
        expect(lambda: nf.set_deterministic(value), valid, f"set_deterministic({value!r})")
    _check_compute(spec["seed"])
