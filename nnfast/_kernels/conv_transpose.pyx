# distutils: sources = csrc/im2col.c csrc/im2col_span.c
"""2-D transposed convolution's forward: GEMM + col2im, the pattern of the
im2col convolution's input gradient (``conv_im2col``), plus a bias.

A transposed convolution is the adjoint of the convolution ``conv`` that
maps an image of its output's size to one of its input's size, with the
same weight read as conv's (out_channels, in_channels, kh, kw). Its forward
is conv's input gradient with ``x`` in the place of conv's output gradient;
its backward is conv's forward and weight gradient, which the layer
(``nnfast.layers.ConvTranspose2D``) runs on ``conv_im2col`` itself.

The geometry here is conv's (``_conv_plan.Geometry``): ``channels`` = this
kernel's out channels, ``height`` x ``width`` = its output's size,
``out_channels`` = its in channels, ``height_col`` x ``width_col`` = its
input's size. Items are whole samples or, when there are fewer samples than
threads, (sample, group of output channels): col2im of two channel groups
never overlaps. Each thread uses its own column buffer in the workspace.

Geometry arguments: ``stride`` = (stride_h, stride_w), ``padding`` =
((top, bottom), (left, right)), the rows and columns cut from each side of
the full output, ``dilation`` = (dilation_h, dilation_w). The output size
comes from ``out``'s shape (output_padding enters only through it).
"""
from cython cimport floating

from nnfast._kernels._conv_columns cimport image_from_columns
from nnfast._kernels._conv_plan cimport (INPUT_GRAD, ConvCall, Geometry, column_size,
                                         conv_geometry, padded_copy_of, staging_of,
                                         workspace_size)
from nnfast._kernels._math cimport add_bias
from nnfast._kernels._threads cimport run_team, split_range, team_size


cdef void _forward_part(floating *workspace, ConvCall *a, int t, int nt) noexcept nogil:
    """Thread t's items of (sample, group of output channels):
    out[n, channels] := col2im(weight[:, channels].T @ x[n]) + bias[channels]."""
    cdef Geometry *g = &a.g
    cdef floating *out = <floating *>a.out
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *x = <const floating *>a.x
    cdef const floating *bias = <const floating *>a.bias
    cdef Py_ssize_t groups = a.groups
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t plane = g.height * g.width
    cdef Py_ssize_t lo, hi, item, n, c_lo, c_hi, cg, c
    cdef floating *column = workspace + t * column_size(g)
    cdef floating *staging = staging_of(g, column)
    cdef floating *padded = padded_copy_of(g, staging)
    cdef floating *dst
    cdef const floating *xn
    split_range(g.n_samples * groups, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // groups
        split_range(g.channels, <int>(item % groups), <int>groups, &c_lo, &c_hi)
        cg = c_hi - c_lo
        if cg <= 0:
            continue
        dst = out + (n * g.channels + c_lo) * plane
        xn = x + n * g.out_channels * size_col
        image_from_columns(weight, xn, dst, column, staging, padded, g, c_lo, cg)
        # the bias while the planes are still in cache
        for c in range(cg):
            add_bias(dst + c * plane, bias + c_lo + c, 0, plane, False)


cdef void _body(void *args, int t, int nt) noexcept nogil:
    """run_team's body: thread t of nt's items, in float or double."""
    cdef ConvCall *a = <ConvCall *>args
    if a.is_double:
        _forward_part(<double *>a.workspace, a, t, nt)
    else:
        _forward_part(<float *>a.workspace, a, t, nt)


def conv_transpose2d_forward(const floating[:, :, :, ::1] x,
                             const floating[:, :, :, ::1] weight,
                             const floating[::1] bias, stride, padding, dilation,
                             floating[:, :, :, ::1] out, floating[::1] workspace):
    """out := conv_transpose2d(x, weight) + bias (PyTorch's
    ``conv_transpose2d``: the adjoint of conv2d, groups 1).

    out[n, o, h * stride_h - top + i * dilation_h, w * stride_w - left
    + j * dilation_w] += x[n, c, h, w] * weight[c, o, i, j] where inside out.

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_channels, height, width)                 # IN
    weight : ndarray of shape (in_channels, out_channels, kernel_h, kernel_w)    # IN
    bias : ndarray of shape (out_channels,)                                      # IN
    stride, dilation : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    out : ndarray of shape (n_samples, out_channels, out_h, out_w)               # OUT
    workspace : ndarray of shape (>= conv2d_workspace_size(weight.shape,
        x.shape, dtype),)                                                        # scratch
    """
    cdef ConvCall a
    a.g = conv_geometry(out.shape, weight.shape, x.shape, stride, padding, dilation,
                        sizeof(floating), INPUT_GRAD)
    a.x, a.weight, a.bias = &x[0, 0, 0, 0], &weight[0, 0, 0, 0], &bias[0]
    a.out = &out[0, 0, 0, 0]
    a.workspace = &workspace[0] if workspace.shape[0] > 0 else NULL
    a.is_double = floating is double
    cdef int nt = team_size(2.0 * a.g.n_samples * a.g.out_channels * a.g.ckk
                            * a.g.height_col * a.g.width_col,
                            a.g.n_samples * a.g.channels)
    while nt > 1 and workspace_size(&a.g, nt) > workspace.shape[0]:
        nt -= 1
    a.groups = 1
    if a.g.n_samples < nt:
        a.groups = min(a.g.channels, (nt + a.g.n_samples - 1) // a.g.n_samples)
    with nogil:
        run_team(_body, &a, nt)
