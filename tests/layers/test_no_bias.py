"""bias=False on Linear and Conv2D: no bias Parameter, and forward, backward,
the fused ReLU, saving and loading as with one."""
import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close, forward_backward

L = nf.layers


def linear(dtype=np.float64, **kw):
    return L.Linear(5, 3, bias=False, dtype=dtype, rng=0, **kw)


def conv(dtype=np.float64, **kw):
    return L.Conv2D(2, 3, (3, 2), stride=(2, 1), padding=((1, 0), (0, 1)), bias=False,
                    dtype=dtype, rng=0, **kw)


CASES = [(linear, (4, 5)), (conv, (2, 2, 6, 5))]


@pytest.mark.parametrize("make, shape", CASES, ids=["Linear", "Conv2D"])
def test_no_bias_parameter(make, shape):
    layer = make()
    assert layer.bias is None
    assert layer.parameters() == [layer.weight]
    assert layer.config()["bias"] is False


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("make, shape", CASES, ids=["Linear", "Conv2D"])
def test_no_bias_gradcheck(make, shape, backend):
    x = np.random.default_rng(1).standard_normal(shape)
    with nf.use_backend(backend):
        errors = nf.gradcheck(make(), x)
    assert set(errors) == {"input", "weight"}


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_no_bias_matches_torch(backend, algorithm, dtype, torch):
    F = torch.nn.functional
    rng = np.random.default_rng(2)
    for layer, x, reference in (
            (linear(dtype), rng.standard_normal((4, 5)).astype(dtype),
             lambda xt, wt: F.linear(xt, wt)),
            (conv(dtype, algorithm=algorithm), rng.standard_normal((2, 2, 6, 5)).astype(dtype),
             lambda xt, wt: F.conv2d(F.pad(xt, (0, 1, 1, 0)), wt, stride=(2, 1)))):
        out, g, gx = forward_backward(layer, x, rng, backend)
        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(layer.weight.value, requires_grad=True)
        ot = reference(xt, wt)
        ot.backward(torch.tensor(g))
        assert_close(out, ot.detach().numpy(), dtype)
        assert_close(gx, xt.grad.numpy(), dtype)
        assert_close(layer.weight.grad, wt.grad.numpy(), dtype)


def test_linear_weight_draw_does_not_depend_on_bias():
    np.testing.assert_array_equal(L.Linear(5, 3, rng=4).weight.value,
                                  L.Linear(5, 3, bias=False, rng=4).weight.value)


def test_no_bias_fused_relu_and_training(tmp_path):
    model = nf.Sequential(L.Conv2D(1, 2, 3, padding=1, bias=False, rng=0), L.ReLU(),
                          L.Flatten(), L.Linear(2 * 4 * 4, 3, bias=False, rng=1))
    x = np.random.default_rng(0).standard_normal((6, 1, 4, 4)).astype(np.float32)
    y = np.arange(6) % 3
    conv_layer = model[0]
    expected = np.maximum(conv_layer.forward(x), 0)
    model.forward(x)
    np.testing.assert_array_equal(model[1]._saved, expected)
    assert len(model.parameters()) == 2
    nf.fit(model, x, y, loss=nf.losses.CrossEntropyLoss(),
           optimizer=nf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=2,
           batch_size=3, progress=False)
    path = tmp_path / "no_bias.npz"
    model.save(path)
    loaded = nf.load(path)
    assert loaded[0].bias is None and loaded[3].bias is None
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def test_no_bias_accumulates_weight_grad():
    layer = linear()
    x = np.random.default_rng(0).standard_normal((4, 5))
    out = layer.forward(x)
    layer.backward(np.ones_like(out))
    once = layer.weight.grad.copy()
    layer.forward(x)
    layer.backward(np.ones_like(out))
    np.testing.assert_allclose(layer.weight.grad, 2 * once)


@pytest.mark.parametrize("make", [lambda b: L.Linear(2, 3, bias=b),
                                  lambda b: L.Conv2D(1, 2, 3, bias=b)], ids=["Linear", "Conv2D"])
@pytest.mark.parametrize("bad", [1, "no", None, np.array([True])])
def test_bad_bias(make, bad):
    with pytest.raises(TypeError, match="bias must be True or False"):
        make(bad)


def test_bias_init_needs_a_bias():
    with pytest.raises(ValueError, match="bias_init"):
        L.Linear(2, 3, bias=False, bias_init="zeros")
