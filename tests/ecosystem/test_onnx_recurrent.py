"""nf.onnx export and load of RNN, LSTM, GRU and LastStep: ONNX Runtime, PyTorch's
exporter, the other spellings ONNX allows, and what nnfast refuses."""
import numpy as np
import pytest

import nnfast as nf

onnx = pytest.importorskip("onnx")
# torch.onnx.export(dynamo=False) warns that it is deprecated, and its tracer
# about the recurrent modules' own Python checks
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:Converting a tensor to a Python boolean")]
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from test_onnx_export import run_onnxruntime  # noqa: E402
from test_onnx_load import make_graph, torch_export  # noqa: E402

L = nf.layers
RECURRENT = {"RNN": L.RNN, "LSTM": L.LSTM, "GRU": L.GRU}


def recurrent_model(kind, num_layers, input_size=4, hidden_size=6, **kwargs):
    nf.seed(3)
    return nf.Sequential([RECURRENT[kind](input_size, hidden_size, num_layers=num_layers, **kwargs),
                          L.LastStep(), L.Linear(hidden_size, 3)])


def sequences(n_samples, steps, features, seed=0):
    return np.random.default_rng(seed).standard_normal((n_samples, steps, features)).astype(np.float32)


@pytest.mark.parametrize("kind", sorted(RECURRENT))
@pytest.mark.parametrize("num_layers", [1, 2])
def test_each_recurrent_layer_runs_in_onnxruntime(tmp_path, kind, num_layers):
    model = recurrent_model(kind, num_layers)
    nf.onnx.export(model, tmp_path / "m.onnx", (5, 4))
    for n_samples, steps in ((1, 5), (6, 5), (3, 9), (2, 1)):  # batch and seq_len both dynamic
        x = sequences(n_samples, steps, 4, seed=steps)
        out = run_onnxruntime(tmp_path / "m.onnx", x)
        np.testing.assert_allclose(out, model.predict(x), rtol=0, atol=1e-5)
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    assert repr(loaded) == repr(model)
    for p, q in zip(loaded.parameters(), model.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_rnn_relu_and_the_whole_output_sequence(tmp_path):
    nf.seed(0)
    model = nf.Sequential([L.RNN(3, 5, nonlinearity="relu", num_layers=2)])
    proto = nf.onnx.export(model, tmp_path / "m.onnx", (4, 3))
    rnn = [n for n in proto.graph.node if n.op_type == "RNN"]
    assert [helper.get_attribute_value(a) for n in rnn for a in n.attribute
            if a.name == "activations"] == [[b"Relu"], [b"Relu"]]
    dims = [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "sequence", 5]
    x = sequences(4, 7, 3)
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "m.onnx", x), model.predict(x),
                               rtol=0, atol=1e-5)


def test_graph_form_gate_order_and_names(tmp_path):
    nf.seed(1)
    model = nf.Sequential([L.GRU(4, 3, num_layers=2), L.LastStep(), L.Linear(3, 2)])
    proto = nf.onnx.export(model, tmp_path / "m.onnx", (5, 4))
    assert [n.op_type for n in proto.graph.node] == [
        "Transpose", "GRU", "Squeeze", "GRU", "Squeeze", "Transpose", "Gather", "Gemm"]
    gru = proto.graph.node[1]
    attrs = {a.name: helper.get_attribute_value(a) for a in gru.attribute}
    assert attrs == {"hidden_size": 3, "linear_before_reset": 1}
    assert len(gru.input) == 4  # X, W, R, B: no sequence_lens, zero initial state
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    gru_layer = model[0]
    W, B = inits[gru.input[1]], inits[gru.input[3]]
    # ONNX's z, r, h from PyTorch's r, z, n; B = W_b then R_b
    w = gru_layer.weight_ih_l0.value
    np.testing.assert_array_equal(W[0], np.concatenate([w[3:6], w[0:3], w[6:9]]))
    b_ih, b_hh = gru_layer.bias_ih_l0.value, gru_layer.bias_hh_l0.value
    np.testing.assert_array_equal(B[0, 9:], np.concatenate([b_hh[3:6], b_hh[0:3], b_hh[6:9]]))
    np.testing.assert_array_equal(B[0, :3], b_ih[3:6])
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "sequence", 4]


