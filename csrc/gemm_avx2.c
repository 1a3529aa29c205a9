/* small_gemm and dot_gemm in AVX2 with FMA (see gemm_avx2.h, small_gemm.h
 * and dot_gemm.h).
 *
 * small_gemm's tiles of c: 6 rows x 16 columns (two vectors, 12 accumulators: per step
 * of p, 2 loads of b and 6 broadcasts of A for 12 FMAs, the classic shape
 * for 16 registers), and for the last 8 columns or fewer 12 rows x one
 * vector (12 accumulators), so that a 16- or 8-column c wastes no FMA on
 * masked-off lanes. Blocks of DEPTH steps of k and the tile order are
 * those of the AVX-512 kernel, for the same reasons (small_gemm.c). */
#include "gemm_avx2.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>

#define NNFAST_AVX2 __attribute__((target("avx2,fma")))
#define NNFAST_INLINE __attribute__((always_inline)) inline

enum { TILE_ROWS = 6, TILE_COLS = 16, NARROW_ROWS = 12, AHEAD = 16, DEPTH = 256 };
/* The quad tile, 4 rows x 24 columns (three vectors, 12 accumulators: 3
 * loads of b and 4 broadcasts per 12 FMAs), for an m up to 32 that 4
 * divides and 6 does not: a convolution's 16 or 32 output channels, which
 * the 6-row tiles leave a tile of 4 or 2 rows (8 and 4 accumulators, too
 * few to hide the FMA latency). */
enum { QUAD_ROWS = 4, QUAD_COLS = 24 };

/* lanes_from + 8 - n: the first n of 8 lanes on (AVX2 masks are vectors) */
static const int32_t lanes_from[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static NNFAST_AVX2 NNFAST_INLINE __m256i first_lanes(int64_t n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(lanes_from + 8 - n));
}

/* A(r, p): a[r*lda + p], or a[p*lda + r] if trans_a, broadcast */
#define NNFAST_A(r) _mm256_broadcast_ss(trans_a ? a + p * lda + (r) : a + (r) * lda + p)
/* Row p of B from column j on: b + p*ldb (b already at column j), or
 * rows[p] + j where B is given by its rows (small_gemm_rows). */
#define NNFAST_B_ROW(p) (by_rows ? rows[p] + j : b + (p) * ldb)

/* One tile of c: mr (<= 6) rows, the columns that m0 (first 8) and m1
 * (next 8) select, all 16 if ``full``. Inlined with constant trans_a,
 * by_rows, mr and full, so that the loops unroll and the accumulators stay
 * in registers; masked loads and stores touch no memory outside the
 * selected columns. */
static NNFAST_AVX2 NNFAST_INLINE void tile(
    const int trans_a, const int by_rows, const int mr, const int full, int64_t k,
    const float *restrict a, int64_t lda, const float *restrict b, int64_t ldb,
    const float *const *rows, int64_t j, __m256i m0, __m256i m1, int accumulate,
    float *restrict c, int64_t ldc)
{
    __m256 c0[TILE_ROWS], c1[TILE_ROWS];
    for (int r = 0; r < mr; ++r) {
        c0[r] = _mm256_setzero_ps();
        c1[r] = _mm256_setzero_ps();
    }
    for (int64_t p = 0; p < k; ++p) {
        if (trans_a)    /* one new line of A per step: fetch it ahead (small_gemm.c) */
            _mm_prefetch((const char *)(a + (p + AHEAD) * lda), _MM_HINT_T0);
        const float *bp = NNFAST_B_ROW(p);
        const __m256 b0 = full ? _mm256_loadu_ps(bp) : _mm256_maskload_ps(bp, m0);
        const __m256 b1 = full ? _mm256_loadu_ps(bp + 8) : _mm256_maskload_ps(bp + 8, m1);
        for (int r = 0; r < mr; ++r) {
            const __m256 av = NNFAST_A(r);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
    for (int r = 0; r < mr; ++r) {
        float *cr = c + r * ldc;
        if (full) {
            if (accumulate) {
                c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(cr));
                c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(cr + 8));
            }
            _mm256_storeu_ps(cr, c0[r]);
            _mm256_storeu_ps(cr + 8, c1[r]);
        } else {
            if (accumulate) {
                c0[r] = _mm256_add_ps(c0[r], _mm256_maskload_ps(cr, m0));
                c1[r] = _mm256_add_ps(c1[r], _mm256_maskload_ps(cr + 8, m1));
            }
            _mm256_maskstore_ps(cr, m0, c0[r]);
            _mm256_maskstore_ps(cr + 8, m1, c1[r]);
        }
    }
}

