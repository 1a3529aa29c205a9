"""Upsample: PyTorch's nn.Upsample (forward and backward through autograd),
gradient checks, both backends at 1 and 2 threads, non-contiguous and
other-dtype input, saving and loading, bad input."""
import json
import pickle

import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close, forward_backward

L = nf.layers

# (scale_factor, mode, align_corners, input (h, w))
CASES = [
    (2, "nearest", False, (4, 5)),
    (3, "nearest", False, (3, 2)),
    ((2, 1.5), "nearest", False, (5, 6)),
    (0.5, "nearest", False, (8, 7)),                  # shrinks: picks pixels
    ((1.7, 0.6), "nearest", False, (5, 9)),
    (1.1, "nearest", False, (6, 6)),                  # sizes unchanged: a copy
    (2, "bilinear", False, (4, 5)),
    (2, "bilinear", True, (4, 5)),
    ((2.5, 1.5), "bilinear", False, (3, 4)),
    ((2.5, 1.5), "bilinear", True, (3, 4)),
    (0.6, "bilinear", False, (7, 6)),                 # shrinks, half-pixel clamped at 0
    (0.4, "bilinear", True, (7, 6)),
    ((1, 3), "bilinear", False, (1, 3)),              # a single row
    (1.5, "bilinear", True, (1, 1)),                  # one pixel, output of size 1
]


def ids(case):
    return f"{case[0]}-{case[1]}{'-align' if case[2] else ''}-{case[3]}"


def make(case):
    scale, mode, align_corners, _ = case
    return L.Upsample(scale, mode=mode, align_corners=align_corners)


def torch_upsample(torch, case):
    scale, mode, align_corners, _ = case
    kwargs = {"align_corners": align_corners} if mode == "bilinear" else {}
    scale = tuple(float(s) for s in scale) if isinstance(scale, tuple) else float(scale)
    return torch.nn.Upsample(scale_factor=scale, mode=mode, **kwargs)


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_upsample_matches_torch(case, backend, dtype, torch):
    rng = np.random.default_rng(3)
    layer = make(case)
    x = rng.standard_normal((2, 3) + case[-1]).astype(dtype)
    out, g, gx = forward_backward(layer, x, rng, backend)
    assert out.dtype == dtype and gx.dtype == dtype
    xt = torch.tensor(x, requires_grad=True)
    ot = torch_upsample(torch, case)(xt)
    ot.backward(torch.tensor(g))
    assert out.shape == tuple(ot.shape)
    assert_close(out, ot.detach().numpy(), dtype)
    assert_close(gx, xt.grad.numpy(), dtype)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_upsample_gradcheck(case):
    x = np.random.default_rng(1).standard_normal((2, 2) + case[-1])
    errors = nf.gradcheck(make(case), x, rtol=1e-6, max_checks=100)
    assert set(errors) == {"input"}


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_upsample_fast_matches_reference(case, dtype, threads):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2) + case[-1]).astype(dtype)
    results = {}
    for backend in ("reference", "fast"):
        results[backend] = forward_backward(make(case), x, np.random.default_rng(5), backend)
    for got, expected in zip(results["fast"], results["reference"]):
        assert got.dtype == dtype
        assert_close(got, expected, dtype)


@pytest.mark.parametrize("case", [CASES[2], CASES[8]], ids=ids)
def test_non_contiguous_and_other_dtypes_are_converted_at_the_boundary(case, threads):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 2) + case[-1]).astype(np.float32)
    expected = make(case).forward(x)
    for view in (np.asfortranarray(x), np.repeat(x, 2, axis=3)[..., ::2],
                 x.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)):
        assert not view.flags.c_contiguous
        for backend in ("fast", "reference"):
            with nf.use_backend(backend):
                got = make(case).forward(view)
            assert got.dtype == np.float32
            assert_close(got, expected, np.float32)
    as_ints = make(case).forward(np.arange(3 * 2 * np.prod(case[-1])).reshape(x.shape))
    assert as_ints.dtype == np.float32                         # other dtypes: float32
    assert make(case).forward(x.astype(np.float64)).dtype == np.float64


