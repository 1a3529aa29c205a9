"""Loss kernels: each forward returns the sum(s) the reduction needs, each
backward writes the gradient of the reduced loss (``scale`` is 1 for "sum"
and 1 / count for "mean", chosen by the Python side).

Sums are accumulated in double, one partial sum per thread (no two threads
add into one number), and added up after the parallel region. Threads split
the samples (row losses) or the flat elements (element-wise losses).
"""
import numpy as np

from cython cimport floating
from cython.parallel cimport parallel, threadid
from libc.stdint cimport int64_t

from nnfast._kernels._math cimport f_exp, f_log, f_log1p, f_sigmoid
from nnfast._kernels._openmp cimport omp_get_num_threads, nnfast_flush_denormals
from nnfast._kernels._threads cimport threads_for, split_range

# torch clamps log(p) at -100 in BCE so that p == 0 gives a finite loss, and
# divides its gradient by max(p * (1 - p), 1e-12), aten's EPSILON, a float
# constant: 1e-12 rounded to float32, which float64 gradients see too.
cdef double BCE_LOG_MIN = -100.0
cdef double BCE_GRAD_EPS = <float>1e-12


cdef int _threads(double work, Py_ssize_t units) noexcept nogil:
    """threads_for(work), never more threads than independent units."""
    cdef int nt = threads_for(work)
    if nt > units:
        nt = <int>units
    return nt if nt > 1 else 1


cdef double _total(double[:, ::1] partial, Py_ssize_t k):
    cdef Py_ssize_t t
    cdef double s = 0
    for t in range(partial.shape[0]):
        s += partial[t, k]
    return s


# -- softmax + cross-entropy, NLL -------------------------------------------

cdef void _cross_entropy_forward_block(const floating[:, ::1] x, const int64_t[::1] labels,
                                       const floating[::1] weight, bint has_weight,
                                       floating[:, ::1] prob, double[:, ::1] partial,
                                       int t, int nt) noexcept nogil:
    cdef Py_ssize_t n_classes = x.shape[1]
    cdef Py_ssize_t i, c, lo, hi
    cdef const floating *row
    cdef floating *p
    cdef floating m, e, inv
    cdef double total, loss = 0, weight_sum = 0, w
    nnfast_flush_denormals()
    split_range(x.shape[0], t, nt, &lo, &hi)
    for i in range(lo, hi):
        row = &x[i, 0]
        p = &prob[i, 0]
        m = row[0]
        for c in range(1, n_classes):
            if row[c] > m:
                m = row[c]
        total = 0
        for c in range(n_classes):
            e = f_exp(row[c] - m)
            p[c] = e
            total += e
        inv = <floating>(1.0 / total)
        for c in range(n_classes):
            p[c] *= inv
        w = weight[labels[i]] if has_weight else 1.0
        # -log softmax(x)[y] = log(total) - (x[y] - max): stable for any |x|
        loss += w * (f_log(<floating>total) - (row[labels[i]] - m))
        weight_sum += w
    partial[t, 0] = loss
    partial[t, 1] = weight_sum


def cross_entropy_forward(const floating[:, ::1] x, const int64_t[::1] labels,
                          const floating[::1] weight, floating[:, ::1] prob):
    """Softmax cross-entropy: per sample l_i = -log softmax(x_i)[y_i].

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_classes)        # IN, logits
    labels : int64 ndarray of shape (n_samples,)       # IN, in [0, n_classes)
    weight : ndarray of shape (n_classes,) or None     # IN, class weights
    prob : ndarray of shape (n_samples, n_classes)     # OUT, softmax(x), for backward

    Returns
    -------
    (sum_i w[y_i] * l_i, sum_i w[y_i]) : (float, float); w = 1 without weights
    """
    cdef bint has_weight = weight is not None
    cdef int nt = _threads(12.0 * x.shape[0] * x.shape[1], x.shape[0])
    cdef double[:, ::1] partial = np.zeros((nt, 2))
    if x.shape[0] == 0:
        return 0.0, 0.0
    if nt <= 1:
        with nogil:
            _cross_entropy_forward_block(x, labels, weight, has_weight, prob, partial, 0, 1)
    else:
        with nogil, parallel(num_threads=nt):
            _cross_entropy_forward_block(x, labels, weight, has_weight, prob, partial,
                                         threadid(), omp_get_num_threads())
    return _total(partial, 0), _total(partial, 1)


