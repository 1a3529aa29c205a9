"""Optimizers: ``calculate_update(weight_tensor, gradient_tensor)`` returns
the updated weights as a new array (a float for float input).

Each update is one of nnfast's update rules on arrays
(``nnfast.optim.functional``: ``sgd_step``, ``adam_step``), which
``nf.optim.SGD`` and ``Adam`` run too: one fused pass over the weights,
gradient and state. The course rules and torch's, which those implement,
are the same in exact arithmetic (momentum: v = mu * v - lr * g, w += v is
w -= lr * b with b = mu * b + g and v = -lr * b). State (momentum, Adam's
moments and step count) belongs to the instance: give every weight tensor
its own copy (``copy.deepcopy``), as ``NeuralNetwork.append_layer`` does.

Every optimizer derives from ``Optimizer``, whose ``add_regularizer``
(an ``Optimization.Constraints`` regularizer) adds the course's weight
penalty to each update.
"""

import numpy as np

from nnfast._validation import check_float
from nnfast.fau._checks import as_tensor
from nnfast.optim.functional import adam_step, sgd_step


class Optimizer:
    """Base of the optimizers: the regularizer, and the conversion around
    each update rule.

    ``calculate_update`` makes a new flat float copy of the weights,
    broadcasts the gradient to their shape and runs the subclass's
    ``_update`` in place on the copy. With a regularizer, the update is the
    course's::

        rule(w, g) - learning_rate * regularizer.calculate_gradient(w)

    the penalty's gradient taken on the weights before the step (for Sgd:
    w - lr * g - lr * alpha * sign(w) with L1). Subclasses set
    ``learning_rate`` and define ``_update(value, grad, shape)``.

    Attributes
    ----------
    regularizer : object with ``calculate_gradient(weights)`` and
        ``norm(weights)``, or None (the default)
        Set by ``add_regularizer``. ``NeuralNetwork`` adds its ``norm`` of
        each layer's weights to the training loss.
    """

    regularizer = None

    def __init__(self):
        self.regularizer = None

    def add_regularizer(self, regularizer):
        """Use ``regularizer`` (``Constraints.L1_Regularizer`` or
        ``L2_Regularizer``, or any object with the same two methods) in every
        later update; None removes it."""
        if regularizer is not None:
            missing = [name for name in ("calculate_gradient", "norm")
                       if not callable(getattr(regularizer, name, None))]
            if missing:
                raise TypeError(f"regularizer must have calculate_gradient(weights) and "
                                f"norm(weights) methods, got {type(regularizer).__name__} "
                                f"without {' and '.join(missing)}")
        self.regularizer = regularizer

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
        penalty = self._penalty_gradient(w)
        value = np.array(w, copy=True).reshape(-1)
        self._update(value, np.ascontiguousarray(g).reshape(-1), w.shape)
        if penalty is not None:
            value -= self.learning_rate * penalty.reshape(-1)
        return float(value[0]) if scalar else value.reshape(w.shape)

    def _penalty_gradient(self, w):
        """The regularizer's gradient at the weights ``w`` (before the step),
        as an array of w's shape and dtype; None without a regularizer."""
        if self.regularizer is None:
            return None
        # a copy: the regularizer may hand back its argument or a view of it
        penalty = as_tensor(self.regularizer.calculate_gradient(w.copy()),
                            "regularizer.calculate_gradient(weights)", w.dtype.type,
                            allow_empty=True, allow_scalar=True)
        if penalty.shape != w.shape:
            try:
                penalty = np.broadcast_to(penalty, w.shape)
            except ValueError:
                raise ValueError(f"regularizer.calculate_gradient(weights) returned shape "
                                 f"{penalty.shape}, expected the weights' {w.shape}") from None
        return penalty

    def _update(self, value, grad, shape):
        """The update rule, in place on ``value`` (flat); subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} defines no update rule: "
                                  f"use Sgd, SgdWithMomentum or Adam")

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

    def _regularizer_repr(self):
        return "" if self.regularizer is None else f" with {self.regularizer!r}"


class Sgd(Optimizer):
    """w - learning_rate * g."""

    def __init__(self, learning_rate):
        super().__init__()
        self.learning_rate = check_float(learning_rate, "learning_rate", 0.0)

    def _update(self, value, grad, shape):
        sgd_step(value, grad, lr=self.learning_rate)

    def __repr__(self):
        return f"Sgd({self.learning_rate!r}){self._regularizer_repr()}"


class SgdWithMomentum(Optimizer):
    """v := momentum_rate * v - learning_rate * g (v = 0 at first); w + v."""

    def __init__(self, learning_rate, momentum_rate):
        super().__init__()
        self.learning_rate = check_float(learning_rate, "learning_rate", 0.0)
        self.momentum_rate = check_float(momentum_rate, "momentum_rate", 0.0, 1.0)
        self._buffer = None  # b = -v / learning_rate, as the kernel keeps it
        self._state_shape = None

    def _update(self, value, grad, shape):
        first = self._buffer is None
        buf = self._state("_buffer", shape, value.dtype)
        sgd_step(value, grad, buf, lr=self.learning_rate, momentum=self.momentum_rate,
                 first_step=first)

    def __repr__(self):
        return (f"SgdWithMomentum({self.learning_rate!r}, {self.momentum_rate!r})"
                f"{self._regularizer_repr()}")


class Adam(Optimizer):
    """Adam with bias correction and eps = 1e-8.

    v := mu * v + (1 - mu) * g;  r := rho * r + (1 - rho) * g * g  (zeros at first)
    w - learning_rate * (v / (1 - mu**k)) / (sqrt(r / (1 - rho**k)) + eps),
    k the number of this update, from 1.
    """

    eps = 1e-8

    def __init__(self, learning_rate, mu, rho):
        super().__init__()
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
        adam_step(value, grad, v, r, step=self.k, lr=self.learning_rate,
                  betas=(self.mu, self.rho), eps=self.eps)

    def __repr__(self):
        return (f"Adam({self.learning_rate!r}, {self.mu!r}, {self.rho!r})"
                f"{self._regularizer_repr()}")
