"""Batch normalization kernels over (n_samples, channels, spatial) arrays.

Any BatchNorm input, (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W),
is viewed as (N, C, S) with S the product of the spatial sizes (1 for
(N, C)), so that one set of kernels serves every rank.

Per-channel statistics are float64 (C,) arrays whatever the input's dtype:
they are accumulators, C numbers, and float32 ones would cost the accuracy
the issue asks for (a float32 input of mean 1e4 and std 1 must normalise to
within 1e-3 of a float64 reference). The big arrays (x, out, gradients)
stay in the input's dtype.

Reductions run per channel on one thread, in a fixed order (samples, then
positions), so results do not depend on the thread count
(``nf.set_deterministic`` holds trivially); element-wise passes split the
(n, c) planes between threads.
"""
from cython cimport floating
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc

from nnfast._kernels._math cimport f_relu
from nnfast._kernels._threads cimport (TypedPart, run_part, split_range, team_size)

# Elements gathered per block of the statistics: two passes over a block in
# L1 (its mean, then its squared deviations from that mean) and Chan's
# update merging the block into the channel's running (count, mean, M2).
# Exact two-pass statistics per block and a stable merge, one pass over
# memory; 256 doubles are 2 KiB of stack per thread.
cdef enum:
    STATS_BLOCK = 256


cdef struct BatchNormCall:
    # One call's arguments, shared read-only by its threads; element
    # pointers are float or double as ``part.is_double`` says.
    TypedPart part
    const void *x
    const void *weight
    const void *bias
    const void *grad_output
    const double *mean
    const double *invstd
    void *out
    void *grad_input
    void *grad_weight
    void *grad_bias
    double *var
    double *mean_out
    double *sums          # backward: per channel sum(dy), sum(dy * xhat)
    Py_ssize_t n_samples, channels, spatial
    bint relu, batch_stats, accumulate


cdef inline void _merge_block(const double *buf, Py_ssize_t nb, double *count,
                              double *mean, double *m2) noexcept nogil:
    """Fold buf[:nb] into the running (count, mean, M2) (Chan, Golub and
    LeVeque's pairwise update)."""
    cdef double s = 0, bmean, bm2 = 0, d, total
    cdef Py_ssize_t i
    for i in range(nb):
        s = s + buf[i]
    bmean = s / nb
    for i in range(nb):
        d = buf[i] - bmean
        bm2 = bm2 + d * d
    total = count[0] + nb
    d = bmean - mean[0]
    mean[0] = mean[0] + d * (nb / total)
    m2[0] = m2[0] + bm2 + d * d * (count[0] * nb / total)
    count[0] = total


cdef void _stats_part(floating *x, void *args, int t, int nt) noexcept nogil:
    """Thread t's channels [lo, hi): mean and biased variance of each."""
    cdef BatchNormCall *a = <BatchNormCall *>args
    cdef double buf[STATS_BLOCK]
    cdef double count, mean, m2
    cdef Py_ssize_t c, n, s, k, take, i, lo, hi
    cdef Py_ssize_t C = a.channels, S = a.spatial
    cdef const floating *plane
    split_range(C, t, nt, &lo, &hi)
    for c in range(lo, hi):
        count = 0
        mean = 0
        m2 = 0
        k = 0
        for n in range(a.n_samples):
            plane = x + (n * C + c) * S
            s = 0
            while s < S:
                take = min(STATS_BLOCK - k, S - s)
                for i in range(take):
                    buf[k + i] = plane[s + i]
                k = k + take
                s = s + take
                if k == STATS_BLOCK:
                    _merge_block(buf, k, &count, &mean, &m2)
                    k = 0
        if k:
            _merge_block(buf, k, &count, &mean, &m2)
        a.mean_out[c] = mean
        a.var[c] = m2 / count


