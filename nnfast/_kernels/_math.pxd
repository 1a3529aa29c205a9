# Scalar math for fused float/double kernels: the float32 specialisation calls
# the C float functions (expf, logf, ...), so float32 never round-trips
# through double in the element-wise loops.
from cython cimport floating
from libc.math cimport exp, expf, log, logf, log1p, log1pf, tanh, tanhf


cdef inline floating f_exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating f_log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating f_log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating f_tanh(floating x) noexcept nogil:
    if floating is float:
        return tanhf(x)
    else:
        return tanh(x)


cdef inline floating f_sigmoid(floating x) noexcept nogil:
    """1 / (1 + exp(-x)) without overflow: with e = exp(-|x|) (never above 1),
    1 / (1 + e) for x >= 0 and e / (1 + e) below, so the limits are exactly
    0 and 1."""
    cdef floating e = f_exp(-x if x >= 0 else x)
    return (1 if x >= 0 else e) / (1 + e)


cdef inline floating f_relu(floating x) noexcept nogil:
    """max(x, 0) with NaN kept, as torch's ReLU: one select, so loops over it
    vectorize. The ReLU kernel and the fused bias-and-ReLU passes share it."""
    return 0 if x < 0 else x


cdef inline void add_bias(floating *p, const floating *bias,
                          Py_ssize_t bias_step, Py_ssize_t n,
                          bint relu) noexcept nogil:
    """p[i] += bias[i * bias_step] for i < n, then ReLU'd if relu.

    bias_step 1 adds a vector (a Linear's row of outputs), 0 one value (a
    convolution's output plane): each case has its own loop, so both
    vectorize.
    """
    cdef Py_ssize_t i
    cdef floating b
    if bias_step == 0:
        b = bias[0]
        if relu:
            for i in range(n):
                p[i] = f_relu(p[i] + b)
        else:
            for i in range(n):
                p[i] += b
        return
    if relu:
        for i in range(n):
            p[i] = f_relu(p[i] + bias[i])
    else:
        for i in range(n):
            p[i] += bias[i]


cdef inline floating array_sum(const floating *p, Py_ssize_t n) noexcept nogil:
    """sum(p[:n]) with four independent partial sums (vectorizable without
    -ffast-math, and a shorter dependency chain)."""
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t i = 0
    while i + 4 <= n:
        s0 += p[i]
        s1 += p[i + 1]
        s2 += p[i + 2]
        s3 += p[i + 3]
        i += 4
    while i < n:
        s0 += p[i]
        i += 1
    return (s0 + s1) + (s2 + s3)


cdef inline void add_channel_sums(const floating *p, Py_ssize_t n_samples,
                                  Py_ssize_t channels, Py_ssize_t size,
                                  Py_ssize_t lo, Py_ssize_t hi,
                                  floating *sums) noexcept nogil:
    """sums[c] += p[:, c].sum() for c in [lo, hi), p of shape (n_samples,
    channels, size): a bias gradient, channel by channel."""
    cdef Py_ssize_t c, n
    cdef floating s
    for c in range(lo, hi):
        s = 0
        for n in range(n_samples):
            s = s + array_sum(p + (n * channels + c) * size, size)
        sums[c] += s
