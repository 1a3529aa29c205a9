"""2-D convolution as im2col + GEMM in NumPy: the twin of
``nnfast._kernels.conv_im2col``.

``stride`` and ``dilation`` are (h, w) pairs, ``padding`` is ((top, bottom),
(left, right)); the output size comes from ``out``'s shape. The twins build
all the columns of the batch at once with one strided slice per kernel tap.
"""
import numpy as np

from nnfast.reference._conv_plan import _pad, _tap


def _columns(x, kernel_size, stride, padding, dilation, height_col, width_col):
    """(..., C, H, W) -> columns (..., C, kernel_h, kernel_w, height_col, width_col)."""
    kh, kw = kernel_size
    xpad = _pad(x, padding)
    cols = np.empty(x.shape[:-2] + (kh, kw, height_col, width_col), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[..., i, j, :, :] = _tap(xpad, i, j, stride, dilation, height_col, width_col)
    return cols


def _add_columns(cols, image_shape, stride, padding, dilation):
    """The adjoint of _columns: every column entry added back at its pixel."""
    kh, kw, height_col, width_col = cols.shape[-4:]
    (top, bottom), (left, right) = padding
    height, width = image_shape[-2:]
    gpad = np.zeros(image_shape[:-2] + (height + top + bottom, width + left + right),
                    dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            _tap(gpad, i, j, stride, dilation, height_col, width_col)[...] += cols[..., i, j, :, :]
    return gpad[..., top:top + height, left:left + width]


def im2col(image, kernel_size, stride, padding, dilation, col):
    """col[c_col, h_col, w_col] := image[c_im, h_im, w_im], 0 in the padding.

    Parameters
    ----------
    image : ndarray of shape (channels, height, width)
    kernel_size, stride, dilation : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    col : ndarray of shape (channels * kernel_h * kernel_w, height_col, width_col)
    """
    cols = _columns(image, kernel_size, stride, padding, dilation, *col.shape[1:])
    col[...] = cols.reshape(col.shape)


def col2im(col, kernel_size, stride, padding, dilation, image):
    """image := 0, then every col entry added back at the pixel im2col took it from.

    Parameters
    ----------
    col : ndarray of shape (channels * kernel_h * kernel_w, height_col, width_col)
    kernel_size, stride, dilation : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    image : ndarray of shape (channels, height, width)
    """
    kh, kw = kernel_size
    cols = col.reshape((image.shape[0], kh, kw) + col.shape[1:])
    image[...] = _add_columns(cols, image.shape, stride, padding, dilation)


def conv2d_im2col_forward(x, weight, bias, stride, padding, dilation, out, workspace,
                          relu=False):
    """out := conv2d(x, weight) + bias (cross-correlation, as PyTorch's), then
    max(out, 0) if ``relu``.

    Parameters
    ----------
    x : ndarray of shape (n_samples, in_channels, height, width)
    weight : ndarray of shape (out_channels, in_channels, kernel_h, kernel_w)
    bias : ndarray of shape (out_channels,)
    stride, dilation : (h, w) pairs of int
    padding : ((top, bottom), (left, right))
    out : ndarray of shape (n_samples, out_channels, height_col, width_col)
    workspace : ignored
    """
    n_samples, o = out.shape[:2]
    cols = _columns(x, weight.shape[2:], stride, padding, dilation, *out.shape[2:])
    prod = weight.reshape(o, -1) @ cols.reshape(n_samples, -1, out.shape[2] * out.shape[3])
    out[...] = prod.reshape(out.shape) + bias[:, None, None]
    if relu:
        np.maximum(out, 0, out=out)


def conv2d_im2col_backward(x, weight, grad_output, stride, padding, dilation,
                           grad_input, grad_weight, grad_bias, workspace):
    """Gradients of out = conv2d(x, weight) + bias.

    grad_weight += sum_n grad_output[n] @ im2col(x[n]).T;
    grad_bias += grad_output.sum((0, 2, 3));
    grad_input := col2im(weight.T @ grad_output[n]) for each n (skipped when
    ``grad_input`` is None).
    """
    n_samples, o, oh, ow = grad_output.shape
    g = grad_output.reshape(n_samples, o, oh * ow)
    cols = _columns(x, weight.shape[2:], stride, padding, dilation, oh, ow)
    cols = cols.reshape(n_samples, -1, oh * ow)
    grad_weight += np.tensordot(g, cols, axes=([0, 2], [0, 2])).reshape(weight.shape)
    grad_bias += g.sum(axis=(0, 2))
    if grad_input is not None:
        gcols = (weight.reshape(o, -1).T @ g).reshape(x.shape[:2] + weight.shape[2:] + (oh, ow))
        grad_input[...] = _add_columns(gcols, x.shape, stride, padding, dilation)
