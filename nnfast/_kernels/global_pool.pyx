"""Global average pooling kernels: threads over the (sample, channel) planes.

The forward reduces each plane to its mean, the backward spreads each
output gradient evenly back over its plane. Each plane is read (forward) or
written (backward) by one thread only, and a plane's sum is added in one
fixed order whatever the thread count: the results are the same bit for bit
on any number of threads and in deterministic mode.

x and grad_output may have any strides that are whole elements (negative,
zero, a transposed or sliced view: read in place; the layer copies a view
whose strides are not); out and grad_input are C-contiguous.
"""
from cython cimport floating

from nnfast._kernels._threads cimport TypedPart, run_part, split_range, team_size


# team_size counts flops; these kernels count each element of a plane as one
# (the forward: a load and an add; the backward: a store).
cdef double _WORK_PER_ELEMENT = 1.0


cdef struct GlobalPoolCall:
    # One call's arguments, shared read-only by its threads: src is the
    # kernel's input (x, or the output gradient) with its strides in
    # elements, dst its output (out, or the input gradient, C-contiguous),
    # float or double as ``part.is_double`` says.
    TypedPart part
    bint backward
    void *dst
    Py_ssize_t planes, channels, height, width
    Py_ssize_t stride_n, stride_c, stride_h, stride_w


cdef inline double _plane_sum(const floating *s, Py_ssize_t height, Py_ssize_t width,
                              Py_ssize_t stride_h, Py_ssize_t stride_w) noexcept nogil:
    """The sum of one plane in double: element k (in row-major order) goes
    to running sum k % 4 (four independent adds in flight, not one chain of
    dependent ones), and the four are added pairwise at the end. A strided
    plane is summed in that same order, so that a view and its contiguous
    copy give the same bits. A float32 plane is summed in double too: its
    rounding errors are a double's (2**-53 relative per add), not a
    float's, and the mean is rounded to float32 once, at the end."""
    cdef Py_ssize_t size = height * width, i, j, k, n4
    cdef double s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef double acc[4]
    cdef const floating *row
    if (width == 1 or stride_w == 1) and (height == 1 or stride_h == width):
        # the common case, in four registers
        n4 = size - size % 4
        i = 0
        while i < n4:
            s0 += s[i]
            s1 += s[i + 1]
            s2 += s[i + 2]
            s3 += s[i + 3]
            i += 4
        if n4 < size:
            s0 += s[n4]
        if n4 + 1 < size:
            s1 += s[n4 + 1]
        if n4 + 2 < size:
            s2 += s[n4 + 2]
        return (s0 + s1) + (s2 + s3)
    acc[0] = acc[1] = acc[2] = acc[3] = 0
    k = 0
    for i in range(height):
        row = s + i * stride_h
        for j in range(width):
            acc[k & 3] += row[j * stride_w]
            k += 1
    return (acc[0] + acc[1]) + (acc[2] + acc[3])


cdef void _global_pool_part(floating *src, void *args, int t, int nt) noexcept nogil:
    """Thread t's planes of the call (geometry in locals)."""
    cdef GlobalPoolCall *a = <GlobalPoolCall *>args
    cdef floating *dst = <floating *>a.dst
    cdef Py_ssize_t channels = a.channels, height = a.height, width = a.width
    cdef Py_ssize_t size = height * width
    cdef Py_ssize_t stride_n = a.stride_n, stride_c = a.stride_c
    cdef Py_ssize_t stride_h = a.stride_h, stride_w = a.stride_w
    cdef Py_ssize_t lo, hi, p, i
    cdef const floating *s
    cdef floating *d
    cdef floating v
    split_range(a.planes, t, nt, &lo, &hi)
    if not a.backward:
        for p in range(lo, hi):
            s = src + (p // channels) * stride_n + (p % channels) * stride_c
            # the mean in double, rounded once to the dtype
            dst[p] = <floating>(_plane_sum(s, height, width, stride_h, stride_w) / <double>size)
    else:
        for p in range(lo, hi):
            v = <floating>(<double>src[(p // channels) * stride_n + (p % channels) * stride_c]
                           / <double>size)
            d = dst + p * size
            for i in range(size):
                d[i] = v


cdef GlobalPoolCall _call(bint backward, Py_ssize_t *plane_shape, Py_ssize_t *src_strides,
                          bint is_double, Py_ssize_t itemsize):
    """A call's geometry: the planes from ``plane_shape`` (x's, or the input
    gradient's), the source's strides from bytes to elements."""
    cdef GlobalPoolCall a
    a.backward, a.part.is_double = backward, is_double
    a.part.f32, a.part.f64, a.part.first = NULL, NULL, NULL   # run_part sets them
    a.dst = NULL
    a.planes = plane_shape[0] * plane_shape[1]
    a.channels, a.height, a.width = plane_shape[1], plane_shape[2], plane_shape[3]
    a.stride_n, a.stride_c = src_strides[0] // itemsize, src_strides[1] // itemsize
    a.stride_h, a.stride_w = src_strides[2] // itemsize, src_strides[3] // itemsize
    return a


def global_avgpool2d_forward(const floating[:, :, :, :] x, floating[:, :, :, ::1] out):
    """out[n, c, 0, 0] := mean(x[n, c]), summed in double (float32 too) and
    rounded once.

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, height, width), any element strides  # IN
    out : ndarray of shape (n_samples, channels, 1, 1)                             # OUT
    """
    cdef GlobalPoolCall a = _call(False, x.shape, x.strides, floating is double,
                                  sizeof(floating))
    if a.planes == 0 or a.height * a.width == 0:
        return
    a.dst = &out[0, 0, 0, 0]
    cdef int nt = team_size(_WORK_PER_ELEMENT * a.planes * a.height * a.width, a.planes)
    with nogil:
        run_part(&a.part, _global_pool_part[float], _global_pool_part[double],
                 &x[0, 0, 0, 0], nt)


def global_avgpool2d_backward(const floating[:, :, :, :] grad_output,
                              floating[:, :, :, ::1] grad_input):
    """grad_input[n, c, i, j] := grad_output[n, c, 0, 0] / (height * width),
    the quotient in double rounded once.

    Parameters
    ----------
    grad_output : ndarray of shape (n_samples, channels, 1, 1), any element strides  # IN
    grad_input : ndarray of shape (n_samples, channels, height, width)              # OUT
    """
    cdef Py_ssize_t strides[4]
    strides[0], strides[1] = grad_output.strides[0], grad_output.strides[1]
    strides[2] = strides[3] = 0
    cdef GlobalPoolCall a = _call(True, grad_input.shape, strides, floating is double,
                                  sizeof(floating))
    if a.planes == 0 or a.height * a.width == 0:
        return
    a.dst = &grad_input[0, 0, 0, 0]
    cdef int nt = team_size(_WORK_PER_ELEMENT * a.planes * a.height * a.width, a.planes)
    with nogil:
        run_part(&a.part, _global_pool_part[float], _global_pool_part[double],
                 &grad_output[0, 0, 0, 0], nt)
