"""Dropout kernels: multiply by a kept/dropped mask and the 1/(1-p) scale.

The mask (uint8, 1 = kept) is drawn by the layer and passed in, so that
forward and backward use the same one and both backends see the same draw.
Arrays are flat (1-D, C-contiguous); threads split them into one block each
when they are large enough.
"""
from cython cimport floating
from cython.parallel cimport parallel, threadid

from nnfast._kernels._openmp cimport omp_get_num_threads, nnfast_flush_denormals
from nnfast._kernels._threads cimport threads_for, split_range


cdef void _mask_scale_block(const floating *x, const unsigned char *mask,
                            floating scale, floating *out, Py_ssize_t n,
                            int t, int nt) noexcept nogil:
    """out[lo:hi] := x[lo:hi] * (mask[lo:hi] * scale), thread t's block"""
    cdef Py_ssize_t i, lo, hi
    split_range(n, t, nt, &lo, &hi)
    for i in range(lo, hi):
        # a multiply, not a select: x * 0 keeps NaN and inf visible, as in torch
        out[i] = x[i] * (mask[i] * scale)


cdef void _mask_scale(const floating[::1] x, const unsigned char[::1] mask,
                      double scale, floating[::1] out):
    cdef Py_ssize_t n = x.shape[0]
    cdef floating f_scale = <floating>scale
    cdef int nt = threads_for(2.0 * n)
    if n == 0:
        return
    if nt > n:
        nt = <int>n
    if nt <= 1:
        with nogil:
            nnfast_flush_denormals()
            _mask_scale_block(&x[0], &mask[0], f_scale, &out[0], n, 0, 1)
        return
    with nogil, parallel(num_threads=nt):
        nnfast_flush_denormals()
        _mask_scale_block(&x[0], &mask[0], f_scale, &out[0], n, threadid(),
                          omp_get_num_threads())


def dropout_forward(const floating[::1] x, const unsigned char[::1] mask,
                    double scale, floating[::1] out):
    """out := x * mask * scale

    Parameters
    ----------
    x : ndarray of shape (n,)              # IN
    mask : uint8 ndarray of shape (n,)     # IN, 1 = kept, 0 = dropped
    scale : float
        1 / (1 - p) (0 when p == 1).
    out : ndarray of shape (n,)            # OUT
    """
    _mask_scale(x, mask, scale, out)


def dropout_backward(const floating[::1] grad_output, const unsigned char[::1] mask,
                     double scale, floating[::1] grad_input):
    """grad_input := grad_output * mask * scale

    Parameters
    ----------
    grad_output : ndarray of shape (n,)    # IN
    mask : uint8 ndarray of shape (n,)     # IN, the forward's mask
    scale : float
    grad_input : ndarray of shape (n,)     # OUT
    """
    _mask_scale(grad_output, mask, scale, grad_input)
