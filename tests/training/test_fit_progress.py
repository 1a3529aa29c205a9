"""What fit prints: verbose 0/1/2, one kept line per epoch on stdout, a live
bar on stderr only when stderr is a terminal, never a carriage return in a log."""
import sys

import numpy as np
import pytest

import nnfast as nf
from nnfast.training import progress
from train_doubles import PlainSGD, SoftmaxCE


def setup(n=48):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    X = (3 * np.eye(3, 4)[y] + rng.standard_normal((n, 4))).astype(np.float32)
    model = nf.Sequential([nf.layers.Linear(4, 3, rng=1)])
    return model, X, y


def train(**kwargs):
    model, X, y = setup()
    args = dict(loss=SoftmaxCE(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=3,
                batch_size=8, rng=0)
    args.update(kwargs)
    return nf.fit(model, X, y, **args)


@pytest.fixture
def terminal(monkeypatch):
    """Make fit believe stderr is a terminal."""
    monkeypatch.setattr(progress, "is_terminal", lambda stream: stream is sys.stderr)


def test_default_prints_one_line_per_epoch_and_no_bar_in_a_log(capsys):
    h = train(validation_data=setup()[1:])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 3 and err == "" and "\r" not in out
    for i, line in enumerate(lines):
        assert line.startswith(f"epoch {i + 1}/3  loss {h.loss[i]:.4f}  accuracy {h.accuracy[i]:.4f}  "
                               f"val_loss {h.val_loss[i]:.4f}  val_accuracy {h.val_accuracy[i]:.4f}  ")
        assert line.endswith(" s") and "samples/s" in line


@pytest.mark.parametrize("kwargs", [{"verbose": 0}, {"progress": False}, {"progress": True, "verbose": 0}])
def test_silent(capsys, kwargs):
    train(**kwargs)
    assert capsys.readouterr() == ("", "")


def test_verbose_2_never_draws_a_bar(capsys, terminal):
    train(verbose=2)
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3 and err == ""


def test_bar_on_a_terminal_with_tqdm(capsys, terminal):
    pytest.importorskip("tqdm")
    train(verbose=1)
    out, err = capsys.readouterr()
    assert "epoch 1/3" in err and "epoch 3/3" in err    # tqdm's bar, on stderr
    assert len(out.splitlines()) == 3 and "\r" not in out


def test_plain_bar_on_a_terminal_without_tqdm(capsys, terminal, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    train(verbose=1, epochs=1, batch_size=48)
    out, err = capsys.readouterr()
    assert err.startswith("\repoch 1/1 [") and "48/48" in err and "loss=" in err
    assert err.endswith("\r")       # wiped before the kept line is printed
    assert out.startswith("epoch 1/1  loss ")


def test_metric_names_in_the_line(capsys):
    model, X, y = setup()
    nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=PlainSGD(model.parameters(), 0.1), epochs=1,
           metrics=["dice"], validation_split=0.25)
    line = capsys.readouterr().out
    assert "  dice " in line and "  val_dice " in line and line.index("dice") < line.index("val_loss")


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"verbose": 3}, ValueError, "verbose must be 0"),
    ({"verbose": True}, ValueError, "verbose must be 0"),
    ({"verbose": "loud"}, ValueError, "verbose must be 0"),
    ({"progress": "yes"}, TypeError, "progress must be True or False"),
])
def test_bad_verbosity(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        train(**kwargs)


def test_is_terminal_is_false_for_files_and_closed_streams(tmp_path):
    with open(tmp_path / "log", "w") as f:
        assert progress.is_terminal(f) is False
    assert progress.is_terminal(f) is False   # closed
    assert progress.is_terminal(object()) is False
