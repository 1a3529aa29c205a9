"""``nnfast segment``: short runs on tiny phantoms and on .npy pairs through
the real entry point, the saved model, the overlays, and one-line errors
(exit code 2, no traceback) for every kind of bad argument and --data layout."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import nnfast as nf
from nnfast.cli.main import main

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nf.__file__)))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LAST_LINE = re.compile(r"^mean foreground dice (\d\.\d{4})$")

READY = (hasattr(getattr(nf, "models", None), "UNet")
         and hasattr(getattr(nf, "losses", None), "DiceCELoss"))
needs_segment = pytest.mark.skipif(not READY, reason="nf.models.UNet or nf.losses.DiceCELoss missing")

# tiny and quick: 24 phantoms of 16x16 (19 training, 5 held out), a 2-level U-Net
TINY = ["--phantoms", "24", "--size", "16", "--channels", "4,8", "--epochs", "2",
        "--batch-size", "8", "--no-progress"]


def run_cli(capsys, *args):
    code = main(["segment", *args])
    out, err = capsys.readouterr()
    return code, out, err


def held_out_dice(model, X, y, classes):
    return nf.metrics.dice(model.predict(X).argmax(axis=1), y, classes)


@needs_segment
def test_tiny_phantom_run_output_and_saved_model(tmp_path, capsys):
    path = tmp_path / "unet.npz"
    code, out, err = run_cli(capsys, *TINY, "--save", str(path))
    assert code == 0, err
    assert err == "" and "\r" not in out
    lines = out.strip().splitlines()
    assert lines[0] == ("data: 19 training and 5 held-out images of 16x16, 1 channel(s), 3 classes "
                        "(background, organ, lesion) from phantoms (seed 0)")
    assert lines[1].startswith("model: UNet 1-4-8-3 (batch norm, ")
    assert "DiceCE loss (softmax)" in lines[1]
    assert "adam lr 0.002 cosine; batch 8, 2 epochs, seed 0" in lines[1]
    for i, line in enumerate(lines[2:4], 1):
        assert line.startswith(f"epoch {i}/2  loss ")
        for key in ("accuracy", "val_loss", "val_accuracy", "val_dice_organ", "val_dice_lesion",
                    "samples/s"):
            assert f"  {key} " in line or f" {key}  " in line, (key, line)
    assert lines[4].startswith("held-out dice: organ ") and ", lesion " in lines[4]
    assert lines[5] == f"saved {path}"
    match = LAST_LINE.match(lines[-1])
    assert match, lines[-1]
    assert len(lines) == 7

    # the saved model is the trained one: on the held-out phantoms (the last
    # 5 of the 24) it scores what the last line says
    model = nf.load(str(path))
    X, y = nf.datasets.make_phantoms(24, size=16, seed=0)
    dice = held_out_dice(model, X[19:], y[19:], 3)
    assert float(match.group(1)) == pytest.approx(np.nanmean(dice), abs=5e-5)
    per_class = re.findall(r"(organ|lesion) (\S+?)[;,]", lines[4])
    assert [float(v) for _, v in per_class] == pytest.approx(dice, abs=5e-5)
    assert model.predict(X[:2]).shape == (2, 3, 16, 16)


@needs_segment
def test_a_short_run_learns_the_phantoms(capsys):
    """The default run (800 phantoms of 64x64, 5 epochs) reaches about 0.99;
    240 of 32x32 (smaller organs, lesions of 2-5 pixels) for 6 epochs, in a
    few seconds, already pass the lab's target of 0.9 (0.95 measured)."""
    code, out, err = run_cli(capsys, "--phantoms", "240", "--size", "32", "--epochs", "6",
                             "--no-progress", "--no-save")
    assert code == 0, err
    assert float(LAST_LINE.match(out.strip().splitlines()[-1]).group(1)) >= 0.9, out


