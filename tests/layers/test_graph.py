"""nf.Graph and its joins Concat and Add: forward and backward against PyTorch
with the same weights (a node feeding several, several inputs and outputs),
float64 gradient checks, the ReLU fusions kept, the input-gradient switch,
nf.fit / evaluate / predict, save/load (crafted descriptions included), ONNX's
refusal of several inputs, and bad input at build and at run time."""
import copy
import json

import numpy as np
import pytest

import nnfast as nf
from nnfast import layers as L
from conftest import assert_close


def tensor(torch, a, grad=False):
    return torch.from_numpy(np.array(a)).requires_grad_(grad)


def tolerance(dtype):
    return 2e-4 if dtype == np.float32 else 1e-10


# -- a single-input graph: fan-out, Concat (a node given twice), Add, fusions --
def fan_out_graph(c, dtype, seed=0):
    """a = conv(x) feeds a ReLU and an Add (no fusion: two consumers); the
    ReLU b feeds a Concat twice and the Add; e's BatchNorm feeds only a ReLU
    (fused), which feeds only a MaxPool."""
    g = nf.Graph()
    x = g.input("image")
    a = g.add(L.Conv2D(c, 4, 3, padding=1, dtype=dtype, rng=seed), x, name="a")
    b = g.add(L.ReLU(), a, name="b")
    cat = g.add(L.Concat(dim=1), b, x, b, name="cat")
    # no bias: the BatchNorm after the sum would make its gradient 0
    d = g.add(L.Conv2D(8 + c, 4, 1, bias=False, dtype=dtype, rng=seed + 1), cat, name="d")
    e = g.add(L.Add(), d, a, b, name="e")
    f = g.add(L.BatchNorm2D(4, dtype=dtype), e, name="f")
    r = g.add(L.ReLU(), f, name="r")
    p = g.add(L.MaxPool2D(2), r, name="p")
    g.output(g.add(L.Conv2D(4, 2, 1, dtype=dtype, rng=seed + 2), p, name="out"))
    return g


def torch_fan_out(torch, g, x):
    F = torch.nn.functional
    w = {k: tensor(torch, v, True) for k, v in g.state_dict().items() if "running" not in k
         and "num_batches" not in k}
    a = F.conv2d(x, w["a.weight"], w["a.bias"], padding=1)
    b = F.relu(a)
    d = F.conv2d(torch.cat([b, x, b], dim=1), w["d.weight"])
    f = F.batch_norm(d + a + b, None, None, w["f.weight"], w["f.bias"], training=True)
    out = F.conv2d(F.max_pool2d(F.relu(f), 2), w["out.weight"], w["out.bias"])
    return out, w


def random_image(seed, dtype, channels=None, even=True):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5))
    c = int(rng.integers(1, 4)) if channels is None else channels
    h, w = (2 * rng.integers(2, 6, size=2)) if even else rng.integers(3, 9, size=2)
    return rng.standard_normal((n, c, int(h), int(w))).astype(dtype)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fan_out_graph_matches_torch(seed, dtype, torch):
    x = random_image(seed, dtype)
    g = fan_out_graph(x.shape[1], dtype, seed)
    out = g.forward(x)
    grad = np.random.default_rng([seed, 9]).standard_normal(out.shape).astype(dtype)
    grad_x = g.backward(grad)
    tx = tensor(torch, x, True)
    t_out, w = torch_fan_out(torch, g, tx)
    t_out.backward(tensor(torch, grad))
    rtol = tolerance(dtype)
    assert out.dtype == dtype and grad_x.dtype == dtype
    assert_close(out, t_out.detach().numpy(), dtype, rtol)
    assert_close(grad_x, tx.grad.numpy(), dtype, rtol)
    named = dict(g.named_parameters())
    assert list(named) == list(w)
    for key, p in named.items():
        assert_close(p.grad, w[key].grad.numpy(), dtype, rtol)


# -- several inputs and several outputs -----------------------------------------
def two_by_two(dtype, seed=0):
    """inputs "image" (N, 3, H, W) and "mask" (N, 1, H, W); outputs the
    segmentation logits (N, 2, H, W) and class logits (N, 5)."""
    g = nf.Graph()
    image, mask = g.input("image"), g.input("mask")
    joined = g.add(L.Concat(dim=1), image, mask, name="joined")
    h = g.add(L.Conv2D(4, 4, 3, padding=1, dtype=dtype, rng=seed), joined, name="enc")
    h = g.add(L.ReLU(), h, name="enc_relu")
    seg = g.add(L.Conv2D(4, 2, 1, dtype=dtype, rng=seed + 1), h, name="seg")
    flat = g.add(L.Flatten(), h, name="flat")
    cls = g.add(L.Linear(4 * 6 * 5, 5, dtype=dtype, rng=seed + 2), flat, name="cls")
    g.output(seg, cls)
    return g


def torch_two_by_two(torch, g, image, mask):
    F = torch.nn.functional
    w = {k: tensor(torch, v, True) for k, v in g.state_dict().items()}
    h = F.relu(F.conv2d(torch.cat([image, mask], 1), w["enc.weight"], w["enc.bias"], padding=1))
    seg = F.conv2d(h, w["seg.weight"], w["seg.bias"])
    cls = F.linear(h.flatten(1), w["cls.weight"], w["cls.bias"])
    return (seg, cls), w