/* One quad tile of c: 4 rows, the columns that m0, m1, m2 select (8
 * each), all 24 if ``full``; inlined with constant trans_a, by_rows and
 * full, as ``tile``. */
static NNFAST_AVX2 NNFAST_INLINE void quad_tile(
    const int trans_a, const int by_rows, const int full, int64_t k, const float *restrict a,
    int64_t lda, const float *restrict b, int64_t ldb, const float *const *rows, int64_t j,
    __m256i m0, __m256i m1, __m256i m2, int accumulate, float *restrict c, int64_t ldc)
{
    __m256 acc[QUAD_ROWS][3];
    for (int r = 0; r < QUAD_ROWS; ++r)
        for (int q = 0; q < 3; ++q)
            acc[r][q] = _mm256_setzero_ps();
    for (int64_t p = 0; p < k; ++p) {
        if (trans_a)
            _mm_prefetch((const char *)(a + (p + AHEAD) * lda), _MM_HINT_T0);
        const float *bp = NNFAST_B_ROW(p);
        const __m256 b0 = full ? _mm256_loadu_ps(bp) : _mm256_maskload_ps(bp, m0);
        const __m256 b1 = full ? _mm256_loadu_ps(bp + 8) : _mm256_maskload_ps(bp + 8, m1);
        const __m256 b2 = full ? _mm256_loadu_ps(bp + 16) : _mm256_maskload_ps(bp + 16, m2);
        for (int r = 0; r < QUAD_ROWS; ++r) {
            const __m256 av = NNFAST_A(r);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
            acc[r][2] = _mm256_fmadd_ps(av, b2, acc[r][2]);
        }
    }
    const __m256i masks[3] = {m0, m1, m2};
    for (int r = 0; r < QUAD_ROWS; ++r)
        for (int q = 0; q < 3; ++q) {
            float *cq = c + r * ldc + 8 * q;
            if (full) {
                _mm256_storeu_ps(cq, accumulate ? _mm256_add_ps(acc[r][q], _mm256_loadu_ps(cq))
                                                : acc[r][q]);
            } else {
                if (accumulate)
                    acc[r][q] = _mm256_add_ps(acc[r][q], _mm256_maskload_ps(cq, masks[q]));
                _mm256_maskstore_ps(cq, masks[q], acc[r][q]);
            }
        }
}

/* One narrow tile of c: mr (<= 12) rows, the columns m0 selects (all 8 if
 * ``full``); inlined with constant trans_a, by_rows, mr and full, as
 * ``tile``. */
static NNFAST_AVX2 NNFAST_INLINE void narrow_tile(
    const int trans_a, const int by_rows, const int mr, const int full, int64_t k,
    const float *restrict a, int64_t lda, const float *restrict b, int64_t ldb,
    const float *const *rows, int64_t j, __m256i m0, int accumulate, float *restrict c,
    int64_t ldc)
{
    __m256 acc[NARROW_ROWS];
    for (int r = 0; r < mr; ++r)
        acc[r] = _mm256_setzero_ps();
    for (int64_t p = 0; p < k; ++p) {
        if (trans_a)
            _mm_prefetch((const char *)(a + (p + AHEAD) * lda), _MM_HINT_T0);
        const float *bp = NNFAST_B_ROW(p);
        const __m256 b0 = full ? _mm256_loadu_ps(bp) : _mm256_maskload_ps(bp, m0);
        for (int r = 0; r < mr; ++r)
            acc[r] = _mm256_fmadd_ps(NNFAST_A(r), b0, acc[r]);
    }
    for (int r = 0; r < mr; ++r) {
        float *cr = c + r * ldc;
        if (full) {
            if (accumulate)
                acc[r] = _mm256_add_ps(acc[r], _mm256_loadu_ps(cr));
            _mm256_storeu_ps(cr, acc[r]);
        } else {
            if (accumulate)
                acc[r] = _mm256_add_ps(acc[r], _mm256_maskload_ps(cr, m0));
            _mm256_maskstore_ps(cr, m0, acc[r]);
        }
    }
}
#undef NNFAST_B_ROW
#undef NNFAST_A

