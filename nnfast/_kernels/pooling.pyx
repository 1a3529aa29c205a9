# distutils: sources = csrc/pooling.c
"""Max and average pooling kernels: OpenMP over the (sample, channel) planes.

Each plane is independent in both directions (the backward scatter of a
plane only touches that plane), so a static split of the n_samples *
channels planes needs no synchronisation. The plane loops are in
``csrc/pooling.c``.

Geometry arguments, as in the layers: ``kernel_size``, ``stride`` and
``padding`` are (h, w) pairs, the padding applied on both sides; the output
size comes from ``out``'s shape.
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdint cimport int32_t, int64_t

from nnfast._kernels._openmp cimport nnfast_flush_denormals
from nnfast._kernels._threads cimport threads_for


cdef extern from "pooling.h" nogil:
    void maxpool2d_forward_plane_f32(
        const float *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_h, int64_t pad_w, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, float *out,
        int32_t *argmax)
    void maxpool2d_forward_plane_f64(
        const double *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_h, int64_t pad_w, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, double *out,
        int32_t *argmax)
    void maxpool2d_backward_plane_f32(
        const float *grad_out, const int32_t *argmax, const float *pooled,
        int64_t size_col, int64_t size, float *grad_x)
    void maxpool2d_backward_plane_f64(
        const double *grad_out, const int32_t *argmax, const double *pooled,
        int64_t size_col, int64_t size, double *grad_x)
    void avgpool2d_forward_plane_f32(
        const float *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_h, int64_t pad_w, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, float *out)
    void avgpool2d_forward_plane_f64(
        const double *x, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_h, int64_t pad_w, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, double *out)
    void avgpool2d_backward_plane_f32(
        const float *grad_out, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_h, int64_t pad_w, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, float *grad_x)
    void avgpool2d_backward_plane_f64(
        const double *grad_out, int64_t height, int64_t width, int64_t kernel_h,
        int64_t kernel_w, int64_t pad_h, int64_t pad_w, int64_t stride_h,
        int64_t stride_w, int64_t height_col, int64_t width_col, double *grad_x)


# threads_for counts GEMM flops; a pooling window element costs a load, a
# compare and a select (and the argmax bookkeeping), several times a
# GEMM's vectorised multiply-add. Measured: 64x16x10x10 2x2 max pooling (LeNet's
# second) ran 65 us on one thread (the old count kept it there), 35 us on two.
cdef double _WORK_PER_ELEMENT = 8.0


cdef int _threads(Py_ssize_t planes, double elements) noexcept nogil:
    cdef int nt = threads_for(_WORK_PER_ELEMENT * elements)
    return <int>planes if nt > planes else nt


def maxpool2d_forward(const floating[:, :, :, ::1] x, kernel_size, stride,
                      padding, floating[:, :, :, ::1] out,
                      int32_t[:, :, :, ::1] argmax):
    """out := each window's maximum; argmax := its index h * width + w in
    the (height, width) plane. Padding never wins (it is not read).

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, height, width)                  # IN
    kernel_size, stride, padding : (h, w) pairs of int
    out : ndarray of shape (n_samples, channels, height_col, width_col)        # OUT
    argmax : int32 ndarray of out's shape (planes under 2^31 pixels)        # OUT
    """
    cdef Py_ssize_t kh = kernel_size[0], kw = kernel_size[1]
    cdef Py_ssize_t sh = stride[0], sw = stride[1]
    cdef Py_ssize_t ph = padding[0], pw = padding[1]
    cdef Py_ssize_t h = x.shape[2], w = x.shape[3]
    cdef Py_ssize_t oh = out.shape[2], ow = out.shape[3]
    cdef Py_ssize_t planes = x.shape[0] * x.shape[1], p
    cdef const floating *px = &x[0, 0, 0, 0]
    cdef floating *pout = &out[0, 0, 0, 0]
    cdef int32_t *parg = &argmax[0, 0, 0, 0]
    cdef int nt = _threads(planes, 1.0 * planes * oh * ow * kh * kw)
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        for p in prange(planes, schedule='static'):
            if floating is float:
                maxpool2d_forward_plane_f32(px + p * h * w, h, w, kh, kw, ph, pw,
                                            sh, sw, oh, ow, pout + p * oh * ow,
                                            parg + p * oh * ow)
            else:
                maxpool2d_forward_plane_f64(px + p * h * w, h, w, kh, kw, ph, pw,
                                            sh, sw, oh, ow, pout + p * oh * ow,
                                            parg + p * oh * ow)


def maxpool2d_backward(const floating[:, :, :, ::1] grad_out,
                       const int32_t[:, :, :, ::1] argmax,
                       floating[:, :, :, ::1] grad_x,
                       const floating[:, :, :, ::1] pooled=None):
    """grad_x := 0, then each grad_out added at its window's argmax
    (a pixel that is the maximum of several windows gets their sum).

    With ``pooled`` (the forward's output), only where pooled > 0: the
    gradient with respect to the input of a ReLU that precedes the pooling,
    without the ReLU's own pass.

    Parameters
    ----------
    grad_out : ndarray of shape (n_samples, channels, height_col, width_col)   # IN
    argmax : int32 ndarray of grad_out's shape, from maxpool2d_forward         # IN
    grad_x : ndarray of shape (n_samples, channels, height, width)             # OUT
    pooled : ndarray of grad_out's shape, or None                              # IN
    """
    cdef Py_ssize_t size = grad_x.shape[2] * grad_x.shape[3]
    cdef Py_ssize_t size_col = grad_out.shape[2] * grad_out.shape[3]
    cdef Py_ssize_t planes = grad_x.shape[0] * grad_x.shape[1], p
    cdef const floating *pg = &grad_out[0, 0, 0, 0]
    cdef const int32_t *parg = &argmax[0, 0, 0, 0]
    cdef floating *pgx = &grad_x[0, 0, 0, 0]
    cdef const floating *ppool = &pooled[0, 0, 0, 0] if pooled is not None else NULL
    cdef int nt = _threads(planes, 1.0 * planes * (size + size_col))
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        for p in prange(planes, schedule='static'):
            if floating is float:
                maxpool2d_backward_plane_f32(pg + p * size_col, parg + p * size_col,
                                             ppool + p * size_col if ppool else NULL,
                                             size_col, size, pgx + p * size)
            else:
                maxpool2d_backward_plane_f64(pg + p * size_col, parg + p * size_col,
                                             ppool + p * size_col if ppool else NULL,
                                             size_col, size, pgx + p * size)


def avgpool2d_forward(const floating[:, :, :, ::1] x, kernel_size, stride,
                      padding, floating[:, :, :, ::1] out):
    """out := window sum / (kernel_h * kernel_w), the padding counted as
    zeros (PyTorch's default, count_include_pad=True).

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, height, width)                  # IN
    kernel_size, stride, padding : (h, w) pairs of int
    out : ndarray of shape (n_samples, channels, height_col, width_col)        # OUT
    """
    cdef Py_ssize_t kh = kernel_size[0], kw = kernel_size[1]
    cdef Py_ssize_t sh = stride[0], sw = stride[1]
    cdef Py_ssize_t ph = padding[0], pw = padding[1]
    cdef Py_ssize_t h = x.shape[2], w = x.shape[3]
    cdef Py_ssize_t oh = out.shape[2], ow = out.shape[3]
    cdef Py_ssize_t planes = x.shape[0] * x.shape[1], p
    cdef const floating *px = &x[0, 0, 0, 0]
    cdef floating *pout = &out[0, 0, 0, 0]
    cdef int nt = _threads(planes, 1.0 * planes * oh * ow * kh * kw)
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        for p in prange(planes, schedule='static'):
            if floating is float:
                avgpool2d_forward_plane_f32(px + p * h * w, h, w, kh, kw, ph, pw,
                                            sh, sw, oh, ow, pout + p * oh * ow)
            else:
                avgpool2d_forward_plane_f64(px + p * h * w, h, w, kh, kw, ph, pw,
                                            sh, sw, oh, ow, pout + p * oh * ow)


def avgpool2d_backward(const floating[:, :, :, ::1] grad_out, kernel_size,
                       stride, padding, floating[:, :, :, ::1] grad_x):
    """grad_x := 0, then each grad_out / (kernel_h * kernel_w) added over its
    window (overlapping windows add up; padding receives nothing).

    Parameters
    ----------
    grad_out : ndarray of shape (n_samples, channels, height_col, width_col)   # IN
    kernel_size, stride, padding : (h, w) pairs of int
    grad_x : ndarray of shape (n_samples, channels, height, width)             # OUT
    """
    cdef Py_ssize_t kh = kernel_size[0], kw = kernel_size[1]
    cdef Py_ssize_t sh = stride[0], sw = stride[1]
    cdef Py_ssize_t ph = padding[0], pw = padding[1]
    cdef Py_ssize_t h = grad_x.shape[2], w = grad_x.shape[3]
    cdef Py_ssize_t oh = grad_out.shape[2], ow = grad_out.shape[3]
    cdef Py_ssize_t planes = grad_x.shape[0] * grad_x.shape[1], p
    cdef const floating *pg = &grad_out[0, 0, 0, 0]
    cdef floating *pgx = &grad_x[0, 0, 0, 0]
    cdef int nt = _threads(planes, 1.0 * planes * (h * w + oh * ow * kh * kw))
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        for p in prange(planes, schedule='static'):
            if floating is float:
                avgpool2d_backward_plane_f32(pg + p * oh * ow, h, w, kh, kw, ph,
                                             pw, sh, sw, oh, ow, pgx + p * h * w)
            else:
                avgpool2d_backward_plane_f64(pg + p * oh * ow, h, w, kh, kw, ph,
                                             pw, sh, sw, oh, ow, pgx + p * h * w)
