"""Flatten(start_dim, end_dim) as torch.nn.Flatten: shapes, backward, gradient
check, save/load, summary, bad dims."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.summary import summarize

CASES = [((2, 3, 4, 5), 1, -1), ((2, 3, 4, 5), 2, -1), ((2, 3, 4, 5), 1, 2), ((2, 3, 4, 5), -2, -1),
         ((2, 3, 4, 5), 0, -1), ((2, 3, 4, 5), 0, 1), ((2, 3, 4, 5), 3, 3), ((2, 3, 4, 5), -3, 2),
         ((3, 4), 0, 1), ((3, 4), 1, 1), ((2, 1, 3, 1, 2), 1, 3)]


@pytest.mark.parametrize("shape, start_dim, end_dim", CASES)
def test_flatten_dims_match_torch(torch, shape, start_dim, end_dim, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    layer = nf.layers.Flatten(start_dim, end_dim)
    y = layer.forward(x)
    expected = torch.nn.Flatten(start_dim, end_dim)(torch.tensor(x)).numpy()
    assert y.shape == expected.shape and y.dtype == dtype
    np.testing.assert_array_equal(y, expected)
    assert layer.output_shape(shape) == expected.shape
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    gx = layer.backward(g)
    assert gx.shape == shape and gx.dtype == dtype
    np.testing.assert_array_equal(gx, g.reshape(shape))


@pytest.mark.parametrize("start_dim, end_dim", [(2, -1), (1, 2), (0, -1)])
def test_flatten_dims_gradcheck(start_dim, end_dim):
    x = np.random.default_rng(3).standard_normal((3, 2, 4, 2))
    errors = nf.gradcheck(nf.layers.Flatten(start_dim, end_dim), x)
    assert errors["input"] <= 1e-6


def test_flatten_start_dim_2_feeds_a_per_pixel_softmax_in_a_network():
    L = nf.layers
    # (a softmax over the pixels, dim=-1, would make the bias's gradient zero)
    model = nf.Sequential(L.Conv2D(1, 3, 3, padding=1, rng=0, dtype=np.float64), L.Flatten(2),
                          L.LogSoftmax(dim=1))
    x = np.random.default_rng(4).standard_normal((2, 1, 4, 5))
    assert model.forward(x).shape == (2, 3, 20)
    nf.gradcheck(model, x)


def test_flatten_dims_save_load_keep_the_config(tmp_path):
    model = nf.Sequential(nf.layers.Flatten(start_dim=2, end_dim=3), nf.layers.Softmax(-1))
    model.save(tmp_path / "m.npz")
    loaded = nf.load(tmp_path / "m.npz")
    assert loaded.layers[0].config() == {"start_dim": 2, "end_dim": 3}
    x = np.random.default_rng(5).standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def test_flatten_dims_in_summary():
    L = nf.layers
    model = nf.Sequential(L.Conv2D(1, 2, 3, rng=0), L.Flatten(2), L.Flatten(0))
    rows = summarize(model, (1, 5, 5)).rows
    assert rows[1] == ("1 Flatten", (2, 9), 0)
    assert rows[2] == ("2 Flatten", ("N*18",), 0)
    assert "(N*18)" in str(summarize(model, (1, 5, 5)))


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"start_dim": True}, TypeError, "start_dim must be an int"),
    ({"end_dim": 1.5}, TypeError, "end_dim must be an int"),
    ({"start_dim": "1"}, TypeError, "start_dim must be an int"),
    ({"start_dim": 3, "end_dim": 2}, ValueError, "end_dim must not come before start_dim"),
    ({"start_dim": -1, "end_dim": -2}, ValueError, "end_dim must not come before start_dim"),
])
def test_flatten_bad_dims_at_construction(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        nf.layers.Flatten(**kwargs)


@pytest.mark.parametrize("shape, start_dim, end_dim, words", [
    ((2, 3), 2, -1, "at least 3 dimensions"),
    ((2, 3), 1, 4, "at least 5 dimensions"),
    ((2, 3, 4), 2, -3, "comes before start_dim"),
    ((2, 3), -3, -1, "at least 3 dimensions"),
])
def test_flatten_dims_out_of_range_for_the_input(shape, start_dim, end_dim, words):
    with pytest.raises(ValueError, match=words):
        nf.layers.Flatten(start_dim, end_dim).forward(np.ones(shape))
