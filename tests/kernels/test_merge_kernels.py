"""Join kernels (concat_forward, add_forward): fast == reference over seeded
random shapes, row strides, offsets, dtypes and thread counts; the ReLU of
a residual sum keeps NaN."""
import numpy as np
import pytest

from nnfast import _kernels, reference
from conftest import threads_and_cutoff


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_concat_forward_matches_reference(seed, dtype, threads):
    rng = np.random.default_rng(seed)
    rows, width = (int(v) for v in rng.integers(1, [9, 40]))
    total = width + int(rng.integers(0, 30))
    offset = int(rng.integers(0, total - width + 1))
    # x a column slice of a wider array: rows contiguous, row stride > width
    wide = rng.standard_normal((rows, width + int(rng.integers(0, 5)))).astype(dtype)
    x = wide[:, :width]
    outs = [np.full((rows, total), 7.0, dtype) for _ in range(2)]
    with threads_and_cutoff(threads):
        _kernels.concat_forward(x, offset, outs[0])
    reference.concat_forward(x, offset, outs[1])
    np.testing.assert_array_equal(outs[0], outs[1])
    assert np.all(outs[0][:, :offset] == 7) and np.all(outs[0][:, offset + width:] == 7)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("relu", [False, True])
def test_add_forward_matches_reference(seed, dtype, threads, relu):
    rng = np.random.default_rng(seed)
    rows, width = (int(v) for v in rng.integers(1, [9, 70]))
    a = rng.standard_normal((rows, width + 3)).astype(dtype)[:, 1:width + 1]
    b = rng.standard_normal((rows, width)).astype(dtype)
    a[0, 0] = np.nan
    fast, ref = np.empty((rows, width), dtype), np.empty((rows, width), dtype)
    with threads_and_cutoff(threads):
        _kernels.add_forward(a, b, relu, fast)
    reference.add_forward(a, b, relu, ref)
    np.testing.assert_array_equal(fast, ref)
    expected = a + b
    if relu:
        expected = np.where(expected < 0, 0, expected)
    np.testing.assert_array_equal(fast, expected)
    assert np.isnan(fast[0, 0])


def test_add_forward_in_place():
    a = np.arange(6, dtype=np.float32).reshape(2, 3) - 3
    b = np.ones((2, 3), np.float32)
    expected = np.maximum(a + b, 0)
    _kernels.add_forward(a, b, True, a)
    np.testing.assert_array_equal(a, expected)


@pytest.mark.parametrize("threads", [1, 2])
def test_join_kernels_leave_the_fp_mode_as_found(threads):
    """The kernels set the kernels' floating-point mode for their own
    duration only (run_team): the caller's is as it was after each call."""
    from nnfast._kernels import _threads
    mode = _threads.fp_mode()
    a = np.full((3, 1000), 1e-39, np.float32)
    out = np.empty((3, 2000), np.float32)
    with threads_and_cutoff(threads):
        _kernels.concat_forward(a, 1000, out)
        assert _threads.fp_mode() == mode
        _kernels.add_forward(a, a, True, out[:, :1000])
        assert _threads.fp_mode() == mode
    assert np.float32(1e-39) * np.float32(1) != 0     # denormals still survive here


def test_two_threads_calling_at_once_get_their_own_results():
    """Each call's state is its own (a struct on the caller's stack): two
    Python threads joining different arrays at once get what each would get
    alone, bitwise."""
    import threading
    rng = np.random.default_rng(5)
    cases = [[rng.standard_normal((64, 4096)).astype(np.float32) for _ in range(2)]
             for _ in range(2)]
    alone = []
    for a, b in cases:
        cat, add = np.empty((64, 8192), np.float32), np.empty((64, 4096), np.float32)
        _kernels.concat_forward(a, 0, cat)
        _kernels.concat_forward(b, 4096, cat)
        _kernels.add_forward(a, b, True, add)
        alone.append((cat, add))
    results = [None, None]

    def run(i):
        a, b = cases[i]
        outs = []
        for _ in range(20):
            cat, add = np.empty((64, 8192), np.float32), np.empty((64, 4096), np.float32)
            _kernels.concat_forward(a, 0, cat)
            _kernels.concat_forward(b, 4096, cat)
            _kernels.add_forward(a, b, True, add)
            outs.append((cat, add))
        results[i] = outs

    workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i in range(2):
        for cat, add in results[i]:
            np.testing.assert_array_equal(cat, alone[i][0])
            np.testing.assert_array_equal(add, alone[i][1])
