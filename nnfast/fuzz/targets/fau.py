"""``nnfast.fau``, the teaching framework's interface: FullyConnected, Conv,
Pooling, ReLU, SoftMax, Flatten (forward, backward, assigned weights, an
optimizer), the initializers, CrossEntropyLoss, the optimizers'
``calculate_update`` and NeuralNetwork's ``train`` / ``test``, with good and
bad arguments. Valid calls must give results of the documented shape,
finite for moderate input and equal on the reference kernels."""
import math

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fau.Layers import Conv, Flatten, FullyConnected, Initializers, Pooling, ReLU, SoftMax
from nnfast.fau.Optimization import Loss, Optimizers
from nnfast.fau import NeuralNetwork as NeuralNetworkModule
from nnfast.fuzz.inputs import (Arr, bad_floats, bad_ints, finite_real, input_array, make,
                                not_arrays, seeds, threads, valid_int)
from nnfast.fuzz.outcome import Garbage, check_array, expect
from nnfast.fuzz.targets import register
from nnfast.fuzz.targets._steps import native

LAYER_KINDS = ("FullyConnected", "Conv1D", "Conv2D", "Pooling", "ReLU", "SoftMax", "Flatten")
OPTIMIZER_KINDS = (None, None, "Sgd", "SgdWithMomentum", "Adam", "not_an_optimizer")
_BAD_SHAPES = [0, -1, (1, 2, 3), (0, 1), "3", None, 1.5, (), True, (1.5,), 2**31]
BAD_ARGS = {"stride_shape": st.sampled_from(_BAD_SHAPES),
            "pooling_shape": st.sampled_from(_BAD_SHAPES + [(2**31 - 1, 2**31 - 1)]),
            "convolution_shape": st.sampled_from([(1, 2, 3, 4), (0, 1), (1,), "3", None, (),
                                                  (2**31 - 1, 2**31 - 1, 2), (1, 2**40)])}




def _valid_int(v, low=1):
    """An int (no bool) in [low, 2**31 - 1): the course's sizes and counts."""
    return valid_int(v, low, 2**31 - 2)


@st.composite
def fau_layer_case(draw):
    kind = draw(st.sampled_from(LAYER_KINDS))
    args, args_valid = {}, True
    if kind == "FullyConnected":
        args = {"input_size": draw(st.integers(1, 5)), "output_size": draw(st.integers(1, 5))}
        shape = (draw(st.integers(1, 4)), args["input_size"])
        bad_shapes = [(), shape[:1], (shape[0], shape[1] + 1), (0, shape[1])]
    elif kind.startswith("Conv"):
        c, m = draw(st.integers(1, 2)), draw(st.integers(1, 3))
        conv = (c, m) if kind == "Conv1D" else (c, m, draw(st.integers(1, 3)))
        stride = draw(st.sampled_from([1, 2, (1,), (2,), (1, 2)] if kind == "Conv2D"
                                      else [1, 2, (1,), (2,)]))
        args = {"stride_shape": stride, "convolution_shape": conv,
                "num_kernels": draw(st.integers(1, 3))}
        spatial = tuple(draw(st.integers(1, 5)) for _ in conv[1:])
        shape = (draw(st.integers(1, 3)), c) + spatial
        bad_shapes = [(), shape[:-1], shape[:1] + (c + 1,) + shape[2:], (0,) + shape[1:]]
    elif kind == "Pooling":
        pool = draw(st.sampled_from([1, 2, (2, 1), (2, 3)]))
        args = {"stride_shape": draw(st.sampled_from([1, 2, (1, 2)])), "pooling_shape": pool}
        ph, pw = (pool, pool) if isinstance(pool, int) else pool
        shape = (draw(st.integers(1, 3)), draw(st.integers(1, 2)),
                 ph + draw(st.integers(0, 3)), pw + draw(st.integers(0, 3)))
        bad_shapes = [(), shape[:3], (0,) + shape[1:]]
    else:
        ndim = 2 if kind == "SoftMax" else draw(st.integers(2 if kind == "Flatten" else 1, 4))
        shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
        bad_shapes = [(), (0,) + shape[1:]] + ([shape[:1]] if kind != "ReLU" else [])
    if args and draw(st.integers(0, 3)) == 3:
        name = draw(st.sampled_from(sorted(args)))
        args[name] = draw(BAD_ARGS.get(name, bad_ints()))
        args_valid = False
    r = draw(st.integers(0, 9))
    if r <= 6:
        x = draw(input_array(shape))
        x_valid = x.real
    elif r <= 8:
        x, x_valid = draw(input_array(draw(st.sampled_from(bad_shapes)))), False
    else:
        x, x_valid = draw(not_arrays), False
    weights = draw(st.sampled_from([None] * 6 + ["transposed", "float32", "none", "list",
                                                 "wrong_size", "int"]))
    return {"kind": kind, "args": args, "args_valid": args_valid, "x": x, "x_valid": x_valid,
            "optimizer": draw(st.sampled_from(OPTIMIZER_KINDS)),
            "weights": weights if kind in ("FullyConnected", "Conv1D", "Conv2D") else None,
            "initialize": draw(st.sampled_from([None, None, "Constant", "UniformRandom",
                                                "Xavier", "He", "bad_initializer"])),
            "error": draw(st.sampled_from(["same", "same", "same", "wrong_shape", "none",
                                           "before_forward"])),
            "seed": draw(seeds), "threads": draw(threads)}


