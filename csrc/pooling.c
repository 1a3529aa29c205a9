/* Max and average pooling in float and double: one generic body
 * (pooling_impl.h) compiled once per type. */
#include <string.h>

#include "pooling.h"

#ifdef __SSE2__
#include <emmintrin.h>

/* Four outputs [w_col, w_col + 4) of a 2x2 / stride 2 max-pooling row: the
 * even and odd columns of both input rows deinterleaved, then the scalar
 * loop's three compare-and-select steps on four windows at once (a lane's
 * mask is set where v > best or v is NaN, as there). */
static inline void maxpool2x2_four_sse2_f32(const float *top, const float *bottom,
                                            int64_t row, int64_t width,
                                            int64_t w_col, float *o, int32_t *a)
{
    const __m128 t0 = _mm_loadu_ps(top + 2 * w_col);
    const __m128 t1 = _mm_loadu_ps(top + 2 * w_col + 4);
    const __m128 b0 = _mm_loadu_ps(bottom + 2 * w_col);
    const __m128 b1 = _mm_loadu_ps(bottom + 2 * w_col + 4);
    __m128 best = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
    __m128 k = _mm_setzero_ps();      /* window position 0..3, as float */
    const __m128 cand[3] = {_mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1)),
                            _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1))};
    for (int j = 0; j < 3; ++j) {
        const __m128 v = cand[j];
        const __m128 take = _mm_or_ps(_mm_cmpgt_ps(v, best),
                                      _mm_cmpunord_ps(v, v));
        best = _mm_or_ps(_mm_and_ps(take, v), _mm_andnot_ps(take, best));
        k = _mm_or_ps(_mm_and_ps(take, _mm_set1_ps((float)(j + 1))),
                      _mm_andnot_ps(take, k));
    }
    _mm_storeu_ps(o + w_col, best);
    /* argmax = row + 2 * (w_col + lane) + (k >> 1) * width + (k & 1), in
     * 32-bit lanes: the plane's indices fit int32 (the layer checks) */
    const __m128i code = _mm_cvttps_epi32(k);
    const __m128i zero = _mm_setzero_si128();
    const __m128i below = _mm_sub_epi32(zero, _mm_srli_epi32(code, 1));
    const __m128i offset = _mm_add_epi32(
        _mm_add_epi32(_mm_and_si128(below, _mm_set1_epi32((int32_t)width)),
                      _mm_and_si128(code, _mm_set1_epi32(1))),
        _mm_set_epi32(6, 4, 2, 0));
    _mm_storeu_si128((__m128i *)(a + w_col),
                     _mm_add_epi32(offset, _mm_set1_epi32((int32_t)(row + 2 * w_col))));
}

/* A row four outputs at a time. A remainder of 1-3 outputs is done by one
 * more group that ends at the row's end and overlaps the last one (it
 * writes the same values again): on small images (width_col 5 or 7) the
 * scalar tail was most of the time. Its loads stay in the two input rows,
 * which hold at least 2 * width_col values. Returns the first output left
 * for the scalar loop. */
static int64_t maxpool2x2_row_sse2_f32(const float *top, const float *bottom,
                                      int64_t row, int64_t width,
                                      int64_t width_col, float *o, int32_t *a)
{
    int64_t w_col = 0;
    for (; w_col + 4 <= width_col; w_col += 4)
        maxpool2x2_four_sse2_f32(top, bottom, row, width, w_col, o, a);
    if (w_col < width_col && width_col >= 4) {
        maxpool2x2_four_sse2_f32(top, bottom, row, width, width_col - 4, o, a);
        w_col = width_col;
    }
    return w_col;
}
#define NNFAST_MAXPOOL2X2_ROW_SIMD maxpool2x2_row_sse2_f32
#else
#define NNFAST_MAXPOOL2X2_ROW_SIMD(top, bottom, row, width, width_col, o, a) 0
#endif

#define NNFAST_T float
#define NNFAST_UINT uint32_t
#define NNFAST_FN(name) name##_f32
#include "pooling_impl.h"
#undef NNFAST_T
#undef NNFAST_UINT
#undef NNFAST_FN
#undef NNFAST_MAXPOOL2X2_ROW_SIMD

/* double: the scalar loop does the whole row */
#define NNFAST_MAXPOOL2X2_ROW_SIMD(top, bottom, row, width, width_col, o, a) 0
#define NNFAST_T double
#define NNFAST_UINT uint64_t
#define NNFAST_FN(name) name##_f64
#include "pooling_impl.h"
#undef NNFAST_T
#undef NNFAST_UINT
#undef NNFAST_FN
#undef NNFAST_MAXPOOL2X2_ROW_SIMD