@pytest.mark.parametrize("seed", [0, 1])
def test_several_inputs_and_outputs_match_torch(seed, dtype, torch):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    x = {"image": rng.standard_normal((n, 3, 6, 5)).astype(dtype),
         "mask": rng.standard_normal((n, 1, 6, 5)).astype(dtype)}
    g = two_by_two(dtype, seed)
    seg, cls = g.forward(x)
    grads = [rng.standard_normal(seg.shape).astype(dtype),
             rng.standard_normal(cls.shape).astype(dtype)]
    grad_in = g.backward(grads)
    assert isinstance(grad_in, dict) and list(grad_in) == ["image", "mask"]
    ti, tm = tensor(torch, x["image"], True), tensor(torch, x["mask"], True)
    (t_seg, t_cls), w = torch_two_by_two(torch, g, ti, tm)
    torch.autograd.backward([t_seg, t_cls], [tensor(torch, grads[0]), tensor(torch, grads[1])])
    rtol = tolerance(dtype)
    assert_close(seg, t_seg.detach().numpy(), dtype, rtol)
    assert_close(cls, t_cls.detach().numpy(), dtype, rtol)
    assert_close(grad_in["image"], ti.grad.numpy(), dtype, rtol)
    assert_close(grad_in["mask"], tm.grad.numpy(), dtype, rtol)
    for key, p in g.named_parameters():
        assert_close(p.grad, w[key].grad.numpy(), dtype, rtol)


def test_a_none_output_gradient_counts_as_zero():
    rng = np.random.default_rng(0)
    x = {"image": rng.standard_normal((2, 3, 6, 5)), "mask": rng.standard_normal((2, 1, 6, 5))}
    g = two_by_two(np.float64)
    twin = copy.deepcopy(g)
    seg, cls = g.forward(x)
    twin.forward(x)
    g_seg = rng.standard_normal(seg.shape)
    a = g.backward((g_seg, None))
    b = twin.backward([g_seg, np.zeros(cls.shape)])
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-14, atol=1e-14)
    for p, q in zip(g.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-14, atol=1e-14)


def test_an_input_no_output_depends_on_gets_none():
    g = nf.Graph()
    x, unused = g.input("x"), g.input("unused")
    g.output(g.add(L.Linear(3, 2, dtype=np.float64, rng=0), x))
    out = g.forward({"x": np.ones((4, 3)), "unused": np.ones((4, 7))})
    grads = g.backward(np.ones(out.shape))
    assert grads["unused"] is None and grads["x"].shape == (4, 3)


def test_multi_input_gradients_by_central_differences():
    """gradcheck takes one array; the dict of input gradients is checked here
    with the same central differences."""
    rng = np.random.default_rng(4)
    x = {"image": rng.standard_normal((2, 3, 6, 5)), "mask": rng.standard_normal((2, 1, 6, 5))}
    g = two_by_two(np.float64, 3)
    outs = g.forward(x)
    weights = [rng.standard_normal(o.shape) for o in outs]
    analytic = g.backward(weights)

    def f():
        return sum(float(np.sum(o * w)) for o, w in zip(g.forward(x), weights))
    eps = 1e-6
    for name, value in x.items():
        flat = value.reshape(-1)
        for i in rng.choice(flat.size, 40, replace=False):
            old = flat[i]
            flat[i] = old + eps
            up = f()
            flat[i] = old - eps
            down = f()
            flat[i] = old
            assert (up - down) / (2 * eps) == pytest.approx(analytic[name].reshape(-1)[i],
                                                            rel=1e-6, abs=1e-8)


# -- gradient checks ---------------------------------------------------------------
def concat_graph(dtype):
    g = nf.Graph()
    x = g.input()
    a = g.add(L.Conv2D(2, 3, 3, padding=1, dtype=dtype, rng=1), x)
    b = g.add(L.Tanh(), x)
    c = g.add(L.Concat(dim=-1), a, g.add(L.Conv2D(2, 3, 1, dtype=dtype, rng=2), b))
    g.output(g.add(L.Conv2D(3, 2, (1, 3), dtype=dtype, rng=3), c))
    return g


def add_graph(dtype):
    g = nf.Graph()
    x = g.input()
    a = g.add(L.Conv2D(2, 3, 3, padding=1, dtype=dtype, rng=1), x)
    b = g.add(L.Conv2D(2, 3, 1, dtype=dtype, rng=2), x)
    s = g.add(L.Add(), a, b, a)
    g.output(g.add(L.Sigmoid(), s))
    return g


GRAPHS = {"fan-out": lambda dtype: fan_out_graph(2, dtype), "concat": concat_graph,
          "add": add_graph}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_gradcheck(name):
    g = GRAPHS[name](np.float64)
    x = np.random.default_rng(1).standard_normal((3, 2, 4, 6))
    errors = nf.gradcheck(g, x)
    assert len(errors) == 1 + len(g.parameters())


