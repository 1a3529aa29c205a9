"""``nnfast train``: the default lab run, plots, saving, and one-line errors
(exit code 2, no traceback) for every kind of bad argument."""
import os
import subprocess
import sys

import numpy as np
import pytest

import nnfast as nf
from nnfast.cli.main import main

# The folder holding the nnfast these tests imported (installed or built in
# place), so that a subprocess runs that same nnfast.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nf.__file__)))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def have(module, *names):
    return module is not None and all(hasattr(module, n) for n in names)


LAB_READY = (have(nf.layers, "Flatten", "Sigmoid", "LogSoftmax")
             and have(getattr(nf, "losses", None), "NLLLoss")
             and have(getattr(nf, "optim", None), "SGD"))
needs_lab = pytest.mark.skipif(not LAB_READY, reason="activations, losses or optimizers not available")
needs_conv = pytest.mark.skipif(not (LAB_READY and have(nf.layers, "Conv2D", "MaxPool2D", "ReLU")),
                                reason="Conv2D/MaxPool2D not available")


def run_cli(capsys, *args):
    code = main(["train", *args])
    out, err = capsys.readouterr()
    return code, out, err


@needs_lab
def test_default_run_one_epoch(capsys):
    code, out, err = run_cli(capsys, "--epochs", "1", "--no-progress")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert "4000 training and 1000 test images" in lines[0]
    assert "MLP 784-30-10 sigmoid" in lines[1] and "sgd lr 0.003 momentum 0.9" in lines[1]
    assert "batch 64" in lines[1]
    assert lines[2].startswith("epoch 1/1  loss ") and "val_accuracy" in lines[2]
    assert "samples/s" in lines[2]
    assert lines[-1].startswith("1 hidden: test accuracy") and "samples/s" in lines[-1]
    assert err == "" and "\r" not in out


@needs_lab
def test_module_entry_point_in_subprocess():
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "nnfast", "train", "--epochs", "1", "--no-progress",
                             "--train-fraction", "0.25"],
                            cwd=PACKAGE_PARENT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout.splitlines()[-1]


@needs_lab
def test_depth_list_plot_and_save(tmp_path, capsys):
    plot, save = tmp_path / "curves.png", tmp_path / "model.npz"
    code, out, err = run_cli(capsys, "--hidden-layers", "1,2", "--activation", "relu", "--epochs", "2",
                             "--train-fraction", "0.1", "--plot", str(plot), "--save", str(save),
                             "--no-progress", "--seed", "3", "--threads", "1")
    assert code == 0, err
    assert plot.read_bytes()[:8] == PNG_MAGIC
    assert "MLP 784-30-10 relu" in out and "MLP 784-30-30-10 relu" in out
    assert sorted(os.listdir(tmp_path)) == ["curves.png", "model-1hidden.npz", "model-2hidden.npz"]
    # the saved model reproduces the reported test accuracy
    model = nf.load(tmp_path / "model-2hidden.npz")
    (_, _), (Xt, yt) = nf.datasets.load_mnist()
    accuracy = np.mean(model.predict(Xt).argmax(axis=1) == yt)
    assert f"2 hidden: test accuracy {accuracy:.4f}" in out


@needs_lab
@pytest.mark.parametrize("optimizer", ["adam", "adagrad", "rmsprop"])
def test_other_optimizers(capsys, optimizer):
    code, out, err = run_cli(capsys, "--optimizer", optimizer, "--epochs", "1", "--train-fraction", "0.05",
                             "--no-progress", "--activation", "tanh")
    assert code == 0, err


@needs_conv
def test_lenet(capsys, tmp_path):
    code, out, err = run_cli(capsys, "--model", "lenet", "--epochs", "1", "--train-fraction", "0.05",
                             "--no-progress", "--save", str(tmp_path / "lenet.npz"))
    assert code == 0, err
    assert "LeNet-5" in out
    assert type(nf.load(tmp_path / "lenet.npz")[0]).__name__ == "Conv2D"


@needs_lab
def test_data_directory(tmp_path, capsys):
    import shutil
    src = os.path.join(os.path.dirname(nf.datasets.__file__), "data", "mnist5k")
    for name in os.listdir(src):
        if name.endswith(".gz"):
            shutil.copy(os.path.join(src, name), tmp_path / name)
    code, out, err = run_cli(capsys, "--data", str(tmp_path), "--epochs", "1", "--no-progress")
    assert code == 0, err and str(tmp_path) in out


