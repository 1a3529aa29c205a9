"""nf.onnx.load: nnfast's own exports, PyTorch's, and graphs built with onnx.helper."""
import numpy as np
import pytest

import nnfast as nf

onnx = pytest.importorskip("onnx")
# torch.onnx.export(dynamo=False), the TorchScript exporter, warns that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from test_onnx_export import MODELS, run_onnxruntime  # noqa: E402

L = nf.layers
RNG = np.random.default_rng(0)


def make_graph(nodes, input_shape, output_shape, initializers=(), opset=17,
               elem_type=TensorProto.FLOAT, input_name="x", output_name="y"):
    """A ModelProto of ``nodes`` (initializers given as name -> array)."""
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in dict(initializers).items()]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(input_name, elem_type, input_shape)],
        [helper.make_tensor_value_info(output_name, elem_type, output_shape)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# joins of two computed tensors (a Concat or an Add): these load as nf.Graph
JOINED = ("graph-concat-add", "skip-connections", "unet-small")


@pytest.mark.parametrize("name", JOINED)
def test_nnfast_exports_with_joins_load_back_as_graphs(tmp_path, name):
    make, shape = MODELS[name]
    model = make()
    nf.onnx.export(model, tmp_path / "m.onnx", shape)
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    assert isinstance(loaded, nf.Graph) and loaded.training
    assert all(layer.training for layer in loaded.layers)
    x = RNG.random((5,) + shape, dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x), nf.training.predict(model, x), rtol=0, atol=1e-6)
    n_params = sum(p.value.size for p in model.parameters())
    assert sum(p.value.size for p in loaded.parameters()) == n_params
    # it exports again, and ONNX Runtime agrees
    nf.onnx.export(loaded, tmp_path / "again.onnx", shape)
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "again.onnx", x), loaded.predict(x),
                               rtol=0, atol=1e-5)


def test_a_loaded_graph_trains_saves_and_loads(tmp_path):
    make, shape = MODELS["skip-connections"]
    nf.onnx.export(make(), tmp_path / "m.onnx", shape)
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    x = RNG.random((6,) + shape, dtype=np.float32)
    y = RNG.integers(0, 3, (6,) + shape[1:])
    before = loaded.predict(x)
    nf.fit(loaded, x, y, loss=nf.losses.CrossEntropyLoss(),
           optimizer=nf.optim.SGD(loaded.parameters(), lr=0.1), epochs=1, batch_size=3,
           progress=False)
    assert not np.allclose(loaded.predict(x), before)   # the gradients reached the weights
    loaded.save(tmp_path / "g.npz")
    np.testing.assert_array_equal(nf.load(tmp_path / "g.npz").predict(x), loaded.predict(x))


@pytest.mark.parametrize("name", sorted(set(MODELS) - set(JOINED)))
def test_nnfast_exports_load_back_exactly(tmp_path, name):
    make, shape = MODELS[name]
    model = make()
    path = tmp_path / "m.onnx"
    nf.onnx.export(model, path, shape)
    loaded = nf.onnx.load(path)
    assert loaded.training and all(layer.training for layer in loaded)
    x = RNG.random((5,) + shape, dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), nf.training.predict(model, x))
    assert repr(loaded) == repr(model if isinstance(model, nf.Sequential) else nf.Sequential([model])) \
        or name == "every-layer-kind"  # nested Sequentials load flat


def test_loaded_every_layer_kind_keeps_hyper_parameters(tmp_path):
    make, shape = MODELS["every-layer-kind"]
    nf.onnx.export(make(), tmp_path / "m.onnx", shape)
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    kinds = [type(layer).__name__ for layer in loaded]
    assert kinds == ["Conv2D", "BatchNorm2D", "ReLU", "Conv2D", "Conv2D", "LeakyReLU",
                     "MaxPool2D", "PReLU", "AvgPool2D", "Tanh", "Upsample", "Upsample", "Softmax",
                     "Flatten", "Dropout",
                     "Linear", "BatchNorm1D", "Sigmoid", "PReLU", "Linear", "LogSoftmax"]
    assert loaded[0].padding == (1, 0, 2, 1) and loaded[3].dilation == (1, 2)
    assert loaded[4].padding == (0, 1, 0, 1)  # "same" for an even kernel: the extra row after
    assert loaded[5].negative_slope == 0.1 and loaded[14].p == 0.25
    assert (loaded[10].scale_factor, loaded[10].mode) == ((2.0, 1.5), "bilinear")
    assert (loaded[11].scale_factor, loaded[11].mode) == ((0.5, 0.75), "nearest")
    assert loaded[6].stride == (1, 1) and loaded[6].padding == (1, 1)
    original = make()
    for i, j in ((1, 1), (16, 13)):   # the running statistics travel, as ONNX's inputs
        np.testing.assert_allclose(loaded[i].running_mean, original[j].running_mean, rtol=1e-6)
        np.testing.assert_allclose(loaded[i].running_var, original[j].running_var, rtol=1e-6)
        assert loaded[i].eps == pytest.approx(original[j].eps, rel=1e-6)   # a float attribute


