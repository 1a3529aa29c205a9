"""Convolution geometry in NumPy: the twin of ``nnfast._kernels._conv_plan``,
and the padding and kernel-tap views the im2col and direct twins share.

``stride`` and ``dilation`` are (h, w) pairs, ``padding`` is ((top, bottom),
(left, right)); the output size comes from ``out``'s shape.
"""
import numpy as np


def _tap(xpad, h_offset, w_offset, stride, dilation, height_col, width_col):
    """The (..., height_col, width_col) view of padded input that kernel tap
    (h_offset, w_offset) meets: xpad[..., h_col * stride_h + h_offset * dilation_h, ...]."""
    h0 = h_offset * dilation[0]
    w0 = w_offset * dilation[1]
    return xpad[..., h0:h0 + stride[0] * (height_col - 1) + 1:stride[0],
                w0:w0 + stride[1] * (width_col - 1) + 1:stride[1]]


def _pad(x, padding, value=0.0):
    widths = [(0, 0)] * (x.ndim - 2) + [tuple(padding[0]), tuple(padding[1])]
    return np.pad(x, widths, constant_values=value)


def conv2d_workspace_size(weight_shape, out_shape, dtype):
    """Scratch elements these kernels need: none (NumPy allocates its own)."""
    return 0
