/* Body of batchnorm_sums.c, included once per element type with
 * NNFAST_T (float or double) and NNFAST_FN(name) (name_f32, name_f64). */

NNFAST_CLONES void NNFAST_FN(batchnorm_moments)(const NNFAST_T *x, int64_t n_samples,
                                                int64_t sample_stride, int64_t spatial,
                                                double *mean_out, double *var_out) {
    double buf[NNFAST_STATS_BLOCK];
    double count = 0, mean = 0, m2 = 0;
    int64_t k = 0;
    for (int64_t n = 0; n < n_samples; n++) {
        const NNFAST_T *plane = x + n * sample_stride;
        int64_t s = 0;
        while (s < spatial) {
            int64_t take = NNFAST_STATS_BLOCK - k;
            if (take > spatial - s)
                take = spatial - s;
            for (int64_t i = 0; i < take; i++)
                buf[k + i] = plane[s + i];
            k += take;
            s += take;
            if (k == NNFAST_STATS_BLOCK) {
                merge_block(buf, (int)k, &count, &mean, &m2);
                k = 0;
            }
        }
    }
    if (k)
        merge_block(buf, (int)k, &count, &mean, &m2);
    *mean_out = mean;
    *var_out = count > 0 ? m2 / count : 0;
}

/* The normalised value, as the forward writes it (before its ReLU): the
 * fused backward recomputes it from x to find where the ReLU passed the
 * gradient, so both go through this one expression (and the file is built
 * without FMA contraction: the same rounding in every loop, vector or not). */
static inline __attribute__((always_inline)) NNFAST_T NNFAST_FN(normalized)(
    NNFAST_T x, double mean, double scale, double bias) {
    return (NNFAST_T)(((double)x - mean) * scale + bias);
}

NNFAST_CLONES void NNFAST_FN(batchnorm_normalize_plane)(const NNFAST_T *x, NNFAST_T *out,
                                                        int64_t size, double mean,
                                                        double scale, double bias, int relu) {
    /* in double, the subtraction first: x - mean is where a float32 input
     * with a large mean loses its digits */
    if (relu) {
        for (int64_t s = 0; s < size; s++) {
            NNFAST_T v = NNFAST_FN(normalized)(x[s], mean, scale, bias);
            out[s] = v < 0 ? 0 : v;   /* max(v, 0) with NaN kept, as the ReLU kernel */
        }
    } else {
        for (int64_t s = 0; s < size; s++)
            out[s] = NNFAST_FN(normalized)(x[s], mean, scale, bias);
    }
}

NNFAST_CLONES void NNFAST_FN(batchnorm_input_grad_plane)(const NNFAST_T *x, const NNFAST_T *dy,
                                                         NNFAST_T *grad_input, int64_t size,
                                                         double k, double mean_dy, double mean,
                                                         double xhat_scale) {
    if (xhat_scale == 0) {
        /* running statistics (constants), or sum(dy * xhat) exactly 0: x
         * plays no part (and an infinite x must not make 0 * inf) */
        for (int64_t s = 0; s < size; s++)
            grad_input[s] = (NNFAST_T)(k * ((double)dy[s] - mean_dy));
        return;
    }
    for (int64_t s = 0; s < size; s++)
        grad_input[s] = (NNFAST_T)(k * (((double)dy[s] - mean_dy)
                                        - ((double)x[s] - mean) * xhat_scale));
}

/* The ReLU's gradient mask, from x: dy where the forward's output was > 0
 * (the ReLU kernel's rule: 0 where it was 0, negative or NaN). */
static inline __attribute__((always_inline)) double NNFAST_FN(through_relu)(
    NNFAST_T x, NNFAST_T dy, double mean, double scale, double bias) {
    return NNFAST_FN(normalized)(x, mean, scale, bias) > 0 ? (double)dy : 0.0;
}

/* sum(g) and sum(g * (x - mean)) over one channel, g = dy or, with relu,
 * dy masked by the ReLU after the layer; 16 lanes as four vectors of 4. The
 * mask recomputes the output in double vectors (the same operations as
 * ``normalized``, no contraction) and keeps dy by a bit mask where it is
 * > 0: the sign the forward's output has after its rounding to NNFAST_T,
 * except for outputs below NNFAST_ROUNDS_TO_ZERO_BELOW, which send the
 * channel to grad_sums_exact_relu. (Taking the sign after a float rounding
 * in the vectors made GCC 12 split each float-to-double widening in two
 * halves through the stack: 0.77 ns an element against 0.35.) Inlined with
 * relu constant into the two entry points below. */
/* grad_sums with relu, each element's mask from ``through_relu`` (the
 * output rounded to NNFAST_T, as the forward rounded it): the same 16
 * lanes in the same order, one element at a time. The vector loop masks by
 * the double output's sign, which differs only where a positive output is
 * so small that its rounding may give 0; it calls this then. */
static void NNFAST_FN(grad_sums_exact_relu)(
    const NNFAST_T *x, const NNFAST_T *dy, int64_t n_samples, int64_t sample_stride,
    int64_t spatial, double mean, double scale, double bias, double *sum_dy,
    double *sum_dy_centered) {
    double a[16] = {0}, b[16] = {0};
    double tail_a = 0, tail_b = 0;
    for (int64_t n = 0; n < n_samples; n++) {
        const NNFAST_T *xp = x + n * sample_stride;
        const NNFAST_T *gp = dy + n * sample_stride;
        int64_t s = 0;
        for (; s + 16 <= spatial; s += 16) {
            for (int i = 0; i < 16; i++) {
                double g = NNFAST_FN(through_relu)(xp[s + i], gp[s + i], mean, scale, bias);
                a[i] += g;
                b[i] += g * ((double)xp[s + i] - mean);
            }
        }
        for (; s < spatial; s++) {
            double g = NNFAST_FN(through_relu)(xp[s], gp[s], mean, scale, bias);
            tail_a += g;
            tail_b += g * ((double)xp[s] - mean);
        }
    }
    nnfast_v4d qa[4], qb[4];
    memcpy(qa, a, sizeof a);
    memcpy(qb, b, sizeof b);
    *sum_dy = lanes_total(qa[0], qa[1], qa[2], qa[3]) + tail_a;
    *sum_dy_centered = lanes_total(qb[0], qb[1], qb[2], qb[3]) + tail_b;
}

