"""Upsampling kernels (nearest and bilinear, 2-D): threads over the (sample,
channel) planes.

PyTorch's ``F.interpolate`` with ``scale_factor`` given (and
``recompute_scale_factor`` unset): the source coordinate of an output pixel
comes from the given scale, not from the ratio of the sizes, so the scales
are arguments (``scale_factor`` (h, w), as the layer was given them; an
entry <= 0 means "none given": the ratio of the sizes, as torch's).

Each call first fills one table per axis (a source index per output row or
column, and for bilinear a second index and the two weights): the same
arithmetic, in the same precision, as torch's CPU kernels
(``nearest_idx``, ``area_pixel_compute_scale``,
``area_pixel_compute_source_index``, ``guard_index_and_lambda`` in
aten/src/ATen/native/UpSample.h). Then each plane is read (forward) or
written (backward) by one thread only: the backward's scatter-add needs no
atomics, and its sums are added in one fixed order (deterministic). A 3-D
(trilinear) kernel adds a third table of the same kinds.
"""
import numpy as np

from cython cimport floating
from libc.math cimport floorf
from libc.string cimport memset

from nnfast._kernels._threads cimport TypedPart, run_part, split_range, team_size


# team_size counts flops; these kernels count each output element as the
# flops of about equal time: a nearest copy is a gather load and a store
# (a few adds' worth), a bilinear element four gathers and six multiply-adds.
cdef double _NEAREST_WORK = 2.0
cdef double _LINEAR_WORK = 8.0


cdef enum Kind:
    NEAREST_FORWARD, NEAREST_BACKWARD, LINEAR_FORWARD, LINEAR_BACKWARD


cdef struct UpsampleCall:
    # One call's arguments, shared read-only by its threads: src is the
    # kernel's input (x, or the output gradient), dst its output (out, or
    # the input gradient), float or double as ``part.is_double`` says; the
    # tables are per axis (rows h, columns w) of the output.
    TypedPart part
    Kind kind
    const void *src
    void *dst
    const Py_ssize_t *h0
    const Py_ssize_t *h1
    const Py_ssize_t *w0
    const Py_ssize_t *w1
    const void *h_weights               # lambda0 then lambda1, out_height each
    const void *w_weights               # lambda0 then lambda1, out_width each
    Py_ssize_t planes, height, width, out_height, out_width


# -- the tables: one axis each ------------------------------------------------

cdef inline Py_ssize_t _floor_index(float real, Py_ssize_t size) noexcept nogil:
    """min(floorf(real), size - 1), as torch's (its double coordinates are
    floored as floats too); 0 for what is below 0 or NaN, which torch's
    arithmetic never makes but no input may turn into an out-of-bounds read."""
    cdef float f = floorf(real)
    if not f >= 0:
        return 0
    if f >= <float>(size - 1):
        return size - 1
    return <Py_ssize_t>f


cdef void _nearest_table(Py_ssize_t size, Py_ssize_t out_size, double scale,
                         Py_ssize_t *index) noexcept nogil:
    """index[i] := the source of output i along one axis (torch's
    nearest_idx): i itself when the sizes are equal, i // 2 when the output
    is twice the input, else min(floor(i * (float)(1 / scale)), size - 1) in
    float arithmetic for either dtype."""
    cdef Py_ssize_t i
    cdef float ratio
    if out_size == size:
        for i in range(out_size):
            index[i] = i
    elif out_size == 2 * size:
        for i in range(out_size):
            index[i] = i >> 1
    else:
        ratio = <float>(1.0 / scale) if scale > 0 else <float>size / <float>out_size
        for i in range(out_size):
            index[i] = _floor_index(<float>i * ratio, size)


