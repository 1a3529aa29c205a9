"""MaxPool2D and AvgPool2D: torch, gradient checks, layer API and bad
input (the kernels' own tests: tests/kernels/test_pooling_kernels.py)."""
import json

import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_layers_match_torch(seed, kind, torch):
    """The layers' forward and backward against torch's, symmetric padding
    handed to the kernels as (before, after) pairs."""
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    k, s = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    p = int(rng.integers(0, k // 2 + 1))
    x = rng.standard_normal((2, 3, int(rng.integers(k, k + 8)), int(rng.integers(k, k + 8))))
    cls = nf.layers.MaxPool2D if kind == "max" else nf.layers.AvgPool2D
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    xt = torch.tensor(x, requires_grad=True)
    expected = pool(xt, k, s, p)
    g = rng.standard_normal(tuple(expected.shape))
    expected.backward(torch.tensor(g))
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            layer = cls(k, stride=s, padding=p)
            assert_close(layer.forward(x), expected.detach().numpy(), np.float64)
            assert_close(layer.backward(g), xt.grad.numpy(), np.float64)


def test_maxpool_backward_adds_over_overlapping_windows():
    # 3x3 windows with stride 1 on a 1x1x3x4 image whose maximum is shared
    x = np.arange(12, dtype=np.float64).reshape(1, 1, 3, 4)
    x[0, 0, 1, 2] = 100.0
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            layer = nf.layers.MaxPool2D(3, stride=1)
            out = layer.forward(x)
            np.testing.assert_array_equal(out, [[[[100.0, 100.0]]]])
            gx = layer.backward(np.array([[[[1.0, 2.0]]]]))
        assert gx[0, 0, 1, 2] == 3.0 and gx.sum() == 3.0


def test_maxpool_nan_propagates_like_torch():
    x = np.array([[[[1.0, np.nan], [3.0, 2.0]]]])
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            assert np.isnan(nf.layers.MaxPool2D(2).forward(x)).all()


def test_maxpool_padding_never_wins():
    x = -np.ones((1, 1, 3, 3))
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            out = nf.layers.MaxPool2D(2, stride=1, padding=1).forward(x)
        np.testing.assert_array_equal(out, -np.ones((1, 1, 4, 4)))


@pytest.mark.parametrize("cls", [nf.layers.MaxPool2D, nf.layers.AvgPool2D])
@pytest.mark.parametrize("args", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),        # overlapping windows
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0)),
    dict(kernel_size=(2, 4), stride=(3, 1), padding=(0, 2)),
])
def test_pooling_gradcheck(cls, args):
    layer = cls(**args)
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8) / 50.0   # no ties
    errors = nf.gradcheck(layer, x, rtol=1e-6, max_checks=120)
    assert set(errors) == {"input"}


@pytest.mark.parametrize("cls", [nf.layers.MaxPool2D, nf.layers.AvgPool2D])
def test_pooling_layer_api(cls, dtype):
    layer = cls((2, 3), padding=(1, 1))
    assert layer.stride == (2, 3) and layer.parameters() == []
    assert json.loads(json.dumps(layer.config())) == {
        "kernel_size": [2, 3], "stride": [2, 3], "padding": [1, 1]}
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 7)).astype(dtype)
    out = layer.forward(x)
    assert out.dtype == dtype and out.shape == (2, 3, 3, 3)
    gx = layer.backward(np.ones(out.shape))
    assert gx.dtype == dtype and gx.shape == x.shape
    layer.requires_input_grad = False
    assert layer.backward(np.ones(out.shape)) is None
    # other dtypes are cast to float32, non-contiguous input is accepted
    assert layer.forward(np.arange(2 * 3 * 5 * 14).reshape(2, 3, 5, 14)[..., ::2]).dtype == np.float32


@pytest.mark.parametrize("cls", [nf.layers.MaxPool2D, nf.layers.AvgPool2D])
@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(kernel_size=0), ValueError, "kernel_size"),
    (dict(kernel_size=(2, 2, 2)), ValueError, "kernel_size"),
    (dict(kernel_size=1.5), TypeError, "kernel_size"),
    (dict(kernel_size=2, stride=0), ValueError, "stride"),
    (dict(kernel_size=2, padding=-1), ValueError, "padding"),
    (dict(kernel_size=2, padding=(0, 2)), ValueError, "padding must be at most half"),
])
def test_pooling_bad_constructor(cls, kwargs, exc, words):
    with pytest.raises(exc, match=words):
        cls(**kwargs)


@pytest.mark.parametrize("cls", [nf.layers.MaxPool2D, nf.layers.AvgPool2D])
@pytest.mark.parametrize("x, words", [
    (np.ones((1, 1, 2, 5)), "kernel_size .* larger than the padded input's height"),
    (np.ones((1, 1, 5, 2)), "larger than the padded input's width"),
    (np.ones((1, 5, 5)), "dimensions"),
    (np.ones((0, 1, 5, 5)), "empty"),
])
def test_pooling_bad_input(cls, x, words):
    with pytest.raises(ValueError, match=words):
        cls(3).forward(x)


@pytest.mark.parametrize("cls", [nf.layers.MaxPool2D, nf.layers.AvgPool2D])
def test_pooling_backward_errors(cls):
    layer = cls(2)
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((1, 1, 2, 2)))
    layer.forward(np.ones((1, 1, 4, 4)))
    for bad in (np.ones((1, 1, 2, 3)), np.ones((2, 1, 2, 2)), np.ones((1, 2, 2))):
        with pytest.raises(ValueError, match="grad_output must have shape"):
            layer.backward(bad)


def test_maxpool_rejects_planes_past_int32_positions(monkeypatch):
    """Positions are stored as int32: a plane of more pixels is refused,
    naming the argument (the limit lowered here, as 2^31 pixels would not
    fit in memory)."""
    import nnfast.layers.pooling as pooling_layers
    monkeypatch.setattr(pooling_layers, "INT32_MAX", 15)
    layer = nf.layers.MaxPool2D(2)
    with pytest.raises(ValueError, match=r"x's height \* width must be <= 15.*got 4 \* 4"):
        layer.forward(np.ones((1, 1, 4, 4), np.float32))
    assert layer.forward(np.ones((1, 1, 3, 5), np.float32)).shape == (1, 1, 1, 2)
