/* See lstm_fused.h. */
#include <string.h>

#include "fast_gates.h"
#include "lstm_fused.h"

enum { UNITS = 16, GATES = 4, TILE_ROWS = 6 };

int64_t nnfast_lstm_packed_size(int64_t inputs, int64_t hidden)
{
    return (hidden + UNITS - 1) / UNITS * (inputs + hidden + 1) * GATES * UNITS;
}

/* One block's rows k < n of a (4*hidden, n) weight, 64 floats each. */
static float *pack_rows(const float *weight, int64_t n, int64_t hidden, int64_t block,
                        float *packed)
{
    for (int64_t k = 0; k < n; ++k)
        for (int64_t q = 0; q < GATES; ++q)
            for (int64_t l = 0; l < UNITS; ++l) {
                const int64_t u = block * UNITS + l;
                *packed++ = u < hidden ? weight[(q * hidden + u) * n + k] : 0.0f;
            }
    return packed;
}

void nnfast_lstm_pack_f32(const float *weight_ih, const float *weight_hh, const float *bias,
                          int64_t inputs, int64_t hidden, float *packed)
{
    const int64_t blocks = (hidden + UNITS - 1) / UNITS;
    for (int64_t b = 0; b < blocks; ++b) {
        packed = pack_rows(weight_ih, inputs, hidden, b, packed);
        packed = pack_rows(weight_hh, hidden, hidden, b, packed);
        packed = pack_rows(bias, 1, hidden, b, packed);    /* a (4*hidden, 1) column */
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

/* acc[r][q] += sum over k < n of a[r * lda + k] * the panel's row k, gate q. */
#define NNFAST_LSTM_PRODUCT(A, LDA, N, PANEL)                                        \
    for (int64_t k = 0; k < (N); ++k) {                                              \
        const float *w = (PANEL) + k * GATES * UNITS;                                \
        const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);          \
        const __m512 w2 = _mm512_loadu_ps(w + 32), w3 = _mm512_loadu_ps(w + 48);     \
        for (int r = 0; r < mr; ++r) {                                               \
            const __m512 v = _mm512_set1_ps((A)[r * (LDA) + k]);                     \
            acc[r][0] = _mm512_fmadd_ps(v, w0, acc[r][0]);                           \
            acc[r][1] = _mm512_fmadd_ps(v, w1, acc[r][1]);                           \
            acc[r][2] = _mm512_fmadd_ps(v, w2, acc[r][2]);                           \
            acc[r][3] = _mm512_fmadd_ps(v, w3, acc[r][3]);                           \
        }                                                                            \
    }

/* One tile: mr (<= 4) rows from ``row`` of step t, the 16 units from
 * ``unit`` (``valid`` masks those past hidden), all four gates: the bias,
 * then x_t's product with W_ih, then h_prev's with W_hh, into the same 16
 * accumulators, then the gates and the state update. */
static NNFAST_AVX512 NNFAST_INLINE void tile(
    const int mr, const float *restrict panel, const float *restrict x,
    const int64_t *restrict lengths, float *restrict gates, const float *restrict h_prev,
    const float *restrict c_prev, float *restrict h, float *restrict c, int64_t t,
    int64_t row, int64_t unit, int64_t inputs, int64_t hidden, __mmask16 valid)
{
    const int64_t I = inputs, H = hidden, G = GATES * hidden;
    const float *bias = panel + (I + H) * GATES * UNITS;
    __m512 acc[TILE_ROWS][GATES];
    for (int r = 0; r < mr; ++r)
        for (int q = 0; q < GATES; ++q)
            acc[r][q] = _mm512_loadu_ps(bias + q * UNITS);
    NNFAST_LSTM_PRODUCT(x + row * I, I, I, panel)
    NNFAST_LSTM_PRODUCT(h_prev + row * H, H, H, panel + I * GATES * UNITS)
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
        const __m512 i_ = sigmoid16(acc[r][0]), f_ = sigmoid16(acc[r][1]);
        const __m512 g_ = tanh16(acc[r][2]), o_ = sigmoid16(acc[r][3]);
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
    case MR: tile(MR, panel, xt, lengths, g, hp, cp, hn, cn, t, i, u, I, H, valid); break;

static NNFAST_AVX512 void forward_avx512(
    const float *x, const float *packed, const int64_t *lengths, float *gates, float *h,
    float *c, int64_t n_steps, int64_t n_samples, int64_t inputs, int64_t hidden, int64_t lo,
    int64_t hi)
{
    const int64_t I = inputs, H = hidden, G = GATES * hidden, N = n_samples;
    const int64_t blocks = (H + UNITS - 1) / UNITS;
    for (int64_t t = 0; t < n_steps; ++t) {
        const float *xt = x + t * N * I, *hp = h + t * N * H, *cp = c + t * N * H;
        float *g = gates + t * N * G, *hn = h + (t + 1) * N * H, *cn = c + (t + 1) * N * H;
        for (int64_t b = 0; b < blocks; ++b) {
            const int64_t u = b * UNITS;
            const __mmask16 valid = H - u >= UNITS ? (__mmask16)0xFFFF
                                                   : (__mmask16)((1u << (H - u)) - 1);
            const float *panel = packed + b * (I + H + 1) * GATES * UNITS;
            for (int64_t i = lo; i < hi; i += TILE_ROWS) {
                const int64_t mr = hi - i < TILE_ROWS ? hi - i : TILE_ROWS;
                switch (mr) {
                    NNFAST_LSTM_TILE(1) NNFAST_LSTM_TILE(2) NNFAST_LSTM_TILE(3)
                    NNFAST_LSTM_TILE(4) NNFAST_LSTM_TILE(5) default: NNFAST_LSTM_TILE(6)
                }
            }
        }
    }
}

int nnfast_lstm_forward_fused_f32(const float *x, const float *packed,
                                  const int64_t *lengths, float *gates, float *h, float *c,
                                  int64_t n_steps, int64_t n_samples, int64_t inputs,
                                  int64_t hidden, int64_t lo, int64_t hi)
{
    if (!__builtin_cpu_supports("avx512f"))
        return 0;
    forward_avx512(x, packed, lengths, gates, h, c, n_steps, n_samples, inputs, hidden, lo, hi);
    return 1;
}

#else

int nnfast_lstm_forward_fused_f32(const float *x, const float *packed,
                                  const int64_t *lengths, float *gates, float *h, float *c,
                                  int64_t n_steps, int64_t n_samples, int64_t inputs,
                                  int64_t hidden, int64_t lo, int64_t hi)
{
    (void)x; (void)packed; (void)lengths; (void)gates; (void)h; (void)c;
    (void)n_steps; (void)n_samples; (void)inputs; (void)hidden; (void)lo; (void)hi;
    return 0;
}

#endif
