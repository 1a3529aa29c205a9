"""Pooling kernels: fast == reference over random shapes, strides and
(before, after) paddings, equality with torch.nn.functional, the 2x2 /
stride 2 path, and the floating-point mode a call leaves behind."""
import numpy as np
import pytest

from nnfast import _kernels, reference
from nnfast._kernels import _threads
from conftest import assert_close

SEEDS = range(100)


def random_pool_case(seed, dtype, symmetric=False):
    """Random shapes, window sizes, strides (overlapping windows included)
    and paddings of up to half the window on each side, before and after
    drawn apart unless ``symmetric``; values without ties."""
    rng = np.random.default_rng(seed)
    n, c = (int(v) for v in rng.integers(1, [4, 5]))
    kh, kw, sh, sw = (int(v) for v in rng.integers(1, [5, 5, 4, 4]))
    top, left = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
    if symmetric:
        bottom, right = top, left
    else:
        bottom, right = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
    h = int(rng.integers(max(1, kh - top - bottom), kh + 8))
    w = int(rng.integers(max(1, kw - left - right), kw + 8))
    oh, ow = (h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1
    x = rng.permutation(n * c * h * w).reshape(n, c, h, w) - n * c * h * w / 2
    x = (x / (n * c * h * w)).astype(dtype)      # distinct values: no ties
    return dict(x=x, grad_output=rng.standard_normal((n, c, oh, ow)).astype(dtype),
                kernel_size=(kh, kw), stride=(sh, sw),
                padding=((top, bottom), (left, right)))


def run_pool(kernels, kind, case):
    x, g = case["x"], case["grad_output"]
    geometry = (case["kernel_size"], case["stride"], case["padding"])
    out = np.full(g.shape, np.nan, dtype=x.dtype)
    grad_input = np.full(x.shape, np.nan, dtype=x.dtype)
    if kind == "max":
        argmax = np.full(g.shape, -1, dtype=np.int32)
        kernels.maxpool2d_forward(x, *geometry, out, argmax)
        kernels.maxpool2d_backward(g, argmax, grad_input)
        return out, argmax, grad_input
    kernels.avgpool2d_forward(x, *geometry, out)
    kernels.avgpool2d_backward(g, *geometry, grad_input)
    return out, grad_input


@pytest.mark.parametrize("symmetric", [False, True], ids=["before_after", "symmetric"])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("seed", SEEDS)
def test_pooling_fast_matches_reference(seed, kind, symmetric, dtype, threads):
    case = random_pool_case(seed, dtype, symmetric)
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
    case = random_pool_case(seed, np.float64, symmetric=True)
    geometry = (case["kernel_size"], case["stride"], tuple(p for p, _ in case["padding"]))
    g = torch.tensor(case["grad_output"])
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


@pytest.mark.parametrize("seed", range(20))
def test_pooling_before_after_padding_matches_torch(seed, torch):
    """(before, after) padding is the input padded on those sides first: with
    -inf for max pooling, with zeros for average pooling (whose windows
    always divide by kernel_h * kernel_w)."""
    F = torch.nn.functional
    case = random_pool_case(seed, np.float64)
    (top, bottom), (left, right) = case["padding"]
    kernel_size, stride = case["kernel_size"], case["stride"]
    g = torch.tensor(case["grad_output"])
    for kind, fill in (("max", -np.inf), ("avg", 0.0)):
        x = torch.tensor(case["x"], requires_grad=True)
        padded = F.pad(x, (left, right, top, bottom), value=fill)
        pool = F.max_pool2d if kind == "max" else F.avg_pool2d
        out = pool(padded, kernel_size, stride)
        out.backward(g)
        for kernels in (_kernels, reference):
            got = run_pool(kernels, kind, case)
            assert_close(got[0], out.detach().numpy(), np.float64)
            assert_close(got[-1], x.grad.numpy(), np.float64)


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


@pytest.mark.parametrize("after", [(1, 0), (0, 1), (1, 1)], ids=["bottom", "right", "both"])
def test_maxpool_2x2_windows_into_bottom_or_right_padding(after, dtype, threads):
    """2x2 / stride 2 windows that reach into bottom or right padding read
    only the image: past the last plane is NaN, and nothing of it (nor of
    the next plane) may reach a result."""
    rng = np.random.default_rng(sum(after))
    n, c, h, w = 2, 3, 7, 9
    backing = np.full(n * c * h * w + 64, np.nan, dtype)
    x = backing[:n * c * h * w].reshape(n, c, h, w)
    x[...] = rng.standard_normal(x.shape)
    padding = ((0, after[0]), (0, after[1]))
    shape = (n, c, (h + after[0]) // 2, (w + after[1]) // 2)
    results = []
    for kernels in (_kernels, reference):
        out = np.full(shape, -7, dtype=dtype)
        argmax = np.full(shape, -1, dtype=np.int32)
        kernels.maxpool2d_forward(x, (2, 2), (2, 2), padding, out, argmax)
        results.append((out, argmax))
    assert np.all(np.isfinite(results[0][0]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("through_relu", [False, True])
def test_maxpool_backward_overlapping_windows_fast_equals_reference(through_relu):
    """3x3 / stride 2 / padding 1 windows (overlapping), maxima placed on the
    even pixels and one elsewhere, with and without the ReLU mask."""
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
        grad_input = np.full(x.shape, np.nan, np.float32)
        kernels.maxpool2d_backward(g, argmax, grad_input, pooled)
        results.append(grad_input)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_leaves_the_fp_mode_as_found(kind, dtype, threads):
    """The kernels flush denormals for their own duration only (run_team):
    the calling thread leaves each call in the mode it entered it with."""
    mode = _threads.fp_mode()
    run_pool(_kernels, kind, random_pool_case(3, dtype))
    assert _threads.fp_mode() == mode