@needs_segment
def test_progress_bar_on_a_terminal(capsys, monkeypatch):
    """With stderr a terminal, a live bar per epoch goes there; stdout keeps
    the same lines."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, out, err = run_cli(capsys, *[a for a in TINY if a != "--no-progress"], "--no-save")
    assert code == 0, err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "\r" in err
    lines = out.strip().splitlines()
    assert lines[2].startswith("epoch 1/2  loss ") and LAST_LINE.match(lines[-1])
    assert "\r" not in out


@needs_segment
def test_same_seed_same_run(tmp_path, capsys):
    """At one thread (the kernels are deterministic there) the same seed
    prints the same numbers; another seed others."""
    threads = nf.get_num_threads()
    outs = []
    try:
        for name, seed in (("a.npz", "3"), ("b.npz", "3"), ("c.npz", "4")):
            code, out, err = run_cli(capsys, *TINY, "--threads", "1", "--seed", seed,
                                     "--save", str(tmp_path / name))
            assert code == 0, err
            outs.append([re.sub(r"[\d,.]+ samples/s(  |, )[\d.]+ s|saved \S+|seed \d", "", line)
                         for line in out.splitlines()])
    finally:
        nf.set_num_threads(threads)
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


@needs_segment
def test_default_save_path_and_two_classes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *TINY, "--classes", "2", "--epochs", "1")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert "2 classes (background, organ)" in lines[0] and "val_dice_lesion" not in out
    assert "saved nnfast-segment.npz" in lines
    assert (tmp_path / "nnfast-segment.npz").is_file()
    assert LAST_LINE.match(lines[-1])
    assert nf.load("nnfast-segment.npz").predict(np.zeros((1, 1, 16, 16), np.float32)).shape[1] == 2


@needs_segment
def test_no_save_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *TINY, "--epochs", "1", "--no-save")
    assert code == 0, err
    assert "saved" not in out and os.listdir(tmp_path) == []


@needs_segment
def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "overlay.png"
    code, out, err = run_cli(capsys, *TINY, "--epochs", "1", "--no-save", "--plot", str(plot))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[-2] == f"plot: {plot}" and LAST_LINE.match(lines[-1])
    assert plot.read_bytes()[:8] == PNG_MAGIC


def test_plot_without_matplotlib(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = run_cli(capsys, *TINY, "--plot", str(tmp_path / "x.png"))
    assert code == 2
    assert "--plot needs matplotlib" in err and "'plot' extra" in err
    assert len(err.strip().splitlines()) == 1 and out == ""
    assert not os.listdir(tmp_path)


@needs_segment
def test_module_entry_point_in_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "nnfast", "segment", *TINY, "--epochs", "1",
                             "--save", str(tmp_path / "m.npz")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert LAST_LINE.match(result.stdout.splitlines()[-1]), result.stdout


# -- --data DIR -----------------------------------------------------------------
def write_pairs(root, X, y, names=None, channels_first=False):
    """DIR/images/NAME.npy (H, W) or (C, H, W) and DIR/masks/NAME.npy (H, W) uint8."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    names = names or [f"scan{i:03d}" for i in range(len(X))]
    for name, image, mask in zip(names, X, y):
        np.save(root / "images" / f"{name}.npy", image if channels_first else image[0])
        np.save(root / "masks" / f"{name}.npy", mask.astype(np.uint8))
    return names


@needs_segment
def test_data_directory(tmp_path, capsys):
    X, y = nf.datasets.make_phantoms(20, size=16, seed=4)
    write_pairs(tmp_path, X.astype(np.float64), y)
    path = tmp_path / "unet.npz"
    code, out, err = run_cli(capsys, "--data", str(tmp_path), "--channels", "4,8", "--epochs", "2",
                             "--batch-size", "8", "--no-progress", "--save", str(path))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == (f"data: 16 training and 4 held-out images of 16x16, 1 channel(s), 3 classes "
                        f"(background, 1, 2) from {tmp_path}")
    assert "val_dice_1 " in lines[2] and "val_dice_2 " in lines[2]
    match = LAST_LINE.match(lines[-1])
    assert match
    # the held-out four are a seeded choice: the saved model scores the printed
    # value on the four images it did not train on
    held = np.sort(np.random.default_rng(0).permutation(20)[:4])
    dice = held_out_dice(nf.load(str(path)), X[held], y[held], 3)
    assert float(match.group(1)) == pytest.approx(np.nanmean(dice), abs=5e-5)


