"""Convolution layer (cross-correlation) with "same" zero padding, 1-D or 2-D."""
import math

import numpy as np

from nnfast import _backend
from nnfast._validation import INT32_MAX, check_allocation, check_int
from nnfast.fau._checks import (as_parameter, as_tensor, check_error_tensor, check_initialized,
                                check_shape_tuple)
from nnfast.fau._optimized import OptimizedLayer
from nnfast.fau.Layers.Base import BaseLayer


class Conv(OptimizedLayer, BaseLayer):
    """Cross-correlation of the input with ``num_kernels`` kernels, plus a bias.

    Parameters
    ----------
    stride_shape : int, (stride,) or (stride_y, stride_x)
        A single stride is used on every spatial axis.
    convolution_shape : (c, m) or (c, m, n)
        Input channels and kernel extent: (c, m) for 1-D input of shape
        (batch, c, y), (c, m, n) for 2-D input (batch, c, y, x).
    num_kernels : int >= 1

    Attributes
    ----------
    weights : ndarray of shape (num_kernels, c, m[, n])
    bias : ndarray of shape (num_kernels,)
        Both drawn from U[0, 1) until ``initialize`` is called; plain
        attributes that may be assigned (checked at the next forward).
    gradient_weights, gradient_bias : set by ``backward``, same shapes.
    optimizer : object with ``calculate_update``; ``weights`` and ``bias``
        are updated by separate deep copies of it.

    Padding is "same" with zeros: (m - 1) // 2 before and m // 2 after on
    each axis (the extra for an even kernel goes after), and the output keeps
    every stride-th position from 0, so that an axis of length y gives
    ceil(y / stride) outputs. That is the kernel's own stride with those
    paddings: the work runs in nnfast's ``conv2d_*_im2col`` kernels, 1-D
    input as 2-D with a unit-width axis.
    """

    def __init__(self, stride_shape, convolution_shape, num_kernels):
        super().__init__()
        self.trainable = True
        shape = check_shape_tuple(convolution_shape, "convolution_shape", (2, 3))
        self.convolution_shape = shape
        self.num_kernels = check_int(num_kernels, "num_kernels", 1, INT32_MAX)
        self._one_d = len(shape) == 2
        strides = check_shape_tuple(stride_shape, "stride_shape", (1,) if self._one_d else (1, 2))
        if len(strides) == 1:
            strides = strides * (1 if self._one_d else 2)
        self.stride_shape = strides
        self.fan_in = math.prod(shape)
        self.fan_out = self.num_kernels * math.prod(shape[1:])
        if self.fan_in > INT32_MAX:
            raise ValueError(f"c * m * n of convolution_shape must be <= {INT32_MAX}, got {self.fan_in}")
        check_allocation((self.num_kernels,) + shape, np.float64,
                         "weights (num_kernels, *convolution_shape)")
        # (kernel_h, kernel_w), (stride_h, stride_w), (top, bottom, left, right)
        # of the 2-D problem the kernels see
        kernel = shape[1:] + ((1,) if self._one_d else ())
        self._stride = strides + ((1,) if self._one_d else ())
        self._padding = tuple(p for k in kernel for p in ((k - 1) // 2, k // 2))
        self.weights = np.random.uniform(0.0, 1.0, (self.num_kernels,) + shape)
        self.bias = np.random.uniform(0.0, 1.0, self.num_kernels)
        self.gradient_weights = None
        self.gradient_bias = None
        self._x = None
        self._input_shape = None
        self._output_shape = None
        self._workspace = None

    def initialize(self, weights_initializer, bias_initializer):
        """weights and bias from the initializers, both called with fan_in =
        c * m * n and fan_out = num_kernels * m * n."""
        w_shape = (self.num_kernels,) + self.convolution_shape
        w = weights_initializer.initialize(w_shape, self.fan_in, self.fan_out)
        b = bias_initializer.initialize((self.num_kernels,), self.fan_in, self.fan_out)
        # An initializer returning another shape is kept as is and reported by
        # the next forward, as an assigned array would be.
        self.weights = np.asarray(w)
        self.bias = check_initialized(b, "bias_initializer", (self.num_kernels,))

    def _kernel_parameters(self):
        """weight (num_kernels, c, m, n) and bias (num_kernels,), contiguous,
        of the weights' dtype."""
        w = as_parameter(self.weights, "weights", (self.num_kernels,) + self.convolution_shape)
        b = as_tensor(self.bias, "bias", w.dtype.type).reshape(-1)
        if b.shape != (self.num_kernels,):
            raise ValueError(f"bias must hold num_kernels = {self.num_kernels} values, "
                             f"got shape {np.shape(self.bias)}")
        return w.reshape(w.shape + ((1,) if self._one_d else ())), b

    def _output_size(self, x_shape):
        """(batch, num_kernels, ceil(y / stride_y), ceil(x / stride_x)) of the 2-D view."""
        n, _, height, width = x_shape
        size = [-(-extent // s) for extent, s in zip((height, width), self._stride)]
        if size[0] * size[1] > INT32_MAX:
            raise ValueError(f"output y * x must be <= {INT32_MAX}, got {size[0] * size[1]}")
        check_allocation((n, self.num_kernels, size[0], size[1]), np.float64,
                         f"the output for input_tensor of shape {tuple(x_shape)}")
        return (n, self.num_kernels, size[0], size[1])

    def _workspace_for(self, kernels, weight_shape, out_shape, dtype):
        """The scratch buffer the im2col kernels need, grown (never shrunk)."""
        need = kernels.conv2d_workspace_size(weight_shape, out_shape, dtype)
        ws = self._workspace
        if ws is None or ws.dtype != dtype or ws.size < need:
            ws = self._workspace = np.empty(need, dtype=dtype)
        return ws

    def forward(self, input_tensor):
        """input_tensor : (batch, c, y[, x]) -> (batch, num_kernels,
        ceil(y / stride_y)[, ceil(x / stride_x)])"""
        weight, bias = self._kernel_parameters()
        c = self.convolution_shape[0]
        x = as_tensor(input_tensor, "input_tensor", weight.dtype.type, ndim=3 if self._one_d else 4)
        if x.shape[1] != c:
            axes = "(batch, c, y)" if self._one_d else "(batch, c, y, x)"
            raise ValueError(f"input_tensor must have shape {axes} with c = {c} channels "
                             f"(convolution_shape {self.convolution_shape}), got {x.shape}")
        x4 = x.reshape(x.shape + ((1,) if self._one_d else ()))
        out_shape = self._output_size(x4.shape)
        out = np.empty(out_shape, dtype=weight.dtype)
        k = _backend.kernels()
        k.conv2d_forward_im2col(x4, weight, bias, self._stride, self._padding, (1, 1), out,
                                self._workspace_for(k, weight.shape, out_shape, weight.dtype))
        self._x = x4
        self._input_shape = x.shape
        self._output_shape = out_shape[:3] if self._one_d else out_shape
        return out.reshape(self._output_shape)

    def backward(self, error_tensor):
        """error_tensor : the forward's output shape -> the input's shape.

        Sets gradient_weights and gradient_bias; the error below uses the
        weights as they were before this call's update."""
        weight, bias = self._kernel_parameters()
        dtype = weight.dtype.type
        e = check_error_tensor(error_tensor, self._output_shape, dtype, "Conv")
        e = e.reshape(e.shape + ((1,) if self._one_d else ()))
        x = self._x.astype(dtype, copy=False)
        grad_x = np.empty_like(x)
        grad_weight = np.zeros_like(weight)  # the kernel accumulates
        grad_bias = np.zeros_like(bias)
        k = _backend.kernels()
        k.conv2d_backward_im2col(x, weight, e, self._stride, self._padding, (1, 1), grad_x,
                                 grad_weight, grad_bias,
                                 self._workspace_for(k, weight.shape, e.shape, weight.dtype))
        self.gradient_weights = grad_weight.reshape((self.num_kernels,) + self.convolution_shape)
        self.gradient_bias = grad_bias
        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
            self.bias = self._bias_optimizer.calculate_update(self.bias, self.gradient_bias)
        return grad_x.reshape(self._input_shape)

    def __repr__(self):
        return (f"Conv(stride_shape={self.stride_shape}, convolution_shape="
                f"{self.convolution_shape}, num_kernels={self.num_kernels})")
