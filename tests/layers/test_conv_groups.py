"""Conv2D(groups=g): PyTorch's grouped and depthwise convolution, its layout,
checks, gradients, both backends, saving, state dicts and summaries."""
import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close
from test_conv_layer import assert_skips_input_gradient_and_accumulates

L = nf.layers

# (in, out, groups, kernel_size, stride, padding, dilation, input (h, w))
TORCH_CASES = [
    (4, 6, 1, 3, 1, 1, 1, (7, 6)),
    (4, 6, 2, 3, 1, 1, 1, (7, 6)),
    (4, 4, 4, 3, 1, 1, 1, (7, 6)),                           # depthwise
    (3, 6, 3, (3, 2), (2, 1), ((2, 1), (0, 1)), (1, 2), (9, 8)),  # depthwise x2, per-side pad
    (6, 4, 2, (2, 3), 2, (1, 0), 1, (8, 9)),                 # strides, (h, w) pad
    (6, 3, 3, 1, 1, 0, 1, (4, 5)),                           # 1x1 (the pointwise shortcut)
    (4, 8, 4, 3, 1, "same", 2, (6, 6)),                      # "same", dilated
]


def _torch_grouped(torch, layer, x, g, padding):
    """Torch's out, grad_input, grad_weight, grad_bias for the same weights."""
    F = torch.nn.functional
    top, bottom, left, right = padding
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight.value, requires_grad=True)
    bt = torch.tensor(layer.bias.value, requires_grad=True) if layer.bias is not None else None
    ot = F.conv2d(F.pad(xt, (left, right, top, bottom)), wt, bt, stride=layer.stride,
                  dilation=layer.dilation, groups=layer.groups)
    ot.backward(torch.tensor(g))
    return (ot.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(),
            bt.grad.numpy() if bt is not None else None)


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: f"{c}")
def test_grouped_conv_matches_torch(case, algorithm, backend, dtype, threads, torch):
    c, o, groups, k, s, p, d, (h, w) = case
    layer = L.Conv2D(c, o, k, stride=s, padding=p, dilation=d, groups=groups,
                     algorithm=algorithm, dtype=dtype, rng=3)
    assert layer.weight.shape == (o, c // groups) + layer.kernel_size
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, c, h, w)).astype(dtype)
    with nf.use_backend(backend):
        out = layer.forward(x)
        g = rng.standard_normal(out.shape).astype(dtype)
        gx = layer.backward(g)
    expected = _torch_grouped(torch, layer, x, g, layer.padding)
    assert out.dtype == dtype and gx.dtype == dtype
    for got, want in zip((out, gx, layer.weight.grad, layer.bias.grad), expected):
        assert_close(got, want, dtype)


@pytest.mark.parametrize("n_samples", [1, 4])
def test_depthwise_torch_weights_copy_as_plain_arrays(n_samples, torch):
    """A torch depthwise conv's weight and bias go in as they are (no
    reshaping), with a single sample too (where every group's block of
    channels already is contiguous)."""
    torch.manual_seed(0)
    net = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=8).double()
    layer = L.Conv2D(8, 16, 3, stride=2, padding=1, groups=8, dtype=np.float64)
    layer.weight.value = net.weight.detach().numpy()
    layer.bias.value = net.bias.detach().numpy()
    x = np.random.default_rng(1).standard_normal((n_samples, 8, 11, 10))
    with torch.no_grad():
        want = net(torch.tensor(x)).numpy()
    assert_close(layer.forward(x), want, np.float64)


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
@pytest.mark.parametrize("groups, out_channels", [(2, 4), (4, 4), (4, 8)])
def test_grouped_conv_gradcheck(groups, out_channels, algorithm):
    layer = L.Conv2D(4, out_channels, (3, 2), stride=(1, 2), padding=((1, 0), (2, 1)),
                     groups=groups, algorithm=algorithm, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).standard_normal((2, 4, 6, 7))
    errors = nf.gradcheck(layer, x, rtol=1e-6, max_checks=80)
    assert set(errors) == {"input", "weight", "bias"}


def test_grouped_conv_without_bias_matches_torch_and_gradchecks(torch):
    layer = L.Conv2D(6, 6, 3, padding=1, groups=3, bias=False, dtype=np.float64, rng=1)
    assert layer.bias is None and layer.parameters() == [layer.weight]
    x = np.random.default_rng(2).standard_normal((2, 6, 5, 5))
    out = layer.forward(x)
    g = np.random.default_rng(3).standard_normal(out.shape)
    gx = layer.backward(g)
    want_out, want_gx, want_gw, _ = _torch_grouped(torch, layer, x, g, layer.padding)
    for got, want in ((out, want_out), (gx, want_gx), (layer.weight.grad, want_gw)):
        assert_close(got, want, np.float64)
    assert set(nf.gradcheck(layer, x, max_checks=60)) == {"input", "weight"}


