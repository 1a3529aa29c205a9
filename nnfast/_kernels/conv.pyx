# distutils: sources = csrc/im2col.c csrc/im2col_span.c csrc/conv_direct.c
"""2-D convolution kernels: im2col + GEMM, and direct (no column buffer).

im2col + GEMM. Work is cut into items of (sample, block of output rows); each
OpenMP thread takes a contiguous run of items and, for each, unrolls the
block into its own column buffer (``csrc/im2col.c``) and runs a
single-threaded GEMM on it (../DESIGN.md, "Threads"). A block holds as many
output rows as fit the column budget (``set_column_bytes``, 256 KiB by
default: half this machine's 512 KiB L2 per core), so a layer's extra memory
is one buffer per thread whatever the batch size, and the buffer is still in
cache when the GEMM reads it. When the batch is smaller than the thread
count the rows are cut finer (forward, weight gradient) or the input
channels are split (input gradient), so every thread has work. The weight
gradient is a sum over items: thread 0 accumulates straight into
``grad_weight``, every other thread into its own slice of the workspace,
added in at the end. A 1x1 kernel with stride 1 and no padding needs no
column buffer: the image already is its column matrix.

Span columns. With stride 1 and dilation 1, the im2col kernels can compute
each output row at every position of the padded input row and discard the
last kernel_w - 1 (``csrc/im2col_span.h``): each column row is then one
contiguous span of the (padded) image, so im2col is a copy and col2im a
vector add per kernel tap, for width_pad / width_col times the GEMM work.
``set_span_columns`` says when (see ``_use_span``).

Direct. One (sample, channel) plane per item (``csrc/conv_direct.c``);
faster than im2col when channels * kernel_h * kernel_w is small (a first
layer on images), where the GEMM is too thin to pay for the buffer.

Geometry arguments, as in the layer: ``stride`` = (stride_h, stride_w),
``padding`` = (top, bottom, left, right), ``dilation`` = (dilation_h,
dilation_w). The output size comes from ``out``'s shape, which the caller
computed from them.
"""
from cython cimport floating
from cython.parallel cimport parallel, threadid
from libc.stdint cimport int64_t
from libc.string cimport memset

import numpy as np

from nnfast._kernels._blas cimport gemm
from nnfast._kernels._math cimport f_relu
from nnfast._kernels._openmp cimport omp_get_num_threads, nnfast_flush_denormals
from nnfast._kernels._threads cimport threads_for, max_threads, split_range


cdef extern from "im2col.h" nogil:
    void im2col_f32(const float *data_im, int64_t channels, int64_t height,
                    int64_t width, int64_t height_col, int64_t width_col,
                    int64_t kernel_h, int64_t kernel_w, int64_t pad_h,
                    int64_t pad_w, int64_t stride_h, int64_t stride_w,
                    int64_t dilation_h, int64_t dilation_w,
                    int64_t h_col_begin, int64_t h_col_end, float *data_col)
    void im2col_f64(const double *data_im, int64_t channels, int64_t height,
                    int64_t width, int64_t height_col, int64_t width_col,
                    int64_t kernel_h, int64_t kernel_w, int64_t pad_h,
                    int64_t pad_w, int64_t stride_h, int64_t stride_w,
                    int64_t dilation_h, int64_t dilation_w,
                    int64_t h_col_begin, int64_t h_col_end, double *data_col)
    void col2im_add_f32(const float *data_col, int64_t channels, int64_t height,
                        int64_t width, int64_t height_col, int64_t width_col,
                        int64_t kernel_h, int64_t kernel_w, int64_t pad_h,
                        int64_t pad_w, int64_t stride_h, int64_t stride_w,
                        int64_t dilation_h, int64_t dilation_w,
                        int64_t h_col_begin, int64_t h_col_end, float *data_im)
    void col2im_add_f64(const double *data_col, int64_t channels, int64_t height,
                        int64_t width, int64_t height_col, int64_t width_col,
                        int64_t kernel_h, int64_t kernel_w, int64_t pad_h,
                        int64_t pad_w, int64_t stride_h, int64_t stride_w,
                        int64_t dilation_h, int64_t dilation_w,
                        int64_t h_col_begin, int64_t h_col_end, double *data_im)
    void col2im_f32(const float *data_col, int64_t channels, int64_t height,
                    int64_t width, int64_t height_col, int64_t width_col,
                    int64_t kernel_h, int64_t kernel_w, int64_t pad_h,
                    int64_t pad_w, int64_t stride_h, int64_t stride_w,
                    int64_t dilation_h, int64_t dilation_w, float *data_im)
    void col2im_f64(const double *data_col, int64_t channels, int64_t height,
                    int64_t width, int64_t height_col, int64_t width_col,
                    int64_t kernel_h, int64_t kernel_w, int64_t pad_h,
                    int64_t pad_w, int64_t stride_h, int64_t stride_w,
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
        int64_t pad_h, int64_t pad_w, int64_t stride_h, int64_t stride_w,
        int64_t dilation_h, int64_t dilation_w, int64_t height_col,
        int64_t width_col, float *out)
    void conv2d_direct_forward_plane_f64(
        const double *x, int64_t channels, int64_t height, int64_t width,
        const double *weight, int64_t kernel_h, int64_t kernel_w, double bias,
        int64_t pad_h, int64_t pad_w, int64_t stride_h, int64_t stride_w,
        int64_t dilation_h, int64_t dilation_w, int64_t height_col,
        int64_t width_col, double *out)
    void conv2d_direct_backward_input_plane_f32(
        const float *grad_out, int64_t out_channels, int64_t height_col,
        int64_t width_col, const float *weight, int64_t channels, int64_t c,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_h, int64_t pad_w,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, int64_t height, int64_t width, float *grad_x)
    void conv2d_direct_backward_input_plane_f64(
        const double *grad_out, int64_t out_channels, int64_t height_col,
        int64_t width_col, const double *weight, int64_t channels, int64_t c,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_h, int64_t pad_w,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, int64_t height, int64_t width, double *grad_x)
    void conv2d_direct_backward_weight_plane_f32(
        const float *x, int64_t batch, int64_t channels, int64_t c,
        int64_t height, int64_t width, const float *grad_out,
        int64_t out_channels, int64_t o, int64_t height_col, int64_t width_col,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_h, int64_t pad_w,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, float *grad_weight)
    void conv2d_direct_backward_weight_plane_f64(
        const double *x, int64_t batch, int64_t channels, int64_t c,
        int64_t height, int64_t width, const double *grad_out,
        int64_t out_channels, int64_t o, int64_t height_col, int64_t width_col,
        int64_t kernel_h, int64_t kernel_w, int64_t pad_h, int64_t pad_w,
        int64_t stride_h, int64_t stride_w, int64_t dilation_h,
        int64_t dilation_w, double *grad_weight)