#define NNFAST_NARROW(TA, MR, FULL) \
    narrow_tile(TA, by_rows, MR, FULL, k, ai, lda, bj, ldb, rows, j, m0, accumulate, cij, ldc)
/* The narrow tiles of c's rows [0, m) at column j (n - j <= 8): as many
 * 12-row tiles as fit, then the rest in tiles of 8, 4, 2 and 1 rows, each
 * size one inlined copy. */
static NNFAST_AVX2 NNFAST_INLINE void narrow_from(
    const int trans_a, const int by_rows, const int full, int64_t j, int64_t m, int64_t n,
    int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
    const float *const *rows, int accumulate, float *c, int64_t ldc)
{
    const __m256i m0 = first_lanes(n - j);
    const float *bj = by_rows ? NULL : b + j;
    for (int64_t i = 0; i < m;) {
        const float *ai = trans_a ? a + i : a + i * lda;
        float *cij = c + i * ldc + j;
        const int64_t left = m - i;
        int64_t mr;
        if (left >= 12) { NNFAST_NARROW(trans_a, 12, full); mr = 12; }
        else if (left >= 8) { NNFAST_NARROW(trans_a, 8, full); mr = 8; }
        else if (left >= 4) { NNFAST_NARROW(trans_a, 4, full); mr = 4; }
        else if (left >= 2) { NNFAST_NARROW(trans_a, 2, full); mr = 2; }
        else { NNFAST_NARROW(trans_a, 1, full); mr = 1; }
        i += mr;
    }
}
#undef NNFAST_NARROW

#define NNFAST_TILE(TA, MR, FULL) \
    case MR: tile(TA, by_rows, MR, FULL, k, ai, lda, bj, ldb, rows, j, m0, m1, accumulate, \
                  cij, ldc); break;
#define NNFAST_TILES(TA, FULL) \
    switch (mr) { NNFAST_TILE(TA, 1, FULL) NNFAST_TILE(TA, 2, FULL) NNFAST_TILE(TA, 3, FULL) \
                  NNFAST_TILE(TA, 4, FULL) NNFAST_TILE(TA, 5, FULL) \
                  default: NNFAST_TILE(TA, 6, FULL) }

/* The tile of c at row i, column j (its edges masked or cut). */
static NNFAST_AVX2 NNFAST_INLINE void tile_at(
    const int trans_a, const int by_rows, int64_t i, int64_t j, int64_t m, int64_t n,
    int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
    const float *const *rows, int accumulate, float *c, int64_t ldc)
{
    const int64_t nr = n - j < TILE_COLS ? n - j : TILE_COLS;
    const int64_t mr = m - i < TILE_ROWS ? m - i : TILE_ROWS;
    const __m256i m0 = first_lanes(nr), m1 = first_lanes(nr - 8);
    const float *bj = by_rows ? NULL : b + j;
    const float *ai = trans_a ? a + i : a + i * lda;
    float *cij = c + i * ldc + j;
    if (nr == TILE_COLS)
        NNFAST_TILES(trans_a, 1)
    else
        NNFAST_TILES(trans_a, 0)
}
#undef NNFAST_TILES
#undef NNFAST_TILE

/* The quad tile of c at row i (i + 4 <= m), column j (its columns masked
 * at the edge). */
static NNFAST_AVX2 NNFAST_INLINE void quad_at(
    const int trans_a, const int by_rows, int64_t i, int64_t j, int64_t n, int64_t k,
    const float *a, int64_t lda, const float *b, int64_t ldb, const float *const *rows,
    int accumulate, float *c, int64_t ldc)
{
    const int64_t nr = n - j < QUAD_COLS ? n - j : QUAD_COLS;
    const float *bj = by_rows ? NULL : b + j;
    const float *ai = trans_a ? a + i : a + i * lda;
    const float *const *ri = rows;
    float *cij = c + i * ldc + j;
    if (nr == QUAD_COLS)
        quad_tile(trans_a, by_rows, 1, k, ai, lda, bj, ldb, ri, j, first_lanes(8),
                  first_lanes(8), first_lanes(8), accumulate, cij, ldc);
    else
        quad_tile(trans_a, by_rows, 0, k, ai, lda, bj, ldb, ri, j, first_lanes(nr),
                  first_lanes(nr - 8), first_lanes(nr - 16), accumulate, cij, ldc);
}

