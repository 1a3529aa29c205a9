"""Loss kernels against integer class labels in NumPy: twins of
``nnfast._kernels.losses_labels`` (_loss_call.py says what they return).
"""
import numpy as np

from nnfast.reference._loss_call import _sample_weights, _sum


def cross_entropy_forward(x, labels, weight, prob):
    """Softmax cross-entropy; writes softmax(x) into ``prob`` (N, C).

    Returns (sum_i w[y_i] * l_i, sum_i w[y_i]), l_i = -log softmax(x_i)[y_i].
    """
    rows = np.arange(x.shape[0])
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, dtype=np.float64)
    prob[...] = e * (1.0 / total).astype(x.dtype)[:, None]
    losses = np.log(total.astype(x.dtype)) - shifted[rows, labels]
    w = _sample_weights(labels, weight, x.dtype)
    return float(np.dot(w.astype(np.float64), losses.astype(np.float64))), _sum(w)


def cross_entropy_backward(prob, labels, weight, scale, grad_input):
    """grad_input := scale * w[y_i] * (prob_i - onehot(y_i))"""
    s = (scale * _sample_weights(labels, weight, prob.dtype)).astype(prob.dtype)[:, None]
    grad_input[...] = s * prob
    grad_input[np.arange(prob.shape[0]), labels] -= s[:, 0]


def nll_forward(log_prob, labels, weight):
    """Returns (sum_i -w[y_i] * log_prob[i, y_i], sum_i w[y_i])."""
    picked = log_prob[np.arange(log_prob.shape[0]), labels]
    w = _sample_weights(labels, weight, log_prob.dtype)
    return -float(np.dot(w.astype(np.float64), picked.astype(np.float64))), _sum(w)


def nll_backward(log_prob, labels, weight, scale, grad_input):
    """grad_input := -scale * w[y_i] * onehot(y_i)"""
    grad_input[...] = 0
    w = _sample_weights(labels, weight, np.float64)
    grad_input[np.arange(grad_input.shape[0]), labels] = -scale * w


def _hinge_active(x, labels, margin):
    rows = np.arange(x.shape[0])
    shift = (x.dtype.type(margin) - x[rows, labels])[:, None]
    z = x + shift
    active = z > 0
    active[rows, labels] = False
    return z, active


def hinge_forward(x, labels, margin):
    """sum_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + margin)"""
    z, active = _hinge_active(x, labels, margin)
    return _sum(np.where(active, z, 0))


def hinge_backward(x, labels, margin, scale, grad_input):
    """grad_input[i, j] := scale where j != y_i is active; grad_input[i, y_i] := -scale * count"""
    _, active = _hinge_active(x, labels, margin)
    s = x.dtype.type(scale)
    grad_input[...] = np.where(active, s, 0)
    grad_input[np.arange(x.shape[0]), labels] = -s * active.sum(axis=1)
