/* The AVX2 (with FMA) kernels of small_gemm.h and dot_gemm.h, for the CPUs
 * without AVX-512: most laptops, and servers such as AMD's Zen 2 and 3.
 * Same contracts as nnfast_small_gemm_f32 and nnfast_dot_gemm_f32; the
 * dispatchers there call these when the CPU has AVX2 and FMA but not
 * AVX-512F, or when a test asks for them.
 *
 * Why not BLAS there either: for the reason small_gemm.h gives (a thin m
 * pays for packing, and these pack nothing). On a Zen 3 EPYC with AVX2
 * only, where every float32 convolution and recurrent GEMM had fallen back
 * to single-threaded OpenBLAS (its Haswell kernels), these kernels took
 * unet-small's training step from 255 to 138 ms and lstm-seq's from 30.5
 * to 13.2 (2 threads). The Linear layer keeps BLAS there (linear.pyx says
 * why). The tiles are half the AVX-512 ones, as AVX2 has 16 registers of
 * 8 floats, not 32 of 16. */
#ifndef NNFAST_GEMM_AVX2_H
#define NNFAST_GEMM_AVX2_H

#include <stdint.h>

/* 1 if this CPU has AVX2 and FMA (and the build is x86-64 GCC/Clang). */
int nnfast_gemm_avx2_available(void);

void nnfast_small_gemm_avx2_f32(int trans_a, int64_t m, int64_t n, int64_t k,
                                const float *a, int64_t lda, const float *b, int64_t ldb,
                                int accumulate, float *c, int64_t ldc);

/* small_gemm with A plain and B given by its rows: row p of B is
 * b_rows[p][0 .. n), which need not lie at one stride (a convolution's
 * kernel taps, each a span of the padded image: the column matrix read in
 * place, never written). */
void nnfast_small_gemm_rows_avx2_f32(int64_t m, int64_t n, int64_t k, const float *a,
                                     int64_t lda, const float *const *b_rows, int accumulate,
                                     float *c, int64_t ldc);

void nnfast_dot_gemm_avx2_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                              const float *b, int64_t ldb, int accumulate, float *c,
                              int64_t ldc);

/* dot_gemm with row i of a at a_rows[i][0 .. k): a convolution's weight
 * gradient with its kernel taps read in place. */
void nnfast_dot_gemm_rows_avx2_f32(int64_t m, int64_t n, int64_t k, const float *const *a_rows,
                                   const float *b, int64_t ldb, int accumulate, float *c,
                                   int64_t ldc);

#endif
