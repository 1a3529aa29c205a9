/* im2col / col2im: PyTorch's loop structure and names (aten/src/ATen/native/
 * im2col.h), 64-bit indices, stride, padding and dilation per axis.
 *
 * Both work on one image of shape (channels, height, width) and on the output
 * rows [h_col_begin, h_col_end) of the column matrix, whose row c_col =
 * (c_im * kernel_h + h_offset) * kernel_w + w_offset holds, for each output
 * position (h_col, w_col) of those rows, the input pixel
 *   h_im = h_col * stride_h - pad_top + h_offset * dilation_h
 *   w_im = w_col * stride_w - pad_left + w_offset * dilation_w
 * or 0 where that falls in the padding. The column block is stored
 * (channels * kernel_h * kernel_w, h_col_end - h_col_begin, width_col),
 * contiguous: a convolution can then process a large image in blocks of
 * output rows with a bounded buffer. pad_top and pad_left are the top and
 * left padding; bottom and right padding only enter through height_col and
 * width_col, which the caller computes. */
#ifndef NNFAST_IM2COL_H
#define NNFAST_IM2COL_H

#include <stdint.h>

#define NNFAST_IM2COL_DECLARE(T, SUFFIX)                                        \
    void im2col##SUFFIX(const T *data_im, int64_t channels, int64_t height,     \
                        int64_t width, int64_t height_col, int64_t width_col,   \
                        int64_t kernel_h, int64_t kernel_w, int64_t pad_top,    \
                        int64_t pad_left, int64_t stride_h, int64_t stride_w,   \
                        int64_t dilation_h, int64_t dilation_w,                 \
                        int64_t h_col_begin, int64_t h_col_end, T *data_col);   \
    void col2im_add##SUFFIX(const T *data_col, int64_t channels, int64_t height,\
                            int64_t width, int64_t height_col,                  \
                            int64_t width_col, int64_t kernel_h,                \
                            int64_t kernel_w, int64_t pad_top,                  \
                            int64_t pad_left, int64_t stride_h,                 \
                            int64_t stride_w, int64_t dilation_h,               \
                            int64_t dilation_w, int64_t h_col_begin,            \
                            int64_t h_col_end, T *data_im);                     \
    void col2im##SUFFIX(const T *data_col, int64_t channels, int64_t height,    \
                        int64_t width, int64_t height_col, int64_t width_col,   \
                        int64_t kernel_h, int64_t kernel_w, int64_t pad_top,    \
                        int64_t pad_left, int64_t stride_h, int64_t stride_w,   \
                        int64_t dilation_h, int64_t dilation_w, T *data_im);

/* im2col_f32 / im2col_f64: data_col := the column rows [h_col_begin, h_col_end).
 * col2im_add_f32 / _f64: data_im += those column rows, added back into the
 *   pixels they came from (overlapping windows add up; nothing is zeroed).
 * col2im_f32 / _f64: data_im := 0, then every column row added: the adjoint
 *   of im2col. */
NNFAST_IM2COL_DECLARE(float, _f32)
NNFAST_IM2COL_DECLARE(double, _f64)

#undef NNFAST_IM2COL_DECLARE

#endif
