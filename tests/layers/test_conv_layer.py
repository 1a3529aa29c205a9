"""Conv2D layer: gradient checks, API, both backends, workspace, bad input."""
import json

import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close, forward_backward

GRADCHECK_CASES = [
    # (in, out, kernel_size, stride, padding, dilation, input (h, w))
    (2, 3, 3, 1, 0, 1, (5, 6)),
    (2, 3, 3, 1, 1, 1, (5, 5)),
    (1, 2, (2, 3), (2, 1), ((1, 0), (2, 1)), (1, 2), (6, 7)),    # non-square, per-side pad
    (3, 2, (3, 2), 2, (1, 0), 1, (7, 5)),                      # strides, (h, w) pad
    (2, 2, 3, 1, 2, 2, (5, 6)),                                # dilation
    (2, 2, 4, 1, "same", 1, (5, 6)),                           # even "same": extra after
    (3, 4, 1, 1, 0, 1, (4, 5)),                                # 1x1 shortcut
    (3, 2, 1, 2, 1, 1, (4, 5)),                                # 1x1, strided and padded
    (2, 3, 5, 3, 2, 1, (9, 8)),                                # stride < kernel: overlaps
]


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=lambda c: f"{c}")
def test_conv2d_gradcheck(case, algorithm):
    c, o, k, s, p, d, (h, w) = case
    layer = nf.layers.Conv2D(c, o, k, stride=s, padding=p, dilation=d,
                             algorithm=algorithm, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).standard_normal((2, c, h, w))
    errors = nf.gradcheck(layer, x, rtol=1e-6, max_checks=60)
    assert set(errors) == {"input", "weight", "bias"}


@pytest.mark.parametrize("algorithm", ["im2col", "direct", "auto"])
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_conv2d_layer_matches_torch(backend, algorithm, dtype, torch):
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    layer = nf.layers.Conv2D(3, 4, (3, 2), stride=(1, 2), padding=((2, 1), (0, 1)),
                             dilation=(2, 1), algorithm=algorithm, dtype=dtype, rng=2)
    x = rng.standard_normal((3, 3, 9, 8)).astype(dtype)
    out, g, gx = forward_backward(layer, x, rng, backend)
    assert out.dtype == dtype and gx.dtype == dtype
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight.value, requires_grad=True)
    bt = torch.tensor(layer.bias.value, requires_grad=True)
    ot = F.conv2d(F.pad(xt, (0, 1, 2, 1)), wt, bt, stride=(1, 2), dilation=(2, 1))
    ot.backward(torch.tensor(g))
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert_close(out, ot.detach().numpy(), dtype, rtol)
    assert_close(gx, xt.grad.numpy(), dtype, rtol)
    assert_close(layer.weight.grad, wt.grad.numpy(), dtype, rtol)
    assert_close(layer.bias.grad, bt.grad.numpy(), dtype, rtol)


def test_conv2d_same_padding_keeps_size_extra_after():
    layer = nf.layers.Conv2D(1, 1, (4, 3), padding="same", dilation=(1, 2))
    assert layer.padding == (1, 2, 2, 2)     # (top, bottom, left, right)
    assert layer.forward(np.ones((1, 1, 7, 6))).shape == (1, 1, 7, 6)


def test_conv2d_weight_init_and_layout():
    layer = nf.layers.Conv2D(3, 5, (2, 4), rng=0)
    w, b = layer.parameters()
    assert w is layer.weight and b is layer.bias
    assert w.shape == (5, 3, 2, 4) and b.shape == (5,)
    assert w.dtype == np.float32 and b.dtype == np.float32
    bound = 1 / np.sqrt(3 * 2 * 4)
    assert np.abs(w.value).max() <= bound and np.abs(b.value).max() <= bound
    again = nf.layers.Conv2D(3, 5, (2, 4), rng=0)
    np.testing.assert_array_equal(w.value, again.weight.value)