# Bytes of one thread's column buffer. 256 KiB: half of this machine's L2 per
# core, leaving room for the GEMM's packed panels of the other operand.
cdef Py_ssize_t _column_bytes = 256 * 1024

# Span columns: 0 never, 1 whenever stride and dilation are 1, 2 by _use_span.
cdef int _span_mode = 2
SPAN_MODES = {"never": 0, "always": 1, "auto": 2}

# The weight gradient's GEMM with the output gradient as it is (0), or
# transposed first (1), or by _transpose_grad_out (2).
cdef int _grad_out_layout = 2
GRAD_OUT_LAYOUTS = {"as_is": 0, "transposed": 1, "auto": 2}


cdef struct Geometry:
    Py_ssize_t batch, channels, height, width
    Py_ssize_t out_channels, kernel_h, kernel_w, height_col, width_col
    Py_ssize_t pad_h, pad_w              # top and left padding
    Py_ssize_t stride_h, stride_w, dilation_h, dilation_w
    Py_ssize_t ckk                       # channels * kernel_h * kernel_w: GEMM depth
    Py_ssize_t max_rows                  # output rows one column buffer holds
    Py_ssize_t rows, blocks              # this call's rows per item, items per sample
    bint pointwise                       # 1x1, stride 1, unpadded: no buffer needed
    bint span                            # span columns (stride and dilation 1)
    bint padded                          # span columns of a padded copy of the sample
    Py_ssize_t height_pad, width_pad     # the padded image's size (span columns)


# The three passes, which may choose differently between the column layouts.
cdef enum Pass:
    FORWARD, WEIGHT_GRAD, INPUT_GRAD


cdef Geometry _geometry(Py_ssize_t *x_shape, Py_ssize_t *w_shape,
                        Py_ssize_t *out_shape, stride, padding, dilation,
                        Py_ssize_t itemsize, Pass kind=FORWARD):
    cdef Geometry g
    g.batch, g.channels = x_shape[0], x_shape[1]
    g.height, g.width = x_shape[2], x_shape[3]
    g.out_channels, g.kernel_h, g.kernel_w = w_shape[0], w_shape[2], w_shape[3]
    g.height_col, g.width_col = out_shape[2], out_shape[3]
    g.stride_h, g.stride_w = stride[0], stride[1]
    g.pad_h, g.pad_w = padding[0], padding[2]
    g.dilation_h, g.dilation_w = dilation[0], dilation[1]
    g.ckk = g.channels * g.kernel_h * g.kernel_w
    g.pointwise = (g.kernel_h == 1 and g.kernel_w == 1 and g.stride_h == 1
                   and g.stride_w == 1 and g.pad_h == 0 and g.pad_w == 0
                   and g.height_col == g.height and g.width_col == g.width)
    g.height_pad = g.height_col + g.kernel_h - 1
    g.width_pad = g.width_col + g.kernel_w - 1
    g.padded = g.height_pad != g.height or g.width_pad != g.width
    g.span = (not g.pointwise and g.stride_h == 1 and g.stride_w == 1
              and g.dilation_h == 1 and g.dilation_w == 1
              and (_span_mode == 1 or (_span_mode == 2 and _use_span(&g, kind))))
    _set_rows(&g, itemsize)
    return g


cdef bint _use_span(Geometry *g, Pass kind) noexcept nogil:
    """Whether span columns pay ("auto"), as measured per pass with
    ``python bench/conv_phases.py --span-columns never|always`` (float32,
    batch 64, one thread, median ms, Xeon with AVX-512; plain / span):

    ===========================  ===========  ===========  ===========
    layer                        forward      weight grad  input grad
    ===========================  ===========  ===========  ===========
    32->64 3x3 pad 1, 14x14      4.25 / 4.38  4.13 / 4.38  4.31 / 4.00
    1->32 3x3 pad 1, 28x28       0.48 / 0.53  0.70 / 0.84  0.39 / 0.55
    LeNet 1->6 5x5 pad 2, 28x28  0.30 / 0.28  0.34 / 0.36  0.35 / 0.34
    LeNet 6->16 5x5, 14x14       0.38 / 0.40  0.59 / 0.73  0.61 / 0.38
    ===========================  ===========  ===========  ===========

    The weight gradient's GEMM grows by width_pad / width_col and the plain
    im2col is cheap: plain. The input gradient gains on rows of up to 14
    pixels, where the plain col2im's per-row adds are shortest. The forward
    is close; in whole LeNet-5 training steps at 2 threads
    (``python bench/profile_layers.py``) span columns took the first
    layer's forward from 200 to 167 us and cost the second 10 us, so they
    are used where the GEMM is shallowest (channels * kernel_h * kernel_w
    < 64, a first layer on images).
    """
    if kind == FORWARD:
        return g.ckk < 64
    if kind == WEIGHT_GRAD:
        return False
    return g.width_col <= 16


cdef void _set_rows(Geometry *g, Py_ssize_t itemsize) noexcept nogil:
    """g.max_rows: the output rows whose columns fit the column budget."""
    cdef Py_ssize_t width = g.width_pad if g.span else g.width_col
    g.max_rows = _column_bytes // itemsize // (g.ckk * width)
    if g.max_rows < 1:
        g.max_rows = 1
    if g.max_rows > g.height_col:
        g.max_rows = g.height_col
    g.rows = g.max_rows
    g.blocks = (g.height_col + g.rows - 1) // g.rows