def test_concat_and_add_layers_match_torch(dtype, torch):
    rng = np.random.default_rng(2)
    parts = [rng.standard_normal((2, k, 3, 4)).astype(dtype) for k in (1, 3, 2)]
    cat = L.Concat(dim=1)
    out = cat.forward(*parts)
    tparts = [tensor(torch, p, True) for p in parts]
    t_out = torch.cat(tparts, dim=1)
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    g = rng.standard_normal(out.shape).astype(dtype)
    t_out.backward(tensor(torch, g))
    for ours, t in zip(cat.backward(g), tparts):
        np.testing.assert_array_equal(ours, t.grad.numpy())
    add = L.Add()
    same = [rng.standard_normal((2, 3, 4)).astype(dtype) for _ in range(3)]
    total = add.forward(*same)
    assert total.dtype == dtype
    assert_close(total, same[0] + same[1] + same[2], dtype)
    grads = add.backward(np.ones_like(total))
    assert len(grads) == 3 and all(np.array_equal(q, np.ones_like(total)) for q in grads)
    assert not grads[0].flags.writeable    # one array shared: nobody may write it


def test_merge_layers_cast_to_the_first_inputs_dtype():
    out = L.Concat().forward(np.ones((1, 2), np.float32), np.ones((1, 3), np.float64))
    assert out.dtype == np.float32 and out.shape == (1, 5)
    assert L.Add().forward(np.ones(3), np.ones(3, np.float32)).dtype == np.float64


# -- the ReLU fusions are kept, and give what the unfused layers give ------------
def unfused(g):
    """A copy of ``g`` that runs every node by itself."""
    twin = copy.deepcopy(g)
    plan = twin._get_plan()
    plan["fused_forward"], plan["fused_backward"] = {}, {}
    return twin


def spy(layer, method, calls):
    original = getattr(layer, method)

    def wrapped(*args):
        calls.append((type(layer).__name__, method))
        return original(*args)
    setattr(layer, method, wrapped)


def fusion_graph(dtype):
    g = nf.Graph()
    x = g.input()
    a = g.add(L.Conv2D(2, 4, 3, padding=1, dtype=dtype, rng=0), x, name="conv")
    r = g.add(L.ReLU(), a, name="conv_relu")                # fused forward
    b = g.add(L.BatchNorm2D(4, dtype=dtype), r, name="bn")
    b = g.add(L.ReLU(), b, name="bn_relu")                  # fused forward
    s = g.add(L.Add(), b, r, name="sum")
    t = g.add(L.ReLU(), s, name="sum_relu")                 # fused backward (into the pool)
    p = g.add(L.MaxPool2D(2), t, name="pool")
    f = g.add(L.Flatten(), p)
    h = g.add(L.Linear(4 * 3 * 4, 5, dtype=dtype, rng=1), f, name="fc")
    g.output(g.add(L.ReLU(), h, name="fc_relu"))            # fused forward, an output
    return g


def test_fusions_are_planned_where_a_layer_feeds_only_a_relu():
    g = fusion_graph(np.float32)
    plan = g._get_plan()
    names = {n.index: n.name for n in g.nodes}
    assert {names[i]: names[j] for i, j in plan["fused_forward"].items()} == {
        "conv": "conv_relu", "bn": "bn_relu", "fc": "fc_relu"}
    assert {names[i]: names[j] for i, j in plan["fused_backward"].items()} == {"pool": "sum_relu"}
    # a layer feeding a ReLU and another node, or being an output, is not fused
    g = nf.Graph()
    x = g.input()
    a = g.add(L.Conv2D(1, 2, 1), x)
    b = g.add(L.ReLU(), a)
    c = g.add(L.Conv2D(2, 2, 1), b)
    g.output(g.add(L.Add(), a, b), c, g.add(L.ReLU(), c))
    assert g._get_plan()["fused_forward"] == {}


def test_fused_graph_is_bitwise_the_unfused_one(dtype):
    g = fusion_graph(dtype)
    twin = unfused(g)
    calls = []
    for n in g.layer_nodes:
        for method in ("forward", "forward_relu", "backward", "backward_relu"):
            if hasattr(n.layer, method):
                spy(n.layer, method, calls)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 6, 8)).astype(dtype)
    out = g.forward(x).copy()
    grad = rng.standard_normal(out.shape).astype(dtype)
    grad_x = g.backward(grad).copy()
    assert {("Conv2D", "forward_relu"), ("BatchNorm2D", "forward_relu"),
            ("Linear", "forward_relu")} <= set(calls)
    assert ("MaxPool2D", "backward_relu") in calls
    assert calls.count(("ReLU", "forward")) == 1        # sum_relu only
    assert calls.count(("ReLU", "backward")) == 3       # conv_relu, bn_relu and fc_relu
    np.testing.assert_array_equal(out, twin.forward(x))
    np.testing.assert_array_equal(grad_x, twin.backward(grad))
    for p, q in zip(g.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)
    for (k, a), (_, b) in zip(g.named_buffers(), twin.named_buffers()):
        np.testing.assert_array_equal(a, b, err_msg=k)


