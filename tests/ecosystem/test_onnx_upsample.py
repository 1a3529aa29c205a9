"""ONNX and Upsample: export as Resize (the attributes PyTorch's exporter
writes), checked in ONNX Runtime; load of nnfast's exports, of PyTorch's and
of hand-made Resize and Upsample nodes; what cannot be exact is named."""
import numpy as np
import pytest

import nnfast as nf

onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
from onnx import helper  # noqa: E402

from test_onnx_export import run_onnxruntime  # noqa: E402
from test_onnx_load import make_graph, torch_export  # noqa: E402

L = nf.layers

# (layers, one sample's input shape)
MODELS = {
    "nearest-2": ([L.Upsample(2)], (3, 5, 6)),
    "nearest-fractional": ([L.Upsample((1.5, 2.5)), L.Upsample((0.5, 0.75))], (2, 7, 8)),
    "nearest-shrink": ([L.Upsample(0.7)], (1, 10, 10)),          # 0.7 is not a float32
    "nearest-copy-and-halve": ([L.Upsample((1.1, 2.01))], (2, 5, 9)),
    "bilinear": ([L.Upsample((2, 1.5), mode="bilinear")], (2, 7, 7)),
    "bilinear-shrink": ([L.Upsample(0.6, mode="bilinear")], (2, 9, 7)),
    "bilinear-align": ([L.Upsample(1.7, mode="bilinear", align_corners=True)], (2, 5, 9)),
    "bilinear-copy": ([L.Upsample(1.1, mode="bilinear")], (1, 5, 5)),
    "conv-up-conv": ([L.Conv2D(2, 4, 3, padding=1), L.ReLU(), L.Upsample(2, mode="bilinear"),
                      L.Conv2D(4, 3, 3, stride=2), L.Upsample(3), L.Tanh()], (2, 6, 6)),
}
# float32 scales that nnfast writes and reads back exactly
EXACT = {"nearest-2", "nearest-fractional", "bilinear", "bilinear-shrink", "conv-up-conv"}


def build(name, dtype=np.float32):
    nf.seed(3)
    layers, shape = MODELS[name]
    model = nf.Sequential([type(layer)(**{k: tuple(v) if isinstance(v, list) else v
                                          for k, v in layer.config().items()})
                           for layer in layers])
    return model.astype(dtype) if dtype is not np.float32 else model, shape


@pytest.mark.parametrize("n_samples", [1, 7])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_upsample_exports_and_runs_in_onnxruntime(tmp_path, name, n_samples):
    model, shape = build(name)
    proto = nf.onnx.export(model, tmp_path / "m.onnx", shape)
    resizes = [n for n in proto.graph.node if n.op_type == "Resize"]
    assert len(resizes) == sum(isinstance(layer, L.Upsample) for layer in model)
    x = np.random.default_rng(n_samples).random((n_samples,) + shape, dtype=np.float32)
    out = run_onnxruntime(tmp_path / "m.onnx", x)
    expected = model.predict(x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_upsample_exports_load_back(tmp_path, name):
    model, shape = build(name)
    nf.onnx.export(model, tmp_path / "m.onnx", shape)
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    assert [type(layer) for layer in loaded] == [type(layer) for layer in model]
    for a, b in zip(loaded, model):
        if isinstance(a, L.Upsample):
            assert (a.mode, a.align_corners) == (b.mode, b.align_corners)
    x = np.random.default_rng(0).random((4,) + shape, dtype=np.float32)
    if name in EXACT:
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    else:  # the float32 scale written: what ONNX Runtime computes too
        np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=0, atol=1e-5)


def test_resize_attributes_are_pytorchs():
    from nnfast.onnx.export import build as build_proto
    model, shape = build("conv-up-conv")
    proto = build_proto(model, shape)
    attrs = [{a.name: helper.get_attribute_value(a) for a in n.attribute}
             for n in proto.graph.node if n.op_type == "Resize"]
    assert attrs == [{"mode": b"linear", "coordinate_transformation_mode": b"half_pixel"},
                     {"mode": b"nearest", "coordinate_transformation_mode": b"asymmetric",
                      "nearest_mode": b"floor"}]
    scales = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer
              if t.name.endswith("scales")}
    assert {k: v.tolist() for k, v in scales.items()} == {"2.scales": [1, 1, 2, 2],
                                                         "4.scales": [1, 1, 3, 3]}


