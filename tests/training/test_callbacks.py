"""nf.callbacks: the hooks fit calls, stopping, EarlyStopping, ModelCheckpoint,
LearningRateScheduler, ReduceLROnPlateau, CSVLogger."""
import csv

import numpy as np
import pytest

import nnfast as nf
from nnfast.callbacks import (Callback, CSVLogger, EarlyStopping, LambdaCallback,
                              LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau)


def blobs(n=48, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return (3 * np.eye(3, 4)[y] + rng.standard_normal((n, 4))).astype(np.float32), y


def model_and_opt(lr=0.1, seed=1):
    model = nf.Sequential([nf.layers.Linear(4, 3, rng=seed)])
    return model, nf.optim.SGD(model.parameters(), lr=lr, momentum=0.5)


def fit(callbacks, epochs=5, lr=0.1, validation=True, **kwargs):
    X, y = blobs()
    model, opt = model_and_opt(lr)
    h = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=epochs,
               batch_size=16, validation_data=blobs(24, seed=5) if validation else None,
               callbacks=callbacks, verbose=0, rng=0, **kwargs)
    return model, opt, h


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_batch_end(self, batch, logs=None):
        self.events.append(("batch", batch, logs["size"], round(logs["loss"], 12)))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs)))

    def on_checkpoint(self, epoch, logs=None):
        self.events.append(("checkpoint", epoch))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


def test_hooks_order_and_logs():
    rec = Recorder()
    model, _, h = fit([rec], epochs=2)
    kinds = [e[0] for e in rec.events]
    assert kinds == (["train_begin"] + (["epoch_begin"] + ["batch"] * 3 + ["epoch_end", "checkpoint"]) * 2
                     + ["train_end"])
    assert [e[2] for e in rec.events if e[0] == "batch"] == [16, 16, 16] * 2
    assert rec.trainer is not None and rec.model is model
    logs = [e[2] for e in rec.events if e[0] == "epoch_end"]
    assert set(logs[0]) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds",
                            "samples_per_second"}
    assert [l["val_loss"] for l in logs] == h.val_loss and [l["loss"] for l in logs] == h.loss


def test_a_callback_stops_training_and_lambda_callback():
    seen = []

    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.trainer.stop_training = True
    lam = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    _, _, h = fit([StopAfterTwo(), lam], epochs=10)
    assert len(h) == 2 and seen == [0, 1]
    with pytest.raises(TypeError, match="LambdaCallback takes"):
        LambdaCallback(on_epoch_ends=print)


def test_early_stopping_patience_and_restore_best_weights():
    # a learning rate so high that the validation loss gets worse after a while
    X, y = blobs()
    Xv, yv = blobs(24, seed=5)
    model, opt = model_and_opt(lr=3.0)
    snapshots = []
    snap = LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(
        [p.value.copy() for p in model.parameters()]))
    stop = EarlyStopping("val_loss", patience=2, restore_best_weights=True)
    h = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=40,
               batch_size=16, validation_data=(Xv, yv), callbacks=[snap, stop], verbose=0, rng=0)
    best = int(np.argmin(h.val_loss))
    assert stop.best_epoch == best + 1 and stop.best == h.val_loss[best]
    assert len(h) == best + 1 + 2 and stop.stopped_epoch == len(h)
    # rises (or fails to fall) for exactly `patience` epochs after the best
    assert all(v >= h.val_loss[best] for v in h.val_loss[best + 1:])
    for p, w in zip(model.parameters(), snapshots[best]):
        np.testing.assert_array_equal(p.value, w)


def test_early_stopping_min_delta_and_mode():
    stop = EarlyStopping("accuracy", patience=0, min_delta=1.0)
    assert stop.mode == "max"
    _, _, h = fit([stop], epochs=10)
    assert len(h) == 2    # accuracy cannot gain more than 1 after the first epoch
    assert EarlyStopping("val_dice").mode == "max" and EarlyStopping("val_loss").mode == "min"


def test_monitor_must_exist():
    with pytest.raises(ValueError, match="no validation data"):
        fit([EarlyStopping("val_loss")], validation=False)
    with pytest.raises(ValueError, match="'val_f1' is not in the logs"):
        fit([EarlyStopping("val_f1")])


