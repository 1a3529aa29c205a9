"""GlobalAvgPool2D: PyTorch's nn.AdaptiveAvgPool2d(1) (forward and backward
through autograd), gradient checks, both backends at 1 and 2 threads,
strided and other-dtype input, saving and loading, state dicts, bad input
(the kernels' own tests: tests/kernels/test_global_pool_kernels.py)."""
import json
import pickle

import numpy as np
import pytest

import nnfast as nf
from conftest import assert_backward_checks, assert_close, forward_backward

L = nf.layers

SHAPES = [(2, 3, 4, 5), (1, 1, 1, 1), (3, 2, 1, 7), (2, 4, 9, 1), (4, 3, 13, 11)]


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_global_pool_matches_torch(shape, backend, dtype, torch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    out, g, gx = forward_backward(L.GlobalAvgPool2D(), x, rng, backend)
    assert out.dtype == dtype and gx.dtype == dtype
    xt = torch.tensor(x, requires_grad=True)
    ot = torch.nn.AdaptiveAvgPool2d(1)(xt)
    ot.backward(torch.tensor(g))
    assert out.shape == tuple(ot.shape) == shape[:2] + (1, 1)
    assert_close(out, ot.detach().numpy(), dtype)
    assert_close(gx, xt.grad.numpy(), dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_global_pool_gradcheck(shape):
    x = np.random.default_rng(1).standard_normal(shape)
    errors = nf.gradcheck(L.GlobalAvgPool2D(), x, rtol=1e-6, max_checks=100)
    assert set(errors) == {"input"}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_global_pool_fast_matches_reference(shape, dtype, threads):
    x = np.random.default_rng(4).standard_normal(shape).astype(dtype)
    results = {}
    for backend in ("reference", "fast"):
        results[backend] = forward_backward(L.GlobalAvgPool2D(), x, np.random.default_rng(5),
                                            backend)
    for got, expected in zip(results["fast"], results["reference"]):
        assert got.dtype == dtype
        assert_close(got, expected, dtype)


def test_strided_and_other_dtype_input_is_taken_at_the_boundary(threads):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
    g = rng.standard_normal((3, 4, 1, 1)).astype(np.float32)
    layer = L.GlobalAvgPool2D()
    expected = layer.forward(x).copy()
    expected_grad = layer.backward(g).copy()
    for view in (np.asfortranarray(x), np.repeat(x, 2, axis=3)[..., ::2],
                 np.repeat(x, 2, axis=1)[:, ::2],
                 np.ascontiguousarray(x[:, ::-1, ::-1, ::-1])[:, ::-1, ::-1, ::-1],
                 x.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)):
        assert not view.flags.c_contiguous
        for backend in ("fast", "reference"):
            with nf.use_backend(backend):
                layer = L.GlobalAvgPool2D()
                got = layer.forward(view)
                got_grad = layer.backward(np.repeat(g, 2, axis=0)[::2])
            assert got.dtype == np.float32 and got.flags.c_contiguous
            assert_close(got, expected, np.float32)
            assert_close(got_grad, expected_grad, np.float32)
    # a float32 view at an odd byte offset (strides not whole elements of its
    # address) is copied, not read misaligned
    raw = np.zeros(x.nbytes * 2 + 1, np.uint8)
    odd = np.ndarray(x.shape, np.float32, raw.data, offset=1,
                     strides=tuple(2 * s for s in x.strides))
    odd[...] = x
    assert not odd.flags.aligned
    assert_close(L.GlobalAvgPool2D().forward(odd), expected, np.float32)
    # other dtypes: float32; float64 kept
    as_ints = L.GlobalAvgPool2D().forward(np.arange(3 * 4 * 5 * 6).reshape(x.shape))
    assert as_ints.dtype == np.float32
    np.testing.assert_array_equal(as_ints[0, 0], [[14.5]])   # mean of 0..29
    assert L.GlobalAvgPool2D().forward(np.ones((1, 2, 2, 2), bool)).dtype == np.float32
    assert L.GlobalAvgPool2D().forward(x.astype(np.float64)).dtype == np.float64


def test_mean_of_each_plane_and_an_even_spread_back():
    x = np.arange(2 * 3 * 2 * 4, dtype=np.float64).reshape(2, 3, 2, 4)
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            layer = L.GlobalAvgPool2D()
            out = layer.forward(x)
            np.testing.assert_array_equal(out, x.mean(axis=(2, 3), keepdims=True))
            g = np.arange(6, dtype=np.float64).reshape(2, 3, 1, 1)
            gx = layer.backward(g)
        np.testing.assert_array_equal(gx, np.broadcast_to(g / 8, x.shape))


def test_global_pool_layer_api(dtype):
    layer = L.GlobalAvgPool2D()
    assert layer.parameters() == [] and layer.config() == {}
    assert json.loads(json.dumps(layer.config())) == {}
    assert repr(layer) == "GlobalAvgPool2D()"
    assert layer.output_shape((5, 7, 3, 2)) == (5, 7, 1, 1)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(dtype)
    out = layer.forward(x)
    assert out.shape == (2, 3, 1, 1) and out.dtype == dtype
    # a following Flatten gives (n_samples, channels)
    assert L.Flatten().forward(out).shape == (2, 3)
    layer.requires_input_grad = False
    assert layer.backward(np.ones(out.shape)) is None
    clone = pickle.loads(pickle.dumps(layer))
    np.testing.assert_array_equal(clone.forward(x), out)
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), out)   # no train/eval difference