def test_output_sizes_round_down_as_torch(torch):
    for size, scale in ((5, 1.5), (7, 0.3), (10, 0.7), (3, 2.9), (9, 1.7)):
        layer = L.Upsample((scale, 1))
        expected = torch.nn.functional.interpolate(torch.zeros(1, 1, size, 2),
                                                   scale_factor=(scale, 1.0)).shape
        assert layer.forward(np.zeros((1, 1, size, 2), np.float32)).shape == tuple(expected)
        assert layer.output_shape((1, 1, size, 2)) == tuple(expected)


def test_nearest_doubling_repeats_each_pixel():
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    out = L.Upsample(2).forward(x)
    np.testing.assert_array_equal(out, x.repeat(2, axis=2).repeat(2, axis=3))
    layer = L.Upsample(2)
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 4, 6))), np.full(x.shape, 4.0))


def test_upsample_layer_api(dtype):
    layer = L.Upsample((2, 1.5), mode="bilinear", align_corners=True)
    assert layer.parameters() == [] and layer.scale_factor == (2, 1.5)
    assert json.loads(json.dumps(layer.config())) == {
        "scale_factor": [2, 1.5], "mode": "bilinear", "align_corners": True}
    assert repr(layer) == "Upsample(scale_factor=[2, 1.5], mode='bilinear', align_corners=True)"
    assert L.Upsample(3).config() == {"scale_factor": [3, 3], "mode": "nearest"}
    assert L.Upsample(2, align_corners=None).align_corners is False   # torch's default spelling
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(dtype)
    out = layer.forward(x)
    assert out.shape == (2, 3, 8, 6)
    layer.requires_input_grad = False
    assert layer.backward(np.ones(out.shape)) is None
    clone = pickle.loads(pickle.dumps(layer))
    np.testing.assert_array_equal(clone.forward(x), out)


@pytest.mark.parametrize("dtype_", [np.float32, np.float64])
def test_save_and_load_round_trip(tmp_path, dtype_):
    model = nf.Sequential([
        L.Conv2D(2, 3, 3, padding=1, dtype=dtype_, rng=0), L.ReLU(),
        L.Upsample((2, 1.5), mode="bilinear"), L.Upsample(0.5),
        L.Upsample(3, mode="bilinear", align_corners=True), L.Conv2D(3, 1, 1, dtype=dtype_, rng=1)])
    model.save(tmp_path / "m.npz")
    loaded = nf.load(tmp_path / "m.npz")
    assert repr(loaded) == repr(model)
    assert [layer.config() for layer in loaded] == [layer.config() for layer in model]
    x = np.random.default_rng(2).standard_normal((3, 2, 5, 4)).astype(dtype_)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.predict(x).shape == (3, 1, 15, 9)


