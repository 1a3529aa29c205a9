/* Max and average pooling, one (height, width) plane per call, so that the
 * caller can spread the batch's planes over threads. pad_top and pad_left are
 * the top and left padding; height_col and width_col the output size, which
 * the caller computes (floor mode) and which the bottom and right padding
 * enter. Every window must overlap the image (the caller keeps each side's
 * padding <= kernel / 2, as PyTorch does). */
#ifndef NNFAST_POOLING_H
#define NNFAST_POOLING_H

#include <stdint.h>

#define NNFAST_POOLING_DECLARE(T, SUFFIX)                                       \
    void maxpool2d_forward_plane##SUFFIX(                                       \
        const T *x, int64_t height, int64_t width, int64_t kernel_h,            \
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,  \
        int64_t stride_w, int64_t height_col, int64_t width_col, T *out,        \
        int32_t *argmax);                                                       \
    void maxpool2d_backward_plane##SUFFIX(                                      \
        const T *grad_output, const int32_t *argmax, const T *pooled,           \
        int64_t size_col, int64_t size, T *grad_input);                         \
    void avgpool2d_forward_plane##SUFFIX(                                       \
        const T *x, int64_t height, int64_t width, int64_t kernel_h,            \
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,  \
        int64_t stride_w, int64_t height_col, int64_t width_col, T *out);       \
    void avgpool2d_backward_plane##SUFFIX(                                      \
        const T *grad_output, int64_t height, int64_t width, int64_t kernel_h,  \
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,  \
        int64_t stride_w, int64_t height_col, int64_t width_col,                \
        T *grad_input);

/* maxpool2d_forward_plane: out := each window's maximum (NaN wins, as in
 *   PyTorch; among equal values the first in row-major order), argmax := its
 *   index h * width + w in the plane, as int32 (half the memory traffic of
 *   int64; the caller keeps a plane under 2^31 pixels).
 * maxpool2d_backward_plane: grad_input (size) := 0, then grad_output
 *   (size_col) added at argmax (overlapping windows that share a maximum add
 *   up); where pooled (the forward's output, or NULL) is not > 0, nothing is
 *   added: the gradient through a ReLU before the pooling, in the same pass.
 * avgpool2d_forward_plane: out := window sum / (kernel_h * kernel_w), padding
 *   counted as zeros (PyTorch's count_include_pad=True).
 * avgpool2d_backward_plane: grad_input := 0, then each grad_output /
 *   (kernel_h * kernel_w) added over its window. */
NNFAST_POOLING_DECLARE(float, _f32)
NNFAST_POOLING_DECLARE(double, _f64)

#undef NNFAST_POOLING_DECLARE

#endif