def classifier(dtype=np.float32, seed=0):
    """Conv2D -> ReLU -> GlobalAvgPool2D -> Flatten -> Linear."""
    return nf.Sequential([L.Conv2D(2, 5, 3, padding=1, dtype=dtype, rng=seed), L.ReLU(),
                          L.GlobalAvgPool2D(), L.Flatten(), L.Linear(5, 3, dtype=dtype,
                                                                     rng=seed + 1)])


@pytest.mark.parametrize("dtype_", [np.float32, np.float64])
def test_save_and_load_round_trip(tmp_path, dtype_):
    model = classifier(dtype_)
    model.save(tmp_path / "m.npz")
    loaded = nf.load(tmp_path / "m.npz")
    assert repr(loaded) == repr(model)
    assert [type(layer) for layer in loaded] == [type(layer) for layer in model]
    x = np.random.default_rng(2).standard_normal((4, 2, 7, 6)).astype(dtype_)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.predict(x).shape == (4, 3)


def test_state_dict_round_trip_and_pytorchs_keys(torch):
    nn = torch.nn
    model = classifier(np.float64)
    twin = nn.Sequential(nn.Conv2d(2, 5, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(5, 3)).double()
    assert list(model.state_dict()) == list(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((4, 2, 7, 6))
    with torch.no_grad():
        expected = twin(torch.tensor(x)).numpy()
    assert_close(model.predict(x), expected, np.float64)
    other = classifier(np.float64, seed=10)
    other.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_trains_in_a_sequential_with_both_backends_agreeing():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 2, 5, 5))
    y = np.array([0, 1, 2, 1])
    grads = []
    for backend in ("fast", "reference"):
        model = classifier(np.float64, seed=3)
        loss = nf.losses.CrossEntropyLoss()
        with nf.use_backend(backend):
            loss.forward(model.forward(x), y)
            model.backward(loss.backward())
        grads.append([p.grad.copy() for p in model.parameters()])
    for a, b in zip(*grads):
        assert_close(a, b, np.float64)
    errors = nf.gradcheck(model, x, rtol=1e-6, max_checks=60)
    assert "input" in errors


@pytest.mark.parametrize("x, exc, words", [
    (np.ones((2, 5, 5)), ValueError,
     r"x must have 4 dimensions, got shape \(2, 5, 5\) \(3 dimensions\)"),
    (np.ones((1, 2, 5, 5, 5)), ValueError,
     r"x must have 4 dimensions, got shape \(1, 2, 5, 5, 5\)"),
    (np.ones((4, 3)), ValueError, r"x must have 4 dimensions"),
    (np.float32(1.0), ValueError, r"x must have 4 dimensions"),
    (np.ones((0, 1, 5, 5)), ValueError, r"x must not be empty, got shape \(0, 1, 5, 5\)"),
    (np.ones((1, 1, 5, 0)), ValueError, r"x must not be empty"),
    (np.array([[[["a"]]]]), TypeError,
     r"x must be a numeric \(int or float\) array, got dtype <U1"),
    (np.ones((1, 1, 2, 2), np.complex64), TypeError, r"x must be a numeric .*complex64"),
    ("abc", TypeError, r"x must be a numeric"),
])
def test_bad_input_is_named(x, exc, words):
    with pytest.raises(exc, match=words):
        L.GlobalAvgPool2D().forward(x)


def test_backward_errors():
    layer = L.GlobalAvgPool2D()
    assert_backward_checks(layer, np.ones((2, 3, 4, 5)),
                           [(2, 3, 4, 5), (2, 3, 1), (2, 3), (1, 3, 1, 1), (2, 4, 1, 1),
                            (2, 3, 1, 2)])
    with pytest.raises(ValueError, match=r"grad_output must have shape \(2, 3, 1, 1\)"):
        layer.backward(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"grad_output must be a numeric"):
        layer.backward(np.full((2, 3, 1, 1), "x"))
    # an int grad_output is cast to the forward's dtype, as every layer does
    gx = layer.backward(np.ones((2, 3, 1, 1), np.int64))
    assert gx.dtype == np.float64 and np.all(gx == 1 / 20)


def test_takes_no_arguments():
    with pytest.raises(TypeError):
        L.GlobalAvgPool2D(1)
