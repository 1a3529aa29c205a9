"""2-D convolution layer."""
import numpy as np

from nnfast import _backend, _scratch, init
from nnfast._validation import (INT32_MAX, as_float_array, check_int, check_int_pair,
                                float_dtype)
from nnfast._validation import check_allocation
from nnfast.layers.base import Layer, ReLUFusedForward, check_bias
from nnfast.parameter import Parameter

ALGORITHMS = ("auto", "im2col", "direct")


def auto_algorithm(in_channels, kernel_size, requires_input_grad=True):
    """The convolution algorithm ``algorithm="auto"`` picks: "im2col" or "direct".

    Parameters
    ----------
    in_channels : int
    kernel_size : (kernel_h, kernel_w)
    requires_input_grad : bool
        Whether backward computes the input gradient (the layer's flag).

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


# The input gradient of a stride-1 convolution as a forward convolution of
# the output gradient with the flipped, transposed kernel, where the float32
# GEMMs run on the AVX-512 small GEMM (nnfast/_kernels/_conv_gemm.pxd): its
# depth is out_channels * kh * kw, not out_channels, and no col2im pass
# scatters the columns back. The whole backward, one thread, batch 16, 3x3
# pad 1, beside other work: 16->16 at 64x64 11.7 -> 6.7 ms, 32->16 14.8 ->
# 12.1 ms, 64->32 at 32x32 10.3 -> 7.4 ms. True: where it applies; False:
# always the backward kernel's GEMM + col2im (tests run both).
FLIPPED_INPUT_GRAD = [True]

PADDING_FORMS = "an int, (h, w), ((top, bottom), (left, right)) or 'same'"


def _conv_padding(padding, kernel_size, stride, dilation):
    """``padding`` as (top, bottom, left, right), each an int in [0, 2**31 - 1].

    Accepts an int (every side), (h, w) (h at the top and bottom, w at the
    left and right), ((top, bottom), (left, right)) or "same" (output size =
    input size; stride 1 only; for an even extent the extra row and column
    go after, at the bottom and right).
    """
    if isinstance(padding, str):
        if padding != "same":
            raise ValueError(f"padding must be {PADDING_FORMS}, got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"padding='same' needs stride 1, got stride={stride}")
        sides = []
        for k, d in zip(kernel_size, dilation):
            total = d * (k - 1)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    if isinstance(padding, (tuple, list)):
        pairs = [isinstance(p, (tuple, list)) for p in padding]
        if len(padding) != 2 or (any(pairs) and not (all(pairs) and all(len(p) == 2 for p in padding))):
            raise ValueError(f"padding must be {PADDING_FORMS}, got {padding!r}")
        if all(pairs):
            (top, bottom), (left, right) = ([check_int(v, "padding", 0, INT32_MAX) for v in pair]
                                            for pair in padding)
            return (top, bottom, left, right)
    ph, pw = check_int_pair(padding, "padding", 0, INT32_MAX)
    return (ph, ph, pw, pw)


def _padding_config(padding, same):
    """The padding for ``config()``, in its shortest JSON-friendly form."""
    if same:
        return "same"
    top, bottom, left, right = padding
    if top == bottom and left == right:
        return top if top == left else [top, left]
    return [[top, bottom], [left, right]]


class Conv2D(ReLUFusedForward, Layer):
    """2-D convolution (cross-correlation, as PyTorch's ``nn.Conv2d``).

    out[n, o] = bias[o] + sum_c weight[o, c] (*) x[n, c], with stride,
    padding and dilation; with ``groups`` g, the channels are cut into g
    blocks and output block j sees input block j only.

    Parameters
    ----------
    in_channels, out_channels : int >= 1
    kernel_size : int or (kernel_h, kernel_w)
    stride, dilation : int or (h, w), >= 1
    padding : int, (h, w), ((top, bottom), (left, right)) or "same"
        Zeros added around the input: as many on every side, per axis (h on
        the top and bottom, w on the left and right), or per side. "same"
        (stride 1 only) keeps the input's size; for an even kernel the extra
        row and column go at the bottom and right.
    bias : bool, default True
        False: no bias (``bias`` is None and ``parameters()`` holds the
        weight only).
    groups : int >= 1, default 1
        Dividing in_channels and out_channels: output channels
        [j * out_channels / groups, (j + 1) * out_channels / groups) are
        computed from input channels [j * in_channels / groups, ...) only,
        as PyTorch's ``groups``. groups == in_channels is a depthwise
        convolution (out_channels = a multiple of in_channels). The kernels
        run once per group, on a contiguous copy of its channels.
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
    weight : Parameter of shape (out_channels, in_channels // groups, kernel_h, kernel_w)
    bias : Parameter of shape (out_channels,), or None when ``bias=False``
    padding : (top, bottom, left, right)
    groups : int

    Weights and bias start as PyTorch's do: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    with fan_in = in_channels // groups * kernel_h * kernel_w. The im2col
    algorithm uses a scratch buffer of the calling thread (nnfast._scratch),
    reused across calls, whose size is bounded per thread (it does not grow
    with the batch). With groups > 1 the thread also keeps one group's input
    and output (or their gradients) as contiguous copies: 1 / groups of a
    batch's.
    """

    fuses_relu = True  # forward_relu

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, bias=True, algorithm="auto", dtype=np.float32, rng=None,
                 groups=1):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", 1, INT32_MAX)
        self.out_channels = check_int(out_channels, "out_channels", 1, INT32_MAX)
        self.kernel_size = check_int_pair(kernel_size, "kernel_size", 1, INT32_MAX)
        self.stride = check_int_pair(stride, "stride", 1, INT32_MAX)
        self.dilation = check_int_pair(dilation, "dilation", 1, INT32_MAX)
        same = isinstance(padding, str) and padding == "same"
        self.padding = _conv_padding(padding, self.kernel_size, self.stride, self.dilation)
        has_bias = check_bias(bias)
        self.groups = check_int(groups, "groups", 1, INT32_MAX)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"groups must divide in_channels and out_channels, got groups="
                             f"{self.groups} with in_channels={self.in_channels} and "
                             f"out_channels={self.out_channels}")
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        self.algorithm = algorithm
        self.dtype = float_dtype(dtype)
        kh, kw = self.kernel_size
        group_in = self.in_channels // self.groups
        fan_in = group_in * kh * kw
        if fan_in > INT32_MAX:
            raise ValueError(f"in_channels // groups * kernel_h * kernel_w must be <= {INT32_MAX}, "
                             f"got {fan_in}")
        check_allocation((self.out_channels, group_in, kh, kw), self.dtype,
                         "weight (out_channels, in_channels // groups, *kernel_size)", copies=2)
        bound = 1.0 / np.sqrt(fan_in)
        self.weight = Parameter(init.uniform((self.out_channels, group_in, kh, kw),
                                             -bound, bound, self.dtype, rng), "weight",
                                "(out_channels, in_channels // groups, kernel_h, kernel_w)"
                                if self.groups > 1 else "")
        self.bias = None
        if has_bias:
            self.bias = Parameter(init.uniform((self.out_channels,), -bound, bound,
                                               self.dtype, rng), "bias")
        self._x = None
        self._algorithm_used = None
        self._config = {"in_channels": self.in_channels,
                        "out_channels": self.out_channels,
                        "kernel_size": list(self.kernel_size),
                        "stride": list(self.stride),
                        "padding": _padding_config(self.padding, same),
                        "dilation": list(self.dilation),
                        "algorithm": self.algorithm,
                        "dtype": np.dtype(self.dtype).name}
        if not has_bias:
            self._config["bias"] = False
        if self.groups != 1:
            self._config["groups"] = self.groups

    def parameters(self):
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def output_shape(self, input_shape):
        """(n_samples, out_channels, height_col, width_col) for an input of
        shape (n_samples, in_channels, height, width); ValueError if the
        kernel does not fit.

        A training step asks for the same shape each time, and working it out
        is several checks: the last answer is kept with everything it
        depends on."""
        key = (tuple(input_shape), self.kernel_size, self.stride, self.padding,
               self.dilation, self.out_channels)
        memo = self.__dict__.get("_output_shape_memo")
        if memo is not None and memo[0] == key:
            return memo[1]
        n_samples, c, height, width = input_shape
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
        shape = (n_samples, self.out_channels, size[0], size[1])
        check_allocation(shape, self.dtype,
                         f"the output for x of shape {tuple(input_shape)} (padding {self.padding})")
        self._output_shape_memo = (key, shape)
        return shape

    def _forward(self, x, relu):
        """forward: x : (n_samples, in_channels, height, width) -> (n_samples,
        out_channels, height_col, width_col), with a following ReLU applied
        in the bias pass if relu."""
        x = as_float_array(x, "x", self.dtype, ndim=4)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (n_samples, {self.in_channels}, height, width) "
                             f"for {self!r}, got {x.shape} ({x.shape[1]} channels)")
        out_shape = self.output_shape(x.shape)
        out = self._new_array("out", out_shape, self.dtype)
        algorithm = self.algorithm
        if algorithm == "auto":
            algorithm = auto_algorithm(self.in_channels, self.kernel_size,
                                       self.requires_input_grad)
        bias = self.bias.value if self.bias is not None else np.zeros(self.out_channels, self.dtype)
        k = _backend.kernels()
        padding = (self.padding[:2], self.padding[2:])
        for c, o in self._group_slices():
            xg = _group_block(x, c, "conv_group_x")
            outg = _group_block(out, o, "conv_group_out", copy=False)
            if algorithm == "im2col":
                k.conv2d_im2col_forward(xg, self.weight.value[o], bias[o], self.stride, padding,
                                        self.dilation, outg,
                                        self._workspace_for(k, outg.shape), relu)
            else:
                k.conv2d_direct_forward(xg, self.weight.value[o], bias[o], self.stride, padding,
                                        self.dilation, outg, relu)
            if not np.may_share_memory(outg, out):   # a scratch copy
                out[:, o] = outg
        self._x = x
        self._algorithm_used = algorithm
        self._grad_output_shape = out_shape
        return out

    def backward(self, grad_output):
        """grad_output : (n_samples, out_channels, height_col, width_col) ->
        grad_input (n_samples, in_channels, height, width), or None when
        ``requires_input_grad`` is False. Accumulates weight.grad and
        bias.grad."""
        g = self._check_grad_output(grad_output, self.dtype)
        grad_input = (self._new_array("grad_input", self._x.shape, self.dtype)
                      if self.requires_input_grad else None)
        # without a bias, the kernels' bias gradient is computed and dropped
        grad_bias = self.bias.grad if self.bias is not None else np.zeros(self.out_channels, self.dtype)
        k = _backend.kernels()
        padding = (self.padding[:2], self.padding[2:])
        grad_weight = self.weight.grad
        if grad_input is not None and self._flipped_input_grad():
            k.conv2d_im2col_backward(self._x, self.weight.value, g, self.stride, padding,
                                     self.dilation, None, grad_weight, grad_bias,
                                     self._workspace_for(k, g.shape))
            self._input_grad_by_flipped_conv(k, g, grad_input)
            return grad_input
        for c, o in self._group_slices():
            xg = _group_block(self._x, c, "conv_group_x")
            gg = _group_block(g, o, "conv_group_out")
            gig = (_group_block(grad_input, c, "conv_group_grad_input", copy=False)
                   if grad_input is not None else None)
            if self._algorithm_used == "im2col":
                k.conv2d_im2col_backward(xg, self.weight.value[o], gg, self.stride, padding,
                                         self.dilation, gig, grad_weight[o], grad_bias[o],
                                         self._workspace_for(k, gg.shape))
            else:
                k.conv2d_direct_backward(xg, self.weight.value[o], gg, self.stride, padding,
                                         self.dilation, gig, grad_weight[o], grad_bias[o])
            if gig is not None and not np.may_share_memory(gig, grad_input):
                grad_input[:, c] = gig
        return grad_input

    def _flipped_input_grad(self):
        """Whether backward computes the input gradient as a forward
        convolution (see FLIPPED_INPUT_GRAD): float32 on the compiled kernels
        with the small GEMM running, im2col, one group, stride and dilation
        1, "same" padding (odd kernels, (k - 1) / 2 on every side)."""
        if not (FLIPPED_INPUT_GRAD[0] and self.dtype == np.float32
                and self._algorithm_used == "im2col" and self.groups == 1
                and self.stride == (1, 1) and self.dilation == (1, 1)
                and _backend.get_backend() == "fast"):
            return False
        # "same" padding only: then the flipped convolution reads a padded
        # gradient of the input's size. With less padding it pads more (a
        # 5x5 kernel without padding: 4 on each side) and measured slower:
        # lenet5 at 2 threads trained 25,178 samples/s this way against
        # 33,955 through col2im (the U-Net's "same" 3x3s gained 214 -> 221)
        kh, kw = self.kernel_size
        top, bottom, left, right = self.padding
        if not (2 * top == 2 * bottom == kh - 1 and 2 * left == 2 * right == kw - 1):
            return False
        from nnfast._kernels import _small_gemm
        return _small_gemm.available() and _small_gemm.enabled()

    def _input_grad_by_flipped_conv(self, kernels, g, grad_input):
        """grad_input := conv2d(g, weight flipped in h and w with its channel
        axes swapped), with the same "same" padding: the adjoint of a
        stride-1 convolution is the convolution with the reversed kernel."""
        c_out, c_in, kh, kw = self.weight.shape
        flipped = self._new_array("flipped_weight", (c_in, c_out, kh, kw), self.dtype)
        np.copyto(flipped, self.weight.value[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        need = kernels.conv2d_workspace_size(flipped.shape, grad_input.shape, self.dtype)
        kernels.conv2d_im2col_forward(g, flipped, np.zeros(c_in, self.dtype), (1, 1),
                                      (self.padding[:2], self.padding[2:]), (1, 1), grad_input,
                                      _scratch.workspace(need, self.dtype), False)

    def _group_slices(self):
        """[(input channels, output channels)] of each group, as slices."""
        cg = self.in_channels // self.groups
        og = self.out_channels // self.groups
        return [(slice(j * cg, (j + 1) * cg), slice(j * og, (j + 1) * og))
                for j in range(self.groups)]

    def _workspace_for(self, kernels, out_shape):
        """The calling thread's scratch buffer (nnfast._scratch), grown to
        what the kernels need now: its size depends on the image size and
        the thread count, not on the batch size. Never the layer's own:
        threads calling one layer at once each need their own.

        out_shape is one group's output: (n_samples, out_channels // groups,
        height_col, width_col)."""
        og = self.out_channels // self.groups
        need = kernels.conv2d_workspace_size((og,) + self.weight.shape[1:], out_shape,
                                             self.dtype)
        return _scratch.workspace(need, self.dtype)


def _group_block(array, channels, slot, copy=True):
    """array[:, channels] as the C-contiguous array the kernels read or
    write: the view itself where it is contiguous (one group, or one
    sample), else the calling thread's scratch ``slot`` (nnfast._scratch)
    shaped like it, holding a copy if ``copy`` (an input) or garbage (an
    output, which the caller copies back)."""
    block = array[:, channels]
    if block.flags.c_contiguous:
        return block
    scratch = _scratch.workspace(block.size, array.dtype, slot).reshape(block.shape)
    if copy:
        np.copyto(scratch, block)
    return scratch
