"""Dropout kernels: multiply by a kept/dropped mask and the 1/(1-p) scale.

The mask (uint8, 1 = kept) is drawn by the layer and passed in, so that
forward and backward use the same one and both backends see the same draw.
Arrays are flat (1-D, C-contiguous); threads split them into one block each
when they are large enough.
"""
from cython cimport floating

from nnfast._kernels._threads cimport run_team, split_range, team_size


cdef struct MaskScaleCall:
    # One call's arguments, shared read-only by its threads; x and out are
    # float or double as ``is_double`` says.
    const void *x
    const unsigned char *mask
    double scale
    void *out
    Py_ssize_t n
    bint is_double


cdef void _mask_scale_part(const floating *x, floating *out, MaskScaleCall *c,
                           int t, int nt) noexcept nogil:
    """out[lo:hi] := x[lo:hi] * (mask[lo:hi] * scale), thread t's block"""
    cdef const unsigned char *mask = c.mask
    cdef floating scale = <floating>c.scale
    cdef Py_ssize_t i, lo, hi
    split_range(c.n, t, nt, &lo, &hi)
    for i in range(lo, hi):
        # a multiply, not a select: x * 0 keeps NaN and inf visible, as in torch
        out[i] = x[i] * (mask[i] * scale)


cdef void _mask_scale_body(void *args, int t, int nt) noexcept nogil:
    cdef MaskScaleCall *c = <MaskScaleCall *>args
    if c.is_double:
        _mask_scale_part(<const double *>c.x, <double *>c.out, c, t, nt)
    else:
        _mask_scale_part(<const float *>c.x, <float *>c.out, c, t, nt)


cdef void _mask_scale(const floating[::1] x, const unsigned char[::1] mask,
                      double scale, floating[::1] out):
    cdef MaskScaleCall c
    c.n = x.shape[0]
    if c.n == 0:
        return
    c.x, c.mask, c.scale, c.out = &x[0], &mask[0], scale, &out[0]
    c.is_double = floating is double
    # work: two multiplies per element
    cdef int nt = team_size(2.0 * c.n, c.n)
    with nogil:
        run_team(_mask_scale_body, &c, nt)


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