def test_float64_graphs_load_as_float64(tmp_path):
    model = nf.Sequential([L.Linear(6, 4, dtype=np.float64), L.Tanh()])
    nf.onnx.export(model, tmp_path / "m.onnx", (6,))
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    assert loaded[0].weight.value.dtype == np.float64
    np.testing.assert_array_equal(loaded[0].weight.value, model[0].weight.value)


def test_loading_leaves_the_random_stream_alone(tmp_path):
    nf.onnx.export(MODELS["lenet5"][0](), tmp_path / "m.onnx", (1, 28, 28))
    nf.seed(11)
    expected = nf.init.uniform((4,), -1, 1, np.float64, None)
    nf.seed(11)
    nf.onnx.load(tmp_path / "m.onnx")
    np.testing.assert_array_equal(nf.init.uniform((4,), -1, 1, np.float64, None), expected)


def test_bytes_and_modelprotos_load(tmp_path):
    proto = nf.onnx.export(L.Linear(3, 2), tmp_path / "m.onnx", (3,))
    for source in (proto, proto.SerializeToString(), str(tmp_path / "m.onnx")):
        assert isinstance(nf.onnx.load(source)[0], L.Linear)


# -- PyTorch's exporter ------------------------------------------------------
def torch_export(torch, module, path, example, dynamic=True):
    kwargs = {"dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}}} if dynamic else {}
    try:
        torch.onnx.export(module, example, str(path), input_names=["input"], output_names=["output"],
                          opset_version=17, dynamo=False, **kwargs)
    except TypeError:  # a torch without the dynamo switch: its legacy exporter is the default
        torch.onnx.export(module, example, str(path), input_names=["input"], output_names=["output"],
                          opset_version=17, **kwargs)


def torch_lenet(torch):
    nn = torch.nn

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)
            self.pool = nn.MaxPool2d(2)
            self.act = nn.PReLU(6)

        def forward(self, x):
            x = self.pool(self.act(self.conv1(x)))
            x = nn.functional.avg_pool2d(torch.relu(self.conv2(x)), 2)
            x = x.view(x.size(0), -1)  # the Shape/Gather/Concat/Reshape chain
            x = torch.sigmoid(self.fc1(x))
            x = nn.functional.leaky_relu(self.fc2(x), 0.2)
            return torch.log_softmax(self.fc3(nn.functional.dropout(x, 0.5, self.training)), dim=1)

    return LeNet()


@pytest.mark.parametrize("dynamic", [True, False], ids=["dynamic-batch", "static-batch"])
def test_torch_lenet_loads_and_gives_torchs_outputs(tmp_path, torch, dynamic):
    torch.manual_seed(0)
    net = torch_lenet(torch).eval()
    torch_export(torch, net, tmp_path / "lenet.onnx", torch.zeros(1, 1, 28, 28), dynamic)
    model = nf.onnx.load(tmp_path / "lenet.onnx")
    assert [type(layer).__name__ for layer in model] == [
        "Conv2D", "PReLU", "MaxPool2D", "Conv2D", "ReLU", "AvgPool2D", "Flatten",
        "Linear", "Sigmoid", "Linear", "LeakyReLU", "Linear", "LogSoftmax"]
    x = np.random.default_rng(3).random((9, 1, 28, 28), dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-5)


def torch_residual_net(torch):
    nn = torch.nn

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(2, 4, 3, padding=1)
            self.conv1, self.bn1 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
            self.conv2, self.bn2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
            self.head = nn.Linear(8 * 6 * 6, 3)

        def forward(self, x):
            x = torch.relu(self.stem(x))
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            x = torch.relu(x + y)   # the identity shortcut: an Add of two computed tensors
            x = torch.cat([x, torch.tanh(x)], dim=1)
            return self.head(x.flatten(1))

    return Residual()


