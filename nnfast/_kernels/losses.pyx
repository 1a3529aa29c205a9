"""Loss kernels: each forward returns the sum(s) the reduction needs, each
backward writes the gradient of the reduced loss (``scale`` is 1 for "sum"
and 1 / count for "mean", chosen by the Python side).

Sums are accumulated in double, one partial sum per thread (no two threads
add into one number), and added up after the parallel region in thread
order. Threads split the samples (row losses) or the flat elements
(element-wise losses); ``team_size`` gets each kernel's work in flops and
its number of samples or elements as the independent units.
"""
import numpy as np

from cython cimport floating
from libc.stdint cimport int64_t

from nnfast._kernels._math cimport f_exp, f_log, f_log1p, f_sigmoid
from nnfast._kernels._threads cimport run_team, split_range, team_body, team_size

# torch clamps log(p) at -100 in BCE so that p == 0 gives a finite loss, and
# divides its gradient by max(p * (1 - p), 1e-12), aten's EPSILON, a float
# constant: 1e-12 rounded to float32, which float64 gradients see too.
cdef double BCE_LOG_MIN = -100.0
cdef double BCE_GRAD_EPS = <float>1e-12


cdef enum Op:
    MSE_FORWARD
    MSE_BACKWARD
    BCE_WITH_LOGITS_FORWARD
    BCE_WITH_LOGITS_BACKWARD
    BCE_FORWARD
    BCE_BACKWARD


cdef struct LossCall:
    # One call's arguments, shared read-only by its threads. x is the
    # prediction (logits, probabilities or scores) and target the float
    # target, both (n_samples, n_cols) or flat (n_cols == 1); x, target,
    # weight and out are float or double as ``is_double`` says (None
    # weights are NULL). out is the probabilities (cross_entropy_forward)
    # or grad_input (the backwards); sums the Dice numerators and
    # denominators; partial one row of n_partial sums per thread.
    Op op
    const void *x
    const void *target
    const void *weight
    const int64_t *labels
    void *out
    double *sums
    double *partial
    Py_ssize_t n_samples, n_cols, n_partial
    double scale, margin, smooth
    bint is_double


cdef LossCall _call(const void *x, Py_ssize_t n_samples, Py_ssize_t n_cols,
                    bint is_double):
    cdef LossCall c
    c.x, c.n_samples, c.n_cols, c.is_double = x, n_samples, n_cols, is_double
    c.op = MSE_FORWARD  # read by the element-wise losses only, which set it
    c.target = c.weight = c.out = NULL
    c.labels, c.sums, c.partial, c.n_partial = NULL, NULL, NULL, 0
    c.scale = c.margin = c.smooth = 0
    return c


cdef tuple _run_summing(team_body body, LossCall *c, int nt, Py_ssize_t n_partial):
    """run_team(body, c, nt) with a zeroed (nt, n_partial) array of partial
    sums for the threads; returns the column totals, summed in thread order."""
    cdef double[:, ::1] partial = np.zeros((nt, n_partial))
    cdef Py_ssize_t t, k
    cdef double s
    c.partial, c.n_partial = &partial[0, 0], n_partial
    with nogil:
        run_team(body, c, nt)
    totals = []
    for k in range(n_partial):
        s = 0
        for t in range(nt):
            s += partial[t, k]
        totals.append(s)
    return tuple(totals)


cdef inline void *_first(const floating[:, ::1] a):
    """&a[0, 0], or NULL for an empty array (never read then)."""
    return <void *>&a[0, 0] if a.shape[0] and a.shape[1] else NULL


# -- softmax + cross-entropy, NLL -------------------------------------------

cdef void _cross_entropy_forward_part(const floating *x, LossCall *a, int t,
                                      int nt) noexcept nogil:
    cdef const int64_t *labels = a.labels
    cdef const floating *weight = <const floating *>a.weight
    cdef floating *prob = <floating *>a.out
    cdef Py_ssize_t n_classes = a.n_cols
    cdef Py_ssize_t i, c, lo, hi
    cdef const floating *row
    cdef floating *p
    cdef floating m, e, inv
    cdef double total, loss = 0, weight_sum = 0, w
    split_range(a.n_samples, t, nt, &lo, &hi)
    for i in range(lo, hi):
        row = x + i * n_classes
        p = prob + i * n_classes
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
        w = weight[labels[i]] if weight != NULL else 1.0
        # -log softmax(x)[y] = log(total) - (x[y] - max): stable for any |x|
        loss += w * (f_log(<floating>total) - (row[labels[i]] - m))
        weight_sum += w
    a.partial[t * a.n_partial] = loss
    a.partial[t * a.n_partial + 1] = weight_sum


