# distutils: sources = csrc/small_gemm.c csrc/dot_gemm.c
"""The recurrent kernels' float32 GEMM: AVX-512 tiles, no operand packing
(csrc/small_gemm.h says why and what it measured), and its companion for
A @ B.T with both operands' rows along the summed axis (csrc/dot_gemm.h:
the convolutions' weight gradients).

``small_gemm`` returns False when it did not run: this CPU lacks AVX-512F,
or ``set_enabled(False)`` turned it off (the tests run the recurrent
kernels both ways, so that the BLAS path stays tested on AVX-512 machines
too). The caller then calls BLAS.
"""
from libc.stdint cimport int64_t

cdef extern from "small_gemm.h" nogil:
    int nnfast_small_gemm_f32(int trans_a, int64_t m, int64_t n, int64_t k, const float *a,
                              int64_t lda, const float *b, int64_t ldb, int accumulate,
                              float *c, int64_t ldc)
    int nnfast_small_gemm_available()

cdef extern from "dot_gemm.h" nogil:
    int nnfast_dot_gemm_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                            const float *b, int64_t ldb, int accumulate, float *c,
                            int64_t ldc)
    void nnfast_column_sums_f32(int64_t m, int64_t n, const float *a, int64_t lda,
                                float *out)

# Read by every kernel thread, written only by set_enabled (between calls).
cdef bint _enabled = True


cdef bint small_gemm(bint trans_a, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                     const float *a, Py_ssize_t lda, const float *b, Py_ssize_t ldb,
                     bint accumulate, float *c, Py_ssize_t ldc) noexcept nogil:
    """c := A @ b (+ c if accumulate), A = a (m, k) or, trans_a, a.T with a
    (k, m); all row-major. False (c untouched) when it cannot run here."""
    if not _enabled:
        return False
    return nnfast_small_gemm_f32(trans_a, m, n, k, a, lda, b, ldb, accumulate, c, ldc) != 0


cdef bint dot_gemm(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a, Py_ssize_t lda,
                   const float *b, Py_ssize_t ldb, bint accumulate, float *c,
                   Py_ssize_t ldc) noexcept nogil:
    """c := a @ b.T (+ c if accumulate), a (m, k), b (n, k), c (m, n), all
    row-major. False (c untouched) when it cannot run here."""
    if not _enabled:
        return False
    return nnfast_dot_gemm_f32(m, n, k, a, lda, b, ldb, accumulate, c, ldc) != 0


cdef bint small_gemm_runs() noexcept nogil:
    """True if small_gemm runs here (AVX-512F, and enabled)."""
    return _enabled and nnfast_small_gemm_available() != 0


cdef void column_sums(Py_ssize_t m, Py_ssize_t n, const float *a, Py_ssize_t lda,
                      float *out) noexcept nogil:
    """out[j] += a[:, j].sum() for an (m, n) block with row stride lda."""
    nnfast_column_sums_f32(m, n, a, lda, out)


def available():
    """True if this CPU runs the AVX-512 GEMM."""
    return nnfast_small_gemm_available() != 0


def set_enabled(bint flag):
    """Use the AVX-512 GEMM where it runs (True, the default) or BLAS
    everywhere (False); returns the previous setting."""
    global _enabled
    old = _enabled
    _enabled = flag
    return old


def enabled():
    """True if the recurrent kernels use the AVX-512 GEMM on this machine."""
    return bool(small_gemm_runs())


def small_gemm_into(const float[:, :] a, const float[:, :] b, float[:, :] c,
                    bint trans_a=False, bint accumulate=False):
    """c := op(a) @ b (+ c if accumulate) through small_gemm, for tests;
    False if it did not run (c untouched). The caller checks the shapes:
    op(a) (m, k), b (k, n), c (m, n). Rows may be strided (views of wider
    arrays) as long as each row is contiguous.
    """
    cdef Py_ssize_t m = c.shape[0], n = c.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    if (a.shape[1] if trans_a else a.shape[0]) != m or b.shape[0] != k or b.shape[1] != n:
        raise ValueError("small_gemm_into: shapes do not match")
    if ((a.shape[1] > 1 and a.strides[1] != sizeof(float))
            or (b.shape[1] > 1 and b.strides[1] != sizeof(float))
            or (c.shape[1] > 1 and c.strides[1] != sizeof(float))):
        raise ValueError("small_gemm_into: rows must be contiguous")
    if m == 0 or n == 0:
        return small_gemm_runs()
    cdef const float *pa = &a[0, 0] if a.shape[0] and a.shape[1] else NULL
    cdef const float *pb = &b[0, 0] if k else NULL
    cdef Py_ssize_t lda = a.strides[0] // sizeof(float), ldb = b.strides[0] // sizeof(float)
    cdef Py_ssize_t ldc = c.strides[0] // sizeof(float)
    cdef bint ran
    with nogil:
        ran = small_gemm(trans_a, m, n, k, pa, lda, pb, ldb, accumulate, &c[0, 0], ldc)
    return ran


def dot_gemm_into(const float[:, :] a, const float[:, :] b, float[:, :] c,
                  bint accumulate=False):
    """c := a @ b.T (+ c if accumulate) through dot_gemm, for tests; False
    if it did not run (c untouched). a (m, k), b (n, k), c (m, n); rows may
    be strided as long as each row is contiguous."""
    cdef Py_ssize_t m = c.shape[0], n = c.shape[1], k = a.shape[1]
    if a.shape[0] != m or b.shape[0] != n or b.shape[1] != k:
        raise ValueError("dot_gemm_into: shapes do not match")
    if ((a.shape[1] > 1 and a.strides[1] != sizeof(float))
            or (b.shape[1] > 1 and b.strides[1] != sizeof(float))
            or (c.shape[1] > 1 and c.strides[1] != sizeof(float))):
        raise ValueError("dot_gemm_into: rows must be contiguous")
    if m == 0 or n == 0:
        return small_gemm_runs()
    cdef const float *pa = &a[0, 0] if k else NULL
    cdef const float *pb = &b[0, 0] if k else NULL
    cdef Py_ssize_t lda = a.strides[0] // sizeof(float), ldb = b.strides[0] // sizeof(float)
    cdef Py_ssize_t ldc = c.strides[0] // sizeof(float)
    cdef bint ran
    with nogil:
        ran = dot_gemm(m, n, k, pa, lda, pb, ldb, accumulate, &c[0, 0], ldc)
    return ran
