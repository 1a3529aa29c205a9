"""Global average pooling kernels in NumPy: twins of ``nnfast._kernels.global_pool``.

x and grad_input are (n_samples, channels, height, width), out and
grad_output (n_samples, channels, 1, 1). Sums and quotients are taken in
float64 for either dtype and rounded to it once, as the compiled kernels do.
"""
import numpy as np


def global_avgpool2d_forward(x, out):
    """out[n, c, 0, 0] := mean(x[n, c]), summed in float64 and rounded once."""
    size = x.shape[2] * x.shape[3]
    out[...] = (x.sum(axis=(2, 3), dtype=np.float64, keepdims=True) / size).astype(out.dtype)


def global_avgpool2d_backward(grad_output, grad_input):
    """grad_input[n, c, i, j] := grad_output[n, c, 0, 0] / (height * width),
    the quotient in float64 rounded once."""
    size = grad_input.shape[2] * grad_input.shape[3]
    share = (grad_output.astype(np.float64) / size).astype(grad_input.dtype)
    grad_input[...] = np.broadcast_to(share, grad_input.shape)
