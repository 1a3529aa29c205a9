"""Soft Dice loss kernels in NumPy: twins of ``nnfast._kernels.losses_dice``
(_loss_call.py says what they return).
"""
import numpy as np

from nnfast.reference._loss_call import _sum


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
