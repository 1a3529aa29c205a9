"""SkipConnection: ``cat([x, inner(x)], dim)`` and ``x + inner(x)``, against
PyTorch (and MONAI's own SkipConnection where importable) with the same
weights, float64 gradient checks, the ReLU fused into the addition, state-dict
keys under "submodule.", save/load, the input-gradient switch, and bad input."""
import copy
import importlib.util
import pathlib

import numpy as np
import pytest

import nnfast as nf
from nnfast import layers as L
from nnfast.fuzz.doubles import LayerChain
from conftest import assert_close

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "torch_unet.py"


def torch_twins():
    """bench/torch_unet.py, loaded by file path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("torch_unet", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def conv(c_in, c_out, k, dtype, rng, **kw):
    return L.Conv2D(c_in, c_out, k, dtype=dtype, rng=rng, **kw)


def random_shape(seed):
    rng = np.random.default_rng(seed)
    n, c = rng.integers(1, 4, size=2)
    h, w = rng.integers(3, 9, size=2)
    return int(n), int(c), int(h), int(w)


# name -> (build(c, dtype, rng) -> nnfast model, output channels / shape change)
def cat_channels(c, dtype, rng):
    return L.SkipConnection(nf.Sequential(conv(c, 3, 3, dtype, rng, padding=1), L.ReLU()))


def cat_height(c, dtype, rng):
    # inner shortens H by 2 (a (3, 1) kernel, no padding): joined along H
    return L.SkipConnection(nf.Sequential(conv(c, c, (3, 1), dtype, rng), L.ReLU()), dim=2)


def cat_last(c, dtype, rng):
    return L.SkipConnection(conv(c, c, (1, 3), dtype, rng), mode="cat", dim=-1)


def add_block(c, dtype, rng):
    # no bias before the norm (its gradient would be 0: nothing to check)
    return L.SkipConnection(nf.Sequential(conv(c, c, 3, dtype, rng, padding=1, bias=False),
                                          L.BatchNorm2D(c, dtype=dtype), L.ReLU(),
                                          conv(c, c, 3, dtype, rng, padding=1)), mode="add")


def nested(c, dtype, rng):
    """A U-Net level inside a residual block inside a cat."""
    level = L.SkipConnection(nf.Sequential(L.MaxPool2D(2), conv(2, 2, 3, dtype, rng, padding=1),
                                           L.ConvTranspose2D(2, 2, 2, stride=2, dtype=dtype,
                                                             rng=rng)))
    inner = nf.Sequential(conv(c, 2, 1, dtype, rng), L.ReLU(),
                          L.SkipConnection(nf.Sequential(level, conv(4, 2, 1, dtype, rng)),
                                           mode="add"))
    return nf.Sequential(L.SkipConnection(inner), L.ReLU(), conv(c + 2, 2, 1, dtype, rng))


BUILDERS = {"cat-channels": cat_channels, "cat-height": cat_height, "cat-last-dim": cat_last,
            "add": add_block, "nested": nested}


def make(name, seed, dtype):
    n, c, h, w = random_shape(seed)
    if name == "nested":
        h, w = 2 * h, 2 * w   # pooled and upsampled back
    x = np.random.default_rng([seed, 1]).standard_normal((n, c, h, w)).astype(dtype)
    return BUILDERS[name](c, dtype, seed), x


def torch_pass(torch, twin, x, g):
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    out = twin(tx)
    out.backward(torch.from_numpy(g))
    return out.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_matches_torch(name, seed, dtype, torch):
    model, x = make(name, seed, dtype)
    twin = torch_twins().torch_unet_like(model)
    out = model.forward(x)
    g = np.random.default_rng([seed, 2]).standard_normal(out.shape).astype(dtype)
    grad_x = model.backward(g)
    t_out, t_grad_x = torch_pass(torch, twin, x, g)
    rtol = 2e-4 if dtype == np.float32 else 1e-10
    assert out.dtype == dtype and grad_x.dtype == dtype
    assert_close(out, t_out, dtype, rtol)
    assert_close(grad_x, t_grad_x, dtype, rtol)
    t_grads = {k: p.grad.numpy() for k, p in twin.named_parameters()}
    ours = dict(model.named_parameters())
    assert list(ours) == list(t_grads)
    for key, p in ours.items():
        assert_close(p.grad, t_grads[key], dtype, rtol)


def test_cat_puts_x_first_and_add_sums(dtype):
    x = np.arange(24, dtype=dtype).reshape(2, 3, 2, 2)
    inner = nf.Sequential(L.Conv2D(3, 1, 1, bias=False, dtype=dtype))
    inner[0].weight.value[...] = 1.0
    out = L.SkipConnection(inner).forward(x)
    np.testing.assert_array_equal(out[:, :3], x)
    np.testing.assert_array_equal(out[:, 3:], x.sum(axis=1, keepdims=True))
    same = L.Conv2D(3, 3, 1, bias=False, dtype=dtype)
    same.weight.value[...] = 2 * np.eye(3, dtype=dtype)[:, :, None, None]
    np.testing.assert_array_equal(L.SkipConnection(same, mode="add").forward(x), 3 * x)


def test_matches_monais_skip_connection(torch):
    blocks = pytest.importorskip("monai.networks.layers")
    model = nf.Sequential(L.Conv2D(2, 3, 3, padding=1, dtype=np.float64, rng=0),
                          L.SkipConnection(nf.Sequential(L.Conv2D(3, 3, 3, padding=1,
                                                                  dtype=np.float64, rng=1),
                                                         L.BatchNorm2D(3, dtype=np.float64))),
                          L.SkipConnection(L.Conv2D(6, 6, 1, dtype=np.float64, rng=2),
                                           mode="add"))
    nn = torch.nn
    monai = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1),
                          blocks.SkipConnection(nn.Sequential(nn.Conv2d(3, 3, 3, padding=1),
                                                              nn.BatchNorm2d(3))),
                          blocks.SkipConnection(nn.Conv2d(6, 6, 1), mode="add")).double()
    state = model.state_dict()
    assert list(state) == list(monai.state_dict())
    monai.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    x = np.random.default_rng(3).standard_normal((2, 2, 5, 4))
    assert_close(model.forward(x), monai(torch.from_numpy(x)).detach().numpy(), np.float64)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_gradcheck(name):
    model, x = make(name, 4, np.float64)
    errors = nf.gradcheck(model, x, rtol=1e-6)
    assert "input" in errors and len(errors) == 1 + len(model.parameters())


# -- the ReLU after an add-mode SkipConnection runs in the adding pass ----------
def residual(dtype, seed=0):
    return nf.Sequential(L.SkipConnection(nf.Sequential(L.Conv2D(3, 3, 3, padding=1, dtype=dtype,
                                                                 rng=seed), L.ReLU(),
                                                        L.Conv2D(3, 3, 1, dtype=dtype,
                                                                 rng=seed + 1)), mode="add"),
                         L.ReLU(), L.Conv2D(3, 2, 1, dtype=dtype, rng=seed + 2))


def test_add_then_relu_is_fused_and_equals_unfused(dtype):
    model = residual(dtype)
    assert model[0].fuses_relu and not L.SkipConnection(L.ReLU()).fuses_relu
    twin = copy.deepcopy(model)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 5)).astype(dtype)
    calls = []
    skip, relu = model[0], model[1]
    fused, plain = skip.forward_relu, relu.forward
    skip.forward_relu = lambda v: calls.append("fused") or fused(v)
    relu.forward = lambda v: calls.append("relu") or plain(v)
    out = model.forward(x).copy()
    assert calls == ["fused"]     # the ReLU ran inside the addition
    del skip.forward_relu, relu.forward
    g = rng.standard_normal(out.shape).astype(dtype)
    grad_x = model.backward(g).copy()
    chain = LayerChain(twin.layers)
    np.testing.assert_array_equal(out, chain.forward(x))
    np.testing.assert_array_equal(grad_x, chain.backward(g))
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.grad, b.grad)
    # and it is relu(x + inner(x)) and its backward
    inner = copy.deepcopy(model[0].inner)
    h = np.maximum(x + inner.forward(x), 0)
    np.testing.assert_array_equal(model[0].forward_relu(x), h)
    head = copy.deepcopy(model[2])
    np.testing.assert_array_equal(out, head.forward(h))
    g_h = head.backward(g) * (h > 0)
    assert_close(grad_x, g_h + inner.backward(g_h), dtype)


def test_cat_mode_does_not_fuse():
    layer = L.SkipConnection(L.ReLU())
    with pytest.raises(NotImplementedError, match="mode 'add' only"):
        layer.forward_relu(np.ones((1, 2, 2, 2), np.float32))


def test_relu_fused_residual_gradcheck():
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 4))
    nf.gradcheck(residual(np.float64), x)


# -- dtypes, state dicts, saving, the input-gradient switch --------------------
def test_float32_stays_float32_and_other_input_is_cast():
    model = cat_channels(2, np.float32, 0)
    out = model.forward(np.ones((1, 2, 3, 3), np.float64))
    assert out.dtype == np.float32 and out.shape == (1, 5, 3, 3)
    assert model.backward(np.ones(out.shape)).dtype == np.float32


def test_state_dict_keys_are_under_submodule(torch):
    model = nf.Sequential(L.Conv2D(1, 2, 3, padding=1),
                          L.SkipConnection(nf.Sequential(L.Conv2D(2, 2, 3, padding=1),
                                                         L.BatchNorm2D(2))))
    keys = list(model.state_dict())
    assert keys == ["0.weight", "0.bias", "1.submodule.0.weight", "1.submodule.0.bias",
                    "1.submodule.1.weight", "1.submodule.1.bias", "1.submodule.1.running_mean",
                    "1.submodule.1.running_var", "1.submodule.1.num_batches_tracked"]
    twin = torch_twins().torch_unet_like(model)
    assert list(twin.state_dict()) == keys
    fresh = nf.Sequential(L.Conv2D(1, 2, 3, padding=1),
                          L.SkipConnection(nf.Sequential(L.Conv2D(2, 2, 3, padding=1),
                                                         L.BatchNorm2D(2))))
    fresh.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))


def test_save_load_round_trip(tmp_path):
    model = nf.Sequential(cat_channels(2, np.float32, 0), add_block(5, np.float32, 1),
                          L.ReLU(), nested(5, np.float32, 2))
    x = np.random.default_rng(0).standard_normal((3, 2, 6, 6)).astype(np.float32)
    model.forward(x)     # training: the running statistics move
    model.save(tmp_path / "m.npz")
    back = nf.load(tmp_path / "m.npz")
    assert type(back[1]) is L.SkipConnection and back[1].mode == "add"
    assert back[0].dim == 1 and back[3][0].mode == "cat"
    assert list(back.state_dict()) == list(model.state_dict())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    cat_dim = nf.Sequential(cat_last(2, np.float64, 3))
    cat_dim.save(tmp_path / "d.npz")
    again = nf.load(tmp_path / "d.npz")
    assert again[0].dim == -1
    np.testing.assert_array_equal(again.predict(x), cat_dim.predict(x))


def test_input_gradient_switch_skips_it_and_keeps_parameter_gradients(dtype):
    model, x = make("add", 5, dtype)
    twin = copy.deepcopy(model)
    g = np.random.default_rng(0).standard_normal(model.forward(x).shape).astype(dtype)
    twin.forward(x)
    assert twin.backward(g).shape == x.shape
    off = model.layers_without_input_grad()
    assert off[0] is model and model.inner[0] in off   # and inner's first convolution
    for layer in off:
        layer.requires_input_grad = False
    assert model.backward(g) is None
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.grad, b.grad)


def test_parameter_gradients_accumulate():
    model, x = make("cat-channels", 6, np.float64)
    out = model.forward(x)
    g = np.ones_like(out)
    model.backward(g)
    once = [p.grad.copy() for p in model.parameters()]
    model.forward(x)
    model.backward(g)
    for p, o in zip(model.parameters(), once):
        assert_close(p.grad, 2 * o, np.float64)
    model.zero_grad()
    assert all(not np.any(p.grad) for p in model.parameters())


def test_train_eval_reach_the_inner_layers():
    model = add_block(2, np.float32, 0)
    model.eval()
    assert not model.training and not any(layer.training for layer in model.inner)
    model.train()
    assert all(layer.training for layer in model.inner)


def test_repr_names_inner_and_mode():
    text = repr(L.SkipConnection(L.ReLU(), mode="add"))
    assert "ReLU" in text and "mode='add'" in text and "dim=1" in text


# -- bad input ------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(inner=np.zeros(3)), TypeError, "inner must be an nnfast Layer, got ndarray"),
    (dict(inner=lambda x: x), TypeError, "inner must be an nnfast Layer, got function"),
    (dict(inner=L.Concat()), TypeError, "inner must take one input.*Concat"),
    (dict(inner=L.ReLU(), mode="sum"), ValueError,
     r"mode must be one of \('cat', 'add'\), got 'sum'"),
    (dict(inner=L.ReLU(), mode=None), ValueError, "mode must be one of .* got None"),
    (dict(inner=L.ReLU(), dim="1"), TypeError, "dim must be an int .* got str '1'"),
    (dict(inner=L.ReLU(), dim=1.0), TypeError, "dim must be an int .* got float"),
    (dict(inner=L.ReLU(), dim=True), TypeError, "dim must be an int .* got bool"),
])
def test_bad_constructor(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        L.SkipConnection(**kwargs)


@pytest.mark.parametrize("layer, shape, words", [
    (L.SkipConnection(L.Conv2D(2, 2, 3), mode="add"), (1, 2, 5, 5),
     r"mode='add'.*inner's output must have x's shape \(1, 2, 5, 5\), got \(1, 2, 3, 3\)"),
    (L.SkipConnection(L.Conv2D(2, 3, 1), mode="add"), (1, 2, 5, 5),
     r"inner's output must have x's shape \(1, 2, 5, 5\), got \(1, 3, 5, 5\)"),
    (L.SkipConnection(L.Conv2D(2, 2, 3)), (1, 2, 5, 5),
     r"mode='cat', dim=1.*must match x \(1, 2, 5, 5\) on every axis but 1, got \(1, 2, 3, 3\)"),
    (L.SkipConnection(nf.Sequential(L.MaxPool2D(2), L.ConvTranspose2D(2, 2, 2, stride=2))),
     (1, 2, 5, 5), r"must match x \(1, 2, 5, 5\) on every axis but 1, got \(1, 2, 4, 4\)"),
    (L.SkipConnection(L.Flatten()), (1, 2, 5, 5), "must have x's rank 4 .* got shape \\(1, 50\\)"),
    (L.SkipConnection(L.ReLU(), dim=4), (1, 2, 5, 5), r"dim=4 is out of range .*\(rank 4\)"),
    (L.SkipConnection(L.ReLU(), dim=-5), (1, 2, 5, 5), "dim=-5 is out of range"),
])
def test_bad_forward(layer, shape, words):
    with pytest.raises(ValueError, match=words):
        layer.forward(np.ones(shape, np.float32))


def test_bad_x_names_it():
    layer = L.SkipConnection(L.ReLU())
    with pytest.raises((TypeError, ValueError), match="x"):
        layer.forward("image")


def test_backward_errors(dtype):
    layer = cat_channels(2, dtype, 0)
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((1, 5, 3, 3), dtype))
    layer.forward(np.ones((1, 2, 3, 3), dtype))
    for shape in [(1, 2, 3, 3), (1, 5, 3), (2, 5, 3, 3)]:
        with pytest.raises(ValueError, match=r"grad_output must have shape \(1, 5, 3, 3\)"):
            layer.backward(np.ones(shape, dtype))
