"""ConvTranspose2D: PyTorch's nn.ConvTranspose2d (same weights, same outputs
and gradients), gradient checks, both backends at 1 and 2 threads, bad
input, saving, summaries, state dicts, concurrent inference, training."""
import json
import threading

import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close, forward_backward

L = nf.layers

# (in, out, kernel_size, stride, padding, output_padding, dilation, input (h, w))
CASES = [
    (2, 3, 3, 1, 0, 0, 1, (4, 5)),
    (3, 2, 2, 2, 0, 0, 1, (4, 4)),                      # the U-Net upsampling
    (2, 3, 3, 2, 1, 1, 1, (4, 5)),                      # output_padding
    (2, 2, (2, 3), (2, 1), (1, 0), (1, 0), 1, (3, 4)),  # non-square everything
    (1, 2, 3, 3, 2, 2, 1, (3, 3)),                      # output_padding > padding
    (2, 2, 3, 1, 1, 1, 2, (4, 4)),                      # output_padding >= stride, < dilation
    (2, 3, 3, 2, 0, 0, (2, 1), (3, 4)),                 # dilation
    (3, 4, 1, 1, 0, 0, 1, (3, 4)),                      # 1x1: the no-buffer shortcut
    (2, 2, 5, 1, 2, 0, 1, (4, 4)),                      # stride 1, padded: span columns
]


def make(case, dtype=np.float64, bias=True, rng=0):
    c, o, k, s, p, op, d, _ = case
    return L.ConvTranspose2D(c, o, k, stride=s, padding=p, output_padding=op, dilation=d,
                             bias=bias, dtype=dtype, rng=rng)


def torch_layer(torch, case, layer, dtype):
    c, o, k, s, p, op, d, _ = case
    t = torch.nn.ConvTranspose2d(c, o, k, stride=s, padding=p, output_padding=op, dilation=d,
                                 bias=layer.bias is not None)
    t = t.to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(layer.weight.value))
        if layer.bias is not None:
            t.bias.copy_(torch.tensor(layer.bias.value))
    return t


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c}")
def test_conv_transpose2d_matches_torch(case, backend, bias, dtype, torch):
    rng = np.random.default_rng(3)
    layer = make(case, dtype, bias)
    t = torch_layer(torch, case, layer, dtype)
    x = rng.standard_normal((3, case[0]) + case[-1]).astype(dtype)
    out, g, gx = forward_backward(layer, x, rng, backend)
    assert out.dtype == dtype and gx.dtype == dtype
    xt = torch.tensor(x, requires_grad=True)
    ot = t(xt)
    ot.backward(torch.tensor(g))
    assert out.shape == tuple(ot.shape)
    assert_close(out, ot.detach().numpy(), dtype)
    assert_close(gx, xt.grad.numpy(), dtype)
    assert_close(layer.weight.grad, t.weight.grad.numpy(), dtype)
    if bias:
        assert_close(layer.bias.grad, t.bias.grad.numpy(), dtype)
    else:
        assert layer.bias is None and layer.parameters() == [layer.weight]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c}")
def test_conv_transpose2d_gradcheck(case):
    x = np.random.default_rng(1).standard_normal((2, case[0]) + case[-1])
    errors = nf.gradcheck(make(case), x, rtol=1e-6, max_checks=60)
    assert set(errors) == {"input", "weight", "bias"}


def test_conv_transpose2d_gradcheck_without_bias():
    x = np.random.default_rng(2).standard_normal((2, 2, 3, 4))
    errors = nf.gradcheck(make(CASES[3], bias=False), x, rtol=1e-6, max_checks=60)
    assert set(errors) == {"input", "weight"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c}")
def test_conv_transpose2d_fast_matches_reference(case, dtype, threads):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, case[0]) + case[-1]).astype(dtype)
    results = {}
    for backend in ("reference", "fast"):
        layer = make(case, dtype, rng=7)
        with nf.use_backend(backend):
            out = layer.forward(x)
            g = np.random.default_rng(5).standard_normal(out.shape).astype(dtype)
            results[backend] = (out, layer.backward(g), layer.weight.grad.copy(),
                                layer.bias.grad.copy())
    for got, expected in zip(results["fast"], results["reference"]):
        assert got.dtype == dtype
        assert_close(got, expected, dtype)


