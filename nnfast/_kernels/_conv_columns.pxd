# How the im2col kernels (conv_im2col.pyx) fill a thread's scratch from a
# Geometry: plain column rows (im2col, or none for a pointwise kernel), span
# columns (of the sample or of its padded copy), and the output gradient's
# block in span layout or transposed; and the way back, image_from_columns
# (GEMM + col2im), which conv's input gradient and the transposed
# convolution's forward (conv_transpose.pyx) share. Where that scratch lies
# is _conv_plan.pxd's.
from cython cimport floating
from libc.string cimport memset

from nnfast._kernels cimport _conv_c as csrc
from nnfast._kernels._conv_gemm cimport conv_gemm
from nnfast._kernels._conv_plan cimport Geometry


cdef inline void im2col_rows(const floating *im, Geometry *g, Py_ssize_t h0,
                             Py_ssize_t h1, floating *col) noexcept nogil:
    """col := the column rows of output rows [h0, h1) of one sample."""
    csrc.im2col(im, g.channels, g.height, g.width, g.height_col, g.width_col,
                g.kernel_h, g.kernel_w, g.pad_top, g.pad_left, g.stride_h, g.stride_w,
                g.dilation_h, g.dilation_w, h0, h1, col)


cdef inline const floating *item_columns(const floating *sample, Geometry *g,
                                         Py_ssize_t h0, Py_ssize_t h1,
                                         floating *column,
                                         Py_ssize_t *ldcol) noexcept nogil:
    """The column matrix of output rows [h0, h1) of one sample, and in
    *ldcol its row stride: the sample itself for a pointwise kernel (no
    buffer), else its column rows made in ``column``."""
    if g.pointwise:
        ldcol[0] = g.height_col * g.width_col
        return sample + h0 * g.width_col
    im2col_rows(sample, g, h0, h1, column)
    ldcol[0] = (h1 - h0) * g.width_col
    return column


cdef inline const floating *span_source(const floating *sample, Geometry *g,
                                        floating *padded, Py_ssize_t n,
                                        Py_ssize_t *padded_n) noexcept nogil:
    """Sample n as span columns read it: itself, or its padded copy in
    ``padded`` (made unless *padded_n says it is there already)."""
    if not g.padded:
        return sample
    if padded_n[0] != n:
        csrc.pad_image(sample, g.channels, g.height, g.width, g.pad_top, g.pad_left,
                       g.height_pad, g.width_pad, padded)
        padded_n[0] = n
    return padded


cdef inline void span_columns(const floating *src, Geometry *g, Py_ssize_t h0,
                              Py_ssize_t h1, floating *col) noexcept nogil:
    """col := the span columns of output rows [h0, h1), src as span_source
    gives it."""
    csrc.im2col_span(src, g.channels, g.height_pad, g.width_pad, g.kernel_h,
                     g.kernel_w, g.width_col, h0, h1, col)


cdef inline void spread_grad_output(const floating *grad_output, Geometry *g,
                                    Py_ssize_t h0, Py_ssize_t h1,
                                    floating *staging) noexcept nogil:
    """staging := grad_output's rows [h0, h1) of every channel, in span layout."""
    csrc.spread_rows(grad_output + h0 * g.width_col, g.out_channels, h1 - h0,
                     g.width_col, g.height_col * g.width_col, g.width_pad, staging)


cdef inline void transpose_block(const floating *src, Py_ssize_t rows,
                                 Py_ssize_t cols, Py_ssize_t ld,
                                 floating *dst) noexcept nogil:
    """dst (cols, rows) := src (rows, cols, row stride ld) transposed."""
    cdef Py_ssize_t i, j
    for i in range(rows):
        for j in range(cols):
            dst[j * rows + i] = src[i * ld + j]


