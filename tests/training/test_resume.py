"""fit(..., resume_from=checkpoint): 2 epochs + 2 resumed equal 4 straight, bit
for bit, at one thread (where the kernels are deterministic)."""
import json

import numpy as np
import pytest

import nnfast as nf
from nnfast.data import DataLoader, transforms


@pytest.fixture
def one_thread():
    old = nf.get_num_threads()
    nf.set_num_threads(1)
    yield
    nf.set_num_threads(old)


def images(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.random((n, 1, 8, 8), dtype=np.float32)
    X[np.arange(n), 0, y * 2, :] += 2.0          # a bright row per class
    return X, y


def build(optimizer):
    rng = np.random.default_rng(0)
    L = nf.layers
    model = nf.Sequential([L.Conv2D(1, 4, kernel_size=3, padding=1, rng=rng), L.ReLU(),
                           L.MaxPool2D(2), L.Flatten(), L.Dropout(0.3),
                           L.Linear(64, 16, rng=rng), L.Tanh(), L.Dropout(0.2, rng=7),
                           L.Linear(16, 3, rng=rng)])
    return model, optimizer(model.parameters())


OPTIMIZERS = {
    "sgd-momentum": lambda p: nf.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adam-amsgrad": lambda p: nf.optim.Adam(p, lr=3e-3, amsgrad=True),
    "adamw": lambda p: nf.optim.AdamW(p, lr=3e-3),
    "rmsprop": lambda p: nf.optim.RMSProp(p, lr=1e-3, momentum=0.5, centered=True),
    # two parameter groups (the convolution's; the rest), each with its own
    # rate and decay, cut and scheduled group by group
    "sgd-two-groups": lambda p: nf.optim.SGD(
        [{"params": p[:2], "lr": 0.1}, {"params": p[2:], "weight_decay": 1e-3}],
        lr=0.05, momentum=0.9),
    "adamw-two-groups": lambda p: nf.optim.AdamW(
        [{"params": p[2:], "weight_decay": 0.0}, {"params": p[:2], "lr": 1e-2}], lr=3e-3),
}


def callbacks(tmp_path, checkpoint):
    out = [nf.callbacks.EarlyStopping("val_loss", patience=10, restore_best_weights=True),
           nf.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=1)]
    if checkpoint:
        out.append(nf.callbacks.ModelCheckpoint(tmp_path / "ck.npz"))
    return out


def run(optimizer, epochs, data, tmp_path, checkpoint=False, resume=False, seed=5):
    model, opt = build(OPTIMIZERS[optimizer])
    nf.seed(seed)          # the first Dropout draws from nf.seed's generator
    X, y, loader = data
    cbs = callbacks(tmp_path, checkpoint)
    args = dict(loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=epochs,
                validation_data=images(32, seed=9), schedule=nf.optim.StepLR(1, gamma=0.8),
                callbacks=cbs, verbose=0, resume_from=tmp_path / "ck.npz" if resume else None)
    if loader is None:
        h = nf.fit(model, X, y, batch_size=16, rng=np.random.default_rng(3), **args)
    else:
        h = nf.fit(model, loader(), **args)
    return model, opt, h, cbs


def arrays():
    X, y = images()
    return X, y, None


def loader():
    X, y = images()
    augment = transforms.Compose([transforms.RandomFlip(p=0.5), transforms.GaussianNoise(0.05)])
    return None, None, lambda: DataLoader((X, y), batch_size=16, shuffle=True, seed=11,
                                          transform=augment, prefetch=2)


