/* See small_gemm.h. */
#include "small_gemm.h"
#include "gemm_avx2.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>

#define NNFAST_AVX512 __attribute__((target("avx512f,fma")))
#define NNFAST_INLINE __attribute__((always_inline)) inline

enum { TILE_ROWS = 8, TILE_COLS = 32, AHEAD = 16 };
/* The wide tile, for each full panel of 64 columns: 6 rows x 64 columns,
 * 24 accumulators, 4 loads of b and 6 broadcasts of A per 24 FMAs (the 8 x
 * 32 tile: 2 and 8 per 16). Alone on one thread (a C loop, best of 7):
 * 187-196 GFLOP/s in L1 against 171-173, the backward step's (16, 512) @
 * (512, 128) 175-177 against 165-170, a weight gradient's (512, 800) @
 * (800, 128) with A transposed 157-160 against 145-147. */
enum { WIDE_ROWS = 6, WIDE_COLS = 64 };

/* One tile of c: mr (<= 8) rows, the columns that masks k0 (first 16) and
 * k1 (next 16) select (all 32 if ``full``). Inlined with constant trans_a,
 * mr and full, so that the row loops unroll and the 2*mr accumulators live
 * in registers. Masked
 * loads and stores touch no memory outside the selected columns. */
static NNFAST_AVX512 NNFAST_INLINE void tile(
    const int trans_a, const int mr, const int full, int64_t k, const float *restrict a,
    int64_t lda, const float *restrict b, int64_t ldb, __mmask16 k0, __mmask16 k1,
    int accumulate, float *restrict c, int64_t ldc)
{
    __m512 c0[TILE_ROWS], c1[TILE_ROWS];
    for (int r = 0; r < mr; ++r) {
        c0[r] = _mm512_setzero_ps();
        c1[r] = _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < k; ++p) {
        /* A transposed: each step of p reads one new line of A, lda apart,
         * which the hardware prefetcher did not fetch in time (perf: a
         * sixth of a weight gradient's time on that load); fetch the line
         * AHEAD steps on (a prefetch past the end of A is harmless). */
        if (trans_a)
            _mm_prefetch((const char *)(a + (p + AHEAD) * lda), _MM_HINT_T0);
        /* a full tile (32 columns) loads b unmasked: with the masks, GCC
         * reloaded the mask registers from the stack on every step */
        const __m512 b0 = full ? _mm512_loadu_ps(b + p * ldb)
                               : _mm512_maskz_loadu_ps(k0, b + p * ldb);
        const __m512 b1 = full ? _mm512_loadu_ps(b + p * ldb + 16)
                               : _mm512_maskz_loadu_ps(k1, b + p * ldb + 16);
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

/* One wide tile of c: mr (<= 6) rows, 64 columns, none masked; inlined
 * with constant trans_a and mr, as ``tile``. */
static NNFAST_AVX512 NNFAST_INLINE void wide_tile(
    const int trans_a, const int mr, int64_t k, const float *restrict a, int64_t lda,
    const float *restrict b, int64_t ldb, int accumulate, float *restrict c, int64_t ldc)
{
    __m512 acc[WIDE_ROWS][4];
    for (int r = 0; r < mr; ++r)
        for (int q = 0; q < 4; ++q)
            acc[r][q] = _mm512_setzero_ps();
    for (int64_t p = 0; p < k; ++p) {
        if (trans_a)
            _mm_prefetch((const char *)(a + (p + AHEAD) * lda), _MM_HINT_T0);
        const float *bp = b + p * ldb;
        const __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
        const __m512 b2 = _mm512_loadu_ps(bp + 32), b3 = _mm512_loadu_ps(bp + 48);
        for (int r = 0; r < mr; ++r) {
            const __m512 av = _mm512_set1_ps(trans_a ? a[p * lda + r] : a[r * lda + p]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);
        }
    }
    for (int r = 0; r < mr; ++r)
        for (int q = 0; q < 4; ++q) {
            float *cq = c + r * ldc + 16 * q;
            _mm512_storeu_ps(cq, accumulate ? _mm512_add_ps(acc[r][q], _mm512_loadu_ps(cq))
                                            : acc[r][q]);
        }
}
/* The narrow tile, for the last columns of c when at most 16 are left (a
 * weight gradient's (channels * kernel_h * kernel_w, 16) of a 16-channel
 * convolution): NARROW_ROWS rows x one vector of 16 columns, 24 accumulators.
 * The 8 x 32 tile spent half its FMAs on the masked-off half there. */
enum { NARROW_ROWS = 24 };

/* One narrow tile of c: mr (<= 24) rows, the columns that mask k0 selects
 * (all 16 if ``full``); inlined with constant trans_a, mr and full. */
static NNFAST_AVX512 NNFAST_INLINE void narrow_tile(
    const int trans_a, const int mr, const int full, int64_t k, const float *restrict a,
    int64_t lda, const float *restrict b, int64_t ldb, __mmask16 k0, int accumulate,
    float *restrict c, int64_t ldc)
{
    __m512 acc[NARROW_ROWS];
    for (int r = 0; r < mr; ++r)
        acc[r] = _mm512_setzero_ps();
    for (int64_t p = 0; p < k; ++p) {
        if (trans_a)
            _mm_prefetch((const char *)(a + (p + AHEAD) * lda), _MM_HINT_T0);
        const __m512 b0 = full ? _mm512_loadu_ps(b + p * ldb)
                               : _mm512_maskz_loadu_ps(k0, b + p * ldb);
        for (int r = 0; r < mr; ++r)
            acc[r] = _mm512_fmadd_ps(
                _mm512_set1_ps(trans_a ? a[p * lda + r] : a[r * lda + p]), b0, acc[r]);
    }
    for (int r = 0; r < mr; ++r) {
        if (accumulate)
            acc[r] = _mm512_add_ps(acc[r], _mm512_maskz_loadu_ps(k0, c + r * ldc));
        _mm512_mask_storeu_ps(c + r * ldc, k0, acc[r]);
    }
}
#define NNFAST_NARROW(TA, MR, FULL) \
    narrow_tile(TA, MR, FULL, k, ai, lda, bj, ldb, k0, accumulate, cij, ldc)
/* The narrow tiles of c's rows [i, m) at column j (n - j <= 16): as many
 * 24-row tiles as fit, then the rest in tiles of 16, 8, 4, 2 and 1 rows, so
 * that each size is one inlined copy. */
static NNFAST_AVX512 NNFAST_INLINE void narrow_from(
    const int trans_a, const int full, int64_t i, int64_t j, int64_t m, int64_t n,
    int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb, int accumulate,
    float *c, int64_t ldc)
{
    const __mmask16 k0 = (__mmask16)((1u << (n - j)) - 1);
    const float *bj = b + j;
    while (i < m) {
        const float *ai = trans_a ? a + i : a + i * lda;
        float *cij = c + i * ldc + j;
        const int64_t left = m - i;
        int64_t mr;
        if (left >= 24) { NNFAST_NARROW(trans_a, 24, full); mr = 24; }
        else if (left >= 16) { NNFAST_NARROW(trans_a, 16, full); mr = 16; }
        else if (left >= 8) { NNFAST_NARROW(trans_a, 8, full); mr = 8; }
        else if (left >= 4) { NNFAST_NARROW(trans_a, 4, full); mr = 4; }
        else if (left >= 2) { NNFAST_NARROW(trans_a, 2, full); mr = 2; }
        else { NNFAST_NARROW(trans_a, 1, full); mr = 1; }
        i += mr;
    }
}
/* narrow_from with trans_a and full constant, for each of their values. */
static NNFAST_AVX512 void narrow_columns(
    int trans_a, int64_t j, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
    const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    const int full = n - j == 16;
    if (trans_a && full)
        narrow_from(1, 1, 0, j, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    else if (trans_a)
        narrow_from(1, 0, 0, j, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    else if (full)
        narrow_from(0, 1, 0, j, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    else
        narrow_from(0, 0, 0, j, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}
#define NNFAST_WIDE(TA, MR) \
    case MR: wide_tile(TA, MR, k, ai, lda, bj, ldb, accumulate, cij, ldc); break;
/* The wide tile of c at row i, column j (j + 64 <= n; its rows cut at m). */
static NNFAST_AVX512 NNFAST_INLINE void wide_at(
    int trans_a, int64_t i, int64_t j, int64_t m, int64_t k, const float *a, int64_t lda,
    const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    const int64_t mr = m - i < WIDE_ROWS ? m - i : WIDE_ROWS;
    const float *bj = b + j;
    const float *ai = trans_a ? a + i : a + i * lda;
    float *cij = c + i * ldc + j;
    if (trans_a)
        switch (mr) { NNFAST_WIDE(1, 1) NNFAST_WIDE(1, 2) NNFAST_WIDE(1, 3) NNFAST_WIDE(1, 4)
                      NNFAST_WIDE(1, 5) default: NNFAST_WIDE(1, 6) }
    else
        switch (mr) { NNFAST_WIDE(0, 1) NNFAST_WIDE(0, 2) NNFAST_WIDE(0, 3) NNFAST_WIDE(0, 4)
                      NNFAST_WIDE(0, 5) default: NNFAST_WIDE(0, 6) }
}
#define NNFAST_TILE(TA, MR, FULL) \
    case MR: tile(TA, MR, FULL, k, ai, lda, bj, ldb, k0, k1, accumulate, cij, ldc); break;
#define NNFAST_TILES(TA, FULL) \
    switch (mr) { NNFAST_TILE(TA, 1, FULL) NNFAST_TILE(TA, 2, FULL) NNFAST_TILE(TA, 3, FULL) \
                  NNFAST_TILE(TA, 4, FULL) NNFAST_TILE(TA, 5, FULL) NNFAST_TILE(TA, 6, FULL) \
                  NNFAST_TILE(TA, 7, FULL) default: NNFAST_TILE(TA, 8, FULL) }

/* The tile of c at row i, column j (its edges masked or cut). */
static NNFAST_AVX512 NNFAST_INLINE void tile_at(
    int trans_a, int64_t i, int64_t j, int64_t m, int64_t n, int64_t k, const float *a,
    int64_t lda, const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    const int64_t nr = n - j < TILE_COLS ? n - j : TILE_COLS;
    const int64_t mr = m - i < TILE_ROWS ? m - i : TILE_ROWS;
    const __mmask16 k0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 k1 = nr >= 32 ? (__mmask16)0xFFFF
                       : nr <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nr - 16)) - 1);
    const float *bj = b + j;
    const float *ai = trans_a ? a + i : a + i * lda;
    float *cij = c + i * ldc + j;
    if (trans_a && nr == TILE_COLS)
        NNFAST_TILES(1, 1)
    else if (trans_a)
        NNFAST_TILES(1, 0)
    else if (nr == TILE_COLS)
        NNFAST_TILES(0, 1)
    else
        NNFAST_TILES(0, 0)
}

/* Blocks of DEPTH steps of k outside (c accumulates over them), then the
 * tiles of c in the order that reuses the operand read worst:
 *
 * - A as it lies (trans_a = 0, the step GEMMs): column panels outside, row
 *   tiles inside, so that a panel of b (DEPTH rows of 128 bytes, 32 KB; of
 *   256 bytes for the wide tiles, which measured no faster with DEPTH 128)
 *   stays near while every row tile reads it;
 * - A transposed (the weight gradients, A = the gate gradients (k, m)):
 *   row tiles outside, so that the tile's 32 (24) bytes of each of A's DEPTH
 *   rows, 2 KB apart (a line each), are read from memory once and reused by
 *   every panel of b, whose rows stream in order.
 *
 * lstm-seq's weight gradients inside a training step, one thread: without
 * the blocks and in panel order, a third of the kernel's time was the
 * first load of A's lines (perf annotate); the whole step took 15.2 ms
 * against 13.5 on BLAS. */
enum { DEPTH = 256 };

static NNFAST_AVX512 void block(
    int trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
    const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    /* full 64-column panels in wide tiles, the columns after them in 8 x 32 tiles */
    const int64_t wide_n = n / WIDE_COLS * WIDE_COLS;
    /* the 8 x 32 tiles stop where at most 16 columns are left: those go
     * to the narrow tiles */
    const int64_t rest = (n - wide_n) % TILE_COLS;
    const int64_t tile_n = rest != 0 && rest <= 16 ? n - rest : n;
    if (trans_a) {
        for (int64_t i = 0; i < m; i += WIDE_ROWS)
            for (int64_t j = 0; j < wide_n; j += WIDE_COLS)
                wide_at(1, i, j, m, k, a, lda, b, ldb, accumulate, c, ldc);
        for (int64_t i = 0; wide_n < tile_n && i < m; i += TILE_ROWS)
            for (int64_t j = wide_n; j < tile_n; j += TILE_COLS)
                tile_at(1, i, j, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    } else {
        for (int64_t j = 0; j < wide_n; j += WIDE_COLS)
            for (int64_t i = 0; i < m; i += WIDE_ROWS)
                wide_at(0, i, j, m, k, a, lda, b, ldb, accumulate, c, ldc);
        for (int64_t j = wide_n; j < tile_n; j += TILE_COLS)
            for (int64_t i = 0; i < m; i += TILE_ROWS)
                tile_at(0, i, j, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    }
    if (tile_n < n)
        narrow_columns(trans_a, tile_n, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}
static NNFAST_AVX512 void small_gemm_avx512(
    int trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
    const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    if (k == 0) {                       /* an empty sum: c := c or 0 */
        block(trans_a, m, n, 0, a, lda, b, ldb, accumulate, c, ldc);
        return;
    }
    for (int64_t p = 0; p < k; p += DEPTH) {
        const int64_t depth = k - p < DEPTH ? k - p : DEPTH;
        block(trans_a, m, n, depth, trans_a ? a + p * lda : a + p, lda, b + p * ldb, ldb,
              accumulate || p > 0, c, ldc);
    }
}

static int avx512_available(void)
{
    static int has = -1;      /* racy first write, always of the same value */
    if (has < 0)
        has = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return has;
}

int nnfast_gemm_isa(void)
{
    return avx512_available() ? NNFAST_GEMM_AVX512
         : nnfast_gemm_avx2_available() ? NNFAST_GEMM_AVX2 : NNFAST_GEMM_NONE;
}

int nnfast_small_gemm_f32(int isa, int trans_a, int64_t m, int64_t n, int64_t k,
                          const float *a, int64_t lda, const float *b, int64_t ldb,
                          int accumulate, float *c, int64_t ldc)
{
    if (isa > nnfast_gemm_isa())
        isa = nnfast_gemm_isa();
    if (isa == NNFAST_GEMM_AVX512) {
        if (m > 0 && n > 0)
            small_gemm_avx512(trans_a, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    } else if (isa == NNFAST_GEMM_AVX2) {
        nnfast_small_gemm_avx2_f32(trans_a, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    }
    return isa > NNFAST_GEMM_NONE ? isa : NNFAST_GEMM_NONE;
}

int nnfast_small_gemm_rows_f32(int isa, int64_t m, int64_t n, int64_t k, const float *a,
                               int64_t lda, const float *const *b_rows, int accumulate,
                               float *c, int64_t ldc)
{
    /* AVX2 only so far: an AVX-512 CPU runs it in AVX2 */
    if (isa < NNFAST_GEMM_AVX2 || !nnfast_gemm_avx2_available())
        return NNFAST_GEMM_NONE;
    nnfast_small_gemm_rows_avx2_f32(m, n, k, a, lda, b_rows, accumulate, c, ldc);
    return NNFAST_GEMM_AVX2;
}

#else

int nnfast_gemm_isa(void) { return NNFAST_GEMM_NONE; }

int nnfast_small_gemm_rows_f32(int isa, int64_t m, int64_t n, int64_t k, const float *a,
                               int64_t lda, const float *const *b_rows, int accumulate,
                               float *c, int64_t ldc)
{
    (void)isa; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b_rows;
    (void)accumulate; (void)c; (void)ldc;
    return NNFAST_GEMM_NONE;
}

int nnfast_small_gemm_f32(int isa, int trans_a, int64_t m, int64_t n, int64_t k,
                          const float *a, int64_t lda, const float *b, int64_t ldb,
                          int accumulate, float *c, int64_t ldc)
{
    (void)isa; (void)trans_a; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b;
    (void)ldb; (void)accumulate; (void)c; (void)ldc;
    return NNFAST_GEMM_NONE;
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
