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


def linear_backward(x, weight, grad_output, grad_input, grad_weight, grad_bias, accumulate=True):
    """Gradients of out = x @ weight.T + bias.

    grad_weight += grad_output.T @ x;  grad_bias += grad_output.sum(0) (``=``
    instead of ``+=`` when ``accumulate`` is False);
    grad_input := grad_output @ weight (skipped when ``grad_input`` is None).
    """
    if not accumulate:
        grad_weight[...] = 0
        grad_bias[...] = 0
    grad_weight += grad_output.T @ x
    grad_bias += grad_output.sum(axis=0)
    if grad_input is not None:
        np.matmul(grad_output, weight, out=grad_input)
