/* Block loops of the float32 spatial softmax forwards (softmax_spatial.h). */
#include <stdint.h>
#include <string.h>

#include "fast_gates.h"
#include "nnfast_clones.h"
#include "softmax_spatial.h"

/* Positions per block: the block's max, scale and double sums (3 KB) and
 * up to a few classes' rows of it stay in L1. */
#define NNFAST_SOFTMAX_BLOCK 256

/* exp(x) for x <= 0 or NaN: fast_gates.h's polynomial, and 0 below
 * exp's smallest normal result (-inf included), where that function would
 * give 2^-126 instead; the kernels run with denormals flushed, so libm's
 * expf gave 0 there too, and a class at -inf keeps probability exactly 0. */
static inline __attribute__((always_inline)) float exp_nonpositive(float x)
{
    float e = nnfast_exp_neg_f(x);
    return x < NNFAST_EXP_LO ? 0.0f : e;
}

/* Cephes's logf (~1 ulp) for a positive normal float, NaN kept: the
 * exponent and mantissa split by bit operations instead of frexpf, and
 * selects instead of branches, so that loops calling it vectorize. Here its
 * argument is a softmax total, in [1, n_classes] (or NaN). */
#define NNFAST_SQRT_HALF 0.707106781186547524f
static inline __attribute__((always_inline)) float log_positive(float t)
{
    int32_t bits;
    memcpy(&bits, &t, sizeof bits);
    /* t = m * 2^e with m in [0.5, 1) */
    int32_t e = ((bits >> 23) & 0xff) - 126;
    bits = (bits & 0x007fffff) | 0x3f000000;
    float m;
    memcpy(&m, &bits, sizeof m);
    /* m in [sqrt(1/2), sqrt(2)) after the shift, so that m - 1 is small */
    int below = m < NNFAST_SQRT_HALF;
    float fe = (float)(e - below);
    float r = below ? m + m - 1.0f : m - 1.0f;
    float z = r * r;
    float y = 7.0376836292E-2f;
    y = y * r - 1.1514610310E-1f;
    y = y * r + 1.1676998740E-1f;
    y = y * r - 1.2420140846E-1f;
    y = y * r + 1.4249322787E-1f;
    y = y * r - 1.6668057665E-1f;
    y = y * r + 2.0000714765E-1f;
    y = y * r - 2.4999993993E-1f;
    y = y * r + 3.3333331174E-1f;
    y = y * r * z;
    y += fe * NNFAST_LN2_LO;
    y += -0.5f * z;
    r = r + y;
    r += fe * NNFAST_LN2_HI;
    return t != t ? t : r;
}

/* m[i] := max over the classes of xs[c * size + i], i < n, as the one-vector
 * kernel takes it: class 0, then any class greater (a NaN in class 0 stays,
 * a later NaN is passed over; either way the exp of it makes the sum NaN). */
static inline __attribute__((always_inline)) void block_max(const float *xs, int64_t n_classes,
                                                            int64_t size, int64_t n, float *m)
{
    for (int64_t i = 0; i < n; i++)
        m[i] = xs[i];
    for (int64_t c = 1; c < n_classes; c++) {
        const float *xc = xs + c * size;
        for (int64_t i = 0; i < n; i++)
            m[i] = xc[i] > m[i] ? xc[i] : m[i];
    }
}

/* The position range [p, p + n) of one sample is a block: within
 * [lo, hi), within a sample, at most NNFAST_SOFTMAX_BLOCK long. */
static inline __attribute__((always_inline)) int64_t block_length(int64_t r, int64_t hi,
                                                                 int64_t size, int64_t p)
{
    int64_t n = size - p;
    if (n > hi - r)
        n = hi - r;
    return n < NNFAST_SOFTMAX_BLOCK ? n : NNFAST_SOFTMAX_BLOCK;
}

NNFAST_CLONES void softmax_spatial_f32(const float *x, float *out, int64_t n_classes,
                                       int64_t size, int64_t lo, int64_t hi)
{
    float m[NNFAST_SOFTMAX_BLOCK];
    double total[NNFAST_SOFTMAX_BLOCK];
    for (int64_t r = lo; r < hi;) {
        int64_t s = r / size, p = r - s * size, n = block_length(r, hi, size, p);
        const float *xs = x + s * n_classes * size + p;
        float *os = out + s * n_classes * size + p;
        block_max(xs, n_classes, size, n, m);
        for (int64_t i = 0; i < n; i++)
            total[i] = 0;
        for (int64_t c = 0; c < n_classes; c++) {
            const float *xc = xs + c * size;
            float *oc = os + c * size;
            for (int64_t i = 0; i < n; i++) {
                float e = exp_nonpositive(xc[i] - m[i]);
                oc[i] = e;
                total[i] += e;
            }
        }
        for (int64_t i = 0; i < n; i++) /* m's last use was above: it holds the scale */
            m[i] = (float)(1.0 / total[i]);
        for (int64_t c = 0; c < n_classes; c++) {
            float *oc = os + c * size;
            for (int64_t i = 0; i < n; i++)
                oc[i] *= m[i];
        }
        r += n;
    }
}

NNFAST_CLONES void log_softmax_spatial_f32(const float *x, float *out, int64_t n_classes,
                                           int64_t size, int64_t lo, int64_t hi)
{
    float m[NNFAST_SOFTMAX_BLOCK], log_total[NNFAST_SOFTMAX_BLOCK];
    double total[NNFAST_SOFTMAX_BLOCK];
    for (int64_t r = lo; r < hi;) {
        int64_t s = r / size, p = r - s * size, n = block_length(r, hi, size, p);
        const float *xs = x + s * n_classes * size + p;
        float *os = out + s * n_classes * size + p;
        block_max(xs, n_classes, size, n, m);
        for (int64_t i = 0; i < n; i++)
            total[i] = 0;
        for (int64_t c = 0; c < n_classes; c++) {
            const float *xc = xs + c * size;
            for (int64_t i = 0; i < n; i++)
                total[i] += exp_nonpositive(xc[i] - m[i]);
        }
        for (int64_t i = 0; i < n; i++)
            log_total[i] = log_positive((float)total[i]);
        /* (x - max) - log(total), not x - (max + log(total)): for |x| ~ 1e4
         * the sum max + log(total) would round away log(total)'s digits. */
        for (int64_t c = 0; c < n_classes; c++) {
            const float *xc = xs + c * size;
            float *oc = os + c * size;
            for (int64_t i = 0; i < n; i++)
                oc[i] = (xc[i] - m[i]) - log_total[i];
        }
        r += n;
    }
}
