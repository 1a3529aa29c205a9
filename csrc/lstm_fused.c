/* See lstm_fused.h. */
#include <string.h>

#include "fast_gates.h"
#include "lstm_fused.h"

enum { UNITS = 16, GATES = 4, TILE_ROWS = 4 };

int64_t nnfast_lstm_packed_size(int64_t hidden)
{
    return (hidden + UNITS - 1) / UNITS * hidden * GATES * UNITS;
}

void nnfast_lstm_pack_f32(const float *weight_hh, int64_t hidden, float *packed)
{
    const int64_t blocks = (hidden + UNITS - 1) / UNITS;
    for (int64_t b = 0; b < blocks; ++b)
        for (int64_t k = 0; k < hidden; ++k)
            for (int64_t q = 0; q < GATES; ++q)
                for (int64_t l = 0; l < UNITS; ++l) {
                    const int64_t u = b * UNITS + l;
                    *packed++ = u < hidden ? weight_hh[(q * hidden + u) * hidden + k] : 0.0f;
                }
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>

#define NNFAST_AVX512 __attribute__((target("avx512f,fma")))
#define NNFAST_INLINE __attribute__((always_inline)) inline

/* fast_gates.h's nnfast_exp_neg_f, 16 lanes: exp(x) for x <= 0, flushed
 * to the smallest normal float below -87.3, NaN kept (max(lo, x) returns
 * x when x is NaN). */
static NNFAST_AVX512 NNFAST_INLINE __m512 exp_neg16(__m512 x)
{
    x = _mm512_max_ps(_mm512_set1_ps(NNFAST_EXP_LO), x);
    const __m512 shift = _mm512_set1_ps(NNFAST_ROUND);
    const __m512 n = _mm512_sub_ps(
        _mm512_fmadd_ps(x, _mm512_set1_ps(NNFAST_LOG2E), shift), shift);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(NNFAST_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(NNFAST_LN2_LO), r);
    __m512 p = _mm512_set1_ps(NNFAST_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NNFAST_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NNFAST_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NNFAST_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NNFAST_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(NNFAST_EXP_P5));
    const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r),
                                   _mm512_set1_ps(1.0f));
    const __m512i bits = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(bits));
}

static NNFAST_AVX512 NNFAST_INLINE __m512 abs16(__m512 x)
{
    return _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
}

/* 1 / (1 + exp(-x)) from e = exp(-|x|): nothing overflows */
static NNFAST_AVX512 NNFAST_INLINE __m512 sigmoid16(__m512 x)
{
    const __m512 e = exp_neg16(_mm512_sub_ps(_mm512_setzero_ps(), abs16(x)));
    const __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    const __m512 num = _mm512_mask_blend_ps(pos, e, _mm512_set1_ps(1.0f));
    return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/* Cephes's odd polynomial below |x| = 0.625, (1 - e) / (1 + e) with e =
 * exp(-2|x|) above, the sign of x put back */
static NNFAST_AVX512 NNFAST_INLINE __m512 tanh16(__m512 x)
{
    const __m512 a = abs16(x), z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(NNFAST_TANH_P0);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(NNFAST_TANH_P1));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(NNFAST_TANH_P2));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(NNFAST_TANH_P3));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(NNFAST_TANH_P4));
    const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    const __m512 e = exp_neg16(_mm512_mul_ps(_mm512_set1_ps(-2.0f), a));
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 big = _mm512_div_ps(_mm512_sub_ps(one, e), _mm512_add_ps(one, e));
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    big = _mm512_mask_sub_ps(big, neg, _mm512_setzero_ps(), big);
    const __mmask16 is_small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(NNFAST_TANH_SMALL), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(is_small, big, small);
}

/* One tile: mr (<= 4) rows from ``row`` of step t, the 16 units from
 * ``unit`` (``valid`` masks those past hidden), all four gates. */