cdef void _cross_entropy_forward_body(void *args, int t, int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
    if a.is_double:
        _cross_entropy_forward_part(<const double *>a.x, a, t, nt)
    else:
        _cross_entropy_forward_part(<const float *>a.x, a, t, nt)


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
    if x.shape[0] == 0:
        return 0.0, 0.0
    cdef LossCall a = _call(&x[0, 0], x.shape[0], x.shape[1], floating is double)
    a.labels, a.out = &labels[0], &prob[0, 0]
    a.weight = &weight[0] if weight is not None else NULL
    # an exp and a few passes per logit: 12 flops each
    return _run_summing(_cross_entropy_forward_body, &a,
                        team_size(12.0 * a.n_samples * a.n_cols, a.n_samples), 2)


cdef void _cross_entropy_backward_part(const floating *prob, LossCall *a, int t,
                                       int nt) noexcept nogil:
    cdef const int64_t *labels = a.labels
    cdef const floating *weight = <const floating *>a.weight
    cdef floating *grad_input = <floating *>a.out
    cdef floating scale = <floating>a.scale
    cdef Py_ssize_t n_classes = a.n_cols
    cdef Py_ssize_t i, c, lo, hi
    cdef floating s
    split_range(a.n_samples, t, nt, &lo, &hi)
    for i in range(lo, hi):
        s = scale * weight[labels[i]] if weight != NULL else scale
        for c in range(n_classes):
            grad_input[i * n_classes + c] = s * prob[i * n_classes + c]
        grad_input[i * n_classes + labels[i]] -= s


cdef void _cross_entropy_backward_body(void *args, int t, int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
    if a.is_double:
        _cross_entropy_backward_part(<const double *>a.x, a, t, nt)
    else:
        _cross_entropy_backward_part(<const float *>a.x, a, t, nt)


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
    if prob.shape[0] == 0:
        return
    cdef LossCall a = _call(&prob[0, 0], prob.shape[0], prob.shape[1], floating is double)
    a.labels, a.out, a.scale = &labels[0], &grad_input[0, 0], scale
    a.weight = &weight[0] if weight is not None else NULL
    cdef int nt = team_size(2.0 * a.n_samples * a.n_cols, a.n_samples)
    with nogil:
        run_team(_cross_entropy_backward_body, &a, nt)


cdef void _nll_forward_part(const floating *log_prob, LossCall *a, int t,
                            int nt) noexcept nogil:
    cdef const int64_t *labels = a.labels
    cdef const floating *weight = <const floating *>a.weight
    cdef Py_ssize_t i, lo, hi
    cdef double loss = 0, weight_sum = 0, w
    split_range(a.n_samples, t, nt, &lo, &hi)
    for i in range(lo, hi):
        w = weight[labels[i]] if weight != NULL else 1.0
        loss -= w * log_prob[i * a.n_cols + labels[i]]
        weight_sum += w
    a.partial[t * a.n_partial] = loss
    a.partial[t * a.n_partial + 1] = weight_sum


cdef void _nll_forward_body(void *args, int t, int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
    if a.is_double:
        _nll_forward_part(<const double *>a.x, a, t, nt)
    else:
        _nll_forward_part(<const float *>a.x, a, t, nt)


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
    cdef LossCall a = _call(_first(log_prob), log_prob.shape[0], log_prob.shape[1],
                            floating is double)
    a.labels = &labels[0] if a.n_samples else NULL
    a.weight = &weight[0] if weight is not None else NULL
    # One read per sample: too little work for threads (one unit).
    return _run_summing(_nll_forward_body, &a, team_size(a.n_samples, 1), 2)


cdef void _nll_backward_part(floating *grad_input, LossCall *a, int t,
                             int nt) noexcept nogil:
    cdef const int64_t *labels = a.labels
    cdef const floating *weight = <const floating *>a.weight
    cdef Py_ssize_t n_classes = a.n_cols
    cdef Py_ssize_t i, c, lo, hi
    split_range(a.n_samples, t, nt, &lo, &hi)
    for i in range(lo, hi):
        for c in range(n_classes):
            grad_input[i * n_classes + c] = 0
        grad_input[i * n_classes + labels[i]] = <floating>(
            -a.scale * (weight[labels[i]] if weight != NULL else 1.0))


cdef void _nll_backward_body(void *args, int t, int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
    if a.is_double:
        _nll_backward_part(<double *>a.out, a, t, nt)
    else:
        _nll_backward_part(<float *>a.out, a, t, nt)


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
    if grad_input.shape[0] == 0:
        return
    cdef LossCall a = _call(NULL, grad_input.shape[0], grad_input.shape[1],
                            floating is double)
    a.labels, a.out, a.scale = &labels[0], _first(grad_input), scale
    a.weight = &weight[0] if weight is not None else NULL
    # A fill and one write per sample: too little work for threads (one unit).
    cdef int nt = team_size(a.n_samples * a.n_cols, 1)
    with nogil:
        run_team(_nll_backward_body, &a, nt)


# -- element-wise losses: MSE, BCE with logits, BCE --------------------------

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


cdef void _elementwise_body(void *args, int t, int nt) noexcept nogil:
    cdef LossCall *c = <LossCall *>args
    if c.is_double:
        _elementwise_part(<const double *>c.x, <const double *>c.target,
                          <double *>c.out, c, t, nt)
    else:
        _elementwise_part(<const float *>c.x, <const float *>c.target,
                          <float *>c.out, c, t, nt)


cdef double _elementwise_sum(Op op, const floating[::1] a, const floating[::1] b,
                             double cost):
    """The sum of a forward op's terms over the flat arrays, ``cost`` flops
    per element."""
    cdef Py_ssize_t n = a.shape[0]
    if n == 0:
        return 0.0
    cdef LossCall c = _call(&a[0], n, 1, floating is double)
    c.op, c.target = op, &b[0]
    return _run_summing(_elementwise_body, &c, team_size(cost * n, n), 1)[0]


cdef void _elementwise_write(Op op, const floating[::1] a, const floating[::1] b,
                             double scale, floating[::1] out, double cost):
    """out := a backward op over the flat arrays, ``cost`` flops per element."""
    cdef Py_ssize_t n = a.shape[0]
    if n == 0:
        return
    cdef LossCall c = _call(&a[0], n, 1, floating is double)
    c.op, c.target, c.scale, c.out = op, &b[0], scale, &out[0]
    cdef int nt = team_size(cost * n, n)
    with nogil:
        run_team(_elementwise_body, &c, nt)


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


# -- soft Dice ----------------------------------------------------------------

cdef void _dice_forward_part(const floating *prob, LossCall *a, int t,
                             int nt) noexcept nogil:
    cdef const floating *target = <const floating *>a.target
    cdef double *sums = a.sums
    cdef double smooth = a.smooth
    cdef Py_ssize_t m = a.n_cols
    cdef Py_ssize_t i, k, lo, hi
    cdef double inter, total, num, den, loss = 0
    split_range(a.n_samples, t, nt, &lo, &hi)
    for i in range(lo, hi):
        inter = 0
        total = 0
        for k in range(m):
            inter += prob[i * m + k] * target[i * m + k]
            total += prob[i * m + k] + target[i * m + k]
        num = 2 * inter + smooth
        den = total + smooth
        sums[i * 2] = num
        sums[i * 2 + 1] = den
        loss += 1 - num / den
    a.partial[t] = loss


cdef void _dice_forward_body(void *args, int t, int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
    if a.is_double:
        _dice_forward_part(<const double *>a.x, a, t, nt)
    else:
        _dice_forward_part(<const float *>a.x, a, t, nt)


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
    cdef LossCall a = _call(_first(prob), prob.shape[0], prob.shape[1], floating is double)
    a.target, a.smooth = _first(target), smooth
    a.sums = &sums[0, 0] if a.n_samples else NULL
    return _run_summing(_dice_forward_body, &a,
                        team_size(4.0 * a.n_samples * a.n_cols, a.n_samples), 1)[0]


cdef void _dice_backward_part(floating *grad_input, LossCall *c, int t,
                              int nt) noexcept nogil:
    cdef const floating *target = <const floating *>c.target
    cdef const double *sums = c.sums
    cdef double scale = c.scale
    cdef Py_ssize_t m = c.n_cols
    cdef Py_ssize_t i, k, lo, hi
    cdef floating a, b
    split_range(c.n_samples, t, nt, &lo, &hi)
    for i in range(lo, hi):
        # d/dp_k [1 - num / den] = (num - 2 t_k den) / den^2
        a = <floating>(scale * sums[i * 2] / (sums[i * 2 + 1] * sums[i * 2 + 1]))
        b = <floating>(scale * 2 / sums[i * 2 + 1])
        for k in range(m):
            grad_input[i * m + k] = a - b * target[i * m + k]


cdef void _dice_backward_body(void *args, int t, int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
    if a.is_double:
        _dice_backward_part(<double *>a.out, a, t, nt)
    else:
        _dice_backward_part(<float *>a.out, a, t, nt)


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
    cdef LossCall a = _call(NULL, target.shape[0], target.shape[1], floating is double)
    a.target, a.out, a.scale = _first(target), _first(grad_input), scale
    a.sums = <double *>&sums[0, 0] if a.n_samples else NULL
    cdef int nt = team_size(2.0 * a.n_samples * a.n_cols, a.n_samples)
    with nogil:
        run_team(_dice_backward_body, &a, nt)


# -- multi-class hinge (Weston-Watkins) --------------------------------------

cdef void _hinge_forward_part(const floating *x, LossCall *a, int t,
                              int nt) noexcept nogil:
    cdef const int64_t *labels = a.labels
    cdef floating margin = <floating>a.margin
    cdef Py_ssize_t n_classes = a.n_cols
    cdef Py_ssize_t i, j, lo, hi
    cdef floating shift, z
    cdef double loss = 0
    split_range(a.n_samples, t, nt, &lo, &hi)
    for i in range(lo, hi):
        shift = margin - x[i * n_classes + labels[i]]
        for j in range(n_classes):
            z = x[i * n_classes + j] + shift
            if z > 0 and j != labels[i]:
                loss += z
    a.partial[t] = loss


cdef void _hinge_forward_body(void *args, int t, int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
    if a.is_double:
        _hinge_forward_part(<const double *>a.x, a, t, nt)
    else:
        _hinge_forward_part(<const float *>a.x, a, t, nt)


def hinge_forward(const floating[:, ::1] x, const int64_t[::1] labels, double margin):
    """sum_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + margin)

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_classes)   # IN, scores
    labels : int64 ndarray of shape (n_samples,)  # IN, in [0, n_classes)
    margin : float
    """
    cdef LossCall a = _call(_first(x), x.shape[0], x.shape[1], floating is double)
    a.labels, a.margin = &labels[0] if a.n_samples else NULL, margin
    return _run_summing(_hinge_forward_body, &a,
                        team_size(2.0 * a.n_samples * a.n_cols, a.n_samples), 1)[0]


cdef void _hinge_backward_part(const floating *x, LossCall *a, int t,
                               int nt) noexcept nogil:
    cdef const int64_t *labels = a.labels
    cdef floating *grad_input = <floating *>a.out
    cdef floating margin = <floating>a.margin, scale = <floating>a.scale
    cdef Py_ssize_t n_classes = a.n_cols
    cdef Py_ssize_t i, j, lo, hi, active
    cdef floating shift
    split_range(a.n_samples, t, nt, &lo, &hi)
    for i in range(lo, hi):
        shift = margin - x[i * n_classes + labels[i]]
        active = 0
        for j in range(n_classes):
            if x[i * n_classes + j] + shift > 0 and j != labels[i]:
                grad_input[i * n_classes + j] = scale
                active += 1
            else:
                grad_input[i * n_classes + j] = 0
        grad_input[i * n_classes + labels[i]] = -scale * active


cdef void _hinge_backward_body(void *args, int t, int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
    if a.is_double:
        _hinge_backward_part(<const double *>a.x, a, t, nt)
    else:
        _hinge_backward_part(<const float *>a.x, a, t, nt)


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
    cdef LossCall a = _call(_first(x), x.shape[0], x.shape[1], floating is double)
    a.labels, a.margin, a.scale = &labels[0] if a.n_samples else NULL, margin, scale
    a.out = _first(grad_input)
    cdef int nt = team_size(2.0 * a.n_samples * a.n_cols, a.n_samples)
    with nogil:
        run_team(_hinge_backward_body, &a, nt)
