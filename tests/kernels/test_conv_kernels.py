"""Convolution kernels: fast == reference (im2col and direct, every code path
of the blocked im2col kernels, (before, after) paddings), im2col/col2im
adjointness, equality with torch.nn.functional.conv2d, and the
floating-point mode a call leaves behind."""
import numpy as np
import pytest

from nnfast import _kernels, reference
from nnfast._kernels import _conv_plan as fast_conv
from nnfast._kernels import _small_gemm, _threads, conv_im2col
from conftest import assert_close

SEEDS = range(100)


def out_size(size, kernel, stride, before, after, dilation):
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def random_conv_case(seed, dtype, unit_stride=False):
    """Random shapes, strides, per-side paddings and dilations; every fifth
    case is a 1x1 stride-1 unpadded kernel (the no-buffer shortcut).
    ``unit_stride``: stride and dilation 1, any kernel and padding (the cases
    span columns handle)."""
    rng = np.random.default_rng(seed)
    n, c, o = (int(v) for v in rng.integers(1, [4, 5, 6]))
    if unit_stride:
        kh, kw = (int(v) for v in rng.integers(1, 6, 2))
        sh = sw = dh = dw = 1
        top, bottom, left, right = (int(v) for v in rng.integers(0, 3, 4))
    elif seed % 5 == 0:
        kh = kw = sh = sw = dh = dw = 1
        top = bottom = left = right = 0
    else:
        kh, kw, sh, sw, dh, dw = (int(v) for v in rng.integers(1, [4, 4, 3, 3, 3, 3]))
        top, bottom, left, right = (int(v) for v in rng.integers(0, 3, 4))
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    h = int(rng.integers(max(1, span_h - top - bottom), span_h + 8))
    w = int(rng.integers(max(1, span_w - left - right), span_w + 8))
    oh = out_size(h, kh, sh, top, bottom, dh)
    ow = out_size(w, kw, sw, left, right, dw)
    return dict(
        x=rng.standard_normal((n, c, h, w)).astype(dtype),
        weight=rng.standard_normal((o, c, kh, kw)).astype(dtype),
        bias=rng.standard_normal(o).astype(dtype),
        grad_output=rng.standard_normal((n, o, oh, ow)).astype(dtype),
        stride=(sh, sw), padding=((top, bottom), (left, right)), dilation=(dh, dw))


def run_conv(kernels, algorithm, case, need_grad_input):
    x, weight, bias, g = case["x"], case["weight"], case["bias"], case["grad_output"]
    geometry = (case["stride"], case["padding"], case["dilation"])
    out = np.empty_like(g)
    grad_input = np.empty_like(x) if need_grad_input else None
    grad_weight = np.ones_like(weight)  # accumulates: start from non-zero
    grad_bias = np.ones_like(bias)
    if algorithm == "im2col":
        size = kernels.conv2d_workspace_size(weight.shape, g.shape, x.dtype)
        workspace = np.full(size, np.nan, dtype=x.dtype)  # garbage must not leak
        kernels.conv2d_im2col_forward(x, weight, bias, *geometry, out, workspace)
        kernels.conv2d_im2col_backward(x, weight, g, *geometry, grad_input, grad_weight,
                                       grad_bias, workspace)
    else:
        kernels.conv2d_direct_forward(x, weight, bias, *geometry, out)
        kernels.conv2d_direct_backward(x, weight, g, *geometry, grad_input, grad_weight,
                                       grad_bias)
    return out, grad_input, grad_weight, grad_bias


@pytest.fixture(params=["never", "always", "auto"], ids=["plain", "span", "auto"])
def span_columns(request):
    """Run without, with, and where they pay, span columns (stride and
    dilation 1)."""
    old = fast_conv.get_span_columns()
    fast_conv.set_span_columns(request.param)
    yield request.param
    fast_conv.set_span_columns(old)


# the AVX2 kernels once more where the best is AVX-512 (elsewhere "small_gemm" is them)
_AVX2_TOO = ["small_gemm_avx2"] if _small_gemm.instruction_sets()[:1] == ("avx512",) else []


@pytest.fixture(params=["as_is", "transposed", "small_gemm", "small_gemm_no_dot",
                        "small_gemm_copied"] + _AVX2_TOO)