/* Every tile of c over one block of k, in small_gemm.c's order: column
 * panels outside for a plain A, row tiles outside for a transposed one.
 * Inlined with constant trans_a and by_rows (block_of below). */
static NNFAST_AVX2 NNFAST_INLINE void block(
    const int trans_a, const int by_rows, int64_t m, int64_t n, int64_t k, const float *a,
    int64_t lda, const float *b, int64_t ldb, const float *const *rows, int accumulate,
    float *c, int64_t ldc)
{
    /* the 16- (24-) column tiles stop where at most 8 columns are left:
     * those go to the narrow tiles */
    /* quads for m = 32 (one thread, B read in place, k = 288: 57.7 and 72.3
     * GFLOP/s in 6-row tiles, 77.3 and 77.0 in quads, alternated runs) and
     * 16 (54-69 against 68-71); m = 64 loses a little (80-81 against 82) */
    const int quads = m % TILE_ROWS != 0 && m % QUAD_ROWS == 0 && m <= 32;
    const int64_t cols = quads ? QUAD_COLS : TILE_COLS;
    const int64_t rest = n % cols;
    const int64_t tile_n = rest != 0 && rest <= 8 ? n - rest : n;
    if (quads && trans_a) {
        for (int64_t i = 0; i < m; i += QUAD_ROWS)
            for (int64_t j = 0; j < tile_n; j += QUAD_COLS)
                quad_at(1, by_rows, i, j, n, k, a, lda, b, ldb, rows, accumulate, c, ldc);
    } else if (quads) {
        for (int64_t j = 0; j < tile_n; j += QUAD_COLS)
            for (int64_t i = 0; i < m; i += QUAD_ROWS)
                quad_at(0, by_rows, i, j, n, k, a, lda, b, ldb, rows, accumulate, c, ldc);
    } else if (trans_a) {
        for (int64_t i = 0; i < m; i += TILE_ROWS)
            for (int64_t j = 0; j < tile_n; j += TILE_COLS)
                tile_at(1, by_rows, i, j, m, n, k, a, lda, b, ldb, rows, accumulate, c, ldc);
    } else {
        for (int64_t j = 0; j < tile_n; j += TILE_COLS)
            for (int64_t i = 0; i < m; i += TILE_ROWS)
                tile_at(0, by_rows, i, j, m, n, k, a, lda, b, ldb, rows, accumulate, c, ldc);
    }
    if (tile_n < n) {
        if (n - tile_n == 8)
            narrow_from(trans_a, by_rows, 1, tile_n, m, n, k, a, lda, b, ldb, rows,
                        accumulate, c, ldc);
        else
            narrow_from(trans_a, by_rows, 0, tile_n, m, n, k, a, lda, b, ldb, rows,
                        accumulate, c, ldc);
    }
}

/* block for each (trans_a, by_rows) the entry points use: A transposed,
 * A plain, A plain with B by its rows. */
static NNFAST_AVX2 void block_of(
    int trans_a, int by_rows, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
    const float *b, int64_t ldb, const float *const *rows, int accumulate, float *c,
    int64_t ldc)
{
    if (by_rows)
        block(0, 1, m, n, k, a, lda, NULL, 0, rows, accumulate, c, ldc);
    else if (trans_a)
        block(1, 0, m, n, k, a, lda, b, ldb, NULL, accumulate, c, ldc);
    else
        block(0, 0, m, n, k, a, lda, b, ldb, NULL, accumulate, c, ldc);
}