def test_conv_transpose2d_output_shape():
    layer = L.ConvTranspose2D(16, 8, 2, stride=2)
    assert layer.forward(np.ones((32, 16, 14, 14), np.float32)).shape == (32, 8, 28, 28)
    layer = L.ConvTranspose2D(1, 1, (3, 5), stride=(2, 3), padding=(1, 2), output_padding=(1, 2),
                              dilation=(1, 2))
    # (h - 1) * s - 2p + d (k - 1) + op + 1
    assert layer.output_shape((2, 1, 4, 6)) == (2, 1, 8, 22)


def test_conv_transpose2d_weight_init_and_layout():
    layer = L.ConvTranspose2D(6, 4, (3, 2), rng=0)
    assert layer.weight.shape == (6, 4, 3, 2)      # PyTorch's (in, out, kh, kw)
    assert layer.bias.shape == (4,)
    bound = 1 / np.sqrt(4 * 3 * 2)                 # torch's fan_in: weight.size(1) * kh * kw
    for p in (layer.weight.value, layer.bias.value):
        assert p.dtype == np.float32
        assert np.abs(p).max() <= bound
    big = L.ConvTranspose2D(64, 64, 3, rng=1)
    assert np.abs(big.weight.value).max() > 0.9 / np.sqrt(64 * 9)
    assert np.array_equal(L.ConvTranspose2D(6, 4, 3, rng=5).weight.value,
                          L.ConvTranspose2D(6, 4, 3, rng=5).weight.value)


def test_conv_transpose2d_arguments_in_pytorchs_order(torch):
    # in, out, kernel_size, stride, padding, output_padding, groups, bias, dilation
    layer = L.ConvTranspose2D(2, 3, 3, 2, 1, 1, 1, False, 2)
    t = torch.nn.ConvTranspose2d(2, 3, 3, 2, 1, 1, 1, False, 2)
    assert (layer.stride, layer.padding, layer.output_padding, layer.dilation) == (
        t.stride, t.padding, t.output_padding, t.dilation)
    assert layer.bias is None and t.bias is None


def test_conv_transpose2d_float32_gradcheck_converts_a_copy():
    layer = L.ConvTranspose2D(2, 2, 3, stride=2, padding=1, output_padding=1, bias=False, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 2, 3, 3))
    with pytest.warns(UserWarning):
        errors = nf.gradcheck(layer, x, max_checks=30)
    assert set(errors) == {"input", "weight"}
    assert layer.weight.dtype == np.float32
    assert layer.astype(np.float64).config() == dict(layer.config(), dtype="float64")


def test_conv_transpose2d_keeps_float32_and_casts_input():
    layer = L.ConvTranspose2D(2, 3, 3, stride=2, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4))       # float64 in
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones(out.shape)).dtype == np.float32
    view = np.asfortranarray(x.astype(np.float32))                   # non-contiguous
    assert_close(layer.forward(view), out, np.float32)