def test_torch_residual_block_loads_as_a_graph(tmp_path, torch):
    torch.manual_seed(2)
    net = torch_residual_net(torch)
    for bn in (net.bn1, net.bn2):   # running statistics that are not the identity
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    net.eval()
    torch_export(torch, net, tmp_path / "res.onnx", torch.zeros(1, 2, 6, 6))
    model = nf.onnx.load(tmp_path / "res.onnx")
    assert isinstance(model, nf.Graph)
    x = np.random.default_rng(5).random((4, 2, 6, 6), dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-5)


def test_torch_unet_loads_as_a_graph_and_gives_torchs_outputs(tmp_path, torch):
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[2] / "bench" / "torch_unet.py"
    spec = importlib.util.spec_from_file_location("torch_unet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    unet = nf.models.UNet(spatial_dims=2, in_channels=1, out_channels=3, channels=(4, 8, 16))
    net = module.torch_unet_like(unet).eval()
    for m in net.modules():   # running statistics that are not the identity
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    torch_export(torch, net, tmp_path / "unet.onnx", torch.zeros(1, 1, 16, 16))
    model = nf.onnx.load(tmp_path / "unet.onnx")
    assert isinstance(model, nf.Graph)
    kinds = {type(layer).__name__ for _, layer in model.named_children()}
    assert {"Conv2D", "ConvTranspose2D", "MaxPool2D", "Concat", "ReLU"} <= kinds
    x = np.random.default_rng(6).random((3, 1, 16, 16), dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-4)


def test_torch_sequential_with_flatten_loads(tmp_path, torch):
    nn = torch.nn
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 7), nn.Tanh(), nn.Dropout(0.3),
                        nn.Linear(7, 3), nn.Softmax(dim=1)).eval()
    torch_export(torch, net, tmp_path / "mlp.onnx", torch.zeros(1, 3, 4))
    model = nf.onnx.load(tmp_path / "mlp.onnx")
    x = np.random.default_rng(4).random((5, 3, 4), dtype=np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(x), net(torch.from_numpy(x)).numpy(), atol=1e-6)
    assert list(model.state_dict()) == ["1.weight", "1.bias", "3.weight", "3.bias"]


def test_torch_grouped_and_depthwise_convs_load_with_their_groups(tmp_path, torch):
    nn = torch.nn
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.ReLU(),
                        nn.Conv2d(6, 6, 3, stride=2, groups=6, bias=False)).eval()
    torch_export(torch, net, tmp_path / "grouped.onnx", torch.zeros(1, 4, 9, 9))
    model = nf.onnx.load(tmp_path / "grouped.onnx")
    assert [(type(layer).__name__, getattr(layer, "groups", None)) for layer in model] == [
        ("Conv2D", 2), ("ReLU", None), ("Conv2D", 6)]
    assert model[0].weight.shape == (6, 2, 3, 3) and model[2].weight.shape == (6, 1, 3, 3)
    x = np.random.default_rng(4).random((3, 4, 9, 9), dtype=np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(x), net(torch.from_numpy(x)).numpy(), atol=1e-5)


def test_nnfast_export_writes_the_group_attribute(tmp_path):
    model = nf.Sequential(L.Conv2D(4, 8, 3, groups=4), L.Conv2D(8, 8, 1))
    nf.onnx.export(model, tmp_path / "m.onnx", (4, 5, 5))
    proto = onnx.load(str(tmp_path / "m.onnx"))
    groups = [helper.get_attribute_value(a) for node in proto.graph.node if node.op_type == "Conv"
              for a in node.attribute if a.name == "group"]
    assert groups == [4, 1]
    assert [layer.groups for layer in nf.onnx.load(tmp_path / "m.onnx")] == [4, 1]


