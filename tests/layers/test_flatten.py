"""Flatten: shapes, exact round trip, dtypes, gradient check, bad input."""
import numpy as np
import pytest

import nnfast as nf


@pytest.mark.parametrize("shape", [(4, 7), (2, 3, 5), (2, 1, 28, 28)])
def test_flatten_round_trip(shape, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    layer = nf.layers.Flatten()
    y = layer.forward(x)
    assert y.shape == (shape[0], int(np.prod(shape[1:]))) and y.dtype == dtype
    np.testing.assert_array_equal(y.reshape(shape), x)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    gx = layer.backward(g)
    assert gx.shape == shape and gx.dtype == dtype
    np.testing.assert_array_equal(gx.reshape(y.shape), g)


def test_flatten_int_input_to_float32_and_grad_cast():
    layer = nf.layers.Flatten()
    assert layer.forward(np.ones((2, 3, 2), np.int64)).dtype == np.float32
    assert layer.backward(np.ones((2, 6))).dtype == np.float32


def test_flatten_matches_torch(torch):
    x = np.random.default_rng(2).standard_normal((3, 2, 4, 5))
    np.testing.assert_array_equal(nf.layers.Flatten().forward(x),
                                  torch.nn.Flatten()(torch.tensor(x)).numpy())


def test_flatten_gradcheck():
    errors = nf.gradcheck(nf.layers.Flatten(), np.random.default_rng(3).standard_normal((3, 2, 4)))
    assert errors["input"] <= 1e-6


def test_flatten_in_a_network():
    model = nf.Sequential([nf.layers.Flatten(), nf.layers.Linear(12, 3, dtype=np.float64, rng=0),
                           nf.layers.Tanh()])
    nf.gradcheck(model, np.random.default_rng(4).standard_normal((2, 3, 4)))


def test_flatten_config():
    assert nf.layers.Flatten().config() == {"start_dim": 1, "end_dim": -1}
    assert repr(nf.layers.Flatten(2, 3)) == "Flatten(start_dim=2, end_dim=3)"   # torch's repr


@pytest.mark.parametrize("x, exc, words", [
    (np.ones(5), ValueError, "at least 2 dimensions"),
    (np.ones((0, 3)), ValueError, "empty"),
    (np.array([["x"]]), TypeError, "numeric"),
])
def test_flatten_bad_input(x, exc, words):
    with pytest.raises(exc, match=words):
        nf.layers.Flatten().forward(x)


def test_flatten_backward_errors():
    layer = nf.layers.Flatten()
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((2, 6)))
    layer.forward(np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="grad_output must have shape"):
        layer.backward(np.ones((2, 3, 2)))
