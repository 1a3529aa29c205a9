"""Loss kernels in NumPy: twins of ``nnfast._kernels.losses``.

Forwards return the sum(s) the reduction needs (accumulated in float64);
backwards write the gradient of the reduced loss, ``scale`` being 1 for
"sum" and 1 / count for "mean".
"""
import numpy as np

BCE_LOG_MIN = -100.0
BCE_GRAD_EPS = float(np.float32(1e-12))  # torch's EPSILON is a float constant


def _sum(a):
    return float(np.sum(a, dtype=np.float64))


def _sample_weights(labels, weight, dtype):
    if weight is None:
        return np.ones(labels.shape[0], dtype=dtype)
    return weight[labels]


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


def mse_forward(pred, target):
    """sum((pred - target) ** 2); pred, target of shape (n,)"""
    d = (pred - target).astype(np.float64)
    return float(np.dot(d, d))


def mse_backward(pred, target, scale, grad_input):
    """grad_input := 2 * scale * (pred - target)"""
    grad_input[...] = pred.dtype.type(2.0 * scale) * (pred - target)


def bce_with_logits_forward(x, target):
    """sum(max(x, 0) - x * target + log1p(exp(-|x|)))"""
    return _sum(np.maximum(x, 0) - x * target + np.log1p(np.exp(-np.abs(x))))


def bce_with_logits_backward(x, target, scale, grad_input):
    """grad_input := scale * (sigmoid(x) - target)"""
    z = np.exp(-np.abs(x))
    sig = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    grad_input[...] = x.dtype.type(scale) * (sig - target)


def bce_forward(prob, target):
    """sum(-(t * max(log p, -100) + (1 - t) * max(log(1 - p), -100)))"""
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped just below
        lp = np.maximum(np.log(prob), BCE_LOG_MIN)
        lq = np.maximum(np.log1p(-prob), BCE_LOG_MIN)
    return -_sum(target * lp + (1 - target) * lq)


def bce_backward(prob, target, scale, grad_input):
    """grad_input := scale * (p - t) / max(p * (1 - p), 1e-12)"""
    denom = np.maximum(prob * (1 - prob), prob.dtype.type(BCE_GRAD_EPS))
    grad_input[...] = prob.dtype.type(scale) * (prob - target) / denom


def dice_forward(prob, target, smooth, sums):
    """Soft Dice per sample: 1 - (2 * sum(p * t) + smooth) / (sum(p) + sum(t) + smooth).

    prob, target : (n_samples, n_elements); writes numerator and denominator
    into ``sums`` (n_samples, 2) float64; returns the sum of the losses.
    """
    p = prob.astype(np.float64)
    t = target.astype(np.float64)
    sums[:, 0] = 2 * np.sum(p * t, axis=1) + smooth
    sums[:, 1] = np.sum(p, axis=1) + np.sum(t, axis=1) + smooth
    return _sum(1 - sums[:, 0] / sums[:, 1])


def dice_backward(target, sums, scale, grad_input):
    """grad_input[i, k] := scale * (num_i - 2 * target[i, k] * den_i) / den_i ** 2"""
    a = (scale * sums[:, 0] / sums[:, 1] ** 2).astype(target.dtype)[:, None]
    b = (scale * 2 / sums[:, 1]).astype(target.dtype)[:, None]
    grad_input[...] = a - b * target


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
