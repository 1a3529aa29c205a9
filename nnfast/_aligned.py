"""Arrays whose data starts on a 64-byte boundary (a cache line, an AVX-512 vector).

NumPy's large arrays come from malloc, whose chunks start 16 bytes past a
page boundary, so every 64-byte vector load of their rows straddles two cache
lines; the AVX-512 kernels read them measurably slower (a Linear weight
gradient, (100, 784) from 200 samples on 2 threads: 141-143 us misaligned,
109 us aligned). The buffers nnfast allocates for its kernels come from here.

An aligned array is a view into a slightly larger byte buffer (its ``base``).
"""
import numpy as np

ALIGNMENT = 64


def empty(shape, dtype=np.float32):
    """An uninitialised array of ``shape`` and ``dtype``, 64-byte aligned."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    nbytes = dtype.itemsize
    for n in shape:
        nbytes *= n
    buf = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -buf.ctypes.data % ALIGNMENT
    return buf[start:start + nbytes].view(dtype).reshape(shape)


def zeros(shape, dtype=np.float32):
    """``empty`` filled with zeros."""
    out = empty(shape, dtype)
    out.fill(0)
    return out


def copy(array):
    """A C-contiguous 64-byte-aligned copy of ``array`` (same dtype)."""
    out = empty(array.shape, array.dtype)
    out[...] = array
    return out


def is_aligned(array):
    return array.ctypes.data % ALIGNMENT == 0