def test_lstm_gate_order_in_onnx(tmp_path):
    nf.seed(2)
    lstm = L.LSTM(2, 3)
    proto = nf.onnx.export(nf.Sequential([lstm]), tmp_path / "m.onnx", (4, 2))
    node = next(n for n in proto.graph.node if n.op_type == "LSTM")
    R = numpy_helper.to_array(next(t for t in proto.graph.initializer if t.name == node.input[2]))
    r = lstm.weight_hh_l0.value
    i, f, g, o = r[0:3], r[3:6], r[6:9], r[9:12]
    np.testing.assert_array_equal(R[0], np.concatenate([i, o, f, g]))


def test_a_fixed_length_model_keeps_its_seq_len(tmp_path):
    # a Flatten after the LSTM bakes seq_len into the Linear: the axis stays fixed
    nf.seed(4)
    model = nf.Sequential([L.LSTM(3, 2), L.Flatten(), L.Linear(10, 2)])
    proto = nf.onnx.export(model, tmp_path / "m.onnx", (5, 3))
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 5, 3]
    x = sequences(3, 5, 3)
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "m.onnx", x), model.predict(x),
                               rtol=0, atol=1e-5)
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_lengths_and_h0_are_not_part_of_the_graph(tmp_path):
    # the graph is the model on full-length sequences from a zero state
    model = recurrent_model("LSTM", 1)
    nf.onnx.export(model, tmp_path / "m.onnx", (5, 4))
    x = sequences(2, 5, 4)
    model[0].forward(x, lengths=[2, 5])  # a call with lengths leaves nothing behind
    np.testing.assert_allclose(run_onnxruntime(tmp_path / "m.onnx", x), model.predict(x),
                               rtol=0, atol=1e-5)


def test_float64_recurrent_models_load_as_float64(tmp_path):
    nf.seed(5)
    model = nf.Sequential([L.LSTM(3, 4, num_layers=2, dtype=np.float64), L.LastStep()])
    proto = nf.onnx.export(model, tmp_path / "m.onnx", (5, 3))
    assert proto.graph.input[0].type.tensor_type.elem_type == TensorProto.DOUBLE
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    assert loaded[0].weight_ih_l1.value.dtype == np.float64
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_separate_layers_load_as_one_stack(tmp_path):
    nf.seed(6)
    model = nf.Sequential([L.LSTM(3, 4), L.LSTM(4, 4), L.LastStep()])
    nf.onnx.export(model, tmp_path / "m.onnx", (5, 3))
    loaded = nf.onnx.load(tmp_path / "m.onnx")
    assert [type(layer).__name__ for layer in loaded] == ["LSTM", "LastStep"]
    assert loaded[0].num_layers == 2
    x = sequences(3, 5, 3)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=0, atol=1e-6)


# -- PyTorch's exporter --------------------------------------------------------------
def torch_sequence_model(torch, kind, num_layers, last_step):
    nn = torch.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, kind)(4, 6, num_layers=num_layers, batch_first=True)
            self.fc = nn.Linear(6, 3)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[:, -1]) if last_step else out

    return Classifier().eval()


@pytest.mark.parametrize("kind", sorted(RECURRENT))
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("last_step", [True, False], ids=["last-step-linear", "sequence"])
@pytest.mark.parametrize("dynamic", [True, False], ids=["dynamic", "static"])
def test_torch_exports_load_and_give_torchs_outputs(tmp_path, torch, kind, num_layers, last_step,
                                                    dynamic):
    torch.manual_seed(0)
    net = torch_sequence_model(torch, kind, num_layers, last_step)
    torch_export(torch, net, tmp_path / "t.onnx", torch.zeros(2, 5, 4), dynamic)
    model = nf.onnx.load(tmp_path / "t.onnx")
    expected_kinds = [kind, "LastStep", "Linear"] if last_step else [kind]
    assert [type(layer).__name__ for layer in model] == expected_kinds
    assert model[0].num_layers == num_layers
    x = sequences(2, 5, 4, seed=1)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-5)
    for p, (name, q) in zip(model.parameters(), net.named_parameters()):
        np.testing.assert_allclose(p.value, q.detach().numpy(), rtol=0, atol=0, err_msg=name)


