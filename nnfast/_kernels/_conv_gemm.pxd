# The convolutions' GEMMs that read no transposed B: the forward (weight @
# columns) and the input gradient (weight.T @ output gradient). In float32 on
# an AVX-512 CPU they run on small_gemm (csrc/small_gemm.h), whose register
# tiles keep the whole depth (channels * kernel_h * kernel_w, at most a few
# hundred here) in accumulators: 157-222 GFLOP/s on one thread of the Xeon
# for a U-Net's shapes ((16, 144) @ (144, 4096) to (64, 576) @ (576, 256)),
# where OpenBLAS ran the same at 64-110 (a thin m of 16 output channels is
# where its packing costs most). On an AVX2 CPU, small_gemm's AVX2 tiles
# (csrc/gemm_avx2.c): unet-small's step 255 -> 138 ms against OpenBLAS on a
# Zen 3 EPYC. Elsewhere, and for float64, BLAS.
from cython cimport floating

from nnfast._kernels._blas cimport blas_int, gemm
from nnfast._kernels._small_gemm cimport dot_gemm, small_gemm


cdef inline void conv_gemm(bint trans_a, blas_int m, blas_int n, blas_int k,
                           const floating *a, blas_int lda, const floating *b,
                           blas_int ldb, bint accumulate, floating *c,
                           blas_int ldc) noexcept nogil:
    """C := op(A) @ B (+ C if accumulate), all row-major; C is (m, n)."""
    if m <= 0 or n <= 0:
        return
    if floating is float:
        if small_gemm(trans_a, m, n, k, a, lda, b, ldb, accumulate, c, ldc):
            return
    gemm(trans_a, False, m, n, k, 1, a, lda, b, ldb, 1 if accumulate else 0, c, ldc)


cdef inline void conv_gemm_nt(blas_int m, blas_int n, blas_int k, const floating *a,
                              blas_int lda, const floating *b, blas_int ldb,
                              bint accumulate, floating *c, blas_int ldc) noexcept nogil:
    """C := A @ B.T (+ C if accumulate), A (m, k), B (n, k), C (m, n), all
    row-major: dot_gemm (csrc/dot_gemm.h) in float32 on AVX-512 or AVX2,
    else BLAS."""
    if m <= 0 or n <= 0:
        return
    if floating is float:
        if dot_gemm(m, n, k, a, lda, b, ldb, accumulate, c, ldc):
            return
    gemm(False, True, m, n, k, 1, a, lda, b, ldb, 1 if accumulate else 0, c, ldc)
