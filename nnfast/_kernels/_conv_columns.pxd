# How the im2col kernels (conv_im2col.pyx) fill a thread's scratch from a
# Geometry: plain column rows (im2col, or none for a pointwise kernel), span
# columns (of the sample or of its padded copy), and the output gradient's
# block in span layout or transposed. Where that scratch lies is
# _conv_plan.pxd's.
from cython cimport floating

from nnfast._kernels cimport _conv_c as csrc
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