def test_fused_graph_gradcheck():
    x = np.random.default_rng(5).standard_normal((3, 2, 6, 8))
    nf.gradcheck(fusion_graph(np.float64), x)


# -- the input-gradient switch, nf.fit, evaluate, predict ---------------------------
def test_flatten_first_graph_skips_input_gradient_and_fills_parameters():
    g = nf.Graph()
    x = g.input()
    f = g.add(L.Flatten(), x)
    h = g.add(L.Linear(12, 4, dtype=np.float64, rng=0), f)
    g.output(g.add(L.Linear(4, 2, dtype=np.float64, rng=1), g.add(L.ReLU(), h)))
    off = g.layers_without_input_grad()
    assert off[0] is g and {type(layer).__name__ for layer in off[1:]} == {"Flatten", "Linear"}
    assert g.layer_nodes[2].layer not in off     # the ReLU after the first Linear needs it
    twin = copy.deepcopy(g)
    x = np.random.default_rng(0).standard_normal((5, 3, 2, 2))
    grad = np.random.default_rng(1).standard_normal((5, 2))
    twin.forward(x)
    assert twin.backward(grad).shape == x.shape
    for layer in off:
        layer.requires_input_grad = False
    g.forward(x)
    assert g.backward(grad) is None
    for p, q in zip(g.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-14)


def test_input_that_also_feeds_a_join_still_trains_without_input_gradient():
    g = nf.Graph()
    x = g.input()
    h = g.add(L.Conv2D(2, 3, 3, padding=1, dtype=np.float64, rng=0), x)
    g.output(g.add(L.Conv2D(5, 1, 1, dtype=np.float64, rng=1), g.add(L.Concat(), h, x)))
    off = g.layers_without_input_grad()
    assert off == [g, g.layer_nodes[0].layer]
    twin = copy.deepcopy(g)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4))
    grad = np.ones((2, 1, 4, 4))
    twin.forward(x)
    twin.backward(grad)
    for layer in off:
        layer.requires_input_grad = False
    g.forward(x)
    assert g.backward(grad) is None
    for p, q in zip(g.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-14)


