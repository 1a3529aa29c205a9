# The C kernels of convolution and pooling (csrc/im2col.h, im2col_span.h,
# conv_direct.h, pooling.h), and one fused inline wrapper per C function:
# the float32 or float64 twin is picked here, at compile time, so no other
# file names the _f32/_f64 pairs. Cimport this module under a name
# (``from nnfast._kernels cimport _conv_c as csrc``) and call
# ``csrc.im2col(...)``; a module that calls a wrapper names that header's
# C source in its own ``# distutils: sources`` line (there is none here, so
# that no two extensions build the same source).
from cython cimport floating
from libc.stdint cimport int32_t, int64_t


cdef extern from "im2col.h" nogil:
    void im2col_f32(const float *data_im, int64_t channels, int64_t height,
                    int64_t width, int64_t height_col, int64_t width_col,
                    int64_t kernel_h, int64_t kernel_w, int64_t pad_top,
                    int64_t pad_left, int64_t stride_h, int64_t stride_w,
                    int64_t dilation_h, int64_t dilation_w,
                    int64_t h_col_begin, int64_t h_col_end, float *data_col)
    void im2col_f64(const double *data_im, int64_t channels, int64_t height,
                    int64_t width, int64_t height_col, int64_t width_col,
                    int64_t kernel_h, int64_t kernel_w, int64_t pad_top,
                    int64_t pad_left, int64_t stride_h, int64_t stride_w,
                    int64_t dilation_h, int64_t dilation_w,
                    int64_t h_col_begin, int64_t h_col_end, double *data_col)
    void col2im_add_f32(const float *data_col, int64_t channels, int64_t height,
                        int64_t width, int64_t height_col, int64_t width_col,
                        int64_t kernel_h, int64_t kernel_w, int64_t pad_top,
                        int64_t pad_left, int64_t stride_h, int64_t stride_w,
                        int64_t dilation_h, int64_t dilation_w,
                        int64_t h_col_begin, int64_t h_col_end, float *data_im)
    void col2im_add_f64(const double *data_col, int64_t channels, int64_t height,
                        int64_t width, int64_t height_col, int64_t width_col,
                        int64_t kernel_h, int64_t kernel_w, int64_t pad_top,
                        int64_t pad_left, int64_t stride_h, int64_t stride_w,
                        int64_t dilation_h, int64_t dilation_w,
                        int64_t h_col_begin, int64_t h_col_end, double *data_im)
    void col2im_f32(const float *data_col, int64_t channels, int64_t height,
                    int64_t width, int64_t height_col, int64_t width_col,
                    int64_t kernel_h, int64_t kernel_w, int64_t pad_top,
                    int64_t pad_left, int64_t stride_h, int64_t stride_w,
                    int64_t dilation_h, int64_t dilation_w, float *data_im)
    void col2im_f64(const double *data_col, int64_t channels, int64_t height,
                    int64_t width, int64_t height_col, int64_t width_col,
                    int64_t kernel_h, int64_t kernel_w, int64_t pad_top,
                    int64_t pad_left, int64_t stride_h, int64_t stride_w,
                    int64_t dilation_h, int64_t dilation_w, double *data_im)

