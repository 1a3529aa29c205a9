"""Max and average pooling kernels in NumPy: twins of ``nnfast._kernels.pooling``.

``kernel_size`` and ``stride`` are (h, w) pairs, ``padding`` is ((top,
bottom), (left, right)); the output size comes from ``out``'s shape. x and
grad_input are (n_samples, channels, height, width), out, argmax and
grad_output (n_samples, channels, height_col, width_col). Each
kernel loops over the window's taps, every tap a strided view of the whole
batch.
"""
import numpy as np


def _tap(xpad, i, j, stride, height_col, width_col):
    return xpad[..., i:i + stride[0] * (height_col - 1) + 1:stride[0],
                j:j + stride[1] * (width_col - 1) + 1:stride[1]]


def _visited(size, n_out, stride, before, kernel):
    """The taps [lo, hi) of one window axis that reach the input in some
    window, and the padding (before, after) those taps need.

    Taps that only ever see padding add zeros (average) or never win (max),
    so they are skipped: a window of 2**31 - 1 with as much padding (legal,
    as in PyTorch) visits its few real rows instead of allocating and
    looping over the padding.
    """
    first = -before                          # the first window's first row
    last = (n_out - 1) * stride - before     # the last window's first row
    lo, hi = max(0, -last), min(kernel, size - first)
    if hi <= lo:
        return 0, 0, 0, 0
    return lo, hi, max(0, -(first + lo)), max(0, last + hi - size)


def _taps(shape, out_shape, kernel_size, stride, padding):
    """Per axis: (range of visited taps, the padding they need, the offset of
    tap 0 of the first window in the array padded that much)."""
    axes = []
    for size, n_out, k, s, (before, _) in zip(shape, out_shape, kernel_size, stride, padding):
        lo, hi, need_before, need_after = _visited(size, n_out, s, before, k)
        axes.append((range(lo, hi), (need_before, need_after), need_before - before))
    return axes


def _pad(x, padding, value):
    return np.pad(x, ((0, 0), (0, 0), tuple(padding[0]), tuple(padding[1])),
                  constant_values=value)


def maxpool2d_forward(x, kernel_size, stride, padding, out, argmax):
    """out := each window's maximum; argmax := its index h * width + w in the
    (height, width) plane (NaN wins; among equal values the first in
    row-major order). Padding never wins."""
    height, width = x.shape[2:]
    oh, ow = out.shape[2:]
    h_start = np.arange(oh) * stride[0] - padding[0][0]
    w_start = np.arange(ow) * stride[1] - padding[1][0]
    # Start from each window's first pixel inside the image, as the C loop does.
    h_first = np.maximum(h_start, 0)[:, None]
    w_first = np.maximum(w_start, 0)[None, :]
    best = x[:, :, h_first, w_first]
    best_index = np.broadcast_to(h_first * width + w_first, best.shape).copy()
    (rows, pad_h, shift_h), (cols, pad_w, shift_w) = _taps(x.shape[2:], (oh, ow), kernel_size,
                                                           stride, padding)
    xpad = _pad(x, (pad_h, pad_w), -np.inf)
    for i in rows:
        h_im = (h_start + i)[:, None]
        for j in cols:
            w_im = (w_start + j)[None, :]
            inside = (h_im >= 0) & (h_im < height) & (w_im >= 0) & (w_im < width)
            v = _tap(xpad, i + shift_h, j + shift_w, stride, oh, ow)
            take = inside & ((v > best) | np.isnan(v))
            best = np.where(take, v, best)
            best_index = np.where(take, h_im * width + w_im, best_index)
    out[...] = best
    argmax[...] = best_index


def maxpool2d_backward(grad_output, argmax, grad_input, pooled=None):
    """grad_input := 0, then each grad_output added at its window's argmax
    (with ``pooled``, the forward's output, only where pooled > 0)."""
    if pooled is not None:
        grad_output = np.where(pooled > 0, grad_output, 0).astype(grad_output.dtype)
    planes = grad_input.shape[0] * grad_input.shape[1]
    size = grad_input.shape[2] * grad_input.shape[3]
    flat = argmax.reshape(planes, -1) + (np.arange(planes) * size)[:, None]
    gx = np.zeros(planes * size, dtype=grad_input.dtype)
    np.add.at(gx, flat.ravel(), grad_output.ravel())
    grad_input[...] = gx.reshape(grad_input.shape)


def avgpool2d_forward(x, kernel_size, stride, padding, out):
    """out := window sum / (kernel_h * kernel_w), padding counted as zeros."""
    oh, ow = out.shape[2:]
    (rows, pad_h, shift_h), (cols, pad_w, shift_w) = _taps(x.shape[2:], (oh, ow), kernel_size,
                                                           stride, padding)
    xpad = _pad(x, (pad_h, pad_w), 0)
    total = np.zeros(out.shape, dtype=out.dtype)
    for i in rows:
        for j in cols:
            total += _tap(xpad, i + shift_h, j + shift_w, stride, oh, ow)
    out[...] = total * out.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))


def avgpool2d_backward(grad_output, kernel_size, stride, padding, grad_input):
    """grad_input := 0, then each grad_output / (kernel_h * kernel_w) added over
    its window."""
    oh, ow = grad_output.shape[2:]
    height, width = grad_input.shape[2:]
    (rows, (top, bottom), shift_h), (cols, (left, right), shift_w) = _taps(
        (height, width), (oh, ow), kernel_size, stride, padding)
    gpad = np.zeros(grad_input.shape[:2] + (height + top + bottom, width + left + right),
                    dtype=grad_input.dtype)
    g = grad_output * grad_input.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))
    for i in rows:
        for j in cols:
            _tap(gpad, i + shift_h, j + shift_w, stride, oh, ow)[...] += g
    grad_input[...] = gpad[:, :, top:top + height, left:left + width]
