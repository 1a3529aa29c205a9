"""conv_transpose2d_forward: fast == reference over seeded shapes, strides,
paddings, output paddings, dilations, dtypes, thread counts and every code
path (plain columns with one or many row blocks, span columns, the 1x1
shortcut); equality with torch's conv_transpose2d; adjointness with the
conv2d forward; the floating-point mode a call leaves behind."""
import numpy as np
import pytest

from nnfast import _kernels, reference
from nnfast._kernels import _conv_plan as fast_conv
from nnfast._kernels import _threads
from conftest import assert_close


def out_size(size, kernel, stride, pad, output_padding, dilation):
    return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1


def random_case(seed, dtype):
    """Random shapes and geometry; every fifth case a 1x1 stride-1 unpadded
    kernel (the no-buffer shortcut), every fifth+1 stride and dilation 1
    (span columns)."""
    rng = np.random.default_rng(seed)
    n, c, o = (int(v) for v in rng.integers(1, [4, 5, 6]))
    if seed % 5 == 0:
        kh = kw = sh = sw = dh = dw = 1
        ph = pw = oph = opw = 0
    else:
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        sh, sw, dh, dw = (int(v) for v in rng.integers(1, 4, 4))
        if seed % 5 == 1:
            sh = sw = dh = dw = 1
        oph, opw = (int(rng.integers(0, max(s, d))) for s, d in ((sh, dh), (sw, dw)))
        ph, pw = (int(v) for v in rng.integers(0, 3, 2))
    while True:
        h, w = (int(v) for v in rng.integers(1, 9, 2))
        oh = out_size(h, kh, sh, ph, oph, dh)
        ow = out_size(w, kw, sw, pw, opw, dw)
        if oh > 0 and ow > 0:
            break
    return dict(x=rng.standard_normal((n, c, h, w)).astype(dtype),
                weight=rng.standard_normal((c, o, kh, kw)).astype(dtype),
                bias=rng.standard_normal(o).astype(dtype),
                out_shape=(n, o, oh, ow), stride=(sh, sw), padding=((ph, ph), (pw, pw)),
                dilation=(dh, dw), output_padding=(oph, opw))


def run(kernels, case):
    x, weight = case["x"], case["weight"]
    out = np.full(case["out_shape"], np.nan, dtype=x.dtype)  # every element must be written
    size = kernels.conv2d_workspace_size(weight.shape, x.shape, x.dtype)
    workspace = np.full(size, np.nan, dtype=x.dtype)        # garbage must not leak
    kernels.conv_transpose2d_forward(x, weight, case["bias"], case["stride"], case["padding"],
                                     case["dilation"], out, workspace)
    return out


@pytest.fixture(params=["never", "always", "auto"], ids=["plain", "span", "auto"])
def span_columns(request):
    old = fast_conv.get_span_columns()
    fast_conv.set_span_columns(request.param)
    yield request.param
    fast_conv.set_span_columns(old)


@pytest.fixture
def column_bytes():
    old = fast_conv.get_column_bytes()
    yield fast_conv.set_column_bytes
    fast_conv.set_column_bytes(old)


@pytest.mark.parametrize("seed", range(60))
def test_conv_transpose2d_fast_matches_reference(seed, dtype, threads, span_columns,
                                                 column_bytes):
    # odd seeds: one output row per column buffer (many blocks per sample)
    column_bytes(64 if seed % 2 else fast_conv.get_column_bytes())
    case = random_case(seed, dtype)
    expected = run(reference, case)
    got = run(_kernels, case)
    assert got.dtype == dtype
    assert np.all(np.isfinite(got))
    assert_close(got, expected, dtype)


@pytest.mark.parametrize("seed", range(1, 60, 7))
def test_conv_transpose2d_many_samples(seed, threads):
    """More samples than threads, and fewer (channel groups per sample)."""
    case = random_case(seed, np.float64)
    for n in (1, 7):
        rng = np.random.default_rng(seed)
        case["x"] = rng.standard_normal((n,) + case["x"].shape[1:])
        case["out_shape"] = (n,) + case["out_shape"][1:]
        assert_close(run(_kernels, case), run(reference, case), np.float64)


@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_conv_transpose2d_matches_torch(seed, torch):
    case = random_case(seed, np.float64)
    expected = torch.nn.functional.conv_transpose2d(
        torch.tensor(case["x"]), torch.tensor(case["weight"]), torch.tensor(case["bias"]),
        stride=case["stride"], padding=(case["padding"][0][0], case["padding"][1][0]),
        output_padding=case["output_padding"], dilation=case["dilation"]).numpy()
    for kernels in (reference, _kernels):
        assert_close(run(kernels, case), expected, np.float64)


@pytest.mark.parametrize("seed", range(20))
def test_conv_transpose2d_is_the_adjoint_of_conv2d(seed):
    """<conv_transpose(x), y> == <x, conv(y)> with the bias 0: the property
    that makes it the conv's input gradient."""
    case = random_case(seed, np.float64)
    x, weight = case["x"], case["weight"]
    case["bias"] = np.zeros(weight.shape[1])
    y = np.random.default_rng(seed + 1000).standard_normal(case["out_shape"])
    conv_y = np.empty_like(x)
    size = _kernels.conv2d_workspace_size(weight.shape, x.shape, x.dtype)
    _kernels.conv2d_im2col_forward(y, weight, np.zeros(weight.shape[0]), case["stride"],
                                   case["padding"], case["dilation"], conv_y,
                                   np.empty(size))
    lhs = float(np.sum(run(_kernels, case) * y))
    rhs = float(np.sum(x * conv_y))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(rhs))


def test_conv_transpose2d_leaves_the_fp_mode_as_found(dtype, threads):
    mode = _threads.fp_mode()
    run(_kernels, random_case(3, dtype))
    assert _threads.fp_mode() == mode