cdef extern from "im2col_span.h" nogil:
    void pad_image_f32(const float *image, int64_t channels, int64_t height,
                       int64_t width, int64_t pad_top, int64_t pad_left,
                       int64_t height_pad, int64_t width_pad, float *padded)
    void pad_image_f64(const double *image, int64_t channels, int64_t height,
                       int64_t width, int64_t pad_top, int64_t pad_left,
                       int64_t height_pad, int64_t width_pad, double *padded)
    void crop_image_f32(const float *padded, int64_t channels, int64_t height_pad,
                        int64_t width_pad, int64_t pad_top, int64_t pad_left,
                        int64_t height, int64_t width, float *image)
    void crop_image_f64(const double *padded, int64_t channels, int64_t height_pad,
                        int64_t width_pad, int64_t pad_top, int64_t pad_left,
                        int64_t height, int64_t width, double *image)
    void im2col_span_f32(const float *padded, int64_t channels, int64_t height_pad,
                         int64_t width_pad, int64_t kernel_h, int64_t kernel_w,
                         int64_t width_col, int64_t h0, int64_t h1, float *col)
    void im2col_span_f64(const double *padded, int64_t channels, int64_t height_pad,
                         int64_t width_pad, int64_t kernel_h, int64_t kernel_w,
                         int64_t width_col, int64_t h0, int64_t h1, double *col)
    void col2im_span_add_f32(const float *col, int64_t channels, int64_t height_pad,
                             int64_t width_pad, int64_t kernel_h, int64_t kernel_w,
                             int64_t width_col, int64_t h0, int64_t h1, float *padded)
    void col2im_span_add_f64(const double *col, int64_t channels, int64_t height_pad,
                             int64_t width_pad, int64_t kernel_h, int64_t kernel_w,
                             int64_t width_col, int64_t h0, int64_t h1, double *padded)
    void spread_rows_f32(const float *packed, int64_t channels, int64_t rows,
                         int64_t width, int64_t ld_channel, int64_t width_pad,
                         float *span)
    void spread_rows_f64(const double *packed, int64_t channels, int64_t rows,
                         int64_t width, int64_t ld_channel, int64_t width_pad,
                         double *span)
    void pack_rows_f32(const float *span, int64_t channels, int64_t rows,
                       int64_t width, int64_t width_pad, const float *bias,
                       int relu, int64_t ld_channel, float *packed)
    void pack_rows_f64(const double *span, int64_t channels, int64_t rows,
                       int64_t width, int64_t width_pad, const double *bias,
                       int relu, int64_t ld_channel, double *packed)

cdef extern from "conv_direct.h" nogil:
    void conv2d_direct_forward_plane_f32(
        const float *x, int64_t channels, int64_t height, int64_t width,
        const float *weight, int64_t kernel_h, int64_t kernel_w, float bias,
        int64_t pad_top, int64_t pad_left, int64_t stride_h, int64_t stride_w,
        int64_t dilation_h, int64_t dilation_w, int64_t height_col,
        int64_t width_col, float *out)
    void conv2d_direct_forward_plane_f64(
        const double *x, int64_t channels, int64_t height, int64_t width,
        const double *weight, int64_t kernel_h, int64_t kernel_w, double bias,
        int64_t pad_top, int64_t pad_left, int64_t stride_h, int64_t stride_w,
        int64_t dilation_h, int64_t dilation_w, int64_t height_col,
        int64_t width_col, double *out)
    void conv2d_direct_backward_input_plane_f32(
        const float *grad_output, int64_t out_channels, int64_t height_col,
        int64_t width_col, const float *weight, int64_t channels, int64_t c,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, int64_t height, int64_t width, float *grad_input)
    void conv2d_direct_backward_input_plane_f64(
        const double *grad_output, int64_t out_channels, int64_t height_col,
        int64_t width_col, const double *weight, int64_t channels, int64_t c,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, int64_t height, int64_t width, double *grad_input)
    void conv2d_direct_backward_weight_plane_f32(
        const float *x, int64_t n_samples, int64_t channels, int64_t c,
        int64_t height, int64_t width, const float *grad_output,
        int64_t out_channels, int64_t o, int64_t height_col, int64_t width_col,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, float *grad_weight)
    void conv2d_direct_backward_weight_plane_f64(
        const double *x, int64_t n_samples, int64_t channels, int64_t c,
        int64_t height, int64_t width, const double *grad_output,
        int64_t out_channels, int64_t o, int64_t height_col, int64_t width_col,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, double *grad_weight)