cdef inline Py_ssize_t _column_size(Geometry *g) noexcept nogil:
    """Elements of one thread's scratch: its column buffer, and for span
    columns an (out_channels, rows * width_pad) block for the GEMM's output
    or the output gradient, and a padded copy of one sample."""
    if g.pointwise:
        return 0
    if not g.span:
        # the column buffer, then the transposed output gradient's block
        return g.max_rows * g.width_col * (g.ckk + g.out_channels)
    return (g.max_rows * g.width_pad * (g.ckk + g.out_channels)
            + (g.channels * g.height_pad * g.width_pad if g.padded else 0))


cdef inline floating *_staging(Geometry *g, floating *column) noexcept nogil:
    """Where a thread's scratch holds, after its column buffer, the block of
    the GEMM's output or of the output gradient (see _column_size)."""
    return column + g.max_rows * g.ckk * (g.width_pad if g.span else g.width_col)


cdef inline floating *_padded_copy(Geometry *g, floating *staging) noexcept nogil:
    """Where it holds the padded copy of one sample (span columns)."""
    return staging + g.max_rows * g.out_channels * g.width_pad


cdef inline Py_ssize_t _workspace_size(Geometry *g, int nt) noexcept nogil:
    """nt column buffers, then nt - 1 weight-gradient accumulators."""
    return nt * _column_size(g) + (nt - 1) * g.out_channels * g.ckk


cdef int _plan(Geometry *g, double flops, Py_ssize_t workspace_len) noexcept nogil:
    """Threads for this call (as many as the work and the workspace allow),
    and g.rows / g.blocks so that there is at least one item per thread."""
    cdef int nt = threads_for(flops)
    if nt > g.batch * g.height_col:
        nt = <int>(g.batch * g.height_col)
    while nt > 1 and _workspace_size(g, nt) > workspace_len:
        nt -= 1
    if g.batch * g.blocks < nt:
        g.blocks = (nt + g.batch - 1) // g.batch
        if g.blocks > g.height_col:
            g.blocks = g.height_col
        g.rows = (g.height_col + g.blocks - 1) // g.blocks
        g.blocks = (g.height_col + g.rows - 1) // g.rows
    return nt


def _code_of(table, value, name):
    """table[value], or ValueError naming the choices."""
    if value not in table:
        raise ValueError(f"{name} must be one of {sorted(table)}, got {value!r}")
    return table[value]


def _name_of(table, code):
    return {v: k for k, v in table.items()}[code]


def set_weight_grad_layout(layout):
    """How the weight gradient's GEMM reads the output gradient: "as_is",
    "transposed" (copied to (rows, out_channels) first) or "auto" (default:
    where that measured faster, see ``_transpose_grad_out``). For tests,
    which cover both, and for tuning."""
    global _grad_out_layout
    _grad_out_layout = _code_of(GRAD_OUT_LAYOUTS, layout, "layout")


def get_weight_grad_layout():
    """"as_is", "transposed" or "auto" (see ``set_weight_grad_layout``)."""
    return _name_of(GRAD_OUT_LAYOUTS, _grad_out_layout)


def set_span_columns(mode):
    """When the im2col kernels use span columns (stride 1, dilation 1 only):
    "auto" (default: where they measured faster), "always" or "never". For
    tests, which cover both paths, and for tuning."""
    global _span_mode
    _span_mode = _code_of(SPAN_MODES, mode, "mode")


def get_span_columns():
    """"auto", "always" or "never" (see ``set_span_columns``)."""
    return _name_of(SPAN_MODES, _span_mode)


def set_column_bytes(Py_ssize_t nbytes):
    """Set the byte size of one thread's im2col buffer (>= 1; one output row
    is the floor). For tests (small values force many blocks) and tuning."""
    global _column_bytes
    _column_bytes = nbytes if nbytes > 0 else 1


def get_column_bytes():
    """Byte size of one thread's im2col buffer."""
    return _column_bytes


def conv2d_workspace_size(weight_shape, out_shape, dtype):
    """Elements of ``dtype`` the im2col kernels need as ``workspace``.

    Enough for ``nnfast.get_num_threads()`` threads: one column buffer each
    (bounded by ``get_column_bytes()``, not by the batch size) and one
    weight-gradient accumulator per thread but the first. Given a smaller
    workspace (threads added since), the kernels use fewer threads; given
    less than one thread's share, they would write past it.

    Parameters
    ----------
    weight_shape : (out_channels, in_channels, kernel_h, kernel_w)
    out_shape : (n_samples, out_channels, height_col, width_col)
    dtype : np.float32 or np.float64
    """
    cdef Py_ssize_t x_shape[4]
    cdef Py_ssize_t w_shape[4]
    cdef Py_ssize_t o_shape[4]
    for i in range(4):
        w_shape[i] = weight_shape[i]
        o_shape[i] = out_shape[i]
    x_shape[0], x_shape[1] = out_shape[0], weight_shape[1]
    x_shape[2], x_shape[3] = out_shape[2], out_shape[3]
    cdef Py_ssize_t itemsize = np.dtype(dtype).itemsize
    cdef Geometry g = _geometry(x_shape, w_shape, o_shape, (1, 1), (0, 0, 0, 0),
                                (1, 1), itemsize)
    # Sized for the larger of the two column layouts, padded, as if a column
    # buffer were needed: stride and padding, which decide, are not
    # arguments here (the 1x1 shortcut needs none).
    g.pointwise = False
    g.span = False
    _set_rows(&g, itemsize)
    cdef Py_ssize_t plain = _workspace_size(&g, max_threads())
    g.span = True
    g.padded = True
    _set_rows(&g, itemsize)
    return max(plain, _workspace_size(&g, max_threads()))


# -- dispatch on the element type -------------------------------------------

