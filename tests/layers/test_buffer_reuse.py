"""Layers reuse their output and gradient arrays only when nobody holds them.

``Layer._new_array`` hands back an array from an earlier call once nothing
outside the layer refers to it; these tests hold results in every way a
caller can (a name, a view, a later layer's saved input, a list) and check
that they never change, and that a training loop still reuses its arrays.
"""
import copy
import pickle

import numpy as np
import pytest

import nnfast as nf
from nnfast import layers as L


def _lenet_like(seed=0):
    model = nf.Sequential([
        L.Conv2D(1, 4, 3, padding=1, rng=seed), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(), L.Linear(4 * 4 * 4, 10, rng=seed + 1), L.Sigmoid(),
        L.Linear(10, 3, rng=seed + 2), L.Softmax()])
    return model


def _batches(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((5, 1, 8, 8)).astype(np.float32) for _ in range(n)]


def test_held_outputs_never_change():
    model = _lenet_like()
    xs = _batches(6)
    expected = [model.forward(x).copy() for x in xs]
    model2 = _lenet_like()
    held = []
    for x in xs:
        held.append(model2.forward(x))
    for a, e in zip(held, expected):
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("layer_factory", [
    lambda: L.ReLU(), lambda: L.Sigmoid(), lambda: L.Tanh(), lambda: L.LeakyReLU(0.1),
    lambda: L.PReLU(), lambda: L.Softmax(), lambda: L.LogSoftmax(), lambda: L.CumulativeSoftmax(),
    lambda: L.MaxPool2D(2), lambda: L.AvgPool2D(2), lambda: L.Dropout(0.5, rng=0),
    lambda: L.Conv2D(2, 3, 3, padding=1, rng=0), lambda: L.Linear(2 * 6 * 6, 4, rng=0),
    lambda: L.Upsample(2), lambda: L.Upsample(1.5, mode="bilinear"), lambda: L.GlobalAvgPool2D(),
], ids=["relu", "sigmoid", "tanh", "leaky", "prelu", "softmax", "logsoftmax", "cumulative-softmax",
        "maxpool", "avgpool", "dropout", "conv", "linear", "upsample", "upsample-bilinear",
        "global-avgpool"])
def test_each_layer_keeps_held_results(layer_factory):
    layer = layer_factory()
    rng = np.random.default_rng(1)
    shape = (3, 2, 6, 6)
    xs = [rng.standard_normal(shape).astype(np.float32) for _ in range(5)]
    if isinstance(layer, L.Linear):
        xs = [x.reshape(3, -1) for x in xs]
    outs, grads, views = [], [], []
    for x in xs:
        out = layer.forward(x)
        g = layer.backward(np.ones_like(out))
        outs.append((out, out.copy()))
        grads.append((g, g.copy()))
        views.append((out.reshape(-1)[:3], out.reshape(-1)[:3].copy()))
    for pairs in (outs, grads, views):
        for held, snapshot in pairs:
            np.testing.assert_array_equal(held, snapshot)


def test_view_keeps_buffer_alive():
    layer = L.ReLU()
    x = np.ones((4, 8), np.float32)
    view = layer.forward(x)[1:]
    for _ in range(4):
        layer.forward(-x)
    np.testing.assert_array_equal(view, 1.0)


def test_training_loop_reuses_arrays():
    layer_in = L.Linear(6, 5, rng=0)
    relu = L.ReLU()
    x = np.ones((4, 6), np.float32)
    ids = set()
    for _ in range(10):
        h = relu.forward(layer_in.forward(x))
        ids.add(id(h))
        relu.backward(np.ones_like(h))
        del h
    # The ring holds two arrays: the one the next layer may still hold, and
    # the one before it.
    assert len(ids) <= 2


def test_reused_training_matches_fresh_arrays():
    """Ten SGD steps of a small CNN give the same weights whether or not its
    arrays are reused (copies of every result force fresh arrays)."""
    xs = _batches(10, seed=3)
    ys = [np.arange(5) % 3 for _ in xs]
    results = []
    for keep_everything in (False, True):
        model = _lenet_like(seed=4)
        opt = nf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        kept = []
        for x, y in zip(xs, ys):
            p = model.forward(x)
            grad = np.zeros_like(p)
            grad[np.arange(len(y)), y] = -1.0 / len(y)
            g = model.backward(grad)
            if keep_everything:
                kept += [p, g]
            opt.step()
            opt.zero_grad()
        results.append([q.value.copy() for q in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_shape_change_gives_right_shapes():
    layer = L.ReLU()
    for n in (4, 3, 4, 7, 4):
        out = layer.forward(np.ones((n, 5), np.float32))
        assert out.shape == (n, 5)
        assert layer.backward(np.ones((n, 5), np.float32)).shape == (n, 5)


def test_dtype_change_gives_right_dtype():
    layer = L.ReLU()
    for dt in (np.float32, np.float64, np.float32):
        out = layer.forward(np.ones((2, 3), dt))
        assert out.dtype == dt


def test_copies_and_pickles_leave_buffers_behind():
    layer = L.ReLU()
    layer.forward(np.ones((2, 3), np.float32))
    assert "_rings" not in pickle.loads(pickle.dumps(layer)).__dict__
    clone = copy.deepcopy(layer)
    assert "_rings" not in clone.__dict__
    np.testing.assert_array_equal(clone.forward(np.ones((2, 3), np.float32)), 1.0)