cdef void _cross_entropy_backward_block(const floating[:, ::1] prob, const int64_t[::1] labels,
                                        const floating[::1] weight, bint has_weight,
                                        floating scale, floating[:, ::1] grad_input,
                                        int t, int nt) noexcept nogil:
    cdef Py_ssize_t i, c, lo, hi
    cdef floating s
    nnfast_flush_denormals()
    split_range(prob.shape[0], t, nt, &lo, &hi)
    for i in range(lo, hi):
        s = scale * weight[labels[i]] if has_weight else scale
        for c in range(prob.shape[1]):
            grad_input[i, c] = s * prob[i, c]
        grad_input[i, labels[i]] -= s


def cross_entropy_backward(const floating[:, ::1] prob, const int64_t[::1] labels,
                           const floating[::1] weight, double scale,
                           floating[:, ::1] grad_input):
    """grad_input := scale * w[y_i] * (prob_i - onehot(y_i))

    Parameters
    ----------
    prob : ndarray of shape (n_samples, n_classes)        # IN, from cross_entropy_forward
    labels : int64 ndarray of shape (n_samples,)          # IN
    weight : ndarray of shape (n_classes,) or None        # IN
    scale : float                                         # 1 / sum_i w[y_i] ("mean") or 1 ("sum")
    grad_input : ndarray of shape (n_samples, n_classes)  # OUT
    """
    cdef bint has_weight = weight is not None
    cdef int nt = _threads(2.0 * prob.shape[0] * prob.shape[1], prob.shape[0])
    if prob.shape[0] == 0:
        return
    if nt <= 1:
        with nogil:
            _cross_entropy_backward_block(prob, labels, weight, has_weight, <floating>scale,
                                          grad_input, 0, 1)
    else:
        with nogil, parallel(num_threads=nt):
            _cross_entropy_backward_block(prob, labels, weight, has_weight, <floating>scale,
                                          grad_input, threadid(), omp_get_num_threads())


def nll_forward(const floating[:, ::1] log_prob, const int64_t[::1] labels,
                const floating[::1] weight):
    """Negative log-likelihood: per sample l_i = -log_prob[i, y_i].

    Parameters
    ----------
    log_prob : ndarray of shape (n_samples, n_classes)  # IN
    labels : int64 ndarray of shape (n_samples,)        # IN, in [0, n_classes)
    weight : ndarray of shape (n_classes,) or None      # IN

    Returns
    -------
    (sum_i w[y_i] * l_i, sum_i w[y_i]) : (float, float)
    """
    cdef bint has_weight = weight is not None
    cdef Py_ssize_t i
    cdef double loss = 0, weight_sum = 0, w
    # One read per sample: too little work for threads.
    with nogil:
        for i in range(log_prob.shape[0]):
            w = weight[labels[i]] if has_weight else 1.0
            loss -= w * log_prob[i, labels[i]]
            weight_sum += w
    return loss, weight_sum


def nll_backward(const floating[:, ::1] log_prob, const int64_t[::1] labels,
                 const floating[::1] weight, double scale, floating[:, ::1] grad_input):
    """grad_input := -scale * w[y_i] * onehot(y_i)

    Parameters
    ----------
    log_prob : ndarray of shape (n_samples, n_classes)    # IN, not read: the
                                                          # gradient does not depend on it,
                                                          # but it fixes the dtype when
                                                          # weight is None
    labels : int64 ndarray of shape (n_samples,)          # IN
    weight : ndarray of shape (n_classes,) or None        # IN
    scale : float                                         # 1 / sum_i w[y_i] ("mean") or 1 ("sum")
    grad_input : ndarray of shape (n_samples, n_classes)  # OUT
    """
    cdef bint has_weight = weight is not None
    cdef Py_ssize_t i, c
    with nogil:
        for i in range(grad_input.shape[0]):
            for c in range(grad_input.shape[1]):
                grad_input[i, c] = 0
            grad_input[i, labels[i]] = <floating>(
                -scale * (weight[labels[i]] if has_weight else 1.0))


