"""2-D convolution layer."""
import numpy as np

from nnfast import _backend, init
from nnfast._validation import (INT32_MAX, as_float_array, check_int, check_int_pair,
                                float_dtype)
from nnfast._validation import check_allocation
from nnfast.layers.base import Layer
from nnfast.parameter import Parameter

ALGORITHMS = ("auto", "im2col", "direct")


def auto_algorithm(in_channels, kernel_size, input_grad=True):
    """The convolution algorithm ``algorithm="auto"`` picks: "im2col" or "direct".

    Parameters
    ----------
    in_channels : int
    kernel_size : (kernel_h, kernel_w)
    input_grad : bool
        Whether backward computes the input gradient (``requires_input_grad``).

    The rule is measured (``python bench/conv_algorithm.py --threads 1``:
    float32, forward + backward, best of 5, thread CPU time, 2-core AMD EPYC
    with AVX2). im2col + GEMM was faster on every shape tried, even those
    that favour the direct loop most, so "auto" is always "im2col" here:

    ===============================  =============  ============  =============
    in->out, kernel, image           C*kh*kw        im2col (ms)   direct (ms)
    ===============================  =============  ============  =============
    1->6, 5x5 pad 2, 28x28 (LeNet)   25             3.8 / 3.1     6.8 / 4.9
    1->32, 3x3, 28x28                9              5.6 / 3.7     14.7 / 11.1
    3->16, 3x3, 32x32                27             8.9 / 5.9     27.9 / 21.0
    6->16, 5x5, 14x14 (LeNet)        150            4.0 / 3.1     26.0 / 17.7
    32->64, 3x3, 14x14               288            27.9 / 19.2   297 / 201
    ===============================  =============  ============  =============

    (batch 64; with / without the input gradient, i.e. hidden / first
    layer.) At batch 1 the LeNet first layer is 0.06 ms vs 0.09 ms. The
    direct loop streams each output row once per kernel tap, while the GEMM
    reuses every loaded value across the output channels from registers.
    "direct" stays available: it needs no workspace and checks im2col.
    """
    return "im2col"


def _conv_padding(padding, kernel_size, stride, dilation):
    """``padding`` as (top, bottom, left, right).

    Accepts an int, (h, w), ((top, bottom), (left, right)) or "same" (output
    size = input size; stride 1 only; for an even extent the extra row and
    column go after, at the bottom and right).
    """
    if isinstance(padding, str):
        if padding != "same":
            raise ValueError(f"padding must be an int, (h, w), ((top, bottom), (left, right)) or 'same', got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"padding='same' needs stride 1, got stride={stride}")
        sides = []
        for k, d in zip(kernel_size, dilation):
            total = d * (k - 1)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(isinstance(p, (tuple, list)) for p in padding)):
        top, bottom = check_int_pair(tuple(padding[0]), "padding", 0)
        left, right = check_int_pair(tuple(padding[1]), "padding", 0)
        return (top, bottom, left, right)
    ph, pw = check_int_pair(padding, "padding", 0)
    return (ph, ph, pw, pw)


