"""Geometry, planning and workspace layout of the 2-D convolution kernels,
and the switches that tune the im2col ones.

The im2col kernels (``conv_im2col``) cut a call into items of (sample,
block of output rows). A block holds as many output rows as fit the column
budget (``set_column_bytes``, 256 KiB by default: half this machine's
512 KiB L2 per core), so a layer's extra memory is one buffer per thread
whatever the batch size, and the buffer is still in cache when the GEMM
reads it. When the batch is smaller than the thread count the rows are cut
finer (``fit_workspace``), so every thread has work.

Span columns. With stride 1 and dilation 1, the im2col kernels can compute
each output row at every position of the padded input row and discard the
last kernel_w - 1 (``csrc/im2col_span.h``): each column row is then one
contiguous span of the (padded) image, so im2col is a copy and col2im a
vector add per kernel tap, for width_pad / width_col times the GEMM work.
``set_span_columns`` says when (see ``_use_span``).

Span columns in place. Each span column row being a span of the padded
image, the float32 forward's GEMM can read the rows where they lie
(``small_gemm_rows``, given a pointer per kernel tap) and no column matrix
is written at all; the weight gradient's dot_gemm_rows likewise. Where
these are the GEMMs of choice (AVX2; see ``set_in_place_columns``), every
stride-1 float32 forward and weight gradient does so.

Geometry arguments: ``stride`` = (stride_h, stride_w), ``padding`` =
((top, bottom), (left, right)), ``dilation`` = (dilation_h, dilation_w).
The output size comes from ``out``'s shape, which the caller computed from
them: the bottom and right padding enter only through it.
"""
import numpy as np

from nnfast._kernels._small_gemm cimport small_gemm_rows_preferred
from nnfast._kernels._threads cimport max_threads


# Bytes of one thread's column buffer. 256 KiB: half of this machine's L2 per
# core, leaving room for the GEMM's packed panels of the other operand.
cdef Py_ssize_t _column_bytes = 256 * 1024

# Span columns: 0 never, 1 whenever stride and dilation are 1, 2 by _use_span.
cdef int _span_mode = 2
SPAN_MODES = {"never": 0, "always": 1, "auto": 2}

# Span columns read in place by the float32 forward and weight gradient
# where small_gemm_rows is preferred (set_in_place_columns).
cdef bint _in_place = True

# The weight gradient's GEMM with the output gradient as it is (0), or
# transposed first (1), or by transpose_grad_output (2).
cdef int _grad_output_layout = 2
GRAD_OUTPUT_LAYOUTS = {"as_is": 0, "transposed": 1, "auto": 2}


