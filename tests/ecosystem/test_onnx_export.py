"""nf.onnx.export: every layer kind, the workload models, run in ONNX Runtime."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.benchmarks import workloads
from nnfast.layers.base import Layer

onnx = pytest.importorskip("onnx")
L = nf.layers


def every_layer_kind(dtype=np.float32):
    """One model holding every layer kind nnfast exports, nested Sequential included."""
    rng = np.random.default_rng(7)
    bn2, bn1 = L.BatchNorm2D(4, dtype=dtype), L.BatchNorm1D(20, affine=False, dtype=dtype)
    for bn in (bn2, bn1):   # running statistics that are not the initial (0, 1)
        bn.running_mean = rng.standard_normal(bn.num_features)
        bn.running_var = rng.random(bn.num_features) + 0.5
    bn2.weight.value[...] = rng.random(4) + 0.5
    return nf.Sequential([
        L.Conv2D(1, 4, 3, padding=((1, 0), (2, 1)), dtype=dtype), bn2, L.ReLU(),
        L.Conv2D(4, 6, 3, stride=2, dilation=(1, 2), padding=1, dtype=dtype),
        L.Conv2D(6, 6, 2, padding="same", dtype=dtype), L.LeakyReLU(0.1), L.MaxPool2D(2, stride=1, padding=1), L.PReLU(6, init=0.2, dtype=dtype),
        nf.Sequential([L.AvgPool2D(3, stride=2, padding=1), L.Tanh(),
                       L.Upsample((2, 1.5), mode="bilinear"), L.Upsample((0.5, 0.75))]),
        L.Softmax(), L.Flatten(), L.Dropout(0.25),
        L.Linear(6 * 4 * 4, 20, dtype=dtype), bn1, L.Sigmoid(), L.PReLU(dtype=dtype),
        L.Linear(20, 10, dtype=dtype), L.LogSoftmax(),
    ])


def workload_model(name):
    model, *_ = workloads.build_nnfast(name, workloads.init_weights(name, seed=1))
    return model


MODELS = {name: (lambda name=name: workload_model(name), workloads.input_shape(name))
          for name in workloads.WORKLOADS}
MODELS["every-layer-kind"] = (every_layer_kind, (1, 13, 12))
MODELS["single-linear"] = (lambda: L.Linear(5, 3), (5,))
# recurrent layers: hidden sizes other than the input sizes, 1 and 2 layers
MODELS["lstm-2-layers"] = (lambda: nf.Sequential([L.LSTM(4, 7, num_layers=2), L.LastStep(),
                                                  L.Linear(7, 3)]), (6, 4))
MODELS["gru-sequence"] = (lambda: nf.Sequential([L.GRU(5, 3, num_layers=2), L.Tanh()]), (6, 5))
MODELS["gru-1-layer"] = (lambda: nf.Sequential([L.GRU(3, 8), L.LastStep()]), (5, 3))
MODELS["rnn-relu-then-tanh"] = (lambda: nf.Sequential([L.RNN(4, 6, nonlinearity="relu"),
                                                       L.RNN(6, 2, num_layers=2)]), (5, 4))
# not a line: a nested cat skip (a U-Net level) and a residual add with its ReLU fused
MODELS["skip-connections"] = (lambda: nf.Sequential(
    L.Conv2D(2, 4, 3, padding=1), L.ReLU(),
    L.SkipConnection(nf.Sequential(L.MaxPool2D(2), L.Conv2D(4, 4, 3, padding=1),
                                   L.ConvTranspose2D(4, 4, 2, stride=2))),
    L.SkipConnection(nf.Sequential(L.Conv2D(8, 8, 3, padding=1), L.BatchNorm2D(8)), mode="add"),
    L.ReLU(), L.Conv2D(8, 3, 1)), (2, 8, 8))


def graph_concat_add():
    g = nf.Graph()
    x = g.input("image")
    a = g.add(L.Conv2D(3, 4, 3, padding=1), x)
    b = g.add(L.ReLU(), a)
    c = g.add(L.Concat(dim=1), b, x, b)
    d = g.add(L.Conv2D(11, 4, 1), c)
    e = g.add(L.Add(), d, a, b)
    g.output(g.add(L.Flatten(), e))
    return g


MODELS["graph-concat-add"] = (graph_concat_add, (3, 5, 6))
# a binned-distribution head: Softmax then CumSum in ONNX, one layer again on load
MODELS["cumulative-head"] = (lambda: nf.Sequential(L.Linear(8, 12), L.CumulativeSoftmax()), (8,))
MODELS["cumulative-over-channels"] = (lambda: nf.Sequential(
    L.Conv2D(2, 5, 3, padding=1), L.CumulativeSoftmax(dim=1)), (2, 4, 3))
# groups: 2 groups, then depthwise (groups == in_channels) with a channel multiplier 2
MODELS["grouped-conv"] = (lambda: nf.Sequential(
    L.Conv2D(4, 6, 3, padding=1, groups=2), L.ReLU(),
    L.Conv2D(6, 12, 3, stride=2, padding=((1, 0), (0, 1)), groups=6), L.Flatten(),
    L.Linear(12 * 4 * 4, 3)), (4, 9, 9))


def run_onnxruntime(path, x):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    return out


def test_every_layer_kind_has_an_exporter():
    from nnfast.onnx.registry import EXPORTERS
    kinds = {obj for obj in vars(L).values()
             if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer}
    assert kinds | {nf.Sequential, nf.Graph} == set(EXPORTERS)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("n_samples", [1, 7])
def test_onnxruntime_gives_predict(tmp_path, name, n_samples):
    make, shape = MODELS[name]
    nf.seed(5)
    model = make()
    path = tmp_path / f"{name}.onnx"
    nf.onnx.export(model, path, shape)
    x = np.random.default_rng(2).random((n_samples,) + shape, dtype=np.float32)
    out = run_onnxruntime(path, x)
    expected = nf.training.predict(model, x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


def test_graph_has_a_dynamic_batch_and_torch_names(tmp_path):
    model = workload_model("lenet5")
    proto = nf.onnx.export(model, tmp_path / "m.onnx", (1, 28, 28))
    (inp,), (out,) = proto.graph.input, proto.graph.output
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert (inp.name, dims) == ("input", ["batch", 1, 28, 28])
    assert out.name == "output" and out.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [t.name for t in proto.graph.initializer] == list(model.state_dict())
    assert [n.op_type for n in proto.graph.node] == [
        "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten",
        "Gemm", "Relu", "Gemm", "Relu", "Gemm"]
    assert onnx.load(tmp_path / "m.onnx") == proto


def test_float64_models_export_as_double(tmp_path):
    model = nf.Sequential([L.Flatten(), L.Linear(12, 4, dtype=np.float64), L.Tanh(),
                           L.Linear(4, 3, dtype=np.float64)])
    proto = nf.onnx.export(model, tmp_path / "m.onnx", (3, 4))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    x = np.random.default_rng(0).random((6, 3, 4))
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "m.onnx", x), model.predict(x),
                               rtol=1e-12, atol=1e-12)


def test_mode_is_kept_and_names_and_opset_are_honoured(tmp_path):
    model = every_layer_kind()
    model.train()
    proto = nf.onnx.export(model, tmp_path / "m.onnx", [1, 13, 12], opset=13,
                           input_name="image", output_name="log_prob")
    assert model.training and all(layer.training for layer in model.layers)
    assert proto.opset_import[0].version == 13
    assert proto.graph.input[0].name == "image" and proto.graph.output[0].name == "log_prob"
    assert proto.graph.node[-1].output[0] == "log_prob"


class Doubler(Layer):
    def forward(self, x):
        return 2 * x


def test_bad_arguments_are_named(tmp_path):
    path = tmp_path / "m.onnx"
    model = nf.Sequential([L.Flatten(), L.Linear(4, 2), Doubler()])
    with pytest.raises(TypeError, match=r"cannot export .*Doubler \(at 2\) to ONNX: no converter"):
        nf.onnx.export(model, path, (4,))
    mlp = nf.Sequential([L.Linear(4, 2)])
    with pytest.raises(ValueError, match=r"input_shape \(5,\) does not fit the model"):
        nf.onnx.export(mlp, path, (5,))
    for bad in ((), (0, 3), (2.5,), "4"):
        with pytest.raises((ValueError, TypeError), match="input_shape must be"):
            nf.onnx.export(mlp, path, bad)
    for opset in (12, 10_000, 17.0, True):
        with pytest.raises(ValueError, match="opset must be an int from 13"):
            nf.onnx.export(mlp, path, (4,), opset=opset)
    with pytest.raises(TypeError, match="path must be a str"):
        nf.onnx.export(mlp, 3, (4,))
    with pytest.raises(TypeError, match="model must be an nnfast"):
        nf.onnx.export(object(), path, (4,))
    with pytest.raises(ValueError, match="input_name and output_name must differ"):
        nf.onnx.export(mlp, path, (4,), input_name="x", output_name="x")
    assert not path.exists()


def test_layers_without_bias_export_and_run(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = nf.Sequential(nf.layers.Conv2D(1, 2, 3, bias=False), nf.layers.ReLU(),
                          nf.layers.Flatten(), nf.layers.Linear(2 * 6 * 6, 3, bias=False))
    path = str(tmp_path / "nobias.onnx")
    nf.onnx.export(model, path, (1, 8, 8))
    x = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    session = ort.InferenceSession(path)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nf.onnx.load(path).predict(x), model.predict(x), rtol=1e-6, atol=1e-7)


def test_an_input_shape_too_large_to_allocate_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match="input_shape"):
        nf.onnx.export(nf.Sequential([nf.layers.Linear(3, 4)]), tmp_path / "m.onnx", (2**40,))
