/* Row-major float32 C (+)= A @ B.T with both operands' rows along the
 * summed axis, in AVX-512 or, on CPUs without it, AVX2 (gemm_avx2.h):
 *
 *   c[i*ldc + j] := (accumulate ? c[i*ldc + j] : 0) + sum_p a[i*lda + p] * b[j*ldb + p]
 *
 * for i < m, j < n, p < k, single-threaded (the calling kernel splits the
 * work between its own threads).
 *
 * Why: a convolution's weight gradient is grad_output (out_channels, span)
 * times the columns (channels * kh * kw, span) transposed, both with the
 * span (pixels) contiguous. small_gemm (small_gemm.h) needs one of them
 * transposed into (span, out_channels), and with 16 output channels its
 * tile is one vector wide: 25 loads per 24 FMAs, load-bound at ~50 GFLOP/s
 * on two threads of the Xeon (U-Net's 16-channel layers). Here each tile of
 * c, 6 rows of a by 4 rows of b, keeps 24 accumulators of 16 partial sums
 * over p: 10 loads per 24 FMAs, nothing transposed, and the 16 lanes
 * reduced once per block of k (~10 % of the FMAs at a span of 400).
 *
 * nnfast_dot_gemm_f32 takes and returns an instruction set as
 * nnfast_small_gemm_f32 does (small_gemm.h): NNFAST_GEMM_NONE when it did
 * not run, and the caller then uses another path. Chosen when the program
 * runs (__builtin_cpu_supports). */
#ifndef NNFAST_DOT_GEMM_H
#define NNFAST_DOT_GEMM_H

#include <stdint.h>

int nnfast_dot_gemm_f32(int isa, int64_t m, int64_t n, int64_t k, const float *a,
                        int64_t lda, const float *b, int64_t ldb, int accumulate, float *c,
                        int64_t ldc);

/* The same with row i of a at a_rows[i][0 .. k) (the kernel taps of a
 * convolution's padded sample, read in place); in AVX2 only, also on an
 * AVX-512 CPU, as nnfast_small_gemm_rows_f32 (small_gemm.h). */
int nnfast_dot_gemm_rows_f32(int isa, int64_t m, int64_t n, int64_t k,
                             const float *const *a_rows, const float *b, int64_t ldb,
                             int accumulate, float *c, int64_t ldc);

#endif
