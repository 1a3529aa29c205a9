"""The adaptive update kernels (Adam, Adagrad, RMSprop) in NumPy: twins of
``nnfast._kernels.optim_adaptive``.

Same operations in the same order as the compiled kernels (and as
torch.optim), one NumPy operation per line; hyper-parameters are cast to the
arrays' dtype first so that float32 stays float32.
"""
import math

import numpy as np

from nnfast.reference._optim_rules import _lerp, _penalized


def adam_update(value, grad, exp_avg, exp_avg_sq, step, lr=1e-3, beta1=0.9,
                beta2=0.999, eps=1e-8, weight_decay=0.0, l1=0.0):
    """One Adam step, in place (torch.optim.Adam's rule, plus an L1 term).

    Parameters
    ----------
    value, grad, exp_avg, exp_avg_sq : ndarrays of shape (n,)
    step : int >= 1
        Number of this step, counting from 1 (for the bias corrections).
    """
    f = value.dtype.type
    d = _penalized(value, grad, weight_decay, l1, f)
    exp_avg[...] = _lerp(exp_avg, d, 1.0 - beta1, f)
    exp_avg_sq[...] = exp_avg_sq * f(beta2) + f(1.0 - beta2) * d * d
    step_size = lr / (1.0 - beta1 ** float(step))
    bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** float(step))
    denom = np.sqrt(exp_avg_sq) / f(bias_correction2_sqrt) + f(eps)
    value -= f(step_size) * (exp_avg / denom)


def adagrad_update(value, grad, state_sum, step, lr=1e-2, lr_decay=0.0,
                   weight_decay=0.0, eps=1e-10, l1=0.0):
    """One Adagrad step, in place (torch.optim.Adagrad's rule, plus an L1 term).

    Parameters
    ----------
    value, grad, state_sum : ndarrays of shape (n,)
    step : int >= 1
        Number of this step, counting from 1 (for the learning-rate decay).
    """
    f = value.dtype.type
    d = _penalized(value, grad, weight_decay, l1, f)
    clr = lr / (1.0 + (step - 1) * lr_decay)
    state_sum += d * d
    value -= f(clr) * (d / (np.sqrt(state_sum) + f(eps)))


def rmsprop_update(value, grad, square_avg, momentum_buf, grad_avg, lr=1e-2,
                   alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                   centered=False, l1=0.0):
    """One RMSprop step, in place (torch.optim.RMSprop's rule, plus an L1 term).

    Parameters
    ----------
    value, grad, square_avg : ndarrays of shape (n,)
    momentum_buf : ndarray of shape (n,) or None  # None when momentum == 0
    grad_avg : ndarray of shape (n,) or None      # None unless centered
    """
    f = value.dtype.type
    d = _penalized(value, grad, weight_decay, l1, f)
    square_avg[...] = square_avg * f(alpha) + f(1.0 - alpha) * d * d
    if centered:
        grad_avg[...] = _lerp(grad_avg, d, 1.0 - alpha, f)
        # clamped: rounding can take the variance just below 0 (see the kernel)
        avg = np.sqrt(np.maximum(square_avg - grad_avg * grad_avg, f(0))) + f(eps)
    else:
        avg = np.sqrt(square_avg) + f(eps)
    if momentum > 0:
        momentum_buf[...] = momentum_buf * f(momentum) + d / avg
        value -= f(lr) * momentum_buf
    else:
        value -= f(lr) * (d / avg)
