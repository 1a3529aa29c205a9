"""Batch normalization kernels in NumPy: twins of ``nnfast._kernels.batchnorm``.

Arrays are (n_samples, channels, spatial); the per-channel statistics are
float64 (channels,) arrays whatever the input's dtype, and the arithmetic
is float64, rounded once to the input's dtype.
"""
import numpy as np


def batchnorm_stats(x, mean, var):
    """mean[c] := x[:, c, :].mean();  var[c] := x[:, c, :].var() (biased)

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, spatial)
    mean, var : float64 ndarrays of shape (channels,), written
    """
    x64 = x.astype(np.float64)
    mean[...] = x64.mean(axis=(0, 2))
    var[...] = np.square(x64 - mean[:, None]).mean(axis=(0, 2))


def batchnorm_forward(x, mean, invstd, weight, bias, out, relu=False):
    """out := (x - mean) * invstd * weight + bias per channel (float64, then
    rounded), then max(out, 0) if ``relu``

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, spatial)
    mean, invstd : float64 ndarrays of shape (channels,)
    weight, bias : ndarrays of shape (channels,)
    out : ndarray of shape (n_samples, channels, spatial), written
    """
    scale = weight.astype(np.float64) * invstd
    y = (x - mean[:, None]) * scale[:, None] + bias.astype(np.float64)[:, None]
    out[...] = y
    if relu:
        np.maximum(out, 0, out=out)


def batchnorm_backward(x, mean, invstd, weight, grad_output, grad_input, grad_weight,
                       grad_bias, batch_stats=True, accumulate=True, bias=None, relu=False):
    """Gradients of out = (x - mean) * invstd * weight + bias (see the
    compiled kernel): grad_bias, grad_weight added to (written when
    ``accumulate`` is False); grad_input (unless None) with the batch
    statistics' own terms when ``batch_stats``. With ``relu``, grad_output
    is first taken through the ReLU after the layer: kept where the
    forward's output (before the ReLU, rounded to x's dtype) is > 0."""
    if relu and bias is None:
        raise ValueError("batchnorm_backward: relu=True needs the bias the forward added")
    xhat = (x - mean[:, None]) * invstd[:, None]
    g = grad_output.astype(np.float64)
    if relu:
        out = np.empty_like(x)
        batchnorm_forward(x, mean, invstd, weight, bias, out)
        g = np.where(out > 0, g, 0.0)
    sum_dy = g.sum(axis=(0, 2))
    sum_dyx = (g * xhat).sum(axis=(0, 2))
    if accumulate:
        grad_bias[...] = grad_bias + sum_dy
        grad_weight[...] = grad_weight + sum_dyx
    else:
        grad_bias[...] = sum_dy
        grad_weight[...] = sum_dyx
    if grad_input is None:
        return
    k = (weight.astype(np.float64) * invstd)[:, None]
    if batch_stats:
        count = x.shape[0] * x.shape[2]
        grad_input[...] = k * (g - (sum_dy / count)[:, None] - xhat * (sum_dyx / count)[:, None])
    else:
        grad_input[...] = k * g