cdef inline void _im2col(const floating *im, Geometry *g, Py_ssize_t h0,
                         Py_ssize_t h1, floating *col) noexcept nogil:
    if floating is float:
        im2col_f32(im, g.channels, g.height, g.width, g.height_col, g.width_col,
                   g.kernel_h, g.kernel_w, g.pad_h, g.pad_w, g.stride_h,
                   g.stride_w, g.dilation_h, g.dilation_w, h0, h1, col)
    else:
        im2col_f64(im, g.channels, g.height, g.width, g.height_col, g.width_col,
                   g.kernel_h, g.kernel_w, g.pad_h, g.pad_w, g.stride_h,
                   g.stride_w, g.dilation_h, g.dilation_w, h0, h1, col)


cdef inline void _col2im_add(const floating *col, Py_ssize_t channels,
                             Geometry *g, Py_ssize_t h0, Py_ssize_t h1,
                             floating *im) noexcept nogil:
    if floating is float:
        col2im_add_f32(col, channels, g.height, g.width, g.height_col,
                       g.width_col, g.kernel_h, g.kernel_w, g.pad_h, g.pad_w,
                       g.stride_h, g.stride_w, g.dilation_h, g.dilation_w,
                       h0, h1, im)
    else:
        col2im_add_f64(col, channels, g.height, g.width, g.height_col,
                       g.width_col, g.kernel_h, g.kernel_w, g.pad_h, g.pad_w,
                       g.stride_h, g.stride_w, g.dilation_h, g.dilation_w,
                       h0, h1, im)


cdef inline const floating *_span_source(const floating *sample, Geometry *g,
                                         floating *padded, Py_ssize_t n,
                                         Py_ssize_t *padded_n) noexcept nogil:
    """Sample n as span columns read it: itself, or its padded copy in
    ``padded`` (made unless *padded_n says it is there already)."""
    if not g.padded:
        return sample
    if padded_n[0] != n:
        if floating is float:
            pad_image_f32(sample, g.channels, g.height, g.width, g.pad_h, g.pad_w,
                          g.height_pad, g.width_pad, padded)
        else:
            pad_image_f64(sample, g.channels, g.height, g.width, g.pad_h, g.pad_w,
                          g.height_pad, g.width_pad, padded)
        padded_n[0] = n
    return padded


cdef inline void _im2col_span(const floating *src, Geometry *g, Py_ssize_t h0,
                              Py_ssize_t h1, floating *col) noexcept nogil:
    if floating is float:
        im2col_span_f32(src, g.channels, g.height_pad, g.width_pad, g.kernel_h,
                        g.kernel_w, g.width_col, h0, h1, col)
    else:
        im2col_span_f64(src, g.channels, g.height_pad, g.width_pad, g.kernel_h,
                        g.kernel_w, g.width_col, h0, h1, col)


cdef inline void _spread_rows(const floating *grad_out, Geometry *g,
                              Py_ssize_t h0, Py_ssize_t h1,
                              floating *staging) noexcept nogil:
    """staging := grad_out's rows [h0, h1) of every channel, in span layout."""
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    if floating is float:
        spread_rows_f32(grad_out + h0 * g.width_col, g.out_channels, h1 - h0,
                        g.width_col, size_col, g.width_pad, staging)
    else:
        spread_rows_f64(grad_out + h0 * g.width_col, g.out_channels, h1 - h0,
                        g.width_col, size_col, g.width_pad, staging)


cdef inline floating _sum(const floating *p, Py_ssize_t n) noexcept nogil:
    """sum(p[:n]) with four independent partial sums (vectorizable without
    -ffast-math, and a shorter dependency chain)."""
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t i = 0
    while i + 4 <= n:
        s0 += p[i]
        s1 += p[i + 1]
        s2 += p[i + 2]
        s3 += p[i + 3]
        i += 4
    while i < n:
        s0 += p[i]
        i += 1
    return (s0 + s1) + (s2 + s3)


# -- im2col / col2im ----------------------------------------------------------

def im2col(const floating[:, :, ::1] image, kernel_size, stride, padding,
           dilation, floating[:, :, ::1] col):
    """col[c_col, h_col, w_col] := image[c_im, h_im, w_im], 0 in the padding.

    c_col = (c_im * kernel_h + h_offset) * kernel_w + w_offset,
    h_im = h_col * stride_h - pad_top + h_offset * dilation_h (w alike).

    Parameters
    ----------
    image : ndarray of shape (channels, height, width)                       # IN
    kernel_size, stride, dilation : (h, w) pairs of int
    padding : (top, bottom, left, right)
    col : ndarray of shape (channels * kernel_h * kernel_w, height_col, width_col)  # OUT
    """
    cdef Py_ssize_t kh = kernel_size[0], kw = kernel_size[1]
    cdef Py_ssize_t sh = stride[0], sw = stride[1]
    cdef Py_ssize_t ph = padding[0], pw = padding[2]
    cdef Py_ssize_t dh = dilation[0], dw = dilation[1]
    with nogil:
        if floating is float:
            im2col_f32(&image[0, 0, 0], image.shape[0], image.shape[1],
                       image.shape[2], col.shape[1], col.shape[2], kh, kw, ph,
                       pw, sh, sw, dh, dw, 0, col.shape[1], &col[0, 0, 0])
        else:
            im2col_f64(&image[0, 0, 0], image.shape[0], image.shape[1],
                       image.shape[2], col.shape[1], col.shape[2], kh, kw, ph,
                       pw, sh, sw, dh, dw, 0, col.shape[1], &col[0, 0, 0])


def col2im(const floating[:, :, ::1] col, kernel_size, stride, padding,
           dilation, floating[:, :, ::1] image):
    """image := 0, then every col entry added back at the pixel im2col took it
    from (the adjoint of ``im2col``; overlapping windows add up).

    Parameters
    ----------
    col : ndarray of shape (channels * kernel_h * kernel_w, height_col, width_col)  # IN
    kernel_size, stride, dilation : (h, w) pairs of int
    padding : (top, bottom, left, right)
    image : ndarray of shape (channels, height, width)                       # OUT
    """
    cdef Py_ssize_t kh = kernel_size[0], kw = kernel_size[1]
    cdef Py_ssize_t sh = stride[0], sw = stride[1]
    cdef Py_ssize_t ph = padding[0], pw = padding[2]
    cdef Py_ssize_t dh = dilation[0], dw = dilation[1]
    with nogil:
        if floating is float:
            col2im_f32(&col[0, 0, 0], image.shape[0], image.shape[1],
                       image.shape[2], col.shape[1], col.shape[2], kh, kw, ph,
                       pw, sh, sw, dh, dw, &image[0, 0, 0])
        else:
            col2im_f64(&col[0, 0, 0], image.shape[0], image.shape[1],
                       image.shape[2], col.shape[1], col.shape[2], kh, kw, ph,
                       pw, sh, sw, dh, dw, &image[0, 0, 0])


