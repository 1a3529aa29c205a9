"""Direct 2-D convolution in NumPy: the twin of ``nnfast._kernels.conv_direct``.

``stride`` and ``dilation`` are (h, w) pairs, ``padding`` is ((top, bottom),
(left, right)); the output size comes from ``out``'s shape. The twins never
build columns: they add one kernel tap's contribution at a time.
"""
import numpy as np

from nnfast.reference._conv_plan import _pad, _tap


def conv2d_direct_forward(x, weight, bias, stride, padding, dilation, out, relu=False):
    """out := conv2d(x, weight) + bias, one kernel tap at a time; then
    max(out, 0) if ``relu``.

    Same arguments as ``conv2d_im2col_forward`` (no workspace).
    """
    xpad = _pad(x, padding)
    acc = np.broadcast_to(bias[:, None, None], out.shape[1:]).astype(out.dtype)
    acc = np.repeat(acc[None], out.shape[0], axis=0)
    for i in range(weight.shape[2]):
        for j in range(weight.shape[3]):
            tap = _tap(xpad, i, j, stride, dilation, *out.shape[2:])
            acc += np.einsum("oc,nchw->nohw", weight[:, :, i, j], tap)
    out[...] = acc
    if relu:
        np.maximum(out, 0, out=out)


def conv2d_direct_backward(x, weight, grad_output, stride, padding, dilation,
                           grad_input, grad_weight, grad_bias):
    """Gradients of out = conv2d(x, weight) + bias, one kernel tap at a time.

    Same arguments and results as ``conv2d_im2col_backward`` (no workspace).
    """
    oh, ow = grad_output.shape[2:]
    xpad = _pad(x, padding)
    gpad = np.zeros_like(xpad) if grad_input is not None else None
    grad_bias += grad_output.sum(axis=(0, 2, 3))
    for i in range(weight.shape[2]):
        for j in range(weight.shape[3]):
            tap = _tap(xpad, i, j, stride, dilation, oh, ow)
            grad_weight[:, :, i, j] += np.einsum("nohw,nchw->oc", grad_output, tap)
            if gpad is not None:
                _tap(gpad, i, j, stride, dilation, oh, ow)[...] += np.einsum(
                    "oc,nohw->nchw", weight[:, :, i, j], grad_output)
    if grad_input is not None:
        (top, _), (left, _) = padding
        grad_input[...] = gpad[:, :, top:top + x.shape[2], left:left + x.shape[3]]
