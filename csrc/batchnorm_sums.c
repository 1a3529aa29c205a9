/* The batch-norm reductions in float and double: one generic body
 * (batchnorm_sums_impl.h) compiled once per type, each function in target
 * clones (batchnorm_sums.h). */
#include "batchnorm_sums.h"
#include "nnfast_clones.h"

#include <string.h>

#define NNFAST_STATS_BLOCK 256

/* 16 lanes as four vectors of 4 doubles (lane i in quarter i / 4):
 * GCC's vector extensions, so that the lanes stay in registers at any target
 * instead of being left to the auto-vectorizer, which kept some of 16
 * scalar accumulators scalar. Four 32-byte quarters rather than two
 * 64-byte halves: with AVX2 (16 registers of 4 doubles) GCC kept the
 * 64-byte accumulators of the gradient sums on the stack, a store and a
 * reload per add (1.20 ns an element on a Zen 3 core, against 0.34 in
 * quarters, the same sums to the bit); one ymm each fits every target. */
typedef double nnfast_v4d __attribute__((vector_size(32)));
/* the helpers below are always inlined into the cloned functions, so the
 * vector-return ABI GCC warns about never crosses a call */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float nnfast_v4f __attribute__((vector_size(16)));

/* Built element by element, which GCC 12 compiles to one widening load
 * (vcvtps2pd from memory); its __builtin_convertvector of a float vector
 * widened each half apart, through the stack. */
static inline __attribute__((always_inline)) nnfast_v4d load4_f32(const float *p) {
    return (nnfast_v4d){p[0], p[1], p[2], p[3]};
}

static inline __attribute__((always_inline)) nnfast_v4d load4_f64(const double *p) {
    nnfast_v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

typedef int64_t nnfast_v4l __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) void store4_f32(float *p, nnfast_v4d v) {
    nnfast_v4f f = __builtin_convertvector(v, nnfast_v4f);
    memcpy(p, &f, sizeof f);
}

static inline __attribute__((always_inline)) void store4_f64(double *p, nnfast_v4d v) {
    memcpy(p, &v, sizeof v);
}

/* The 16 lanes q[0][0..3], q[1][0..3], q[2][0..3], q[3][0..3] (lanes 0..15)
 * added in a fixed order: t[j] = lane j + lane j + 8, then
 * ((t0 + t4) + (t2 + t6)) + ((t1 + t5) + (t3 + t7)). */
static inline __attribute__((always_inline)) double lanes_total(nnfast_v4d q0, nnfast_v4d q1,
                                                                nnfast_v4d q2, nnfast_v4d q3) {
    nnfast_v4d lo = q0 + q2, hi = q1 + q3;   /* t[0..3], t[4..7] */
    return ((lo[0] + hi[0]) + (lo[2] + hi[2])) + ((lo[1] + hi[1]) + (lo[3] + hi[3]));
}

/* Fold buf[:nb] into the running (count, mean, M2). */
static inline __attribute__((always_inline)) void merge_block(const double *buf, int nb, double *count, double *mean,
                               double *m2) {
    nnfast_v4d q0 = {0}, q1 = {0}, q2 = {0}, q3 = {0};
    int runs = nb / 16, i;
    for (int r = 0; r < runs; r++) {
        q0 += load4_f64(buf + 16 * r);
        q1 += load4_f64(buf + 16 * r + 4);
        q2 += load4_f64(buf + 16 * r + 8);
        q3 += load4_f64(buf + 16 * r + 12);
    }
    double s = lanes_total(q0, q1, q2, q3);
    for (i = runs * 16; i < nb; i++)
        s += buf[i];
    double bmean = s / nb;
    nnfast_v4d d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0};
    for (int r = 0; r < runs; r++) {
        nnfast_v4d a = load4_f64(buf + 16 * r) - bmean, b = load4_f64(buf + 16 * r + 4) - bmean;
        nnfast_v4d c = load4_f64(buf + 16 * r + 8) - bmean, e = load4_f64(buf + 16 * r + 12) - bmean;
        d0 += a * a;
        d1 += b * b;
        d2 += c * c;
        d3 += e * e;
    }
    double bm2 = lanes_total(d0, d1, d2, d3);
    for (i = runs * 16; i < nb; i++) {
        double d = buf[i] - bmean;
        bm2 += d * d;
    }
    double total = *count + nb;
    double d = bmean - *mean;
    *mean += d * (nb / total);
    *m2 += bm2 + d * d * (*count * nb / total);
    *count = total;
}

#define NNFAST_T float
#define NNFAST_FN(name) name##_f32
#define NNFAST_LOAD4 load4_f32
#define NNFAST_STORE4 store4_f32
/* a positive double below it may round to a float 0 (2^-150 without
 * flushing, FLT_MIN with it); none at or above it can */
#define NNFAST_ROUNDS_TO_ZERO_BELOW 0x1p-100
#include "batchnorm_sums_impl.h"
#undef NNFAST_T
#undef NNFAST_FN
#undef NNFAST_LOAD4
#undef NNFAST_STORE4
#undef NNFAST_ROUNDS_TO_ZERO_BELOW

#define NNFAST_T double
#define NNFAST_FN(name) name##_f64
#define NNFAST_LOAD4 load4_f64
#define NNFAST_STORE4 store4_f64
#define NNFAST_ROUNDS_TO_ZERO_BELOW 0.0  /* no rounding: the sign is exact */
#include "batchnorm_sums_impl.h"
#undef NNFAST_T
#undef NNFAST_FN
#undef NNFAST_LOAD4
#undef NNFAST_STORE4
#undef NNFAST_ROUNDS_TO_ZERO_BELOW
