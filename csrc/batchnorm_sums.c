/* The batch-norm reductions in float and double: one generic body
 * (batchnorm_sums_impl.h) compiled once per type, each function in target
 * clones (batchnorm_sums.h). */
#include "batchnorm_sums.h"
#include "nnfast_clones.h"

#include <string.h>

#define NNFAST_STATS_BLOCK 256

/* 16 lanes as two vectors of 8 doubles: GCC's vector extensions, so that
 * the lanes stay in registers at any target (one zmm each with AVX-512,
 * four xmm with SSE2) instead of being left to the auto-vectorizer, which
 * kept some of 16 scalar accumulators scalar. */
typedef double nnfast_v8d __attribute__((vector_size(64)));
/* the helpers below are always inlined into the cloned functions, so the
 * vector-return ABI GCC warns about never crosses a call */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float nnfast_v8f __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) nnfast_v8d load8_f32(const float *p) {
    nnfast_v8f v;
    memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, nnfast_v8d);
}

static inline __attribute__((always_inline)) nnfast_v8d load8_f64(const double *p) {
    nnfast_v8d v;
    memcpy(&v, p, sizeof v);
    return v;
}

typedef int64_t nnfast_v8l __attribute__((vector_size(64)));
typedef int32_t nnfast_v8i __attribute__((vector_size(32)));

/* g where the output v (in double, before its rounding) rounds to a
 * positive NNFAST_T, else 0: as the ReLU's backward keeps grad_output where
 * the forward's output is > 0 (not where it is 0, negative or NaN). */
static inline __attribute__((always_inline)) nnfast_v8d keep_where_positive_f32(nnfast_v8d v, nnfast_v8d g) {
    nnfast_v8i positive = __builtin_convertvector(v, nnfast_v8f) > 0;
    return (nnfast_v8d)((nnfast_v8l)g & __builtin_convertvector(positive, nnfast_v8l));
}

static inline __attribute__((always_inline)) nnfast_v8d keep_where_positive_f64(nnfast_v8d v, nnfast_v8d g) {
    return (nnfast_v8d)((nnfast_v8l)g & (v > 0));
}

/* The 16 lanes lo[0..7], hi[0..7] added in a fixed order. */
static inline __attribute__((always_inline)) double lanes_total(nnfast_v8d lo, nnfast_v8d hi) {
    nnfast_v8d t = lo + hi;
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
}

/* Fold buf[:nb] into the running (count, mean, M2). */
static inline __attribute__((always_inline)) void merge_block(const double *buf, int nb, double *count, double *mean,
                               double *m2) {
    nnfast_v8d lo = {0}, hi = {0};
    int runs = nb / 16, i;
    for (int r = 0; r < runs; r++) {
        lo += load8_f64(buf + 16 * r);
        hi += load8_f64(buf + 16 * r + 8);
    }
    double s = lanes_total(lo, hi);
    for (i = runs * 16; i < nb; i++)
        s += buf[i];
    double bmean = s / nb;
    nnfast_v8d dlo = {0}, dhi = {0};
    for (int r = 0; r < runs; r++) {
        nnfast_v8d a = load8_f64(buf + 16 * r) - bmean, b = load8_f64(buf + 16 * r + 8) - bmean;
        dlo += a * a;
        dhi += b * b;
    }
    double bm2 = lanes_total(dlo, dhi);
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
#define NNFAST_LOAD8 load8_f32
#define NNFAST_MASK8 keep_where_positive_f32
#include "batchnorm_sums_impl.h"
#undef NNFAST_T
#undef NNFAST_FN
#undef NNFAST_LOAD8
#undef NNFAST_MASK8

#define NNFAST_T double
#define NNFAST_FN(name) name##_f64
#define NNFAST_LOAD8 load8_f64
#define NNFAST_MASK8 keep_where_positive_f64
#include "batchnorm_sums_impl.h"
#undef NNFAST_T
#undef NNFAST_FN
#undef NNFAST_LOAD8
#undef NNFAST_MASK8
