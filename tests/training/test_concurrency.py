"""Concurrent calls into one model give each caller what it would get alone."""
import threading

import numpy as np
import pytest

import nnfast as nf

N_THREADS = 4
CALLS = 50


def _run_on_another_thread(fn, *args):
    """fn(*args) on a new thread, waited for."""
    other = threading.Thread(target=fn, args=args)
    other.start()
    other.join()


def _lenet_with_dropout(seed=0):
    nf.seed(seed)
    return nf.Sequential([
        nf.layers.Conv2D(1, 6, 5, padding=2), nf.layers.ReLU(), nf.layers.MaxPool2D(2),
        nf.layers.Conv2D(6, 16, 5), nf.layers.ReLU(), nf.layers.MaxPool2D(2),
        nf.layers.Flatten(), nf.layers.Dropout(0.5), nf.layers.Linear(400, 10),
    ])


def _run_in_threads(work):
    """work(i) for i in range(N_THREADS) on N_THREADS threads at once; the
    results by i (an exception is re-raised here)."""
    results = [None] * N_THREADS
    errors = []
    start = threading.Barrier(N_THREADS)

    def target(i):
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("nnfast_threads", [1, 2])
def test_concurrent_predict_is_bitwise_serial_and_keeps_training_flag(nnfast_threads):
    old = nf.get_num_threads()
    nf.set_num_threads(nnfast_threads)
    try:
        model = _lenet_with_dropout()
        rng = np.random.default_rng(1)
        inputs = [rng.random((256, 1, 28, 28), dtype=np.float32) for _ in range(N_THREADS)]
        expected = [model.predict(x, batch_size=64) for x in inputs]
        assert model.training   # predict ran in inference mode, not eval mode

        def work(i):
            wrong = 0
            for _ in range(CALLS):
                wrong += not np.array_equal(model.predict(inputs[i], batch_size=64), expected[i])
            return wrong

        wrong = _run_in_threads(work)
        assert wrong == [0] * N_THREADS, f"wrong outputs per thread: {wrong}"
        assert model.training and all(layer.training for layer in model)
    finally:
        nf.set_num_threads(old)


def test_concurrent_conv_forward_is_bitwise_serial():
    nf.seed(0)
    conv = nf.layers.Conv2D(6, 16, 5, padding=1)
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal((32, 6, 14, 14)).astype(np.float32) for _ in range(N_THREADS)]
    expected = [conv.forward(x).copy() for x in inputs]

    def work(i):
        return sum(not np.array_equal(conv.forward(inputs[i]), expected[i]) for _ in range(CALLS))

    assert _run_in_threads(work) == [0] * N_THREADS


def test_dropout_in_predict_is_off_only_for_that_thread():
    model = _lenet_with_dropout()
    x = np.random.default_rng(3).random((8, 1, 28, 28), dtype=np.float32)
    a = model.predict(x)
    b = model.predict(x)
    np.testing.assert_array_equal(a, b)        # no dropout inside predict
    assert model.training
    t1 = model.forward(x)
    t2 = model.forward(x)
    assert not np.array_equal(t1, t2)          # still dropping out in training


def test_backward_after_another_threads_forward_is_a_clear_error():
    model = _lenet_with_dropout()
    x = np.random.default_rng(4).random((4, 1, 28, 28), dtype=np.float32)
    out = model.forward(x)
    _run_on_another_thread(model.forward, x)
    with pytest.raises(RuntimeError, match="other than the one that ran its last forward"):
        model.backward(np.ones_like(out))
    # a forward on this thread makes backward valid again
    out = model.forward(x)
    model.backward(np.ones_like(out))


def test_predict_on_another_thread_then_training_here_is_refused_not_mixed():
    model = _lenet_with_dropout()
    x = np.random.default_rng(5).random((4, 1, 28, 28), dtype=np.float32)
    out = model.forward(x)
    _run_on_another_thread(model.predict, x)
    with pytest.raises(RuntimeError):
        model.backward(np.ones_like(out))


def _bn_cnn(seed=0):
    nf.seed(seed)
    return nf.Sequential([
        nf.layers.Conv2D(1, 6, 5, padding=2), nf.layers.BatchNorm2D(6), nf.layers.ReLU(),
        nf.layers.MaxPool2D(2), nf.layers.Flatten(), nf.layers.Linear(6 * 14 * 14, 10),
    ])


def test_concurrent_predict_with_batchnorm_is_bitwise_serial_and_keeps_statistics():
    model = _bn_cnn()
    rng = np.random.default_rng(6)
    model.forward(rng.random((64, 1, 28, 28), dtype=np.float32))   # running statistics move
    bn = model[1]
    stats = (bn.running_mean.copy(), bn.running_var.copy())
    inputs = [rng.random((128, 1, 28, 28), dtype=np.float32) for _ in range(N_THREADS)]
    expected = [model.predict(x, batch_size=32) for x in inputs]

    def work(i):
        return sum(not np.array_equal(model.predict(inputs[i], batch_size=32), expected[i])
                   for _ in range(CALLS // 2))

    assert _run_in_threads(work) == [0] * N_THREADS
    # inference uses the running statistics and leaves them as they were
    np.testing.assert_array_equal(bn.running_mean, stats[0])
    np.testing.assert_array_equal(bn.running_var, stats[1])
    assert model.training


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
def test_concurrent_recurrent_forward_is_bitwise_serial(cell):
    nf.seed(0)
    layer = getattr(nf.layers, cell)(12, 20)
    rng = np.random.default_rng(7)
    inputs = [rng.standard_normal((16, 15, 12)).astype(np.float32) for _ in range(N_THREADS)]
    lengths = [rng.integers(1, 16, 16) for _ in range(N_THREADS)]
    expected = [layer.forward(x, lengths=n).copy() for x, n in zip(inputs, lengths)]

    def work(i):
        return sum(not np.array_equal(layer.forward(inputs[i], lengths=lengths[i]), expected[i])
                   for _ in range(CALLS // 2))

    assert _run_in_threads(work) == [0] * N_THREADS