def dynamo_export(torch, net, path, example, dynamic):
    """torch.onnx.export(dynamo=True): needs onnxscript (skip without it)."""
    pytest.importorskip("onnxscript")
    shapes = ({0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")},) if dynamic else None
    torch.onnx.export(net, (example,), str(path), input_names=["input"], output_names=["output"],
                      opset_version=18, dynamo=True, dynamic_shapes=shapes)


# torch's dynamo tracer warns about nn.LSTM's own attributes and its own deprecations
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("kind, num_layers, last_step, dynamic", [
    ("LSTM", 1, True, True), ("LSTM", 2, True, False), ("GRU", 2, True, False), ("GRU", 1, False, False)])
def test_torch_dynamo_exports_load_and_give_torchs_outputs(tmp_path, torch, kind, num_layers,
                                                          last_step, dynamic):
    # the dynamo exporter writes Y through Transpose(perm=[0, 2, 1, 3]) and a Reshape
    torch.manual_seed(2)
    net = torch_sequence_model(torch, kind, num_layers, last_step)
    dynamo_export(torch, net, tmp_path / "t.onnx", torch.zeros(2, 5, 4), dynamic)
    model = nf.onnx.load(tmp_path / "t.onnx")
    assert [type(layer).__name__ for layer in model] == ([kind, "LastStep", "Linear"] if last_step
                                                         else [kind])
    assert model[0].num_layers == num_layers
    x = sequences(2, 5, 4, seed=3)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-5)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("dynamic", [True, False], ids=["dynamic", "static"])
def test_torch_dynamo_unrolled_rnn_is_named(tmp_path, torch, dynamic):
    net = torch_sequence_model(torch, "RNN", 1, True)
    dynamo_export(torch, net, tmp_path / "t.onnx", torch.zeros(2, 5, 4), dynamic)
    with pytest.raises(ValueError, match=r"torch.onnx.export\(dynamo=True\) writes nn.RNN unrolled "
                                         r"into MatMul, Add and Tanh nodes per time step"):
        nf.onnx.load(tmp_path / "t.onnx")


def test_torch_relu_rnn_loads(tmp_path, torch):
    torch.manual_seed(1)
    class Sequence(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.RNN(3, 4, nonlinearity="relu", batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0]

    net = Sequence().eval()
    torch_export(torch, net, tmp_path / "t.onnx", torch.zeros(2, 5, 3))
    model = nf.onnx.load(tmp_path / "t.onnx")
    assert model[0].nonlinearity == "relu"
    x = sequences(3, 5, 3)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-5)


def test_torch_final_state_output_is_named(tmp_path, torch):
    class FromFinalState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(3, 4, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[1][-1]

    torch_export(torch, FromFinalState().eval(), tmp_path / "t.onnx", torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match=r"its output Y_h .* is used: nnfast's GRU gives the "
                                         r"output sequence Y \(take its last step with LastStep\)"):
        nf.onnx.load(tmp_path / "t.onnx")


# -- hand-built graphs ----------------------------------------------------------------
def onnx_recurrent(op, hidden=3, features=2, layout=0, attributes=None, extra_inputs=(),
                   inits=None, squeeze_axis=None, transposes=True):
    """A graph of one ONNX recurrent node on (N, 5, features), with random weights;
    ``extra_inputs`` continue the node's inputs after X, W, R, B."""
    rng = np.random.default_rng(0)
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[op]
    weights = {"W": rng.standard_normal((1, gates * hidden, features)).astype(np.float32),
               "R": rng.standard_normal((1, gates * hidden, hidden)).astype(np.float32),
               "B": rng.standard_normal((1, 2 * gates * hidden)).astype(np.float32),
               "axes": np.array([1 if layout == 0 else 2] if squeeze_axis is None else [squeeze_axis])}
    weights.update(inits or {})
    nodes, x = [], "x"
    if transposes and layout == 0:
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]))
        x = "xt"
    attributes = {"hidden_size": hidden, **({"layout": layout} if layout else {}),
                  **({"linear_before_reset": 1} if op == "GRU" else {}), **(attributes or {})}
    nodes.append(helper.make_node(op, [x, "W", "R", "B", *extra_inputs], ["Y"], **attributes))
    nodes.append(helper.make_node("Squeeze", ["Y", "axes"], ["s"]))
    if transposes and layout == 0:
        nodes.append(helper.make_node("Transpose", ["s"], ["y"], perm=[1, 0, 2]))
    else:
        nodes[-1].output[0] = "y"
    return make_graph(nodes, ["N", 5, features], ["N", 5, hidden], weights)


