/* See small_gemm.h. */
#include "small_gemm.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>

#define NNFAST_AVX512 __attribute__((target("avx512f,fma")))
#define NNFAST_INLINE __attribute__((always_inline)) inline

enum { TILE_ROWS = 8, TILE_COLS = 32 };

/* One tile of c: mr (<= 8) rows, the columns that masks k0 (first 16) and
 * k1 (next 16) select. Inlined with constant trans_a and mr, so that the
 * row loops unroll and the 2*mr accumulators live in registers. Masked
 * loads and stores touch no memory outside the selected columns. */
static NNFAST_AVX512 NNFAST_INLINE void tile(
    const int trans_a, const int mr, int64_t k, const float *restrict a, int64_t lda,
    const float *restrict b, int64_t ldb, __mmask16 k0, __mmask16 k1, int accumulate,
    float *restrict c, int64_t ldc)
{
    __m512 c0[TILE_ROWS], c1[TILE_ROWS];
    for (int r = 0; r < mr; ++r) {
        c0[r] = _mm512_setzero_ps();
        c1[r] = _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < k; ++p) {
        const __m512 b0 = _mm512_maskz_loadu_ps(k0, b + p * ldb);
        const __m512 b1 = _mm512_maskz_loadu_ps(k1, b + p * ldb + 16);
        for (int r = 0; r < mr; ++r) {
            const __m512 av = _mm512_set1_ps(trans_a ? a[p * lda + r] : a[r * lda + p]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
    for (int r = 0; r < mr; ++r) {
        if (accumulate) {
            c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(k0, c + r * ldc));
            c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(k1, c + r * ldc + 16));
        }
        _mm512_mask_storeu_ps(c + r * ldc, k0, c0[r]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, k1, c1[r]);
    }
}

#define NNFAST_TILE(TA, MR) \
    case MR: tile(TA, MR, k, ai, lda, bj, ldb, k0, k1, accumulate, cij, ldc); break;
#define NNFAST_TILES(TA) \
    switch (mr) { NNFAST_TILE(TA, 1) NNFAST_TILE(TA, 2) NNFAST_TILE(TA, 3) \
                  NNFAST_TILE(TA, 4) NNFAST_TILE(TA, 5) NNFAST_TILE(TA, 6) \
                  NNFAST_TILE(TA, 7) default: NNFAST_TILE(TA, 8) }

/* Column panels of 32 outside, row tiles of 8 inside: a panel of b (k rows
 * of 128 bytes; lstm-seq's weight gradients: 200 KB) stays in L2 while
 * every row tile reads it. */
static NNFAST_AVX512 void small_gemm_avx512(
    int trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
    const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    for (int64_t j = 0; j < n; j += TILE_COLS) {
        const int64_t nr = n - j < TILE_COLS ? n - j : TILE_COLS;
        const __mmask16 k0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
        const __mmask16 k1 = nr >= 32 ? (__mmask16)0xFFFF
                           : nr <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nr - 16)) - 1);
        const float *bj = b + j;
        for (int64_t i = 0; i < m; i += TILE_ROWS) {
            const int64_t mr = m - i < TILE_ROWS ? m - i : TILE_ROWS;
            const float *ai = trans_a ? a + i : a + i * lda;
            float *cij = c + i * ldc + j;
            if (trans_a)
                NNFAST_TILES(1)
            else
                NNFAST_TILES(0)
        }
    }
}

int nnfast_small_gemm_available(void)
{
    static int has = -1;      /* racy first write, always of the same value */
    if (has < 0)
        has = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return has;
}

int nnfast_small_gemm_f32(int trans_a, int64_t m, int64_t n, int64_t k, const float *a,
                          int64_t lda, const float *b, int64_t ldb, int accumulate,
                          float *c, int64_t ldc)
{
    if (!nnfast_small_gemm_available())
        return 0;
    if (m > 0 && n > 0)
        small_gemm_avx512(trans_a, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    return 1;
}

#else

int nnfast_small_gemm_available(void) { return 0; }

int nnfast_small_gemm_f32(int trans_a, int64_t m, int64_t n, int64_t k, const float *a,
                          int64_t lda, const float *b, int64_t ldb, int accumulate,
                          float *c, int64_t ldc)
{
    (void)trans_a; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb;
    (void)accumulate; (void)c; (void)ldc;
    return 0;
}

#endif

void nnfast_column_sums_f32(int64_t m, int64_t n, const float *a, int64_t lda, float *out)
{
    for (int64_t i = 0; i < m; ++i) {
        const float *restrict row = a + i * lda;
        float *restrict o = out;
        for (int64_t j = 0; j < n; ++j)
            o[j] += row[j];
    }
}