cdef Geometry conv_geometry(Py_ssize_t *x_shape, Py_ssize_t *w_shape,
                            Py_ssize_t *out_shape, stride, padding, dilation,
                            Py_ssize_t itemsize, Pass kind=FORWARD):
    """The geometry of one call and pass, its rows per column buffer set."""
    cdef Geometry g
    g.n_samples, g.channels = x_shape[0], x_shape[1]
    g.height, g.width = x_shape[2], x_shape[3]
    g.out_channels, g.kernel_h, g.kernel_w = w_shape[0], w_shape[2], w_shape[3]
    g.height_col, g.width_col = out_shape[2], out_shape[3]
    g.stride_h, g.stride_w = stride[0], stride[1]
    g.pad_top, g.pad_left = padding[0][0], padding[1][0]
    g.dilation_h, g.dilation_w = dilation[0], dilation[1]
    g.ckk = g.channels * g.kernel_h * g.kernel_w
    g.pointwise = (g.kernel_h == 1 and g.kernel_w == 1 and g.stride_h == 1
                   and g.stride_w == 1 and g.pad_top == 0 and g.pad_left == 0
                   and g.height_col == g.height and g.width_col == g.width)
    g.height_pad = g.height_col + g.kernel_h - 1
    g.width_pad = g.width_col + g.kernel_w - 1
    g.padded = g.height_pad != g.height or g.width_pad != g.width
    cdef bint unit = (not g.pointwise and g.stride_h == 1 and g.stride_w == 1
                      and g.dilation_h == 1 and g.dilation_w == 1)
    # a column matrix never written, in the forward and the weight
    # gradient: 16-channel U-Net layers (16, 16 | 32, 64, 64), forward, one
    # thread of a Zen 3 EPYC, median of 11: 10.7 -> 5.6 | 19.6 -> 12.8 ms
    # (bench/conv_phases.py's timing on those shapes)
    # The weight gradient's in place GEMM is dot_gemm_rows, whose tile of 4
    # output channels loses to small_gemm's beyond 32 of them (one thread,
    # median of 9 interleaved, batch 16, ms in place / copied: 16->16 at
    # 64x64 6.95 / 9.37, 32->16 15.4 / 18.9, 32->32 at 32x32 8.43 / 9.17,
    # 64->64 at 16x16 10.9 / 8.5).
    g.in_place = (unit and itemsize == 4 and _in_place and _span_mode != 0
                  and small_gemm_rows_preferred()
                  and (kind == FORWARD or (kind == WEIGHT_GRAD and g.out_channels <= 32)))
    g.span = unit and (g.in_place or _span_mode == 1
                       or (_span_mode == 2 and _use_span(&g, kind)))
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

    A group of a grouped or depthwise Conv2D (one call per group) is a
    GEMM that is thin both ways, out_channels * ckk <= 64; there the plain
    im2col is most of the work and span columns pay in both backward
    passes (``conv2d_im2col_backward`` timed under ``set_span_columns("never"
    | "always")``, float32, batch 64, one thread, best of 25, on a busy
    shared machine; the input gradient as the full backward's time minus
    the one without it; ms plain / span):

    ===========================  ===========  ===========
    layer (one group)            weight grad  input grad
    ===========================  ===========  ===========
    1->1 3x3 pad 1, 28x28        0.093/0.072  0.115/0.077
    1->2 3x3 pad 1, 28x28        0.104/0.082  0.125/0.086
    1->1 3x3 pad 1, 56x56        0.321/0.253  0.394/0.265
    2->2 3x3 pad 1, 28x28        0.192/0.148  0.242/0.163
    ===========================  ===========  ===========
    """
    cdef bint thin = g.out_channels * g.ckk <= 64
    if kind == FORWARD:
        return g.ckk < 64
    if kind == WEIGHT_GRAD:
        return thin
    return g.width_col <= 16 or thin


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


cdef int fit_workspace(Geometry *g, int nt, Py_ssize_t workspace_len) noexcept nogil:
    """The team size nt (from team_size), lowered until the workspace holds
    the team's scratch; and g.rows / g.blocks re-cut so that there is at
    least one item per thread."""
    while nt > 1 and workspace_size(g, nt) > workspace_len:
        nt -= 1
    if g.n_samples > 0 and g.n_samples * g.blocks < nt:
        g.blocks = (nt + g.n_samples - 1) // g.n_samples
        if g.blocks > g.height_col:
            g.blocks = g.height_col
        g.rows = (g.height_col + g.blocks - 1) // g.blocks
        g.blocks = (g.height_col + g.rows - 1) // g.rows
    return nt


cdef bint transpose_grad_output(Geometry *g) noexcept nogil:
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
    if _grad_output_layout != 2:
        return _grad_output_layout == 1
    return (g.out_channels * g.ckk > 1200
            and g.out_channels * g.ckk * g.max_rows * g.width_col <= 1000000)


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
    where that measured faster, see ``transpose_grad_output``). For tests,
    which cover both, and for tuning."""
    global _grad_output_layout
    _grad_output_layout = _code_of(GRAD_OUTPUT_LAYOUTS, layout, "layout")


def get_weight_grad_layout():
    """"as_is", "transposed" or "auto" (see ``set_weight_grad_layout``)."""
    return _name_of(GRAD_OUTPUT_LAYOUTS, _grad_output_layout)


def set_span_columns(mode):
    """When the im2col kernels use span columns (stride 1, dilation 1 only):
    "auto" (default: where they measured faster), "always" or "never". For
    tests, which cover both paths, and for tuning."""
    global _span_mode
    _span_mode = _code_of(SPAN_MODES, mode, "mode")


def set_in_place_columns(bint flag):
    """Whether the float32 forward and weight gradient read their span
    columns in place where small_gemm_rows is preferred (True, the default)
    or copy them, as elsewhere; returns the previous setting. For tests and
    measurements."""
    global _in_place
    old = _in_place
    _in_place = flag
    return old


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
    weight-gradient accumulator per thread (the first thread's is used on
    the small_gemm path only: on BLAS it sums straight into grad_weight).
    Given a smaller workspace (threads added since), the kernels use fewer
    threads; given less than one thread's share, they would write past it.

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
    cdef Geometry g = conv_geometry(x_shape, w_shape, o_shape, (1, 1), ((0, 0), (0, 0)),
                                    (1, 1), itemsize)
    # Sized for the larger of the two column layouts, padded, as if a column
    # buffer were needed: stride and padding, which decide, are not
    # arguments here (the 1x1 shortcut needs none).
    g.pointwise = False
    g.span = False
    _set_rows(&g, itemsize)
    cdef Py_ssize_t plain = workspace_size(&g, max_threads())
    g.span = True
    g.padded = True
    _set_rows(&g, itemsize)
    return max(plain, workspace_size(&g, max_threads()))
