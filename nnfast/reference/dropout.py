"""Dropout kernels in NumPy: twins of ``nnfast._kernels.dropout``."""
import numpy as np


def dropout_forward(x, mask, scale, out):
    """out := x * mask * scale

    Parameters
    ----------
    x : ndarray of shape (n,)
    mask : uint8 ndarray of shape (n,), 1 = kept, 0 = dropped
    scale : float
        1 / (1 - p) (0 when p == 1).
    out : ndarray of shape (n,)
    """
    np.multiply(x, mask * x.dtype.type(scale), out=out)


def dropout_backward(grad_output, mask, scale, grad_input):
    """grad_input := grad_output * mask * scale (the forward's mask and scale)."""
    np.multiply(grad_output, mask * grad_output.dtype.type(scale), out=grad_input)