cdef void _linear_table(Py_ssize_t size, Py_ssize_t out_size, double scale,
                        bint align_corners, Py_ssize_t *index0, Py_ssize_t *index1,
                        floating *lambda0, floating *lambda1) noexcept nogil:
    """Output i along one axis := lambda0[i] * in[index0[i]] + lambda1[i] *
    in[index1[i]] (torch's compute_source_index_and_lambda, in the dtype's
    precision): a copy when the sizes are equal; else the source coordinate
    i * (size - 1) / (out_size - 1) (align_corners) or (i + 0.5) / scale -
    0.5 clamped at 0 (half-pixel), its floor and the next pixel (the last
    pixel twice at the end), the fraction as lambda1."""
    cdef Py_ssize_t i, i0
    cdef floating ratio, real, frac
    if out_size == size:
        for i in range(out_size):
            index0[i] = index1[i] = i
            lambda0[i], lambda1[i] = 1, 0
        return
    if align_corners:
        ratio = <floating>(size - 1) / <floating>(out_size - 1) if out_size > 1 else 0
    else:
        ratio = <floating>(1.0 / scale) if scale > 0 else <floating>size / <floating>out_size
    for i in range(out_size):
        if align_corners:
            real = ratio * <floating>i
        else:
            real = ratio * (<floating>i + <floating>0.5) - <floating>0.5
            if real < 0:
                real = 0
        i0 = _floor_index(<float>real, size)
        frac = real - <floating>i0
        frac = 0 if frac < 0 else (1 if frac > 1 else frac)
        index0[i] = i0
        index1[i] = i0 + 1 if i0 < size - 1 else i0
        lambda0[i] = 1 - frac
        lambda1[i] = frac


# -- the planes ----------------------------------------------------------------

cdef void _upsample_part(floating *src, void *args, int t, int nt) noexcept nogil:
    """Thread t's planes of the call (geometry and tables in locals)."""
    cdef UpsampleCall *a = <UpsampleCall *>args
    cdef floating *dst = <floating *>a.dst
    cdef Py_ssize_t width = a.width, out_height = a.out_height, out_width = a.out_width
    cdef Py_ssize_t size = a.height * width, out_size = out_height * out_width
    cdef const Py_ssize_t *h0 = a.h0
    cdef const Py_ssize_t *h1 = a.h1
    cdef const Py_ssize_t *w0 = a.w0
    cdef const Py_ssize_t *w1 = a.w1
    cdef const floating *lh0 = <const floating *>a.h_weights
    cdef const floating *lh1 = lh0 + out_height
    cdef const floating *lw0 = <const floating *>a.w_weights
    cdef const floating *lw1 = lw0 + out_width
    cdef Py_ssize_t lo, hi, p, oh, ow, i, j
    cdef const floating *s
    cdef const floating *r0
    cdef const floating *r1
    cdef floating *d
    cdef floating *g0
    cdef floating *g1
    cdef floating a0, a1, b0, b1, v
    split_range(a.planes, t, nt, &lo, &hi)
    if a.kind == NEAREST_FORWARD:
        for p in range(lo, hi):
            for oh in range(out_height):
                r0 = src + p * size + h0[oh] * width
                d = dst + p * out_size + oh * out_width
                for ow in range(out_width):
                    d[ow] = r0[w0[ow]]
    elif a.kind == NEAREST_BACKWARD:
        for p in range(lo, hi):
            memset(dst + p * size, 0, size * sizeof(floating))
            for oh in range(out_height):
                s = src + p * out_size + oh * out_width
                g0 = dst + p * size + h0[oh] * width
                for ow in range(out_width):
                    g0[w0[ow]] += s[ow]
    elif a.kind == LINEAR_FORWARD:
        # torch's order: along the width in each of the two rows, then
        # along the height
        for p in range(lo, hi):
            for oh in range(out_height):
                r0 = src + p * size + h0[oh] * width
                r1 = src + p * size + h1[oh] * width
                a0, a1 = lh0[oh], lh1[oh]
                d = dst + p * out_size + oh * out_width
                for ow in range(out_width):
                    i, j, b0, b1 = w0[ow], w1[ow], lw0[ow], lw1[ow]
                    d[ow] = (b0 * r0[i] + b1 * r0[j]) * a0 + (b0 * r1[i] + b1 * r1[j]) * a1
    else:
        for p in range(lo, hi):
            memset(dst + p * size, 0, size * sizeof(floating))
            for oh in range(out_height):
                s = src + p * out_size + oh * out_width
                g0 = dst + p * size + h0[oh] * width
                g1 = dst + p * size + h1[oh] * width
                a0, a1 = lh0[oh], lh1[oh]
                for ow in range(out_width):
                    i, j, b0, b1, v = w0[ow], w1[ow], lw0[ow], lw1[ow], s[ow]
                    g0[i] += a0 * b0 * v
                    g0[j] += a0 * b1 * v
                    g1[i] += a1 * b0 * v
                    g1[j] += a1 * b1 * v


