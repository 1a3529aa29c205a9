"""nf.callbacks.TensorBoard: the event files read back with TensorBoard's own reader."""
import sys

import numpy as np
import pytest

import nnfast as nf


def read(run_dir):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    ea = accumulator.EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0})
    ea.Reload()
    return ea


def train(tmp_path, epochs=3, **kwargs):
    pytest.importorskip("tensorboardX")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 64)
    X = (3 * np.eye(3, 4)[y] + rng.standard_normal((64, 4))).astype(np.float32)
    model = nf.Sequential([nf.layers.Linear(4, 8, rng=1), nf.layers.Tanh(), nf.layers.Linear(8, 3, rng=2)])
    opt = nf.optim.SGD(model.parameters(), lr=0.1)
    tb = nf.callbacks.TensorBoard(tmp_path / "logs", **kwargs)
    h = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=epochs,
               batch_size=16, validation_split=0.25, metrics=["dice"], callbacks=[tb], verbose=0,
               rng=0, track_grad_norms=True)
    return model, h


def test_scalars_histograms_and_grad_norms(tmp_path):
    model, h = train(tmp_path)
    train_run, val_run = read(tmp_path / "logs" / "train"), read(tmp_path / "logs" / "validation")
    scalars = set(train_run.Tags()["scalars"])
    assert {"epoch_loss", "epoch_accuracy", "epoch_dice", "epoch_learning_rate",
            "grad_norm/0_Linear", "grad_norm/2_Linear"} <= scalars
    assert set(val_run.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy", "epoch_dice"}
    loss = train_run.Scalars("epoch_loss")
    assert [e.step for e in loss] == [1, 2, 3]
    assert [e.value for e in loss] == pytest.approx(h.loss, rel=1e-6)   # stored as float32
    assert [e.value for e in val_run.Scalars("epoch_loss")] == pytest.approx(h.val_loss, rel=1e-6)
    assert [e.value for e in train_run.Scalars("epoch_learning_rate")] == pytest.approx([0.1] * 3)
    assert all(e.value > 0 for e in train_run.Scalars("grad_norm/0_Linear"))
    hists = set(train_run.Tags()["histograms"])
    assert hists == {"0_Linear/weight", "0_Linear/bias", "2_Linear/weight", "2_Linear/bias"}
    last = train_run.Histograms("2_Linear/weight")[-1]
    w = model[2].weight.value
    assert last.step == 3 and last.histogram_value.num == w.size
    assert last.histogram_value.sum == pytest.approx(float(w.sum()), rel=1e-5, abs=1e-6)


def test_layer_gradient_norm_is_at_least_the_weight_gradient_norm(tmp_path):
    """The callback's norm is over all of a layer's gradients (weight and bias):
    at least History's weight-only norm, epoch by epoch."""
    _, h = train(tmp_path)
    run = read(tmp_path / "logs" / "train")
    for key in ("0:Linear", "2:Linear"):
        both = [e.value for e in run.Scalars(f"grad_norm/{key.replace(':', '_')}")]
        assert all(b >= w * (1 - 1e-5) for b, w in zip(both, h.grad_norms[key]))


def test_batch_updates_and_no_histograms(tmp_path):
    train(tmp_path, epochs=2, histogram_freq=0, update_freq="batch")
    run = read(tmp_path / "logs" / "train")
    assert run.Tags()["histograms"] == []
    assert [e.step for e in run.Scalars("batch_loss")] == list(range(1, 7))   # 48 samples / 16, 2 epochs


def test_bad_arguments_and_missing_writer(tmp_path, monkeypatch):
    pytest.importorskip("tensorboardX")
    with pytest.raises(ValueError, match="update_freq must be one of"):
        nf.callbacks.TensorBoard(tmp_path, update_freq="step")
    with pytest.raises(ValueError, match="histogram_freq must be >= 0"):
        nf.callbacks.TensorBoard(tmp_path, histogram_freq=-1)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="'tensorboard' extra"):
        nf.callbacks.TensorBoard(tmp_path)


def test_resumed_run_continues_the_curves_and_drops_what_followed_the_checkpoint(tmp_path):
    pytest.importorskip("tensorboardX")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 32)
    X = (3 * np.eye(3, 4)[y] + rng.standard_normal((32, 4))).astype(np.float32)

    def fit(epochs, resume=None):
        model = nf.Sequential([nf.layers.Linear(4, 3, rng=1)])
        callbacks = [nf.callbacks.TensorBoard(tmp_path / "logs"),
                     nf.callbacks.ModelCheckpoint(tmp_path / "ck-{epoch}.npz")]
        return nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
                      optimizer=nf.optim.SGD(model.parameters(), lr=0.1), epochs=epochs, batch_size=8,
                      callbacks=callbacks, verbose=0, rng=0, resume_from=resume)
    fit(3)                                          # ran on after the checkpoint of epoch 2
    h = fit(4, resume=tmp_path / "ck-2.npz")
    # one event file per run, even when both began within the same second
    assert len(list((tmp_path / "logs" / "train").iterdir())) == 2
    loss = read(tmp_path / "logs" / "train").Scalars("epoch_loss")
    assert [e.step for e in loss] == [1, 2, 3, 4]
    assert [e.value for e in loss] == pytest.approx(h.loss, rel=1e-6)