# -- element-wise losses: MSE, BCE with logits, BCE --------------------------

cdef enum Op:
    MSE_FORWARD
    MSE_BACKWARD
    BCE_WITH_LOGITS_FORWARD
    BCE_WITH_LOGITS_BACKWARD
    BCE_FORWARD
    BCE_BACKWARD


cdef void _elementwise_block(Op op, const floating *a, const floating *b,
                             floating scale, floating *out, Py_ssize_t n,
                             double[:, ::1] partial, int t, int nt) noexcept nogil:
    """Thread t's block: forward ops add their loss terms into partial[t, 0],
    backward ops write out[lo:hi]."""
    cdef Py_ssize_t i, lo, hi
    cdef floating v, u, lp, lq
    cdef double acc = 0
    nnfast_flush_denormals()
    split_range(n, t, nt, &lo, &hi)
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
    partial[t, 0] = acc


cdef double _elementwise(Op op, const floating[::1] a, const floating[::1] b,
                         double scale, floating *out, double cost):
    """Run op over the flat arrays; ``out`` is NULL for the forward ops."""
    cdef Py_ssize_t n = a.shape[0]
    cdef int nt = _threads(cost * n, n)
    cdef double[:, ::1] partial = np.zeros((nt, 1))
    if n == 0:
        return 0.0
    if nt <= 1:
        with nogil:
            _elementwise_block(op, &a[0], &b[0], <floating>scale, out, n, partial, 0, 1)
    else:
        with nogil, parallel(num_threads=nt):
            _elementwise_block(op, &a[0], &b[0], <floating>scale, out, n, partial,
                               threadid(), omp_get_num_threads())
    return _total(partial, 0)


def mse_forward(const floating[::1] pred, const floating[::1] target):
    """sum((pred - target) ** 2)

    Parameters
    ----------
    pred, target : ndarray of shape (n,)  # IN
    """
    return _elementwise(MSE_FORWARD, pred, target, 0, <floating *>NULL, 2.0)


def mse_backward(const floating[::1] pred, const floating[::1] target, double scale,
                 floating[::1] grad_input):
    """grad_input := 2 * scale * (pred - target)

    Parameters
    ----------
    pred, target : ndarray of shape (n,)  # IN
    scale : float                         # 1 / n for "mean", 1 for "sum"
    grad_input : ndarray of shape (n,)    # OUT
    """
    if pred.shape[0] == 0:
        return
    _elementwise(MSE_BACKWARD, pred, target, 2.0 * scale, &grad_input[0], 2.0)


def bce_with_logits_forward(const floating[::1] x, const floating[::1] target):
    """sum(max(x, 0) - x * target + log1p(exp(-|x|))), stable for any |x|

    Parameters
    ----------
    x : ndarray of shape (n,)       # IN, logits
    target : ndarray of shape (n,)  # IN, in [0, 1]
    """
    return _elementwise(BCE_WITH_LOGITS_FORWARD, x, target, 0, <floating *>NULL, 20.0)


def bce_with_logits_backward(const floating[::1] x, const floating[::1] target,
                             double scale, floating[::1] grad_input):
    """grad_input := scale * (sigmoid(x) - target)

    Parameters
    ----------
    x, target : ndarray of shape (n,)   # IN
    scale : float                       # 1 / n for "mean", 1 for "sum"
    grad_input : ndarray of shape (n,)  # OUT
    """
    if x.shape[0] == 0:
        return
    _elementwise(BCE_WITH_LOGITS_BACKWARD, x, target, scale, &grad_input[0], 10.0)