def run_ort_proto(proto, x):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("op", sorted(RECURRENT))
def test_hand_built_graphs_give_onnxruntimes_outputs(op):
    # B with W_b and R_b apart (they are added separately in a GRU's new gate)
    proto = onnx_recurrent(op, hidden=4, features=3)
    model = nf.onnx.load(proto)
    x = sequences(3, 5, 3)
    np.testing.assert_allclose(model.predict(x), run_ort_proto(proto, x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("op", sorted(RECURRENT))
def test_batch_first_layout_1_loads(op):
    time_major = onnx_recurrent(op, hidden=4, features=3)
    batch_first = onnx_recurrent(op, hidden=4, features=3, layout=1)
    x = sequences(3, 5, 3)
    model = nf.onnx.load(batch_first)
    assert [type(layer).__name__ for layer in model] == [op]
    np.testing.assert_allclose(model.predict(x), run_ort_proto(time_major, x), rtol=0, atol=1e-5)


def test_zero_initial_states_and_no_bias_load():
    zeros = np.zeros((1, 2, 3), np.float32)
    proto = onnx_recurrent("LSTM", extra_inputs=["", "h0", "c0"], inits={"h0": zeros, "c0": zeros})
    del proto.graph.node[1].input[3]   # no B: zero biases
    proto.graph.node[1].input[3:3] = [""]
    model = nf.onnx.load(proto)
    assert not any(np.any(p.value) for p in model[0].parameters()[2:])
    x = sequences(2, 5, 2)
    np.testing.assert_allclose(model.predict(x), run_ort_proto(proto, x), rtol=0, atol=1e-5)


def _fails(proto, match):
    with pytest.raises(ValueError, match=match):
        nf.onnx.load(proto)


@pytest.mark.parametrize("op, attributes, match", [
    ("LSTM", {"direction": "bidirectional"}, r"direction='bidirectional': nnfast's LSTM runs forward only"),
    ("GRU", {"direction": "reverse"}, "direction='reverse'"),
    ("LSTM", {"clip": 3.0}, "the attribute clip=3.0: nnfast's LSTM has no cell clipping"),
    ("RNN", {"activation_alpha": [0.5]}, "activation_alpha"),
    ("RNN", {"activations": ["Sigmoid"]}, r"activations=\['Sigmoid'\]: nnfast's RNN has Tanh or Relu"),
    ("LSTM", {"activations": ["Sigmoid", "Tanh", "Relu"]}, r"the default \['Sigmoid', 'Tanh', 'Tanh'\] only"),
    ("GRU", {"activations": ["HardSigmoid", "Tanh"]}, r"activations=\['HardSigmoid', 'Tanh'\]"),
    ("LSTM", {"input_forget": 1}, "input_forget=1"),
    ("GRU", {"linear_before_reset": 0}, "linear_before_reset=0"),
    ("LSTM", {"layout": 2}, "layout=2"),
])
def test_attributes_nnfast_lacks_are_named(op, attributes, match):
    _fails(onnx_recurrent(op, attributes=attributes), match)


def test_inputs_nnfast_lacks_are_named():
    hidden = 3
    _fails(onnx_recurrent("LSTM", extra_inputs=["", "", "", "P"],
                          inits={"P": np.ones((1, 3 * hidden), np.float32)}),
           r"peepholes \(input P\)")
    _fails(onnx_recurrent("GRU", extra_inputs=["lens"], inits={"lens": np.array([5, 5], np.int32)}),
           "sequence_lens input: nnfast's lengths is an argument of forward")
    _fails(onnx_recurrent("RNN", extra_inputs=["", "h0"], inits={"h0": np.ones((1, 2, hidden), np.float32)}),
           "its initial state initial_h is not zero")
    _fails(onnx_recurrent("LSTM", extra_inputs=["", "", "c0"],
                          inits={"c0": np.full((1, 2, hidden), 0.5, np.float32)}),
           "its initial state initial_c is not zero")
    _fails(onnx_recurrent("LSTM", inits={"W": np.ones((1, 12, 2, 1), np.float32)}), "its weight W has shape")
    _fails(onnx_recurrent("GRU", inits={"R": np.ones((1, 9, 2), np.float32)}), r"its weight R has shape \(1, 9, 2\)")
    _fails(onnx_recurrent("RNN", inits={"B": np.ones((1, 3), np.float32)}), r"its bias B has shape \(1, 3\)")


def test_layouts_and_the_forms_around_the_node_are_checked():
    _fails(onnx_recurrent("LSTM", transposes=False),
           r"layout=0 reads \(seq_len, batch, input_size\).* a Transpose\(perm=\[1, 0, 2\]\) must come before it")
    _fails(onnx_recurrent("GRU", squeeze_axis=0), r"a Squeeze of axes \(0,\) of Y, with its num_directions axis")
    proto = onnx_recurrent("RNN", layout=1)
    proto.graph.node[1].op_type = "Relu"   # Y read by something else than a Squeeze
    del proto.graph.node[1].input[1]
    _fails(proto, r"its output 'Y' \(Y, with its num_directions axis\) must be read by one Squeeze")
    proto = onnx_recurrent("RNN")
    proto.graph.node[2].op_type = "Relu"   # the same, time-major
    del proto.graph.node[2].input[1]
    _fails(proto, r"it makes the data time-major .*; Relu '' reads it")
    proto = onnx_recurrent("RNN")
    proto.graph.node[0].attribute[0].ints[:] = [0, 2, 1]
    _fails(proto, r"a Transpose with perm=\[0, 2, 1\] of a rank-3 tensor has no nnfast layer")
    # a time-major tensor read by something else than a recurrent node
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2]),
             helper.make_node("Relu", ["t"], ["r"]),
             helper.make_node("Transpose", ["r"], ["y"], perm=[1, 0, 2])]
    _fails(make_graph(nodes, ["N", 5, 2], ["N", 5, 2]),
           r"it makes the data time-major .*; Relu '' reads it")
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Squeeze", ["r", "a"], ["y"])]
    _fails(make_graph(nodes, ["N", 1, 2], ["N", 2], {"a": np.array([1])}),
           "a Squeeze of the data has no nnfast layer")