/* Blocks of DEPTH steps of k (c accumulating over them). */
static NNFAST_AVX2 void small_gemm_blocks(
    int trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
    const float *b, int64_t ldb, const float *const *rows, int accumulate, float *c,
    int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {                       /* an empty sum: c := c or 0 */
        block_of(trans_a, rows != NULL, m, n, 0, a, lda, b, ldb, rows, accumulate, c, ldc);
        return;
    }
    for (int64_t p = 0; p < k; p += DEPTH) {
        const int64_t depth = k - p < DEPTH ? k - p : DEPTH;
        block_of(trans_a, rows != NULL, m, n, depth, trans_a ? a + p * lda : a + p, lda,
                 rows ? NULL : b + p * ldb, ldb, rows ? rows + p : NULL,
                 accumulate || p > 0, c, ldc);
    }
}

NNFAST_AVX2 void nnfast_small_gemm_avx2_f32(
    int trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
    const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    small_gemm_blocks(trans_a, m, n, k, a, lda, b, ldb, NULL, accumulate, c, ldc);
}

NNFAST_AVX2 void nnfast_small_gemm_rows_avx2_f32(
    int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
    const float *const *b_rows, int accumulate, float *c, int64_t ldc)
{
    small_gemm_blocks(0, m, n, k, a, lda, NULL, 0, b_rows, accumulate, c, ldc);
}

/* -- dot_gemm: c (+)= a @ b.T ------------------------------------------------
 *
 * Tiles of 3 rows of a by 4 rows of b, 12 accumulators of 8 partial sums
 * over p (7 loads per 12 FMAs), reduced once per block of k. */
enum { DOT_ROWS = 3, DOT_COLS = 4 };
/* 3 rows of a and b's rows (16 of them in a 16-channel layer: 32 KB)
 * near while every tile of the block reads them */
enum { DOT_DEPTH = 512 };

/* The four sums of v0..v3's lanes, as one vector: three horizontal adds
 * and one of the halves. */
