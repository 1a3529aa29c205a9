/* The per-channel reductions of the batch-norm kernels (nnfast/_kernels/
 * batchnorm.pyx), in float and double, accumulated in double.
 *
 * One channel's values are ``n_samples`` planes of ``spatial`` contiguous
 * elements, plane n at ``x + n * sample_stride`` (C * spatial for an
 * (N, C, spatial) array). Each sum runs over 16 fixed lanes (element i of a
 * plane's run of 16 goes to lane i), combined in a fixed tree: vector
 * registers at any width, and the same result at any vector width, thread count or
 * call. One accumulator would make every add wait for the one before (4
 * cycles each); 16 keep the adders busy and the loop at memory speed.
 *
 * batchnorm_moments:  *mean, *var := the mean and biased variance, in one
 *                     pass: blocks of 256 values gathered in double, each
 *                     reduced exactly in two passes in cache (its mean,
 *                     then its squared deviations) and merged with Chan,
 *                     Golub and LeVeque's update.
 * batchnorm_grad_sums: *sum_dy := sum(dy); *sum_dy_centered :=
 *                     sum(dy * (x - mean)).
 *
 *
 * The element-wise passes, over one (n, c) plane of ``size`` elements, in
 * double and rounded once:
 * batchnorm_normalize_plane:  out := (x - mean) * scale + bias, then
 *                     max(., 0) if relu.
 * batchnorm_input_grad_plane: grad_input := k * ((dy - mean_dy)
 *                     - (x - mean) * xhat_scale).
 *
 * The _relu variants take dy through the ReLU after the layer first (dy
 * where (x - mean) * scale + bias, rounded as the forward rounds it, is
 * > 0, else 0): the ReLU's backward fused into the layer's, with no pass of
 * its own.
 *
 * Compiled in target clones (nnfast_clones.h): the float -> double
 * conversions and double arithmetic run in vectors of 4 doubles (one ymm
 * register with AVX2 or AVX-512, two xmm with SSE2). On a Zen 3 core, one
 * thread, a (16, 16, 4096) float32 input: the gradient sums 1.28 ns an
 * element in vectors of 8 doubles (GCC kept them on the stack), 0.22 in
 * fours; with the ReLU mask 1.49 and 0.42; the moments 0.48 and 0.29. */
#ifndef NNFAST_BATCHNORM_SUMS_H
#define NNFAST_BATCHNORM_SUMS_H

#include <stdint.h>

#define NNFAST_BATCHNORM_DECLARE(T, SUFFIX)                                          \
    void batchnorm_moments##SUFFIX(const T *x, int64_t n_samples, int64_t sample_stride, \
                                   int64_t spatial, double *mean, double *var);      \
    void batchnorm_grad_sums##SUFFIX(const T *x, const T *dy, int64_t n_samples,     \
                                     int64_t sample_stride, int64_t spatial,         \
                                     double mean, double *sum_dy,                    \
                                     double *sum_dy_centered);                      \
    void batchnorm_normalize_plane##SUFFIX(const T *x, T *out, int64_t size,          \
                                           double mean, double scale, double bias,    \
                                           int relu);                                 \
    void batchnorm_input_grad_plane##SUFFIX(const T *x, const T *dy, T *grad_input,   \
                                            int64_t size, double k, double mean_dy,   \
                                            double mean, double xhat_scale);          \
    void batchnorm_grad_sums_relu##SUFFIX(const T *x, const T *dy, int64_t n_samples, \
                                          int64_t sample_stride, int64_t spatial,     \
                                          double mean, double scale, double bias,     \
                                          double *sum_dy, double *sum_dy_centered);   \
    void batchnorm_input_grad_plane_relu##SUFFIX(const T *x, const T *dy,             \
                                                 T *grad_input, int64_t size,         \
                                                 double k, double mean_dy,            \
                                                 double mean, double xhat_scale,      \
                                                 double scale, double bias);

NNFAST_BATCHNORM_DECLARE(float, _f32)
NNFAST_BATCHNORM_DECLARE(double, _f64)

#endif
