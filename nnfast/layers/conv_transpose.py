"""2-D transposed convolution layer (PyTorch's ``nn.ConvTranspose2d``).

A transposed convolution is the adjoint of a convolution: with ``conv`` the
Conv2D of weight ``weight`` (read as (out_channels, in_channels, kh, kw) =
(this layer's in_channels, out_channels, kh, kw)), stride, padding and
dilation that maps an image of this layer's output size to one of its input
size, this layer's forward is that conv's input gradient, its input
gradient is that conv's forward, and its weight gradient is that conv's
weight gradient with the roles of the input and the output gradient
swapped. The forward is its own kernel (``conv_transpose2d_forward``,
GEMM + col2im as the conv's input gradient, plus the bias); the backward
runs on the im2col convolution kernels. All on the thread team, each with
its NumPy twin.
"""
import numpy as np

from nnfast import _backend, _scratch, init
from nnfast._validation import (INT32_MAX, as_float_array, check_allocation, check_int,
                                check_int_pair, float_dtype)
from nnfast.layers.base import Layer, check_bias
from nnfast.parameter import Parameter

WEIGHT_LAYOUT = "(in_channels, out_channels, kernel_h, kernel_w)"


class ConvTranspose2D(Layer):
    """2-D transposed convolution, as PyTorch's ``nn.ConvTranspose2d``
    (groups 1).

    out[n, o, h * stride_h - pad_h + i * dilation_h, ...] += x[n, c, h, w]
    * weight[c, o, i, j], plus bias[o]. The output size along each axis is
    (size - 1) * stride - 2 * padding + dilation * (kernel - 1) +
    output_padding + 1.

    Parameters
    ----------
    in_channels, out_channels : int >= 1
    kernel_size : int or (kernel_h, kernel_w), >= 1
    stride, dilation : int or (h, w), >= 1
    padding : int or (h, w), >= 0
        ``dilation * (kernel_size - 1) - padding`` zeros are, in effect,
        added to each side of the input; ``padding`` rows (columns) are cut
        from each side of the full output, as PyTorch's.
    output_padding : int or (h, w), >= 0
        Extra rows (columns) at the bottom (right) of the output, to reach
        the sizes that several input sizes of a strided Conv2D share; must
        be smaller than ``stride`` or ``dilation`` along its axis
        (PyTorch's rule).
    groups : 1
        In PyTorch's place among the arguments; only 1 (no grouped
        transposed convolution) is accepted.
    bias : bool, default True
        False: no bias (``bias`` is None, ``parameters()`` holds the weight only).
    dtype : np.float32 (default) or np.float64
        Parameters' dtype; input of another dtype is cast to it.
    rng : int, numpy.random.Generator or None
        For the initial weights; None draws from ``nf.seed``'s generator.

    Attributes
    ----------
    weight : Parameter of shape (in_channels, out_channels, kernel_h, kernel_w)
        PyTorch's layout for a transposed convolution.
    bias : Parameter of shape (out_channels,), or None when ``bias=False``

    Weights and bias start as PyTorch's do: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    with fan_in = out_channels * kernel_h * kernel_w (PyTorch reads the fan-in
    of a transposed convolution's weight from its second axis). Scratch
    (column buffers) belongs to the calling thread (``nnfast._scratch``).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, dtype=np.float32, rng=None):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", 1, INT32_MAX)
        self.out_channels = check_int(out_channels, "out_channels", 1, INT32_MAX)
        self.kernel_size = check_int_pair(kernel_size, "kernel_size", 1, INT32_MAX)
        self.stride = check_int_pair(stride, "stride", 1, INT32_MAX)
        self.padding = check_int_pair(padding, "padding", 0, INT32_MAX)
        self.output_padding = check_int_pair(output_padding, "output_padding", 0, INT32_MAX)
        self.dilation = check_int_pair(dilation, "dilation", 1, INT32_MAX)
        for axis, op, s, d in zip(("height", "width"), self.output_padding, self.stride,
                                  self.dilation):
            if op >= max(s, d):
                raise ValueError(
                    f"output_padding must be smaller than stride or dilation along each axis "
                    f"(as PyTorch's), got output_padding={self.output_padding} with "
                    f"stride={self.stride}, dilation={self.dilation} ({op} >= {max(s, d)} "
                    f"along the {axis})")
        if check_int(groups, "groups", 1, INT32_MAX) != 1:
            raise ValueError(f"groups must be 1 (grouped transposed convolutions are not "
                             f"supported), got groups={groups}")
        has_bias = check_bias(bias)
        self.dtype = float_dtype(dtype)
        kh, kw = self.kernel_size
        for name, fan in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            # either is a GEMM depth: the forward's (the conv's input
            # gradient) and the backward's (the conv's forward)
            if fan * kh * kw > INT32_MAX:
                raise ValueError(f"{name} * kernel_h * kernel_w must be <= {INT32_MAX}, "
                                 f"got {fan * kh * kw}")
        shape = (self.in_channels, self.out_channels, kh, kw)
        check_allocation(shape, self.dtype, f"weight {WEIGHT_LAYOUT}", copies=2)
        bound = 1.0 / np.sqrt(self.out_channels * kh * kw)
        self.weight = Parameter(init.uniform(shape, -bound, bound, self.dtype, rng), "weight",
                                layout=WEIGHT_LAYOUT)
        self.bias = None
        if has_bias:
            self.bias = Parameter(init.uniform((self.out_channels,), -bound, bound,
                                               self.dtype, rng), "bias")
        self._x = None
        self._config = {"in_channels": self.in_channels,
                        "out_channels": self.out_channels,
                        "kernel_size": list(self.kernel_size),
                        "stride": list(self.stride),
                        "padding": list(self.padding),
                        "output_padding": list(self.output_padding),
                        "dilation": list(self.dilation),
                        "dtype": np.dtype(self.dtype).name}
        if not has_bias:
            self._config["bias"] = False

    def parameters(self):
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def output_shape(self, input_shape):
        """(n_samples, out_channels, out_h, out_w) for an input of shape
        (n_samples, in_channels, height, width); ValueError if the output
        would be empty or too large."""
        key = (tuple(input_shape), self.kernel_size, self.stride, self.padding,
               self.output_padding, self.dilation, self.out_channels)
        memo = self.__dict__.get("_output_shape_memo")
        if memo is not None and memo[0] == key:
            return memo[1]
        n_samples, _, height, width = input_shape
        size = []
        for axis, extent, k, s, p, op, d in zip(
                ("height", "width"), (height, width), self.kernel_size, self.stride,
                self.padding, self.output_padding, self.dilation):
            full = (extent - 1) * s + d * (k - 1) + op + 1
            if full - 2 * p <= 0:
                raise ValueError(
                    f"padding {self.padding} cuts the whole output along the {axis}: "
                    f"(x {axis} {extent} - 1) * stride {s} + dilation {d} * (kernel {k} - 1) "
                    f"+ output_padding {op} + 1 - 2 * padding {p} = {full - 2 * p}, must be >= 1")
            if full - 2 * p > INT32_MAX:
                raise ValueError(f"the output {axis} for x of shape {tuple(input_shape)} must be "
                                 f"<= {INT32_MAX}, got {full - 2 * p}")
            size.append(full - 2 * p)
        if size[0] * size[1] > INT32_MAX:
            raise ValueError(f"output height * width for x of shape {tuple(input_shape)} must be "
                             f"<= {INT32_MAX}, got {size[0] * size[1]}")
        shape = (n_samples, self.out_channels, size[0], size[1])
        check_allocation(shape, self.dtype, f"the output for x of shape {tuple(input_shape)}")
        self._output_shape_memo = (key, shape)
        return shape

    def _conv_padding(self):
        """The adjoint conv's padding, ((top, bottom), (left, right)): the
        bottom and right enter the kernels only through the image sizes."""
        ph, pw = self.padding
        return ((ph, ph), (pw, pw))

    def forward(self, x):
        """x : (n_samples, in_channels, height, width) -> (n_samples,
        out_channels, out_h, out_w)"""
        x = as_float_array(x, "x", self.dtype, ndim=4)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (n_samples, {self.in_channels}, height, width) "
                             f"for {self!r}, got {x.shape} ({x.shape[1]} channels)")
        out_shape = self.output_shape(x.shape)
        out = self._new_array("out", out_shape, self.dtype)
        k = _backend.kernels()
        bias = self.bias.value if self.bias is not None else np.zeros(self.out_channels, self.dtype)
        k.conv_transpose2d_forward(x, self.weight.value, bias, self.stride, self._conv_padding(),
                                   self.dilation, out, self._workspace(k, x.shape))
        self._x = x
        self._grad_output_shape = out_shape
        return out

    def backward(self, grad_output):
        """grad_output : (n_samples, out_channels, out_h, out_w) -> grad_input
        (n_samples, in_channels, height, width), or None when
        ``requires_input_grad`` is False. Accumulates weight.grad and
        bias.grad."""
        g = self._check_grad_output(grad_output, self.dtype)
        x = self._x
        k = _backend.kernels()
        padding = self._conv_padding()
        workspace = self._workspace(k, x.shape)
        # the weight gradient is the adjoint conv's, with x as its output
        # gradient and grad_output as its input; that conv's bias gradient
        # (the sums of x) is computed and dropped
        unused_bias_grad = np.zeros(self.in_channels, self.dtype)
        k.conv2d_im2col_backward(g, self.weight.value, x, self.stride, padding, self.dilation,
                                 None, self.weight.grad, unused_bias_grad, workspace)
        if self.bias is not None:
            self.bias.grad += g.sum(axis=(0, 2, 3))
        if not self.requires_input_grad:
            return None
        grad_input = self._new_array("grad_input", x.shape, self.dtype)
        k.conv2d_im2col_forward(g, self.weight.value, np.zeros(self.in_channels, self.dtype),
                                self.stride, padding, self.dilation, grad_input, workspace)
        return grad_input

    def _workspace(self, kernels, x_shape):
        """The calling thread's scratch (nnfast._scratch), sized for the
        adjoint conv, whose output has this layer's input's shape: bounded
        per thread, not by the batch. Never the layer's own: threads calling
        one layer at once each need their own."""
        need = kernels.conv2d_workspace_size(self.weight.shape, x_shape, self.dtype)
        return _scratch.workspace(need, self.dtype)
