"""MaxPool2D and AvgPool2D: kernels fast == reference, torch, gradient
checks, layer API and bad input."""
import json

import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from conftest import assert_close

SEEDS = range(100)


def random_pool_case(seed, dtype):
    """Random shapes, window sizes, strides (overlapping windows included)
    and paddings up to half the window; values without ties."""
    rng = np.random.default_rng(seed)
    n, c = (int(v) for v in rng.integers(1, [4, 5]))
    kh, kw, sh, sw = (int(v) for v in rng.integers(1, [5, 5, 4, 4]))
    ph, pw = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
    h = int(rng.integers(max(1, kh - 2 * ph), kh + 8))
    w = int(rng.integers(max(1, kw - 2 * pw), kw + 8))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    x = rng.permutation(n * c * h * w).reshape(n, c, h, w) - n * c * h * w / 2
    x = (x / (n * c * h * w)).astype(dtype)      # distinct values: no ties
    return dict(x=x, grad_out=rng.standard_normal((n, c, oh, ow)).astype(dtype),
                kernel_size=(kh, kw), stride=(sh, sw), padding=((ph, ph), (pw, pw)))


def run_pool(kernels, kind, case):
    x, g = case["x"], case["grad_out"]
    geometry = (case["kernel_size"], case["stride"], case["padding"])
    out = np.full(g.shape, np.nan, dtype=x.dtype)
    grad_x = np.full(x.shape, np.nan, dtype=x.dtype)
    if kind == "max":
        argmax = np.full(g.shape, -1, dtype=np.int32)
        kernels.maxpool2d_forward(x, *geometry, out, argmax)
        kernels.maxpool2d_backward(g, argmax, grad_x)
        return out, argmax, grad_x
    kernels.avgpool2d_forward(x, *geometry, out)
    kernels.avgpool2d_backward(g, *geometry, grad_x)
    return out, grad_x


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("seed", SEEDS)
def test_pooling_fast_matches_reference(seed, kind, dtype, threads):
    case = random_pool_case(seed, dtype)
    fast = run_pool(_kernels, kind, case)
    ref = run_pool(reference, kind, case)
    for a, e in zip(fast, ref):
        assert a.dtype == e.dtype
        if a.dtype == np.int32:
            np.testing.assert_array_equal(a, e)
        else:
            assert_close(a, e, dtype)


@pytest.mark.parametrize("seed", range(30))
def test_pooling_matches_torch(seed, torch):
    F = torch.nn.functional
    case = random_pool_case(seed, np.float64)
    geometry = (case["kernel_size"], case["stride"], tuple(p for p, _ in case["padding"]))
    g = torch.tensor(case["grad_out"])
    x = torch.tensor(case["x"], requires_grad=True)
    out, indices = F.max_pool2d(x, *geometry, return_indices=True)
    out.backward(g)
    for kernels in (_kernels, reference):
        got_out, got_argmax, got_gx = run_pool(kernels, "max", case)
        np.testing.assert_array_equal(got_out, out.detach().numpy())
        np.testing.assert_array_equal(got_argmax, indices.numpy())
        assert_close(got_gx, x.grad.numpy(), np.float64)
    x.grad = None
    out = F.avg_pool2d(x, *geometry)      # count_include_pad=True
    out.backward(g)
    for kernels in (_kernels, reference):
        got_out, got_gx = run_pool(kernels, "avg", case)
        assert_close(got_out, out.detach().numpy(), np.float64)
        assert_close(got_gx, x.grad.numpy(), np.float64)


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


@pytest.mark.parametrize("seed", range(20))
def test_maxpool_2x2_stride_2_ties_and_nan(seed, dtype, threads):
    """The branch-free (and, in float32, SIMD) 2x2 / stride 2 path picks what
    the general loop does:
    the first of tied maxima, a NaN over any number; odd sizes drop the last
    row and column."""
    rng = np.random.default_rng(seed)
    n, c = (int(v) for v in rng.integers(1, [4, 5]))
    h, w = (int(v) for v in rng.integers(2, [12, 24]))   # several 4-wide steps
    x = rng.integers(0, 3, (n, c, h, w)).astype(dtype)     # many ties
    if seed % 2:
        x[rng.random(x.shape) < 0.1] = np.nan
    shape = (n, c, h // 2, w // 2)
    results = []
    for kernels in (_kernels, reference):
        out = np.full(shape, -7, dtype=dtype)
        argmax = np.full(shape, -1, dtype=np.int32)
        kernels.maxpool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)), out, argmax)
        results.append((out, argmax))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    # and the rule itself, window by window
    out, argmax = results[0]
    for i in np.ndindex(*shape):
        a, b, hh, ww = i
        window = x[a, b, 2 * hh:2 * hh + 2, 2 * ww:2 * ww + 2].ravel()
        nan = np.flatnonzero(np.isnan(window))
        k = nan[-1] if nan.size else int(np.argmax(window))
        assert argmax[i] == (2 * hh + k // 2) * w + 2 * ww + k % 2


@pytest.mark.parametrize("through_relu", [False, True])
def test_maxpool_backward_overlapping_windows_fast_equals_reference(through_relu):
    """3x3 / stride 2 / padding 1 windows (overlapping), maxima placed on the
    even pixels and one elsewhere, with and without the ReLU mask."""
    from nnfast import _kernels, reference
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 8, 6)).astype(np.float32)
    x[:, :, ::2, ::2] += 10.0  # each window's maximum: its top-left pixel
    x[0, 0, 0, 0] = -1.0       # one window whose maximum is elsewhere: the general path
    out = np.empty((2, 3, 4, 3), np.float32)
    argmax = np.empty(out.shape, np.int32)
    _kernels.maxpool2d_forward(x, (3, 3), (2, 2), ((1, 1), (1, 1)), out, argmax)
    g = rng.standard_normal(out.shape).astype(np.float32)
    pooled = out if through_relu else None
    results = []
    for kernels in (_kernels, reference):
        grad_x = np.full(x.shape, np.nan, np.float32)
        kernels.maxpool2d_backward(g, argmax, grad_x, pooled)
        results.append(grad_x)
    np.testing.assert_array_equal(results[0], results[1])


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
