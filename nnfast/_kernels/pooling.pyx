# distutils: sources = csrc/pooling.c
# distutils: extra_compile_args = -falign-loops=32
# Loops start on 32 bytes, not 16: max pooling's backward loops otherwise
# sit where the code before them puts them, and 48 more bytes of forward
# made its scatter loop straddle a 32-byte line: the backward of 64x16x10x10
# planes went from 20.6 to 24.4 us on one thread (best of 3000 calls). With
# the alignment both passes and average pooling time as before.
"""Max and average pooling kernels: threads over the (sample, channel) planes.

Each plane is independent in both directions (the backward scatter of a
plane only touches that plane), so a static split of the n_samples *
channels planes needs no synchronisation. The plane loops are in
``csrc/pooling.c``.

Geometry arguments: ``kernel_size`` and ``stride`` are (h, w) pairs,
``padding`` is ((top, bottom), (left, right)); the output size comes from
``out``'s shape (the bottom and right padding enter only through it).
"""
from cython cimport floating
from libc.stdint cimport int32_t

from nnfast._kernels cimport _conv_c as csrc
from nnfast._kernels._threads cimport (TypedPart, run_part, split_range, team_size)


# team_size counts GEMM flops; a pooling kernel counts each element it
# touches (a window element, a pixel) as _WORK_PER_ELEMENT of them: a window
# element costs a load, a compare and a select (and the argmax bookkeeping),
# several times a GEMM's vectorised multiply-add. Measured: 64x16x10x10 2x2
# max pooling (LeNet's second) ran 65 us on one thread (the old count kept it
# there), 35 us on two.
cdef double _WORK_PER_ELEMENT = 8.0


cdef enum Kind:
    MAX_FORWARD, MAX_BACKWARD, AVG_FORWARD, AVG_BACKWARD


cdef struct PoolCall:
    # One call's arguments, shared read-only by its threads: src is the
    # kernel's input (x, or the output gradient), dst its output (out, or
    # the input gradient), float or double as ``part.is_double`` says.
    TypedPart part
    Kind kind
    const void *src
    void *dst
    const void *pooled                  # MAX_BACKWARD: the ReLU mask, or NULL
    int32_t *argmax
    Py_ssize_t planes, height, width, height_col, width_col
    Py_ssize_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left


cdef PoolCall _pool_call(Kind kind, Py_ssize_t *x_shape, Py_ssize_t *out_shape,
                         kernel_size, stride, padding, bint is_double):
    """A call's geometry: planes and plane sizes from the shapes of x (or
    the input gradient) and out (or the output gradient)."""
    cdef PoolCall a
    a.kind, a.part.is_double = kind, is_double
    a.planes = x_shape[0] * x_shape[1]
    a.height, a.width = x_shape[2], x_shape[3]
    a.height_col, a.width_col = out_shape[2], out_shape[3]
    a.kernel_h = a.kernel_w = a.stride_h = a.stride_w = a.pad_top = a.pad_left = 0
    if kernel_size is not None:         # (max pooling's backward needs none)
        a.kernel_h, a.kernel_w = kernel_size[0], kernel_size[1]
        a.stride_h, a.stride_w = stride[0], stride[1]
        a.pad_top, a.pad_left = padding[0][0], padding[1][0]
    a.pooled = NULL
    a.argmax = NULL
    return a


cdef void _pool_part(floating *src, void *args, int t, int nt) noexcept nogil:
    """Thread t's planes of the call (the geometry in locals, which the
    plane calls cannot change, so that it is not loaded again per plane)."""
    cdef PoolCall *a = <PoolCall *>args
    cdef floating *dst = <floating *>a.dst
    cdef const floating *pooled = <const floating *>a.pooled
    cdef int32_t *argmax = a.argmax
    cdef Py_ssize_t height = a.height, width = a.width
    cdef Py_ssize_t height_col = a.height_col, width_col = a.width_col
    cdef Py_ssize_t kernel_h = a.kernel_h, kernel_w = a.kernel_w
    cdef Py_ssize_t stride_h = a.stride_h, stride_w = a.stride_w
    cdef Py_ssize_t pad_top = a.pad_top, pad_left = a.pad_left
    cdef Py_ssize_t size = height * width, size_col = height_col * width_col
    cdef Py_ssize_t lo, hi, p
    split_range(a.planes, t, nt, &lo, &hi)
    if a.kind == MAX_FORWARD:
        for p in range(lo, hi):
            csrc.maxpool2d_forward_plane(
                src + p * size, height, width, kernel_h, kernel_w, pad_top, pad_left,
                stride_h, stride_w, height_col, width_col, dst + p * size_col,
                argmax + p * size_col)
    elif a.kind == MAX_BACKWARD:
        for p in range(lo, hi):
            csrc.maxpool2d_backward_plane(
                src + p * size_col, argmax + p * size_col,
                pooled + p * size_col if pooled != NULL else NULL, size_col, size,
                dst + p * size)
    elif a.kind == AVG_FORWARD:
        for p in range(lo, hi):
            csrc.avgpool2d_forward_plane(
                src + p * size, height, width, kernel_h, kernel_w, pad_top, pad_left,
                stride_h, stride_w, height_col, width_col, dst + p * size_col)
    else:
        for p in range(lo, hi):
            csrc.avgpool2d_backward_plane(
                src + p * size_col, height, width, kernel_h, kernel_w, pad_top,
                pad_left, stride_h, stride_w, height_col, width_col, dst + p * size)