def _build(spec):
    kind, args = spec["kind"], spec["args"]
    if kind == "FullyConnected":
        return FullyConnected.FullyConnected(**args)
    if kind.startswith("Conv"):
        return Conv.Conv(**args)
    if kind == "Pooling":
        return Pooling.Pooling(**args)
    return {"ReLU": ReLU.ReLU, "SoftMax": SoftMax.SoftMax, "Flatten": Flatten.Flatten}[kind]()


def _optimizer(kind):
    if kind is None:
        return None
    return {"Sgd": lambda: Optimizers.Sgd(0.1),
            "SgdWithMomentum": lambda: Optimizers.SgdWithMomentum(0.1, 0.9),
            "Adam": lambda: Optimizers.Adam(0.01, 0.9, 0.999),
            "not_an_optimizer": lambda: "sgd"}[kind]()


class _BadInitializer:
    def initialize(self, weights_shape, fan_in, fan_out):
        return np.ones((1, 2, 3))


def _initializer(kind):
    if kind == "bad_initializer":
        return _BadInitializer()
    if kind == "Constant":
        return Initializers.Constant(0.1)
    return getattr(Initializers, kind)()


def _assign_weights(layer, kind):
    w = np.asarray(layer.weights)
    if kind == "transposed":
        layer.weights = w.T.copy() if w.ndim == 2 and w.shape[0] != w.shape[1] else np.ones(
            w.shape + (1,))
        return False
    if kind == "float32":
        layer.weights = w.astype(np.float32)
        return True
    if kind == "none":
        layer.weights = None
        return False
    if kind == "list":
        layer.weights = w.tolist()
        return True
    if kind == "int":
        layer.weights = np.ones(w.shape, dtype=np.int64)
        return True
    layer.weights = np.ones(w.size + 1)
    return False


def _run_layer(spec, x, backend="fast"):
    """(output, error below, gradient_weights) of one forward and backward."""
    with nf.use_backend(backend):
        np.random.seed(spec["seed"] % 2**32)
        layer = _build(spec)
        if spec["initialize"] is not None and getattr(layer, "trainable", False):
            layer.initialize(_initializer(spec["initialize"]), Initializers.Constant(0.1))
        if spec["weights"] is not None:
            _assign_weights(layer, spec["weights"])
        if spec["optimizer"] is not None and getattr(layer, "trainable", False):
            layer.optimizer = _optimizer(spec["optimizer"])
        if spec["error"] == "before_forward":
            layer.backward(np.ones(3))
            return None
        out = layer.forward(x)
        out = np.array(out, copy=True)
        error = np.random.default_rng(spec["seed"]).standard_normal(out.shape)
        if spec["error"] == "wrong_shape":
            error = np.ones(out.shape + (2,))
        elif spec["error"] == "none":
            error = None
        below = layer.backward(error)
        grad_w = getattr(layer, "gradient_weights", None)
        return out, np.array(below, copy=True), (None if grad_w is None else np.array(grad_w))


