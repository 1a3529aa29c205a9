"""nnfast.fau's Dropout(probability): ``probability`` is the chance of
keeping a unit; inverted dropout in training, the identity in the testing
phase; masks reproducible through np.random.seed."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.fau.Layers import *  # noqa: F401,F403
from fau_helpers import L2Loss, assert_input_gradient, one_hot_labels

ONES = np.ones((10000, 10))


def test_interface():
    layer = Dropout.Dropout(0.25)
    assert not layer.trainable and layer.testing_phase is False
    assert layer.probability == 0.25
    assert repr(layer) == "Dropout(0.25)"


@pytest.mark.parametrize("probability", [0.25, 0.3, 0.5, 0.8])
def test_keep_probability_and_scale(probability):
    np.random.seed(1)
    out = Dropout.Dropout(probability).forward(ONES)
    kept = out != 0
    # binomial: 5 standard deviations of the kept fraction over 1e5 units
    spread = 5 * np.sqrt(probability * (1 - probability) / ONES.size)
    assert abs(kept.mean() - probability) < spread
    np.testing.assert_allclose(out[kept], 1 / probability, rtol=1e-12)
    assert abs(out.mean() - 1.0) < spread / probability


def test_the_course_values():
    np.random.seed(2)
    out = Dropout.Dropout(0.25).forward(ONES)
    assert np.max(out) == 4 and np.min(out) == 0
    assert np.sum(np.mean(out, axis=0)) / 10 == pytest.approx(1.0, abs=0.05)


def test_backward_uses_the_forward_mask():
    np.random.seed(3)
    layer = Dropout.Dropout(0.5)
    x = np.random.default_rng(0).random((50, 20)) + 0.5
    out = layer.forward(x)
    error = np.random.default_rng(1).random((50, 20)) + 0.5
    below = layer.backward(error)
    np.testing.assert_array_equal(below == 0, out == 0)
    np.testing.assert_allclose(below, np.where(out == 0, 0.0, 2 * error), rtol=1e-15)


def test_testing_phase_is_the_identity():
    layer = Dropout.Dropout(0.5)
    layer.testing_phase = True
    state = np.random.get_state()[1].copy()
    out = layer.forward(ONES)
    np.testing.assert_array_equal(out, ONES)
    np.testing.assert_array_equal(layer.backward(2 * ONES), 2 * ONES)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # no draw
    layer.testing_phase = False
    assert np.any(layer.forward(ONES) == 0)


def test_probability_one_keeps_everything():
    out = Dropout.Dropout(1.0).forward(ONES)
    np.testing.assert_array_equal(out, ONES)


def test_masks_follow_np_random_seed_and_leave_nnfast_stream_alone():
    layer = Dropout.Dropout(0.5)
    nf.seed(5)
    expected = nf.init.uniform((4,), 0.0, 1.0, np.float64, None)
    nf.seed(5)
    np.random.seed(7)
    first = layer.forward(ONES[:100]).copy()
    second = layer.forward(ONES[:100]).copy()
    np.random.seed(7)
    again = layer.forward(ONES[:100])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(nf.init.uniform((4,), 0.0, 1.0, np.float64, None), expected)


def test_input_gradient_with_the_course_seed():
    # the course's check: np.random reseeded before each forward, so that
    # every forward of the central differences draws the same mask
    labels = one_hot_labels(10, 10, rng=4)
    assert_input_gradient([Dropout.Dropout(0.5), L2Loss()], np.ones((10, 10)), labels, seed=1337)


def test_input_gradient_of_a_random_4d_input():
    x = np.random.default_rng(5).uniform(-1, 1, (2, 3, 4, 5))
    labels = np.random.default_rng(6).random(x.shape)
    assert_input_gradient([Dropout.Dropout(0.7), L2Loss()], x, labels, seed=3)


def test_dtypes():
    np.random.seed(8)
    layer = Dropout.Dropout(0.5)
    out = layer.forward(np.ones((4, 4), dtype=np.float32))
    assert out.dtype == np.float32 and set(np.unique(out)) <= {0.0, 2.0}
    assert layer.backward(np.ones((4, 4))).dtype == np.float32
    assert layer.forward(np.ones((4, 4), dtype=np.int64)).dtype == np.float64


@pytest.mark.parametrize("probability, error", [
    (0.0, ValueError), (-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError),
    (float("inf"), ValueError), ("0.5", TypeError), (None, TypeError), (True, TypeError)])
def test_probability_outside_zero_one(probability, error):
    with pytest.raises(error, match="probability"):
        Dropout.Dropout(probability)


def test_bad_input_leaves_np_random_alone():
    layer = Dropout.Dropout(0.5)
    state = np.random.get_state()[1].copy()
    with pytest.raises(TypeError, match="input_tensor"):
        layer.forward(np.array([["a"]]))
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((2, 2)))
    layer.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="error_tensor"):
        layer.backward(np.ones((3, 2)))
