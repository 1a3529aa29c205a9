# distutils: sources = csrc/batchnorm_sums.c
# distutils: extra_compile_args = -ffp-contract=off
"""Batch normalization kernels over (n_samples, channels, spatial) arrays.

Any BatchNorm input, (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W),
is viewed as (N, C, S) with S the product of the spatial sizes (1 for
(N, C)), so that one set of kernels serves every rank.

Per-channel statistics are float64 (C,) arrays whatever the input's dtype:
they are accumulators, C numbers, and float32 ones would cost the accuracy
the issue asks for (a float32 input of mean 1e4 and std 1 must normalise to
within 1e-3 of a float64 reference). The big arrays (x, out, gradients)
stay in the input's dtype.

Reductions run per channel on one thread, in a fixed order (16 lanes over
each plane's positions, csrc/batchnorm_sums.h), so results do not depend on
the thread count (``nf.set_deterministic`` holds trivially); element-wise
passes split the (n, c) planes between threads.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

from nnfast._kernels._math cimport f_relu
from nnfast._kernels._threads cimport (TypedPart, run_part, split_range, team_size)

cdef extern from "batchnorm_sums.h" nogil:
    void batchnorm_moments_f32(const float *x, int64_t n_samples, int64_t sample_stride,
                               int64_t spatial, double *mean, double *var)
    void batchnorm_moments_f64(const double *x, int64_t n_samples, int64_t sample_stride,
                               int64_t spatial, double *mean, double *var)
    void batchnorm_grad_sums_f32(const float *x, const float *dy, int64_t n_samples,
                                 int64_t sample_stride, int64_t spatial, double mean,
                                 double *sum_dy, double *sum_dy_centered)
    void batchnorm_normalize_plane_f32(const float *x, float *out, int64_t size, double mean,
                                       double scale, double bias, int relu)
    void batchnorm_normalize_plane_f64(const double *x, double *out, int64_t size, double mean,
                                       double scale, double bias, int relu)
    void batchnorm_input_grad_plane_f32(const float *x, const float *dy, float *grad_input,
                                        int64_t size, double k, double mean_dy, double mean,
                                        double xhat_scale)
    void batchnorm_grad_sums_relu_f32(const float *x, const float *dy, int64_t n_samples,
                                      int64_t sample_stride, int64_t spatial, double mean,
                                      double scale, double bias, double *sum_dy,
                                      double *sum_dy_centered)
    void batchnorm_grad_sums_relu_f64(const double *x, const double *dy, int64_t n_samples,
                                      int64_t sample_stride, int64_t spatial, double mean,
                                      double scale, double bias, double *sum_dy,
                                      double *sum_dy_centered)
    void batchnorm_input_grad_plane_relu_f32(const float *x, const float *dy,
                                             float *grad_input, int64_t size, double k,
                                             double mean_dy, double mean, double xhat_scale,
                                             double scale, double bias)
    void batchnorm_input_grad_plane_relu_f64(const double *x, const double *dy,
                                             double *grad_input, int64_t size, double k,
                                             double mean_dy, double mean, double xhat_scale,
                                             double scale, double bias)
    void batchnorm_input_grad_plane_f64(const double *x, const double *dy, double *grad_input,
                                        int64_t size, double k, double mean_dy, double mean,
                                        double xhat_scale)
    void batchnorm_grad_sums_f64(const double *x, const double *dy, int64_t n_samples,
                                 int64_t sample_stride, int64_t spatial, double mean,
                                 double *sum_dy, double *sum_dy_centered)


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


cdef void _stats_part(floating *x, void *args, int t, int nt) noexcept nogil:
    """Thread t's channels [lo, hi): mean and biased variance of each."""
    cdef BatchNormCall *a = <BatchNormCall *>args
    cdef Py_ssize_t c, lo, hi, C = a.channels, S = a.spatial
    split_range(C, t, nt, &lo, &hi)
    for c in range(lo, hi):
        if floating is float:
            batchnorm_moments_f32(x + c * S, a.n_samples, C * S, S, &a.mean_out[c], &a.var[c])
        else:
            batchnorm_moments_f64(x + c * S, a.n_samples, C * S, S, &a.mean_out[c], &a.var[c])