def equal_runs(a, b):
    model_a, opt_a, h_a, cbs_a = a
    model_b, opt_b, h_b, cbs_b = b
    for p, q in zip(model_a.parameters(), model_b.parameters()):
        assert np.array_equal(p.value, q.value)
    for p, q in zip(opt_a.params, opt_b.params):
        sa, sb = opt_a.state[p], opt_b.state[q]
        assert sa.keys() == sb.keys()
        for k in sa:
            assert np.array_equal(sa[k], sb[k]), k
    assert opt_a.lr == opt_b.lr
    assert len(opt_a.param_groups) == len(opt_b.param_groups)
    for g, h in zip(opt_a.param_groups, opt_b.param_groups):
        assert {k: v for k, v in g.items() if k != "params"} == \
            {k: v for k, v in h.items() if k != "params"}
    for key in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert h_a[key] == h_b[key], key
    assert cbs_a[0].state_dict()["best"] == cbs_b[0].state_dict()["best"]
    assert cbs_a[1].state_dict() == cbs_b[1].state_dict()


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("data", [arrays, loader], ids=["arrays", "dataloader"])
def test_two_plus_two_resumed_epochs_equal_four_bit_for_bit(tmp_path, one_thread, optimizer, data):
    straight = run(optimizer, 4, data(), tmp_path)
    run(optimizer, 2, data(), tmp_path, checkpoint=True)
    # a new process would build the model and optimizer afresh, with other
    # random state: the checkpoint must bring back everything that matters
    np.random.default_rng(123)
    resumed = run(optimizer, 4, data(), tmp_path, resume=True, seed=99)
    equal_runs(straight, resumed)
    assert len(resumed[2]) == 4


def test_checkpoint_is_a_model_file_of_format_version_2(tmp_path, one_thread):
    model, opt, h, _ = run("adam-amsgrad", 2, arrays(), tmp_path, checkpoint=True)
    with np.load(tmp_path / "ck.npz", allow_pickle=False) as z:
        header = json.loads(str(z["header"]))
    assert header["version"] == 2 and header["training"] is not None
    loaded, loaded_opt = nf.load(tmp_path / "ck.npz", with_optimizer=True)
    for p, q in zip(model.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    assert loaded_opt.defaults["amsgrad"] is True


def test_resume_when_the_epochs_are_done_trains_nothing(tmp_path, one_thread):
    model, _, h, _ = run("sgd-momentum", 3, arrays(), tmp_path, checkpoint=True)
    again, _, h2, _ = run("sgd-momentum", 2, arrays(), tmp_path, resume=True)
    assert h2.val_loss == h.val_loss and len(h2) == 3
    # EarlyStopping(restore_best_weights) kept its best weights in the
    # checkpoint and restores them at the end, as the first run did
    for p, q in zip(model.parameters(), again.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_resume_needs_a_matching_checkpoint(tmp_path):
    X, y = images(32)
    model, opt = build(OPTIMIZERS["adamw"])
    args = dict(loss=nf.losses.CrossEntropyLoss(), epochs=2, verbose=0)
    nf.fit(model, X, y, optimizer=opt, callbacks=[nf.callbacks.ModelCheckpoint(tmp_path / "ck.npz")],
           **args)
    model.save(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="model without a training state"):
        nf.fit(model, X, y, optimizer=opt, resume_from=tmp_path / "plain.npz", **args)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nf.fit(model, X, y, optimizer=opt, resume_from=tmp_path / "none.npz", **args)
    other = nf.Sequential([nf.layers.Flatten(), nf.layers.Linear(64, 3, rng=0)])
    with pytest.raises(ValueError, match="another architecture"):
        nf.fit(other, X, y, optimizer=nf.optim.AdamW(other.parameters()),
               resume_from=tmp_path / "ck.npz", **args)
    fresh, _ = build(OPTIMIZERS["adamw"])
    before = [p.value.copy() for p in fresh.parameters()]
    with pytest.raises(ValueError, match="state of a AdamW optimizer, not of this SGD"):
        nf.fit(fresh, X, y, optimizer=nf.optim.SGD(fresh.parameters(), lr=0.1),
               resume_from=tmp_path / "ck.npz", **args)
    for p, b in zip(fresh.parameters(), before):    # nothing was loaded
        np.testing.assert_array_equal(p.value, b)


def test_checkpoint_without_optimizer_warns_on_resume(tmp_path):
    X, y = images(32)
    model, opt = build(OPTIMIZERS["sgd-momentum"])
    ck = nf.callbacks.ModelCheckpoint(tmp_path / "ck.npz", include_optimizer=False)
    nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=1, verbose=0,
           callbacks=[ck])
    model, opt = build(OPTIMIZERS["sgd-momentum"])
    with pytest.warns(UserWarning, match="holds no optimizer state"):
        h = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=2, verbose=0,
                   resume_from=tmp_path / "ck.npz")
    assert h.epoch == [1, 2]
