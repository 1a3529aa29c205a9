"""``nnfast.onnx.export`` / ``nnfast.onnx.load`` (when onnx is installed).

Export: models of the exported layer kinds and of others (refused with a
TypeError), bad input shapes, opsets, input/output names and paths. A
valid export must load back (from the path, the bytes and the ModelProto)
into a model that predicts what the original predicts, and onnxruntime
(when installed) must compute the same on the file.

Load: crafted and corrupt files: truncated, random bytes, empty, a graph
with an operator nnfast has no layer for (refused naming the operator),
initializers of the wrong shape, dtype or missing, a raw buffer shorter
than its dims, extra outputs, an integer graph input, a node reading a
name nothing defines, a non-chain graph; missing files
(FileNotFoundError), folders and objects that are no path. Each must be
refused with ValueError/TypeError/OSError, never crash.
"""
import importlib.util
import os

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import seeds
from nnfast.fuzz.outcome import Garbage, WrongKind, check_equal, expect
from nnfast.fuzz.targets import register
from nnfast.fuzz.targets.model_tools import build_model as state_dict_model

HAS_ONNX = importlib.util.find_spec("onnx") is not None
HAS_ORT = importlib.util.find_spec("onnxruntime") is not None
MODELS = ("mlp", "cnn", "bn", "single", "softmax", "lstm", "bn2d")
SHAPES = ("good", "good", "good", "wrong", "empty", "zero", "none", "float", "huge")
PATHS = ("good",) * 6 + ("missing_dir", "dir", "none", "int")
OPSETS = (17, 17, 13, 18, 12, 0, 10**6, "17", None, 17.0)
CRAFTS = ("none",) * 8 + ("truncate", "garbage", "empty", "unsupported", "unsupported_first",
          "init_shape", "init_dtype", "init_missing", "raw_short", "two_outputs", "int_input",
          "unknown_input", "branch", "domain", "attr_bad", "no_nodes")
LOAD_FROM = ("path", "path", "bytes", "proto", "pathlike", "missing", "dir", "none", "int")
UNSUPPORTED = ("Celu", "Einsum", "Erf", "TopK", "NonMaxSuppression")


@st.composite
def onnx_case(draw):
    # at most one of the export's arguments is bad
    bad = draw(st.sampled_from([None] * 6 + ["shape", "opset", "names", "path", "model"]))
    return {"model": draw(st.sampled_from(MODELS if bad == "model" else MODELS[:-2] + MODELS[-1:])),
            "dtype": draw(st.sampled_from(["float32", "float64"])),
            "shape": draw(st.sampled_from(SHAPES[3:] if bad == "shape" else ("good",))),
            "opset": draw(st.sampled_from(OPSETS[4:] if bad == "opset" else OPSETS[:4])),
            "names": draw(st.sampled_from([("x", "x"), ("", "y"), (None, "y"), ("a", 3)]
                                          if bad == "names" else [("input", "output"),
                                                                  ("data", "probs")])),
            "path": draw(st.sampled_from(PATHS[6:] if bad == "path" else ("good",))),
            "craft": draw(st.sampled_from(CRAFTS)),
            "load_from": draw(st.sampled_from(LOAD_FROM)),
            "op": draw(st.sampled_from(UNSUPPORTED)), "fraction": draw(st.floats(0, 1)),
            "seed": draw(seeds)}


def build_model(kind, dtype):
    dt = np.dtype(dtype).type
    L = nf.layers
    if kind == "cnn":
        return nf.Sequential([L.Conv2D(1, 2, 3, padding=1, dtype=dt), L.ReLU(), L.MaxPool2D(2),
                              L.Flatten(), L.Linear(8, 3, dtype=dt), L.LogSoftmax()])
    if kind == "bn":
        return nf.Sequential([L.Linear(3, 4, dtype=dt), L.BatchNorm1D(4, dtype=dt), L.Tanh()])
    if kind == "bn2d":
        return nf.Sequential([L.Conv2D(1, 2, 1, dtype=dt), L.BatchNorm2D(2, dtype=dt),
                              L.AvgPool2D(2), L.Flatten()])
    if kind == "softmax":
        return nf.Sequential([L.Linear(3, 3, dtype=dt), L.PReLU(3, dtype=dt), L.LeakyReLU(0.1),
                              L.Sigmoid(), L.Dropout(0.2), L.Softmax()])
    if kind == "lstm":
        # a layer without a converter (named for the recurrent layers, which
        # another change is giving converters): refused with a TypeError
        return nf.Sequential([L.Linear(3, 3, dtype=dt), _NotExportable()])
    return state_dict_model(kind, dtype)   # "mlp" and "single", as the state_dict target's


