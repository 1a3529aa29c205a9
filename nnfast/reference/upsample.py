"""Upsampling kernels in NumPy: twins of ``nnfast._kernels.upsample``.

``scale_factor`` is the (h, w) pair the output sizes came from (an entry <= 0:
none given, the ratio of the sizes); x and grad_input are (n_samples,
channels, height, width), out and grad_output (n_samples, channels,
out_height, out_width). One table per axis, in the arithmetic and precision
of torch's CPU kernels (see the compiled module's docstring); the forward
gathers through the tables, the backward scatter-adds along one axis at a
time.
"""
import numpy as np


def _floor_index(real, size):
    """min(floor(float32(real)), size - 1), and 0 below 0 (and for NaN)."""
    f = np.floor(np.asarray(real, dtype=np.float32))
    index = np.where(f >= 0, f, 0)
    return np.minimum(index, size - 1).astype(np.intp)


def _nearest_table(size, out_size, scale):
    """The source index of each output position along one axis (torch's
    nearest_idx, float arithmetic for either dtype)."""
    i = np.arange(out_size)
    if out_size == size:
        return i
    if out_size == 2 * size:
        return i >> 1
    ratio = np.float32(1.0 / scale) if scale > 0 else np.float32(size) / np.float32(out_size)
    return _floor_index(i.astype(np.float32) * ratio, size)


def _linear_table(size, out_size, scale, align_corners, dtype):
    """(index0, index1, lambda0, lambda1) along one axis: output i is
    lambda0 * in[index0] + lambda1 * in[index1] (torch's
    compute_source_index_and_lambda, in ``dtype``'s precision)."""
    t = np.dtype(dtype).type
    i = np.arange(out_size)
    if out_size == size:
        return i, i, np.ones(out_size, t), np.zeros(out_size, t)
    if align_corners:
        ratio = t(size - 1) / t(out_size - 1) if out_size > 1 else t(0)
        real = ratio * i.astype(t)
    else:
        ratio = t(1.0 / scale) if scale > 0 else t(size) / t(out_size)
        real = np.maximum(ratio * (i.astype(t) + t(0.5)) - t(0.5), t(0))
    index0 = _floor_index(real, size)
    frac = np.clip(real - index0.astype(t), t(0), t(1))
    index1 = np.where(index0 < size - 1, index0 + 1, index0)
    return index0, index1, t(1) - frac, frac


def _scatter_add(grad, index, weight, size, axis):
    """The adjoint of a gather along ``axis`` (2 or 3): out[..., index[k], ...]
    += weight[k] * grad[..., k, ...], into a new array of ``size`` there."""
    shape = list(grad.shape)
    shape[axis] = size
    out = np.zeros(shape, dtype=grad.dtype)
    where = [slice(None)] * grad.ndim
    where[axis] = index
    w = weight.reshape((-1, 1) if axis == 2 else (1, -1))
    np.add.at(out, tuple(where), grad * w)
    return out


def upsample2d_nearest_forward(x, scale_factor, out):
    """out[n, c, i, j] := x[n, c, src_h(i), src_w(j)] (torch's nearest index
    per axis)."""
    oh, ow = out.shape[2:]
    h = _nearest_table(x.shape[2], oh, scale_factor[0])
    w = _nearest_table(x.shape[3], ow, scale_factor[1])
    out[...] = x[:, :, h][:, :, :, w]


def upsample2d_nearest_backward(grad_output, scale_factor, grad_input):
    """grad_input := 0, then each grad_output added at its source pixel."""
    height, width = grad_input.shape[2:]
    oh, ow = grad_output.shape[2:]
    h = _nearest_table(height, oh, scale_factor[0])
    w = _nearest_table(width, ow, scale_factor[1])
    ones_w = np.ones(ow, grad_output.dtype)
    ones_h = np.ones(oh, grad_output.dtype)
    rows = _scatter_add(grad_output, w, ones_w, width, 3)
    grad_input[...] = _scatter_add(rows, h, ones_h, height, 2)


def upsample2d_bilinear_forward(x, scale_factor, align_corners, out):
    """out := x interpolated bilinearly at torch's source coordinates
    (align_corners or half-pixel), along the width first, then the height."""
    dtype = x.dtype
    oh, ow = out.shape[2:]
    h0, h1, lh0, lh1 = _linear_table(x.shape[2], oh, scale_factor[0], align_corners, dtype)
    w0, w1, lw0, lw1 = _linear_table(x.shape[3], ow, scale_factor[1], align_corners, dtype)

    def along_width(rows):
        return lw0 * rows[..., w0] + lw1 * rows[..., w1]

    top, bottom = along_width(x[:, :, h0]), along_width(x[:, :, h1])
    out[...] = top * lh0[:, None] + bottom * lh1[:, None]


def upsample2d_bilinear_backward(grad_output, scale_factor, align_corners, grad_input):
    """grad_input := 0, then each grad_output added, times its four bilinear
    weights, at the four pixels the forward read for it."""
    dtype = grad_output.dtype
    height, width = grad_input.shape[2:]
    oh, ow = grad_output.shape[2:]
    h0, h1, lh0, lh1 = _linear_table(height, oh, scale_factor[0], align_corners, dtype)
    w0, w1, lw0, lw1 = _linear_table(width, ow, scale_factor[1], align_corners, dtype)
    rows = (_scatter_add(grad_output, h0, lh0, height, 2)
            + _scatter_add(grad_output, h1, lh1, height, 2))
    grad_input[...] = (_scatter_add(rows, w0, lw0, width, 3)
                       + _scatter_add(rows, w1, lw1, width, 3))
