"""LastStep: the last time step, its gradient, save/load, bad input."""
import numpy as np
import pytest

import nnfast as nf


def test_last_step_forward_and_backward(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 3)).astype(dtype)
    layer = nf.layers.LastStep()
    out = layer.forward(x)
    assert out.shape == (4, 3) and out.dtype == dtype
    np.testing.assert_array_equal(out, x[:, 5])
    g = rng.standard_normal((4, 3)).astype(dtype)
    grad_input = layer.backward(g)
    assert grad_input.shape == x.shape and grad_input.dtype == dtype
    np.testing.assert_array_equal(grad_input[:, 5], g)
    assert not grad_input[:, :5].any()


def test_last_step_gradient_is_time_major_and_its_output_a_copy():
    """The input gradient's memory is (seq_len, n_samples, features), the
    recurrent layers' layout; the output never aliases the input."""
    x = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    layer = nf.layers.LastStep()
    out = layer.forward(x)
    assert not np.shares_memory(out, x) and out.flags.c_contiguous and out.flags.writeable
    grad_input = layer.backward(np.ones((2, 3), np.float32))
    assert grad_input.transpose(1, 0, 2).flags.c_contiguous


def test_last_step_reads_strided_and_converted_input():
    """A transposed view is read as it lies (one step of it is copied);
    int input is converted to float32 as every layer converts it."""
    base = np.random.default_rng(3).standard_normal((6, 4, 3))
    view = base.transpose(1, 0, 2)
    np.testing.assert_array_equal(nf.layers.LastStep().forward(view), base[-1])
    out = nf.layers.LastStep().forward(np.arange(24).reshape(2, 4, 3))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.arange(24).reshape(2, 4, 3)[:, -1])


def test_last_step_gradcheck():
    errors = nf.gradcheck(nf.layers.LastStep(), np.random.default_rng(1).standard_normal((3, 4, 2)))
    assert errors["input"] <= 1e-6


def test_last_step_matches_torch_indexing(torch):
    x = np.random.default_rng(2).standard_normal((2, 5, 3))
    np.testing.assert_array_equal(nf.layers.LastStep().forward(x), torch.tensor(x)[:, -1].numpy())


def test_last_step_after_lstm_trains_and_saves(tmp_path):
    model = nf.Sequential([nf.layers.LSTM(3, 4, rng=0), nf.layers.LastStep(),
                           nf.layers.Linear(4, 2, rng=0)])
    x = np.random.default_rng(3).random((5, 7, 3), dtype=np.float32)
    loss = nf.losses.CrossEntropyLoss()
    loss.forward(model.forward(x), np.array([0, 1, 0, 1, 1]))
    model.backward(loss.backward())
    assert np.abs(model[0].weight_hh_l0.grad).sum() > 0
    model.save(tmp_path / "m.npz")
    loaded = nf.load(tmp_path / "m.npz")
    assert isinstance(loaded[1], nf.layers.LastStep)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_last_step_bad_input_is_named():
    layer = nf.layers.LastStep()
    for bad in (np.ones((2, 3)), np.ones((2, 3, 4, 5))):
        with pytest.raises(ValueError, match="x must have 3 dimensions"):
            layer.forward(bad)
    with pytest.raises(ValueError, match="x must not be empty"):
        layer.forward(np.ones((2, 0, 3), np.float32))
    with pytest.raises(ValueError, match="before forward"):
        nf.layers.LastStep().backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match="grad_output"):
        layer.backward(np.ones((2, 4)))