def test_conv2d_config_is_json_friendly():
    layer = nf.layers.Conv2D(2, 3, (3, 1), stride=2, padding=((1, 0), (0, 0)), dtype=np.float64)
    config = json.loads(json.dumps(layer.config()))
    assert config == {"in_channels": 2, "out_channels": 3, "kernel_size": [3, 1],
                      "stride": [2, 2], "padding": [[1, 0], [0, 0]], "dilation": [1, 1],
                      "algorithm": "auto", "dtype": "float64"}
    rebuilt = nf.layers.Conv2D(**{k: v for k, v in config.items() if k != "dtype"},
                               dtype=config["dtype"])
    assert rebuilt.padding == layer.padding and rebuilt.config() == layer.config()
    assert nf.layers.Conv2D(1, 1, 3, padding=1).config()["padding"] == 1
    assert nf.layers.Conv2D(1, 1, 3, padding=(1, 0)).config()["padding"] == [1, 0]
    assert nf.layers.Conv2D(1, 1, 3, padding="same").config()["padding"] == "same"


def test_conv2d_input_cast_and_non_contiguous():
    layer = nf.layers.Conv2D(2, 3, 3, rng=0)
    x = np.arange(2 * 2 * 6 * 10, dtype=np.int64).reshape(2, 2, 6, 10)[:, :, :, ::2]
    out = layer.forward(x)
    assert out.dtype == np.float32
    expected = layer.forward(np.ascontiguousarray(x, dtype=np.float32))
    np.testing.assert_array_equal(out, expected)


def assert_skips_input_gradient_and_accumulates(layer, x, g):
    """With ``requires_input_grad`` False (set after a forward, then before
    one) backward returns None and adds the same parameter gradients again."""
    layer.forward(x)
    gx = layer.backward(g)
    assert gx.shape == x.shape
    once = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.requires_input_grad = False
    assert layer.backward(g) is None
    layer.forward(x)
    assert layer.backward(g) is None
    np.testing.assert_allclose(layer.weight.grad, 3 * once[0], rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, 3 * once[1], rtol=1e-12)


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_conv2d_skips_input_gradient_and_accumulates(algorithm):
    layer = nf.layers.Conv2D(2, 3, 3, algorithm=algorithm, dtype=np.float64, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    g = np.random.default_rng(1).standard_normal((2, 3, 3, 3))
    assert_skips_input_gradient_and_accumulates(layer, x, g)


def test_conv2d_workspace_reused_and_bounded_by_chunk():
    """The im2col buffer belongs to the calling thread (nnfast._scratch), is
    reused across calls and does not grow with the batch: extra memory
    O(chunk), not O(batch). Run on a new thread, whose scratch starts empty."""
    import threading
    from nnfast import _scratch
    seen = {}

    def run():
        layer = nf.layers.Conv2D(8, 16, 3, padding=1, algorithm="im2col", rng=0)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, 8, 12, 12)).astype(np.float32)
        layer.backward(layer.forward(x))
        seen["first"] = _scratch._local.pool[np.dtype(np.float32)]
        big = rng.standard_normal((64, 8, 12, 12)).astype(np.float32)
        layer.backward(layer.forward(big))
        seen["second"] = _scratch._local.pool[np.dtype(np.float32)]
        seen["layer"], seen["big"] = layer, big

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    workspace, layer, big = seen["first"], seen["layer"], seen["big"]
    assert seen["second"] is workspace
    assert "_workspace" not in vars(layer)
    # one column block per thread plus one weight accumulator per extra thread
    from nnfast._kernels._conv_plan import get_column_bytes
    nt = nf.get_num_threads()
    one_row = 8 * 9 * 12 * 4
    bound = nt * max(get_column_bytes(), one_row) + (nt - 1) * layer.weight.value.nbytes
    assert workspace.nbytes <= bound
    assert workspace.nbytes < big.nbytes * 9    # far below a whole batch of columns


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_conv2d_auto_gives_same_results_as_both(backend):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 12, 12))
    outs = []
    with nf.use_backend(backend):
        for algorithm in ("auto", "im2col", "direct"):
            layer = nf.layers.Conv2D(1, 4, 5, padding=2, algorithm=algorithm,
                                     dtype=np.float64, rng=3)
            outs.append(layer.forward(x))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12)
    np.testing.assert_allclose(outs[0], outs[2], rtol=1e-12)


