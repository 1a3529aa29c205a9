# distutils: sources = csrc/im2col.c csrc/im2col_span.c
"""2-D convolution as im2col + GEMM, and the im2col / col2im kernels.

Work is cut into items of (sample, block of output rows) (``_conv_plan``);
each OpenMP thread takes a contiguous run of items and, for each, unrolls
the block into its own column buffer (``csrc/im2col.c``, or the span
columns of ``csrc/im2col_span.c``) and runs a single-threaded GEMM on it
(../DESIGN.md, "Threads"). The weight gradient is a sum over items: thread
0 accumulates straight into ``grad_weight``, every other thread into its
own slice of the workspace, added in at the end. The input gradient's
items are whole samples or, when there are fewer samples than threads,
(sample, group of input channels). A 1x1 kernel with stride 1 and no
padding needs no column buffer: the image already is its column matrix.

Geometry arguments: ``stride`` = (stride_h, stride_w), ``padding`` =
((top, bottom), (left, right)), ``dilation`` = (dilation_h, dilation_w).
The output size comes from ``out``'s shape, which the caller computed from
them.
"""
from cython cimport floating
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from nnfast._kernels cimport _conv_c as csrc
from nnfast._kernels._blas cimport gemm
from nnfast._kernels._conv_gemm cimport conv_gemm, conv_gemm_nt
from nnfast._kernels._conv_columns cimport (image_from_columns, item_columns, span_columns,
                                            span_source, spread_grad_output,
                                            spread_grad_output_transposed, transpose_block)
from nnfast._kernels._small_gemm cimport dot_gemm_rows, small_gemm_rows, small_gemm_runs
from nnfast._kernels._conv_plan cimport (ADD_ACCUMULATORS_STEP, FORWARD_STEP, INPUT_GRAD,
                                         INPUT_GRAD_STEP, WEIGHT_GRAD, WEIGHT_GRAD_STEP,
                                         ConvCall, Geometry, column_size, conv_geometry,
                                         fit_workspace, padded_copy_of, staging_of,
                                         transpose_grad_output, workspace_size)
from nnfast._kernels._math cimport add_bias, add_channel_sums
from nnfast._kernels._threads cimport run_team, split_range, team_size

# Below this many output channels the float32 weight gradient runs on
# dot_gemm: (16, 144) x 396 pixels, one thread of the Xeon, best of 25
# interleaved: 60-86 GFLOP/s against small_gemm's 46-67; from 32 channels
# small_gemm's full tiles win (126 against 84).
cdef Py_ssize_t DOT_MAX_CHANNELS = 32


def set_dot_max_channels(Py_ssize_t channels):
    """Run the float32 weight gradient on dot_gemm below ``channels`` output
    channels (default 32; 0: never); returns the previous setting. For tests
    (both paths on one machine) and measurements."""
    global DOT_MAX_CHANNELS
    old = DOT_MAX_CHANNELS
    DOT_MAX_CHANNELS = channels
    return old


# -- im2col / col2im ----------------------------------------------------------

def im2col(const floating[:, :, ::1] image, kernel_size, stride, padding,
           dilation, floating[:, :, ::1] col):
    """col[c_col, h_col, w_col] := image[c_im, h_im, w_im], 0 in the padding.

    c_col = (c_im * kernel_h + h_offset) * kernel_w + w_offset,
    h_im = h_col * stride_h - pad_top + h_offset * dilation_h (w alike).

    Parameters
    ----------
    image : ndarray of shape (channels, height, width)                             # IN
    kernel_size, stride, dilation : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    col : ndarray of shape (channels * kernel_h * kernel_w, height_col, width_col) # OUT
    """
    cdef Py_ssize_t kh = kernel_size[0], kw = kernel_size[1]
    cdef Py_ssize_t sh = stride[0], sw = stride[1]
    cdef Py_ssize_t top = padding[0][0], left = padding[1][0]
    cdef Py_ssize_t dh = dilation[0], dw = dilation[1]
    with nogil:
        csrc.im2col(&image[0, 0, 0], image.shape[0], image.shape[1], image.shape[2],
                    col.shape[1], col.shape[2], kh, kw, top, left, sh, sw, dh, dw, 0,
                    col.shape[1], &col[0, 0, 0])