def grad_output_layout(request):
    """Run the float32 GEMMs on BLAS, the weight gradient with the output
    gradient as it is and transposed (every CPU without AVX2), and on the
    register-tile GEMMs in the CPU's best instruction set (float32 forward,
    input and weight gradients; float64 stays on BLAS): the weight gradient
    of fewer than 32 output channels on dot_gemm, and with that off on
    small_gemm as for more; on an AVX-512 CPU, in AVX2 as well."""
    small = request.param.startswith("small_gemm")
    if small and not _small_gemm.available():
        pytest.skip("this CPU has neither AVX-512F nor AVX2 with FMA")
    old = fast_conv.get_weight_grad_layout()
    old_small = _small_gemm.set_enabled(small)
    old_isa = _small_gemm.set_instruction_set("avx2" if request.param == "small_gemm_avx2"
                                              else None) if small else None
    old_dot = conv_im2col.set_dot_max_channels(0 if request.param == "small_gemm_no_dot" else 32)
    fast_conv.set_weight_grad_layout("auto" if small else request.param)
    old_in_place = fast_conv.set_in_place_columns(request.param != "small_gemm_copied")
    yield request.param
    fast_conv.set_in_place_columns(old_in_place)
    fast_conv.set_weight_grad_layout(old)
    _small_gemm.set_enabled(old_small)
    if small:
        _small_gemm.set_instruction_set(old_isa)
    conv_im2col.set_dot_max_channels(old_dot)


@pytest.fixture
def column_bytes(request):
    """Set the fast im2col kernels' column budget for one test, then restore it."""
    old = fast_conv.get_column_bytes()
    yield fast_conv.set_column_bytes
    fast_conv.set_column_bytes(old)


def budget_for(seed):
    """Odd seeds: a column budget so small that every block is one output
    row (many blocks per sample); even seeds: the default, cache-sized one."""
    return 64 if seed % 2 else fast_conv.get_column_bytes()


@pytest.mark.parametrize("unit_stride", [False, True], ids=["any_stride", "unit_stride"])
@pytest.mark.parametrize("seed", SEEDS)
def test_conv2d_fast_matches_reference(seed, unit_stride, dtype, threads, column_bytes,
                                       span_columns, grad_output_layout):
    column_bytes(budget_for(seed))
    case = random_conv_case(seed, dtype, unit_stride)
    need_grad_input = seed % 4 != 3
    expected = run_conv(reference, "im2col", case, need_grad_input)
    for kernels, algorithm in ((reference, "direct"), (_kernels, "im2col"),
                               (_kernels, "direct")):
        got = run_conv(kernels, algorithm, case, need_grad_input)
        names = ("out", "grad_input", "grad_weight", "grad_bias")
        for name, a, e in zip(names, got, expected):
            if e is None:
                assert a is None
                continue
            assert a.dtype == dtype, name
            assert_close(a, e, dtype)


@pytest.mark.parametrize("seed", range(1, 100, 10))
@pytest.mark.parametrize("unit_stride", [False, True], ids=["any_stride", "unit_stride"])
def test_conv2d_fast_many_samples_and_threads(seed, unit_stride, threads, column_bytes,
                                              span_columns, grad_output_layout):
    """A batch larger than the thread count with several blocks per sample:
    the split over items and the per-thread weight accumulators."""
    column_bytes(64)
    case = random_conv_case(seed, np.float64, unit_stride)
    rng = np.random.default_rng(seed)
    case["x"] = np.concatenate([case["x"]] * 5) + rng.standard_normal((5,) + case["x"].shape[1:]).repeat(
        case["x"].shape[0], axis=0)
    case["grad_output"] = np.concatenate([case["grad_output"]] * 5)
    expected = run_conv(reference, "im2col", case, True)
    for algorithm in ("im2col", "direct"):
        for a, e in zip(run_conv(_kernels, algorithm, case, True), expected):
            assert_close(a, e, np.float64)


@pytest.mark.parametrize("seed", SEEDS)
def test_im2col_col2im_fast_match_reference(seed, dtype):
    case = random_conv_case(seed, dtype)
    image = case["x"][0]
    kernel_size = case["weight"].shape[2:]
    geometry = (kernel_size, case["stride"], case["padding"], case["dilation"])
    col_shape = ((image.shape[0] * kernel_size[0] * kernel_size[1],)
                 + case["grad_output"].shape[2:])
    cols, images = [], []
    y = np.random.default_rng(seed).standard_normal(col_shape).astype(dtype)
    for kernels in (_kernels, reference):
        col = np.full(col_shape, np.nan, dtype)
        kernels.im2col(image, *geometry, col)
        back = np.full(image.shape, np.nan, dtype)
        kernels.col2im(y, *geometry, back)
        cols.append(col)
        images.append(back)
    np.testing.assert_array_equal(cols[0], cols[1])
    assert_close(images[0], images[1], dtype)
    # col2im is the adjoint of im2col: <im2col(x), y> == <x, col2im(y)>
    rtol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(np.vdot(cols[0], y), np.vdot(image, images[0]),
                               rtol=rtol, atol=rtol * np.abs(y).sum())