# -- graphs built by hand: the other spellings of nnfast's layers --------------
def test_matmul_add_and_gemm_variants_become_linear():
    w1, b1, w2, b2, w3 = f32(6, 5), f32(5), f32(4, 5), f32(1, 4), f32(4, 3)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h1"]),
        helper.make_node("Add", ["b1", "h1"], ["h2"]),  # the bias first: Add commutes
        helper.make_node("Gemm", ["h2", "w2", "b2"], ["h3"], transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Relu", ["h3"], ["h4"]),
        helper.make_node("Gemm", ["h4", "w3"], ["h5"]),  # transB=0, no bias
        helper.make_node("Identity", ["h5"], ["y"]),
    ]
    proto = make_graph(nodes, ["N", 6], ["N", 3], {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "w3": w3})
    model = nf.onnx.load(proto)
    assert [type(layer).__name__ for layer in model] == ["Linear", "Linear", "ReLU", "Linear"]
    x = f32(8, 6)
    expected = np.maximum(0.5 * ((x @ w1 + b1) @ w2.T) + 2.0 * b2, 0) @ w3
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-5)


def test_conv_without_bias_plus_add_same_padding_and_reshape_flatten():
    w, bias = f32(3, 2, 2, 2), f32(1, 3, 1, 1)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], auto_pad="SAME_UPPER"),
        helper.make_node("Add", ["c", "bias"], ["c2"]),
        helper.make_node("MaxPool", ["c2"], ["p"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        helper.make_node("Reshape", ["p", "shape"], ["y"]),
    ]
    proto = make_graph(nodes, [None, 2, 6, 8], [None, 36],
                       {"w": w, "bias": bias, "shape": np.array([-1, 36], np.int64)})
    model = nf.onnx.load(proto)
    assert [type(layer).__name__ for layer in model] == ["Conv2D", "MaxPool2D", "Flatten"]
    assert model[0].padding == (0, 1, 0, 1)
    x = f32(2, 2, 6, 8)
    np.testing.assert_allclose(model.predict(x), run_ort_proto(proto, x), rtol=1e-5, atol=1e-5)


def run_ort_proto(proto, x):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_old_opset_softmax_on_2d_and_prelu_slopes():
    slope = np.array([0.1, 0.2, 0.3], np.float32).reshape(3, 1, 1)
    nodes = [helper.make_node("PRelu", ["x", "slope"], ["a"]),
             helper.make_node("Flatten", ["a"], ["f"]),
             helper.make_node("Softmax", ["f"], ["y"])]  # opset 11: axis 1 of a 2-D input
    proto = make_graph(nodes, ["N", 3, 2, 2], ["N", 12], {"slope": slope}, opset=11)
    model = nf.onnx.load(proto)
    assert model[0].num_parameters == 3
    x = f32(4, 3, 2, 2)
    np.testing.assert_allclose(model.predict(x), run_ort_proto(proto, x), rtol=1e-5, atol=1e-6)


# -- what cannot be loaded is named --------------------------------------------
def _fails(proto, match):
    with pytest.raises(ValueError, match=match):
        nf.onnx.load(proto)


def test_first_unsupported_operator_is_named():
    scale, bias = np.ones(3, np.float32), np.zeros(3, np.float32)
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("BatchNormalization", ["a", "s", "b", "m", "v"], ["bn"], name="bn1"),
             helper.make_node("Erf", ["bn"], ["y"])]
    proto = make_graph(nodes, ["N", 3, 4, 4], ["N", 3, 4, 4],
                       {"s": scale, "b": bias, "m": bias, "v": scale})
    # BatchNormalization loads (BatchNorm2D); the first operator after it that
    # nnfast cannot build is the one named
    _fails(proto, r"node 2 \(Erf ''\): ONNX 'Erf' is not an operator nnfast can build; "
                  r"nnfast builds layers from Add, AveragePool, BatchNormalization,")
    nodes = [helper.make_node("Erf", ["x"], ["y"])]
    _fails(make_graph(nodes, ["N", 3], ["N", 3]), r"node 0 \(Erf ''\): ONNX 'Erf' is not an operator nnfast can build")


def kinds_of(graph, dim=False):
    """The layers' class names in the graph's insertion order (or its Concat's dim)."""
    layers = [layer for _, layer in graph.named_children()]
    if dim:
        return next(layer.dim for layer in layers if isinstance(layer, L.Concat))
    return [type(layer).__name__ for layer in layers]


def _joined(nodes, shape, out_shape, inits=()):
    """The loaded model and ONNX Runtime's output on a random batch."""
    proto = make_graph(nodes, shape, out_shape, inits)
    model = nf.onnx.load(proto)
    x = f32(4, *shape[1:])
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(model.predict(x), session.run(None, {"x": x})[0], rtol=0, atol=1e-6)
    return model