def bce_forward(const floating[::1] prob, const floating[::1] target):
    """sum(-(target * max(log p, -100) + (1 - target) * max(log(1 - p), -100)))

    Parameters
    ----------
    prob : ndarray of shape (n,)    # IN, in [0, 1]
    target : ndarray of shape (n,)  # IN, in [0, 1]
    """
    return _elementwise(BCE_FORWARD, prob, target, 0, <floating *>NULL, 20.0)


def bce_backward(const floating[::1] prob, const floating[::1] target, double scale,
                 floating[::1] grad_input):
    """grad_input := scale * (p - target) / max(p * (1 - p), 1e-12)

    Parameters
    ----------
    prob, target : ndarray of shape (n,)  # IN
    scale : float                         # 1 / n for "mean", 1 for "sum"
    grad_input : ndarray of shape (n,)    # OUT
    """
    if prob.shape[0] == 0:
        return
    _elementwise(BCE_BACKWARD, prob, target, scale, &grad_input[0], 4.0)


# -- soft Dice ----------------------------------------------------------------

cdef void _dice_forward_block(const floating[:, ::1] prob, const floating[:, ::1] target,
                              double smooth, double[:, ::1] sums,
                              double[:, ::1] partial, int t, int nt) noexcept nogil:
    cdef Py_ssize_t i, k, lo, hi
    cdef double inter, total, num, den, loss = 0
    nnfast_flush_denormals()
    split_range(prob.shape[0], t, nt, &lo, &hi)
    for i in range(lo, hi):
        inter = 0
        total = 0
        for k in range(prob.shape[1]):
            inter += prob[i, k] * target[i, k]
            total += prob[i, k] + target[i, k]
        num = 2 * inter + smooth
        den = total + smooth
        sums[i, 0] = num
        sums[i, 1] = den
        loss += 1 - num / den
    partial[t, 0] = loss


def dice_forward(const floating[:, ::1] prob, const floating[:, ::1] target,
                 double smooth, double[:, ::1] sums):
    """Soft Dice per sample: 1 - (2 * sum(p * t) + smooth) / (sum(p) + sum(t) + smooth).

    Parameters
    ----------
    prob : ndarray of shape (n_samples, n_elements)    # IN
    target : ndarray of shape (n_samples, n_elements)  # IN
    smooth : float
    sums : float64 ndarray of shape (n_samples, 2)     # OUT, numerator and
                                                       # denominator, for backward
    Returns
    -------
    float : the sum of the per-sample losses
    """
    cdef int nt = _threads(4.0 * prob.shape[0] * prob.shape[1], prob.shape[0])
    cdef double[:, ::1] partial = np.zeros((nt, 1))
    if nt <= 1:
        with nogil:
            _dice_forward_block(prob, target, smooth, sums, partial, 0, 1)
    else:
        with nogil, parallel(num_threads=nt):
            _dice_forward_block(prob, target, smooth, sums, partial,
                                threadid(), omp_get_num_threads())
    return _total(partial, 0)


cdef void _dice_backward_block(const floating[:, ::1] target, const double[:, ::1] sums,
                               double scale, floating[:, ::1] grad_input,
                               int t, int nt) noexcept nogil:
    cdef Py_ssize_t i, k, lo, hi
    cdef floating a, b
    nnfast_flush_denormals()
    split_range(target.shape[0], t, nt, &lo, &hi)
    for i in range(lo, hi):
        # d/dp_k [1 - num / den] = (num - 2 t_k den) / den^2
        a = <floating>(scale * sums[i, 0] / (sums[i, 1] * sums[i, 1]))
        b = <floating>(scale * 2 / sums[i, 1])
        for k in range(target.shape[1]):
            grad_input[i, k] = a - b * target[i, k]