cdef extern from "pooling.h" nogil:
    void maxpool2d_forward_plane_f32(
        const float *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, float *out,
        int32_t *argmax)
    void maxpool2d_forward_plane_f64(
        const double *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, double *out,
        int32_t *argmax)
    void maxpool2d_backward_plane_f32(
        const float *grad_output, const int32_t *argmax, const float *pooled,
        int64_t size_col, int64_t size, float *grad_input)
    void maxpool2d_backward_plane_f64(
        const double *grad_output, const int32_t *argmax, const double *pooled,
        int64_t size_col, int64_t size, double *grad_input)
    void avgpool2d_forward_plane_f32(
        const float *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, float *out)
    void avgpool2d_forward_plane_f64(
        const double *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, double *out)
    void avgpool2d_backward_plane_f32(
        const float *grad_output, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, float *grad_input)
    void avgpool2d_backward_plane_f64(
        const double *grad_output, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, double *grad_input)


# -- im2col.h -----------------------------------------------------------------

cdef inline void im2col(const floating *data_im, int64_t channels, int64_t height,
                        int64_t width, int64_t height_col, int64_t width_col,
                        int64_t kernel_h, int64_t kernel_w, int64_t pad_top,
                        int64_t pad_left, int64_t stride_h, int64_t stride_w,
                        int64_t dilation_h, int64_t dilation_w, int64_t h_col_begin,
                        int64_t h_col_end, floating *data_col) noexcept nogil:
    if floating is float:
        im2col_f32(data_im, channels, height, width, height_col, width_col, kernel_h,
                   kernel_w, pad_top, pad_left, stride_h, stride_w, dilation_h,
                   dilation_w, h_col_begin, h_col_end, data_col)
    else:
        im2col_f64(data_im, channels, height, width, height_col, width_col, kernel_h,
                   kernel_w, pad_top, pad_left, stride_h, stride_w, dilation_h,
                   dilation_w, h_col_begin, h_col_end, data_col)


cdef inline void col2im_add(const floating *data_col, int64_t channels,
                            int64_t height, int64_t width, int64_t height_col,
                            int64_t width_col, int64_t kernel_h, int64_t kernel_w,
                            int64_t pad_top, int64_t pad_left, int64_t stride_h,
                            int64_t stride_w, int64_t dilation_h,
                            int64_t dilation_w, int64_t h_col_begin,
                            int64_t h_col_end, floating *data_im) noexcept nogil:
    if floating is float:
        col2im_add_f32(data_col, channels, height, width, height_col, width_col,
                       kernel_h, kernel_w, pad_top, pad_left, stride_h, stride_w,
                       dilation_h, dilation_w, h_col_begin, h_col_end, data_im)
    else:
        col2im_add_f64(data_col, channels, height, width, height_col, width_col,
                       kernel_h, kernel_w, pad_top, pad_left, stride_h, stride_w,
                       dilation_h, dilation_w, h_col_begin, h_col_end, data_im)


cdef inline void col2im(const floating *data_col, int64_t channels, int64_t height,
                        int64_t width, int64_t height_col, int64_t width_col,
                        int64_t kernel_h, int64_t kernel_w, int64_t pad_top,
                        int64_t pad_left, int64_t stride_h, int64_t stride_w,
                        int64_t dilation_h, int64_t dilation_w,
                        floating *data_im) noexcept nogil:
    if floating is float:
        col2im_f32(data_col, channels, height, width, height_col, width_col, kernel_h,
                   kernel_w, pad_top, pad_left, stride_h, stride_w, dilation_h,
                   dilation_w, data_im)
    else:
        col2im_f64(data_col, channels, height, width, height_col, width_col, kernel_h,
                   kernel_w, pad_top, pad_left, stride_h, stride_w, dilation_h,
                   dilation_w, data_im)


# -- im2col_span.h --------------------------------------------------------------

