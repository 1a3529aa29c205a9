"""The register-tile GEMMs in NumPy: the twin of ``nnfast._kernels._small_gemm``.

The compiled module holds the AVX-512 and AVX2 GEMMs inside the recurrent,
Linear and convolution kernels (whose own twins compute the same products
with ``@``); its test entries ``small_gemm_into``, ``small_gemm_rows_into``,
``dot_gemm_into`` and ``dot_gemm_rows_into`` have these twins, the products they must equal (its
switches, ``available``, ``enabled``, ``set_enabled``, ``instruction_sets``
and ``set_instruction_set``, choose a path and have no twin).
"""
import numpy as np


def _store(c, product, accumulate):
    """c := product, or c += product; True (the twins always run)."""
    if accumulate:
        c += product
    else:
        c[...] = product
    return True


def _gathered_rows(source, offsets, width, dtype):
    """The (len(offsets), width) rows source[o : o + width], o in offsets."""
    offsets = np.asarray(offsets, dtype=np.intp).reshape(-1)
    if offsets.size == 0:
        return np.zeros((0, width), dtype)
    return source[offsets[:, None] + np.arange(width)]


def small_gemm_into(a, b, c, trans_a=False, accumulate=False):
    """c := op(a) @ b (+ c if accumulate), op(a) = a.T if trans_a else a;
    op(a) (m, k), b (k, n), c (m, n). Returns True (it always runs).
    """
    return _store(c, (a.T if trans_a else a) @ b, accumulate)


def small_gemm_rows_into(a, source, offsets, n, c, accumulate=False):
    """c := a @ B (+ c if accumulate), row p of B being
    source[offsets[p] : offsets[p] + n]; a (m, len(offsets)), c (m, n).
    Returns True (it always runs)."""
    return small_gemm_into(a, _gathered_rows(source, offsets, n, c.dtype), c, False, accumulate)


def dot_gemm_rows_into(source, offsets, k, b, c, accumulate=False):
    """c := A @ b.T (+ c if accumulate), row i of A being
    source[offsets[i] : offsets[i] + k]; b (n, k), c (len(offsets), n).
    Returns True (it always runs)."""
    return dot_gemm_into(_gathered_rows(source, offsets, k, c.dtype), b, c, accumulate)


def dot_gemm_into(a, b, c, accumulate=False):
    """c := a @ b.T (+ c if accumulate); a (m, k), b (n, k), c (m, n).
    Returns True (it always runs)."""
    return _store(c, a @ b.T, accumulate)