def dice_backward(const floating[:, ::1] target, const double[:, ::1] sums, double scale,
                  floating[:, ::1] grad_input):
    """grad_input[i, k] := scale * (num_i - 2 * target[i, k] * den_i) / den_i ** 2

    Parameters
    ----------
    target : ndarray of shape (n_samples, n_elements)      # IN
    sums : float64 ndarray of shape (n_samples, 2)         # IN, from dice_forward
    scale : float                                          # 1 / n_samples for "mean", 1 for "sum"
    grad_input : ndarray of shape (n_samples, n_elements)  # OUT
    """
    cdef int nt = _threads(2.0 * target.shape[0] * target.shape[1], target.shape[0])
    if nt <= 1:
        with nogil:
            _dice_backward_block(target, sums, scale, grad_input, 0, 1)
    else:
        with nogil, parallel(num_threads=nt):
            _dice_backward_block(target, sums, scale, grad_input, threadid(),
                                 omp_get_num_threads())


# -- multi-class hinge (Weston-Watkins) --------------------------------------

cdef void _hinge_forward_block(const floating[:, ::1] x, const int64_t[::1] labels,
                               floating margin, double[:, ::1] partial,
                               int t, int nt) noexcept nogil:
    cdef Py_ssize_t i, j, lo, hi
    cdef floating shift, z
    cdef double loss = 0
    nnfast_flush_denormals()
    split_range(x.shape[0], t, nt, &lo, &hi)
    for i in range(lo, hi):
        shift = margin - x[i, labels[i]]
        for j in range(x.shape[1]):
            z = x[i, j] + shift
            if z > 0 and j != labels[i]:
                loss += z
    partial[t, 0] = loss


def hinge_forward(const floating[:, ::1] x, const int64_t[::1] labels, double margin):
    """sum_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + margin)

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_classes)   # IN, scores
    labels : int64 ndarray of shape (n_samples,)  # IN, in [0, n_classes)
    margin : float
    """
    cdef int nt = _threads(2.0 * x.shape[0] * x.shape[1], x.shape[0])
    cdef double[:, ::1] partial = np.zeros((nt, 1))
    if nt <= 1:
        with nogil:
            _hinge_forward_block(x, labels, <floating>margin, partial, 0, 1)
    else:
        with nogil, parallel(num_threads=nt):
            _hinge_forward_block(x, labels, <floating>margin, partial,
                                 threadid(), omp_get_num_threads())
    return _total(partial, 0)


cdef void _hinge_backward_block(const floating[:, ::1] x, const int64_t[::1] labels,
                                floating margin, floating scale, floating[:, ::1] grad_input,
                                int t, int nt) noexcept nogil:
    cdef Py_ssize_t i, j, lo, hi, active
    cdef floating shift
    nnfast_flush_denormals()
    split_range(x.shape[0], t, nt, &lo, &hi)
    for i in range(lo, hi):
        shift = margin - x[i, labels[i]]
        active = 0
        for j in range(x.shape[1]):
            if x[i, j] + shift > 0 and j != labels[i]:
                grad_input[i, j] = scale
                active += 1
            else:
                grad_input[i, j] = 0
        grad_input[i, labels[i]] = -scale * active


def hinge_backward(const floating[:, ::1] x, const int64_t[::1] labels, double margin,
                   double scale, floating[:, ::1] grad_input):
    """grad_input[i, j] := scale for every j != y_i with x_j - x_y + margin > 0;
    grad_input[i, y_i] := -scale * (how many such j)

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_classes)           # IN
    labels : int64 ndarray of shape (n_samples,)          # IN
    margin : float
    scale : float                                         # 1 / n_samples for "mean", 1 for "sum"
    grad_input : ndarray of shape (n_samples, n_classes)  # OUT
    """
    cdef int nt = _threads(2.0 * x.shape[0] * x.shape[1], x.shape[0])
    if nt <= 1:
        with nogil:
            _hinge_backward_block(x, labels, <floating>margin, <floating>scale, grad_input, 0, 1)
    else:
        with nogil, parallel(num_threads=nt):
            _hinge_backward_block(x, labels, <floating>margin, <floating>scale, grad_input,
                                  threadid(), omp_get_num_threads())
