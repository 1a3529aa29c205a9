"""Batch normalization of the course: per channel, with a moving average
(decay 0.8) of the batch statistics for the testing phase."""
import numpy as np

from nnfast._validation import INT32_MAX, check_int
from nnfast.fau._checks import as_parameter, as_tensor
from nnfast.fau._optimized import OptimizedLayer
from nnfast.fau.Layers.Base import BaseLayer
from nnfast.layers import BatchNorm1D

# The course's moving average: moving := DECAY * moving + (1 - DECAY) * batch,
# the first batch's statistics taken as they are.
DECAY = 0.8
# Added to the variance before its square root: the course's tests compare
# the testing phase's output with (x - mean) / sqrt(var) to 7 places.
EPSILON = float(np.finfo(np.float64).eps)


class BatchNormalization(OptimizedLayer, BaseLayer):
    """output = weights * (input - mean) / sqrt(var + eps) + bias, per channel.

    Parameters
    ----------
    channels : int >= 1

    Input is (batch, channels) or (batch, channels, y, x); in the latter,
    the statistics of a channel are over the batch and every position, as
    on ``reformat(input)``, (batch * y * x, channels).

    In training (``testing_phase`` False, the default), mean and (biased)
    variance are the batch's, and they update the moving averages: the first
    training batch sets them, every later one moves them by
    moving := 0.8 * moving + 0.2 * batch. In the testing phase the moving
    averages normalise (before any training batch: mean 0, variance 1).

    Attributes
    ----------
    weights : ndarray of shape (channels,)
        The scale (gamma): ones, and ones again after ``initialize``.
    bias : ndarray of shape (channels,)
        The shift (beta): zeros, and zeros after ``initialize``.
    gradient_weights, gradient_bias : set by ``backward``, same shapes.
    optimizer : object with ``calculate_update``; ``weights`` and ``bias``
        are updated by separate deep copies of it.
    testing_phase : bool

    The work is an ``nnfast.layers.BatchNorm1D`` of the weights' dtype on
    (batch, channels) or on the (batch, channels, y * x) view of 4-D input;
    it is run with momentum 1 so that its running statistics after a
    training forward are that batch's, which this layer folds into its own
    moving averages.
    """

    def __init__(self, channels):
        super().__init__()
        self.trainable = True
        self.testing_phase = False
        self.channels = check_int(channels, "channels", 1, INT32_MAX)
        self.weights = np.ones(self.channels)
        self.bias = np.zeros(self.channels)
        self.gradient_weights = None
        self.gradient_bias = None
        self.moving_mean = None   # None until the first training batch
        self.moving_var = None
        self._bn = None           # the BatchNorm1D that ran the last forward
        self._input_shape = None
        self._image_shape = None  # the last 4-D shape, for reformat's way back
        self._error_shape = None

    def initialize(self, weights_initializer=None, bias_initializer=None):
        """weights := ones, bias := zeros, whatever the initializers (the
        course's batch normalization starts as the identity)."""
        self.weights = np.ones(self.channels)
        self.bias = np.zeros(self.channels)

    def reformat(self, tensor):
        """(batch, channels, y, x) -> (batch * y * x, channels), or that back
        to the shape of the last 4-D tensor seen (by ``forward`` or
        ``reformat``). The values keep their dtype."""
        arr = np.asarray(tensor)
        if arr.ndim == 4:
            if arr.shape[1] != self.channels:
                raise ValueError(f"tensor must have shape (batch, {self.channels}, y, x), "
                                 f"got {arr.shape}")
            self._image_shape = arr.shape
            return np.ascontiguousarray(arr.transpose(0, 2, 3, 1)).reshape(-1, self.channels)
        if arr.ndim == 2:
            if self._image_shape is None:
                raise ValueError("reformat of a 2-D tensor needs a 4-D tensor first (from "
                                 "forward or reformat), to know (batch, y, x)")
            b, c, h, w = self._image_shape
            if arr.shape != (b * h * w, c):
                raise ValueError(f"tensor must have shape ({b * h * w}, {c}) to go back to "
                                 f"{self._image_shape}, got {arr.shape}")
            return np.ascontiguousarray(arr.reshape(b, h, w, c).transpose(0, 3, 1, 2))
        raise ValueError(f"tensor must have 2 or 4 dimensions, got shape {arr.shape}")

    def _load_weights(self, dtype=None):
        """``weights`` and ``bias`` (checked) copied into the BatchNorm1D of
        the weights' dtype (or of ``dtype``), which is returned."""
        w = as_parameter(self.weights, "weights", (self.channels,), dtype)
        b = as_parameter(self.bias, "bias", (self.channels,), w.dtype.type)
        bn = self._bn
        if bn is None or bn.dtype != w.dtype.type:
            bn = BatchNorm1D(self.channels, eps=EPSILON, momentum=1.0, dtype=w.dtype.type)
        bn.weight.value[...] = w
        bn.bias.value[...] = b
        return bn

    def forward(self, input_tensor):
        """input_tensor : (batch, channels) or (batch, channels, y, x) -> the same shape"""
        bn = self._load_weights()
        x = as_tensor(input_tensor, "input_tensor", bn.dtype, ndim=(2, 4))
        if x.shape[1] != self.channels:
            raise ValueError(f"input_tensor must have shape (batch, {self.channels}) or "
                             f"(batch, {self.channels}, y, x), got {x.shape}")
        if x.ndim == 4:
            self._image_shape = x.shape
        view = x.reshape(x.shape[0], self.channels, -1) if x.ndim == 4 else x
        if not self.testing_phase and view.size == self.channels:
            raise ValueError(f"input_tensor must hold more than one value per channel in "
                             f"training (batch statistics), got shape {x.shape}")
        if self.testing_phase:
            if self.moving_mean is None:
                bn.reset_running_stats()
            else:
                bn.running_mean, bn.running_var = self.moving_mean, self.moving_var
            out = bn.eval().forward(view)
        else:
            out = bn.train().forward(view)
            self._update_moving_averages(bn, view)
        self._bn = bn
        self._input_shape = x.shape
        self._error_shape = x.shape
        return out.reshape(x.shape)

    def _update_moving_averages(self, bn, view):
        """Fold the batch's mean and biased variance (bn's running statistics
        after a momentum-1 step, the variance unbiased) into the moving ones."""
        count = view.size // self.channels
        mean = bn.running_mean.astype(np.float64)
        var = bn.running_var.astype(np.float64) * ((count - 1) / count)
        if self.moving_mean is None:
            self.moving_mean, self.moving_var = mean, var
        else:
            self.moving_mean = DECAY * self.moving_mean + (1 - DECAY) * mean
            self.moving_var = DECAY * self.moving_var + (1 - DECAY) * var

    def backward(self, error_tensor):
        """error_tensor : the forward's output shape -> the input's shape.

        Sets gradient_weights and gradient_bias; the error below uses the
        weights as they were before this call's update."""
        e, bn = self._backward_start(error_tensor, self._bn, "BatchNormalization")
        view_shape = (e.shape[0], self.channels, -1) if e.ndim == 4 else e.shape
        error_below = bn.backward(e.reshape(view_shape))
        # copies: the BatchNorm1D writes the same gradient arrays at every backward
        self.gradient_weights = bn.weight.grad.copy()
        self.gradient_bias = bn.bias.grad.copy()
        if self._optimizer is not None:
            self.weights = self._optimizer.calculate_update(self.weights, self.gradient_weights)
            self.bias = self._bias_optimizer.calculate_update(self.bias, self.gradient_bias)
        return error_below.reshape(self._input_shape)

    def __repr__(self):
        return f"BatchNormalization({self.channels})"
