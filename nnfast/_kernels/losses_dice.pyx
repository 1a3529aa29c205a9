"""Soft Dice loss kernels: one overlap ratio per sample of (n_samples,
n_elements) probabilities and targets.

The forward returns the sum of the per-sample losses and keeps each
sample's numerator and denominator for the backward, which writes the
gradient of the reduced loss (``scale`` is 1 for "sum" and 1 / n_samples
for "mean", chosen by the Python side). Threads split the samples;
``team_size`` gets the work in flops and the samples as the independent
units (_loss_call.pxd says how sums are added up).
"""
from cython cimport floating

from nnfast._kernels._loss_call cimport (LossCall, first_item, new_loss_call, run_summing,
                                         run_writing)
from nnfast._kernels._threads cimport split_range, team_size


cdef void _dice_forward_part(floating *prob, void *args, int t,
                             int nt) noexcept nogil:
    cdef LossCall *a = <LossCall *>args
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
    cdef LossCall a = new_loss_call(_dice_forward_part[float], _dice_forward_part[double],
                                    first_item(prob), prob.shape[0], prob.shape[1],
                                    floating is double)
    a.target, a.smooth = first_item(target), smooth
    a.sums = &sums[0, 0] if a.n_samples else NULL
    return run_summing(&a, team_size(4.0 * a.n_samples * a.n_cols, a.n_samples), 1)[0]


cdef void _dice_backward_part(floating *grad_input, void *args, int t,
                              int nt) noexcept nogil:
    cdef LossCall *c = <LossCall *>args
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
    cdef LossCall a = new_loss_call(_dice_backward_part[float], _dice_backward_part[double],
                                    first_item(grad_input), target.shape[0],
                                    target.shape[1], floating is double)
    a.target, a.scale = first_item(target), scale
    a.sums = <double *>&sums[0, 0] if a.n_samples else NULL
    run_writing(&a, team_size(2.0 * a.n_samples * a.n_cols, a.n_samples))