cdef inline void pad_image(const floating *image, int64_t channels, int64_t height,
                           int64_t width, int64_t pad_top, int64_t pad_left,
                           int64_t height_pad, int64_t width_pad,
                           floating *padded) noexcept nogil:
    if floating is float:
        pad_image_f32(image, channels, height, width, pad_top, pad_left, height_pad,
                      width_pad, padded)
    else:
        pad_image_f64(image, channels, height, width, pad_top, pad_left, height_pad,
                      width_pad, padded)


cdef inline void crop_image(const floating *padded, int64_t channels,
                            int64_t height_pad, int64_t width_pad, int64_t pad_top,
                            int64_t pad_left, int64_t height, int64_t width,
                            floating *image) noexcept nogil:
    if floating is float:
        crop_image_f32(padded, channels, height_pad, width_pad, pad_top, pad_left,
                       height, width, image)
    else:
        crop_image_f64(padded, channels, height_pad, width_pad, pad_top, pad_left,
                       height, width, image)


cdef inline void im2col_span(const floating *padded, int64_t channels,
                             int64_t height_pad, int64_t width_pad, int64_t kernel_h,
                             int64_t kernel_w, int64_t width_col, int64_t h0,
                             int64_t h1, floating *col) noexcept nogil:
    if floating is float:
        im2col_span_f32(padded, channels, height_pad, width_pad, kernel_h, kernel_w,
                        width_col, h0, h1, col)
    else:
        im2col_span_f64(padded, channels, height_pad, width_pad, kernel_h, kernel_w,
                        width_col, h0, h1, col)


cdef inline void col2im_span_add(const floating *col, int64_t channels,
                                 int64_t height_pad, int64_t width_pad,
                                 int64_t kernel_h, int64_t kernel_w,
                                 int64_t width_col, int64_t h0, int64_t h1,
                                 floating *padded) noexcept nogil:
    if floating is float:
        col2im_span_add_f32(col, channels, height_pad, width_pad, kernel_h, kernel_w,
                            width_col, h0, h1, padded)
    else:
        col2im_span_add_f64(col, channels, height_pad, width_pad, kernel_h, kernel_w,
                            width_col, h0, h1, padded)


cdef inline void spread_rows(const floating *packed, int64_t channels, int64_t rows,
                             int64_t width, int64_t ld_channel, int64_t width_pad,
                             floating *span) noexcept nogil:
    if floating is float:
        spread_rows_f32(packed, channels, rows, width, ld_channel, width_pad, span)
    else:
        spread_rows_f64(packed, channels, rows, width, ld_channel, width_pad, span)


cdef inline void pack_rows(const floating *span, int64_t channels, int64_t rows,
                           int64_t width, int64_t width_pad, const floating *bias,
                           int relu, int64_t ld_channel,
                           floating *packed) noexcept nogil:
    if floating is float:
        pack_rows_f32(span, channels, rows, width, width_pad, bias, relu, ld_channel,
                      packed)
    else:
        pack_rows_f64(span, channels, rows, width, width_pad, bias, relu, ld_channel,
                      packed)


# -- conv_direct.h --------------------------------------------------------------

cdef inline void conv2d_direct_forward_plane(
        const floating *x, int64_t channels, int64_t height, int64_t width,
        const floating *weight, int64_t kernel_h, int64_t kernel_w, floating bias,
        int64_t pad_top, int64_t pad_left, int64_t stride_h, int64_t stride_w,
        int64_t dilation_h, int64_t dilation_w, int64_t height_col,
        int64_t width_col, floating *out) noexcept nogil:
    if floating is float:
        conv2d_direct_forward_plane_f32(
            x, channels, height, width, weight, kernel_h, kernel_w, bias, pad_top,
            pad_left, stride_h, stride_w, dilation_h, dilation_w, height_col,
            width_col, out)
    else:
        conv2d_direct_forward_plane_f64(
            x, channels, height, width, weight, kernel_h, kernel_w, bias, pad_top,
            pad_left, stride_h, stride_w, dilation_h, dilation_w, height_col,
            width_col, out)


