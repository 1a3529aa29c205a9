"""Convolution layer (cross-correlation) with "same" zero padding, 1-D or 2-D."""
import math

import numpy as np

from nnfast._validation import INT32_MAX, check_allocation, check_int
from nnfast.fau._checks import (as_parameter, as_tensor, check_initialized,
                                check_shape_tuple)
from nnfast.fau._optimized import OptimizedLayer
from nnfast.fau.Layers.Base import BaseLayer
from nnfast.layers import Conv2D


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
    ceil(y / stride) outputs. That is an ``nnfast.layers.Conv2D`` with that
    stride and the padding ((top, bottom), (left, right)); 1-D input runs as
    2-D with a unit-width axis. ``weights`` and ``bias`` are read into its
    Parameters at each forward and backward.
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
        check_allocation(self._weights_shape, np.float64, "weights (num_kernels, *convolution_shape)")
        self.weights = np.random.uniform(0.0, 1.0, self._weights_shape)
        self.bias = np.random.uniform(0.0, 1.0, self.num_kernels)
        self.gradient_weights = None
        self.gradient_bias = None
        self._conv = None          # the Conv2D that ran the last forward
        self._input_shape = None
        self._error_shape = None   # the shape backward's error_tensor must have

    def initialize(self, weights_initializer, bias_initializer):
        """weights and bias from the initializers, both called with fan_in =
        c * m * n and fan_out = num_kernels * m * n."""
        w = weights_initializer.initialize(self._weights_shape, self.fan_in, self.fan_out)
        b = bias_initializer.initialize((self.num_kernels,), self.fan_in, self.fan_out)
        # An initializer returning another shape is kept as is and reported by
        # the next forward, as an assigned array would be.
        self.weights = np.asarray(w)
        self.bias = check_initialized(b, "bias_initializer", (self.num_kernels,))

    def _new_conv(self, dtype):
        """The Conv2D of the 2-D problem: kernel (m, n) or (m, 1), stride
        (stride_y, stride_x) or (stride, 1), "same" padding per side."""
        kernel = self.convolution_shape[1:] + ((1,) if self._one_d else ())
        stride = self.stride_shape + ((1,) if self._one_d else ())
        padding = tuple(((k - 1) // 2, k // 2) for k in kernel)
        # the initial values are overwritten by _load_weights: rng=0 keeps
        # nf.seed's stream untouched
        return Conv2D(self.convolution_shape[0], self.num_kernels, kernel, stride=stride,
                      padding=padding, dtype=dtype, rng=0)

    def _load_weights(self, dtype=None):
        """``weights`` and ``bias`` (checked) copied into the Conv2D of the
        weights' dtype (or of ``dtype``), which is returned."""
        w = as_parameter(self.weights, "weights", self._weights_shape, dtype)
        b = as_tensor(self.bias, "bias", w.dtype.type).reshape(-1)
        if b.shape != (self.num_kernels,):
            raise ValueError(f"bias must hold num_kernels = {self.num_kernels} values, "
                             f"got shape {np.shape(self.bias)}")
        conv = self._conv
        if conv is None or conv.dtype != w.dtype.type:
            conv = self._new_conv(w.dtype.type)
        conv.weight.value[...] = w.reshape(conv.weight.shape)
        conv.bias.value[...] = b
        return conv

    def forward(self, input_tensor):
        """input_tensor : (batch, c, y[, x]) -> (batch, num_kernels,
        ceil(y / stride_y)[, ceil(x / stride_x)])"""
        conv = self._load_weights()
        c = self.convolution_shape[0]
        x = as_tensor(input_tensor, "input_tensor", conv.dtype, ndim=3 if self._one_d else 4)
        if x.shape[1] != c:
            axes = "(batch, c, y)" if self._one_d else "(batch, c, y, x)"
            raise ValueError(f"input_tensor must have shape {axes} with c = {c} channels "
                             f"(convolution_shape {self.convolution_shape}), got {x.shape}")
        out = conv.forward(x.reshape(x.shape + ((1,) if self._one_d else ())))
        if self._one_d:
            out = out.reshape(out.shape[:3])
        self._conv = conv
        self._input_shape = x.shape
        self._error_shape = out.shape
        return out

    def backward(self, error_tensor):
        """error_tensor : the forward's output shape -> the input's shape.

        Sets gradient_weights and gradient_bias; the error below uses the
        weights as they were before this call's update."""
        e, conv = self._backward_start(error_tensor, self._conv, "Conv")
        error_below = conv.backward(e.reshape(e.shape + ((1,) if self._one_d else ())))
        # copies: the Conv2D writes the same gradient arrays at every backward
        self.gradient_weights = conv.weight.grad.reshape(self._weights_shape).copy()
        self.gradient_bias = conv.bias.grad.copy()
        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
            self.bias = self._bias_optimizer.calculate_update(self.bias, self.gradient_bias)
        return error_below.reshape(self._input_shape)

    @property
    def _weights_shape(self):
        """(num_kernels, c, m[, n]): the shape ``weights`` must have."""
        return (self.num_kernels,) + self.convolution_shape

    def __repr__(self):
        return (f"Conv(stride_shape={self.stride_shape}, convolution_shape="
                f"{self.convolution_shape}, num_kernels={self.num_kernels})")
