"""Scratch memory that belongs to a thread, never to a layer.

A kernel's workspace (im2col column buffers, per-thread partial sums) is
only alive during one kernel call, so each Python thread can keep one
buffer per dtype and reuse it for every call it makes. A buffer kept on the
layer instead was shared by every thread calling that layer: four threads
calling one Conv2D's forward at once got 181 of 200 outputs wrong, each
kernel writing its columns over another's.

Bounded: one buffer per (thread, dtype, slot), as large as that thread's
largest request so far; it goes when the thread ends. Slots are for a
caller that needs several buffers at once (a grouped Conv2D's contiguous
copies of one group's channels beside the kernels' workspace).
"""
import threading

import numpy as np

from nnfast import _aligned

_local = threading.local()


def workspace(n_elements, dtype, slot=None):
    """A 1-D scratch array of ``n_elements`` of ``dtype``, owned by the
    calling thread (its contents are garbage; the kernel writes before it
    reads). The same memory comes back on the thread's next request for
    that ``slot`` (None, the kernels' workspace, or a name; different
    slots never share memory)."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    dtype = np.dtype(dtype)
    key = dtype if slot is None else (dtype, slot)
    buffer = pool.get(key)
    if buffer is None or buffer.size < n_elements:
        buffer = pool[key] = _aligned.empty(max(int(n_elements), 1), dtype)   # 64-byte aligned
    return buffer[:n_elements]
