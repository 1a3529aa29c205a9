"""Element-wise loss kernels in NumPy: twins of
``nnfast._kernels.losses_elementwise`` (_loss_call.py says what they return).
"""
import numpy as np

from nnfast.reference._loss_call import _sum

BCE_LOG_MIN = -100.0
BCE_GRAD_EPS = float(np.float32(1e-12))  # torch's EPSILON is a float constant


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
