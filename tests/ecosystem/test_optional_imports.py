"""scikit-learn and onnx are extras: imported only by the code that uses them."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import nnfast as nf


def test_import_nnfast_imports_no_extra():
    code = ("import sys, nnfast as nf; nf.onnx.SUPPORTED_OPERATORS; "
            "print(sorted(m for m in ('sklearn', 'onnx', 'onnxruntime', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=pathlib.Path(nf.__file__).parent.parent).stdout
    assert out.strip() == "[]"


def test_onnx_functions_without_onnx_say_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install nnfast\[onnx\]"):
        nf.onnx.export(nf.layers.Linear(2, 2), tmp_path / "m.onnx", (2,))
    with pytest.raises(ImportError, match=r"pip install nnfast\[onnx\]"):
        nf.onnx.load(tmp_path / "m.onnx")


def test_state_dicts_need_no_extra():
    model = nf.Sequential([nf.layers.Linear(3, 2)])
    model.load_state_dict({"0.weight": np.ones((2, 3)), "0.bias": np.zeros(2)})
    assert list(model.state_dict()) == ["0.weight", "0.bias"]