static inline __attribute__((always_inline)) void NNFAST_FN(grad_sums)(
    const int relu, const NNFAST_T *x, const NNFAST_T *dy, int64_t n_samples,
    int64_t sample_stride, int64_t spatial, double mean, double scale, double bias,
    double *sum_dy, double *sum_dy_centered) {
    nnfast_v4d a[4] = {{0}}, b[4] = {{0}};
    nnfast_v4l near_zero = {0};
    double tail_a = 0, tail_b = 0;
    for (int64_t n = 0; n < n_samples; n++) {
        const NNFAST_T *xp = x + n * sample_stride;
        const NNFAST_T *gp = dy + n * sample_stride;
        int64_t s = 0;
        for (; s + 16 <= spatial; s += 16) {
            /* one quarter at a time: its temporaries beside the eight
             * accumulators fit AVX2's sixteen registers */
            for (int q = 0; q < 4; q++) {
                nnfast_v4d xc = NNFAST_LOAD4(xp + s + 4 * q) - mean;
                nnfast_v4d g = NNFAST_LOAD4(gp + s + 4 * q);
                if (relu) {
                    nnfast_v4d v = xc * scale + bias;
                    nnfast_v4l positive = v > 0;
                    g = (nnfast_v4d)((nnfast_v4l)g & positive);
                    near_zero |= positive & (v < NNFAST_ROUNDS_TO_ZERO_BELOW);
                }
                a[q] += g;
                b[q] += g * xc;
            }
        }
        for (; s < spatial; s++) {
            double g = relu ? NNFAST_FN(through_relu)(xp[s], gp[s], mean, scale, bias)
                            : (double)gp[s];
            tail_a += g;
            tail_b += g * ((double)xp[s] - mean);
        }
    }
    if (relu && (near_zero[0] | near_zero[1] | near_zero[2] | near_zero[3])) {
        /* an output in (0, NNFAST_ROUNDS_TO_ZERO_BELOW) may have rounded to
         * 0 in the forward: the channel again, each mask exact */
        NNFAST_FN(grad_sums_exact_relu)(x, dy, n_samples, sample_stride, spatial, mean, scale,
                                        bias, sum_dy, sum_dy_centered);
        return;
    }
    *sum_dy = lanes_total(a[0], a[1], a[2], a[3]) + tail_a;
    *sum_dy_centered = lanes_total(b[0], b[1], b[2], b[3]) + tail_b;
}

NNFAST_CLONES void NNFAST_FN(batchnorm_grad_sums)(const NNFAST_T *x, const NNFAST_T *dy,
                                                  int64_t n_samples, int64_t sample_stride,
                                                  int64_t spatial, double mean,
                                                  double *sum_dy, double *sum_dy_centered) {
    NNFAST_FN(grad_sums)(0, x, dy, n_samples, sample_stride, spatial, mean, 0, 0, sum_dy,
                         sum_dy_centered);
}

NNFAST_CLONES void NNFAST_FN(batchnorm_grad_sums_relu)(
    const NNFAST_T *x, const NNFAST_T *dy, int64_t n_samples, int64_t sample_stride,
    int64_t spatial, double mean, double scale, double bias, double *sum_dy,
    double *sum_dy_centered) {
    NNFAST_FN(grad_sums)(1, x, dy, n_samples, sample_stride, spatial, mean, scale, bias,
                         sum_dy, sum_dy_centered);
}

NNFAST_CLONES void NNFAST_FN(batchnorm_input_grad_plane_relu)(
    const NNFAST_T *x, const NNFAST_T *dy, NNFAST_T *grad_input, int64_t size, double k,
    double mean_dy, double mean, double xhat_scale, double scale, double bias) {
    int64_t s = 0;
    if (xhat_scale != 0) {
        /* in quarters, masked by the double output's sign (see
         * grad_sums_exact_relu); a plane with an output near 0 is redone
         * below, element by element with the exact mask */
        nnfast_v4l near_zero = {0};
        for (; s + 4 <= size; s += 4) {
            nnfast_v4d xc = NNFAST_LOAD4(x + s) - mean;
            nnfast_v4d v = xc * scale + bias;
            nnfast_v4l positive = v > 0;
            nnfast_v4d g = (nnfast_v4d)((nnfast_v4l)NNFAST_LOAD4(dy + s) & positive);
            near_zero |= positive & (v < NNFAST_ROUNDS_TO_ZERO_BELOW);
            NNFAST_STORE4(grad_input + s, k * ((g - mean_dy) - xc * xhat_scale));
        }
        if (near_zero[0] | near_zero[1] | near_zero[2] | near_zero[3])
            s = 0;
    }
    for (; s < size; s++) {
        double g = NNFAST_FN(through_relu)(x[s], dy[s], mean, scale, bias);
        /* xhat_scale == 0 (running statistics): x must not enter (0 * inf) */
        double centred = xhat_scale == 0 ? 0.0 : ((double)x[s] - mean) * xhat_scale;
        grad_input[s] = (NNFAST_T)(k * ((g - mean_dy) - centred));
    }
}
