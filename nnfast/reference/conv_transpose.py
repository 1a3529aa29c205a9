"""2-D transposed convolution's forward in NumPy: the twin of
``nnfast._kernels.conv_transpose``.

The adjoint of the convolution's im2col (``reference.conv._columns``): the
columns weight.T @ x[n] added back at the pixels of the output that each
kernel tap meets, then the bias.
"""
import numpy as np

from nnfast.reference.conv_im2col import _add_columns


def conv_transpose2d_forward(x, weight, bias, stride, padding, dilation, out, workspace):
    """out := conv_transpose2d(x, weight) + bias (PyTorch's, groups 1).

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_channels, height, width)
    weight : ndarray of shape (in_channels, out_channels, kernel_h, kernel_w)
    bias : ndarray of shape (out_channels,)
    stride, dilation : (h, w) pairs of int
    padding : ((top, bottom), (left, right)): rows and columns cut from the
        full output; the output size comes from ``out``'s shape
    out : ndarray of shape (n_samples, out_channels, out_h, out_w)
    workspace : ignored
    """
    n_samples, c, height, width = x.shape
    o, kh, kw = weight.shape[1:]
    cols = weight.reshape(c, -1).T @ x.reshape(n_samples, c, height * width)
    cols = cols.reshape((n_samples, o, kh, kw, height, width))
    (top, _), (left, _) = padding
    # the bottom and right padding as the output size leaves them (none
    # where output_padding adds rows that no tap reaches)
    bottom = max(0, (height - 1) * stride[0] + dilation[0] * (kh - 1) + 1 - top - out.shape[2])
    right = max(0, (width - 1) * stride[1] + dilation[1] * (kw - 1) + 1 - left - out.shape[3])
    out[...] = _add_columns(cols, out.shape, stride, ((top, bottom), (left, right)),
                            dilation) + bias[:, None, None]