def test_conv_transpose2d_skips_input_gradient_and_accumulates():
    layer = make(CASES[2])
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 5))
    out = layer.forward(x)
    g = np.ones(out.shape)
    layer.backward(g)
    once = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.requires_input_grad = False
    assert layer.backward(g) is None
    assert_close(layer.weight.grad, 2 * once[0], np.float64)
    assert_close(layer.bias.grad, 2 * once[1], np.float64)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(in_channels=0), ValueError, "in_channels"),
    (dict(out_channels=-1), ValueError, "out_channels"),
    (dict(out_channels=2.5), TypeError, "out_channels"),
    (dict(kernel_size=0), ValueError, "kernel_size"),
    (dict(kernel_size=(1, 2, 3)), ValueError, "kernel_size"),
    (dict(stride=0), ValueError, "stride"),
    (dict(stride=(1, -1)), ValueError, "stride"),
    (dict(padding=-1), ValueError, "padding"),
    (dict(padding="same"), (TypeError, ValueError), "padding"),
    (dict(padding=2 ** 31), ValueError, "padding must be <="),
    (dict(output_padding=-1), ValueError, "output_padding"),
    (dict(output_padding=1), ValueError, r"output_padding must be smaller than stride.*got "
                                         r"output_padding=\(1, 1\)"),
    (dict(stride=2, output_padding=(1, 2)), ValueError, r"2 >= 2 along the width"),
    (dict(dilation=0), ValueError, "dilation"),
    (dict(bias=1), TypeError, "bias"),
    (dict(groups=2), ValueError, r"groups must be 1 .*got groups=2"),
    (dict(groups=0), ValueError, "groups"),
    (dict(dtype=np.int32), TypeError, "dtype"),
    (dict(in_channels=2 ** 30, kernel_size=3), ValueError, r"in_channels \* kernel_h"),
])
def test_conv_transpose2d_bad_constructor(kwargs, exc, words):
    args = dict(in_channels=2, out_channels=3, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(exc, match=words):
        L.ConvTranspose2D(**args)


@pytest.mark.parametrize("layer_args, x, exc, words", [
    (dict(kernel_size=1, padding=1), np.ones((1, 2, 2, 4)), ValueError,
     "padding .* cuts the whole output along the height.*= 0, must be >= 1"),
    (dict(kernel_size=3, padding=(0, 3)), np.ones((1, 2, 4, 2)), ValueError, "along the width"),
    (dict(kernel_size=3), np.ones((1, 3, 6, 6)), ValueError,
     r"x must have shape \(n_samples, 2, height, width\).*3 channels"),
    (dict(kernel_size=3), np.ones((2, 6, 6)), ValueError, "dimensions"),
    (dict(kernel_size=3), np.ones((1, 1, 2, 6, 6)), ValueError, "dimensions"),
    (dict(kernel_size=3), np.ones((0, 2, 6, 6)), ValueError, "empty"),
    (dict(kernel_size=3), np.ones((1, 2, 0, 6)), ValueError, "empty"),
    (dict(kernel_size=3), np.array([[[["a"]]]]), TypeError, "numeric"),
    (dict(kernel_size=1, stride=2 ** 30), np.ones((1, 2, 4, 1)), ValueError,
     "the output height for x of shape .* must be <= 2147483647"),
    (dict(kernel_size=1, stride=2 ** 16), np.ones((1, 2, 3, 3)), ValueError,
     "output height \\* width for x of shape .* must be <="),
])
def test_conv_transpose2d_bad_input(layer_args, x, exc, words):
    layer = L.ConvTranspose2D(2, 3, **layer_args)
    with pytest.raises(exc, match=words):
        layer.forward(x)


def test_conv_transpose2d_backward_errors():
    layer = L.ConvTranspose2D(2, 3, 3)
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((1, 3, 6, 6)))
    layer.forward(np.ones((1, 2, 4, 4)))
    for bad in (np.ones((1, 3, 6, 5)), np.ones((2, 3, 6, 6)), np.ones((1, 2, 6, 6)),
                np.ones((3, 6, 6))):
        with pytest.raises(ValueError, match="grad_output must have shape"):
            layer.backward(bad)


def test_conv_transpose2d_parameter_assignment_is_checked():
    layer = L.ConvTranspose2D(3, 8, 5)
    with pytest.raises(ValueError, match=r"shape \(3, 8, 5, 5\).*transpos.*got shape \(8, 3, 5, 5\)"):
        layer.weight.value = np.ones((8, 3, 5, 5), np.float32)    # Conv2D's layout
    with pytest.raises(ValueError, match=r"'bias'.*shape \(8,\)"):
        layer.bias.value = np.ones(3, np.float32)
    with pytest.raises(TypeError, match="'weight'"):
        layer.weight.value = None
    layer.weight.value = np.ones((3, 8, 5, 5))                   # cast to the layer's dtype
    assert layer.weight.value.dtype == np.float32


