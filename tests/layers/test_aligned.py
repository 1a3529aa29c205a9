"""The buffers nnfast allocates for its kernels start on 64-byte boundaries
(nnfast._aligned): parameters and their gradients, layer outputs, gathered
batches, a recurrent layer's states."""
import numpy as np
import pytest

import nnfast as nf
from nnfast import _aligned
from nnfast.data._rows import take_rows


def _aligned_ok(a):
    return a.ctypes.data % 64 == 0


@pytest.mark.parametrize("shape", [0, 7, (3, 5), (2, 0, 4), (50, 32, 512)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_empty_zeros_copy(shape, dtype):
    a = _aligned.empty(shape, dtype)
    expected = (shape,) if isinstance(shape, int) else shape
    assert a.shape == expected and a.dtype == dtype and a.flags.c_contiguous
    assert a.flags.writeable and (a.size == 0 or _aligned_ok(a))
    z = _aligned.zeros(shape, dtype)
    assert not z.any() and (z.size == 0 or _aligned_ok(z))
    src = np.arange(np.prod(expected), dtype=dtype).reshape(expected)[::-1]
    c = _aligned.copy(src)
    np.testing.assert_array_equal(c, src)
    assert not np.shares_memory(c, src) and (c.size == 0 or _aligned_ok(c))


def test_parameters_outputs_batches_and_states_are_aligned():
    rng = np.random.default_rng(0)
    lin = nf.layers.Linear(13, 7, rng=0)
    for p in lin.parameters():
        assert _aligned_ok(p.value) and _aligned_ok(p.grad)
    x = rng.standard_normal((5, 13)).astype(np.float32)
    out = lin.forward(x)
    assert _aligned_ok(out)
    assert _aligned_ok(lin.backward(np.ones_like(out))) or not lin.requires_input_grad
    data = rng.standard_normal((40, 6)).astype(np.float32)
    assert _aligned_ok(take_rows(data, np.arange(10)[::-1].copy()))
    lstm = nf.layers.LSTM(6, 4, rng=0)
    lstm.forward(rng.standard_normal((3, 5, 6)).astype(np.float32))
    for name in ("h", "c", "gates"):
        assert _aligned_ok(lstm._cache["layers"][0][name])


def test_parameter_keeps_values_and_dtype_when_it_realigns():
    base = np.zeros(17, np.float32)
    value = base[1:].reshape(4, 4)         # 4 bytes past an aligned start: misaligned
    value[...] = np.arange(16).reshape(4, 4)
    p = nf.Parameter(value)
    np.testing.assert_array_equal(p.value, value)
    assert p.value.dtype == np.float32 and _aligned_ok(p.value)