cdef UpsampleCall _call(Kind kind, Py_ssize_t *in_shape, Py_ssize_t *out_shape,
                        bint is_double):
    """A call's geometry from the shapes of x (or the input gradient) and out
    (or the output gradient); tables unset."""
    cdef UpsampleCall a
    a.kind, a.part.is_double = kind, is_double
    a.planes = in_shape[0] * in_shape[1]
    a.height, a.width = in_shape[2], in_shape[3]
    a.out_height, a.out_width = out_shape[2], out_shape[3]
    a.h0 = a.h1 = a.w0 = a.w1 = NULL
    a.h_weights = a.w_weights = NULL
    return a


cdef tuple _nearest_tables(UpsampleCall *a, scale_factor):
    """Fill a's nearest tables; returns their arrays (alive for the call)."""
    cdef Py_ssize_t[::1] h = np.empty(a.out_height, np.intp)
    cdef Py_ssize_t[::1] w = np.empty(a.out_width, np.intp)
    _nearest_table(a.height, a.out_height, float(scale_factor[0]), &h[0])
    _nearest_table(a.width, a.out_width, float(scale_factor[1]), &w[0])
    a.h0, a.w0 = &h[0], &w[0]
    return h, w


cdef tuple _linear_tables(UpsampleCall *a, scale_factor, bint align_corners,
                          floating[::1] h_weights, floating[::1] w_weights):
    """Fill a's bilinear tables (the weights into the arrays given, 2 *
    out_height and 2 * out_width long); returns the index arrays."""
    cdef Py_ssize_t[::1] h = np.empty(2 * a.out_height, np.intp)
    cdef Py_ssize_t[::1] w = np.empty(2 * a.out_width, np.intp)
    _linear_table(a.height, a.out_height, float(scale_factor[0]), align_corners, &h[0],
                  &h[a.out_height], &h_weights[0], &h_weights[a.out_height])
    _linear_table(a.width, a.out_width, float(scale_factor[1]), align_corners, &w[0],
                  &w[a.out_width], &w_weights[0], &w_weights[a.out_width])
    a.h0, a.h1, a.w0, a.w1 = &h[0], &h[a.out_height], &w[0], &w[a.out_width]
    a.h_weights, a.w_weights = &h_weights[0], &w_weights[0]
    return h, w


def upsample2d_nearest_forward(const floating[:, :, :, ::1] x, scale_factor,
                               floating[:, :, :, ::1] out):
    """out[n, c, i, j] := x[n, c, src_h(i), src_w(j)], with src(i) torch's
    nearest index along each axis (i for equal sizes, i // 2 for a doubled
    one, else min(floor(i * (float)(1 / scale)), size - 1)).

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, height, width)                  # IN
    scale_factor : (h, w) pair of float, the scales the output sizes came from
    out : ndarray of shape (n_samples, channels, out_height, out_width)        # OUT
    """
    cdef UpsampleCall a = _call(NEAREST_FORWARD, x.shape, out.shape, floating is double)
    tables = _nearest_tables(&a, scale_factor)
    a.src, a.dst = &x[0, 0, 0, 0], &out[0, 0, 0, 0]
    cdef int nt = team_size(_NEAREST_WORK * a.planes * a.out_height * a.out_width, a.planes)
    with nogil:
        run_part(&a.part, _upsample_part[float], _upsample_part[double], a.src, nt)