def test_conv_transpose2d_config_save_load(tmp_path):
    model = nf.Sequential(L.Conv2D(1, 4, 3, stride=2, padding=1, rng=0), L.ReLU(),
                          L.ConvTranspose2D(4, 2, 3, stride=2, padding=1, output_padding=1,
                                            bias=False, rng=1),
                          L.ConvTranspose2D(2, 1, (2, 1), dilation=(1, 2), rng=2))
    config = model.layers[2].config()
    assert json.loads(json.dumps(config)) == config
    assert config["bias"] is False and config["output_padding"] == [1, 1]
    assert "ConvTranspose2D(in_channels=4, out_channels=2" in repr(model.layers[2])
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = nf.load(path)
    assert type(loaded.layers[2]) is L.ConvTranspose2D and loaded.layers[2].bias is None
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_conv_transpose2d_summary_and_count_params(capsys):
    model = nf.Sequential(L.ConvTranspose2D(16, 8, 2, stride=2), L.ReLU(),
                          L.ConvTranspose2D(8, 3, 3, padding=1, bias=False))
    n = 16 * 8 * 2 * 2 + 8 + 8 * 3 * 3 * 3
    assert model.count_params() == n
    model.summary((16, 14, 14))
    text = capsys.readouterr().out
    assert "ConvTranspose2D" in text and "(N, 8, 28, 28)" in text and "(N, 3, 28, 28)" in text
    assert f"{n:,}" in text


def test_conv_transpose2d_state_dict_matches_torch(torch):
    model = nf.Sequential(L.ConvTranspose2D(4, 3, 2, stride=2, rng=0), L.ReLU(),
                          L.ConvTranspose2D(3, 2, 3, bias=False, rng=1))
    tmodel = torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 3, 2, stride=2), torch.nn.ReLU(),
                                 torch.nn.ConvTranspose2d(3, 2, 3, bias=False))
    state = model.state_dict()
    assert list(state) == list(tmodel.state_dict()) == ["0.weight", "0.bias", "2.weight"]
    tmodel.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3)).astype(np.float32)
    assert_close(model.predict(x), tmodel(torch.tensor(x)).detach().numpy(), np.float32)
    other = nf.Sequential(L.ConvTranspose2D(4, 3, 2, stride=2, rng=5), L.ReLU(),
                          L.ConvTranspose2D(3, 2, 3, bias=False, rng=6))
    other.load_state_dict(tmodel.state_dict())
    assert np.array_equal(other.predict(x), model.predict(x))


def test_conv_transpose2d_concurrent_calls_are_independent():
    """Threads calling one model at once get what each gets alone: scratch
    is the calling thread's, not the layer's."""
    model = nf.Sequential(L.ConvTranspose2D(3, 4, 3, stride=2, rng=0), L.ReLU(),
                          L.ConvTranspose2D(4, 2, 2, stride=2, rng=1))
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((2, 3, 5 + i % 3, 6)).astype(np.float32) for i in range(8)]
    alone = [model.predict(x) for x in inputs]
    got = [None] * len(inputs)

    def work(i):
        for _ in range(5):
            got[i] = model.predict(inputs[i])

    pool = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    for a, b in zip(got, alone):
        assert np.array_equal(a, b)


def test_conv_transpose2d_trains_in_fit():
    """An autoencoder-like toy: strided Conv2D down, ConvTranspose2D up,
    trained by nf.fit on an MSE to its input; the loss goes down."""
    rng = np.random.default_rng(0)
    X = rng.random((64, 1, 8, 8)).astype(np.float32)
    model = nf.Sequential(L.Conv2D(1, 4, 3, stride=2, padding=1, rng=0), L.ReLU(),
                          L.ConvTranspose2D(4, 1, 3, stride=2, padding=1, output_padding=1, rng=1))
    loss = nf.losses.MSELoss()
    before = loss.forward(model.predict(X), X)
    history = nf.fit(model, X, X, loss=loss, optimizer=nf.optim.Adam(model.parameters(), lr=1e-2),
                     epochs=3, batch_size=16, progress=False, rng=0)
    after = loss.forward(model.predict(X), X)
    assert len(history.history["loss"]) == 3
    assert np.isfinite(after) and after < before
