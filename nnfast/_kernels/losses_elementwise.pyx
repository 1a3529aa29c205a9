"""Element-wise loss kernels against float targets: MSE, BCE with logits and
BCE, over flat arrays.

Each forward returns the sum the reduction needs, each backward writes the
gradient of the reduced loss (``scale`` is 1 for "sum" and 1 / count for
"mean", chosen by the Python side). Threads split the flat elements;
``team_size`` gets each kernel's work in flops and its number of elements
as the independent units (_loss_call.pxd says how sums are added up).
"""
from cython cimport floating

from nnfast._kernels._loss_call cimport (BCE_BACKWARD, BCE_FORWARD, BCE_WITH_LOGITS_BACKWARD,
                                         BCE_WITH_LOGITS_FORWARD, MSE_BACKWARD, MSE_FORWARD,
                                         LossCall, Op, new_loss_call, run_summing,
                                         run_writing)
from nnfast._kernels._math cimport f_exp, f_log, f_log1p, f_sigmoid
from nnfast._kernels._threads cimport split_range, team_size

# torch clamps log(p) at -100 in BCE so that p == 0 gives a finite loss, and
# divides its gradient by max(p * (1 - p), 1e-12), aten's EPSILON, a float
# constant: 1e-12 rounded to float32, which float64 gradients see too.
cdef double BCE_LOG_MIN = -100.0
cdef double BCE_GRAD_EPS = <float>1e-12


cdef void _elementwise_part(const floating *a, const floating *b, floating *out,
                            LossCall *c, int t, int nt) noexcept nogil:
    """Thread t's block: forward ops add their loss terms into partial[t],
    backward ops write out[lo:hi]."""
    cdef Op op = c.op
    cdef floating scale = <floating>c.scale
    cdef Py_ssize_t i, lo, hi
    cdef floating v, u, lp, lq
    cdef double acc = 0
    split_range(c.n_samples, t, nt, &lo, &hi)
    if op == MSE_FORWARD:
        for i in range(lo, hi):
            v = a[i] - b[i]
            acc += <double>v * v
    elif op == MSE_BACKWARD:
        for i in range(lo, hi):
            out[i] = scale * (a[i] - b[i])
    elif op == BCE_WITH_LOGITS_FORWARD:
        for i in range(lo, hi):
            # max(x, 0) - x * t + log(1 + exp(-|x|)): exp of -|x| never overflows
            v = a[i]
            u = -v if v > 0 else v
            acc += (v if v > 0 else 0) - v * b[i] + f_log1p(f_exp(u))
    elif op == BCE_WITH_LOGITS_BACKWARD:
        for i in range(lo, hi):
            out[i] = scale * (f_sigmoid(a[i]) - b[i])
    elif op == BCE_FORWARD:
        for i in range(lo, hi):
            v = a[i]
            lp = f_log(v)
            lq = f_log1p(-v)
            if lp < BCE_LOG_MIN:
                lp = <floating>BCE_LOG_MIN
            if lq < BCE_LOG_MIN:
                lq = <floating>BCE_LOG_MIN
            acc -= b[i] * lp + (1 - b[i]) * lq
    elif op == BCE_BACKWARD:
        for i in range(lo, hi):
            v = a[i]
            u = v * (1 - v)
            if u < BCE_GRAD_EPS:
                u = <floating>BCE_GRAD_EPS
            out[i] = scale * (v - b[i]) / u
    if c.partial != NULL:
        c.partial[t] = acc


cdef void _elementwise_typed_part(floating *a, void *args, int t, int nt) noexcept nogil:
    cdef LossCall *c = <LossCall *>args
    _elementwise_part(a, <const floating *>c.target, <floating *>c.out, c, t, nt)


cdef LossCall _elementwise_call(Op op, const floating[::1] a, const floating[::1] b):
    cdef LossCall c = new_loss_call(_elementwise_typed_part[float],
                                    _elementwise_typed_part[double], &a[0], a.shape[0], 1,
                                    floating is double)
    c.op, c.target = op, &b[0]
    return c


cdef double _elementwise_sum(Op op, const floating[::1] a, const floating[::1] b,
                             double cost):
    """The sum of a forward op's terms over the flat arrays, ``cost`` flops
    per element."""
    cdef Py_ssize_t n = a.shape[0]
    if n == 0:
        return 0.0
    cdef LossCall c = _elementwise_call(op, a, b)
    return run_summing(&c, team_size(cost * n, n), 1)[0]


cdef void _elementwise_write(Op op, const floating[::1] a, const floating[::1] b,
                             double scale, floating[::1] out, double cost):
    """out := a backward op over the flat arrays, ``cost`` flops per element."""
    cdef Py_ssize_t n = a.shape[0]
    if n == 0:
        return
    cdef LossCall c = _elementwise_call(op, a, b)
    c.scale, c.out = scale, &out[0]
    run_writing(&c, team_size(cost * n, n))


def mse_forward(const floating[::1] pred, const floating[::1] target):
    """sum((pred - target) ** 2)

    Parameters
    ----------
    pred, target : ndarray of shape (n,)  # IN
    """
    return _elementwise_sum(MSE_FORWARD, pred, target, 2.0)


def mse_backward(const floating[::1] pred, const floating[::1] target, double scale,
                 floating[::1] grad_input):
    """grad_input := 2 * scale * (pred - target)

    Parameters
    ----------
    pred, target : ndarray of shape (n,)  # IN
    scale : float                         # 1 / n for "mean", 1 for "sum"
    grad_input : ndarray of shape (n,)    # OUT
    """
    _elementwise_write(MSE_BACKWARD, pred, target, 2.0 * scale, grad_input, 2.0)


def bce_with_logits_forward(const floating[::1] x, const floating[::1] target):
    """sum(max(x, 0) - x * target + log1p(exp(-|x|))), stable for any |x|

    Parameters
    ----------
    x : ndarray of shape (n,)       # IN, logits
    target : ndarray of shape (n,)  # IN, in [0, 1]
    """
    return _elementwise_sum(BCE_WITH_LOGITS_FORWARD, x, target, 20.0)


def bce_with_logits_backward(const floating[::1] x, const floating[::1] target,
                             double scale, floating[::1] grad_input):
    """grad_input := scale * (sigmoid(x) - target)

    Parameters
    ----------
    x, target : ndarray of shape (n,)   # IN
    scale : float                       # 1 / n for "mean", 1 for "sum"
    grad_input : ndarray of shape (n,)  # OUT
    """
    _elementwise_write(BCE_WITH_LOGITS_BACKWARD, x, target, scale, grad_input, 10.0)


def bce_forward(const floating[::1] prob, const floating[::1] target):
    """sum(-(target * max(log p, -100) + (1 - target) * max(log(1 - p), -100)))

    Parameters
    ----------
    prob : ndarray of shape (n,)    # IN, in [0, 1]
    target : ndarray of shape (n,)  # IN, in [0, 1]
    """
    return _elementwise_sum(BCE_FORWARD, prob, target, 20.0)


def bce_backward(const floating[::1] prob, const floating[::1] target, double scale,
                 floating[::1] grad_input):
    """grad_input := scale * (p - target) / max(p * (1 - p), 1e-12)

    Parameters
    ----------
    prob, target : ndarray of shape (n,)  # IN
    scale : float                         # 1 / n for "mean", 1 for "sum"
    grad_input : ndarray of shape (n,)    # OUT
    """
    _elementwise_write(BCE_BACKWARD, prob, target, scale, grad_input, 4.0)