def test_model_checkpoint_every_epoch_and_best_only(tmp_path):
    every = ModelCheckpoint(tmp_path / "ck-{epoch:02d}-{val_loss:.3f}.npz")
    best = ModelCheckpoint(tmp_path / "best.npz", monitor="val_accuracy", save_best_only=True)
    model, opt, h = fit([every, best], epochs=3)
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ck-"))
    assert names == [f"ck-{e + 1:02d}-{h.val_loss[e]:.3f}.npz" for e in range(3)]
    # the last one is the model as it ended, readable as a plain model
    last = nf.load(tmp_path / names[-1])
    for p, q in zip(model.parameters(), last.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    loaded, loaded_opt = nf.load(tmp_path / names[-1], with_optimizer=True)
    assert type(loaded_opt) is nf.optim.SGD and loaded_opt.lr == opt.lr
    assert best.best == max(h.val_accuracy)


def test_model_checkpoint_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        fit([ModelCheckpoint(tmp_path / "no" / "x.npz")])
    with pytest.raises(ValueError, match="cannot fill in path"):
        fit([ModelCheckpoint(tmp_path / "{dice}.npz")], epochs=1)
    with pytest.raises(TypeError, match="save_best_only must be True or False"):
        ModelCheckpoint(tmp_path / "x.npz", save_best_only=1)


def test_learning_rate_scheduler_is_fit_schedule():
    sched = LearningRateScheduler(lambda epoch, base_lr: base_lr / (epoch + 1))
    _, opt, h = fit([sched], epochs=3, lr=0.3)
    assert h.lr == pytest.approx([0.3, 0.15, 0.1]) and opt.initial_lr == 0.3
    with pytest.raises(ValueError, match=r"schedule\(epoch, base_lr\) must be >= 0"):
        fit([LearningRateScheduler(lambda e, lr: -1.0)])


def test_reduce_lr_on_plateau_follows_keras_rule():
    # feed it a fixed sequence of monitored values through a fake logs stream
    plateau = ReduceLROnPlateau("val_loss", factor=0.5, patience=2, cooldown=1, min_lr=0.02,
                                min_delta=0.0)

    class Fake:
        has_validation = True

    class Opt:
        lr = 0.1
    plateau.set_trainer(Fake())
    plateau.trainer.optimizer = Opt()
    plateau.on_train_begin()
    lrs = []
    for value in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.8, 0.9]:
        plateau.on_epoch_end(0, {"val_loss": value})
        lrs.append(plateau.trainer.optimizer.lr)
    # Keras's rule: 2 epochs without improvement -> 0.05; the cooldown epoch
    # clears the count but counts itself, so the next cut comes 2 epochs later;
    # 0.0125 is clipped to min_lr 0.02; an improvement (0.8) resets the count
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02])
    assert plateau.best == 0.8


def test_reduce_lr_on_plateau_in_fit_and_state():
    plateau = ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10.0)
    _, opt, h = fit([plateau], epochs=4, lr=0.2)
    # the first epoch sets the best; each later one fails min_delta and halves the rate
    assert h.lr == pytest.approx([0.2, 0.2, 0.1, 0.05]) and opt.lr == pytest.approx(0.025)
    assert plateau.state_dict()["wait"] == 0


def test_csv_logger_rows(tmp_path):
    path = tmp_path / "log.csv"
    _, _, h = fit([CSVLogger(path)], epochs=3)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(h.val_loss)
    assert list(rows[0])[:3] == ["epoch", "loss", "accuracy"]
    # a new run starts the file again; append=True keeps the rows
    fit([CSVLogger(path)], epochs=1)
    with open(path) as f:
        assert len(f.read().splitlines()) == 2
    fit([CSVLogger(path, append=True)], epochs=2)
    with open(path) as f:
        assert len(f.read().splitlines()) == 4


@pytest.mark.parametrize("make, exc, words", [
    (lambda: EarlyStopping(patience=-1), ValueError, "patience must be >= 0"),
    (lambda: EarlyStopping(mode="up"), ValueError, "mode must be one of"),
    (lambda: EarlyStopping(monitor=3), TypeError, "monitor must be the name"),
    (lambda: EarlyStopping(restore_best_weights="yes"), TypeError, "restore_best_weights"),
    (lambda: ReduceLROnPlateau(factor=1.0), ValueError, "factor must be < 1"),
    (lambda: LearningRateScheduler(0.1), TypeError, "schedule must be callable"),
    (lambda: CSVLogger(3), TypeError, "path must be a str"),
    (lambda: CSVLogger("x.csv", separator=";;"), ValueError, "separator must be one character"),
])
def test_bad_callback_arguments(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


def test_a_monitor_missing_from_the_logs_is_named_as_the_monitor_argument():
    import re

    import numpy as np
    model = nf.Sequential([nf.layers.Linear(2, 2)])
    X, y = np.ones((4, 2), np.float32), np.arange(4) % 2
    for callback in (nf.callbacks.EarlyStopping(monitor="nope"),
                     nf.callbacks.ReduceLROnPlateau(monitor="val_loss")):
        try:
            nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
                   optimizer=nf.optim.SGD(model.parameters(), lr=0.1), epochs=1,
                   callbacks=[callback], progress=False)
        except ValueError as e:
            assert re.search(r"\bmonitor=", str(e)), str(e)
        else:
            raise AssertionError("fit accepted a monitor it cannot see")
