"""nnfast.fau is a client of nnfast's public API: no module under
nnfast/fau/ imports or reaches the kernel machinery (``_backend``,
``_kernels``, ``reference``)."""
import ast
import pathlib

import pytest

import nnfast.fau

FORBIDDEN = {"_backend", "_kernels", "reference"}
FAU_ROOT = pathlib.Path(nnfast.fau.__file__).parent


def kernel_machinery_used(source):
    """The places in ``source`` (Python text) that import or reach a
    forbidden module: imports of nnfast._backend / _kernels / reference
    (in any spelling) and attribute access such as ``nnfast._backend``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        else:
            continue
        for name in names:
            if FORBIDDEN & set(name.split(".")):
                found.append((node.lineno, name))
    return found


def fau_modules():
    return sorted(FAU_ROOT.rglob("*.py"))


def test_every_fau_module_is_checked():
    names = {p.relative_to(FAU_ROOT).as_posix() for p in fau_modules()}
    assert {"Layers/FullyConnected.py", "Layers/Conv.py", "Optimization/Optimizers.py",
            "NeuralNetwork.py", "_delegate.py", "Layers/TanH.py", "Layers/Sigmoid.py",
            "Layers/Dropout.py", "Layers/Helpers.py", "Optimization/Constraints.py"} <= names


@pytest.mark.parametrize("path", fau_modules(), ids=lambda p: p.relative_to(FAU_ROOT).as_posix())
def test_fau_module_uses_the_public_api_only(path):
    assert kernel_machinery_used(path.read_text()) == []


@pytest.mark.parametrize("source", [
    "from nnfast import _backend",
    "import nnfast._kernels",
    "import nnfast._kernels.conv as conv",
    "from nnfast._kernels import conv",
    "from nnfast.reference import linear_forward",
    "from nnfast import reference as ref",
    "import nnfast\nk = nnfast._backend.kernels()",
])
def test_the_check_catches_each_spelling(source):
    assert kernel_machinery_used(source)


def test_the_check_passes_public_imports():
    assert kernel_machinery_used(
        "from nnfast.layers import Linear\nfrom nnfast.optim.functional import sgd_step\n"
        "import numpy as np\nnp.random.uniform(0, 1)") == []
