/* See dot_gemm.h. */
#include "dot_gemm.h"
#include "small_gemm.h"
#include "gemm_avx2.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>

#define NNFAST_AVX512 __attribute__((target("avx512f,fma")))
#define NNFAST_INLINE __attribute__((always_inline)) inline

enum { DOT_ROWS = 6, DOT_COLS = 4 };
/* A block of k short enough that a tile's 6 rows of a and all of b's rows
 * (16 of them in a 16-channel layer: 32 KB at 512) stay in L1 while every
 * tile reads them. */
enum { DOT_DEPTH = 1024 };

/* The four sums of v0..v3's lanes, as one vector: halves added, then three
 * horizontal adds (13 instructions for 4 sums, against ~8 each alone). */
static NNFAST_AVX512 NNFAST_INLINE __m128 lane_sums4(__m512 v0, __m512 v1, __m512 v2,
                                                     __m512 v3)
{
#define NNFAST_HALVES(v) _mm256_add_ps(_mm512_castps512_ps256(v), \
    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
    const __m256 y0 = NNFAST_HALVES(v0), y1 = NNFAST_HALVES(v1);
    const __m256 y2 = NNFAST_HALVES(v2), y3 = NNFAST_HALVES(v3);
#undef NNFAST_HALVES
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(y0, y1), _mm256_hadd_ps(y2, y3));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

/* One tile of c: mr (<= 6) rows by nr (<= 4) columns, over k steps of p
 * (the last k % 16 by masked loads, which touch no memory past k).
 * Inlined with constant mr and nr, so the loops unroll and the mr * nr
 * accumulators live in registers. */
static NNFAST_AVX512 NNFAST_INLINE void dot_tile(
    const int mr, const int nr, int64_t k, const float *restrict a, int64_t lda,
    const float *restrict b, int64_t ldb, int accumulate, float *restrict c, int64_t ldc)
{
    __m512 acc[DOT_ROWS][DOT_COLS];
    for (int r = 0; r < DOT_ROWS; ++r)
        for (int q = 0; q < DOT_COLS; ++q)
            acc[r][q] = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 bv[DOT_COLS];
        for (int q = 0; q < nr; ++q)
            bv[q] = _mm512_loadu_ps(b + q * ldb + p);
        for (int r = 0; r < mr; ++r) {
            const __m512 av = _mm512_loadu_ps(a + r * lda + p);
            for (int q = 0; q < nr; ++q)
                acc[r][q] = _mm512_fmadd_ps(av, bv[q], acc[r][q]);
        }
    }
    if (p < k) {
        const __mmask16 tail = (__mmask16)((1u << (k - p)) - 1);
        __m512 bv[DOT_COLS];
        for (int q = 0; q < nr; ++q)
            bv[q] = _mm512_maskz_loadu_ps(tail, b + q * ldb + p);
        for (int r = 0; r < mr; ++r) {
            const __m512 av = _mm512_maskz_loadu_ps(tail, a + r * lda + p);
            for (int q = 0; q < nr; ++q)
                acc[r][q] = _mm512_fmadd_ps(av, bv[q], acc[r][q]);
        }
    }
    for (int r = 0; r < mr; ++r) {
        float sums[DOT_COLS];
        _mm_storeu_ps(sums, lane_sums4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
        float *cr = c + r * ldc;
        for (int q = 0; q < nr; ++q)
            cr[q] = accumulate ? cr[q] + sums[q] : sums[q];
    }
}

#define NNFAST_DOT(MR, NR) \
    case NR: dot_tile(MR, NR, k, a + i * lda, lda, b + j * ldb, ldb, accumulate, \
                      c + i * ldc + j, ldc); break;
#define NNFAST_DOT_ROW(MR) \
    case MR: switch (nr) { NNFAST_DOT(MR, 1) NNFAST_DOT(MR, 2) NNFAST_DOT(MR, 3) \
                           default: NNFAST_DOT(MR, 4) } break;

/* Every tile of c over one block of k: a's tile of rows outside, so that
 * its 6 rows are read from L2 once and reused by every tile of b's rows. */
static NNFAST_AVX512 void dot_block(
    int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
    int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i += DOT_ROWS) {
        const int mr = m - i < DOT_ROWS ? (int)(m - i) : DOT_ROWS;
        for (int64_t j = 0; j < n; j += DOT_COLS) {
            const int nr = n - j < DOT_COLS ? (int)(n - j) : DOT_COLS;
            switch (mr) {
                NNFAST_DOT_ROW(1) NNFAST_DOT_ROW(2) NNFAST_DOT_ROW(3)
                NNFAST_DOT_ROW(4) NNFAST_DOT_ROW(5)
                default: switch (nr) { NNFAST_DOT(6, 1) NNFAST_DOT(6, 2) NNFAST_DOT(6, 3)
                                       default: NNFAST_DOT(6, 4) }
            }
        }
    }
}

static NNFAST_AVX512 void dot_gemm_avx512(
    int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
    int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {               /* an empty sum: c := c or 0 */
        if (!accumulate)
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j)
                    c[i * ldc + j] = 0;
        return;
    }
    /* equal blocks of at most DOT_DEPTH, whole vectors but the last */
    const int64_t blocks = (k + DOT_DEPTH - 1) / DOT_DEPTH;
    const int64_t depth = ((k + blocks - 1) / blocks + 15) / 16 * 16;
    for (int64_t p = 0; p < k; p += depth)
        dot_block(m, n, k - p < depth ? k - p : depth, a + p, lda, b + p, ldb,
                  accumulate || p > 0, c, ldc);
}

int nnfast_dot_gemm_f32(int isa, int64_t m, int64_t n, int64_t k, const float *a,
                        int64_t lda, const float *b, int64_t ldb, int accumulate, float *c,
                        int64_t ldc)
{
    if (isa > nnfast_gemm_isa())
        isa = nnfast_gemm_isa();
    if (isa == NNFAST_GEMM_AVX512)
        dot_gemm_avx512(m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    else if (isa == NNFAST_GEMM_AVX2)
        nnfast_dot_gemm_avx2_f32(m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    return isa > NNFAST_GEMM_NONE ? isa : NNFAST_GEMM_NONE;
}

int nnfast_dot_gemm_rows_f32(int isa, int64_t m, int64_t n, int64_t k,
                             const float *const *a_rows, const float *b, int64_t ldb,
                             int accumulate, float *c, int64_t ldc)
{
    /* AVX2 only so far, as small_gemm_rows */
    if (isa < NNFAST_GEMM_AVX2 || !nnfast_gemm_avx2_available())
        return NNFAST_GEMM_NONE;
    nnfast_dot_gemm_rows_avx2_f32(m, n, k, a_rows, b, ldb, accumulate, c, ldc);
    return NNFAST_GEMM_AVX2;
}

#else

int nnfast_dot_gemm_rows_f32(int isa, int64_t m, int64_t n, int64_t k,
                             const float *const *a_rows, const float *b, int64_t ldb,
                             int accumulate, float *c, int64_t ldc)
{
    (void)isa; (void)m; (void)n; (void)k; (void)a_rows; (void)b; (void)ldb;
    (void)accumulate; (void)c; (void)ldc;
    return 0;
}

int nnfast_dot_gemm_f32(int isa, int64_t m, int64_t n, int64_t k, const float *a,
                        int64_t lda, const float *b, int64_t ldb, int accumulate, float *c,
                        int64_t ldc)
{
    (void)isa; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb;
    (void)accumulate; (void)c; (void)ldc;
    return 0;
}

#endif
