"""ONNX and ConvTranspose2D: export as ConvTranspose with a dynamic batch,
checked in ONNX Runtime; load of nnfast's exports, of PyTorch's and of
hand-made ConvTranspose nodes; what cannot be loaded is named."""
import numpy as np
import pytest

import nnfast as nf

onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
from onnx import helper  # noqa: E402

from test_onnx_export import run_onnxruntime  # noqa: E402
from test_onnx_load import make_graph, torch_export  # noqa: E402

L = nf.layers


def decoder(dtype=np.float32):
    """Conv down, transposed convs up: every ConvTranspose2D attribute used."""
    return nf.Sequential([
        L.Conv2D(2, 4, 3, stride=2, padding=1, dtype=dtype, rng=0), L.ReLU(),
        L.ConvTranspose2D(4, 3, 3, stride=2, padding=1, output_padding=1, dtype=dtype, rng=1),
        L.Tanh(),
        L.ConvTranspose2D(3, 3, (2, 3), stride=(1, 2), padding=(0, 1), output_padding=(0, 1),
                          bias=False, dtype=dtype, rng=2),
        L.ConvTranspose2D(3, 1, 3, stride=2, dilation=2, padding=1, output_padding=1, dtype=dtype,
                          rng=3),
        L.ConvTranspose2D(1, 2, 1, dtype=dtype, rng=4),
    ])


SHAPE = (2, 7, 6)


@pytest.mark.parametrize("n_samples", [1, 7])
def test_conv_transpose_exports_and_runs_in_onnxruntime(tmp_path, n_samples):
    model = decoder()
    proto = nf.onnx.export(model, tmp_path / "m.onnx", SHAPE)
    assert [n.op_type for n in proto.graph.node].count("ConvTranspose") == 4
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", *SHAPE]
    assert [t.name for t in proto.graph.initializer] == list(model.state_dict())
    x = np.random.default_rng(n_samples).random((n_samples,) + SHAPE, dtype=np.float32)
    out = run_onnxruntime(tmp_path / "m.onnx", x)
    expected = model.predict(x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


def test_float64_conv_transpose_exports_as_double(tmp_path):
    # (ONNX Runtime has no double Conv on the CPU: checked by loading back)
    model = decoder(np.float64)
    proto = nf.onnx.export(model, tmp_path / "m.onnx", SHAPE)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    assert loaded.layers[2].weight.dtype == np.float64
    x = np.random.default_rng(0).random((3,) + SHAPE)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_output_padding_beyond_stride_exports_into_the_end_pad(tmp_path):
    layer = L.ConvTranspose2D(2, 2, 3, padding=(2, 0), output_padding=(1, 0), dilation=2, rng=0)
    proto = nf.onnx.export(nf.Sequential(layer), tmp_path / "m.onnx", (2, 4, 4))
    attrs = {a.name: helper.get_attribute_value(a) for a in proto.graph.node[0].attribute}
    assert attrs["pads"] == [2, 0, 1, 0] and attrs["output_padding"] == [0, 0]
    x = np.random.default_rng(0).random((2, 2, 4, 4), dtype=np.float32)
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "m.onnx", x), layer.forward(x),
                               rtol=0, atol=1e-5)
    unpadded = L.ConvTranspose2D(2, 2, 3, output_padding=1, dilation=2)
    with pytest.raises(ValueError, match="output_padding 1 along the height is not smaller than its stride 1"):
        nf.onnx.export(nf.Sequential(unpadded), tmp_path / "n.onnx", (2, 4, 4))


def test_nnfast_export_loads_back_exactly(tmp_path):
    model = decoder()
    nf.onnx.export(model, tmp_path / "m.onnx", SHAPE)
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    assert repr(loaded) == repr(model)
    assert loaded.layers[4].bias is None
    x = np.random.default_rng(1).random((4,) + SHAPE, dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("dynamic", [True, False], ids=["dynamic-batch", "static-batch"])
def test_torch_conv_transpose_loads_and_gives_torchs_outputs(tmp_path, torch, dynamic):
    nn = torch.nn
    module = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.ReLU(),
                           nn.ConvTranspose2d(4, 3, 2, stride=2),
                           nn.ConvTranspose2d(3, 1, (3, 2), stride=(2, 1), padding=(1, 0),
                                              output_padding=(1, 0), dilation=(1, 2),
                                              bias=False)).eval()
    example = torch.rand(3, *SHAPE)
    torch_export(torch, module, tmp_path / "t.onnx", example, dynamic)
    model = nf.onnx.load(tmp_path / "t.onnx")
    assert [type(layer).__name__ for layer in model] == ["Conv2D", "ReLU", "ConvTranspose2D",
                                                        "ConvTranspose2D"]
    with torch.no_grad():
        expected = module(example).numpy()
    np.testing.assert_allclose(model.predict(example.numpy()), expected, rtol=0, atol=1e-5)


def test_asymmetric_pads_load_as_output_padding():
    """pads (begin, end) with end < begin: padding begin, and begin - end
    more rows as output_padding; checked against ONNX Runtime."""
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(3)
    w, b = rng.standard_normal((2, 3, 3, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 3],
                            pads=[1, 1, 0, 1], output_padding=[0, 1])
    proto = make_graph([node], ["N", 2, 4, 3], None, {"w": w, "b": b})
    model = nf.onnx.load(proto)
    (layer,) = model.layers
    assert layer.padding == (1, 1) and layer.output_padding == (1, 1)
    x = rng.standard_normal((2, 2, 4, 3)).astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-5)


W = np.ones((2, 3, 3, 3), np.float32)


@pytest.mark.parametrize("node, inits, match", [
    (helper.make_node("ConvTranspose", ["x", "w"], ["y"], group=2), {"w": np.ones((2, 1, 3, 3), np.float32)},
     "group=2"),
    (helper.make_node("ConvTranspose", ["x", "w"], ["y"]), {"w": np.ones((2, 3, 3), np.float32)},
     "1-D transposed convolution"),
    (helper.make_node("ConvTranspose", ["x", "w"], ["y"], output_shape=[9, 9]), {"w": W},
     "output_shape"),
    (helper.make_node("ConvTranspose", ["x", "w"], ["y"], auto_pad="SAME_UPPER"), {"w": W},
     "auto_pad='SAME_UPPER'"),
    (helper.make_node("ConvTranspose", ["x", "w"], ["y"], pads=[0, 0, 1, 0]), {"w": W},
     "cut more at the end"),
    (helper.make_node("ConvTranspose", ["x", "w"], ["y"], pads=[2, 0, 0, 0]), {"w": W},
     "output_padding must be smaller than stride"),
    (helper.make_node("ConvTranspose", ["x", "w"], ["y"], kernel_shape=[2, 2]), {"w": W},
     "kernel_shape"),
])
def test_conv_transpose_attributes_nnfast_lacks_are_named(node, inits, match):
    proto = make_graph([node], ["N", 2, 5, 5], None, inits)
    with pytest.raises(ValueError, match=match):
        nf.onnx.load(proto)