@needs_segment
def test_data_multichannel_and_more_classes_than_labels(tmp_path, capsys):
    X, y = nf.datasets.make_phantoms(12, size=16, classes=2, seed=1)
    X2 = np.concatenate([X, 1 - X], axis=1)           # (12, 2, 16, 16)
    write_pairs(tmp_path, X2, y, channels_first=True)
    code, out, err = run_cli(capsys, "--data", str(tmp_path), "--classes", "3", "--channels", "4,8",
                             "--epochs", "1", "--batch-size", "4", "--no-progress", "--no-save")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert "2 channel(s), 3 classes (background, 1, 2)" in lines[0]
    assert "model: UNet 2-4-8-3" in lines[1]
    # class 2 is in no mask: its Dice is NaN and the mean is over class 1 alone
    assert "val_dice_2 nan" in lines[2] and ", 2 nan;" in lines[3]
    organ = float(re.search(r"held-out dice: 1 (\S+?),", lines[3]).group(1))
    assert LAST_LINE.match(lines[-1]).group(1) == f"{organ:.4f}"


def bad_layout(tmp_path, case):
    """A --data directory with one defect; returns the words its error must hold."""
    X, y = nf.datasets.make_phantoms(4, size=16, seed=0)
    if case == "no-masks-folder":
        (tmp_path / "images").mkdir(parents=True)
        np.save(tmp_path / "images" / "a.npy", X[0, 0])
        return ["must hold the folders images/ and masks/", "masks"]
    names = write_pairs(tmp_path, X, y)
    if case == "missing-mask":
        os.remove(tmp_path / "masks" / f"{names[1]}.npy")
        return [f"{names[1]}.npy", "has no mask"]
    if case == "missing-image":
        np.save(tmp_path / "masks" / "extra.npy", y[0].astype(np.uint8))
        return ["extra.npy", "has no image"]
    if case == "mask-shape":
        np.save(tmp_path / "masks" / f"{names[2]}.npy", y[2, :8].astype(np.uint8))
        return [f"{names[2]}.npy", "must have its image's shape (16, 16)", "(8, 16)"]
    if case == "image-shapes-differ":
        np.save(tmp_path / "images" / f"{names[3]}.npy", np.zeros((20, 20), np.float32))
        np.save(tmp_path / "masks" / f"{names[3]}.npy", np.zeros((20, 20), np.uint8))
        return [f"{names[3]}.npy", "every image must have the shape of the first", "20x20"]
    if case == "image-ndim":
        np.save(tmp_path / "images" / f"{names[0]}.npy", np.zeros((1, 1, 16, 16), np.float32))
        return [f"{names[0]}.npy", "(H, W) or (C, H, W)", "(1, 1, 16, 16)"]
    if case == "image-nan":
        bad = X[1, 0].copy()
        bad[3, 3] = np.nan
        np.save(tmp_path / "images" / f"{names[1]}.npy", bad)
        return [f"{names[1]}.npy", "NaN or infinite"]
    if case == "non-integer-mask":
        np.save(tmp_path / "masks" / f"{names[0]}.npy", y[0] * 0.5)
        return [f"{names[0]}.npy", "must hold integer class labels", "float64"]
    if case == "string-mask":
        np.save(tmp_path / "masks" / f"{names[0]}.npy", np.full((16, 16), "a"))
        return [f"{names[0]}.npy", "must hold integer class labels", "<U1"]
    if case == "negative-label":
        np.save(tmp_path / "masks" / f"{names[2]}.npy", y[2].astype(np.int16) - 1)
        return [f"{names[2]}.npy", "label -1", ">= 0"]
    if case == "pickled":
        np.save(tmp_path / "images" / f"{names[0]}.npy", np.array([{"a": 1}], dtype=object),
                allow_pickle=True)
        return [f"{names[0]}.npy", "not a readable .npy array"]
    if case == "not-divisible":
        for name in names:
            np.save(tmp_path / "images" / f"{name}.npy", np.zeros((18, 18), np.float32))
            np.save(tmp_path / "masks" / f"{name}.npy", np.zeros((18, 18), np.uint8))
        return ["18x18", "divisible by 4"]
    if case == "one-pair":
        for name in names[1:]:
            os.remove(tmp_path / "images" / f"{name}.npy")
            os.remove(tmp_path / "masks" / f"{name}.npy")
        return ["at least 2 image/mask pairs", "got 1"]
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["no-masks-folder", "missing-mask", "missing-image", "mask-shape",
                                  "image-shapes-differ", "image-ndim", "image-nan",
                                  "non-integer-mask", "string-mask", "negative-label", "pickled",
                                  "not-divisible", "one-pair"])