def maxpool2d_forward(const floating[:, :, :, ::1] x, kernel_size, stride,
                      padding, floating[:, :, :, ::1] out,
                      int32_t[:, :, :, ::1] argmax):
    """out := each window's maximum; argmax := its index h * width + w in
    the (height, width) plane. Padding never wins (it is not read).

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, height, width)                  # IN
    kernel_size, stride : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    out : ndarray of shape (n_samples, channels, height_col, width_col)        # OUT
    argmax : int32 ndarray of out's shape (planes under 2^31 pixels)           # OUT
    """
    cdef PoolCall a = _pool_call(MAX_FORWARD, x.shape, out.shape, kernel_size, stride,
                                 padding, floating is double)
    a.src, a.dst, a.argmax = &x[0, 0, 0, 0], &out[0, 0, 0, 0], &argmax[0, 0, 0, 0]
    cdef int nt = team_size(_WORK_PER_ELEMENT * a.planes * a.height_col * a.width_col
                            * a.kernel_h * a.kernel_w, a.planes)
    with nogil:
        run_part(&a.part, _pool_part[float], _pool_part[double], a.src, nt)


def maxpool2d_backward(const floating[:, :, :, ::1] grad_output,
                       const int32_t[:, :, :, ::1] argmax,
                       floating[:, :, :, ::1] grad_input,
                       const floating[:, :, :, ::1] pooled=None):
    """grad_input := 0, then each grad_output added at its window's argmax
    (a pixel that is the maximum of several windows gets their sum).

    With ``pooled`` (the forward's output), only where pooled > 0: the
    gradient with respect to the input of a ReLU that precedes the pooling,
    without the ReLU's own pass.

    Parameters
    ----------
    grad_output : ndarray of shape (n_samples, channels, height_col, width_col)   # IN
    argmax : int32 ndarray of grad_output's shape, from maxpool2d_forward         # IN
    grad_input : ndarray of shape (n_samples, channels, height, width)            # OUT
    pooled : ndarray of grad_output's shape, or None                              # IN
    """
    cdef PoolCall a = _pool_call(MAX_BACKWARD, grad_input.shape, grad_output.shape, None,
                                 None, None, floating is double)
    a.src, a.dst = &grad_output[0, 0, 0, 0], &grad_input[0, 0, 0, 0]
    a.argmax = <int32_t *>&argmax[0, 0, 0, 0]       # read only
    a.pooled = &pooled[0, 0, 0, 0] if pooled is not None else NULL
    cdef int nt = team_size(_WORK_PER_ELEMENT * a.planes
                            * (a.height * a.width + a.height_col * a.width_col), a.planes)
    with nogil:
        run_part(&a.part, _pool_part[float], _pool_part[double], a.src, nt)


def avgpool2d_forward(const floating[:, :, :, ::1] x, kernel_size, stride,
                      padding, floating[:, :, :, ::1] out):
    """out := window sum / (kernel_h * kernel_w), the padding counted as
    zeros (PyTorch's default, count_include_pad=True).

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, height, width)                  # IN
    kernel_size, stride : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    out : ndarray of shape (n_samples, channels, height_col, width_col)        # OUT
    """
    cdef PoolCall a = _pool_call(AVG_FORWARD, x.shape, out.shape, kernel_size, stride,
                                 padding, floating is double)
    a.src, a.dst = &x[0, 0, 0, 0], &out[0, 0, 0, 0]
    cdef int nt = team_size(_WORK_PER_ELEMENT * a.planes * a.height_col * a.width_col
                            * a.kernel_h * a.kernel_w, a.planes)
    with nogil:
        run_part(&a.part, _pool_part[float], _pool_part[double], a.src, nt)


def avgpool2d_backward(const floating[:, :, :, ::1] grad_output, kernel_size,
                       stride, padding, floating[:, :, :, ::1] grad_input):
    """grad_input := 0, then each grad_output / (kernel_h * kernel_w) added over its
    window (overlapping windows add up; padding receives nothing).

    Parameters
    ----------
    grad_output : ndarray of shape (n_samples, channels, height_col, width_col)   # IN
    kernel_size, stride : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    grad_input : ndarray of shape (n_samples, channels, height, width)            # OUT
    """
    cdef PoolCall a = _pool_call(AVG_BACKWARD, grad_input.shape, grad_output.shape,
                                 kernel_size, stride, padding, floating is double)
    a.src, a.dst = &grad_output[0, 0, 0, 0], &grad_input[0, 0, 0, 0]
    cdef int nt = team_size(_WORK_PER_ELEMENT * a.planes
                            * (a.height * a.width
                               + a.height_col * a.width_col * a.kernel_h * a.kernel_w),
                            a.planes)
    with nogil:
        run_part(&a.part, _pool_part[float], _pool_part[double], a.src, nt)
