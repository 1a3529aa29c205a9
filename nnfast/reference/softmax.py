"""Softmax and log-softmax in NumPy: twins of ``nnfast._kernels.softmax``.

Arrays are (n_samples, n_classes, size); every function works over axis 1.
"""
import numpy as np


def softmax_forward(x, out):
    """out := exp(x - max) / sum(exp(x - max)), over axis 1"""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    total = e.sum(axis=1, keepdims=True, dtype=np.float64)
    out[...] = e * (1.0 / total).astype(x.dtype)


def softmax_backward(out, grad_output, grad_input):
    """grad_input := out * (grad_output - sum(grad_output * out, axis=1))"""
    dot = np.sum(grad_output * out, axis=1, keepdims=True, dtype=np.float64).astype(out.dtype)
    grad_input[...] = out * (grad_output - dot)


def log_softmax_forward(x, out):
    """out := (x - max) - log(sum(exp(x - max))), over axis 1"""
    shifted = x - x.max(axis=1, keepdims=True)
    total = np.sum(np.exp(shifted), axis=1, keepdims=True, dtype=np.float64)
    out[...] = shifted - np.log(total).astype(x.dtype)


def log_softmax_backward(out, grad_output, grad_input):
    """grad_input := grad_output - exp(out) * sum(grad_output, axis=1)"""
    total = np.sum(grad_output, axis=1, keepdims=True, dtype=np.float64).astype(out.dtype)
    grad_input[...] = grad_output - np.exp(out) * total
