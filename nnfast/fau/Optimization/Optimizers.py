"""Optimizers: ``calculate_update(weight_tensor, gradient_tensor)`` returns
the updated weights as a new array (a float for float input).

Each update runs in nnfast's fused kernels (``sgd_update``,
``adam_update``): one pass over the weights, gradient and state. The course
rules and torch's, which the kernels implement, are the same in exact
arithmetic (momentum: v = mu * v - lr * g, w += v is w -= lr * b with
b = mu * b + g and v = -lr * b). State (momentum, Adam's moments and step
count) belongs to the instance: give every weight tensor its own copy
(``copy.deepcopy``), as ``NeuralNetwork.append_layer`` does.
"""

import numpy as np

from nnfast import _backend
from nnfast._validation import check_float
from nnfast.fau._checks import as_tensor


class _Optimizer:
    """Shared conversion: a new flat float copy of the weights, the gradient
    broadcast to their shape, then ``_update`` in place on the copy."""

    def calculate_update(self, weight_tensor, gradient_tensor):
        """Parameters
        ----------
        weight_tensor : float or ndarray
        gradient_tensor : float or ndarray broadcastable to weight_tensor's shape

        Returns
        -------
        float (for a scalar weight_tensor) or a new ndarray of its shape;
        float32 stays float32, anything else is float64.
        """
        w = as_tensor(weight_tensor, "weight_tensor", allow_empty=True, allow_scalar=True)
        scalar = w.ndim == 0
        g = as_tensor(gradient_tensor, "gradient_tensor", w.dtype.type, allow_empty=True,
                      allow_scalar=True)
        try:
            g = np.broadcast_to(g, w.shape)
        except ValueError:
            raise ValueError(f"gradient_tensor of shape {g.shape} does not match "
                             f"weight_tensor of shape {w.shape}") from None
        value = np.array(w, copy=True).reshape(-1)
        self._update(value, np.ascontiguousarray(g).reshape(-1), w.shape)
        return float(value[0]) if scalar else value.reshape(w.shape)

    def _state(self, name, shape, dtype):
        """The state array ``name`` (zeros at first) for weights of ``shape``."""
        arr = getattr(self, name)
        if arr is None:
            arr = np.zeros(int(np.prod(shape)), dtype=dtype)
            setattr(self, name, arr)
            self._state_shape = shape
        elif self._state_shape != shape:
            raise ValueError(f"{type(self).__name__} holds state for weights of shape "
                             f"{self._state_shape}, got weight_tensor of shape {shape}; give "
                             f"each weight tensor its own optimizer (copy.deepcopy)")
        elif arr.dtype != dtype:
            arr = arr.astype(dtype)
            setattr(self, name, arr)
        return arr


class Sgd(_Optimizer):
    """w - learning_rate * g."""

    def __init__(self, learning_rate):
        self.learning_rate = check_float(learning_rate, "learning_rate", 0.0)

    def _update(self, value, grad, shape):
        _backend.kernels().sgd_update(value, grad, None, self.learning_rate)

    def __repr__(self):
        return f"Sgd({self.learning_rate!r})"


class SgdWithMomentum(_Optimizer):
    """v := momentum_rate * v - learning_rate * g (v = 0 at first); w + v."""

    def __init__(self, learning_rate, momentum_rate):
        self.learning_rate = check_float(learning_rate, "learning_rate", 0.0)
        self.momentum_rate = check_float(momentum_rate, "momentum_rate", 0.0, 1.0)
        self._buffer = None  # b = -v / learning_rate, as the kernel keeps it
        self._state_shape = None

    def _update(self, value, grad, shape):
        first = self._buffer is None
        buf = self._state("_buffer", shape, value.dtype)
        _backend.kernels().sgd_update(value, grad, buf, self.learning_rate,
                                      momentum=self.momentum_rate, first_step=first)

    def __repr__(self):
        return f"SgdWithMomentum({self.learning_rate!r}, {self.momentum_rate!r})"


class Adam(_Optimizer):
    """Adam with bias correction and eps = 1e-8.

    v := mu * v + (1 - mu) * g;  r := rho * r + (1 - rho) * g * g  (zeros at first)
    w - learning_rate * (v / (1 - mu**k)) / (sqrt(r / (1 - rho**k)) + eps),
    k the number of this update, from 1.
    """

    eps = 1e-8

    def __init__(self, learning_rate, mu, rho):
        self.learning_rate = check_float(learning_rate, "learning_rate", 0.0)
        # 1 would make a bias correction divide by zero
        self.mu = check_float(mu, "mu", 0.0, 1.0, max_inclusive=False)
        self.rho = check_float(rho, "rho", 0.0, 1.0, max_inclusive=False)
        self._v = None
        self._r = None
        self._state_shape = None
        self.k = 0

    def _update(self, value, grad, shape):
        v = self._state("_v", shape, value.dtype)
        r = self._state("_r", shape, value.dtype)
        self.k += 1
        _backend.kernels().adam_update(value, grad, v, r, self.k, lr=self.learning_rate,
                                       beta1=self.mu, beta2=self.rho, eps=self.eps)

    def __repr__(self):
        return f"Adam({self.learning_rate!r}, {self.mu!r}, {self.rho!r})"
