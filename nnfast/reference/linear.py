"""Fully connected layer kernels in NumPy: twins of ``nnfast._kernels.linear``."""
import numpy as np


def linear_forward(x, weight, bias, out, relu=False):
    """out := x @ weight.T + bias, then max(out, 0) if ``relu``

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_features)
    weight : ndarray of shape (out_features, in_features)
    bias : ndarray of shape (out_features,)
    out : ndarray of shape (n_samples, out_features)
    """
    np.matmul(x, weight.T, out=out)
    out += bias
    if relu:
        np.maximum(out, 0, out=out)


def linear_backward(x, weight, grad_out, grad_x, grad_weight, grad_bias, accumulate=True):
    """Gradients of out = x @ weight.T + bias.

    grad_weight += grad_out.T @ x;  grad_bias += grad_out.sum(0) (``=``
    instead of ``+=`` when ``accumulate`` is False);
    grad_x := grad_out @ weight (skipped when ``grad_x`` is None).
    """
    if not accumulate:
        grad_weight[...] = 0
        grad_bias[...] = 0
    grad_weight += grad_out.T @ x
    grad_bias += grad_out.sum(axis=0)
    if grad_x is not None:
        np.matmul(grad_out, weight, out=grad_x)
