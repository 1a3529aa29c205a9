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
    """1 / (1 + exp(-x)) without overflow: exp of a non-positive number only,
    so exp never overflows and the limits are exactly 0 and 1."""
    cdef floating e
    if x >= 0:
        return 1 / (1 + f_exp(-x))
    e = f_exp(x)
    return e / (1 + e)