# -- im2col + GEMM --------------------------------------------------------------

cdef inline void _add_bias(floating *p, Py_ssize_t n, floating b,
                           bint relu) noexcept nogil:
    """p[:n] += b, then ReLU'd if relu."""
    cdef Py_ssize_t i
    if relu:
        for i in range(n):
            p[i] = f_relu(p[i] + b)
    else:
        for i in range(n):
            p[i] += b


cdef void _forward_im2col_block(const floating *x, const floating *weight,
                                const floating *bias, floating *out,
                                floating *workspace, Geometry *g, bint relu,
                                int t, int nt) noexcept nogil:
    """Thread t's items: out[n, :, rows] := weight @ columns + bias, then
    ReLU'd if relu."""
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t image = g.channels * g.height * g.width
    cdef Py_ssize_t lo, hi, item, n, h0, h1, nb, ldcol, o, p, span
    cdef Py_ssize_t padded_n = -1
    cdef floating *column = workspace + t * _column_size(g)
    cdef floating *staging = _staging(g, column)
    cdef floating *padded = _padded_copy(g, staging)
    cdef const floating *col
    cdef floating *dst
    cdef floating b
    split_range(g.batch * g.blocks, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // g.blocks
        h0 = (item % g.blocks) * g.rows
        h1 = min(h0 + g.rows, g.height_col)
        nb = (h1 - h0) * g.width_col
        dst = out + n * g.out_channels * size_col + h0 * g.width_col
        if g.span:
            span = (h1 - h0) * g.width_pad
            _im2col_span(_span_source(x + n * image, g, padded, n, &padded_n),
                         g, h0, h1, column)
            gemm(False, False, g.out_channels, span, g.ckk, 1, weight, g.ckk,
                 column, span, 0, staging, span)
            # discard the extra positions, add the bias
            if floating is float:
                pack_rows_f32(staging, g.out_channels, h1 - h0, g.width_col,
                              g.width_pad, bias, relu, size_col, dst)
            else:
                pack_rows_f64(staging, g.out_channels, h1 - h0, g.width_col,
                              g.width_pad, bias, relu, size_col, dst)
            continue
        if g.pointwise:
            col = x + n * image + h0 * g.width_col
            ldcol = size_col
        else:
            _im2col(x + n * image, g, h0, h1, column)
            col = column
            ldcol = nb
        gemm(False, False, g.out_channels, nb, g.ckk, 1, weight, g.ckk, col,
             ldcol, 0, dst, size_col)
        # bias (and ReLU) while the block is still in cache
        for o in range(g.out_channels):
            _add_bias(dst + o * size_col, nb, bias[o], relu)


def conv2d_forward_im2col(const floating[:, :, :, ::1] x,
                          const floating[:, :, :, ::1] weight,
                          const floating[::1] bias, stride, padding, dilation,
                          floating[:, :, :, ::1] out, floating[::1] workspace,
                          bint relu=False):
    """out := conv2d(x, weight) + bias (cross-correlation, as PyTorch's), then
    max(out, 0) if ``relu`` (a ReLU layer after it, fused into the pass that
    adds the bias).

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_channels, height, width)                 # IN
    weight : ndarray of shape (out_channels, in_channels, kernel_h, kernel_w)    # IN
    bias : ndarray of shape (out_channels,)                                      # IN
    stride, dilation : (h, w) pairs of int
    padding : (top, bottom, left, right)
    out : ndarray of shape (n_samples, out_channels, height_col, width_col)      # OUT
    workspace : ndarray of shape (>= conv2d_workspace_size(...),)               # scratch
    """
    cdef Geometry g = _geometry(x.shape, weight.shape, out.shape, stride,
                                padding, dilation, sizeof(floating))
    cdef int nt = _plan(&g, 2.0 * g.batch * g.out_channels * g.ckk
                        * g.height_col * g.width_col, workspace.shape[0])
    cdef floating *ws = &workspace[0] if workspace.shape[0] > 0 else NULL
    if nt <= 1:
        with nogil:
            nnfast_flush_denormals()
            _forward_im2col_block(&x[0, 0, 0, 0], &weight[0, 0, 0, 0], &bias[0],
                                  &out[0, 0, 0, 0], ws, &g, relu, 0, 1)
        return
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        _forward_im2col_block(&x[0, 0, 0, 0], &weight[0, 0, 0, 0], &bias[0],
                              &out[0, 0, 0, 0], ws, &g, relu, threadid(),
                              omp_get_num_threads())


cdef bint _transpose_grad_out(Geometry *g) noexcept nogil:
    """Whether the weight gradient's GEMM reads the output gradient
    transposed ("auto").

    Weight gradient, ms, one thread, batch 64 (``bench/conv_phases.py``
    with ``set_weight_grad_layout("as_is" | "transposed")``):

    ===========================  =======  ===========  ==========
    layer                        as is    transposed   O * ckk
    ===========================  =======  ===========  ==========
    LeNet 6->16 5x5, 14x14       0.67     0.51         2400
    LeNet 1->6 5x5 pad 2         0.39     0.64         150
    1->32 3x3 pad 1, 28x28       0.73     2.86         288
    32->64 3x3 pad 1, 14x14      4.63     4.92         18432
    ===========================  =======  ===========  ==========

    OpenBLAS picks a kernel by the product's shape and transposes. The
    pattern (and NumPy's OpenBLAS alike) fits its small-matrix kernels: the
    as-is product leaves them when out_channels * ckk passes ~1200, the
    transposed one keeps them up to ~10^6 multiply-adds, and beyond both
    the packed kernels do about as well either way. So: transposed between
    those two bounds.
    """
    if _grad_out_layout != 2:
        return _grad_out_layout == 1
    return (g.out_channels * g.ckk > 1200
            and g.out_channels * g.ckk * g.max_rows * g.width_col <= 1000000)


cdef inline void _transpose_block(const floating *src, Py_ssize_t rows,
                                  Py_ssize_t cols, Py_ssize_t ld,
                                  floating *dst) noexcept nogil:
    """dst (cols, rows) := src (rows, cols, row stride ld) transposed."""
    cdef Py_ssize_t i, j
    for i in range(rows):
        for j in range(cols):
            dst[j * rows + i] = src[i * ld + j]


cdef void _backward_weight_im2col_block(const floating *x,
                                        const floating *grad_out,
                                        floating *grad_weight,
                                        floating *grad_bias,
                                        floating *workspace, Geometry *g,
                                        int t, int nt, int nt_planned) noexcept nogil:
    """Thread t's share of grad_bias (a block of channels) and of grad_weight
    (its items, summed into its own accumulator)."""
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t image = g.channels * g.height * g.width
    cdef Py_ssize_t lo, hi, item, n, h0, h1, nb, ldcol, o, span
    cdef Py_ssize_t padded_n = -1
    cdef floating *column = workspace + t * _column_size(g)
    cdef floating *staging = _staging(g, column)
    cdef floating *padded = _padded_copy(g, staging)
    cdef bint transpose = _transpose_grad_out(g)
    cdef const floating *gn
    cdef floating *acc = grad_weight
    cdef const floating *col
    cdef floating s
    if t > 0:
        acc = (workspace + nt_planned * _column_size(g)
               + (t - 1) * g.out_channels * g.ckk)
    split_range(g.out_channels, t, nt, &lo, &hi)
    for o in range(lo, hi):
        s = 0
        for n in range(g.batch):
            s = s + _sum(grad_out + (n * g.out_channels + o) * size_col, size_col)
        grad_bias[o] += s
    split_range(g.batch * g.blocks, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // g.blocks
        h0 = (item % g.blocks) * g.rows
        h1 = min(h0 + g.rows, g.height_col)
        nb = (h1 - h0) * g.width_col
        if g.span:
            span = (h1 - h0) * g.width_pad
            _im2col_span(_span_source(x + n * image, g, padded, n, &padded_n),
                         g, h0, h1, column)
            _spread_rows(grad_out + n * g.out_channels * size_col, g, h0, h1, staging)
            gemm(False, True, g.out_channels, g.ckk, span, 1, staging, span,
                 column, span, 1, acc, g.ckk)
            continue
        gn = grad_out + n * g.out_channels * size_col + h0 * g.width_col
        if g.pointwise:
            col = x + n * image + h0 * g.width_col
            ldcol = size_col
        else:
            _im2col(x + n * image, g, h0, h1, column)
            col = column
            ldcol = nb
            if transpose:
                # acc += (the block's grad_out, as (nb, out_channels)).T @ col.T
                _transpose_block(gn, g.out_channels, nb, size_col, staging)
                gemm(True, True, g.out_channels, g.ckk, nb, 1, staging,
                     g.out_channels, col, ldcol, 1, acc, g.ckk)
                continue
        gemm(False, True, g.out_channels, g.ckk, nb, 1, gn, size_col, col,
             ldcol, 1, acc, g.ckk)


cdef void _backward_input_im2col_block(const floating *weight,
                                       const floating *grad_out,
                                       floating *grad_x, floating *workspace,
                                       Geometry *g, Py_ssize_t groups, int t,
                                       int nt) noexcept nogil:
    """Thread t's items of (sample, group of input channels):
    grad_x[n, channels] := col2im(weight[:, channels].T @ grad_out[n])."""
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t plane = g.height * g.width
    cdef Py_ssize_t kk = g.kernel_h * g.kernel_w
    cdef Py_ssize_t lo, hi, item, n, c_lo, c_hi, cg, h0, h1, nb, span
    cdef floating *column = workspace + t * _column_size(g)
    cdef floating *staging = _staging(g, column)
    cdef floating *padded = _padded_copy(g, staging)
    cdef floating *gx
    cdef const floating *gn
    split_range(g.batch * groups, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // groups
        split_range(g.channels, <int>(item % groups), <int>groups, &c_lo, &c_hi)
        cg = c_hi - c_lo
        if cg <= 0:
            continue
        gx = grad_x + (n * g.channels + c_lo) * plane
        gn = grad_out + n * g.out_channels * size_col
        if g.pointwise:
            gemm(True, False, cg, size_col, g.out_channels, 1, weight + c_lo,
                 g.ckk, gn, size_col, 0, gx, plane)
            continue
        if g.span:
            _backward_input_span(weight, gn, gx if not g.padded else padded,
                                 column, staging, g, c_lo, cg)
            if g.padded:
                if floating is float:
                    crop_image_f32(padded, cg, g.height_pad, g.width_pad, g.pad_h,
                                   g.pad_w, g.height, g.width, gx)
                else:
                    crop_image_f64(padded, cg, g.height_pad, g.width_pad, g.pad_h,
                                   g.pad_w, g.height, g.width, gx)
            continue
        memset(gx, 0, cg * plane * sizeof(floating))
        h0 = 0
        while h0 < g.height_col:
            h1 = min(h0 + g.max_rows, g.height_col)
            nb = (h1 - h0) * g.width_col
            gemm(True, False, cg * kk, nb, g.out_channels, 1, weight + c_lo * kk,
                 g.ckk, gn + h0 * g.width_col, size_col, 0, column, nb)
            _col2im_add(column, cg, g, h0, h1, gx)
            h0 = h1


cdef void _backward_input_span(const floating *weight, const floating *gn,
                               floating *dst, floating *column,
                               floating *staging, Geometry *g, Py_ssize_t c_lo,
                               Py_ssize_t cg) noexcept nogil:
    """dst := the gradient of the (padded) input channels [c_lo, c_lo + cg)
    of one sample, from its output gradient gn, block by block of rows."""
    cdef Py_ssize_t kk = g.kernel_h * g.kernel_w
    cdef Py_ssize_t h0 = 0, h1, span
    memset(dst, 0, cg * g.height_pad * g.width_pad * sizeof(floating))
    while h0 < g.height_col:
        h1 = min(h0 + g.max_rows, g.height_col)
        span = (h1 - h0) * g.width_pad
        _spread_rows(gn, g, h0, h1, staging)
        gemm(True, False, cg * kk, span, g.out_channels, 1, weight + c_lo * kk,
             g.ckk, staging, span, 0, column, span)
        if floating is float:
            col2im_span_add_f32(column, cg, g.height_pad, g.width_pad, g.kernel_h,
                                g.kernel_w, g.width_col, h0, h1, dst)
        else:
            col2im_span_add_f64(column, cg, g.height_pad, g.width_pad, g.kernel_h,
                                g.kernel_w, g.width_col, h0, h1, dst)
        h0 = h1


def conv2d_backward_im2col(const floating[:, :, :, ::1] x,
                           const floating[:, :, :, ::1] weight,
                           const floating[:, :, :, ::1] grad_out, stride,
                           padding, dilation, floating[:, :, :, ::1] grad_x,
                           floating[:, :, :, ::1] grad_weight,
                           floating[::1] grad_bias, floating[::1] workspace):
    """Gradients of out = conv2d(x, weight) + bias.

    grad_weight += sum_n grad_out[n] @ im2col(x[n]).T;
    grad_bias += grad_out.sum((0, 2, 3));
    grad_x := col2im(weight.T @ grad_out[n]) for each n (skipped when
    ``grad_x`` is None).

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_channels, height, width)                 # IN
    weight : ndarray of shape (out_channels, in_channels, kernel_h, kernel_w)    # IN
    grad_out : ndarray of shape (n_samples, out_channels, height_col, width_col) # IN
    stride, dilation : (h, w) pairs of int
    padding : (top, bottom, left, right)
    grad_x : ndarray like x, or None                                             # OUT
    grad_weight : ndarray like weight                                            # IN/OUT, accumulated
    grad_bias : ndarray of shape (out_channels,)                                 # IN/OUT, accumulated
    workspace : ndarray of shape (>= conv2d_workspace_size(...),)               # scratch
    """
    cdef Geometry g = _geometry(x.shape, weight.shape, grad_out.shape, stride,
                                padding, dilation, sizeof(floating), WEIGHT_GRAD)
    cdef Geometry gi = _geometry(x.shape, weight.shape, grad_out.shape, stride,
                                 padding, dilation, sizeof(floating), INPUT_GRAD)
    cdef double flops = (2.0 * g.batch * g.out_channels * g.ckk
                         * g.height_col * g.width_col)
    cdef int nt = _plan(&g, flops, workspace.shape[0])
    cdef floating *ws = &workspace[0] if workspace.shape[0] > 0 else NULL
    cdef floating *acc
    cdef Py_ssize_t i, t, groups, n_acc = g.out_channels * g.ckk
    cdef floating *gw = &grad_weight[0, 0, 0, 0]
    if nt <= 1:
        with nogil:
            nnfast_flush_denormals()
            _backward_weight_im2col_block(&x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                          gw, &grad_bias[0], ws, &g, 0, 1, 1)
    else:
        acc = ws + nt * _column_size(&g)
        memset(acc, 0, (nt - 1) * n_acc * sizeof(floating))
        with nogil, parallel(num_threads=nt):
            nnfast_flush_denormals()
            _backward_weight_im2col_block(&x[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                          gw, &grad_bias[0], ws, &g, threadid(),
                                          omp_get_num_threads(), nt)
        with nogil:
            for t in range(nt - 1):
                for i in range(n_acc):
                    gw[i] += acc[t * n_acc + i]
    if grad_x is None:
        return
    # Input gradient: items of whole samples, or, when there are fewer
    # samples than threads, of (sample, group of input channels): col2im of
    # two row blocks of one sample overlap, of two channel groups never.
    while nt > 1 and _workspace_size(&gi, nt) > workspace.shape[0]:
        nt -= 1
    groups = 1
    if gi.batch < nt:
        groups = min(gi.channels, (nt + gi.batch - 1) // gi.batch)
    if nt <= 1:
        with nogil:
            _backward_input_im2col_block(&weight[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                         &grad_x[0, 0, 0, 0], ws, &gi, groups, 0, 1)
        return
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        _backward_input_im2col_block(&weight[0, 0, 0, 0], &grad_out[0, 0, 0, 0],
                                     &grad_x[0, 0, 0, 0], ws, &gi, groups,
                                     threadid(), omp_get_num_threads())


# -- direct ---------------------------------------------------------------------

cdef void _forward_direct_block(const floating *x, const floating *weight,
                                const floating *bias, floating *out,
                                Geometry *g, bint relu, int t,
                                int nt) noexcept nogil:
    """Thread t's (sample, output channel) planes of out (ReLU'd if relu)."""
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t image = g.channels * g.height * g.width
    cdef Py_ssize_t lo, hi, item, n, o
    split_range(g.batch * g.out_channels, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // g.out_channels
        o = item % g.out_channels
        if floating is float:
            conv2d_direct_forward_plane_f32(
                x + n * image, g.channels, g.height, g.width, weight + o * g.ckk,
                g.kernel_h, g.kernel_w, bias[o], g.pad_h, g.pad_w, g.stride_h,
                g.stride_w, g.dilation_h, g.dilation_w, g.height_col,
                g.width_col, out + item * size_col)
        else:
            conv2d_direct_forward_plane_f64(
                x + n * image, g.channels, g.height, g.width, weight + o * g.ckk,
                g.kernel_h, g.kernel_w, bias[o], g.pad_h, g.pad_w, g.stride_h,
                g.stride_w, g.dilation_h, g.dilation_w, g.height_col,
                g.width_col, out + item * size_col)
        if relu:
            _add_bias(out + item * size_col, size_col, 0, True)


def conv2d_forward_direct(const floating[:, :, :, ::1] x,
                          const floating[:, :, :, ::1] weight,
                          const floating[::1] bias, stride, padding, dilation,
                          floating[:, :, :, ::1] out, bint relu=False):
    """out := conv2d(x, weight) + bias, without a column buffer; then
    max(out, 0) if ``relu``.

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_channels, height, width)                 # IN
    weight : ndarray of shape (out_channels, in_channels, kernel_h, kernel_w)    # IN
    bias : ndarray of shape (out_channels,)                                      # IN
    stride, dilation : (h, w) pairs of int
    padding : (top, bottom, left, right)
    out : ndarray of shape (n_samples, out_channels, height_col, width_col)      # OUT
    """
    cdef Geometry g = _geometry(x.shape, weight.shape, out.shape, stride,
                                padding, dilation, sizeof(floating))
    cdef int nt = threads_for(2.0 * g.batch * g.out_channels * g.ckk
                              * g.height_col * g.width_col)
    if nt > g.batch * g.out_channels:
        nt = <int>(g.batch * g.out_channels)
    if nt <= 1:
        with nogil:
            nnfast_flush_denormals()
            _forward_direct_block(&x[0, 0, 0, 0], &weight[0, 0, 0, 0], &bias[0],
                                  &out[0, 0, 0, 0], &g, relu, 0, 1)
        return
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        _forward_direct_block(&x[0, 0, 0, 0], &weight[0, 0, 0, 0], &bias[0],
                              &out[0, 0, 0, 0], &g, relu, threadid(),
                              omp_get_num_threads())


cdef void _backward_direct_block(const floating *x, const floating *weight,
                                 const floating *grad_out, floating *grad_x,
                                 floating *grad_weight, floating *grad_bias,
                                 Geometry *g, int t, int nt) noexcept nogil:
    """Thread t's share of the three gradients; each is split over disjoint
    outputs (channels of grad_bias, [o, c] filters of grad_weight, (n, c)
    planes of grad_x), so no thread needs an accumulator of its own."""
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t plane = g.height * g.width
    cdef Py_ssize_t kk = g.kernel_h * g.kernel_w
    cdef Py_ssize_t lo, hi, item, n, o, c
    cdef floating s
    split_range(g.out_channels, t, nt, &lo, &hi)
    for o in range(lo, hi):
        s = 0
        for n in range(g.batch):
            s = s + _sum(grad_out + (n * g.out_channels + o) * size_col, size_col)
        grad_bias[o] += s
    split_range(g.out_channels * g.channels, t, nt, &lo, &hi)
    for item in range(lo, hi):
        o = item // g.channels
        c = item % g.channels
        if floating is float:
            conv2d_direct_backward_weight_plane_f32(
                x, g.batch, g.channels, c, g.height, g.width, grad_out,
                g.out_channels, o, g.height_col, g.width_col, g.kernel_h,
                g.kernel_w, g.pad_h, g.pad_w, g.stride_h, g.stride_w,
                g.dilation_h, g.dilation_w, grad_weight + item * kk)
        else:
            conv2d_direct_backward_weight_plane_f64(
                x, g.batch, g.channels, c, g.height, g.width, grad_out,
                g.out_channels, o, g.height_col, g.width_col, g.kernel_h,
                g.kernel_w, g.pad_h, g.pad_w, g.stride_h, g.stride_w,
                g.dilation_h, g.dilation_w, grad_weight + item * kk)
    if grad_x == NULL:
        return
    split_range(g.batch * g.channels, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // g.channels
        c = item % g.channels
        if floating is float:
            conv2d_direct_backward_input_plane_f32(
                grad_out + n * g.out_channels * size_col, g.out_channels,
                g.height_col, g.width_col, weight, g.channels, c, g.kernel_h,
                g.kernel_w, g.pad_h, g.pad_w, g.stride_h, g.stride_w,
                g.dilation_h, g.dilation_w, g.height, g.width,
                grad_x + item * plane)
        else:
            conv2d_direct_backward_input_plane_f64(
                grad_out + n * g.out_channels * size_col, g.out_channels,
                g.height_col, g.width_col, weight, g.channels, c, g.kernel_h,
                g.kernel_w, g.pad_h, g.pad_w, g.stride_h, g.stride_w,
                g.dilation_h, g.dilation_w, g.height, g.width,
                grad_x + item * plane)


def conv2d_backward_direct(const floating[:, :, :, ::1] x,
                           const floating[:, :, :, ::1] weight,
                           const floating[:, :, :, ::1] grad_out, stride,
                           padding, dilation, floating[:, :, :, ::1] grad_x,
                           floating[:, :, :, ::1] grad_weight,
                           floating[::1] grad_bias):
    """Gradients of out = conv2d(x, weight) + bias, without a column buffer.

    Same arguments and results as ``conv2d_backward_im2col`` (no workspace).
    """
    cdef Geometry g = _geometry(x.shape, weight.shape, grad_out.shape, stride,
                                padding, dilation, sizeof(floating))
    cdef bint need_grad_x = grad_x is not None
    cdef int nt = threads_for(2.0 * (2 if need_grad_x else 1) * g.batch
                              * g.out_channels * g.ckk * g.height_col
                              * g.width_col)
    cdef floating *gx = &grad_x[0, 0, 0, 0] if need_grad_x else NULL
    if nt <= 1:
        with nogil:
            nnfast_flush_denormals()
            _backward_direct_block(&x[0, 0, 0, 0], &weight[0, 0, 0, 0],
                                   &grad_out[0, 0, 0, 0], gx,
                                   &grad_weight[0, 0, 0, 0], &grad_bias[0], &g,
                                   0, 1)
        return
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        _backward_direct_block(&x[0, 0, 0, 0], &weight[0, 0, 0, 0],
                               &grad_out[0, 0, 0, 0], gx,
                               &grad_weight[0, 0, 0, 0], &grad_bias[0], &g,
                               threadid(), omp_get_num_threads())