def test_branches_and_joins_load_as_graphs():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Sigmoid", ["x"], ["b"]),
             helper.make_node("Add", ["a", "b"], ["y"])]
    model = _joined(nodes, ["N", 3], ["N", 3])
    assert kinds_of(model) == ["ReLU", "Sigmoid", "Add"]
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Add", ["a", "a"], ["y"])]
    assert kinds_of(_joined(nodes, ["N", 3], ["N", 3])) == [
        "ReLU", "Add"]
    # Concat's negative axis, a Flatten (Shape, Reshape) inside a branch, a join of three
    nodes = [helper.make_node("Tanh", ["x"], ["a"]),
             helper.make_node("Concat", ["a", "x", "a"], ["c"], axis=-3),
             helper.make_node("Shape", ["c"], ["s"]), helper.make_node("Gather", ["s", "zero"], ["n"]),
             helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
             helper.make_node("Reshape", ["c", "target"], ["y"])]
    inits = {"zero": np.array(0, np.int64), "zero1": np.array([0], np.int64),
             "minus1": np.array([-1], np.int64)}
    model = _joined(nodes, ["N", 2, 3, 2], ["N", 36], inits)
    assert kinds_of(model) == ["Tanh", "Concat", "Flatten"]
    assert kinds_of(model, dim=True) == 1


def test_a_fork_keeps_each_branchs_layers_apart():
    # a Linear (MatMul + Add of its bias) whose output two branches read: the second
    # branch's bias Add must not fold into the first branch's Linear
    w, b, v, c = f32(3, 4), f32(4), f32(4, 4), f32(4)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["h", "v"], ["m2"]), helper.make_node("Add", ["m2", "c"], ["h2"]),
             helper.make_node("Add", ["r", "h2"], ["y"])]
    model = _joined(nodes, ["N", 3], ["N", 4], {"w": w, "b": b, "v": v, "c": c})
    assert kinds_of(model) == ["Linear", "ReLU", "Linear", "Add"]


def test_a_branch_that_does_not_reach_the_output_is_left_out():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["a"], ["b"])]
    model = nf.onnx.load(make_graph(nodes, ["N", 3], ["N", 3], output_name="a"))
    assert isinstance(model, nf.Sequential) and [type(la).__name__ for la in model] == ["ReLU"]


