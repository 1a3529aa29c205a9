"""ONNX and GlobalAvgPool2D: export as GlobalAveragePool, checked in ONNX
Runtime; load of nnfast's exports, of PyTorch's (nn.AdaptiveAvgPool2d(1))
and of hand-made nodes; a node on a tensor of another rank is named."""
import numpy as np
import pytest

import nnfast as nf

onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from test_onnx_export import run_onnxruntime  # noqa: E402
from test_onnx_load import make_graph, torch_export  # noqa: E402

L = nf.layers
SHAPE = (3, 9, 7)   # one sample: (channels, height, width)


def classifier(dtype=np.float32):
    """Conv2D -> ReLU -> GlobalAvgPool2D -> Flatten -> Linear."""
    return nf.Sequential([L.Conv2D(3, 6, 3, padding=1, dtype=dtype, rng=0), L.ReLU(),
                          L.GlobalAvgPool2D(), L.Flatten(), L.Linear(6, 4, dtype=dtype, rng=1)])


@pytest.mark.parametrize("n_samples", [1, 5])
def test_exports_and_runs_in_onnxruntime(tmp_path, n_samples):
    model = classifier()
    proto = nf.onnx.export(model, tmp_path / "m.onnx", SHAPE)
    assert [n.op_type for n in proto.graph.node].count("GlobalAveragePool") == 1
    pool = next(n for n in proto.graph.node if n.op_type == "GlobalAveragePool")
    assert list(pool.attribute) == []
    x = np.random.default_rng(n_samples).random((n_samples,) + SHAPE, dtype=np.float32)
    out = run_onnxruntime(tmp_path / "m.onnx", x)
    expected = model.predict(x)
    assert out.shape == expected.shape == (n_samples, 4)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exports_load_back(tmp_path, dtype):
    model = classifier(dtype)
    nf.onnx.export(model, tmp_path / "m.onnx", SHAPE)
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    assert [type(layer) for layer in loaded] == [type(layer) for layer in model]
    x = np.random.default_rng(0).random((4,) + SHAPE).astype(dtype)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    # and exports again
    nf.onnx.export(loaded, tmp_path / "again.onnx", SHAPE)
    if dtype is np.float32:
        np.testing.assert_allclose(run_onnxruntime(tmp_path / "again.onnx", x),
                                   loaded.predict(x), rtol=0, atol=1e-5)


def test_pooling_alone_keeps_the_trailing_ones(tmp_path):
    model = nf.Sequential([L.GlobalAvgPool2D()])
    nf.onnx.export(model, tmp_path / "m.onnx", (2, 4, 5))
    x = np.random.default_rng(1).random((3, 2, 4, 5), dtype=np.float32)
    out = run_onnxruntime(tmp_path / "m.onnx", x)
    assert out.shape == (3, 2, 1, 1)
    np.testing.assert_allclose(out, model.predict(x), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dynamic", [True, False])
def test_torch_global_pool_loads_and_gives_torchs_outputs(tmp_path, torch, dynamic):
    nn = torch.nn
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                           nn.Flatten(), nn.Linear(6, 4)).eval()
    torch_export(torch, module, tmp_path / "t.onnx", torch.randn((1,) + SHAPE), dynamic)
    ops = [n.op_type for n in onnx.load(str(tmp_path / "t.onnx")).graph.node]
    assert "GlobalAveragePool" in ops
    loaded = nf.onnx.load(tmp_path / "t.onnx")
    assert [type(layer).__name__ for layer in loaded] == [
        "Conv2D", "ReLU", "GlobalAvgPool2D", "Flatten", "Linear"]
    x = np.random.default_rng(0).standard_normal((3 if dynamic else 1,) + SHAPE)
    x = x.astype(np.float32)
    with torch.no_grad():
        expected = module(torch.tensor(x)).numpy()
    np.testing.assert_allclose(loaded.predict(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("input_shape", [["N", 3, 4, 5], ["N", 3, None, None], [2, 1, 6, 6]])
def test_a_hand_made_node_loads(input_shape):
    node = onnx.helper.make_node("GlobalAveragePool", ["x"], ["y"])
    proto = make_graph([node], input_shape, None)
    (layer,) = nf.onnx.load(proto)
    assert isinstance(layer, L.GlobalAvgPool2D)
    spatial = (4, 6) if input_shape[2] is None else tuple(input_shape[2:])
    x = np.random.default_rng(2).random((2, input_shape[1]) + spatial, dtype=np.float32)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], layer.forward(x), rtol=0,
                               atol=1e-6)


@pytest.mark.parametrize("input_shape, rank", [(["N", 3, 8], 3), (["N", 2, 3, 4, 5], 5)])
def test_a_node_on_another_rank_is_named(input_shape, rank):
    node = onnx.helper.make_node("GlobalAveragePool", ["x"], ["y"])
    proto = make_graph([node], input_shape, None)
    with pytest.raises(ValueError, match=rf"cannot load node 0 \(GlobalAveragePool ''\): it pools "
                                         rf"a rank-{rank} tensor; GlobalAvgPool2D takes rank 4"):
        nf.onnx.load(proto)
