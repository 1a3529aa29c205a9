"""Every call into nnfast leaves the caller's floating-point mode as it was:
denormals survive in NumPy and Python arithmetic afterwards, bit for bit."""
import threading

import numpy as np
import pytest

import nnfast as nf
from nnfast._kernels import _threads
from conftest import threads_and_cutoff

DENORMAL32 = np.array([0x00000001, 0x00400000], dtype=np.uint32).view(np.float32)
DENORMAL64 = np.array([0x0000000000000001, 0x0008000000000000], dtype=np.uint64).view(np.float64)


def _denormals_survive():
    """Bit patterns of denormal arithmetic (FTZ/DAZ would zero them)."""
    one32 = np.ones(2, np.float32)
    ok32 = np.array_equal((DENORMAL32 * one32).view(np.uint32), DENORMAL32.view(np.uint32))
    ok64 = np.array_equal((DENORMAL64 * np.ones(2)).view(np.uint64), DENORMAL64.view(np.uint64))
    py = (5e-324 * 1.0) == 5e-324 and (1e-310 * 1.0) != 0.0
    return ok32 and ok64 and py


def _model():
    nf.seed(0)
    return nf.Sequential([
        nf.layers.Conv2D(1, 4, 3, padding=1), nf.layers.ReLU(), nf.layers.MaxPool2D(2),
        nf.layers.Conv2D(4, 4, 3), nf.layers.Tanh(), nf.layers.AvgPool2D(2), nf.layers.Flatten(),
        nf.layers.Dropout(0.2), nf.layers.Linear(4, 8), nf.layers.Sigmoid(),
        nf.layers.LeakyReLU(), nf.layers.PReLU(), nf.layers.Linear(8, 3), nf.layers.LogSoftmax(),
    ])


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "Adagrad", "RMSProp"])
def test_training_step_leaves_fp_mode(n_threads, optimizer):
    # the parallel path even for these small shapes
    with threads_and_cutoff(n_threads):
        before = _threads.fp_mode()
        assert _denormals_survive()
        model = _model()
        x = np.random.default_rng(0).random((8, 1, 10, 10), dtype=np.float32)
        y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
        opt = getattr(nf.optim, optimizer)(model.parameters(), lr=0.01)
        for loss in (nf.losses.NLLLoss(), ):
            value = loss.forward(model.forward(x), y)
            model.backward(loss.backward())
            opt.step()
            opt.zero_grad()
        for loss, target in ((nf.losses.MSELoss(), np.zeros((8, 3), np.float32)),
                             (nf.losses.CrossEntropyLoss(), y), (nf.losses.HingeLoss(), y),
                             (nf.losses.BCEWithLogitsLoss(), np.ones((8, 3), np.float32))):
            loss.forward(model.forward(x), target)
            model.backward(loss.backward())
        model.predict(x)
        assert np.isfinite(value)
        assert _threads.fp_mode() == before
        assert _denormals_survive()
        seen = []
        t = threading.Thread(target=lambda: seen.append((_threads.fp_mode(), _denormals_survive())))
        t.start()
        t.join()
        assert seen == [(before, True)]


def test_reference_results_unchanged_after_fast_calls():
    x = np.full(4, 1e-39, np.float32)
    with nf.use_backend("reference"):
        expected = nf.layers.ReLU().forward(x).copy()
    nf.layers.ReLU().forward(x)                       # fast
    with nf.use_backend("reference"):
        again = nf.layers.ReLU().forward(x)
    np.testing.assert_array_equal(again.view(np.uint32), expected.view(np.uint32))
    assert again[0] != 0
