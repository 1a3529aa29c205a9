"""The pieces of torch.optim's update rules that the optimizer twins share.

Same operations in the same order as the compiled kernels (and as
torch.optim), one NumPy operation per line; hyper-parameters are cast to the
arrays' dtype first so that float32 stays float32.
"""
import numpy as np


def _penalized(value, grad, weight_decay, l1, f):
    """grad + weight_decay * value + l1 * sign(value), as a new array."""
    d = grad.copy()
    if weight_decay != 0:
        d += f(weight_decay) * value
    if l1 != 0:
        d += f(l1) * np.sign(value)
    return d


def _lerp(start, end, weight, f):
    """start + weight * (end - start), in torch's lerp_ form for this weight."""
    if weight < 0.5:
        return start + f(weight) * (end - start)
    return end - (end - start) * (f(1) - f(weight))
