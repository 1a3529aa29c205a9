"""Max and average pooling kernels in NumPy: twins of ``nnfast._kernels.pooling``.

``kernel_size``, ``stride`` and ``padding`` are (h, w) pairs, the padding
applied on both sides; the output size comes from ``out``'s shape. Each
kernel loops over the window's taps, every tap a strided view of the whole
batch: the block of outputs whose window meets the image at that tap. Taps
that meet only padding are skipped, and the padding is never built, so a
window or a padding far larger than the image costs what the image costs
(as in the compiled kernels, which clip each window to the image).
"""
import numpy as np


def _block(n_out, stride, pad, tap, extent):
    """(first, stop) outputs o whose window row o * stride - pad + tap is
    inside [0, extent), and that row for ``first``."""
    first = max(0, -(-(pad - tap) // stride))
    stop = min(n_out, max(0, -(-(extent + pad - tap) // stride)))
    return first, stop, first * stride - pad + tap


def _tap_range(kernel, stride, pad, n_out, extent):
    """(first, stop) taps of one axis that can meet the image for some output
    (window rows o * stride - pad + tap, o < n_out)."""
    return max(0, pad - (n_out - 1) * stride), max(0, min(kernel, extent + pad))


def _taps(kernel_size, stride, padding, out_hw, in_hw):
    """Every tap (i, j) that meets the image, with its output block and the
    strided views' slices: (out_rows, out_cols, in_rows, in_cols)."""
    for i in range(*_tap_range(kernel_size[0], stride[0], padding[0], out_hw[0], in_hw[0])):
        h0, h1, r = _block(out_hw[0], stride[0], padding[0], i, in_hw[0])
        if h0 >= h1:
            continue
        rows_out = slice(h0, h1)
        rows_in = slice(r, r + stride[0] * (h1 - h0 - 1) + 1, stride[0])
        for j in range(*_tap_range(kernel_size[1], stride[1], padding[1], out_hw[1], in_hw[1])):
            w0, w1, c = _block(out_hw[1], stride[1], padding[1], j, in_hw[1])
            if w0 >= w1:
                continue
            yield (rows_out, slice(w0, w1), rows_in,
                   slice(c, c + stride[1] * (w1 - w0 - 1) + 1, stride[1]), r, c)


def maxpool2d_forward(x, kernel_size, stride, padding, out, argmax):
    """out := each window's maximum; argmax := its index h * width + w in the
    (height, width) plane (NaN wins; among equal values the first in
    row-major order). Padding never wins.

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, height, width)
    kernel_size, stride, padding : (h, w) pairs of int
    out : ndarray of shape (n_samples, channels, height_col, width_col)
    argmax : int32 ndarray of out's shape
    """
    height, width = x.shape[2:]
    oh, ow = out.shape[2:]
    h_start = np.arange(oh) * stride[0] - padding[0]
    w_start = np.arange(ow) * stride[1] - padding[1]
    # Start from each window's first pixel inside the image, as the C loop does.
    h_first = np.maximum(h_start, 0)[:, None]
    w_first = np.maximum(w_start, 0)[None, :]
    best = x[:, :, h_first, w_first]
    best_index = np.broadcast_to(h_first * width + w_first, best.shape).copy()
    for rows_out, cols_out, rows_in, cols_in, r, c in _taps(kernel_size, stride, padding,
                                                            (oh, ow), (height, width)):
        v = x[:, :, rows_in, cols_in]
        b = best[:, :, rows_out, cols_out]
        take = (v > b) | np.isnan(v)
        best[:, :, rows_out, cols_out] = np.where(take, v, b)
        h_im = np.arange(r, r + stride[0] * v.shape[2], stride[0])[:, None]
        w_im = np.arange(c, c + stride[1] * v.shape[3], stride[1])[None, :]
        bi = best_index[:, :, rows_out, cols_out]
        best_index[:, :, rows_out, cols_out] = np.where(take, h_im * width + w_im, bi)
    out[...] = best
    argmax[...] = best_index


def maxpool2d_backward(grad_out, argmax, grad_x, pooled=None):
    """grad_x := 0, then each grad_out added at its window's argmax (with
    ``pooled``, the forward's output, only where pooled > 0).

    Parameters
    ----------
    grad_out : ndarray of shape (n_samples, channels, height_col, width_col)
    argmax : int32 ndarray of grad_out's shape, from maxpool2d_forward
    grad_x : ndarray of shape (n_samples, channels, height, width)
    """
    if pooled is not None:
        grad_out = np.where(pooled > 0, grad_out, 0).astype(grad_out.dtype)
    planes = grad_x.shape[0] * grad_x.shape[1]
    size = grad_x.shape[2] * grad_x.shape[3]
    flat = argmax.reshape(planes, -1) + (np.arange(planes) * size)[:, None]
    gx = np.zeros(planes * size, dtype=grad_x.dtype)
    np.add.at(gx, flat.ravel(), grad_out.ravel())
    grad_x[...] = gx.reshape(grad_x.shape)


def avgpool2d_forward(x, kernel_size, stride, padding, out):
    """out := window sum / (kernel_h * kernel_w), padding counted as zeros.

    Parameters
    ----------
    x : ndarray of shape (n_samples, channels, height, width)
    kernel_size, stride, padding : (h, w) pairs of int
    out : ndarray of shape (n_samples, channels, height_col, width_col)
    """
    oh, ow = out.shape[2:]
    total = np.zeros(out.shape, dtype=out.dtype)
    for rows_out, cols_out, rows_in, cols_in, _, _ in _taps(kernel_size, stride, padding,
                                                            (oh, ow), x.shape[2:]):
        total[:, :, rows_out, cols_out] += x[:, :, rows_in, cols_in]
    out[...] = total * out.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))


def avgpool2d_backward(grad_out, kernel_size, stride, padding, grad_x):
    """grad_x := 0, then each grad_out / (kernel_h * kernel_w) added over its window.

    Parameters
    ----------
    grad_out : ndarray of shape (n_samples, channels, height_col, width_col)
    kernel_size, stride, padding : (h, w) pairs of int
    grad_x : ndarray of shape (n_samples, channels, height, width)
    """
    oh, ow = grad_out.shape[2:]
    gx = np.zeros(grad_x.shape, dtype=grad_x.dtype)
    g = grad_out * grad_x.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))
    for rows_out, cols_out, rows_in, cols_in, _, _ in _taps(kernel_size, stride, padding,
                                                            (oh, ow), grad_x.shape[2:]):
        gx[:, :, rows_in, cols_in] += g[:, :, rows_out, cols_out]
    grad_x[...] = gx
