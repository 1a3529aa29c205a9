"""Softmax, log-softmax and cumulative softmax in NumPy: twins of ``nnfast._kernels.softmax``.

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


def cumulative_softmax_forward(x, probs, out):
    """probs := softmax(x) over axis 1; out := its running sum over axis 1,
    as the running sum of exp(x - max) over its last entry (so that entry
    is exactly 1)"""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    run = np.cumsum(e, axis=1, dtype=np.float64)
    total = run[:, -1:]
    probs[...] = e * (1.0 / total)
    out[...] = run / total


def cumulative_softmax_backward(probs, grad_output, grad_input):
    """grad_input := probs * (h - sum(h * probs, axis=1)), h[:, c] =
    grad_output[:, c:].sum(1)"""
    h = np.cumsum(grad_output[:, ::-1], axis=1, dtype=np.float64)[:, ::-1]
    dot = np.sum(h * probs, axis=1, keepdims=True)
    grad_input[...] = probs * (h - dot)