static NNFAST_AVX2 NNFAST_INLINE __m128 lane_sums4(__m256 v0, __m256 v1, __m256 v2, __m256 v3)
{
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

/* Row r of a's tile at step p: a + r*lda + p, or a_rows[r] + p where a is
 * given by its rows (dot_gemm_rows); a_rows already at the tile's first
 * row and a at the block's first step (a_rows' steps offset by p0). */
#define NNFAST_A_ROW(r) (by_rows ? a_rows[r] + p0 + p : a + (r) * lda + p)

/* One tile of c: mr (<= 3) rows by nr (<= 4) columns over k steps of p
 * (the last k % 8 by masked loads, which touch no memory past k);
 * inlined with constant by_rows, mr and nr. */
static NNFAST_AVX2 NNFAST_INLINE void dot_tile(
    const int by_rows, const int mr, const int nr, int64_t k, const float *restrict a,
    int64_t lda, const float *const *a_rows, int64_t p0, const float *restrict b,
    int64_t ldb, int accumulate, float *restrict c, int64_t ldc)
{
    __m256 acc[DOT_ROWS][DOT_COLS];
    for (int r = 0; r < DOT_ROWS; ++r)
        for (int q = 0; q < DOT_COLS; ++q)
            acc[r][q] = _mm256_setzero_ps();
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
        __m256 bv[DOT_COLS];
        for (int q = 0; q < nr; ++q)
            bv[q] = _mm256_loadu_ps(b + q * ldb + p);
        for (int r = 0; r < mr; ++r) {
            const __m256 av = _mm256_loadu_ps(NNFAST_A_ROW(r));
            for (int q = 0; q < nr; ++q)
                acc[r][q] = _mm256_fmadd_ps(av, bv[q], acc[r][q]);
        }
    }
    if (p < k) {
        const __m256i tail = first_lanes(k - p);
        __m256 bv[DOT_COLS];
        for (int q = 0; q < nr; ++q)
            bv[q] = _mm256_maskload_ps(b + q * ldb + p, tail);
        for (int r = 0; r < mr; ++r) {
            const __m256 av = _mm256_maskload_ps(NNFAST_A_ROW(r), tail);
            for (int q = 0; q < nr; ++q)
                acc[r][q] = _mm256_fmadd_ps(av, bv[q], acc[r][q]);
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
#undef NNFAST_A_ROW

#define NNFAST_DOT(MR, NR) \
    case NR: dot_tile(by_rows, MR, NR, k, by_rows ? NULL : a + i * lda, lda, \
                      by_rows ? a_rows + i : NULL, p0, b + j * ldb, ldb, accumulate, \
                      c + i * ldc + j, ldc); break;
#define NNFAST_DOT_ROW(MR) \
    switch (nr) { NNFAST_DOT(MR, 1) NNFAST_DOT(MR, 2) NNFAST_DOT(MR, 3) \
                  default: NNFAST_DOT(MR, 4) }

/* Every tile of c over one block of k, a's rows outside (dot_gemm.c);
 * inlined with constant by_rows (dot_blocks below). */
static NNFAST_AVX2 NNFAST_INLINE void dot_block(
    const int by_rows, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
    const float *const *a_rows, int64_t p0, const float *b, int64_t ldb, int accumulate,
    float *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i += DOT_ROWS) {
        const int mr = m - i < DOT_ROWS ? (int)(m - i) : DOT_ROWS;
        for (int64_t j = 0; j < n; j += DOT_COLS) {
            const int nr = n - j < DOT_COLS ? (int)(n - j) : DOT_COLS;
            if (mr == 1)
                NNFAST_DOT_ROW(1)
            else if (mr == 2)
                NNFAST_DOT_ROW(2)
            else
                NNFAST_DOT_ROW(3)
        }
    }
}
#undef NNFAST_DOT_ROW
#undef NNFAST_DOT

/* Blocks of k (equal, of at most DOT_DEPTH, whole vectors but the last). */
static NNFAST_AVX2 void dot_blocks(
    int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *const *a_rows,
    const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
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
    const int64_t blocks = (k + DOT_DEPTH - 1) / DOT_DEPTH;
    const int64_t depth = ((k + blocks - 1) / blocks + 7) / 8 * 8;
    for (int64_t p = 0; p < k; p += depth) {
        const int64_t kb = k - p < depth ? k - p : depth;
        if (a_rows)
            dot_block(1, m, n, kb, NULL, 0, a_rows, p, b + p, ldb, accumulate || p > 0, c, ldc);
        else
            dot_block(0, m, n, kb, a + p, lda, NULL, 0, b + p, ldb, accumulate || p > 0, c,
                      ldc);
    }
}

NNFAST_AVX2 void nnfast_dot_gemm_avx2_f32(
    int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
    int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    dot_blocks(m, n, k, a, lda, NULL, b, ldb, accumulate, c, ldc);
}

NNFAST_AVX2 void nnfast_dot_gemm_rows_avx2_f32(
    int64_t m, int64_t n, int64_t k, const float *const *a_rows, const float *b, int64_t ldb,
    int accumulate, float *c, int64_t ldc)
{
    dot_blocks(m, n, k, NULL, 0, a_rows, b, ldb, accumulate, c, ldc);
}

int nnfast_gemm_avx2_available(void)
{
    static int has = -1;      /* racy first write, always of the same value */
    if (has < 0)
        has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    return has;
}

#else

int nnfast_gemm_avx2_available(void) { return 0; }

void nnfast_small_gemm_avx2_f32(int trans_a, int64_t m, int64_t n, int64_t k, const float *a,
                                int64_t lda, const float *b, int64_t ldb, int accumulate,
                                float *c, int64_t ldc)
{
    (void)trans_a; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb;
    (void)accumulate; (void)c; (void)ldc;
}

void nnfast_small_gemm_rows_avx2_f32(int64_t m, int64_t n, int64_t k, const float *a,
                                     int64_t lda, const float *const *b_rows, int accumulate,
                                     float *c, int64_t ldc)
{
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b_rows; (void)accumulate; (void)c;
    (void)ldc;
}

void nnfast_dot_gemm_rows_avx2_f32(int64_t m, int64_t n, int64_t k, const float *const *a_rows,
                                   const float *b, int64_t ldb, int accumulate, float *c,
                                   int64_t ldc)
{
    (void)m; (void)n; (void)k; (void)a_rows; (void)b; (void)ldb; (void)accumulate; (void)c;
    (void)ldc;
}

void nnfast_dot_gemm_avx2_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                              const float *b, int64_t ldb, int accumulate, float *c,
                              int64_t ldc)
{
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb;
    (void)accumulate; (void)c; (void)ldc;
}

#endif