def test_plot_without_matplotlib(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = run_cli(capsys, "--plot", str(tmp_path / "x.png"))
    assert code == 2
    # names the extra, without sending people to a package index that may not have nnfast
    assert "'plot' extra" in err and "nnfast[plot]" not in err
    assert len(err.strip().splitlines()) == 1
    assert not os.listdir(tmp_path)


@needs_lab
@pytest.mark.parametrize("name, magic", [("curves.pdf", b"%PDF"), ("curves.svg", b"<?xml"),
                                         ("curves.PNG", PNG_MAGIC)])
def test_plot_writes_the_format_its_name_says(tmp_path, capsys, name, magic):
    pytest.importorskip("matplotlib")
    path = tmp_path / name
    code, out, err = run_cli(capsys, "--epochs", "1", "--train-fraction", "0.05", "--no-progress",
                             "--plot", str(path))
    assert code == 0, err
    assert path.read_bytes()[:len(magic)] == magic


def test_plot_title_gives_the_configuration(monkeypatch, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from nnfast.cli import train
    titles = []
    monkeypatch.setattr(train, "plot_histories", lambda runs, path, title=None: titles.append(title))
    code, out, err = run_cli(capsys, "--hidden-layers", "1,2", "--activation", "relu", "--epochs", "1",
                             "--train-fraction", "0.05", "--no-progress", "--plot", str(tmp_path / "d.png"))
    assert code == 0, err
    assert titles == ["MLP, 30 units, relu: sgd lr 0.003 momentum 0.9; batch 64, 1 epochs, seed 0; "
                      "bundled MNIST sample, 200 images"]


@pytest.mark.parametrize("name", ["curves.xyz", "curves"])
def test_plot_refuses_an_unknown_format(tmp_path, capsys, name):
    pytest.importorskip("matplotlib")
    code, out, err = run_cli(capsys, "--plot", str(tmp_path / name))
    assert code == 2 and "--plot: the file name must end in the format to write" in err
    assert ".pdf" in err and len(err.strip().splitlines()) == 1 and not os.listdir(tmp_path)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nnfast {nf.__version__}"


@needs_conv
def test_lenet_default_learning_rate_is_its_own(capsys):
    code, out, err = run_cli(capsys, "--model", "lenet", "--epochs", "1", "--train-fraction", "0.02",
                             "--no-progress")
    assert code == 0, err
    assert "LeNet-5; sgd lr 0.045 momentum 0.9" in out
    code, out, err = run_cli(capsys, "--model", "lenet", "--optimizer", "adam", "--epochs", "1",
                             "--train-fraction", "0.02", "--no-progress")
    assert "adam lr 0.001;" in out


@needs_lab
def test_depth_table_is_printed_for_several_depths(capsys):
    code, out, err = run_cli(capsys, "--hidden-layers", "2,1", "--activation", "tanh", "--epochs", "1",
                             "--train-fraction", "0.05", "--no-progress")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[-4:-2] == ["| hidden layers | activation | test accuracy |", "|---|---|---|"]
    accuracy = {label: line.split()[4].rstrip(",") for line in lines
                for label in ("1 hidden", "2 hidden") if line.startswith(label + ": test accuracy")}
    assert lines[-2:] == [f"| 2 | tanh | {accuracy['2 hidden']} |", f"| 1 | tanh | {accuracy['1 hidden']} |"]


BAD = [
    ["--hidden-layers", "0"], ["--hidden-layers", "6"], ["--hidden-layers", "1,x"],
    ["--hidden-layers", "2,2"], ["--hidden-units", "0"], ["--activation", "gelu"],
    ["--optimizer", "lbfgs"], ["--lr", "-1"], ["--lr", "nan"], ["--lr", "abc"],
    ["--momentum", "1.5"], ["--train-fraction", "0"], ["--train-fraction", "1.5"],
    ["--epochs", "0"], ["--epochs", "2.5"], ["--batch-size", "x"], ["--seed", "-1"],
    ["--threads", "0"], ["--model", "resnet"], ["--bogus"], ["positional"],
    ["--data", "/nonexistent/dir"], ["--data", "{empty}"],
    ["--model", "lenet", "--hidden-layers", "2"], ["--optimizer", "adam", "--momentum", "0.5"],
    ["--plot", "/nonexistent/dir/x.png"], ["--save", "{empty}"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a) for a in BAD])
def test_bad_arguments_exit_2_with_one_line(capsys, tmp_path, args):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [a.replace("{empty}", str(empty)) for a in args]
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert err.startswith("nnfast train: error:"), err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err + out


def test_unknown_command_and_no_command(capsys):
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnfast: error:") and len(err.strip().splitlines()) == 1
    assert main([]) == 2
    assert "train" in capsys.readouterr().out
    assert main(["train", "--help"]) == 0
    assert "--hidden-layers" in capsys.readouterr().out


def test_bad_argument_in_subprocess():
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "nnfast", "train", "--epochs", "-3"],
                            cwd=PACKAGE_PARENT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