def _padding_config(padding, same):
    """The padding for ``config()``, in its shortest JSON-friendly form."""
    if same:
        return "same"
    top, bottom, left, right = padding
    if top == bottom and left == right:
        return top if top == left else [top, left]
    return [[top, bottom], [left, right]]


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as PyTorch's ``nn.Conv2d``).

    out[n, o] = bias[o] + sum_c weight[o, c] (*) x[n, c], with stride,
    padding and dilation.

    Parameters
    ----------
    in_channels, out_channels : int >= 1
    kernel_size : int or (kernel_h, kernel_w)
    stride, dilation : int or (h, w), >= 1
    padding : int, (h, w), ((top, bottom), (left, right)) or "same"
        Zeros added around the input. "same" (stride 1 only) keeps the
        input's size; for an even kernel the extra row and column go at the
        bottom and right.
    algorithm : "auto" (default), "im2col" or "direct"
        im2col + GEMM, or a direct loop without a column buffer (meant for
        few input channels and small kernels, and needing no workspace);
        "auto" picks by ``auto_algorithm`` (im2col: it measured faster on
        every shape here). Both give the same results.
    dtype : np.float32 (default) or np.float64
        Parameters' dtype; input of another dtype is cast to it.
    rng : int, numpy.random.Generator or None
        For the initial weights; None draws from ``nf.seed``'s generator.

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels, kernel_h, kernel_w)
    bias : Parameter of shape (out_channels,)
    padding : (top, bottom, left, right)

    Weights and bias start as PyTorch's do: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    with fan_in = in_channels * kernel_h * kernel_w. The im2col algorithm keeps
    a scratch buffer on the layer, reused across calls, whose size is bounded
    per thread (it does not grow with the batch).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, algorithm="auto", dtype=np.float32, rng=None):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", 1, INT32_MAX)
        self.out_channels = check_int(out_channels, "out_channels", 1, INT32_MAX)
        self.kernel_size = check_int_pair(kernel_size, "kernel_size", 1, INT32_MAX)
        self.stride = check_int_pair(stride, "stride", 1, INT32_MAX)
        self.dilation = check_int_pair(dilation, "dilation", 1, INT32_MAX)
        same = isinstance(padding, str) and padding == "same"
        self.padding = _conv_padding(padding, self.kernel_size, self.stride, self.dilation)
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        self.algorithm = algorithm
        self.dtype = float_dtype(dtype)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        if fan_in > INT32_MAX:
            raise ValueError(f"in_channels * kernel_h * kernel_w must be <= {INT32_MAX}, got {fan_in}")
        check_allocation((self.out_channels, self.in_channels, kh, kw), self.dtype,
                         "weight (out_channels, in_channels, *kernel_size)", copies=2)
        bound = 1.0 / np.sqrt(fan_in)
        self.weight = Parameter(init.uniform((self.out_channels, self.in_channels, kh, kw),
                                             -bound, bound, self.dtype, rng), "weight")
        self.bias = Parameter(init.uniform((self.out_channels,), -bound, bound,
                                           self.dtype, rng), "bias")
        self._x = None
        self._algorithm_used = None
        self._workspace = None
        self._config = {"in_channels": self.in_channels,
                        "out_channels": self.out_channels,
                        "kernel_size": list(self.kernel_size),
                        "stride": list(self.stride),
                        "padding": _padding_config(self.padding, same),
                        "dilation": list(self.dilation),
                        "algorithm": self.algorithm,
                        "dtype": np.dtype(self.dtype).name}

    def parameters(self):
        return [self.weight, self.bias]

    def output_shape(self, input_shape):
        """(N, out_channels, height_col, width_col) for an input of shape
        (N, in_channels, height, width); ValueError if the kernel does not fit."""
        n, c, height, width = input_shape
        top, bottom, left, right = self.padding
        size = []
        for axis, extent, k, s, d, before, after in (
                ("height", height, self.kernel_size[0], self.stride[0], self.dilation[0], top, bottom),
                ("width", width, self.kernel_size[1], self.stride[1], self.dilation[1], left, right)):
            span = d * (k - 1) + 1
            padded = extent + before + after
            if span > padded:
                raise ValueError(
                    f"kernel_size {self.kernel_size} (dilation {self.dilation}: {span} pixels "
                    f"along the {axis}) is larger than the padded input's {axis} "
                    f"{padded} = {extent} + padding {before} + {after}")
            size.append((padded - span) // s + 1)
        if size[0] * size[1] > INT32_MAX:
            raise ValueError(f"output height * width must be <= {INT32_MAX}, got {size[0] * size[1]}")
        check_allocation((n, self.out_channels, size[0], size[1]), self.dtype,
                         f"the output for x of shape {tuple(input_shape)} (padding {self.padding})")
        return (n, self.out_channels, size[0], size[1])

    def forward(self, x):
        """x : (N, in_channels, height, width) -> (N, out_channels, height_col, width_col)"""
        return self._forward(x, False)

    def _forward(self, x, relu):
        """forward, with a following ReLU applied in the bias pass if relu."""
        x = as_float_array(x, "x", self.dtype, ndim=4)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (N, {self.in_channels}, height, width) "
                             f"for {self!r}, got {x.shape} ({x.shape[1]} channels)")
        out_shape = self._output_shape_of(
            (x.shape, self.kernel_size, self.stride, self.padding, self.dilation,
             self.out_channels), lambda: self.output_shape(x.shape))
        out = self._new_array("out", out_shape, self.dtype)
        algorithm = self.algorithm
        if algorithm == "auto":
            algorithm = auto_algorithm(self.in_channels, self.kernel_size,
                                       self.requires_input_grad)
        k = _backend.kernels()
        if algorithm == "im2col":
            k.conv2d_forward_im2col(x, self.weight.value, self.bias.value, self.stride,
                                    self.padding, self.dilation, out,
                                    self._workspace_for(k, out_shape), relu)
        else:
            k.conv2d_forward_direct(x, self.weight.value, self.bias.value, self.stride,
                                    self.padding, self.dilation, out, relu)
        self._x = x
        self._algorithm_used = algorithm
        self._remember_output_shape(out_shape)
        return out

    def backward(self, grad_output):
        """grad_output : (N, out_channels, height_col, width_col) -> grad_input
        (N, in_channels, height, width), or None when ``requires_input_grad``
        is False. Accumulates weight.grad and bias.grad."""
        g = self._check_grad_output(grad_output, self.dtype)
        grad_x = (self._new_array("grad_x", self._x.shape, self.dtype)
                  if self.requires_input_grad else None)
        k = _backend.kernels()
        if self._algorithm_used == "im2col":
            k.conv2d_backward_im2col(self._x, self.weight.value, g, self.stride,
                                     self.padding, self.dilation, grad_x,
                                     self.weight.grad, self.bias.grad,
                                     self._workspace_for(k, g.shape))
        else:
            k.conv2d_backward_direct(self._x, self.weight.value, g, self.stride,
                                     self.padding, self.dilation, grad_x,
                                     self.weight.grad, self.bias.grad)
        return grad_x

    def _workspace_for(self, kernels, out_shape):
        """The layer's scratch buffer, grown (never shrunk) to what the
        kernels need now: its size depends on the image size and the thread
        count, not on the batch size."""
        need = kernels.conv2d_workspace_size(self.weight.shape, out_shape, self.dtype)
        if self._workspace is None or self._workspace.size < need:
            self._workspace = np.empty(need, dtype=self.dtype)
        return self._workspace
