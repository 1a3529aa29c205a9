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
 * dy masked by the ReLU after the layer; 16 lanes as two vectors of 8. The
 * mask recomputes the output in double vectors (the same operations as
 * ``normalized``, no contraction), takes its sign after the rounding to
 * NNFAST_T that the forward applied, and keeps dy by a bit mask. Inlined
 * with relu constant into the two entry points below. */
static inline __attribute__((always_inline)) void NNFAST_FN(grad_sums)(
    const int relu, const NNFAST_T *x, const NNFAST_T *dy, int64_t n_samples,
    int64_t sample_stride, int64_t spatial, double mean, double scale, double bias,
    double *sum_dy, double *sum_dy_centered) {
    nnfast_v8d a_lo = {0}, a_hi = {0}, b_lo = {0}, b_hi = {0};
    double tail_a = 0, tail_b = 0;
    for (int64_t n = 0; n < n_samples; n++) {
        const NNFAST_T *xp = x + n * sample_stride;
        const NNFAST_T *gp = dy + n * sample_stride;
        int64_t s = 0;
        for (; s + 16 <= spatial; s += 16) {
            nnfast_v8d xc_lo = NNFAST_LOAD8(xp + s) - mean, xc_hi = NNFAST_LOAD8(xp + s + 8) - mean;
            nnfast_v8d g_lo = NNFAST_LOAD8(gp + s), g_hi = NNFAST_LOAD8(gp + s + 8);
            if (relu) {
                g_lo = NNFAST_MASK8(xc_lo * scale + bias, g_lo);
                g_hi = NNFAST_MASK8(xc_hi * scale + bias, g_hi);
            }
            a_lo += g_lo;
            a_hi += g_hi;
            b_lo += g_lo * xc_lo;
            b_hi += g_hi * xc_hi;
        }
        for (; s < spatial; s++) {
            double g = relu ? NNFAST_FN(through_relu)(xp[s], gp[s], mean, scale, bias)
                            : (double)gp[s];
            tail_a += g;
            tail_b += g * ((double)xp[s] - mean);
        }
    }
    *sum_dy = lanes_total(a_lo, a_hi) + tail_a;
    *sum_dy_centered = lanes_total(b_lo, b_hi) + tail_b;
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
    for (int64_t s = 0; s < size; s++) {
        double g = NNFAST_FN(through_relu)(x[s], dy[s], mean, scale, bias);
        /* xhat_scale == 0 (running statistics): x must not enter (0 * inf) */
        double centred = xhat_scale == 0 ? 0.0 : ((double)x[s] - mean) * xhat_scale;
        grad_input[s] = (NNFAST_T)(k * ((g - mean_dy) - centred));
    }
}
