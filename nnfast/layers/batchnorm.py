"""Batch normalization over the channel axis: BatchNorm1D, BatchNorm2D."""
import numpy as np

from nnfast import _backend
from nnfast._validation import (INT32_MAX, as_float_array, check_bool, check_float, check_int,
                                float_dtype)
from nnfast.layers.base import Layer, ReLUFusedForward
from nnfast.parameter import Parameter, grads_to_accumulate


def _check_momentum(momentum):
    """None (a cumulative average, as torch) or a finite float in [0, 1]."""
    if momentum is None:
        return None
    return check_float(momentum, "momentum", 0.0, 1.0)


class _BatchNorm(ReLUFusedForward, Layer):
    """Batch normalization of (N, C, *spatial) input over N and the spatial
    axes, per channel, with PyTorch's arguments and semantics.

    Subclasses only name the input ranks they take (``_ranks``, ``_shape``).

    Parameters
    ----------
    num_features : int >= 1
        C, the number of channels.
    eps : float > 0, default 1e-5
        Added to the variance before its square root.
    momentum : float in [0, 1] or None, default 0.1
        running := (1 - momentum) * running + momentum * batch statistic;
        None: the cumulative average of every batch seen (momentum
        1 / num_batches_tracked), as torch.
    affine : bool, default True
        Learn a per-channel scale ``weight`` (ones) and shift ``bias``
        (zeros); False: neither exists (both None).
    track_running_stats : bool, default True
        Keep ``running_mean`` (zeros), ``running_var`` (ones) and
        ``num_batches_tracked``, updated in training and used in eval mode;
        False: none of them, and batch statistics in eval mode too.
    dtype : np.float32 (default) or np.float64

    In training mode (and whenever no running statistics are kept) the
    output is normalised with the batch's mean and biased variance, and the
    running variance is updated with the unbiased one; this needs more
    than one value per channel (N * prod(spatial) > 1). In eval mode (and
    inside ``predict``/``evaluate``) the running statistics are used and
    nothing is updated.

    Attributes
    ----------
    weight, bias : Parameter of shape (num_features,), or None
    running_mean, running_var : ndarray of shape (num_features,), or None
        Buffers: not trained, but saved and loaded with the model
        (``named_buffers``).
    num_batches_tracked : 0-d int64 ndarray, or None
    """

    fuses_relu = True  # forward_relu
    fuses_relu_after_backward = True  # backward_after_relu
    _ranks = ()        # input ranks a subclass takes
    _shape = ""        # and how it names them, for error messages

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float32):
        super().__init__()
        self.num_features = check_int(num_features, "num_features", 1, INT32_MAX)
        self.eps = check_float(eps, "eps", 0.0, min_inclusive=False)
        self.momentum = _check_momentum(momentum)
        self.affine = check_bool(affine, "affine")
        self.track_running_stats = check_bool(track_running_stats, "track_running_stats")
        self.dtype = float_dtype(dtype)
        c = self.num_features
        self.weight = self.bias = None
        if self.affine:
            self.weight = Parameter(np.ones(c, self.dtype), "weight", "(num_features,)")
            self.bias = Parameter(np.zeros(c, self.dtype), "bias", "(num_features,)")
        self._running_mean = self._running_var = self.num_batches_tracked = None
        if self.track_running_stats:
            self._running_mean = np.zeros(c, self.dtype)
            self._running_var = np.ones(c, self.dtype)
            self.num_batches_tracked = np.zeros((), np.int64)
        # what backward needs from the last forward
        self._x = self._mean = self._invstd = None
        self._batch_stats = True
        self._config = {"num_features": c, "eps": self.eps, "momentum": self.momentum,
                        "affine": self.affine,
                        "track_running_stats": self.track_running_stats,
                        "dtype": np.dtype(self.dtype).name}

    # -- buffers ----------------------------------------------------------
    def _buffer(self, name):
        return self.__dict__[f"_{name}"]

    def _set_buffer(self, name, value):
        """Assign running_mean / running_var: checked and copied into the
        layer's (num_features,) array of its dtype."""
        if not self.track_running_stats:
            raise ValueError(f"{name} does not exist with track_running_stats=False")
        arr = as_float_array(value, name, self.dtype)
        if arr.shape != (self.num_features,):
            raise ValueError(f"{name} must have shape ({self.num_features},), got {arr.shape}")
        self.__dict__[f"_{name}"][...] = arr

    running_mean = property(lambda self: self._buffer("running_mean"),
                            lambda self, v: self._set_buffer("running_mean", v),
                            doc="Running mean, (num_features,), or None.")
    running_var = property(lambda self: self._buffer("running_var"),
                           lambda self, v: self._set_buffer("running_var", v),
                           doc="Running (unbiased) variance, (num_features,), or None.")

    def named_buffers(self):
        """[(name, array)] of the state that is not trained but saved:
        running_mean, running_var, num_batches_tracked (torch's names and
        order); empty with track_running_stats=False."""
        if not self.track_running_stats:
            return []
        return [("running_mean", self._running_mean), ("running_var", self._running_var),
                ("num_batches_tracked", self.num_batches_tracked)]

    def reset_running_stats(self):
        """running_mean := 0, running_var := 1, num_batches_tracked := 0."""
        if self.track_running_stats:
            self._running_mean[...] = 0
            self._running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def parameters(self):
        return [self.weight, self.bias] if self.affine else []

    # -- forward ----------------------------------------------------------
    def _check_input(self, x):
        x = as_float_array(x, "x", self.dtype, ndim=self._ranks)
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have shape {self._shape} with C = num_features = "
                             f"{self.num_features} for {self!r}, got {x.shape}")
        return x

    def _forward(self, x, relu):
        """forward: x : (N, C, *spatial) as the class says -> the same shape,
        then max(out, 0) in the normalising pass if relu."""
        x = self._check_input(x)
        n, c = x.shape[0], x.shape[1]
        x3 = x.reshape(n, c, -1)
        count = n * x3.shape[2]
        k = _backend.kernels()
        batch_stats = self.training or not self.track_running_stats
        if batch_stats:
            if count < 2:
                raise ValueError(f"x must hold more than one value per channel in training "
                                 f"(batch statistics), got shape {x.shape}")
            mean, var = np.empty(c), np.empty(c)
            k.batchnorm_stats(x3, mean, var)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, count)
        else:
            mean = self._running_mean.astype(np.float64)
            var = self._running_var.astype(np.float64)
        invstd = 1.0 / np.sqrt(var + self.eps)
        if self.affine:
            weight, bias = self.weight.value, self.bias.value
        else:
            weight, bias = np.ones(c, self.dtype), np.zeros(c, self.dtype)
        out = self._new_array("out", x.shape, self.dtype)
        k.batchnorm_forward(x3, mean, invstd, weight, bias, out.reshape(x3.shape), relu)
        self._x, self._mean, self._invstd, self._batch_stats = x3, mean, invstd, batch_stats
        self._relu = relu
        self._grad_output_shape = out.shape
        return out

    def _update_running_stats(self, mean, var, count):
        """torch's update, the variance unbiased: count / (count - 1)."""
        self.num_batches_tracked += 1
        factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                  else self.momentum)
        rm, rv = self._running_mean, self._running_var
        rm[...] = (1.0 - factor) * rm + factor * mean
        rv[...] = (1.0 - factor) * rv + factor * (var * (count / (count - 1)))

    # -- backward ---------------------------------------------------------
    def backward(self, grad_output):
        """grad_output : the forward's output shape -> grad_input of the
        input's shape, or None when ``requires_input_grad`` is False.
        Accumulates weight.grad and bias.grad (affine=True)."""
        return self._backward(self._check_grad_output(grad_output, self.dtype), False)

    def backward_after_relu(self, relu, grad_output):
        """The backward of ``relu``, the ReLU after this layer whose forward
        ``forward_relu`` computed, then this layer's, in one pass: the
        ReLU's mask (where its output was > 0) is recomputed from the saved
        input, as the forward computed the output, so the ReLU's gradient
        is never written. Returns what ``backward(relu.backward(g))``
        returns."""
        if not getattr(self, "_relu", False):
            # the last forward was not forward_relu: nothing to fuse
            return self.backward(relu.backward(grad_output))
        g = relu._check_grad_output(grad_output, self.dtype)
        return self._backward(g, True)

    def _backward(self, g, relu):
        x3 = self._x
        g3 = g.reshape(x3.shape)
        grad_input = (self._new_array("grad_input", self._grad_output_shape, self.dtype)
                      if self.requires_input_grad else None)
        c = self.num_features
        if self.affine:
            weight, bias = self.weight.value, self.bias.value
            grad_weight, grad_bias, accumulate = grads_to_accumulate(self.weight, self.bias)
        else:
            # the kernel's parameter gradients, computed and dropped
            weight, bias = np.ones(c, self.dtype), np.zeros(c, self.dtype)
            grad_weight, grad_bias, accumulate = np.empty(c, self.dtype), np.empty(c, self.dtype), False
        _backend.kernels().batchnorm_backward(
            x3, self._mean, self._invstd, weight, g3,
            None if grad_input is None else grad_input.reshape(x3.shape),
            grad_weight, grad_bias, self._batch_stats, accumulate, bias, relu)
        return grad_input


class BatchNorm1D(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input, per channel C
    (``torch.nn.BatchNorm1d``); see ``_BatchNorm`` for the arguments."""

    _ranks = (2, 3)
    _shape = "(N, C) or (N, C, L)"


class BatchNorm2D(_BatchNorm):
    """Batch normalization of (N, C, H, W) input, per channel C
    (``torch.nn.BatchNorm2d``); see ``_BatchNorm`` for the arguments."""

    _ranks = (4,)
    _shape = "(N, C, H, W)"