def batchnorm_stats(const floating[:, :, ::1] x, double[::1] mean, double[::1] var):
    """mean[c] := x[:, c, :].mean();  var[c] := x[:, c, :].var() (biased)

    One pass over x; per channel, blocks of 256 values are reduced exactly
    (two passes in cache) and merged with Chan's update, in float64
    (csrc/batchnorm_sums.h).

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
    cdef Py_ssize_t C = a.channels, S = a.spatial, p, c, lo, hi
    cdef double m, scale, b
    split_range(a.n_samples * C, t, nt, &lo, &hi)
    for p in range(lo, hi):
        c = p % C
        m = a.mean[c]
        scale = <double>weight[c] * a.invstd[c]
        b = bias[c]
        if floating is float:
            batchnorm_normalize_plane_f32(x + p * S, out + p * S, S, m, scale, b, a.relu)
        else:
            batchnorm_normalize_plane_f64(x + p * S, out + p * S, S, m, scale, b, a.relu)


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
    cdef const floating *weight = <const floating *>a.weight
    cdef const floating *bias = <const floating *>a.bias
    cdef Py_ssize_t C = a.channels, S = a.spatial, c, lo, hi
    cdef double sdy, sdyx, scale
    split_range(C, t, nt, &lo, &hi)
    for c in range(lo, hi):
        # sum(dy * (x - mean)) * invstd: sum(dy * xhat), invstd taken out
        if a.relu:
            # dy through the ReLU after the layer, its mask from x (as the
            # forward computed the output: scale = weight * invstd)
            scale = <double>weight[c] * a.invstd[c]
            if floating is float:
                batchnorm_grad_sums_relu_f32(x + c * S, dy + c * S, a.n_samples, C * S, S,
                                             a.mean[c], scale, bias[c], &sdy, &sdyx)
            else:
                batchnorm_grad_sums_relu_f64(x + c * S, dy + c * S, a.n_samples, C * S, S,
                                             a.mean[c], scale, bias[c], &sdy, &sdyx)
        elif floating is float:
            batchnorm_grad_sums_f32(x + c * S, dy + c * S, a.n_samples, C * S, S, a.mean[c],
                                    &sdy, &sdyx)
        else:
            batchnorm_grad_sums_f64(x + c * S, dy + c * S, a.n_samples, C * S, S, a.mean[c],
                                    &sdy, &sdyx)
        sdyx = sdyx * a.invstd[c]
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
    cdef const floating *bias = <const floating *>a.bias
    cdef Py_ssize_t C = a.channels, S = a.spatial, p, c, lo, hi
    cdef double m, k, mean_dy, xhat_scale, count = <double>a.n_samples * S
    split_range(a.n_samples * C, t, nt, &lo, &hi)
    for p in range(lo, hi):
        c = p % C
        k = <double>weight[c] * a.invstd[c]
        m = a.mean[c]  # (the fused ReLU's mask needs it in either case)
        if a.batch_stats:
            mean_dy = a.sums[2 * c] / count
            xhat_scale = a.invstd[c] * (a.sums[2 * c + 1] / count)
        else:
            # running statistics: constants, so grad_input is k * dy
            mean_dy = 0
            xhat_scale = 0
        if a.relu:
            if floating is float:
                batchnorm_input_grad_plane_relu_f32(x + p * S, dy + p * S, grad_input + p * S,
                                                    S, k, mean_dy, m, xhat_scale, k,
                                                    bias[c])
            else:
                batchnorm_input_grad_plane_relu_f64(x + p * S, dy + p * S, grad_input + p * S,
                                                    S, k, mean_dy, m, xhat_scale, k,
                                                    bias[c])
        elif floating is float:
            batchnorm_input_grad_plane_f32(x + p * S, dy + p * S, grad_input + p * S, S, k,
                                           mean_dy, m, xhat_scale)
        else:
            batchnorm_input_grad_plane_f64(x + p * S, dy + p * S, grad_input + p * S, S, k,
                                           mean_dy, m, xhat_scale)


def batchnorm_backward(const floating[:, :, ::1] x, const double[::1] mean,
                       const double[::1] invstd, const floating[::1] weight,
                       const floating[:, :, ::1] grad_output, floating[:, :, ::1] grad_input,
                       floating[::1] grad_weight, floating[::1] grad_bias,
                       bint batch_stats=True, bint accumulate=True,
                       const floating[::1] bias=None, bint relu=False):
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
    bias : ndarray of shape (channels,) or None                           # IN, with relu
    relu : bool, default False
        The layer's output went through a ReLU (fused in the forward):
        grad_output is the ReLU's, taken through it first (kept where the
        output (x - mean) * invstd * weight + bias, computed as the forward
        computes it, is > 0; bias is needed for that), with no pass of its own.
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
    if relu and bias is None:
        raise ValueError("batchnorm_backward: relu=True needs the bias the forward added")
    a.relu = relu
    a.bias = &bias[0] if relu else NULL
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