@pytest.mark.parametrize("nodes, inits, shape, match", [
    ([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("MatMul", ["a", "x"], ["y"])], {},
     ["N", 3], r"node 1 \(MatMul ''\): it reads 2 computed tensors \['a', 'x'\]; nnfast joins computed "
               r"tensors with Add and Concat only"),
    ([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Concat", ["a", "c"], ["y"], axis=1)],
     {"c": np.ones((1, 2), np.float32)}, ["N", 3], "concatenates a computed tensor with a constant"),
    ([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Concat", ["a", "x"], ["y"], axis=0)],
     {}, ["N", 3], "along the batch axis"),
    ([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Concat", ["a", "x"], ["y"], axis=-3)],
     {}, ["N", 3], r"axis=-3 is out of range for tensors of rank 2"),
    ([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Concat", ["a", "x"], ["y"])],
     {}, ["N", 3], "needs its axis attribute"),
    ([helper.make_node("ReduceMean", ["x"], ["a"], axes=[2], keepdims=1),
      helper.make_node("Add", ["a", "x"], ["y"])], {}, ["N", 3, 4], "ReduceMean"),
    ([helper.make_node("Flatten", ["x"], ["a"]), helper.make_node("Add", ["a", "x"], ["y"])], {},
     ["N", 3, 4], r"joins tensors of ranks \[2, 3\]"),
    ([helper.make_node("MaxPool", ["x"], ["a"], kernel_shape=[2, 2], strides=[2, 2]),
      helper.make_node("Add", ["a", "x"], ["y"])], {}, ["N", 2, 4, 4],
     r"Add joins tensors of one shape \(no broadcasting\), got per-sample shapes \[\[2, 2, 2\], \[2, 4, 4\]\]"),
    ([helper.make_node("MaxPool", ["x"], ["a"], kernel_shape=[2, 2], strides=[2, 2]),
      helper.make_node("Concat", ["a", "x"], ["y"], axis=1)], {}, ["N", 2, 4, 4],
     r"Concat\(dim=1\): inputs\[1\] must have the shape"),
    ([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Add", ["a", "ghost"], ["y"])], {},
     ["N", 3], r"it reads \['ghost'\], which no node before it computes"),
])
def test_joins_nnfast_cannot_build_are_named(nodes, inits, shape, match):
    _fails(make_graph(nodes, shape, None, inits), match)


@pytest.mark.parametrize("node, inits, shape, match", [
    (helper.make_node("Conv", ["x", "w"], ["y"], group=3), {"w": np.ones((4, 1, 3, 3), np.float32)},
     ["N", 3, 5, 5], r"group=3 must be an int >= 1 dividing the weight's 4 output channels"),
    (helper.make_node("Conv", ["x", "w"], ["y"], group=0), {"w": np.ones((4, 1, 3, 3), np.float32)},
     ["N", 2, 5, 5], r"group=0 must be an int >= 1"),
    (helper.make_node("Conv", ["x", "w"], ["y"]), {"w": np.ones((4, 2, 3), np.float32)},
     ["N", 2, 5], "1-D convolution"),
    (helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_LOWER"),
     {"w": np.ones((4, 2, 3, 3), np.float32)}, ["N", 2, 5, 5], "auto_pad='SAME_LOWER'"),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 0, 0]), {},
     ["N", 2, 5, 5], "differ before and after"),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1), {},
     ["N", 2, 5, 5], "ceil_mode=1"),
    (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]), {},
     ["N", 2, 5, 5], "count_include_pad=0 with padding"),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[2, 2, 2, 2]), {},
     ["N", 2, 5, 5], "padding must be at most half of kernel_size"),
    (helper.make_node("Flatten", ["x"], ["y"], axis=2), {}, ["N", 2, 5, 5], "axis=2"),
    (helper.make_node("Reshape", ["x", "s"], ["y"]), {"s": np.array([-1, 5], np.int64)},
     ["N", 2, 5, 5], r"Reshape to \[-1, 5\] is not a flatten to \(batch, features\) = \(batch, 50\)"),
    (helper.make_node("Gemm", ["x", "w"], ["y"], transA=1), {"w": np.ones((3, 3), np.float32)},
     ["N", 3], "transA=1"),
    (helper.make_node("Gemm", ["x", "w"], ["y"]), {"w": np.ones((50, 3), np.float32)},
     ["N", 2, 5, 5], "rank 4"),
    (helper.make_node("Gemm", ["x", "w"], ["y"]), {"w": np.ones((4, 3), np.float32)},
     ["N", 3], r"do not take its input of shape \(batch, 3\)"),
    (helper.make_node("Add", ["x", "c"], ["y"]), {"c": np.ones(3, np.float32)},
     ["N", 3], "does not follow a Linear or Conv2D"),
    (helper.make_node("PRelu", ["x", "s"], ["y"]), {"s": np.ones(5, np.float32)},
     ["N", 2, 5, 5], r"slope of shape \(5,\) is not one per channel"),
    (helper.make_node("Dropout", ["x", "r", "t"], ["y"]),
     {"r": np.array(0.5, np.float32), "t": np.array(True)}, ["N", 3], "training_mode=True"),
    (helper.make_node("Dropout", ["x"], ["y", "mask"]), {}, ["N", 3], "'mask' is used"),
    (helper.make_node("Gemm", ["x", "w"], ["y"]), {"w": np.ones((3, 3), np.int64)},
     ["N", 3], "must be a float tensor"),
])
def test_attribute_values_nnfast_lacks_are_named(node, inits, shape, match):
    outputs = list(node.output)
    graph_out = outputs[-1] if outputs[-1] == "mask" else "y"
    proto = make_graph([node], shape, None, inits, output_name=graph_out)
    _fails(proto, match)


