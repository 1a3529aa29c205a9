# distutils: sources = csrc/conv_direct.c
"""2-D convolution without a column buffer (direct loops).

One (sample, channel) plane per item (``csrc/conv_direct.c``), the items
split over the threads; faster than im2col when channels * kernel_h *
kernel_w is small (a first layer on images), where the GEMM is too thin to
pay for the buffer, and needing no workspace.

Geometry arguments: ``stride`` = (stride_h, stride_w), ``padding`` =
((top, bottom), (left, right)), ``dilation`` = (dilation_h, dilation_w).
The output size comes from ``out``'s shape, which the caller computed from
them.
"""
from cython cimport floating

from nnfast._kernels cimport _conv_c as csrc
from nnfast._kernels._conv_plan cimport (BACKWARD_STEP, FORWARD_STEP, ConvCall, Geometry,
                                         conv_geometry)
from nnfast._kernels._math cimport add_bias, add_channel_sums
from nnfast._kernels._threads cimport run_team, split_range, team_size


cdef void _forward_part(const floating *x, ConvCall *a, int t, int nt) noexcept nogil:
    """Thread t's (sample, output channel) planes of out (ReLU'd if relu)."""
    cdef Geometry *g = &a.g
    cdef floating *out = <floating *>a.out
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *bias = <const floating *>a.bias
    cdef floating zero = 0
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t image = g.channels * g.height * g.width
    cdef Py_ssize_t lo, hi, item, n, o
    split_range(g.n_samples * g.out_channels, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // g.out_channels
        o = item % g.out_channels
        csrc.conv2d_direct_forward_plane(
            x + n * image, g.channels, g.height, g.width, weight + o * g.ckk,
            g.kernel_h, g.kernel_w, bias[o], g.pad_top, g.pad_left, g.stride_h,
            g.stride_w, g.dilation_h, g.dilation_w, g.height_col, g.width_col,
            out + item * size_col)
        if a.relu:
            add_bias(out + item * size_col, &zero, 0, size_col, True)


def conv2d_direct_forward(const floating[:, :, :, ::1] x,
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
    padding : ((top, bottom), (left, right))
    out : ndarray of shape (n_samples, out_channels, height_col, width_col)      # OUT
    """
    cdef ConvCall a
    a.g = conv_geometry(x.shape, weight.shape, out.shape, stride, padding, dilation,
                        sizeof(floating))
    a.x, a.weight, a.bias = &x[0, 0, 0, 0], &weight[0, 0, 0, 0], &bias[0]
    a.out = &out[0, 0, 0, 0]
    a.relu, a.is_double = relu, floating is double
    cdef int nt = team_size(2.0 * a.g.n_samples * a.g.out_channels * a.g.ckk
                            * a.g.height_col * a.g.width_col,
                            a.g.n_samples * a.g.out_channels)
    a.step = FORWARD_STEP
    with nogil:
        run_team(_body, &a, nt)


cdef void _backward_part(const floating *x, ConvCall *a, int t,
                         int nt) noexcept nogil:
    """Thread t's share of the three gradients; each is split over disjoint
    outputs (channels of grad_bias, [o, c] filters of grad_weight, (n, c)
    planes of grad_input), so no thread needs an accumulator of its own."""
    cdef Geometry *g = &a.g
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *grad_output = <const floating *>a.grad_output
    cdef floating *grad_input = <floating *>a.grad_input
    cdef floating *grad_weight = <floating *>a.grad_weight
    cdef floating *grad_bias = <floating *>a.grad_bias
    cdef Py_ssize_t size_col = g.height_col * g.width_col
    cdef Py_ssize_t plane = g.height * g.width
    cdef Py_ssize_t kk = g.kernel_h * g.kernel_w
    cdef Py_ssize_t lo, hi, item, n, o, c
    split_range(g.out_channels, t, nt, &lo, &hi)
    add_channel_sums(grad_output, g.n_samples, g.out_channels, size_col, lo, hi, grad_bias)
    split_range(g.out_channels * g.channels, t, nt, &lo, &hi)
    for item in range(lo, hi):
        o = item // g.channels
        c = item % g.channels
        csrc.conv2d_direct_backward_weight_plane(
            x, g.n_samples, g.channels, c, g.height, g.width, grad_output,
            g.out_channels, o, g.height_col, g.width_col, g.kernel_h,
            g.kernel_w, g.pad_top, g.pad_left, g.stride_h, g.stride_w,
            g.dilation_h, g.dilation_w, grad_weight + item * kk)
    if grad_input == NULL:
        return
    split_range(g.n_samples * g.channels, t, nt, &lo, &hi)
    for item in range(lo, hi):
        n = item // g.channels
        c = item % g.channels
        csrc.conv2d_direct_backward_input_plane(
            grad_output + n * g.out_channels * size_col, g.out_channels,
            g.height_col, g.width_col, weight, g.channels, c, g.kernel_h,
            g.kernel_w, g.pad_top, g.pad_left, g.stride_h, g.stride_w,
            g.dilation_h, g.dilation_w, g.height, g.width, grad_input + item * plane)


cdef inline void _part(const floating *x, ConvCall *a, int t, int nt) noexcept nogil:
    if a.step == BACKWARD_STEP:
        _backward_part(x, a, t, nt)
    else:
        _forward_part(x, a, t, nt)


cdef void _body(void *args, int t, int nt) noexcept nogil:
    """run_team's body: thread t of nt's part of the call, in float or
    double (x typed picks which)."""
    cdef ConvCall *a = <ConvCall *>args
    if a.is_double:
        _part(<const double *>a.x, a, t, nt)
    else:
        _part(<const float *>a.x, a, t, nt)


def conv2d_direct_backward(const floating[:, :, :, ::1] x,
                           const floating[:, :, :, ::1] weight,
                           const floating[:, :, :, ::1] grad_output, stride,
                           padding, dilation, floating[:, :, :, ::1] grad_input,
                           floating[:, :, :, ::1] grad_weight,
                           floating[::1] grad_bias):
    """Gradients of out = conv2d(x, weight) + bias, without a column buffer.

    Same arguments and results as ``conv2d_im2col_backward`` (no workspace).
    """
    cdef ConvCall a
    a.g = conv_geometry(x.shape, weight.shape, grad_output.shape, stride, padding,
                        dilation, sizeof(floating))
    a.x, a.weight = &x[0, 0, 0, 0], &weight[0, 0, 0, 0]
    a.grad_output = &grad_output[0, 0, 0, 0]
    a.grad_input = &grad_input[0, 0, 0, 0] if grad_input is not None else NULL
    a.grad_weight, a.grad_bias = &grad_weight[0, 0, 0, 0], &grad_bias[0]
    a.is_double = floating is double
    # units: the largest of _backward_part's splits, [o, c] filters or
    # (n, c) planes
    cdef Py_ssize_t units = a.g.out_channels * a.g.channels
    if a.grad_input != NULL:
        units = max(units, a.g.n_samples * a.g.channels)
    cdef int nt = team_size(2.0 * (1 if a.grad_input == NULL else 2) * a.g.n_samples
                            * a.g.out_channels * a.g.ckk * a.g.height_col * a.g.width_col,
                            units)
    a.step = BACKWARD_STEP
    with nogil:
        run_team(_body, &a, nt)
