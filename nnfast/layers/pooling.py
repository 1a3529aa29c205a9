"""2-D max, average and global average pooling layers."""
import numpy as np

from nnfast import _backend
from nnfast._validation import INT32_MAX, as_float_array, check_int_pair
from nnfast.layers.base import Layer


class _Pool2D(Layer):
    """Shared arguments, checks and output size of the pooling layers."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = check_int_pair(kernel_size, "kernel_size", 1, INT32_MAX)
        self.stride = (self.kernel_size if stride is None
                       else check_int_pair(stride, "stride", 1, INT32_MAX))
        self.padding = check_int_pair(padding, "padding", 0, INT32_MAX)
        # As PyTorch: more padding would allow windows that hold padding only
        # (a max of nothing, an average of zeros).
        for p, k in zip(self.padding, self.kernel_size):
            if 2 * p > k:
                raise ValueError(f"padding must be at most half of kernel_size {self.kernel_size}, "
                                 f"got padding={self.padding}")
        self._x_shape = None
        self._dtype = None
        self._config = {"kernel_size": list(self.kernel_size),
                        "stride": list(self.stride),
                        "padding": list(self.padding)}

    def output_shape(self, input_shape):
        """(n_samples, C, height_col, width_col) for an input of shape
        (n_samples, C, height, width) (floor mode); ValueError if the window
        does not fit. The last answer is kept with everything it depends on
        (as Conv2D.output_shape)."""
        key = (tuple(input_shape), self.kernel_size, self.stride, self.padding)
        memo = self.__dict__.get("_output_shape_memo")
        if memo is not None and memo[0] == key:
            return memo[1]
        n_samples, c, height, width = input_shape
        size = []
        for axis, extent, k, s, p in (("height", height, self.kernel_size[0], self.stride[0], self.padding[0]),
                                      ("width", width, self.kernel_size[1], self.stride[1], self.padding[1])):
            if k > extent + 2 * p:
                raise ValueError(f"kernel_size {self.kernel_size} is larger than the padded "
                                 f"input's {axis} {extent + 2 * p} = {extent} + 2 * padding {p}")
            size.append((extent + 2 * p - k) // s + 1)
        shape = (n_samples, c, size[0], size[1])
        self._output_shape_memo = (key, shape)
        return shape

    def _check_input(self, x):
        x = as_float_array(x, "x", None, ndim=4)
        return x, self.output_shape(x.shape)

    def forward(self, x):
        """x : (n_samples, C, height, width) -> (n_samples, C, height_col,
        width_col); float32 and float64 kept, other dtypes cast to float32."""
        x, out_shape = self._check_input(x)
        out = self._new_array("out", out_shape, x.dtype)
        self._pool(x, out)
        self._x_shape = x.shape
        self._dtype = x.dtype
        self._grad_output_shape = out_shape
        return out

    def backward(self, grad_output):
        """grad_output : (n_samples, C, height_col, width_col) -> grad_input
        (n_samples, C, height, width), or None when ``requires_input_grad``
        is False."""
        return self._backward(grad_output, False)

    def _backward(self, grad_output, through_relu):
        """backward; through_relu: also the backward of the ReLU whose output
        was this layer's input (for layers with ``backward_relu``)."""
        g = self._check_grad_output(grad_output, self._dtype)
        if not self.requires_input_grad:
            return None
        grad_input = self._new_array("grad_input", self._x_shape, self._dtype)
        self._unpool(g, grad_input, through_relu)
        return grad_input