def test_auto_algorithm_rule():
    rule = nf.layers.conv.auto_algorithm
    # measured on this machine: im2col faster everywhere (see auto_algorithm)
    for args in [(32, (3, 3)), (6, (5, 5)), (1, (5, 5), False), (1, (3, 3), True)]:
        assert rule(*args) == "im2col"
    layer = nf.layers.Conv2D(1, 6, 5, padding=2)
    layer.forward(np.ones((1, 1, 28, 28)))
    assert layer._algorithm_used == "im2col"


# -- bad input -------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(in_channels=0), ValueError, "in_channels"),
    (dict(out_channels=0), ValueError, "out_channels"),
    (dict(in_channels=2.0), TypeError, "in_channels"),
    (dict(kernel_size=0), ValueError, "kernel_size"),
    (dict(kernel_size=(3, 3, 3)), ValueError, "kernel_size"),
    (dict(kernel_size=2.5), TypeError, "kernel_size"),
    (dict(stride=0), ValueError, "stride"),
    (dict(stride=(1, -2)), ValueError, "stride"),
    (dict(dilation=0), ValueError, "dilation"),
    (dict(padding=-1), ValueError, "padding"),
    (dict(padding=(0, -1)), ValueError, "padding"),
    (dict(padding=((0, 1), (2, -1))), ValueError, "padding"),
    (dict(padding=((0, 1), (2,))), ValueError, r"\(\(top, bottom\), \(left, right\)\)"),
    (dict(padding=((0, 1), 2)), ValueError, r"\(\(top, bottom\), \(left, right\)\)"),
    (dict(padding=((0, 1), (2, 1), (0, 0))), ValueError, "padding"),
    (dict(padding=(1, 2, 3)), ValueError, "padding"),
    (dict(padding=((0, 1), None)), ValueError, "padding"),
    (dict(padding=((0, True), (0, 0))), TypeError, "padding"),
    (dict(padding=((0, 1.0), (0, 0))), TypeError, "padding"),
    (dict(padding=((2 ** 31, 0), (0, 0))), ValueError, "padding must be <="),
    (dict(padding=2 ** 31), ValueError, "padding must be <="),
    (dict(padding="valid"), ValueError, "padding"),
    (dict(padding="same", stride=2), ValueError, "stride"),
    (dict(algorithm="fft"), ValueError, "algorithm"),
    (dict(dtype=np.int32), TypeError, "dtype"),
])
def test_conv2d_bad_constructor(kwargs, exc, words):
    args = dict(in_channels=2, out_channels=3, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(exc, match=words):
        nf.layers.Conv2D(**args)


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
@pytest.mark.parametrize("layer_args, x, exc, words", [
    (dict(kernel_size=5), np.ones((1, 2, 4, 8)), ValueError, "kernel_size .* larger than the padded input's height"),
    (dict(kernel_size=5, padding=(0, 1)), np.ones((1, 2, 8, 2)), ValueError, "larger than the padded input's width"),
    (dict(kernel_size=3, dilation=3), np.ones((1, 2, 6, 6)), ValueError, "kernel_size"),
    (dict(kernel_size=3), np.ones((1, 3, 6, 6)), ValueError, r"x must have shape \(n_samples, 2, height, width\)"),
    (dict(kernel_size=3), np.ones((2, 6, 6)), ValueError, "dimensions"),
    (dict(kernel_size=3), np.ones((1, 1, 2, 6, 6)), ValueError, "dimensions"),
    (dict(kernel_size=3), np.ones((0, 2, 6, 6)), ValueError, "empty"),
    (dict(kernel_size=3), np.array([[[["a"]]]]), TypeError, "numeric"),
])
def test_conv2d_bad_input(layer_args, x, exc, words, algorithm):
    layer = nf.layers.Conv2D(2, 3, algorithm=algorithm, **layer_args)
    with pytest.raises(exc, match=words):
        layer.forward(x)


def test_conv2d_kernel_fits_exactly_with_padding():
    layer = nf.layers.Conv2D(1, 1, 5, padding=1)
    assert layer.forward(np.ones((1, 1, 3, 3))).shape == (1, 1, 1, 1)


def test_conv2d_backward_errors():
    layer = nf.layers.Conv2D(2, 3, 3)
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((1, 3, 2, 2)))
    layer.forward(np.ones((1, 2, 4, 4)))
    for bad in (np.ones((1, 3, 3, 2)), np.ones((2, 3, 2, 2)), np.ones((1, 4, 2, 2)), np.ones((3, 2, 2))):
        with pytest.raises(ValueError, match="grad_output must have shape"):
            layer.backward(bad)