@pytest.mark.parametrize("index, axis, ok", [(-1, 1, True), (4, 1, True), (3, 1, False), (-1, 2, False),
                                             (np.array([-1]), 1, False), (0, 0, False)])
def test_gather_is_the_last_step_only(index, axis, ok):
    nodes = [helper.make_node("Gather", ["x", "i"], ["y"], axis=axis)]
    proto = make_graph(nodes, ["N", 5, 2], ["N", 2], {"i": np.array(index, np.int64)})
    if not ok:
        _fails(proto, r"a Gather of indices .* has no nnfast layer: nnfast has LastStep")
        return
    model = nf.onnx.load(proto)
    assert [type(layer).__name__ for layer in model] == ["LastStep"]
    x = sequences(3, 5, 2)
    np.testing.assert_array_equal(model.predict(x), x[:, -1])


def test_slice_of_the_last_step_then_squeeze():
    big = np.iinfo(np.int64).max
    nodes = [helper.make_node("Slice", ["x", "s", "e", "a"], ["t"]),
             helper.make_node("Squeeze", ["t", "a"], ["y"])]
    inits = {"s": np.array([-1]), "e": np.array([big]), "a": np.array([1])}
    model = nf.onnx.load(make_graph(nodes, ["N", 5, 2], ["N", 2], inits))
    assert [type(layer).__name__ for layer in model] == ["LastStep"]
    inits["s"] = np.array([0])
    _fails(make_graph(nodes, ["N", 5, 2], ["N", 2], inits), r"a Slice of the data \(starts \[0\]")