def test_bad_data_layouts_exit_2_with_one_line(tmp_path, capsys, case):
    words = bad_layout(tmp_path / "d", case)
    code, out, err = run_cli(capsys, "--data", str(tmp_path / "d"), "--no-save")
    assert code == 2, (out, err)
    assert err.startswith("nnfast segment: error: --data: "), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out
    for w in words:
        assert w in err, (w, err)
    assert out == ""


def test_label_out_of_range_for_classes(tmp_path, capsys):
    X, y = nf.datasets.make_phantoms(4, size=16, seed=0)
    names = write_pairs(tmp_path, X, y)
    code, out, err = run_cli(capsys, "--data", str(tmp_path), "--classes", "2", "--no-save")
    assert code == 2
    assert f"mask {names[0]}.npy has label 2, out of range for --classes 2 (labels 0 .. 1)" in err


@pytest.mark.parametrize("args, words", [
    (["--data", "/no/such/dir"], ["--data", "is not a directory"]),
    (["--data", "/", "--phantoms", "10"], ["--phantoms only apply to phantoms"]),
    (["--data", "/", "--size", "32", "--phantoms", "10"], ["--phantoms, --size only apply"]),
    (["--classes", "4"], ["--classes: phantoms have 2", "got 4"]),
    (["--classes", "1"], ["--classes", "expected an integer >= 2, got 1"]),
    (["--size", "30"], ["--size 30", "divisible by 4"]),
    (["--size", "36", "--channels", "8,16,32,64"], ["--size 36", "4 levels", "divisible by 8"]),
    (["--size", "12"], ["--size", ">= 16, got 12"]),
    (["--phantoms", "1"], ["--phantoms", ">= 2, got 1"]),
    (["--phantoms", "4", "--val-fraction", "0.1"], ["--val-fraction 0.1 of 4 images holds out 0"]),
    (["--val-fraction", "1"], ["--val-fraction", "0 < F < 1"]),
    (["--val-fraction", "0"], ["--val-fraction", "0 < F < 1"]),
    (["--channels", "16"], ["--channels", "at least 2 levels"]),
    (["--channels", "16,x"], ["--channels", "comma list of integers"]),
    (["--epochs", "0"], ["--epochs", ">= 1, got 0"]),
    (["--lr", "-1"], ["--lr", "> 0"]),
    (["--lr", "nan"], ["--lr", "finite"]),
    (["--batch-size", "two"], ["--batch-size", "integer"]),
    (["--seed", "-2"], ["--seed", ">= 0"]),
    (["--save", "/no/such/dir/m.npz"], ["--save: directory", "does not exist"]),
    (["--plot", "/tmp/overlay.unknownext"], ["--plot"]),
    (["--bogus"], ["unrecognized arguments: --bogus"]),
])
def test_bad_arguments_exit_2_with_one_line(capsys, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)     # nothing is written, and if it were, not here
    code, out, err = run_cli(capsys, *args)
    assert code == 2, (out, err)
    assert err.startswith("nnfast segment: error:"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out
    for w in words:
        assert w in err, (w, err)
    assert os.listdir(tmp_path) == []


def test_help_lists_the_lab(capsys):
    assert main(["--help"]) == 0
    assert "segment" in capsys.readouterr().out
    assert main(["segment", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--data", "--phantoms", "--epochs", "--batch-size", "--lr", "--seed", "--threads",
                 "--save", "--plot", "--no-progress", "DIR/images/NAME.npy"):
        assert flag in text, flag
