"""Loss kernels against integer class labels: softmax cross-entropy, NLL and
the multi-class (Weston-Watkins) hinge.

Each forward returns the sum(s) the reduction needs, each backward writes
the gradient of the reduced loss (``scale`` is 1 for "sum" and 1 / count
for "mean", chosen by the Python side). Threads split the samples;
``team_size`` gets each kernel's work in flops and its number of samples as
the independent units (_loss_call.pxd says how sums are added up).
"""
from cython cimport floating
from libc.stdint cimport int64_t

from nnfast._kernels._loss_call cimport (LossCall, first_item, new_loss_call, run_summing,
                                         run_writing)
from nnfast._kernels._math cimport f_exp, f_log
from nnfast._kernels._threads cimport split_range, team_size


# -- softmax + cross-entropy, NLL -------------------------------------------

cdef void _cross_entropy_forward_part(floating *x, void *args, int t,
                                      int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
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
    cdef LossCall a = new_loss_call(_cross_entropy_forward_part[float],
                                    _cross_entropy_forward_part[double], &x[0, 0],
                                    x.shape[0], x.shape[1], floating is double)
    a.labels, a.out = &labels[0], &prob[0, 0]
    a.weight = &weight[0] if weight is not None else NULL
    # an exp and a few passes per logit: 12 flops each
    return run_summing(&a, team_size(12.0 * a.n_samples * a.n_cols, a.n_samples), 2)


cdef void _cross_entropy_backward_part(floating *prob, void *args, int t,
                                       int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
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
    cdef LossCall a = new_loss_call(_cross_entropy_backward_part[float],
                                    _cross_entropy_backward_part[double], &prob[0, 0],
                                    prob.shape[0], prob.shape[1], floating is double)
    a.labels, a.out, a.scale = &labels[0], &grad_input[0, 0], scale
    a.weight = &weight[0] if weight is not None else NULL
    run_writing(&a, team_size(2.0 * a.n_samples * a.n_cols, a.n_samples))


cdef void _nll_forward_part(floating *log_prob, void *args, int t,
                            int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
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
    cdef LossCall a = new_loss_call(_nll_forward_part[float], _nll_forward_part[double],
                                    first_item(log_prob), log_prob.shape[0],
                                    log_prob.shape[1], floating is double)
    a.labels = &labels[0] if a.n_samples else NULL
    a.weight = &weight[0] if weight is not None else NULL
    # One read per sample: too little work for threads (one unit).
    return run_summing(&a, team_size(a.n_samples, 1), 2)


cdef void _nll_backward_part(floating *grad_input, void *args, int t,
                             int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
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
    cdef LossCall a = new_loss_call(_nll_backward_part[float], _nll_backward_part[double],
                                    first_item(grad_input), grad_input.shape[0],
                                    grad_input.shape[1], floating is double)
    a.labels, a.scale = &labels[0], scale
    a.weight = &weight[0] if weight is not None else NULL
    # A fill and one write per sample: too little work for threads (one unit).
    run_writing(&a, team_size(a.n_samples * a.n_cols, 1))


# -- multi-class hinge (Weston-Watkins) --------------------------------------

cdef void _hinge_forward_part(floating *x, void *args, int t,
                              int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
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


def hinge_forward(const floating[:, ::1] x, const int64_t[::1] labels, double margin):
    """sum_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + margin)

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_classes)   # IN, scores
    labels : int64 ndarray of shape (n_samples,)  # IN, in [0, n_classes)
    margin : float
    """
    cdef LossCall a = new_loss_call(_hinge_forward_part[float], _hinge_forward_part[double],
                                    first_item(x), x.shape[0], x.shape[1],
                                    floating is double)
    a.labels, a.margin = &labels[0] if a.n_samples else NULL, margin
    return run_summing(&a, team_size(2.0 * a.n_samples * a.n_cols, a.n_samples), 1)[0]


cdef void _hinge_backward_part(floating *x, void *args, int t,
                               int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
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
    cdef LossCall a = new_loss_call(_hinge_backward_part[float], _hinge_backward_part[double],
                                    first_item(x), x.shape[0], x.shape[1],
                                    floating is double)
    a.labels, a.margin, a.scale = &labels[0] if a.n_samples else NULL, margin, scale
    a.out = first_item(grad_input)
    run_writing(&a, team_size(2.0 * a.n_samples * a.n_cols, a.n_samples))
