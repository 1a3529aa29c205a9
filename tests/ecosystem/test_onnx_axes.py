"""ONNX export and load of the axis arguments: Softmax/LogSoftmax(dim) as
Softmax/LogSoftmax(axis), Flatten(start_dim, end_dim) as Flatten or Reshape;
run in ONNX Runtime with another batch size than the one exported."""
import numpy as np
import pytest

import nnfast as nf

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
L = nf.layers


def run_onnxruntime(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    return out


def conv_then(*layers):
    return nf.Sequential(L.Conv2D(1, 3, 3, padding=1, rng=0), *layers)


@pytest.mark.parametrize("layers, ops", [
    ((L.Softmax(dim=1),), ["Softmax"]),
    ((L.LogSoftmax(dim=-1),), ["LogSoftmax"]),
    ((L.Softmax(dim=2),), ["Softmax"]),
    ((L.Flatten(2), L.LogSoftmax(dim=1)), ["Reshape", "LogSoftmax"]),
    ((L.Flatten(1, 2),), ["Reshape"]),
    ((L.Flatten(-2, -1), L.Softmax(-1)), ["Reshape", "Softmax"]),
    ((L.Flatten(),), ["Flatten"]),
    ((L.Flatten(3, 3),), ["Identity"]),
])
def test_axis_layers_export_run_and_load_back(tmp_path, layers, ops):
    model = conv_then(*layers)
    path = tmp_path / "m.onnx"
    nf.onnx.export(model, path, input_shape=(1, 4, 5))
    graph = onnx.load(str(path)).graph
    assert [n.op_type for n in graph.node][1:] == ops
    x = np.random.default_rng(0).standard_normal((3, 1, 4, 5)).astype(np.float32)
    expected = model.forward(x)
    np.testing.assert_allclose(run_onnxruntime(path, x), expected, rtol=1e-5, atol=1e-6)
    loaded = nf.onnx.load(path)
    np.testing.assert_allclose(loaded.forward(x), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("flatten", [L.Flatten(0), L.Flatten(0, 1)])
def test_flatten_over_the_batch_axis_exports_as_a_reshape_to_minus_one(tmp_path, flatten):
    model = conv_then(flatten)
    path = tmp_path / "m.onnx"
    nf.onnx.export(model, path, input_shape=(1, 4, 5))
    x = np.random.default_rng(1).standard_normal((2, 1, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(run_onnxruntime(path, x).shape, model.forward(x).shape)
    np.testing.assert_allclose(run_onnxruntime(path, x), model.forward(x), rtol=1e-5, atol=1e-6)
    # a reshape that merges the batch axis has no per-sample meaning to load back
    with pytest.raises(ValueError, match="merge of adjacent axes after the batch axis"):
        nf.onnx.load(path)


def test_flatten_dims_out_of_range_refused_at_export(tmp_path):
    model = nf.Sequential(L.Linear(4, 3, rng=0), L.Flatten(2))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        nf.onnx.export(model, tmp_path / "m.onnx", input_shape=(4,))


def test_torch_flatten_and_softmax_dims_load(tmp_path):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Flatten(2),
                              torch.nn.Softmax(dim=1))
    x = np.random.default_rng(2).standard_normal((2, 1, 4, 5)).astype(np.float32)
    path = tmp_path / "t.onnx"
    torch.onnx.export(net, (torch.tensor(x),), str(path), input_names=["input"],
                      dynamic_axes={"input": {0: "batch"}}, dynamo=False)
    model = nf.onnx.load(path)
    assert [type(layer).__name__ for layer in model] == ["Conv2D", "Flatten", "Softmax"]
    with torch.no_grad():
        expected = net(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model.forward(x), expected, rtol=1e-5, atol=1e-6)