static NNFAST_AVX512 NNFAST_INLINE void tile(
    const int mr, const float *restrict panel, const float *restrict x_proj,
    const float *restrict x_proj_next, const int64_t *restrict lengths, float *restrict gates, const float *restrict h_prev,
    const float *restrict c_prev, float *restrict h, float *restrict c, int64_t t,
    int64_t row, int64_t unit, int64_t hidden, __mmask16 valid)
{
    const int64_t H = hidden, G = GATES * hidden;
    /* x_proj's lines for these rows and units one step ahead, into L1: it
     * streams (3.2 MB a sequence in lstm-seq) in a pattern the hardware
     * prefetcher missed (4 lines a row, 2 KB apart), and the epilogue's
     * first load of it took a fifth of the kernel's time. */
    if (x_proj_next != NULL)
        for (int r = 0; r < mr; ++r)
            for (int q = 0; q < GATES; ++q)
                _mm_prefetch((const char *)(x_proj_next + (row + r) * G + q * H + unit),
                             _MM_HINT_T0);
    __m512 acc[TILE_ROWS][GATES];
    for (int r = 0; r < mr; ++r)
        for (int q = 0; q < GATES; ++q)
            acc[r][q] = _mm512_setzero_ps();
    const float *hp = h_prev + row * H;
    for (int64_t k = 0; k < H; ++k) {
        const float *w = panel + k * GATES * UNITS;
        const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
        const __m512 w2 = _mm512_loadu_ps(w + 32), w3 = _mm512_loadu_ps(w + 48);
        for (int r = 0; r < mr; ++r) {
            const __m512 hv = _mm512_set1_ps(hp[r * H + k]);
            acc[r][0] = _mm512_fmadd_ps(hv, w0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(hv, w1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(hv, w2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(hv, w3, acc[r][3]);
        }
    }
    for (int r = 0; r < mr; ++r) {
        const int64_t n = row + r;
        float *g = gates + n * G + unit;
        const float *cp = c_prev + n * H + unit, *hpr = h_prev + n * H + unit;
        float *hn = h + n * H + unit, *cn = c + n * H + unit;
        if (t >= lengths[n]) {
            _mm512_mask_storeu_ps(hn, valid, _mm512_maskz_loadu_ps(valid, hpr));
            _mm512_mask_storeu_ps(cn, valid, _mm512_maskz_loadu_ps(valid, cp));
            for (int q = 0; q < GATES; ++q)
                _mm512_mask_storeu_ps(g + q * H, valid, _mm512_setzero_ps());
            continue;
        }
        const float *xp = x_proj + n * G + unit;
        const __m512 i_ = sigmoid16(_mm512_add_ps(_mm512_maskz_loadu_ps(valid, xp), acc[r][0]));
        const __m512 f_ = sigmoid16(_mm512_add_ps(_mm512_maskz_loadu_ps(valid, xp + H), acc[r][1]));
        const __m512 g_ = tanh16(_mm512_add_ps(_mm512_maskz_loadu_ps(valid, xp + 2 * H), acc[r][2]));
        const __m512 o_ = sigmoid16(_mm512_add_ps(_mm512_maskz_loadu_ps(valid, xp + 3 * H), acc[r][3]));
        const __m512 cv = _mm512_fmadd_ps(f_, _mm512_maskz_loadu_ps(valid, cp), _mm512_mul_ps(i_, g_));
        _mm512_mask_storeu_ps(g, valid, i_);
        _mm512_mask_storeu_ps(g + H, valid, f_);
        _mm512_mask_storeu_ps(g + 2 * H, valid, g_);
        _mm512_mask_storeu_ps(g + 3 * H, valid, o_);
        _mm512_mask_storeu_ps(cn, valid, cv);
        _mm512_mask_storeu_ps(hn, valid, _mm512_mul_ps(o_, tanh16(cv)));
    }
}

#define NNFAST_LSTM_TILE(MR) \
    case MR: tile(MR, panel, xp, xp_next, lengths, g, hp, cp, hn, cn, t, i, u, H, valid); break;

static NNFAST_AVX512 void forward_avx512(
    const float *x_proj, const float *packed, const int64_t *lengths, float *gates, float *h,
    float *c, int64_t n_steps, int64_t n_samples, int64_t hidden, int64_t lo, int64_t hi)
{
    const int64_t H = hidden, G = GATES * hidden, N = n_samples;
    const int64_t blocks = (H + UNITS - 1) / UNITS;
    for (int64_t t = 0; t < n_steps; ++t) {
        const float *xp = x_proj + t * N * G, *hp = h + t * N * H, *cp = c + t * N * H;
        const float *xp_next = t + 1 < n_steps ? xp + N * G : NULL;
        float *g = gates + t * N * G, *hn = h + (t + 1) * N * H, *cn = c + (t + 1) * N * H;
        for (int64_t b = 0; b < blocks; ++b) {
            const int64_t u = b * UNITS;
            const __mmask16 valid = H - u >= UNITS ? (__mmask16)0xFFFF
                                                   : (__mmask16)((1u << (H - u)) - 1);
            const float *panel = packed + b * H * GATES * UNITS;
            for (int64_t i = lo; i < hi; i += TILE_ROWS) {
                const int64_t mr = hi - i < TILE_ROWS ? hi - i : TILE_ROWS;
                switch (mr) {
                    NNFAST_LSTM_TILE(1) NNFAST_LSTM_TILE(2) NNFAST_LSTM_TILE(3)
                    default: NNFAST_LSTM_TILE(4)
                }
            }
        }
    }
}

int nnfast_lstm_forward_fused_f32(const float *x_proj, const float *packed,
                                  const int64_t *lengths, float *gates, float *h, float *c,
                                  int64_t n_steps, int64_t n_samples, int64_t hidden,
                                  int64_t lo, int64_t hi)
{
    if (!__builtin_cpu_supports("avx512f"))
        return 0;
    forward_avx512(x_proj, packed, lengths, gates, h, c, n_steps, n_samples, hidden, lo, hi);
    return 1;
}

#else

int nnfast_lstm_forward_fused_f32(const float *x_proj, const float *packed,
                                  const int64_t *lengths, float *gates, float *h, float *c,
                                  int64_t n_steps, int64_t n_samples, int64_t hidden,
                                  int64_t lo, int64_t hi)
{
    (void)x_proj; (void)packed; (void)lengths; (void)gates; (void)h; (void)c;
    (void)n_steps; (void)n_samples; (void)hidden; (void)lo; (void)hi;
    return 0;
}

#endif