def _expected_out_shape(spec, x_shape):
    kind, args = spec["kind"], spec["args"]
    if kind == "FullyConnected":
        return (x_shape[0], args["output_size"])
    if kind.startswith("Conv"):
        strides = args["stride_shape"]
        strides = (strides,) if isinstance(strides, int) else tuple(strides)
        if len(strides) == 1:
            strides = strides * (len(x_shape) - 2)
        return (x_shape[0], args["num_kernels"]) + tuple(
            -(-e // s) for e, s in zip(x_shape[2:], strides))
    if kind == "Pooling":
        ps, ss = args["pooling_shape"], args["stride_shape"]
        ps = (ps, ps) if isinstance(ps, int) else ps
        ss = (ss, ss) if isinstance(ss, int) else ss
        return x_shape[:2] + tuple((e - p) // s + 1 for e, p, s in zip(x_shape[2:], ps, ss))
    if kind == "Flatten":
        return (x_shape[0], math.prod(x_shape[1:]))
    return x_shape


@register("nnfast.fau.Layers", fau_layer_case(),
          ("input_size", "output_size", "stride_shape", "convolution_shape", "num_kernels",
           "pooling_shape", "input_tensor", "error_tensor", "weights", "bias", "optimizer",
           "weights_initializer", "bias_initializer", "backward", "forward", "weights_shape"),
          weight=3.0)
def run_fau_layer(spec, ctx):
    x = make(spec["x"])
    layer = expect(lambda: _build(spec), True if spec["args_valid"] else None, "construction")
    weights_ok = True
    if spec["weights"] is not None:
        weights_ok = spec["weights"] in ("float32", "list", "int")
    trainable = spec["kind"] in ("FullyConnected", "Conv1D", "Conv2D")
    valid = (spec["args_valid"] and spec["x_valid"] and weights_ok and spec["error"] == "same"
             and not (trainable and spec["initialize"] == "bad_initializer")
             and not (trainable and spec["optimizer"] == "not_an_optimizer"))
    if not spec["args_valid"]:
        valid = False
    del layer
    result = expect(lambda: _run_layer(spec, x), valid,
                    f"{spec['kind']} (weights {spec['weights']}, error {spec['error']}, "
                    f"initialize {spec['initialize']}, optimizer {spec['optimizer']})")
    if not valid:
        return
    out, below, grad_w = result
    xn = native(x)
    check_array(out, f"{spec['kind']}.forward", _expected_out_shape(spec, xn.shape),
                finite=spec["x"].moderate)
    check_array(below, f"{spec['kind']}.backward", xn.shape, finite=spec["x"].moderate)
    if spec["x"].moderate:
        ref = _run_layer(spec, x, backend="reference")
        for name, a, b in (("forward", out, ref[0]), ("backward", below, ref[1]),
                           ("gradient_weights", grad_w, ref[2])):
            if a is None:
                continue
            rtol = 1e-4 if a.dtype == np.float32 else 1e-9
            scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
            if not np.allclose(a, b, rtol=rtol, atol=rtol * scale):
                raise Garbage(f"fau {spec['kind']} {name}: fast and reference kernels differ")


# -- initializers, loss, optimizers, NeuralNetwork -------------------------------------
@st.composite
def fau_other_case(draw):
    which = draw(st.sampled_from(["initializer", "initializer", "loss", "loss", "optimizer",
                                  "optimizer", "network"]))
    spec = {"which": which, "seed": draw(seeds), "threads": draw(threads)}
    if which == "initializer":
        spec["init"] = draw(st.sampled_from(["Constant", "UniformRandom", "Xavier", "He"]))
        spec["value"] = draw(st.one_of(st.floats(-1, 1), bad_floats()))
        spec["shape"] = draw(st.one_of(
            st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
            st.sampled_from([(2**31 - 1, 2**31 - 1), (2**20, 2**20), (10**6, 10**6, 10**6),
                             (0,), (), (-1, 2), (2.5,), "3", None, 5])))
        spec["fans"] = draw(st.one_of(st.tuples(st.integers(1, 5), st.integers(1, 5)),
                                      st.tuples(bad_ints(), st.just(3))))
    elif which == "loss":
        n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        spec["pred"] = draw(st.one_of(input_array((n, c), kinds=("unit",)),
                                      input_array((n, c)), not_arrays))
        spec["labels"] = draw(st.sampled_from(["onehot", "onehot", "int", "bad_onehot",
                                               "out_of_range", "wrong_n", "none"]))
        spec["n"], spec["c"] = n, c
        spec["steps"] = draw(st.sampled_from(["fb", "fb", "b", "f"]))
    elif which == "optimizer":
        spec["opt"] = draw(st.sampled_from(["Sgd", "SgdWithMomentum", "Adam"]))
        spec["hyper"] = draw(st.one_of(st.just(None), st.just(None), bad_floats()))
        shape = tuple(draw(st.lists(st.integers(1, 3), max_size=3)))
        spec["weight"] = draw(st.one_of(input_array(shape), st.floats(-2, 2), not_arrays))
        spec["grad"] = draw(st.sampled_from(["same", "same", "scalar", "broadcast",
                                             "wrong_shape", "none", "nan"]))
        spec["updates"] = draw(st.integers(1, 3))
        spec["second_shape"] = draw(st.booleans())
    else:
        spec["iterations"] = draw(st.one_of(st.integers(0, 3), bad_ints(),
                                            st.sampled_from([10**6 + 1, 10**9])))
        spec["data_layer"] = draw(st.sampled_from(["good", "good", "none", "wrong_labels"]))
    return spec


def _labels(kind, n, c, seed):
    y = np.random.default_rng(seed).integers(0, c, n)
    if kind == "int":
        return y, True
    onehot = np.zeros((n, c))
    onehot[np.arange(n), y] = 1
    if kind == "onehot":
        return onehot, True
    if kind == "bad_onehot":
        onehot[0, :] = 1 if c > 1 else 2
        return onehot, False
    if kind == "out_of_range":
        y[0] = c
        return y, False
    if kind == "wrong_n":
        return onehot[:-1] if n > 1 else np.zeros((2, c)), False
    return None, False


class DataLayer:
    """A fixed batch, as the course's data layers give."""

    def __init__(self, kind, seed):
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((4, 3))
        y = rng.integers(0, 2, 4)
        self.y = np.eye(2)[y] if kind == "good" else np.eye(3)[y]

    def next(self):
        return self.x, self.y


@register("nnfast.fau.Optimization/NeuralNetwork", fau_other_case(),
          ("weights_shape", "fan_in", "fan_out", "value", "prediction_tensor", "label_tensor",
           "learning_rate", "momentum_rate", "mu", "rho", "weight_tensor", "gradient_tensor",
           "iterations", "data_layer", "loss_layer", "backward", "input_tensor",
           "error_tensor"), weight=2.0)
def run_fau_other(spec, ctx):
    which = spec["which"]
    if which == "initializer":
        _run_initializer(spec)
    elif which == "loss":
        _run_loss(spec)
    elif which == "optimizer":
        _run_optimizer(spec)
    else:
        _run_network(spec)


def _run_initializer(spec):
    name, value, shape, fans = spec["init"], spec["value"], spec["shape"], spec["fans"]
    ctor_ok = name != "Constant" or finite_real(value)
    init = expect(lambda: Initializers.Constant(value) if name == "Constant"
                  else getattr(Initializers, name)(), ctor_ok, f"{name}({value!r})")
    if not ctor_ok:
        return
    shape_ok = (isinstance(shape, tuple) and all(_valid_int(s, 0) for s in shape)
                and math.prod(shape) <= 10**6) or (_valid_int(shape, 0) and shape <= 10**6)
    fans_ok = all(valid_int(f) for f in fans)
    big = isinstance(shape, tuple) and all(_valid_int(s, 0) for s in shape) and \
        math.prod(shape) > 10**6
    valid = shape_ok and fans_ok
    w = expect(lambda: init.initialize(shape, *fans), valid if not big else False,
               f"{name}.initialize({shape!r}, {fans!r})")
    if not valid:
        return
    want = shape if isinstance(shape, tuple) else (shape,)
    check_array(w, f"{name}.initialize", want, np.float64, finite=True)


def _run_loss(spec):
    loss = Loss.CrossEntropyLoss()
    pred = make(spec["pred"])
    labels, labels_ok = _labels(spec["labels"], spec["n"], spec["c"], spec["seed"])
    pred_spec = spec["pred"]
    pred_ok = False
    if isinstance(pred_spec, Arr) and pred_spec.real:
        p = native(pred).astype(np.float64)
        pred_ok = bool(np.all(np.isfinite(p)) and np.all(p >= 0))
    if spec["steps"] == "b":
        expect(lambda: loss.backward(labels), False, "backward before forward")
        return
    valid = pred_ok and labels_ok
    value = expect(lambda: loss.forward(pred, labels), valid, "CrossEntropyLoss.forward")
    if not valid:
        return
    if type(value) is not float or not math.isfinite(value):
        raise Garbage(f"fau CrossEntropyLoss.forward returned {value!r}")
    if spec["steps"] == "fb":
        error = loss.backward(labels)
        check_array(error, "fau CrossEntropyLoss.backward", native(pred).shape, finite=True)


def _run_optimizer(spec):
    name, hyper = spec["opt"], spec["hyper"]
    args = {"Sgd": [0.1], "SgdWithMomentum": [0.1, 0.9], "Adam": [0.01, 0.9, 0.999]}[name]
    hyper_ok = True
    moderate_hyper = True
    if hyper is not None:
        args[0] = hyper
        hyper_ok = finite_real(hyper) and hyper >= 0
        moderate_hyper = hyper_ok and hyper <= 1e3
    opt = expect(lambda: getattr(Optimizers, name)(*args), hyper_ok, f"{name}{tuple(args)}")
    if not hyper_ok:
        return
    w = make(spec["weight"])
    w_spec = spec["weight"]
    w_ok = _real_array(w)
    shape = np.shape(native(w)) if w_ok else ()
    g_kind = spec["grad"]
    rng = np.random.default_rng(spec["seed"])
    g = {"same": rng.standard_normal(shape), "scalar": 0.5,
         "broadcast": rng.standard_normal(shape[-1:]) if shape else 0.5,
         "wrong_shape": np.ones(tuple(s + 1 for s in shape) + (2,)), "none": None,
         "nan": np.full(shape, np.nan)}[g_kind]
    valid = w_ok and g_kind in ("same", "scalar", "broadcast", "nan")
    out = w
    for _ in range(spec["updates"]):
        out = expect(lambda: opt.calculate_update(out, g), valid, f"{name}.calculate_update")
        if not valid:
            return
    scalar = np.ndim(w) == 0
    if scalar:
        if type(out) is not float:
            raise Garbage(f"{name}.calculate_update of a scalar returned {type(out).__name__}")
    else:
        check_array(out, f"{name}.calculate_update", shape,
                    finite=isinstance(w_spec, Arr) and w_spec.moderate and g_kind != "nan"
                    and moderate_hyper)
    if spec["second_shape"] and not scalar and np.size(out) > 0:
        # state kept for one shape: another shape must be refused, not mixed in
        other = np.ones(tuple(s + 1 for s in shape) + (1,))
        needs_state = name != "Sgd"
        expect(lambda: opt.calculate_update(other, np.ones(other.shape)),
               None if not needs_state else False, f"{name} with a second weight shape")


def _real_array(v):
    """Whether NumPy makes an array of real numbers of ``v``."""
    try:
        return np.asarray(v).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False


def _run_network(spec):
    net = NeuralNetworkModule.NeuralNetwork(Optimizers.Sgd(0.01), Initializers.He(),
                                            Initializers.Constant(0.1))
    net.append_layer(FullyConnected.FullyConnected(3, 4))
    net.append_layer(ReLU.ReLU())
    net.append_layer(FullyConnected.FullyConnected(4, 2))
    net.append_layer(SoftMax.SoftMax())
    net.loss_layer = Loss.CrossEntropyLoss()
    data = spec["data_layer"]
    net.data_layer = None if data == "none" else DataLayer(data, spec["seed"])
    iterations = spec["iterations"]
    it_ok = _valid_int(iterations, 0) and iterations <= 3
    valid = it_ok and (data == "good" or iterations == 0)
    if data == "none" and it_ok and iterations == 0:
        valid = True
    expect(lambda: net.train(iterations), valid, f"NeuralNetwork.train({iterations!r})")
    if not valid:
        return
    if len(net.loss) != iterations:
        raise Garbage(f"train({iterations}) recorded {len(net.loss)} losses")
    for value in net.loss:
        if not math.isfinite(value):
            raise Garbage(f"NeuralNetwork loss {value}")
    out = net.test(np.ones((2, 3)))
    check_array(out, "NeuralNetwork.test", (2, 2), finite=True)
