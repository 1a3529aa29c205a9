"""Softmax(dim) and LogSoftmax(dim): any axis of any rank, negative dims,
against torch.nn, gradient checks, fast == reference, bad dims."""
import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close

CLASSES = [nf.layers.Softmax, nf.layers.LogSoftmax]
CASES = [((7,), 0), ((7,), -1), ((4, 6), 0), ((4, 6), -1), ((2, 3, 5), 2), ((2, 3, 5), 0),
         ((2, 5, 3, 4), 1), ((2, 5, 3, 4), -1), ((2, 5, 3, 4), -2), ((2, 3, 1, 4, 2), 3)]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("shape, dim", CASES)
def test_softmax_dim_matches_torch(torch, cls, shape, dim, dtype):
    rng = np.random.default_rng(len(shape) * 10 + dim)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    layer = cls(dim=dim)
    y = layer.forward(x)
    gx = layer.backward(g)
    assert y.dtype == dtype and gx.dtype == dtype and y.shape == shape == gx.shape
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn, cls.__name__)(dim=dim)(tx)
    ty.backward(torch.tensor(g))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close(y, ty.detach().numpy(), dtype, rtol=rtol)
    assert_close(gx, tx.grad.numpy(), dtype, rtol=rtol)


@pytest.mark.parametrize("cls", CLASSES)
def test_softmax_over_channels_of_a_map_sums_to_one_per_pixel(cls):
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 5))
    p = cls(dim=1).forward(x)
    if cls is nf.layers.LogSoftmax:
        p = np.exp(p)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("shape, dim", [((5, 4), 0), ((2, 3, 4), -1), ((2, 3, 4, 2), 2),
                                        ((3, 2, 2), -3)])
def test_softmax_dim_gradcheck(cls, shape, dim):
    x = np.random.default_rng(2).standard_normal(shape) * 2
    errors = nf.gradcheck(cls(dim=dim), x, rtol=1e-6)
    assert set(errors) == {"input"}


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("shape, dim", [((3, 6, 4), 0), ((3, 6, 4), 2), ((2, 3, 4, 5), -2),
                                        ((9, 2), -2)])
def test_softmax_dim_same_on_both_backends(cls, shape, dim, dtype, threads):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    outs = []
    for backend in ("fast", "reference"):
        layer = cls(dim=dim)
        with nf.use_backend(backend):
            outs.append((layer.forward(x), layer.backward(g)))
    assert_close(outs[0][0], outs[1][0], dtype)
    assert_close(outs[0][1], outs[1][1], dtype)


@pytest.mark.parametrize("cls", CLASSES)
def test_softmax_default_dim_is_the_class_axis(cls):
    x = np.random.default_rng(5).standard_normal((3, 4, 2))
    assert cls().dim == 1
    np.testing.assert_array_equal(cls().forward(x), cls(dim=1).forward(x))
    np.testing.assert_array_equal(cls().forward(x[:, :, 0]), cls(dim=-1).forward(x[:, :, 0]))


@pytest.mark.parametrize("cls", CLASSES)
def test_softmax_dim_non_contiguous_input(cls):
    x = np.random.default_rng(6).standard_normal((4, 6, 8))[:, ::2, 1::2]
    ref = cls(dim=0).forward(np.ascontiguousarray(x))
    np.testing.assert_array_equal(cls(dim=0).forward(x), ref)


@pytest.mark.parametrize("cls", CLASSES)
def test_softmax_dim_config_save_load(cls, tmp_path):
    layer = cls(dim=-2)
    assert layer.config() == {"dim": -2} and repr(layer) == f"{cls.__name__}(dim=-2)"
    model = nf.Sequential(nf.layers.Linear(4, 6, rng=0, dtype=np.float64), layer)
    model.save(tmp_path / "m.npz")
    loaded = nf.load(tmp_path / "m.npz")
    assert loaded.layers[1].dim == -2
    x = np.random.default_rng(7).standard_normal((3, 4))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dim, exc, words", [
    (True, TypeError, "dim must be an int"), (1.0, TypeError, "dim must be an int"),
    ("1", TypeError, "dim must be an int"), (None, TypeError, "dim must be an int"),
])
def test_softmax_bad_dim_at_construction(cls, dim, exc, words):
    with pytest.raises(exc, match=words):
        cls(dim=dim)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("shape, dim, words", [
    ((3, 4), 2, "at least 3 dimensions"), ((3, 4), -3, "at least 3 dimensions"),
    ((4,), 1, "at least 2 dimensions"),
])
def test_softmax_dim_out_of_range_for_the_input(cls, shape, dim, words):
    with pytest.raises(ValueError, match=words):
        cls(dim=dim).forward(np.ones(shape))
    assert cls(dim=np.int64(dim)).dim == dim
