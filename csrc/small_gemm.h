/* Row-major float32 GEMM for the recurrent kernels' and the convolutions'
 * shapes, in AVX-512 or, on CPUs without it, AVX2 (gemm_avx2.h).
 *
 *   c[i*ldc + j] := (accumulate ? c[i*ldc + j] : 0) + sum_p A(i, p) * b[p*ldb + j]
 *   A(i, p) = a[i*lda + p] (trans_a == 0) or a[p*lda + i] (trans_a == 1)
 *
 * for i < m, j < n, p < k, single-threaded: the calling kernel splits the
 * work between its own threads (../DESIGN.md, "Threads").
 *
 * Why not BLAS here: a recurrent layer's step GEMMs are small and repeated
 * (lstm-seq: (32, 128) @ (128, 512), 50 times a direction) and its weight
 * gradients have a transposed A and a long k ((512, 1600) @ (1600, 128)).
 * scipy's OpenBLAS 0.3.30 ran these at 60-73 GFLOP/s on one thread of the
 * AVX-512 EPYC (85-98 for this kernel), and needs its operands packed on
 * every call. This kernel packs nothing: each tile of c (6 x 64, 8 x 32, or
 * 24 x 16 for the last 16 columns or fewer) keeps its accumulators in
 * registers over a block of k, reading b's rows a vector at a time and
 * broadcasting A's elements.
 *
 * nnfast_small_gemm_f32 runs in the instruction set ``isa`` or, if this
 * CPU lacks it, the best below it that the CPU has, and returns the one it
 * ran in: NNFAST_GEMM_NONE when it did not run (no AVX2 and FMA, or the
 * build is not x86-64 GCC/Clang, or isa was NONE); the caller then calls
 * BLAS. The instruction set is chosen when the program runs, not when it
 * is built (__builtin_cpu_supports). */
#ifndef NNFAST_SMALL_GEMM_H
#define NNFAST_SMALL_GEMM_H

#include <stdint.h>

/* The instruction sets the float32 GEMMs have kernels in, worst to best. */
enum { NNFAST_GEMM_NONE = 0, NNFAST_GEMM_AVX2 = 1, NNFAST_GEMM_AVX512 = 2 };

/* The best of them this CPU runs. */
int nnfast_gemm_isa(void);

int nnfast_small_gemm_f32(int isa, int trans_a, int64_t m, int64_t n, int64_t k,
                          const float *a, int64_t lda, const float *b, int64_t ldb,
                          int accumulate, float *c, int64_t ldc);

/* c := a @ B (+ c if accumulate) with A plain and row p of B at
 * b_rows[p][0 .. n) (rows at no common stride: a convolution's kernel taps
 * read in place from the padded image). In AVX2 (gemm_avx2.h), also on an
 * AVX-512 CPU; returns the instruction set it ran in, NONE if isa is below
 * AVX2 or the CPU lacks it. */
int nnfast_small_gemm_rows_f32(int isa, int64_t m, int64_t n, int64_t k, const float *a,
                               int64_t lda, const float *const *b_rows, int accumulate,
                               float *c, int64_t ldc);

/* out[j] += sum_i a[i*lda + j] for j < n, i < m: the column sums of a
 * (m, n) row-major block, as a bias gradient, in float32 (vectorized over
 * j; one pass over a). */
void nnfast_column_sums_f32(int64_t m, int64_t n, const float *a, int64_t lda, float *out);

#endif
