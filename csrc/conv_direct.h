/* Direct 2-D convolution (no column buffer), one output or input plane per
 * call, so that the caller can spread planes over threads.
 *
 * Worth it where im2col's buffer would cost more than the GEMM saves: few
 * input channels and small kernels (a network's first layer on images),
 * where the GEMM's inner dimension channels * kernel_h * kernel_w is tiny.
 * Geometry as in im2col.h: pad_top and pad_left are the top and left
 * padding, height_col and width_col the output size (which the bottom and
 * right padding enter). */
#ifndef NNFAST_CONV_DIRECT_H
#define NNFAST_CONV_DIRECT_H

#include <stdint.h>

#define NNFAST_CONV_DIRECT_DECLARE(T, SUFFIX)                                   \
    void conv2d_direct_forward_plane##SUFFIX(                                   \
        const T *x, int64_t channels, int64_t height, int64_t width,            \
        const T *weight, int64_t kernel_h, int64_t kernel_w, T bias,            \
        int64_t pad_top, int64_t pad_left, int64_t stride_h, int64_t stride_w,  \
        int64_t dilation_h, int64_t dilation_w, int64_t height_col,             \
        int64_t width_col, T *out);                                             \
    void conv2d_direct_backward_input_plane##SUFFIX(                            \
        const T *grad_output, int64_t out_channels, int64_t height_col,         \
        int64_t width_col, const T *weight, int64_t channels, int64_t c,        \
        int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,  \
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,                 \
        int64_t dilation_w, int64_t height, int64_t width, T *grad_input);      \
    void conv2d_direct_backward_weight_plane##SUFFIX(                           \
        const T *x, int64_t n_samples, int64_t channels, int64_t c,             \
        int64_t height, int64_t width, const T *grad_output,                    \
        int64_t out_channels, int64_t o, int64_t height_col, int64_t width_col, \
        int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,  \
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,                 \
        int64_t dilation_w, T *grad_weight);

/* conv2d_direct_forward_plane: out (height_col, width_col) := bias + the
 *   correlation of one sample x (channels, height, width) with one output
 *   channel's filter weight (channels, kernel_h, kernel_w).
 * conv2d_direct_backward_input_plane: grad_input (height, width), input
 *   channel c of one sample, := sum over output channels of grad_output
 *   (out_channels, height_col, width_col) scattered through weight
 *   (out_channels, channels, kernel_h, kernel_w).
 * conv2d_direct_backward_weight_plane: grad_weight (kernel_h, kernel_w), the
 *   filter tap block [o, c], += sum over the batch of grad_output[:, o]
 *   correlated with x[:, c]; x is (n_samples, channels, height, width),
 *   grad_output (n_samples, out_channels, height_col, width_col). */
NNFAST_CONV_DIRECT_DECLARE(float, _f32)
NNFAST_CONV_DIRECT_DECLARE(double, _f64)

#undef NNFAST_CONV_DIRECT_DECLARE

#endif