def segmentation_data(n, seed=0, size=16):
    """Images (n, 1, size, size) and label maps (n, size, size): a pixel is
    class 1 where its 3x3 neighbourhood's mean is above 0.2 (a rule a small
    convolution can learn)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 1, size, size)).astype(np.float32)
    padded = np.pad(X[:, 0], ((0, 0), (1, 1), (1, 1)))
    mean = sum(padded[:, i:i + size, j:j + size] for i in range(3) for j in range(3)) / 9
    return X, (mean > 0.2).astype(np.int64)


def seg_graph():
    g = nf.Graph()
    x = g.input("image")
    h = g.add(L.Conv2D(1, 6, 3, padding=1, rng=0), x)
    h = g.add(L.ReLU(), h)
    c = g.add(L.Concat(dim=1), h, x)
    g.output(g.add(L.Conv2D(7, 1, 1, rng=1), c))
    return g


def test_fit_trains_a_graph_and_evaluate_predict_work():
    X, y = segmentation_data(96)
    target = y[:, None].astype(np.float32)
    g = seg_graph()
    loss = nf.losses.BCEWithLogitsLoss()
    before = g.evaluate(X, target, loss=loss)["loss"]
    history = nf.fit(g, X, target, loss=loss, optimizer=nf.optim.Adam(g.parameters(), lr=0.02),
                     epochs=6, batch_size=16, verbose=0)
    assert history.loss[-1] < 0.8 * history.loss[0]
    after = g.evaluate(X, target, loss=loss)["loss"]
    assert after < 0.8 * before
    pred = g.predict(X, batch_size=40)
    assert pred.shape == (96, 1, 16, 16) and pred.dtype == np.float32
    assert np.mean((pred[:, 0] > 0) == (y == 1)) > 0.85   # all-0 would score about 0.75
    # fit restored the flags it switched off
    assert all(layer.requires_input_grad for layer in [g] + g.layers)


def test_fit_trains_a_graph_with_cross_entropy_on_label_maps():
    X, y = segmentation_data(64)
    g = nf.Graph()
    x = g.input("image")
    h = g.add(L.ReLU(), g.add(L.Conv2D(1, 6, 3, padding=1, rng=0), x))
    g.output(g.add(L.Conv2D(7, 2, 1, rng=1), g.add(L.Concat(dim=1), h, x)))
    history = nf.fit(g, X, y, loss=nf.losses.CrossEntropyLoss(),
                     optimizer=nf.optim.Adam(g.parameters(), lr=0.02), epochs=4, batch_size=16,
                     verbose=0)
    assert history.loss[-1] < history.loss[0]


@pytest.mark.parametrize("kind", ["two-inputs", "two-outputs"])
def test_predict_on_several_inputs_or_outputs(kind):
    rng = np.random.default_rng(0)
    if kind == "two-inputs":
        g = nf.Graph()
        a, b = g.input("a"), g.input("b")
        g.output(g.add(L.Add(), a, b))
        x = {"a": rng.standard_normal((5, 3)), "b": rng.standard_normal((5, 3))}
        expected = x["a"] + x["b"]
    else:
        g = nf.Graph()
        a = g.input()
        g.output(g.add(L.ReLU(), a), g.add(L.Tanh(), a))
        x = rng.standard_normal((5, 3))
        expected = (np.maximum(x, 0), np.tanh(x))
    got = g.predict(x, batch_size=2)
    assert isinstance(got, tuple) == (kind == "two-outputs")
    for p, e in zip(got if isinstance(got, tuple) else [got],
                    expected if isinstance(expected, tuple) else [expected]):
        np.testing.assert_allclose(p, e, rtol=1e-6)


def test_predict_of_unequal_input_counts_is_refused():
    g = nf.Graph()
    a, b = g.input("a"), g.input("b")
    g.output(g.add(L.Add(), a, b))
    with pytest.raises(ValueError, match="same number of samples"):
        g.predict({"a": np.zeros((5, 3)), "b": np.zeros((4, 3))})
    with pytest.raises(TypeError, match=r"X\['a'\]"):
        g.predict({"a": np.array(["x"] * 5), "b": np.zeros((5, 3))})


# -- save and load --------------------------------------------------------------
def test_save_load_several_inputs_outputs_and_named_nodes(tmp_path, dtype):
    g = two_by_two(dtype, 5)
    rng = np.random.default_rng(0)
    x = {"image": rng.standard_normal((3, 3, 6, 5)).astype(dtype),
         "mask": rng.standard_normal((3, 1, 6, 5)).astype(dtype)}
    g.save(tmp_path / "g.npz")
    back = nf.load(tmp_path / "g.npz")
    assert type(back) is nf.Graph
    assert [n.name for n in back.nodes] == [n.name for n in g.nodes]
    assert [n.name for n in back.output_nodes] == ["seg", "cls"]
    assert [[s.name for s in n.inputs] for n in back.nodes] == [[s.name for s in n.inputs]
                                                                 for n in g.nodes]
    assert list(back.state_dict()) == list(g.state_dict())
    for a, b in zip(back.forward(x), g.forward(x)):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_save_load_keeps_batchnorm_statistics_in_a_graph(tmp_path):
    g = fan_out_graph(2, np.float32)
    x = random_image(3, np.float32, channels=2)
    for _ in range(3):
        g.forward(x)
    nf.save(g, tmp_path / "g.npz")
    back = nf.load(tmp_path / "g.npz")
    for (k, a), (_, b) in zip(g.named_buffers(), back.named_buffers()):
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert float(back.state_dict()["f.num_batches_tracked"]) == 3
    np.testing.assert_array_equal(back.predict(x), g.predict(x))


def saved_graph(tmp_path):
    path = tmp_path / "g.npz"
    two_by_two(np.float32).save(path)
    return path


def rewrite_model(path, change):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["header"]))
    change(header["model"])
    arrays["header"] = np.array(json.dumps(header))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _set(key, value):
    return lambda m: m.__setitem__(key, value)


def _node(i, key, value):
    return lambda m: m["nodes"][i].__setitem__(key, value)


def _swap_first_two(m):
    m["nodes"][0], m["nodes"][1] = m["nodes"][1], m["nodes"][0]


@pytest.mark.parametrize("change, words", [
    (_node(1, "inputs", ["nowhere"]), "node 1 reads an unknown node 'nowhere'"),
    (_node(1, "inputs", [3]), "node 1 reads an unknown node 3"),
    (_swap_first_two, "node 0 reads an unknown node 'joined'"),          # a later node
    (_node(0, "inputs", ["joined"]), "node 0 reads an unknown node 'joined'"),  # itself
    (_set("outputs", ["seg", "missing"]), "the output 'missing' is an unknown node"),
    (_set("outputs", []), "output\\(\\) needs at least one node"),
    (_set("outputs", "seg"), "Graph without inputs, nodes and outputs"),
    (lambda m: m.pop("nodes"), "Graph without inputs, nodes and outputs"),
    (_set("inputs", ["image", "image"]), "name 'image' is already used"),
    (_set("inputs", ["image", 7]), "name must be a non-empty str, got int 7"),
    (_set("inputs", ["image", "a.b"]), "must not contain '.'"),
    (_node(2, "name", "enc"), "name 'enc' is already used"),
    (_node(2, "name", 5), "name must be a non-empty str, got int 5"),
    (_node(2, "inputs", ["joined", "image"]), "ReLU takes one input node, got 2"),
    (_node(0, "inputs", ["image"]), "Concat takes two or more input nodes, got 1"),
    (_node(0, "inputs", []), "needs at least one input node"),
    (_node(0, "layer", {"class": "Nope", "config": {}}), "unknown layer class 'Nope'"),
    (_node(0, "layer", {"class": "MergeLayer", "config": {}}), "unknown layer class 'MergeLayer'"),
    (_node(0, "layer", None), "corrupt architecture"),
    (lambda m: m["nodes"].__setitem__(0, "Concat"), "node 0 is not a dict with inputs"),
])
def test_crafted_graph_descriptions_are_value_errors(tmp_path, change, words):
    path = saved_graph(tmp_path)
    rewrite_model(path, change)
    with pytest.raises(ValueError, match=words):
        nf.load(path)


def test_crafted_graph_with_more_parameters_than_the_file_is_a_value_error(tmp_path):
    path = saved_graph(tmp_path)
    rewrite_model(path, _node(1, "layer", {"class": "Conv2D", "config": {
        "in_channels": 4, "out_channels": 4, "kernel_size": [5, 5], "padding": 2}}))
    with pytest.raises(ValueError):
        nf.load(path)


# -- a Graph inside other networks, and ONNX -----------------------------------
def test_a_graph_inside_a_sequential(dtype):
    inner = concat_graph(dtype)
    model = nf.Sequential(L.Conv2D(1, 2, 1, dtype=dtype, rng=7), inner, L.Flatten())
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 6)).astype(dtype)
    out = model.forward(x)
    expected = inner.forward(model[0].forward(x)).reshape(2, -1)
    np.testing.assert_array_equal(out, expected)
    assert [k.split(".")[0] for k in model.state_dict()][-1] == "1"
    assert model.backward(np.ones_like(out)).shape == x.shape


def test_onnx_refuses_a_graph_of_two_inputs(tmp_path):
    pytest.importorskip("onnx")
    # refused by the probe forward, which gets one array, before the exporter
    with pytest.raises(TypeError, match="graph of 2 inputs"):
        nf.onnx.export(two_by_two(np.float32), tmp_path / "g.onnx", (3, 6, 5))
    g = nf.Graph()
    x = g.input()
    g.output(g.add(L.ReLU(), x), g.add(L.Tanh(), x))
    with pytest.raises(TypeError, match="Graph of 1 inputs and 2 outputs"):
        nf.onnx.export(g, tmp_path / "h.onnx", (3,))


def test_onnx_export_of_a_single_input_graph_runs(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    g = fan_out_graph(2, np.float32)
    x = random_image(1, np.float32, channels=2)
    g.forward(x)              # running statistics away from their start
    nf.onnx.export(g, tmp_path / "g.onnx", x.shape[1:])
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, g.predict(x), atol=1e-5, rtol=1e-5)


# -- bad input: building ------------------------------------------------------------
def built():
    g = nf.Graph()
    x = g.input("x")
    return g, x, g.add(L.ReLU(), x, name="h")


def test_building_errors():
    g, x, h = built()
    _, ox, _ = built()
    with pytest.raises(ValueError, match="inputs\\[0\\] <Graph node 'x' \\(input\\)> is a node of "
                                         "another graph"):
        g.add(L.ReLU(), ox)
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a node of this graph .* got ndarray"):
        g.add(L.Add(), h, np.ones(3))
    with pytest.raises(TypeError, match="inputs\\[0\\] must be a node of this graph .* got str"):
        g.add(L.ReLU(), "x")
    with pytest.raises(TypeError, match="layer must be an nnfast Layer, got function"):
        g.add(lambda v: v, x)
    with pytest.raises(ValueError, match="add\\(ReLU\\) needs at least one input node"):
        g.add(L.ReLU())
    with pytest.raises(ValueError, match="name 'h' is already used"):
        g.add(L.ReLU(), x, name="h")
    with pytest.raises(ValueError, match="name 'x' is already used"):
        g.add(L.ReLU(), x, name="x")
    with pytest.raises(ValueError, match="must not contain '.'.*'a.b'"):
        g.add(L.ReLU(), x, name="a.b")
    with pytest.raises(TypeError, match="name must be a non-empty str, got str ''"):
        g.add(L.ReLU(), x, name="")
    with pytest.raises(ValueError, match="must not contain '.'"):
        nf.Graph().input("in.put")
    with pytest.raises(TypeError, match="name must be a non-empty str, got NoneType"):
        nf.Graph().input(None)
    fresh = nf.Graph()
    fresh.input("x")
    with pytest.raises(ValueError, match="name 'x' is already used"):
        fresh.input("x")
    with pytest.raises(ValueError, match="inputs must be declared before the first add"):
        g.input("y")
    layer = g.nodes[1].layer
    with pytest.raises(ValueError, match="this ReLU is already node 'h'.*add each layer once"):
        g.add(layer, h)
    with pytest.raises(ValueError, match="a graph cannot contain itself"):
        g.add(g, h)
    inner = nf.Graph()             # inner inside outer, then outer inside inner
    r = inner.add(L.ReLU(), inner.input())
    outer = nf.Graph()
    outer.add(inner, outer.input())
    with pytest.raises(ValueError, match="a graph cannot contain itself"):
        inner.add(outer, r)
    with pytest.raises(ValueError, match="ReLU takes one input node, got 2"):
        g.add(L.ReLU(), x, h)
    with pytest.raises(ValueError, match="Add takes two or more input nodes, got 1"):
        g.add(L.Add(), h)
    with pytest.raises(ValueError, match="output\\(\\) needs at least one node"):
        g.output()
    with pytest.raises(ValueError, match="output\\(\\): a node is given twice"):
        g.output(h, h)
    with pytest.raises(TypeError, match=r"nodes\[0\] must be a node of this graph"):
        g.output(L.ReLU())
    with pytest.raises(ValueError, match=r"nodes\[0\] .* is a node of another graph"):
        g.output(ox)
    g.output(h)
    with pytest.raises(ValueError, match="output\\(\\) was already called"):
        g.output(h)
    with pytest.raises(ValueError, match="add\\(\\) after output\\(\\): the graph is closed"):
        g.add(L.ReLU(), h)


def test_not_ready_graphs_refuse_to_run():
    g = nf.Graph()
    with pytest.raises(ValueError, match="the graph has no input: call g.input"):
        g.forward(np.ones(3))
    g.input("x")
    with pytest.raises(ValueError, match="the graph has no output: call g.output"):
        g.forward(np.ones(3))
    with pytest.raises(ValueError, match="no output"):
        g.layers_without_input_grad()


# -- bad input: running ---------------------------------------------------------------
def test_feeding_errors():
    g = two_by_two(np.float32)
    ok = {"image": np.ones((1, 3, 6, 5)), "mask": np.ones((1, 1, 6, 5))}
    with pytest.raises(ValueError, match=r"x must be a dict with exactly the inputs \['image', "
                                         r"'mask'\], got keys \['image'\] \(missing \['mask'\]\)"):
        g.forward({"image": ok["image"]})
    with pytest.raises(ValueError, match=r"\(unknown \['extra'\]\)"):
        g.forward(dict(ok, extra=np.ones(1)))
    with pytest.raises(TypeError, match=r"x must be a dict by input name \['image', 'mask'\] for a "
                                        r"graph of 2 inputs, got ndarray"):
        g.forward(ok["image"])
    with pytest.raises(TypeError, match="got list"):
        g.forward([ok["image"], ok["mask"]])
    single = seg_graph()
    with pytest.raises(ValueError, match=r"inputs \['image'\].*unknown \['x'\]"):
        single.forward({"x": np.ones((1, 1, 4, 4))})
    out = single.forward({"image": np.ones((1, 1, 4, 4), np.float32)})
    np.testing.assert_array_equal(out, single.forward(np.ones((1, 1, 4, 4), np.float32)))


def test_a_shape_that_does_not_fit_names_the_node():
    g = seg_graph()
    with pytest.raises(ValueError, match=r"graph node '0' \(Conv2D\) on input shapes "
                                         r"\(1, 3, 4, 4\):.*1 channels|graph node '0' \(Conv2D\)"):
        g.forward(np.ones((1, 3, 4, 4), np.float32))
    g = nf.Graph()
    x = g.input()
    a = g.add(L.Conv2D(1, 2, 3), x, name="valid_conv")
    g.output(g.add(L.Concat(dim=1), a, x, name="join"))
    with pytest.raises(ValueError, match=r"graph node 'join' \(Concat\) on input shapes "
                                         r"\(1, 2, 3, 3\), \(1, 1, 5, 5\): Concat\(dim=1\): "
                                         r"inputs\[1\] must have the shape of inputs\[0\]"):
        g.forward(np.ones((1, 1, 5, 5), np.float32))


def test_backward_errors():
    g = two_by_two(np.float32)
    with pytest.raises(ValueError, match="Graph.backward called before forward"):
        g.backward([np.ones((1, 2, 6, 5)), np.ones((1, 5))])
    seg, cls = g.forward({"image": np.ones((1, 3, 6, 5)), "mask": np.ones((1, 1, 6, 5))})
    with pytest.raises(ValueError, match="grad_output must be a sequence of 2 arrays .* got "
                                         "list of length 1"):
        g.backward([np.ones(seg.shape)])
    with pytest.raises(ValueError, match="sequence of 2 arrays .* got list of length 3"):
        g.backward([np.ones(seg.shape), np.ones(cls.shape), np.ones(cls.shape)])
    with pytest.raises(ValueError, match="sequence of 2 arrays .* got ndarray"):
        g.backward(np.ones(seg.shape))
    with pytest.raises(ValueError, match=r"grad_output for output 'cls' must have shape \(1, 5\), "
                                         r"got \(1, 4\)"):
        g.backward([np.ones(seg.shape), np.ones((1, 4))])
    single = seg_graph()
    single.forward(np.ones((2, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"grad_output for output '3' must have shape "
                                         r"\(2, 1, 4, 4\), got \(1, 2, 1, 4, 4\)"):
        single.backward([np.ones((2, 1, 4, 4))])


@pytest.mark.parametrize("make, args, exc, words", [
    (L.Concat, [np.ones((2, 3))], ValueError, "Concat.forward takes at least 2 arrays, got 1"),
    (L.Concat, [], ValueError, "takes at least 2 arrays, got 0"),
    (L.Add, [np.ones(3)], ValueError, "Add.forward takes at least 2 arrays, got 1"),
    (L.Concat, [np.ones((2, 3, 4)), np.ones((2, 3, 5))], ValueError,
     r"inputs\[1\] must have the shape of inputs\[0\] \(2, 3, 4\) except along axis 1, got "
     r"\(2, 3, 5\)"),
    (L.Concat, [np.ones((2, 3, 4)), np.ones((2, 3))], ValueError,
     r"inputs\[1\] must have the shape of inputs\[0\] \(2, 3, 4\) except along axis 1, "
     r"got \(2, 3\)"),
    (lambda: L.Concat(dim=3), [np.ones((2, 3)), np.ones((2, 3))], ValueError,
     "dim=3 is out of range for Concat's input"),
    (L.Add, [np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 2))], ValueError,
     r"Add: inputs\[2\] must have the shape of inputs\[0\] \(2, 3\) \(no broadcasting\), got "
     r"\(3, 2\)"),
    (L.Add, [np.ones((2, 3)), np.ones((1, 3))], ValueError, "no broadcasting"),
    (L.Add, [np.ones(3), "abc"], (TypeError, ValueError), r"inputs\[1\]"),
    (L.Concat, [np.ones((1, 2)), np.array([[np.nan, 1.0]]), None], (TypeError, ValueError),
     r"inputs\[2\]"),
])
def test_merge_bad_inputs(make, args, exc, words):
    with pytest.raises(exc, match=words):
        make().forward(*args)


def test_merge_constructor_and_backward_errors():
    with pytest.raises(TypeError, match="dim must be an int .* got str"):
        L.Concat(dim="1")
    with pytest.raises(TypeError):
        L.Add(2)
    for layer in (L.Concat(), L.Add()):
        with pytest.raises(ValueError, match="backward called before forward"):
            layer.backward(np.ones((2, 4)))
        layer.forward(np.ones((2, 2)), np.ones((2, 2)))
        with pytest.raises(ValueError, match=r"grad_output must have shape"):
            layer.backward(np.ones((2, 3)))


# -- defaults, conversions, an output that feeds another node, threads ----------
def test_default_names_step_around_explicit_ones():
    g = nf.Graph()
    x = g.input("0")
    a = g.add(L.ReLU(), x, name="1")
    b = g.add(L.ReLU(), a)              # its default "1" is taken
    c = g.add(L.ReLU(), b)
    assert [n.name for n in g.nodes] == ["0", "1", "1_1", "2"]
    g.output(c)
    np.testing.assert_array_equal(g.forward(np.array([[-1.0, 2.0]])), [[0.0, 2.0]])


def test_a_float32_graph_is_checked_as_a_float64_copy():
    g = concat_graph(np.float32)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 6))
    with pytest.warns(UserWarning, match="float64 copy"):
        errors = nf.gradcheck(g, x)
    assert max(errors.values()) < 1e-6
    assert all(p.value.dtype == np.float32 for p in g.parameters())
    double = g.astype(np.float64)
    assert all(p.value.dtype == np.float64 for p in double.parameters())
    assert double.forward(x).dtype == np.float64


def test_an_output_that_also_feeds_a_node_gets_both_gradients(torch):
    g = nf.Graph()
    x = g.input()
    h = g.add(L.Linear(3, 4, dtype=np.float64, rng=0), x, name="h")
    t = g.add(L.Tanh(), h)
    g.output(h, g.add(L.Linear(4, 2, dtype=np.float64, rng=1), t, name="y"))
    rng = np.random.default_rng(1)
    xv = rng.standard_normal((5, 3))
    h_out, y_out = g.forward(xv)
    gh, gy = rng.standard_normal(h_out.shape), rng.standard_normal(y_out.shape)
    grad_x = g.backward([gh, gy])
    w = {k: tensor(torch, v, True) for k, v in g.state_dict().items()}
    tx = tensor(torch, xv, True)
    th = torch.nn.functional.linear(tx, w["h.weight"], w["h.bias"])
    ty = torch.nn.functional.linear(torch.tanh(th), w["y.weight"], w["y.bias"])
    torch.autograd.backward([th, ty], [tensor(torch, gh), tensor(torch, gy)])
    assert_close(y_out, ty.detach().numpy(), np.float64)
    assert_close(grad_x, tx.grad.numpy(), np.float64)
    for key, p in g.named_parameters():
        assert_close(p.grad, w[key].grad.numpy(), np.float64)


def test_an_input_can_be_an_output():
    g = nf.Graph()
    x = g.input()
    g.output(x, g.add(L.ReLU(), x))
    v = np.array([[-1.0, 3.0]])
    same, relu = g.forward(v)
    np.testing.assert_array_equal(same, v)
    np.testing.assert_array_equal(relu, [[0.0, 3.0]])
    np.testing.assert_array_equal(g.backward([np.ones((1, 2)), np.ones((1, 2))]), [[1.0, 2.0]])


def test_concurrent_predict_on_one_graph():
    import threading
    g = fan_out_graph(2, np.float32)
    rng = np.random.default_rng(0)
    g.forward(rng.standard_normal((4, 2, 8, 8)).astype(np.float32))   # running statistics
    inputs = [rng.standard_normal((6, 2, 8, 8)).astype(np.float32) for _ in range(2)]
    expected = [g.predict(x) for x in inputs]
    wrong, start = [0, 0], threading.Barrier(2)

    def work(i):
        start.wait()
        for _ in range(20):
            wrong[i] += not np.array_equal(g.predict(inputs[i]), expected[i])
    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert wrong == [0, 0] and g.training