cdef inline void spread_grad_output_transposed(const floating *grad_output, Geometry *g,
                                               Py_ssize_t h0, Py_ssize_t h1,
                                               floating *staging) noexcept nogil:
    """staging (span, out_channels) := spread_grad_output's block transposed:
    position p = (h - h0) * width_pad + w of rows [h0, h1) as row p, zero
    where w >= width_col (the span's padding columns)."""
    cdef Py_ssize_t m = g.out_channels, h
    cdef floating *dst
    for h in range(h0, h1):
        dst = staging + (h - h0) * g.width_pad * m
        transpose_block(grad_output + h * g.width_col, m, g.width_col,
                        g.height_col * g.width_col, dst)
        memset(dst + g.width_col * m, 0, (g.width_pad - g.width_col) * m * sizeof(floating))


cdef inline void _image_from_span_columns(const floating *weight, const floating *src,
                                          floating *dst, floating *column,
                                          floating *staging, Geometry *g, Py_ssize_t c_lo,
                                          Py_ssize_t cg) noexcept nogil:
    """image_from_columns in the span layout: dst is the padded image's
    channels [c_lo, c_lo + cg), filled block by block of src's rows."""
    cdef Py_ssize_t kk = g.kernel_h * g.kernel_w
    cdef Py_ssize_t h0 = 0, h1, span
    memset(dst, 0, cg * g.height_pad * g.width_pad * sizeof(floating))
    while h0 < g.height_col:
        h1 = min(h0 + g.max_rows, g.height_col)
        span = (h1 - h0) * g.width_pad
        spread_grad_output(src, g, h0, h1, staging)
        conv_gemm(True, cg * kk, span, g.out_channels, weight + c_lo * kk,
                  g.ckk, staging, span, False, column, span)
        csrc.col2im_span_add(column, cg, g.height_pad, g.width_pad, g.kernel_h,
                             g.kernel_w, g.width_col, h0, h1, dst)
        h0 = h1


cdef inline void image_from_columns(const floating *weight, const floating *src,
                                    floating *dst, floating *column, floating *staging,
                                    floating *padded, Geometry *g, Py_ssize_t c_lo,
                                    Py_ssize_t cg) noexcept nogil:
    """dst := col2im(weight[:, c_lo:c_lo + cg].T @ src) for one sample: the
    image channels [c_lo, c_lo + cg) (height x width each) that the
    columns of src (out_channels, height_col x width_col) spread back to;
    weight is conv's (out_channels, channels * kernel_h * kernel_w). conv's
    input gradient (src = the output gradient) and the transposed
    convolution's forward (src = its input). ``column``, ``staging`` and
    ``padded`` are the thread's scratch (_conv_plan.pxd)."""
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t plane = g.height * g.width
    cdef Py_ssize_t kk = g.kernel_h * g.kernel_w
    cdef Py_ssize_t h0, h1, nb
    if g.pointwise:
        conv_gemm(True, cg, size_col, g.out_channels, weight + c_lo, g.ckk, src,
                  size_col, False, dst, plane)
        return
    if g.span:
        _image_from_span_columns(weight, src, dst if not g.padded else padded, column,
                                 staging, g, c_lo, cg)
        if g.padded:
            csrc.crop_image(padded, cg, g.height_pad, g.width_pad, g.pad_top, g.pad_left,
                            g.height, g.width, dst)
        return
    memset(dst, 0, cg * plane * sizeof(floating))
    h0 = 0
    while h0 < g.height_col:
        h1 = min(h0 + g.max_rows, g.height_col)
        nb = (h1 - h0) * g.width_col
        conv_gemm(True, cg * kk, nb, g.out_channels, weight + c_lo * kk, g.ckk,
                  src + h0 * g.width_col, size_col, False, column, nb)
        csrc.col2im_add(column, cg, g.height, g.width, g.height_col, g.width_col,
                        g.kernel_h, g.kernel_w, g.pad_top, g.pad_left, g.stride_h,
                        g.stride_w, g.dilation_h, g.dilation_w, h0, h1, dst)
        h0 = h1