def batchnorm_stats(const floating[:, :, ::1] x, double[::1] mean, double[::1] var):
    """mean[c] := x[:, c, :].mean();  var[c] := x[:, c, :].var() (biased)

    One pass over x; per channel, blocks of 256 values are reduced exactly
    (two passes in cache) and merged with Chan's update, in float64.

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, spatial)  # IN
    mean : float64 ndarray of shape (channels,)          # OUT
    var : float64 ndarray of shape (channels,)           # OUT
    """
    cdef BatchNormCall a
    a.n_samples, a.channels, a.spatial = x.shape[0], x.shape[1], x.shape[2]
    if a.n_samples == 0 or a.channels == 0 or a.spatial == 0:
        return
    a.x, a.mean_out, a.var = &x[0, 0, 0], &mean[0], &var[0]
    a.part.is_double = floating is double
    # ~6 flops per element: the copy, the sum and the squared deviation
    cdef int nt = team_size(6.0 * a.n_samples * a.channels * a.spatial, a.channels)
    with nogil:
        run_part(&a.part, _stats_part[float], _stats_part[double], a.x, nt)


cdef void _forward_part(floating *out, void *args, int t, int nt) noexcept nogil:
    """Thread t's (n, c) planes [lo, hi) of the normalise-scale-shift pass."""
    cdef BatchNormCall *a = <BatchNormCall *>args
    cdef const floating *x = <const floating *>a.x
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *bias = <const floating *>a.bias
    cdef Py_ssize_t C = a.channels, S = a.spatial, p, c, s, lo, hi
    cdef const floating *xp
    cdef floating *op
    cdef double m, scale, b
    split_range(a.n_samples * C, t, nt, &lo, &hi)
    for p in range(lo, hi):
        c = p % C
        m = a.mean[c]
        scale = <double>weight[c] * a.invstd[c]
        b = bias[c]
        xp = x + p * S
        op = out + p * S
        # in float64, the subtraction first: x - mean is where a float32
        # input with a large mean loses its digits
        if a.relu:
            for s in range(S):
                op[s] = f_relu(<floating>((xp[s] - m) * scale + b))
        else:
            for s in range(S):
                op[s] = <floating>((xp[s] - m) * scale + b)


def batchnorm_forward(const floating[:, :, ::1] x, const double[::1] mean,
                      const double[::1] invstd, const floating[::1] weight,
                      const floating[::1] bias, floating[:, :, ::1] out, bint relu=False):
    """out := (x - mean) * invstd * weight + bias per channel, computed in
    float64 and rounded once; then max(out, 0) if ``relu`` (a ReLU layer
    after it, fused into the same pass)

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, spatial)    # IN
    mean, invstd : float64 ndarrays of shape (channels,)   # IN
    weight, bias : ndarrays of shape (channels,)           # IN
    out : ndarray of shape (n_samples, channels, spatial)  # OUT
    """
    cdef BatchNormCall a
    a.n_samples, a.channels, a.spatial = x.shape[0], x.shape[1], x.shape[2]
    if a.n_samples == 0 or a.channels == 0 or a.spatial == 0:
        return
    a.x, a.mean, a.invstd = &x[0, 0, 0], &mean[0], &invstd[0]
    a.weight, a.bias, a.out = &weight[0], &bias[0], &out[0, 0, 0]
    a.relu, a.part.is_double = relu, floating is double
    cdef int nt = team_size(3.0 * a.n_samples * a.channels * a.spatial,
                            a.n_samples * a.channels)
    with nogil:
        run_part(&a.part, _forward_part[float], _forward_part[double], a.out, nt)


cdef void _sums_part(floating *x, void *args, int t, int nt) noexcept nogil:
    """Thread t's channels [lo, hi): sum(dy) and sum(dy * xhat) in one pass,
    stored in a.sums and added to (or written into) grad_bias, grad_weight."""
    cdef BatchNormCall *a = <BatchNormCall *>args
    cdef const floating *dy = <const floating *>a.grad_output
    cdef floating *grad_weight = <floating *>a.grad_weight
    cdef floating *grad_bias = <floating *>a.grad_bias
    cdef Py_ssize_t C = a.channels, S = a.spatial, c, n, s, lo, hi, offset
    cdef double m, inv, sdy, sdyx, g
    split_range(C, t, nt, &lo, &hi)
    for c in range(lo, hi):
        m = a.mean[c]
        inv = a.invstd[c]
        sdy = 0
        sdyx = 0
        for n in range(a.n_samples):
            offset = (n * C + c) * S
            for s in range(S):
                g = dy[offset + s]
                sdy = sdy + g
                sdyx = sdyx + g * ((x[offset + s] - m) * inv)
        a.sums[2 * c] = sdy
        a.sums[2 * c + 1] = sdyx
        if a.accumulate:
            grad_bias[c] = <floating>(grad_bias[c] + sdy)
            grad_weight[c] = <floating>(grad_weight[c] + sdyx)
        else:
            grad_bias[c] = <floating>sdy
            grad_weight[c] = <floating>sdyx