class MaxPool2D(_Pool2D):
    """2-D max pooling (PyTorch's ``nn.MaxPool2d``, floor mode).

    Forward records where each window's maximum came from; backward sends
    each output gradient there (a pixel that is the maximum of several
    overlapping windows receives their sum).

    Parameters
    ----------
    kernel_size : int or (h, w)
    stride : int or (h, w), default kernel_size
    padding : int or (h, w), at most half the kernel size
        Implicit -inf padding on both sides: it is never the maximum.
    """

    fuses_relu_backward = True  # backward_relu

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size, stride, padding)
        self._argmax = None
        self._out = None

    def _check_input(self, x):
        x, out_shape = super()._check_input(x)
        if x.shape[2] * x.shape[3] > INT32_MAX:
            raise ValueError(f"x's height * width must be <= {INT32_MAX} for {type(self).__name__} "
                             f"(it records positions as int32), got {x.shape[2]} * {x.shape[3]}")
        return x, out_shape

    def _pool(self, x, out):
        # int32 positions: half the memory traffic of int64 in both passes
        argmax = self._new_array("argmax", out.shape, np.int32)
        _backend.kernels().maxpool2d_forward(x, self.kernel_size, self.stride,
                                             tuple((p, p) for p in self.padding), out, argmax)
        self._argmax = argmax
        self._out = out

    def backward_relu(self, grad_output):
        """backward, then the backward of the ReLU whose output was this
        layer's input, in one pass: a gradient reaches a pixel only where
        its window's maximum is > 0, which is where the ReLU passes it."""
        return self._backward(grad_output, True)

    def _unpool(self, g, grad_input, through_relu):
        # through_relu: masked by this layer's output > 0
        _backend.kernels().maxpool2d_backward(g, self._argmax, grad_input,
                                              self._out if through_relu else None)


class AvgPool2D(_Pool2D):
    """2-D average pooling (PyTorch's ``nn.AvgPool2d``, floor mode,
    count_include_pad=True: a window's sum is always divided by
    kernel_h * kernel_w, zero padding included).

    Parameters
    ----------
    kernel_size : int or (h, w)
    stride : int or (h, w), default kernel_size
    padding : int or (h, w), at most half the kernel size
    """

    def _pool(self, x, out):
        _backend.kernels().avgpool2d_forward(x, self.kernel_size, self.stride,
                                             tuple((p, p) for p in self.padding), out)

    def _unpool(self, g, grad_input, through_relu):
        _backend.kernels().avgpool2d_backward(g, self.kernel_size, self.stride,
                                              tuple((p, p) for p in self.padding), grad_input)


def _whole_elements(x):
    """x itself when its data and strides are whole elements (the kernels
    index in elements; every float array NumPy makes itself is), else a
    contiguous copy (a view into a byte buffer at an odd offset)."""
    if x.flags.c_contiguous or (x.flags.aligned
                                and not any(s % x.itemsize for s in x.strides)):
        return x
    return np.ascontiguousarray(x)


class GlobalAvgPool2D(Layer):
    """Global average pooling: each (sample, channel) plane to its mean,
    (n_samples, channels, height, width) -> (n_samples, channels, 1, 1), as
    PyTorch's ``nn.AdaptiveAvgPool2d(1)`` and ONNX's ``GlobalAveragePool``
    (the trailing 1, 1 kept; a following ``Flatten`` gives (n_samples,
    channels)).

    Backward spreads each output gradient evenly over its plane,
    grad_output / (height * width). Planes are summed in float64 for
    float32 input too, and the mean rounded to the input's dtype once.

    Input of float32 and float64 keeps its dtype; other dtypes are cast to
    float32. Views whose planes are strided (a slice along the channels, a
    transposed image) are read in place, not copied. The layer has no
    parameters.
    """

    def __init__(self):
        super().__init__()
        self._x_shape = None
        self._dtype = None
        self._config = {}

    def output_shape(self, input_shape):
        """(n_samples, channels, 1, 1) for an input of shape (n_samples,
        channels, height, width)."""
        n_samples, channels, _, _ = input_shape
        return (n_samples, channels, 1, 1)

    def forward(self, x):
        """x : (n_samples, channels, height, width) -> (n_samples, channels, 1, 1)"""
        x = _whole_elements(as_float_array(x, "x", None, ndim=4, contiguous=False))
        out_shape = self.output_shape(x.shape)
        out = self._new_array("out", out_shape, x.dtype)
        _backend.kernels().global_avgpool2d_forward(x, out)
        self._x_shape = x.shape
        self._dtype = x.dtype
        self._grad_output_shape = out_shape
        return out

    def backward(self, grad_output):
        """grad_output : (n_samples, channels, 1, 1) -> grad_input (n_samples,
        channels, height, width), or None when ``requires_input_grad`` is
        False."""
        g = _whole_elements(self._check_grad_output(grad_output, self._dtype, contiguous=False))
        if not self.requires_input_grad:
            return None
        grad_input = self._new_array("grad_input", self._x_shape, self._dtype)
        _backend.kernels().global_avgpool2d_backward(g, grad_input)
        return grad_input
