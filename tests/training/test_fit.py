"""nf.fit, History, evaluate and predict, on Linear networks with small
loss and optimizer doubles (the real losses and optimizers are tested with
the loop in test_lab.py)."""
import math

import numpy as np
import pytest

import nnfast as nf
from nnfast.layers.base import Layer
from nnfast.training.metrics import count_correct, target_kind
from train_doubles import MSE, PlainSGD, SoftmaxCE


def blobs(n=120, classes=3, features=4, seed=0, dtype=np.float32):
    """Separable clusters: class c around 3 * e_c."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = 3 * np.eye(classes, features)
    X = (centers[y] + 0.5 * rng.standard_normal((n, features))).astype(dtype)
    return X, y


def net(features=4, classes=3, hidden=8, dtype=np.float32, seed=1):
    rng = np.random.default_rng(seed)
    return nf.Sequential([nf.layers.Linear(features, hidden, dtype=dtype, rng=rng),
                          nf.layers.Linear(hidden, classes, dtype=dtype, rng=rng)])


def test_fit_learns_and_fills_history():
    X, y = blobs()
    Xv, yv = blobs(60, seed=5)
    model = net()
    opt = PlainSGD(model.parameters(), lr=0.1)
    h = nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=opt, epochs=8, batch_size=16,
               validation_data=(Xv, yv), progress=False, rng=0)
    assert isinstance(h, nf.History) and len(h) == 8
    assert h.epoch == list(range(1, 9))
    assert h.loss[-1] < h.loss[0] and h.accuracy[-1] > 0.9 and h.val_accuracy[-1] > 0.9
    assert all(s > 0 for s in h.samples_per_second) and all(s > 0 for s in h.seconds)
    assert h.lr == [0.1] * 8 and h.grad_norms == {}
    assert opt.steps == 8 * math.ceil(120 / 16)
    assert h["val_loss"] is h.val_loss and set(h.as_dict()) >= {"loss", "accuracy", "grad_norms"}
    assert "History(epochs=8" in repr(h)
    # the last epoch's validation numbers are what evaluate gives
    ev = model.evaluate(Xv, yv, loss=SoftmaxCE())
    assert ev["loss"] == pytest.approx(h.val_loss[-1], rel=1e-6)
    assert ev["accuracy"] == h.val_accuracy[-1]


def test_fit_is_repeatable_with_rng():
    X, y = blobs()
    results = []
    for _ in range(2):
        model = net()
        nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=PlainSGD(model.parameters(), 0.1),
               epochs=2, batch_size=10, progress=False, rng=7)
        results.append([p.value.copy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_fit_epoch_loss_is_sample_weighted_mean():
    """With lr 0 nothing changes: the epoch loss is the loss over the whole set."""
    X, y = blobs(50)
    model = net()
    h = nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=PlainSGD(model.parameters(), 0.0),
               epochs=1, batch_size=16, shuffle=False, progress=False)
    full = SoftmaxCE().forward(model.forward(X), y)
    assert h.loss[0] == pytest.approx(full, rel=1e-5)
    assert h.accuracy[0] == np.mean(model.predict(X).argmax(axis=1) == y)


def test_fit_sum_reduction_loss():
    X, y = blobs(30)
    model = net(classes=1)
    target = y.astype(np.float64)[:, None] + 0.5
    h = nf.fit(model, X, target, loss=MSE("sum"), optimizer=PlainSGD(model.parameters(), 0.0),
               epochs=1, batch_size=7, progress=False)
    assert h.loss[0] == pytest.approx(MSE("sum").forward(model.forward(X), target), rel=1e-5)
    assert h.accuracy == [None]  # one output column: not a classifier


def test_fit_one_hot_targets_and_regression_targets():
    X, y = blobs()
    onehot = np.eye(3)[y]
    model = net()
    h = nf.fit(model, X, onehot, loss=MSE(), optimizer=PlainSGD(model.parameters(), 0.05),
               epochs=3, batch_size=16, progress=False, rng=0)
    assert h.accuracy[-1] is not None and h.accuracy[-1] > 0.6
    noisy = onehot + 0.1
    h = nf.fit(model, X, noisy, loss=MSE(), optimizer=PlainSGD(model.parameters(), 0.05),
               epochs=1, progress=False)
    assert h.accuracy == [None]


def test_accuracy_rules():
    out = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert count_correct(out, np.array([1, 0, 0]), target_kind(np.array([1, 0, 0]))) == (2, 3)
    onehot = np.eye(2)[[1, 1, 1]]
    assert count_correct(out, onehot, target_kind(onehot)) == (2, 3)
    assert target_kind(np.array([0.5, 1.0])) is None
    assert count_correct(out[:, :1], np.array([1, 0, 0]), "labels") is None
    # per-pixel labels: (N, C, H, W) scores against (N, H, W) classes
    seg = np.zeros((2, 3, 2, 2))
    seg[:, 2] = 1
    assert count_correct(seg, np.full((2, 2, 2), 2), "labels") == (8, 8)


def test_fit_schedule_sets_lr_each_epoch():
    X, y = blobs(40)
    model = net()
    opt = PlainSGD(model.parameters(), 0.2)
    seen = []

    def halve(epoch, base_lr):
        seen.append((epoch, base_lr))
        return base_lr * 0.5 ** epoch
    h = nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=opt, epochs=3, batch_size=8,
               schedule=halve, progress=False)
    assert seen == [(0, 0.2), (1, 0.2), (2, 0.2)]
    assert h.lr == [0.2, 0.1, 0.05] and opt.lr == 0.05


def test_fit_real_schedules_if_available():
    if not hasattr(nf, "optim") or not hasattr(nf.optim, "StepLR"):
        pytest.skip("nf.optim schedules not available")
    X, y = blobs(40)
    model = net()
    opt = PlainSGD(model.parameters(), 0.2)
    h = nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=opt, epochs=4, batch_size=8,
               schedule=nf.optim.StepLR(step_size=2, gamma=0.1), progress=False)
    assert h.lr == pytest.approx([0.2, 0.2, 0.02, 0.02])


def test_fit_nan_loss_stops_with_epoch_and_batch():
    X, y = blobs(64)
    model = net()
    # a huge learning rate makes the loss overflow within a few steps
    opt = PlainSGD(model.parameters(), 1e30)
    first = model.layers[0]
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch \d+ of 4"):
        with np.errstate(all="ignore"):
            nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=opt, epochs=3, batch_size=16,
                   progress=False)
    assert first.requires_input_grad is True and model.training is True


class SpyLinear(nf.layers.Linear):
    """Records requires_input_grad as backward sees it."""

    def backward(self, grad_output):
        self.seen = getattr(self, "seen", []) + [self.requires_input_grad]
        return super().backward(grad_output)


class Passthrough(Layer):
    """A parameterless first layer whose backward must not be needed."""

    def forward(self, x):
        return x

    def backward(self, grad_output):
        raise AssertionError("backward of a layer below every parameter was called")


def test_fit_first_layer_skips_input_grad_and_is_restored():
    X, y = blobs(32)
    first = SpyLinear(4, 8, rng=0)
    second = SpyLinear(8, 3, rng=1)
    model = nf.Sequential([Passthrough(), first, second])
    model.eval()
    nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=PlainSGD(model.parameters(), 0.1),
           epochs=1, batch_size=8, progress=False)
    assert first.seen == [False] * 4 and second.seen == [True] * 4
    assert all(layer.requires_input_grad for layer in model)
    assert model.training is False and all(not layer.training for layer in model)


def test_fit_tracks_grad_norms_per_layer():
    X, y = blobs(48)
    model = net()
    h = nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=PlainSGD(model.parameters(), 0.0),
               epochs=2, batch_size=16, shuffle=False, progress=False, track_grad_norms=True)
    assert list(h.grad_norms) == ["0:Linear", "1:Linear"]
    # lr 0: both epochs see the same batches, and the norm is the batch average
    loss = SoftmaxCE()
    expected = []
    for lo in range(0, 48, 16):
        model.zero_grad()
        loss.forward(model.forward(X[lo:lo + 16]), y[lo:lo + 16])
        model.backward(loss.backward())
        expected.append(np.linalg.norm(model.layers[0].weight.grad))
    assert h.grad_norms["0:Linear"] == pytest.approx([np.mean(expected)] * 2, rel=1e-5)


def test_fit_callback_and_dtype_conversion():
    X, y = blobs(20)
    model = net(dtype=np.float64)
    calls = []
    with pytest.warns(DeprecationWarning, match="callback=f. is deprecated"):
        nf.fit(model, X.astype(np.int64), y, loss=SoftmaxCE(),
               optimizer=PlainSGD(model.parameters(), 0.1), epochs=2, batch_size=8,
               progress=False, callback=lambda h: calls.append(len(h)))
    assert calls == [1, 2]


def test_predict_batched_eval_mode_restores_mode():
    X, _ = blobs(37)
    model = net()
    modes = []

    class Probe(Layer):
        def forward(self, x):
            modes.append(self.training)
            return x
    model = nf.Sequential(list(model) + [Probe()])
    expected = model.forward(X)
    for bs in (1, 5, 37, 100):
        out = model.predict(X, batch_size=bs)
        assert out.shape == (37, 3) and out.dtype == np.float32
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    assert model.training is True and modes[1:] and not any(modes[1:])
    model.eval()
    model.predict(X)
    assert model.training is False


def test_evaluate_matches_whole_set_loss():
    X, y = blobs(53)
    model = net(dtype=np.float64)
    ev = model.evaluate(X, y, loss=SoftmaxCE(), batch_size=10)
    assert ev["loss"] == pytest.approx(SoftmaxCE().forward(model.forward(X), y), rel=1e-12)
    assert ev["accuracy"] == np.mean(model.forward(X).argmax(axis=1) == y)
    again = nf.training.evaluate(model, X, y, loss=SoftmaxCE(), batch_size=10)
    assert again == ev


class NoStep:
    def zero_grad(self):
        pass


@pytest.mark.parametrize("kwargs, exc, message", [
    ({"model": "not a model"}, TypeError, "model must be"),
    ({"X": np.zeros((0, 4))}, ValueError, "X must"),
    ({"X": np.array(["a", "b"])}, TypeError, "X must be a numeric"),
    ({"X": np.full((120, 4), np.nan)}, ValueError, "X must be finite"),
    ({"y": np.zeros(119, int)}, ValueError, "same number of samples"),
    ({"epochs": 0}, ValueError, "epochs must be >= 1"),
    ({"epochs": 1.5}, TypeError, "epochs must be an int"),
    ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
    ({"batch_size": "8"}, TypeError, "batch_size must be an int"),
    ({"loss": object()}, TypeError, r"loss must be a loss .*forward\(\), backward\(\)"),
    ({"optimizer": NoStep()}, TypeError, r"has no step\(\)"),
    ({"validation_data": (np.zeros((3, 4)),)}, TypeError, "validation_data must be a pair"),
    ({"validation_data": (np.zeros((3, 4)), np.zeros(2))}, ValueError, "validation_data"),
    ({"schedule": 3}, TypeError, "schedule must be callable"),
    ({"schedule": lambda e, lr: float("nan")}, ValueError, "schedule"),
    ({"callback": 3}, TypeError, "callback must be callable"),
    ({"rng": "seed"}, TypeError, "rng must be"),
])
def test_fit_rejects_bad_arguments(kwargs, exc, message):
    X, y = blobs()
    model = net()
    args = {"model": model, "X": X, "y": y, "loss": SoftmaxCE(),
            "optimizer": PlainSGD(model.parameters(), 0.1), "progress": False}
    args.update(kwargs)
    with pytest.raises(exc, match=message):
        nf.fit(**args)


def test_fit_schedule_needs_lr_attribute():
    X, y = blobs()
    model = net()

    class NoLr(NoStep):
        def step(self):
            pass
    with pytest.raises(TypeError, match="lr attribute"):
        nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=NoLr(), schedule=lambda e, lr: lr,
               progress=False)


def test_evaluate_and_predict_reject_bad_arguments():
    X, y = blobs(10)
    model = net()
    with pytest.raises(ValueError, match="same number of samples"):
        model.evaluate(X, y[:5], loss=SoftmaxCE())
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        model.predict(X, batch_size=0)
    with pytest.raises(TypeError, match="loss must be"):
        model.evaluate(X, y, loss="mse")
    with pytest.raises(TypeError, match="loss must be given"):
        model.evaluate(X, np.random.default_rng(0).random((10, 3)))
    with pytest.raises(ValueError, match="x must have shape"):
        model.predict(np.zeros((3, 5)))


def test_fit_schedule_scales_initial_lr_when_the_optimizer_has_one():
    """A second fit restarts the schedule from the rate the optimizer was built with."""
    X, y = blobs(16)
    model = net()
    opt = PlainSGD(model.parameters(), 0.5)
    opt.initial_lr = 0.4
    h = nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=opt, epochs=2, batch_size=8,
               schedule=lambda epoch, base_lr: base_lr / (epoch + 1), progress=False)
    assert h.lr == [0.4, 0.2]