def test_trains_in_a_sequential_with_both_backends_agreeing():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 1, 4, 4))
    y = rng.standard_normal((4, 2, 8, 8))
    grads = []
    for backend in ("fast", "reference"):
        model = nf.Sequential([L.Conv2D(1, 2, 3, padding=1, dtype=np.float64, rng=3),
                               L.Upsample(2, mode="bilinear"), L.Tanh()])
        loss = nf.losses.MSELoss()
        with nf.use_backend(backend):
            loss.forward(model.forward(x), y)
            model.backward(loss.backward())
        grads.append([p.grad.copy() for p in model.parameters()])
    for a, b in zip(*grads):
        assert_close(a, b, np.float64)
    errors = nf.gradcheck(model, x, rtol=1e-6, max_checks=60)
    assert "input" in errors


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(scale_factor=0), ValueError, r"scale_factor must be > 0.0, got 0.0"),
    (dict(scale_factor=-2), ValueError, r"scale_factor must be > 0.0, got -2"),
    (dict(scale_factor=float("nan")), ValueError, r"scale_factor must be finite, got nan"),
    (dict(scale_factor=float("inf")), ValueError, r"scale_factor must be finite, got inf"),
    (dict(scale_factor=2**1100), ValueError, r"scale_factor must be finite"),
    (dict(scale_factor="2"), TypeError, r"scale_factor must be a real number, got str '2'"),
    (dict(scale_factor=True), TypeError, r"scale_factor must be a real number, got bool"),
    (dict(scale_factor=None), TypeError, r"scale_factor must be a real number, got NoneType"),
    (dict(scale_factor=(2, 2, 2)), ValueError, r"scale_factor must be a positive number or 2 "
                                                r"of them .*got \(2, 2, 2\)"),
    (dict(scale_factor=(2, 0)), ValueError, r"scale_factor must be > 0.0, got 0.0"),
    (dict(scale_factor=2, mode="bicubic"), ValueError,
     r"mode must be one of \('nearest', 'bilinear'\), got 'bicubic'"),
    (dict(scale_factor=2, mode="trilinear"), ValueError, r"mode must be one of .*'trilinear'"),
    (dict(scale_factor=2, mode=None), ValueError, r"mode must be one of .*got None"),
    (dict(scale_factor=2, mode="bilinear", align_corners="yes"), TypeError,
     r"align_corners must be True or False .*got str 'yes'"),
    (dict(scale_factor=2, mode="bilinear", align_corners=1), TypeError,
     r"align_corners must be True or False .*got int 1"),
    (dict(scale_factor=2, align_corners=True), ValueError,
     r"align_corners=True needs mode='bilinear'.*got mode='nearest'"),
])
def test_bad_constructor_arguments_are_named(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        L.Upsample(**kwargs)


@pytest.mark.parametrize("layer, x, words", [
    (L.Upsample(2), np.ones((1, 5, 5)), r"x must have 4 dimensions, got shape \(1, 5, 5\)"),
    (L.Upsample(2), np.ones((1, 1, 2, 2, 2)),
     r"x must have 4 dimensions .*got shape \(1, 1, 2, 2, 2\).*volumes .*not supported yet"),
    (L.Upsample(2), np.ones((0, 1, 5, 5)), r"x must not be empty"),
    (L.Upsample(2), np.array("a"), r"x must be a numeric"),
    (L.Upsample(0.1), np.ones((1, 1, 5, 20)),
     r"scale_factor \(0.1, 0.1\) gives x of shape \(1, 1, 5, 20\) an output height of "
     r"floor\(5 \* 0.1\) = 0, must be >= 1"),
    (L.Upsample((1, 0.3)), np.ones((1, 1, 5, 3)), r"output width of floor\(3 \* 0.3\) = 0"),
    (L.Upsample(1e12), np.ones((1, 1, 3, 3)),
     r"scale_factor \(1000000000000.0, 1000000000000.0\) gives .* an output height of "
     r"3 \* 1000000000000.0 = 3e\+12, must be <= 2147483647"),
    (L.Upsample(1e308), np.ones((1, 1, 3, 3)), r"output height of 3 \* 1e\+308 = inf"),
    (L.Upsample(2**15), np.ones((1, 1, 2**10, 2**10), np.float32),
     r"the output for x of shape \(1, 1, 1024, 1024\): an array of shape \(1, 1, 33554432, "
     r"33554432\) .* more than the"),
])
def test_bad_input_is_named(layer, x, words):
    with pytest.raises((ValueError, TypeError), match=words):
        layer.forward(x)


def test_backward_errors():
    layer = L.Upsample(2, mode="bilinear")
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((1, 1, 4, 4)))
    layer.forward(np.ones((1, 1, 2, 3)))
    for bad in (np.ones((1, 1, 4, 5)), np.ones((2, 1, 4, 6)), np.ones((1, 4, 6))):
        with pytest.raises(ValueError, match=r"grad_output must have shape \(1, 1, 4, 6\)"):
            layer.backward(bad)