cdef void _input_grad_part(floating *grad_input, void *args, int t, int nt) noexcept nogil:
    """Thread t's (n, c) planes [lo, hi) of grad_input."""
    cdef BatchNormCall *a = <BatchNormCall *>args
    cdef const floating *x = <const floating *>a.x
    cdef const floating *dy = <const floating *>a.grad_output
    cdef const floating *weight = <const floating *>a.weight
    cdef Py_ssize_t C = a.channels, S = a.spatial, p, c, s, lo, hi
    cdef double m, inv, k, mean_dy, mean_dyx, count = <double>a.n_samples * S
    cdef const floating *xp
    cdef const floating *gp
    cdef floating *op
    split_range(a.n_samples * C, t, nt, &lo, &hi)
    for p in range(lo, hi):
        c = p % C
        k = <double>weight[c] * a.invstd[c]
        xp = x + p * S
        gp = dy + p * S
        op = grad_input + p * S
        if a.batch_stats:
            m = a.mean[c]
            inv = a.invstd[c]
            mean_dy = a.sums[2 * c] / count
            mean_dyx = a.sums[2 * c + 1] / count
            for s in range(S):
                op[s] = <floating>(k * (gp[s] - mean_dy - (xp[s] - m) * inv * mean_dyx))
        else:
            for s in range(S):
                op[s] = <floating>(k * gp[s])


def batchnorm_backward(const floating[:, :, ::1] x, const double[::1] mean,
                       const double[::1] invstd, const floating[::1] weight,
                       const floating[:, :, ::1] grad_output, floating[:, :, ::1] grad_input,
                       floating[::1] grad_weight, floating[::1] grad_bias,
                       bint batch_stats=True, bint accumulate=True):
    """Gradients of out = (x - mean) * invstd * weight + bias, xhat = (x - mean) * invstd.

    grad_bias += sum(grad_output);  grad_weight += sum(grad_output * xhat)
    over (n, s) per channel (``=`` when ``accumulate`` is False), in one pass;
    then, in a second pass (skipped when ``grad_input`` is None),
    grad_input := weight * invstd * (grad_output - mean(grad_output)
    - xhat * mean(grad_output * xhat)) when mean and invstd are the batch's
    own statistics (``batch_stats``), else weight * invstd * grad_output.

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, spatial)                   # IN
    mean, invstd : float64 ndarrays of shape (channels,)                  # IN
    weight : ndarray of shape (channels,)                                 # IN
    grad_output : ndarray of shape (n_samples, channels, spatial)         # IN
    grad_input : ndarray of shape (n_samples, channels, spatial) or None  # OUT
    grad_weight, grad_bias : ndarrays of shape (channels,)                # IN/OUT
    batch_stats, accumulate : bool, default True
    """
    cdef BatchNormCall a
    a.n_samples, a.channels, a.spatial = x.shape[0], x.shape[1], x.shape[2]
    if a.n_samples == 0 or a.channels == 0 or a.spatial == 0:
        return
    a.x, a.mean, a.invstd, a.weight = &x[0, 0, 0], &mean[0], &invstd[0], &weight[0]
    a.grad_output = &grad_output[0, 0, 0]
    a.grad_input = &grad_input[0, 0, 0] if grad_input is not None else NULL
    a.grad_weight, a.grad_bias = &grad_weight[0], &grad_bias[0]
    a.batch_stats, a.accumulate, a.part.is_double = batch_stats, accumulate, floating is double
    cdef double elements = <double>a.n_samples * a.channels * a.spatial
    a.sums = <double *>malloc(2 * a.channels * sizeof(double))
    if a.sums == NULL:
        raise MemoryError()
    cdef int nt = team_size(5.0 * elements, a.channels)
    try:
        with nogil:
            run_part(&a.part, _sums_part[float], _sums_part[double], a.x, nt)
            if a.grad_input != NULL:
                nt = team_size(5.0 * elements, a.n_samples * a.channels)
                run_part(&a.part, _input_grad_part[float], _input_grad_part[double],
                         a.grad_input, nt)
    finally:
        free(a.sums)