class _NotExportable(nf.layers.ReLU):
    """A layer class of the user's with no ONNX converter."""


def _sample_shape(kind):
    return (1, 4, 4) if kind in ("cnn", "bn2d") else (3,)


def _input_shape(spec):
    good = _sample_shape(spec["model"])
    return {"good": (good, True), "wrong": (good + (2,), False), "empty": ((), False),
            "zero": ((0,) + good[1:], False), "none": (None, False),
            "float": (tuple(float(v) for v in good), False),
            "huge": ((2**40,) + good[1:], False)}[spec["shape"]]


def _path(ctx, kind):
    if kind == "good":
        return ctx.path("model.onnx")
    if kind == "missing_dir":
        return ctx.path(os.path.join("nope", "model.onnx"))
    if kind == "dir":
        os.mkdir(ctx.path("folder"))
        return ctx.path("folder")
    return {"none": None, "int": 3}[kind]


def _opset_valid(opset):
    import onnx
    newest = onnx.defs.onnx_opset_version()
    return isinstance(opset, int) and not isinstance(opset, bool) and 13 <= opset <= newest


@register("nnfast.onnx.export/load", onnx_case(),
          ("model", "path", "input_shape", "opset", "input_name", "output_name"), paths=True,
          weight=2.5, hidden=not HAS_ONNX)
def run_onnx(spec, ctx):
    if not HAS_ONNX:
        return
    import nnfast.onnx as nx
    rng = np.random.default_rng(spec["seed"])
    nf.seed(spec["seed"] % 2**31)
    model = build_model(spec["model"], spec["dtype"])
    if spec["model"] in ("bn", "bn2d"):
        # running statistics worth exporting
        model.forward(rng.standard_normal((4,) + _sample_shape(spec["model"]))
                      .astype(spec["dtype"]))
    shape, shape_ok = _input_shape(spec)
    path = _path(ctx, spec["path"])
    input_name, output_name = spec["names"]
    names_ok = (input_name, output_name) in (("input", "output"), ("data", "probs"))
    valid = (shape_ok and _opset_valid(spec["opset"]) and names_ok and spec["path"] == "good"
             and spec["model"] != "lstm")
    was_training = model.training
    expect(lambda: nx.export(model, path, shape, opset=spec["opset"], input_name=input_name,
                             output_name=output_name), valid,
           f"export({spec['model']}, {spec['path']}, {shape}, opset={spec['opset']!r}, "
           f"names={spec['names']})")
    if model.training != was_training:
        raise Garbage("export changed the model's train/eval mode")
    if not valid:
        return
    x = rng.standard_normal((2,) + _sample_shape(spec["model"])).astype(spec["dtype"])
    model.eval()
    want = model.forward(x).copy()
    load_valid = _craft(path, spec)
    source, source_ok = _source(ctx, path, spec["load_from"])
    if spec["load_from"] == "missing":
        try:
            nx.load(source)
        except FileNotFoundError:
            raise
        except Exception as e:
            raise WrongKind(f"nf.onnx.load of a missing file raised {type(e).__name__}, not "
                            f"FileNotFoundError: {e}") from e
        raise Garbage("nf.onnx.load of a missing file returned")
    ok = load_valid and source_ok
    try:
        loaded = expect(lambda: nx.load(source), ok if load_valid is not None or not source_ok
                        else None,
                        f"load({spec['craft']} from {spec['load_from']})")
    except ValueError as e:
        if spec["craft"] in ("unsupported", "unsupported_first") and source_ok \
                and spec["op"] not in str(e):
            raise Garbage(f"a graph with {spec['op']!r} was refused without naming it: "
                          f"{e}") from None
        raise
    if not source_ok or load_valid is False:
        return
    if spec["craft"] not in ("none", "truncate"):
        return
    loaded.eval()
    got = loaded.forward(x)
    tol = 1e-4 if spec["dtype"] == "float32" else 1e-10
    check_equal(got, want, "a loaded model's predictions vs the exported model's", rtol=tol,
                atol=tol * max(1.0, float(np.max(np.abs(want)))))
    if HAS_ORT and spec["dtype"] == "float32" and spec["craft"] == "none":
        # (onnxruntime has no double Conv)
        import onnxruntime as ort
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {input_name: x})
        check_equal(out, want, "onnxruntime on the exported file vs nnfast", rtol=tol * 10,
                    atol=tol * 10 * max(1.0, float(np.max(np.abs(want)))))