def test_bad_files_and_graph_shapes_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nf.onnx.load(tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00not onnx at all\xff" * 10)
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        nf.onnx.load(tmp_path / "junk.onnx")
    with pytest.raises(TypeError, match="path must be a str"):
        nf.onnx.load(3)
    two_inputs = make_graph([helper.make_node("Add", ["x", "z"], ["y"])], ["N", 3], ["N", 3])
    two_inputs.graph.input.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 3]))
    _fails(two_inputs, "one input, the graph has 2")
    half = make_graph([helper.make_node("Relu", ["x"], ["y"])], ["N", 3], ["N", 3],
                      elem_type=TensorProto.FLOAT16)
    _fails(half, "is FLOAT16; nnfast loads FLOAT or DOUBLE")
    constant_out = make_graph([helper.make_node("Relu", ["x"], ["a"])], ["N", 3], ["N", 3],
                              {"c": np.ones(3, np.float32)}, output_name="c")
    _fails(constant_out, "its output 'c' is not computed from its input")


@pytest.mark.parametrize("axis, opset, dim", [(3, 17, 3), (None, 17, -1), (-3, 13, -3), (1, 11, 1)])
def test_softmax_axis_loads_as_dim(axis, opset, dim):
    kwargs = {} if axis is None else {"axis": axis}
    shape = ["N", 4] if opset < 13 else ["N", 2, 5, 5]
    proto = make_graph([helper.make_node("Softmax", ["x"], ["y"], **kwargs)], shape, shape,
                       opset=opset)
    (layer,) = nf.onnx.load(proto)
    assert type(layer).__name__ == "Softmax" and layer.dim == dim


def test_softmax_before_opset_13_over_flattened_axes_is_refused():
    # opset < 13 normalised over axes axis..end flattened together
    proto = make_graph([helper.make_node("Softmax", ["x"], ["y"], axis=1)], ["N", 2, 5, 5],
                       ["N", 2, 5, 5], opset=11)
    _fails(proto, r"axis=1 over a rank-4 input \(opset 11\) normalises over several axes")


def test_missing_file_is_file_not_found_and_a_folder_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        nf.onnx.load(tmp_path / "none.onnx")
    with pytest.raises(ValueError, match="not a regular file"):
        nf.onnx.load(tmp_path)


def test_an_initializer_shorter_than_its_dims_is_refused_naming_it(tmp_path):
    import onnx
    path = tmp_path / "m.onnx"
    nf.onnx.export(nf.Sequential([nf.layers.Linear(3, 4)]), path, (3,))
    proto = onnx.load(path)
    init = next(t for t in proto.graph.initializer if len(t.dims) == 2)
    init.raw_data = init.raw_data[: len(init.raw_data) // 2]
    with pytest.raises(ValueError, match=repr(init.name)):
        nf.onnx.load(proto.SerializeToString())


# -- CumSum: the running sum of CumulativeSoftmax -------------------------------
def test_softmax_then_cumsum_loads_as_one_cumulative_softmax():
    nodes = [helper.make_node("Softmax", ["x"], ["p"], axis=-1),
             helper.make_node("CumSum", ["p", "axis"], ["y"])]
    proto = make_graph(nodes, ["N", 7], ["N", 7], {"axis": np.array(1, np.int64)})
    model = nf.onnx.load(proto)
    assert [type(layer).__name__ for layer in model] == ["CumulativeSoftmax"]
    x = f32(5, 7)
    np.testing.assert_allclose(model.predict(x), run_ort_proto(proto, x), rtol=1e-5, atol=1e-6)
    assert np.all(model.predict(x)[:, -1] == 1)   # our last bin is exactly 1


@pytest.mark.parametrize("first, axis, attrs, match", [
    ("Relu", 1, {}, "loads only straight after a Softmax over the same axis .* follows ReLU"),
    ("Softmax", 2, {}, "CumSum over axis 2 loads only straight after a Softmax over the same axis"),
    ("Softmax", 1, {"exclusive": 1}, "an exclusive or reverse running sum has no nnfast layer"),
    ("Softmax", 1, {"reverse": 1}, "an exclusive or reverse running sum has no nnfast layer"),
    ("Softmax", np.array([1, 2], np.int64), {}, "its axis must be one constant integer"),
    ("Softmax", np.array(1.0, np.float32), {}, "its axis must be one constant integer"),
])
def test_cumsum_nnfast_cannot_build_is_named(first, axis, attrs, match):
    nodes = [helper.make_node(first, ["x"], ["p"], **({"axis": 1} if first == "Softmax" else {})),
             helper.make_node("CumSum", ["p", "axis"], ["y"], **attrs)]
    _fails(make_graph(nodes, ["N", 3, 4], None, {"axis": np.asarray(axis, np.int64)
                                                   if isinstance(axis, int) else axis}), match)