def test_float64_upsample_exports_as_double_and_loads_back(tmp_path):
    model, shape = build("conv-up-conv", np.float64)
    proto = nf.onnx.export(model, tmp_path / "m.onnx", shape)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    x = np.random.default_rng(0).random((3,) + shape)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_a_scale_no_float32_makes_exact_is_refused(tmp_path):
    # 21 / 4.2 is 5, but 21 / float32(4.2 or a neighbour big enough to give
    # 10 * scale = 42) is just under it: Resize would pick another pixel
    model = nf.Sequential([L.Upsample(4.2)])
    with pytest.raises(ValueError, match=r"cannot export Upsample\(scale_factor=\[4.2, 4.2\], "
                                         r"mode='nearest'\) \(at 0\) to ONNX for an input height "
                                         r"of 10: no float32 scale"):
        nf.onnx.export(model, tmp_path / "m.onnx", (1, 10, 10))
    nf.onnx.export(model, tmp_path / "m.onnx", (1, 5, 5))   # other sizes can be


@pytest.mark.parametrize("dynamic", [True, False])
def test_torch_upsample_loads_and_gives_torchs_outputs(tmp_path, torch, dynamic):
    nn = torch.nn
    module = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Upsample(scale_factor=2),
                           nn.Upsample(scale_factor=(1.5, 2), mode="bilinear"),
                           nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
                           nn.Upsample(scale_factor=0.5, mode="bilinear")).eval()
    example = torch.randn(1, 2, 5, 6)
    torch_export(torch, module, tmp_path / "t.onnx", example, dynamic)
    loaded = nf.onnx.load(tmp_path / "t.onnx")
    assert [type(layer).__name__ for layer in loaded] == ["Conv2D"] + ["Upsample"] * 4
    assert [(u.mode, u.align_corners) for u in loaded.layers[1:]] == [
        ("nearest", False), ("bilinear", False), ("bilinear", True), ("bilinear", False)]
    x = np.random.default_rng(0).standard_normal((1 if not dynamic else 3, 2, 5, 6))
    x = x.astype(np.float32)
    with torch.no_grad():
        expected = module(torch.tensor(x)).numpy()
    np.testing.assert_allclose(loaded.predict(x), expected, rtol=1e-5, atol=1e-5)


def resize(inputs, **attributes):
    return helper.make_node("Resize", inputs, ["y"], **attributes)


SCALES = {"r": np.zeros(0, np.float32), "s": np.array([1, 1, 2, 3], np.float32)}


