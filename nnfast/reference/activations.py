"""Activation kernels in NumPy: twins of ``nnfast._kernels.activations``."""
import numpy as np


def relu_forward(x, out):
    """out := max(x, 0); x, out : ndarray of shape (n,)"""
    np.maximum(x, 0, out=out)


def relu_backward(out, grad_output, grad_input):
    """grad_input := grad_output * (out > 0); out is the forward's output, shapes (n,)"""
    np.multiply(grad_output, out > 0, out=grad_input)


def leaky_relu_forward(x, negative_slope, out):
    """out := x where x > 0, else negative_slope * x; shapes (n,)"""
    out[...] = np.where(x > 0, x, x * x.dtype.type(negative_slope))


def leaky_relu_backward(x, grad_output, negative_slope, grad_input):
    """grad_input := grad_output where x > 0, else negative_slope * grad_output; shapes (n,)"""
    grad_input[...] = np.where(x > 0, grad_output, grad_output * x.dtype.type(negative_slope))


def sigmoid_forward(x, out):
    """out := 1 / (1 + exp(-x)); exp(-|x|) never overflows, limits exact"""
    z = np.exp(-np.abs(x))
    out[...] = np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_backward(out, grad_output, grad_input):
    """grad_input := grad_output * out * (1 - out); out is the forward's output"""
    grad_input[...] = grad_output * out * (1 - out)


def tanh_forward(x, out):
    """out := tanh(x)"""
    np.tanh(x, out=out)


def tanh_backward(out, grad_output, grad_input):
    """grad_input := grad_output * (1 - out ** 2); out is the forward's output"""
    grad_input[...] = grad_output * (1 - out * out)


def prelu_forward(x, weight, out):
    """out := x where x > 0, else weight[c] * x.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_channels, size)
    weight : ndarray of shape (n_channels,)
    out : ndarray of shape (n_samples, n_channels, size)
    """
    out[...] = np.where(x > 0, x, weight.reshape(1, -1, 1) * x)


def prelu_backward(x, weight, grad_output, grad_input, grad_weight):
    """Gradients of out = where(x > 0, x, weight[c] * x).

    grad_weight[c] += sum of grad_output * x where x <= 0 (accumulated);
    grad_input := where(x > 0, grad_output, weight[c] * grad_output), skipped when None.
    """
    negative = x <= 0
    grad_weight += np.sum(np.where(negative, x * grad_output, 0), axis=(0, 2),
                          dtype=np.float64).astype(grad_weight.dtype)
    if grad_input is not None:
        grad_input[...] = np.where(x > 0, grad_output, weight.reshape(1, -1, 1) * grad_output)