def test_groups_do_not_mix_channels():
    """Output block j depends on input block j only: a change in group 1's
    input channels leaves group 0's outputs exactly as they were."""
    layer = L.Conv2D(4, 6, 3, padding=1, groups=2, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5)).astype(np.float32)
    before = layer.forward(x).copy()
    x[:, 2:] += 10
    after = layer.forward(x)
    np.testing.assert_array_equal(after[:, :3], before[:, :3])
    assert not np.allclose(after[:, 3:], before[:, 3:])


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_grouped_fused_relu_equals_forward_then_relu(algorithm):
    layer = L.Conv2D(6, 9, 3, stride=2, padding=1, groups=3, algorithm=algorithm, rng=0)
    x = np.random.default_rng(4).standard_normal((3, 6, 7, 7)).astype(np.float32)
    plain = np.maximum(layer.forward(x), 0)
    np.testing.assert_array_equal(layer.forward_relu(x), plain)
    model = nf.Sequential(layer, L.ReLU())     # Sequential takes the fused path
    np.testing.assert_array_equal(model.forward(x), plain)


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_grouped_conv_skips_the_input_gradient_and_accumulates(algorithm):
    layer = L.Conv2D(4, 4, 3, groups=4, algorithm=algorithm, dtype=np.float64, rng=0)
    x = np.random.default_rng(5).standard_normal((2, 4, 6, 6))
    g = np.random.default_rng(6).standard_normal((2, 4, 4, 4))
    assert_skips_input_gradient_and_accumulates(layer, x, g)


def test_grouped_conv_input_non_contiguous_and_cast():
    layer = L.Conv2D(4, 8, 3, groups=2, rng=0)
    x = np.random.default_rng(0).standard_normal((3, 8, 7, 7))[:, ::2]      # strided channels
    want = layer.forward(np.ascontiguousarray(x, np.float32)).copy()
    np.testing.assert_array_equal(layer.forward(x), want)                  # float64, strided


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"groups": 3}, ValueError, r"groups must divide in_channels and out_channels, got groups=3 "
                                r"with in_channels=4 and out_channels=6"),
    ({"groups": 4}, ValueError, r"groups=4 with in_channels=4 and out_channels=6"),
    ({"groups": 2, "out_channels": 3}, ValueError, r"groups=2 with in_channels=4 and out_channels=3"),
    ({"groups": 8}, ValueError, r"groups=8 with in_channels=4"),
    ({"groups": 0}, ValueError, r"groups must be >= 1, got 0"),
    ({"groups": -2}, ValueError, r"groups must be >= 1, got -2"),
    ({"groups": True}, TypeError, r"groups must be an int, got bool True"),
    ({"groups": 2.0}, TypeError, r"groups must be an int, got float 2.0"),
    ({"groups": "2"}, TypeError, r"groups must be an int, got str"),
    ({"groups": None}, TypeError, r"groups must be an int, got NoneType"),
    ({"groups": 2**40}, ValueError, r"groups must be <= 2147483647"),
])
def test_bad_groups_are_named(kwargs, exc, words):
    args = dict({"in_channels": 4, "out_channels": 6, "kernel_size": 3}, **kwargs)
    with pytest.raises(exc, match=words):
        L.Conv2D(**args)


def test_numpy_int_groups_are_accepted():
    layer = L.Conv2D(4, 4, 3, groups=np.int64(2))
    assert layer.groups == 2 and type(layer.groups) is int
    assert layer.config()["groups"] == 2


def test_grouped_input_of_the_wrong_channels_is_named():
    layer = L.Conv2D(4, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 4, height, width\).*got \(2, 2, 5, 5\)"):
        layer.forward(np.ones((2, 2, 5, 5), np.float32))


def test_grouped_weight_assignment_checks_the_grouped_shape():
    layer = L.Conv2D(6, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"shape \(4, 3, 3, 3\) \(layout \(out_channels, "
                                         r"in_channels // groups, kernel_h, kernel_w\)\), "
                                         r"got shape \(4, 6, 3, 3\)"):
        layer.weight.value = np.ones((4, 6, 3, 3), np.float32)   # the ungrouped shape
    with pytest.raises(ValueError, match=r"got shape \(4, 3, 3, 3, 1\)"):
        layer.weight.grad = np.ones((4, 3, 3, 3, 1), np.float32)
    layer.weight.value = np.ones((4, 3, 3, 3))
    np.testing.assert_allclose(layer.forward(np.ones((1, 6, 3, 3), np.float32)).ravel(),
                               27.0 + layer.bias.value, rtol=1e-6)