def col2im(const floating[:, :, ::1] col, kernel_size, stride, padding,
           dilation, floating[:, :, ::1] image):
    """image := 0, then every col entry added back at the pixel im2col took it
    from (the adjoint of ``im2col``; overlapping windows add up).

    Parameters
    ----------
    col : ndarray of shape (channels * kernel_h * kernel_w, height_col, width_col)  # IN
    kernel_size, stride, dilation : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    image : ndarray of shape (channels, height, width)                              # OUT
    """
    cdef Py_ssize_t kh = kernel_size[0], kw = kernel_size[1]
    cdef Py_ssize_t sh = stride[0], sw = stride[1]
    cdef Py_ssize_t top = padding[0][0], left = padding[1][0]
    cdef Py_ssize_t dh = dilation[0], dw = dilation[1]
    with nogil:
        csrc.col2im(&col[0, 0, 0], image.shape[0], image.shape[1], image.shape[2],
                    col.shape[1], col.shape[2], kh, kw, top, left, sh, sw, dh, dw,
                    &image[0, 0, 0])


# -- forward ------------------------------------------------------------------

cdef void _forward_part(floating *workspace, ConvCall *a, int t, int nt) noexcept nogil:
    """Thread t's items: out[n, :, rows] := weight @ columns + bias, then
    ReLU'd if relu."""
    cdef Geometry *g = &a.g
    cdef floating *out = <floating *>a.out
    cdef const floating *x = <const floating *>a.x
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *bias = <const floating *>a.bias
    cdef bint relu = a.relu
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t image = g.channels * g.height * g.width
    cdef Py_ssize_t lo, hi, item, n, h0, h1, nb, ldcol, o, span
    cdef Py_ssize_t padded_n = -1
    cdef floating *column = workspace + t * column_size(g)
    cdef floating *staging = staging_of(g, column)
    cdef floating *padded = padded_copy_of(g, staging)
    cdef const floating *col
    cdef const floating *src
    cdef floating *dst
    # in place: a pointer per kernel tap (if there is no memory for them,
    # the columns are copied as elsewhere)
    cdef const float **taps = NULL
    if floating is float and g.in_place:
        taps = <const float **>malloc(g.ckk * sizeof(float *))
    split_range(g.n_samples * g.blocks, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // g.blocks
        h0 = (item % g.blocks) * g.rows
        h1 = min(h0 + g.rows, g.height_col)
        nb = (h1 - h0) * g.width_col
        dst = out + n * g.out_channels * size_col + h0 * g.width_col
        if g.span:
            span = (h1 - h0) * g.width_pad
            src = span_source(x + n * image, g, padded, n, &padded_n)
            if floating is float and taps != NULL:
                tap_rows(src, g, h0, taps)
            # in place, the column rows read where they lie; the last row's
            # last kernel_w - 1 positions, discarded, are not computed (they
            # would read past the image). Else the columns copied.
            if not (floating is float and taps != NULL and small_gemm_rows(
                    g.out_channels, span - (g.kernel_w - 1), g.ckk, weight, g.ckk, taps,
                    False, staging, span)):
                span_columns(src, g, h0, h1, column)
                conv_gemm(False, g.out_channels, span, g.ckk, weight, g.ckk,
                          column, span, False, staging, span)
            # discard the extra positions, add the bias
            csrc.pack_rows(staging, g.out_channels, h1 - h0, g.width_col,
                           g.width_pad, bias, relu, size_col, dst)
            continue
        col = item_columns(x + n * image, g, h0, h1, column, &ldcol)
        conv_gemm(False, g.out_channels, nb, g.ckk, weight, g.ckk, col,
                  ldcol, False, dst, size_col)
        # bias (and ReLU) while the block is still in cache
        for o in range(g.out_channels):
            add_bias(dst + o * size_col, bias + o, 0, nb, relu)
    if floating is float:
        free(taps)


cdef inline void tap_rows(const float *src, Geometry *g, Py_ssize_t h0,
                          const float **taps) noexcept nogil:
    """taps[(c * kernel_h + i) * kernel_w + j] := where the span column row
    of tap (c, i, j) for output rows from h0 on starts in src, the padded
    sample (channels, height_pad, width_pad): what span_columns would copy."""
    cdef Py_ssize_t c, i, j, p = 0
    cdef Py_ssize_t plane = g.height_pad * g.width_pad
    for c in range(g.channels):
        for i in range(g.kernel_h):
            for j in range(g.kernel_w):
                taps[p] = src + c * plane + (h0 + i) * g.width_pad + j
                p += 1


def conv2d_im2col_forward(const floating[:, :, :, ::1] x,
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
    padding : ((top, bottom), (left, right))
    out : ndarray of shape (n_samples, out_channels, height_col, width_col)      # OUT
    workspace : ndarray of shape (>= conv2d_workspace_size(...),)                # scratch
    """
    cdef ConvCall a
    a.g = conv_geometry(x.shape, weight.shape, out.shape, stride, padding, dilation,
                        sizeof(floating))
    a.x, a.weight, a.bias = &x[0, 0, 0, 0], &weight[0, 0, 0, 0], &bias[0]
    a.out = &out[0, 0, 0, 0]
    a.workspace = &workspace[0] if workspace.shape[0] > 0 else NULL
    a.relu, a.is_double = relu, floating is double
    cdef int nt = team_size(2.0 * a.g.n_samples * a.g.out_channels * a.g.ckk
                            * a.g.height_col * a.g.width_col,
                            a.g.n_samples * a.g.height_col)
    nt = fit_workspace(&a.g, nt, workspace.shape[0])
    a.step = FORWARD_STEP
    with nogil:
        run_team(_body, &a, nt)


# -- backward -----------------------------------------------------------------

cdef void _weight_grad_part(floating *workspace, ConvCall *a, int t,
                            int nt) noexcept nogil:
    """Thread t's share of grad_bias (a block of channels) and of grad_weight
    (its items, summed into its own accumulator)."""
    cdef Geometry *g = &a.g
    cdef const floating *x = <const floating *>a.x
    cdef const floating *grad_output = <const floating *>a.grad_output
    cdef floating *grad_weight = <floating *>a.grad_weight
    cdef floating *grad_bias = <floating *>a.grad_bias
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t image = g.channels * g.height * g.width
    cdef Py_ssize_t lo, hi, item, n, h0, h1, nb, ldcol, span
    cdef Py_ssize_t padded_n = -1
    cdef floating *column = workspace + t * column_size(g)
    cdef floating *staging = staging_of(g, column)
    cdef floating *padded = padded_copy_of(g, staging)
    cdef bint transpose = a.transpose
    cdef const floating *gn
    cdef floating *acc = grad_weight
    cdef const floating *col
    cdef const floating *src
    # in place (the small_gemm path's transposed accumulators): a pointer
    # per kernel tap, or the columns copied if there is no memory for them
    cdef const float **taps = NULL
    if floating is float and g.in_place and a.small:
        taps = <const float **>malloc(g.ckk * sizeof(float *))
    if a.small:
        acc = workspace + a.nt_planned * column_size(g) + t * g.out_channels * g.ckk
    elif t > 0:
        acc = (workspace + a.nt_planned * column_size(g)
               + (t - 1) * g.out_channels * g.ckk)
    split_range(g.out_channels, t, nt, &lo, &hi)
    add_channel_sums(grad_output, g.n_samples, g.out_channels, size_col, lo, hi, grad_bias)
    split_range(g.n_samples * g.blocks, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // g.blocks
        h0 = (item % g.blocks) * g.rows
        h1 = min(h0 + g.rows, g.height_col)
        nb = (h1 - h0) * g.width_col
        if g.span:
            span = (h1 - h0) * g.width_pad
            src = span_source(x + n * image, g, padded, n, &padded_n)
            if floating is float and taps != NULL:
                # acc.T (ckk, out_channels) += columns @ (output gradient).T
                # with the column rows read where they lie; the last row's
                # last kernel_w - 1 positions (0 in the spread gradient) are
                # left out, as in the forward
                tap_rows(src, g, h0, taps)
                spread_grad_output(grad_output + n * g.out_channels * size_col, g, h0, h1,
                                   staging)
                if dot_gemm_rows(g.ckk, g.out_channels, span - (g.kernel_w - 1), taps,
                                 staging, span, True, acc, g.out_channels):
                    continue
            span_columns(src, g, h0, h1, column)
            if a.small and a.dot:
                # acc.T (ckk, out_channels) += columns @ (output gradient).T,
                # both with the span contiguous (csrc/dot_gemm.h)
                spread_grad_output(grad_output + n * g.out_channels * size_col, g, h0, h1,
                                   staging)
                conv_gemm_nt(g.ckk, g.out_channels, span, column, span, staging, span, True,
                             acc, g.out_channels)
                continue
            if a.small:
                # acc.T (ckk, out_channels) += columns @ (output gradient).T
                spread_grad_output_transposed(grad_output + n * g.out_channels * size_col,
                                              g, h0, h1, staging)
                conv_gemm(False, g.ckk, g.out_channels, span, column, span, staging,
                          g.out_channels, True, acc, g.out_channels)
                continue
            spread_grad_output(grad_output + n * g.out_channels * size_col, g, h0, h1,
                               staging)
            gemm(False, True, g.out_channels, g.ckk, span, 1, staging, span,
                 column, span, 1, acc, g.ckk)
            continue
        gn = grad_output + n * g.out_channels * size_col + h0 * g.width_col
        col = item_columns(x + n * image, g, h0, h1, column, &ldcol)
        if a.small and a.dot:
            conv_gemm_nt(g.ckk, g.out_channels, nb, col, ldcol, gn, size_col, True, acc,
                         g.out_channels)
            continue
        if a.small:
            transpose_block(gn, g.out_channels, nb, size_col, staging)
            conv_gemm(False, g.ckk, g.out_channels, nb, col, ldcol, staging,
                      g.out_channels, True, acc, g.out_channels)
            continue
        if transpose and not g.pointwise:
            # acc += (the block's grad_output, as (nb, out_channels)).T @ col.T
            transpose_block(gn, g.out_channels, nb, size_col, staging)
            gemm(True, True, g.out_channels, g.ckk, nb, 1, staging,
                 g.out_channels, col, ldcol, 1, acc, g.ckk)
            continue
        gemm(False, True, g.out_channels, g.ckk, nb, 1, gn, size_col, col,
             ldcol, 1, acc, g.ckk)
    if floating is float:
        free(taps)


cdef void _add_accumulators(floating *workspace, ConvCall *a) noexcept nogil:
    """grad_weight += the accumulators of threads 1 .. nt_planned - 1 (of
    every thread, transposed, on the small_gemm path), in thread order."""
    cdef floating *grad_weight = <floating *>a.grad_weight
    cdef Py_ssize_t n_acc = a.g.out_channels * a.g.ckk, i, t, o, k
    cdef Py_ssize_t m = a.g.out_channels, ckk = a.g.ckk
    cdef floating *acc = workspace + a.nt_planned * column_size(&a.g)
    cdef floating *row
    if a.small:
        for t in range(a.nt_planned):
            for k in range(ckk):
                row = acc + t * n_acc + k * m
                for o in range(m):
                    grad_weight[o * ckk + k] += row[o]
        return
    for t in range(a.nt_planned - 1):
        for i in range(n_acc):
            grad_weight[i] += acc[t * n_acc + i]


cdef void _input_grad_part(floating *workspace, ConvCall *a, int t,
                           int nt) noexcept nogil:
    """Thread t's items of (sample, group of input channels):
    grad_input[n, channels] := col2im(weight[:, channels].T @ grad_output[n])."""
    cdef Geometry *g = &a.g
    cdef floating *grad_input = <floating *>a.grad_input
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *grad_output = <const floating *>a.grad_output
    cdef Py_ssize_t groups = a.groups
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t plane = g.height * g.width
    cdef Py_ssize_t lo, hi, item, n, c_lo, c_hi, cg
    cdef floating *column = workspace + t * column_size(g)
    cdef floating *staging = staging_of(g, column)
    cdef floating *padded = padded_copy_of(g, staging)
    cdef floating *gx
    cdef const floating *gn
    split_range(g.n_samples * groups, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // groups
        split_range(g.channels, <int>(item % groups), <int>groups, &c_lo, &c_hi)
        cg = c_hi - c_lo
        if cg <= 0:
            continue
        gx = grad_input + (n * g.channels + c_lo) * plane
        gn = grad_output + n * g.out_channels * size_col
        image_from_columns(weight, gn, gx, column, staging, padded, g, c_lo, cg)


cdef inline void _step_part(floating *workspace, ConvCall *a, int t,
                            int nt) noexcept nogil:
    if a.step == FORWARD_STEP:
        _forward_part(workspace, a, t, nt)
    elif a.step == WEIGHT_GRAD_STEP:
        _weight_grad_part(workspace, a, t, nt)
    elif a.step == ADD_ACCUMULATORS_STEP:
        _add_accumulators(workspace, a)
    else:
        _input_grad_part(workspace, a, t, nt)


cdef void _body(void *args, int t, int nt) noexcept nogil:
    """run_team's body: thread t of nt's part of the call's step, in float or
    double (the workspace typed picks which)."""
    cdef ConvCall *a = <ConvCall *>args
    if a.is_double:
        _step_part(<double *>a.workspace, a, t, nt)
    else:
        _step_part(<float *>a.workspace, a, t, nt)


def conv2d_im2col_backward(const floating[:, :, :, ::1] x,
                           const floating[:, :, :, ::1] weight,
                           const floating[:, :, :, ::1] grad_output, stride,
                           padding, dilation, floating[:, :, :, ::1] grad_input,
                           floating[:, :, :, ::1] grad_weight,
                           floating[::1] grad_bias, floating[::1] workspace):
    """Gradients of out = conv2d(x, weight) + bias.

    grad_weight += sum_n grad_output[n] @ im2col(x[n]).T;
    grad_bias += grad_output.sum((0, 2, 3));
    grad_input := col2im(weight.T @ grad_output[n]) for each n (skipped when
    ``grad_input`` is None).

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_channels, height, width)                    # IN
    weight : ndarray of shape (out_channels, in_channels, kernel_h, kernel_w)       # IN
    grad_output : ndarray of shape (n_samples, out_channels, height_col, width_col) # IN
    stride, dilation : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    grad_input : ndarray like x, or None                                            # OUT
    grad_weight : ndarray like weight                                               # IN/OUT, accumulated
    grad_bias : ndarray of shape (out_channels,)                                    # IN/OUT, accumulated
    workspace : ndarray of shape (>= conv2d_workspace_size(...),)                   # scratch
    """
    cdef ConvCall a
    a.g = conv_geometry(x.shape, weight.shape, grad_output.shape, stride, padding,
                        dilation, sizeof(floating), WEIGHT_GRAD)
    cdef Geometry gi = conv_geometry(x.shape, weight.shape, grad_output.shape, stride,
                                     padding, dilation, sizeof(floating), INPUT_GRAD)
    a.x, a.weight = &x[0, 0, 0, 0], &weight[0, 0, 0, 0]
    a.grad_output = &grad_output[0, 0, 0, 0]
    a.grad_input = &grad_input[0, 0, 0, 0] if grad_input is not None else NULL
    a.grad_weight, a.grad_bias = &grad_weight[0, 0, 0, 0], &grad_bias[0]
    a.workspace = &workspace[0] if workspace.shape[0] > 0 else NULL
    a.is_double = floating is double
    cdef int nt = team_size(2.0 * a.g.n_samples * a.g.out_channels * a.g.ckk
                            * a.g.height_col * a.g.width_col,
                            a.g.n_samples * a.g.height_col)
    nt = fit_workspace(&a.g, nt, workspace.shape[0])
    a.nt_planned = nt
    a.transpose = transpose_grad_output(&a.g)
    # (a pointwise kernel has no scratch to hold the transposed gradient)
    a.small = floating is float and small_gemm_runs() and not a.g.pointwise
    # fewer than 32 output channels: small_gemm's tile would be one vector
    # wide (load-bound); the dot tile reads both operands as they lie
    a.dot = a.small and a.g.out_channels < DOT_MAX_CHANNELS
    if nt > 1 or a.small:
        memset(<floating *>a.workspace + nt * column_size(&a.g), 0,
               (nt if a.small else nt - 1) * a.g.out_channels * a.g.ckk * sizeof(floating))
    a.step = WEIGHT_GRAD_STEP
    with nogil:
        run_team(_body, &a, nt)
        if nt > 1 or a.small:
            # one thread adds the others' accumulators in, in the kernels'
            # floating-point mode (run_team sets it)
            a.step = ADD_ACCUMULATORS_STEP
            run_team(_body, &a, 1)
    if grad_input is None:
        return
    # Input gradient: items of whole samples, or, when there are fewer
    # samples than threads, of (sample, group of input channels): col2im of
    # two row blocks of one sample overlap, of two channel groups never.
    while nt > 1 and workspace_size(&gi, nt) > workspace.shape[0]:
        nt -= 1
    a.g = gi
    a.groups = 1
    if gi.n_samples < nt:
        a.groups = min(gi.channels, (nt + gi.n_samples - 1) // gi.n_samples)
    a.step = INPUT_GRAD_STEP
    with nogil:
        run_team(_body, &a, nt)