def upsample2d_nearest_backward(const floating[:, :, :, ::1] grad_output, scale_factor,
                                floating[:, :, :, ::1] grad_input):
    """grad_input := 0, then each grad_output[n, c, i, j] added at
    (src_h(i), src_w(j)) of its plane (the forward's indices).

    Parameters
    ----------
    grad_output : ndarray of shape (n_samples, channels, out_height, out_width)   # IN
    scale_factor : (h, w) pair of float, as the forward's
    grad_input : ndarray of shape (n_samples, channels, height, width)            # OUT
    """
    cdef UpsampleCall a = _call(NEAREST_BACKWARD, grad_input.shape, grad_output.shape,
                                floating is double)
    tables = _nearest_tables(&a, scale_factor)
    a.src, a.dst = &grad_output[0, 0, 0, 0], &grad_input[0, 0, 0, 0]
    cdef int nt = team_size(_NEAREST_WORK * a.planes
                            * (a.height * a.width + a.out_height * a.out_width), a.planes)
    with nogil:
        run_part(&a.part, _upsample_part[float], _upsample_part[double], a.src, nt)


def upsample2d_bilinear_forward(const floating[:, :, :, ::1] x, scale_factor,
                                bint align_corners, floating[:, :, :, ::1] out):
    """out := x interpolated bilinearly at torch's source coordinates: with
    align_corners, i * (size - 1) / (out_size - 1); without, the half-pixel
    (i + 0.5) / scale - 0.5 clamped at 0 (equal sizes copy).

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, height, width)                  # IN
    scale_factor : (h, w) pair of float (unused along an axis with align_corners)
    align_corners : bool
    out : ndarray of shape (n_samples, channels, out_height, out_width)        # OUT
    """
    cdef UpsampleCall a = _call(LINEAR_FORWARD, x.shape, out.shape, floating is double)
    dtype = np.float64 if floating is double else np.float32
    cdef floating[::1] h_weights = np.empty(2 * a.out_height, dtype)
    cdef floating[::1] w_weights = np.empty(2 * a.out_width, dtype)
    tables = _linear_tables(&a, scale_factor, align_corners, h_weights, w_weights)
    a.src, a.dst = &x[0, 0, 0, 0], &out[0, 0, 0, 0]
    cdef int nt = team_size(_LINEAR_WORK * a.planes * a.out_height * a.out_width, a.planes)
    with nogil:
        run_part(&a.part, _upsample_part[float], _upsample_part[double], a.src, nt)


def upsample2d_bilinear_backward(const floating[:, :, :, ::1] grad_output, scale_factor,
                                 bint align_corners, floating[:, :, :, ::1] grad_input):
    """grad_input := 0, then each grad_output[n, c, i, j] added, times its
    four bilinear weights, at the four pixels the forward read for it.

    Parameters
    ----------
    grad_output : ndarray of shape (n_samples, channels, out_height, out_width)   # IN
    scale_factor : (h, w) pair of float, as the forward's
    align_corners : bool
    grad_input : ndarray of shape (n_samples, channels, height, width)            # OUT
    """
    cdef UpsampleCall a = _call(LINEAR_BACKWARD, grad_input.shape, grad_output.shape,
                                floating is double)
    dtype = np.float64 if floating is double else np.float32
    cdef floating[::1] h_weights = np.empty(2 * a.out_height, dtype)
    cdef floating[::1] w_weights = np.empty(2 * a.out_width, dtype)
    tables = _linear_tables(&a, scale_factor, align_corners, h_weights, w_weights)
    a.src, a.dst = &grad_output[0, 0, 0, 0], &grad_input[0, 0, 0, 0]
    cdef int nt = team_size(_LINEAR_WORK * a.planes
                            * (a.height * a.width + a.out_height * a.out_width), a.planes)
    with nogil:
        run_part(&a.part, _upsample_part[float], _upsample_part[double], a.src, nt)