@pytest.mark.parametrize("node, inits, opset, expected", [  # input (2, 3, 4, 5)
    (resize(["x", "r", "s"], mode="nearest", coordinate_transformation_mode="asymmetric",
            nearest_mode="floor"), SCALES, 17, ((2, 3), "nearest", False)),
    (resize(["x", "", "s"], mode="linear"), SCALES, 13, ((2, 3), "bilinear", False)),
    (resize(["x", "", "s"], mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
     SCALES, 13, ((2, 3), "bilinear", False)),
    (resize(["x", "", "", "z"], mode="linear", coordinate_transformation_mode="align_corners"),
     {"z": np.array([2, 3, 8, 15], np.int64)}, 13, ((2, 3), "bilinear", True)),
    (resize(["x", "", "", "z"], mode="nearest", coordinate_transformation_mode="asymmetric",
            nearest_mode="floor"), {"z": np.array([2, 3, 4, 10], np.int64)}, 13,
     ((1, 2), "nearest", False)),
    (resize(["x", "", "s"], mode="linear", axes=[2, 3]), {"s": np.array([2, 3], np.float32)},
     18, ((2, 3), "bilinear", False)),
    (resize(["x", "s"], mode="nearest"), SCALES, 10, ((2, 3), "nearest", False)),
    (helper.make_node("Upsample", ["x", "s"], ["y"]), SCALES, 9, ((2, 3), "nearest", False)),
    (helper.make_node("Upsample", ["x"], ["y"], scales=[1.0, 1.0, 2.0, 3.0]), {}, 7,
     ((2, 3), "nearest", False)),
])
def test_hand_made_resize_nodes_load(node, inits, opset, expected):
    proto = make_graph([node], [2, 3, 4, 5], None, inits, opset=opset)
    proto.ir_version = 3 if opset < 9 else 8
    (layer,) = nf.onnx.load(proto)
    assert (layer.scale_factor, layer.mode, layer.align_corners) == expected
    x = np.random.default_rng(1).random((2, 3, 4, 5), dtype=np.float32)
    if opset >= 10:
        np.testing.assert_allclose(run_ort(proto, x), layer.forward(x), rtol=0, atol=1e-5)


def run_ort(proto, x):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("node, inits, shape, opset, match", [
    (resize(["x", "", "s"], mode="cubic"), SCALES, ["N", 3, 4, 5], 13,
     r"mode='cubic' has no Upsample form"),
    (resize(["x", "", "s"], mode="nearest"), SCALES, ["N", 3, 4, 5], 13,
     r"nearest with coordinate_transformation_mode='half_pixel' and "
     r"nearest_mode='round_prefer_floor' has no Upsample form"),
    (resize(["x", "", "s"], mode="linear", coordinate_transformation_mode="asymmetric"), SCALES,
     ["N", 3, 4, 5], 13, r"linear with coordinate_transformation_mode='asymmetric' has no "
                         r"Upsample form"),
    (resize(["x", "", "s"], mode="linear"), {"s": np.array([1, 2, 2, 2], np.float32)},
     ["N", 3, 4, 5], 13, r"resize the batch or the channels"),
    (resize(["x", "", "s"], mode="linear", antialias=1), SCALES, ["N", 3, 4, 5], 18,
     r"antialias=1"),
    (resize(["x", "", "s"], mode="linear"), {"s": np.array([1, 1, 2], np.float32)},
     ["N", 3, 4, 5], 13, r"must have 4 values"),
    (resize(["x", "", "s"], mode="linear"), {"s": np.array([1, 1, 0, 2], np.float32)},
     ["N", 3, 4, 5], 13, r"must be positive"),
    (resize(["x"], mode="linear"), {}, ["N", 3, 4, 5], 13, r"neither scales nor sizes"),
    (resize(["x", "", "", "z"], mode="linear"), {"z": np.array([1, 3, 8, 15], np.int64)},
     ["N", 3, None, None], 13, r"the graph does not fix the input's"),
    (resize(["x", "", "", "z"], mode="linear"), {"z": np.array([1, 3, 8, 15], np.int64)},
     ["N", 3, 4, 5], 13, r"its sizes \[1, 3, 8, 15\] resize the batch \(of size batch\)"),
    (resize(["x", "", "", "z"], mode="linear"), {"z": np.array([2, 4, 8, 15], np.int64)},
     [2, 3, 4, 5], 13, r"resize the batch \(of size 2\) or the channels \(3\)"),
    (resize(["x", "", "s"], mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
     {"s": np.array([1, 1, 0.25, 1], np.float32)}, ["N", 3, None, None], 13,
     r"pytorch_half_pixel with an output axis that may have size 1"),
    (resize(["x", "", "s"], mode="linear"), {"s": np.array([1, 1, 1.1, 1], np.float32)},
     ["N", 3, 4, 5], 13, r"along the height \(4 -> 4\) Upsample's source pixels differ"),
    (resize(["x", "", "s"], mode="nearest", coordinate_transformation_mode="asymmetric",
            nearest_mode="floor"), {"s": np.array([1, 1, 0.1, 1], np.float32)},
     ["N", 3, 4, 5], 13, r"output height of floor\(4 \* 0.1.*must be >= 1"),
    (resize(["x", "s"], mode="nearest"), {"s": np.array([1, 1, 0.5, 1], np.float32)},
     ["N", 3, 4, 5], 10, r"Resize before opset 11 rounds down-sampled positions differently"),
    (helper.make_node("Upsample", ["x", "s"], ["y"], mode="linear"), SCALES, ["N", 3, 4, 5], 9,
     r"mode='linear': ONNX Upsample interpolates at asymmetric coordinates"),
    (resize(["x", "", "s"], mode="linear"), SCALES, ["N", 3, 4], 13,
     r"it resizes a rank-3 tensor"),
])
def test_resize_nodes_without_an_exact_upsample_are_named(node, inits, shape, opset, match):
    proto = make_graph([node], shape, None, inits, opset=opset)
    with pytest.raises(ValueError, match=match):
        nf.onnx.load(proto)