def test_initial_weights_use_the_grouped_fan_in():
    layer = L.Conv2D(8, 16, 3, groups=4, rng=0)
    bound = 1 / np.sqrt(8 // 4 * 9)         # PyTorch's: fan_in = in_channels // groups * kh * kw
    assert np.abs(layer.weight.value).max() <= bound
    assert np.abs(layer.weight.value).max() > 0.8 * bound
    assert np.abs(layer.bias.value).max() <= bound


def test_config_keeps_groups_and_rebuilds_the_layer():
    layer = L.Conv2D(6, 9, 3, groups=3, dtype=np.float64)
    config = layer.config()
    assert config["groups"] == 3
    rebuilt = L.Conv2D(**config)
    assert rebuilt.groups == 3 and rebuilt.weight.shape == layer.weight.shape
    assert "groups=3" in repr(layer)
    assert "groups" not in L.Conv2D(6, 9, 3).config()   # the default, as before


def _grouped_model():
    return nf.Sequential(L.Conv2D(4, 8, 3, padding=1, groups=2, rng=1), L.ReLU(),
                         L.Conv2D(8, 8, 3, stride=2, groups=8, bias=False, rng=2),
                         L.Flatten(), L.Linear(8 * 3 * 3, 5, rng=3))


def test_summary_and_count_params_of_a_grouped_model():
    model = _grouped_model()
    expected = [8 * 2 * 9 + 8, 0, 8 * 1 * 9, 0, 72 * 5 + 5]
    assert model.count_params() == sum(expected)
    assert model[0].count_params() == 8 * 2 * 9 + 8
    summary = nf.summary.summarize(model, (4, 7, 7))
    assert [r[2] for r in summary.rows] == expected
    assert [r[1] for r in summary.rows][:3] == [(8, 7, 7), (8, 7, 7), (8, 3, 3)]
    assert summary.total == sum(expected)


def test_save_and_load_keep_groups(tmp_path):
    model = _grouped_model()
    x = np.random.default_rng(0).random((3, 4, 7, 7), dtype=np.float32)
    model.save(tmp_path / "m.npz")
    loaded = nf.load(tmp_path / "m.npz")
    assert [getattr(layer, "groups", None) for layer in loaded] == [2, None, 8, None, None]
    assert loaded[2].bias is None
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_astype_keeps_groups():
    model = _grouped_model()
    copy = model.astype(np.float64)
    assert copy[0].groups == 2 and copy[2].groups == 8 and copy[0].weight.dtype == np.float64
    x = np.random.default_rng(0).random((2, 4, 7, 7))
    np.testing.assert_allclose(copy.predict(x), model.predict(x.astype(np.float32)), rtol=1e-4,
                               atol=1e-5)


def _torch_grouped_model(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, groups=2), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, stride=2, groups=8, bias=False), nn.Flatten(),
                         nn.Linear(8 * 3 * 3, 5))


def test_state_dict_round_trip_with_torch(torch):
    torch.manual_seed(0)
    net = _torch_grouped_model(torch)
    model = _grouped_model()
    model.load_state_dict(net.state_dict())
    x = np.random.default_rng(1).random((2, 4, 7, 7), dtype=np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-5, atol=1e-6)
    # and back: nnfast's state dict into a fresh torch model of that architecture
    other = _grouped_model()
    other.load_state_dict(model.state_dict())
    back = _torch_grouped_model(torch)
    back.load_state_dict({k: torch.from_numpy(v) for k, v in other.state_dict().items()})
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(x)).numpy(), want, rtol=1e-6, atol=1e-7)


def test_state_dict_of_the_ungrouped_shape_names_the_grouped_layout():
    model = _grouped_model()
    sd = model.state_dict()
    sd["0.weight"] = np.zeros((8, 4, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"\(out_channels, in_channels // groups, kernel_h, "
                                         r"kernel_w\) = \(8, 2, 3, 3\)"):
        model.load_state_dict(sd)


def test_training_a_depthwise_model_reduces_the_loss():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3, 6, 6)).astype(np.float32)
    y = (x[:, 0].mean((1, 2)) > 0).astype(np.int64)
    model = nf.Sequential(L.Conv2D(3, 6, 3, padding=1, groups=3, rng=0), L.ReLU(),
                          L.Conv2D(6, 4, 1, rng=1), L.Flatten(), L.Linear(4 * 36, 2, rng=2))
    loss = nf.losses.CrossEntropyLoss()
    first = loss.forward(model.forward(x), y)
    history = nf.fit(model, x, y, loss=loss, optimizer=nf.optim.Adam(model.parameters(), lr=0.01),
                     epochs=20, batch_size=8, progress=False)
    assert history.loss[-1] < 0.5 * first
