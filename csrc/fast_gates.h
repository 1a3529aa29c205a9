/* Float32 exp, sigmoid and tanh for the recurrent gate kernels, written so
 * that GCC vectorizes the loops calling them: straight-line code, selects
 * instead of branches, no libm call (glibc's expf and tanhf are scalar
 * calls; a step of lstm-seq's gates, 5 of them per element, spent ~90% of
 * its time there).
 *
 * nnfast_exp_neg_f: exp(x) for x <= 0 (Cephes's expf polynomial, ~1 ulp),
 * flushed to exp(-87.3) (the smallest normal float) below that, NaN kept.
 */
#ifndef NNFAST_FAST_GATES_H
#define NNFAST_FAST_GATES_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The polynomials' constants, shared with their 16-lane form in
 * lstm_fused.c: exp's range reduction and Cephes's expf coefficients, and
 * the odd tanh polynomial's. */
#define NNFAST_EXP_LO -87.3365447505531f      /* exp(lo): the smallest normal float */
#define NNFAST_LOG2E 1.44269504088896341f
#define NNFAST_ROUND 12582912.0f              /* 1.5 * 2^23 */
#define NNFAST_LN2_HI 0.693359375f
#define NNFAST_LN2_LO -2.12194440e-4f
#define NNFAST_EXP_P0 1.9875691500E-4f
#define NNFAST_EXP_P1 1.3981999507E-3f
#define NNFAST_EXP_P2 8.3334519073E-3f
#define NNFAST_EXP_P3 4.1665795894E-2f
#define NNFAST_EXP_P4 1.6666665459E-1f
#define NNFAST_EXP_P5 5.0000001201E-1f
#define NNFAST_TANH_P0 -5.70498872745E-3f
#define NNFAST_TANH_P1 2.06390887954E-2f
#define NNFAST_TANH_P2 -5.37397155531E-2f
#define NNFAST_TANH_P3 1.33314422036E-1f
#define NNFAST_TANH_P4 -3.33332819422E-1f
#define NNFAST_TANH_SMALL 0.625f              /* the polynomial below, exp above */

static inline float nnfast_exp_neg_f(float x)
{
    float lo = NNFAST_EXP_LO;
    x = x < lo ? lo : x;
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick (no floorf call) */
    float n = (x * NNFAST_LOG2E + NNFAST_ROUND) - NNFAST_ROUND;
    float r = x - n * NNFAST_LN2_HI;
    r = r - n * NNFAST_LN2_LO;
    float p = NNFAST_EXP_P0;
    p = p * r + NNFAST_EXP_P1;
    p = p * r + NNFAST_EXP_P2;
    p = p * r + NNFAST_EXP_P3;
    p = p * r + NNFAST_EXP_P4;
    p = p * r + NNFAST_EXP_P5;
    float y = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

/* 1 / (1 + exp(-x)), from e = exp(-|x|) so that nothing overflows */
static inline float nnfast_sigmoid_f(float x)
{
    float e = nnfast_exp_neg_f(x >= 0 ? -x : x);
    return (x >= 0 ? 1.0f : e) / (1.0f + e);
}

/* tanh: Cephes's odd polynomial for |x| < 0.625 (no cancellation near 0),
 * (1 - e) / (1 + e) with e = exp(-2|x|) above, the sign of x put back */
static inline float nnfast_tanh_f(float x)
{
    float a = x >= 0 ? x : -x;
    float z = x * x;
    float p = NNFAST_TANH_P0;
    p = p * z + NNFAST_TANH_P1;
    p = p * z + NNFAST_TANH_P2;
    p = p * z + NNFAST_TANH_P3;
    p = p * z + NNFAST_TANH_P4;
    float small = p * z * x + x;
    float e = nnfast_exp_neg_f(-2.0f * a);
    float big = (1.0f - e) / (1.0f + e);
    big = x >= 0 ? big : -big;
    return a < NNFAST_TANH_SMALL ? small : big;
}

/* Float64: libm's exp and expm1, for full double accuracy (these loops
 * stay scalar calls). sigmoid from e = exp(-|x|), exactly 0 and 1 in the
 * limits; tanh as (1 - e^-2|x|) / (1 + e^-2|x|) through expm1, accurate near
 * 0 too (no cancellation) and ~4x faster than glibc's tanh. */
static inline double nnfast_sigmoid_d(double x)
{
    double e = exp(x >= 0 ? -x : x);
    return (x >= 0 ? 1.0 : e) / (1.0 + e);
}

static inline double nnfast_tanh_d(double x)
{
    double e = expm1(-2.0 * (x >= 0 ? x : -x));
    e = -e / (2.0 + e);
    return x >= 0 ? e : -e;
}

#endif
