"""The NumPy reference stands alone: with no compiled module present,
``import nnfast`` warns once, runs on the reference kernels, and says so."""
import os
import shutil
import subprocess
import sys
import textwrap

import nnfast as nf

SCRIPT = textwrap.dedent(
    """
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import numpy as np
        import nnfast as nf
        import nnfast.reference
    assert nf.__file__.startswith(%(root)r), nf.__file__
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages
    assert "compiled kernels failed to import" in messages[0], messages[0]
    assert "pip install ." in messages[0], messages[0]
    assert nf.get_backend() == "reference", nf.get_backend()
    assert nf.openmp_enabled() is False
    nf.set_num_threads(2)
    assert nf.get_num_threads() == 2
    try:
        nf.set_backend("fast")
    except RuntimeError as e:
        assert "not available" in str(e), e
    else:
        raise AssertionError("set_backend('fast') did not raise")
    nf.seed(0)
    model = nf.Sequential([nf.layers.Conv2D(1, 2, 3, padding=1), nf.layers.ReLU(),
                           nf.layers.MaxPool2D(2), nf.layers.Flatten(),
                           nf.layers.Linear(2 * 4 * 4, 3)])
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)
    loss = nf.losses.CrossEntropyLoss()
    value = loss.forward(model.forward(x), np.array([0, 1, 2, 0]))
    model.backward(loss.backward())
    assert np.isfinite(value)
    assert all(np.isfinite(p.grad).all() for p in model.parameters())
    print("standalone ok")
    """
)


def test_import_without_compiled_kernels(tmp_path):
    source = os.path.dirname(os.path.abspath(nf.__file__))
    root = str(tmp_path)
    shutil.copytree(source, os.path.join(root, "nnfast"),
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    env = dict(os.environ, PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", SCRIPT % {"root": root}], cwd=root,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "standalone ok" in out.stdout