def _source(ctx, path, kind):
    """(what load receives, whether it is a valid source)."""
    import pathlib

    import onnx
    if kind == "path":
        return path, True
    if kind == "pathlike":
        return pathlib.Path(path), True
    if kind == "bytes":
        with open(path, "rb") as f:
            return f.read(), True
    if kind == "proto":
        try:
            return onnx.load(path), True
        except Exception:   # a corrupt file cannot become a ModelProto: read its bytes
            with open(path, "rb") as f:
                return f.read(), True
    if kind == "missing":
        return ctx.path("missing.onnx"), False
    if kind == "dir":
        return ctx.tmpdir, False
    return {"none": None, "int": 3}[kind], False


def _craft(path, spec):
    """Damage or rewrite the exported file; whether it must still load
    (True), must not (False) or either (None)."""
    import onnx
    from onnx import TensorProto, helper
    craft = spec["craft"]
    if craft == "none":
        return True
    with open(path, "rb") as f:
        data = f.read()
    rng = np.random.default_rng(spec["seed"])
    if craft in ("truncate", "garbage", "empty"):
        if craft == "truncate":
            data = data[:int(spec["fraction"] * (len(data) - 1))]
        elif craft == "garbage":
            data = rng.integers(0, 256, max(1, len(data) // 2), dtype=np.uint8).tobytes()
        else:
            data = b""
        with open(path, "wb") as f:
            f.write(data)
        # a protobuf cut at a field boundary is a valid (shorter) message:
        # a truncated file may load, and must then predict what the model does
        return None if craft == "truncate" else False
    proto = onnx.load(path)
    g = proto.graph
    nodes = list(g.node)
    layer_nodes = [n for n in nodes if n.op_type not in ("Constant", "Shape", "Gather",
                                                         "Unsqueeze", "Concat")]
    valid = False
    if craft in ("unsupported", "unsupported_first"):
        node = layer_nodes[0] if craft == "unsupported_first" else layer_nodes[-1]
        node.op_type = spec["op"]
        del node.attribute[:]
    elif craft in ("init_shape", "init_dtype", "init_missing", "raw_short"):
        init = next((t for t in g.initializer if len(t.dims) >= 1), None)
        if init is None:
            return True
        if craft == "init_shape":
            dims = list(init.dims)
            values = np.ones([d + 1 for d in dims], dtype=np.float32 if init.data_type ==
                             TensorProto.FLOAT else np.float64)
            new = onnx.numpy_helper.from_array(values, init.name)
            init.CopyFrom(new)
        elif craft == "init_dtype":
            values = onnx.numpy_helper.to_array(init).astype(np.int64)
            init.CopyFrom(onnx.numpy_helper.from_array(values, init.name))
        elif craft == "init_missing":
            g.initializer.remove(init)
        else:
            raw = init.raw_data
            if not raw:
                return True
            init.raw_data = raw[: len(raw) // 2]
    elif craft == "two_outputs":
        g.output.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, [None]))
    elif craft == "int_input":
        g.input[0].type.tensor_type.elem_type = TensorProto.INT64
    elif craft == "unknown_input":
        layer_nodes[-1].input[0] = "nothing_defines_this"
    elif craft == "branch":
        if len(layer_nodes) < 2:
            return True
        first = layer_nodes[0]
        add = helper.make_node("Add", [first.output[0], g.input[0].name], ["branch_out"])
        g.node.append(add)
        g.output[0].name = "branch_out"
    elif craft == "domain":
        layer_nodes[0].domain = "com.example"
        proto.opset_import.append(helper.make_opsetid("com.example", 1))
    elif craft == "attr_bad":
        node = layer_nodes[0]
        node.attribute.append(helper.make_attribute("bogus_attribute", 3))
        valid = None     # an importer may ignore attributes it does not read
    elif craft == "no_nodes":
        del g.node[:]
        valid = None     # the identity when the input is the output; refused otherwise
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    return valid
