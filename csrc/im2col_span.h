/* Column matrices of a stride-1 convolution taken at every position of the
 * padded row ("span columns").
 *
 * With stride 1 and dilation 1 along both axes, let the padded image be
 * (channels, height_pad, width_pad) and the output (height_col, width_col),
 * width_col = width_pad - kernel_w + 1. If the output is computed at all
 * width_pad positions of each row instead of width_col (the last
 * kernel_w - 1 of them are discarded), the column row of kernel tap
 * (c, h_offset, w_offset) for output rows [h0, h1) is one contiguous span of
 * the padded image:
 *   col[k][p] = image_pad[c][(h0 + h_offset) * width_pad + w_offset + p],
 *   p in [0, (h1 - h0) * width_pad).
 * im2col is then one copy per tap and col2im one vector add per tap,
 * instead of a copy of width_col values per tap and output row (which, for
 * the 10- to 28-pixel rows of small images, is most of im2col's time). The
 * price is width_pad / width_col times the GEMM work.
 *
 * The values of the last row's kernel_w - 1 discarded positions would lie
 * past the padded image: they are set to 0 (im2col_span) or skipped
 * (col2im_span_add), so nothing outside the image is ever read or written. */
#ifndef NNFAST_IM2COL_SPAN_H
#define NNFAST_IM2COL_SPAN_H

#include <stdint.h>

#define NNFAST_IM2COL_SPAN_DECLARE(T, SUFFIX)                                  \
    void pad_image##SUFFIX(const T *image, int64_t channels, int64_t height,   \
                           int64_t width, int64_t pad_top, int64_t pad_left,   \
                           int64_t height_pad, int64_t width_pad, T *padded);  \
    void crop_image##SUFFIX(const T *padded, int64_t channels,                 \
                            int64_t height_pad, int64_t width_pad,             \
                            int64_t pad_top, int64_t pad_left, int64_t height, \
                            int64_t width, T *image);                          \
    void im2col_span##SUFFIX(const T *padded, int64_t channels,                \
                             int64_t height_pad, int64_t width_pad,            \
                             int64_t kernel_h, int64_t kernel_w,               \
                             int64_t width_col, int64_t h0, int64_t h1,        \
                             T *col);                                          \
    void col2im_span_add##SUFFIX(const T *col, int64_t channels,               \
                                 int64_t height_pad, int64_t width_pad,        \
                                 int64_t kernel_h, int64_t kernel_w,           \
                                 int64_t width_col, int64_t h0, int64_t h1,    \
                                 T *padded);                                   \
    void spread_rows##SUFFIX(const T *packed, int64_t channels, int64_t rows,  \
                             int64_t width, int64_t ld_channel,                \
                             int64_t width_pad, T *span);                      \
    void pack_rows##SUFFIX(const T *span, int64_t channels, int64_t rows,      \
                           int64_t width, int64_t width_pad,                   \
                           const T *bias, int relu, int64_t ld_channel,        \
                           T *packed);

/* pad_image: padded[c] := image[c] placed at (pad_top, pad_left) of a
 *   (height_pad, width_pad) plane of zeros.
 * crop_image: image[c] := that window of padded[c] (the adjoint's last step).
 * im2col_span: col := the span column rows of output rows [h0, h1): a block
 *   (channels * kernel_h * kernel_w, (h1 - h0) * width_pad).
 * col2im_span_add: padded += those column rows, each added back where
 *   im2col_span took it from.
 * spread_rows: span[c][r * width_pad + w] := packed[c * ld_channel + r * width + w]
 *   for w < width, 0 for width <= w < width_pad (an output gradient in span
 *   layout: zeros where the discarded positions are).
 * pack_rows: packed[c * ld_channel + r * width + w] :=
 *   span[c][r * width_pad + w] + bias[c] (bias may be NULL), and then, if
 *   relu, max(that, 0) (NaN kept, as the ReLU kernel does). */
NNFAST_IM2COL_SPAN_DECLARE(float, _f32)
NNFAST_IM2COL_SPAN_DECLARE(double, _f64)

#undef NNFAST_IM2COL_SPAN_DECLARE

#endif