def test_conv2d_output_shape_follows_input_and_geometry():
    layer = nf.layers.Conv2D(2, 3, 3)
    assert layer.output_shape((4, 2, 8, 9)) == (4, 3, 6, 7)
    assert layer.output_shape((4, 2, 8, 9)) == (4, 3, 6, 7)     # remembered
    assert layer.output_shape((1, 2, 5, 5)) == (1, 3, 3, 3)
    layer.padding = (1, 1, 0, 2)
    assert layer.output_shape((1, 2, 5, 5)) == (1, 3, 5, 5)
    out = layer.forward(np.ones((1, 2, 5, 5), np.float32))
    assert out.shape == (1, 3, 5, 5)


@pytest.mark.parametrize("seed", range(12))
def test_conv2d_asymmetric_padding_matches_torch_pad_then_conv(seed, torch):
    """PyTorch has no per-side padding in conv2d: F.pad first, then conv2d."""
    F = torch.nn.functional
    rng = np.random.default_rng(100 + seed)
    dtype = (np.float32, np.float64)[seed % 2]
    c, o = (int(v) for v in rng.integers(1, 4, 2))
    kernel = tuple(int(v) for v in rng.integers(1, 5, 2))
    stride = tuple(int(v) for v in rng.integers(1, 3, 2))
    dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
    (top, bottom), (left, right) = rng.integers(0, 4, (2, 2)).tolist()
    h, w = (int(v) for v in rng.integers(6, 10, 2))
    x = rng.standard_normal((2, c, h, w)).astype(dtype)
    for algorithm in ("im2col", "direct"):
        layer = nf.layers.Conv2D(c, o, kernel, stride=stride, dilation=dilation,
                                 padding=((top, bottom), (left, right)), algorithm=algorithm,
                                 dtype=dtype, rng=seed)
        assert layer.padding == (top, bottom, left, right)
        out = layer.forward(x)
        g = rng.standard_normal(out.shape).astype(dtype)
        gx = layer.backward(g)
        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(layer.weight.value, requires_grad=True)
        bt = torch.tensor(layer.bias.value, requires_grad=True)
        ot = F.conv2d(F.pad(xt, (left, right, top, bottom)), wt, bt, stride=stride,
                      dilation=dilation)
        ot.backward(torch.tensor(g))
        assert_close(out, ot.detach().numpy(), dtype)
        assert_close(gx, xt.grad.numpy(), dtype)
        assert_close(layer.weight.grad, wt.grad.numpy(), dtype)
        assert_close(layer.bias.grad, bt.grad.numpy(), dtype)


@pytest.mark.parametrize("padding", [((0, 2), (1, 0)), ((3, 0), (0, 3)), [[1, 2], [2, 1]]])
@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
def test_conv2d_asymmetric_padding_gradcheck(padding, algorithm):
    layer = nf.layers.Conv2D(2, 2, (2, 3), stride=(1, 2), padding=padding, algorithm=algorithm,
                             dtype=np.float64, rng=0)
    x = np.random.default_rng(3).standard_normal((2, 2, 5, 6))
    errors = nf.gradcheck(layer, x, rtol=1e-6)
    assert set(errors) == {"input", "weight", "bias"}


def test_conv2d_padding_forms_agree():
    x = np.random.default_rng(0).standard_normal((1, 1, 5, 5)).astype(np.float32)
    outs = [nf.layers.Conv2D(1, 1, 3, padding=p, rng=0).forward(x)
            for p in (1, (1, 1), ((1, 1), (1, 1)), "same")]
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])