def test_col2im_adds_overlapping_windows():
    # 3x3 windows, stride 1, on a 3x4 image: the middle pixels are in several windows
    image = np.zeros((1, 3, 4))
    col = np.ones((9, 1, 2))
    for kernels in (_kernels, reference):
        kernels.col2im(col, (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), image)
        np.testing.assert_array_equal(image[0], [[1, 2, 2, 1]] * 3)


@pytest.mark.parametrize("seed", range(30))
def test_conv2d_matches_torch(seed, torch):
    F = torch.nn.functional
    case = random_conv_case(seed, np.float64)
    (top, bottom), (left, right) = case["padding"]
    x = torch.tensor(case["x"], requires_grad=True)
    w = torch.tensor(case["weight"], requires_grad=True)
    b = torch.tensor(case["bias"], requires_grad=True)
    out = F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, stride=case["stride"],
                   dilation=case["dilation"])
    out.backward(torch.tensor(case["grad_output"]))
    for algorithm in ("im2col", "direct"):
        got = run_conv(_kernels, algorithm, case, True)
        expected = (out.detach().numpy(), x.grad.numpy(), w.grad.numpy() + 1,
                    b.grad.numpy() + 1)
        for a, e in zip(got, expected):
            assert_close(a, e, np.float64, rtol=1e-9)


def test_workspace_size_does_not_grow_with_batch():
    small = _kernels.conv2d_workspace_size((64, 32, 3, 3), (2, 64, 14, 14), np.float32)
    large = _kernels.conv2d_workspace_size((64, 32, 3, 3), (4096, 64, 14, 14), np.float32)
    assert small == large > 0
    assert reference.conv2d_workspace_size((64, 32, 3, 3), (2, 64, 14, 14), np.float32) == 0


def test_span_columns_mode_is_checked():
    with pytest.raises(ValueError, match="mode must be one of"):
        fast_conv.set_span_columns("sometimes")
    assert fast_conv.get_span_columns() == "auto"


def test_span_columns_read_nothing_past_the_input(span_columns):
    """The last row's discarded positions lie past an unpadded image. With
    NaN in the memory after the input, nothing of it may reach a result."""
    rng = np.random.default_rng(0)
    backing = np.full(10_000, np.nan, np.float32)
    x = backing[:2 * 3 * 9 * 9].reshape(2, 3, 9, 9)
    x[...] = rng.standard_normal(x.shape)
    case = dict(x=x, weight=rng.standard_normal((4, 3, 3, 5)).astype(np.float32),
                bias=np.zeros(4, np.float32),
                grad_output=rng.standard_normal((2, 4, 7, 5)).astype(np.float32),
                stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1))
    got = run_conv(_kernels, "im2col", case, True)
    expected = run_conv(reference, "im2col", case, True)
    for a, e in zip(got, expected):
        assert np.all(np.isfinite(a))
        assert_close(a, e, np.float32)


def test_weight_grad_layout_is_checked():
    with pytest.raises(ValueError, match="layout must be one of"):
        fast_conv.set_weight_grad_layout("sideways")
    assert fast_conv.get_weight_grad_layout() == "auto"


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_conv2d_leaves_the_fp_mode_as_found(algorithm, dtype, threads):
    """The kernels flush denormals for their own duration only (run_team):
    the calling thread leaves each call in the mode it entered it with."""
    mode = _threads.fp_mode()
    run_conv(_kernels, algorithm, random_conv_case(3, dtype), True)
    assert _threads.fp_mode() == mode
    case = random_conv_case(4, dtype)
    image = case["x"][0]
    kernel_size = case["weight"].shape[2:]
    col = np.empty((image.shape[0] * kernel_size[0] * kernel_size[1],)
                   + case["grad_output"].shape[2:], dtype)
    geometry = (kernel_size, case["stride"], case["padding"], case["dilation"])
    _kernels.im2col(image, *geometry, col)
    _kernels.col2im(col, *geometry, image.copy())
    assert _threads.fp_mode() == mode