cdef inline void conv2d_direct_backward_input_plane(
        const floating *grad_output, int64_t out_channels, int64_t height_col,
        int64_t width_col, const floating *weight, int64_t channels, int64_t c,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, int64_t height, int64_t width,
        floating *grad_input) noexcept nogil:
    if floating is float:
        conv2d_direct_backward_input_plane_f32(
            grad_output, out_channels, height_col, width_col, weight, channels, c,
            kernel_h, kernel_w, pad_top, pad_left, stride_h, stride_w, dilation_h,
            dilation_w, height, width, grad_input)
    else:
        conv2d_direct_backward_input_plane_f64(
            grad_output, out_channels, height_col, width_col, weight, channels, c,
            kernel_h, kernel_w, pad_top, pad_left, stride_h, stride_w, dilation_h,
            dilation_w, height, width, grad_input)


cdef inline void conv2d_direct_backward_weight_plane(
        const floating *x, int64_t n_samples, int64_t channels, int64_t c,
        int64_t height, int64_t width, const floating *grad_output,
        int64_t out_channels, int64_t o, int64_t height_col, int64_t width_col,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_top, int64_t pad_left,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, floating *grad_weight) noexcept nogil:
    if floating is float:
        conv2d_direct_backward_weight_plane_f32(
            x, n_samples, channels, c, height, width, grad_output, out_channels, o,
            height_col, width_col, kernel_h, kernel_w, pad_top, pad_left, stride_h,
            stride_w, dilation_h, dilation_w, grad_weight)
    else:
        conv2d_direct_backward_weight_plane_f64(
            x, n_samples, channels, c, height, width, grad_output, out_channels, o,
            height_col, width_col, kernel_h, kernel_w, pad_top, pad_left, stride_h,
            stride_w, dilation_h, dilation_w, grad_weight)


# -- pooling.h ------------------------------------------------------------------

cdef inline void maxpool2d_forward_plane(
        const floating *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, floating *out,
        int32_t *argmax) noexcept nogil:
    if floating is float:
        maxpool2d_forward_plane_f32(x, height, width, kernel_h, kernel_w, pad_top,
                                    pad_left, stride_h, stride_w, height_col,
                                    width_col, out, argmax)
    else:
        maxpool2d_forward_plane_f64(x, height, width, kernel_h, kernel_w, pad_top,
                                    pad_left, stride_h, stride_w, height_col,
                                    width_col, out, argmax)


cdef inline void maxpool2d_backward_plane(
        const floating *grad_output, const int32_t *argmax, const floating *pooled,
        int64_t size_col, int64_t size, floating *grad_input) noexcept nogil:
    if floating is float:
        maxpool2d_backward_plane_f32(grad_output, argmax, pooled, size_col, size,
                                     grad_input)
    else:
        maxpool2d_backward_plane_f64(grad_output, argmax, pooled, size_col, size,
                                     grad_input)


cdef inline void avgpool2d_forward_plane(
        const floating *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col,
        floating *out) noexcept nogil:
    if floating is float:
        avgpool2d_forward_plane_f32(x, height, width, kernel_h, kernel_w, pad_top,
                                    pad_left, stride_h, stride_w, height_col,
                                    width_col, out)
    else:
        avgpool2d_forward_plane_f64(x, height, width, kernel_h, kernel_w, pad_top,
                                    pad_left, stride_h, stride_w, height_col,
                                    width_col, out)


cdef inline void avgpool2d_backward_plane(
        const floating *grad_output, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_top, int64_t pad_left, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col,
        floating *grad_input) noexcept nogil:
    if floating is float:
        avgpool2d_backward_plane_f32(grad_output, height, width, kernel_h, kernel_w,
                                     pad_top, pad_left, stride_h, stride_w, height_col,
                                     width_col, grad_input)
    else:
        avgpool2d_backward_plane_f64(grad_output, height, width, kernel_h, kernel_w,
                                     pad_top, pad_left, stride_h, stride_w, height_col,
                                     width_col, grad_input)
