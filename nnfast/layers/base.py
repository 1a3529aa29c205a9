"""The layer interface: ``forward``, ``backward``, ``parameters``, train/eval."""
import numpy as np

from nnfast._validation import as_float_array, check_shape


class Layer:
    """Base class of every layer.

    A layer computes ``forward(x)``, keeps what its backward pass needs, and
    in ``backward(grad_output)`` accumulates its parameters' gradients and
    returns the gradient with respect to its input. Subclasses set
    ``_config`` (the constructor arguments, for ``repr`` and saving).

    Attributes
    ----------
    training : bool
        True in training mode (``train()``), False after ``eval()``.
    requires_input_grad : bool
        When False, ``backward`` may skip the input gradient and return
        None (the first layer of a network needs none).
    """

    training = True
    requires_input_grad = True

    def __init__(self):
        self.training = True
        self._output_shape = None

    # -- the interface --------------------------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    def parameters(self):
        """Trainable Parameters, weight before bias."""
        return []

    def train(self, mode=True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def __call__(self, x):
        return self.forward(x)

    def config(self):
        """Constructor arguments as a JSON-friendly dict."""
        return dict(getattr(self, "_config", {}))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    # -- helpers for subclasses ----------------------------------------
    def _remember_output_shape(self, shape):
        self._output_shape = tuple(shape)

    def _check_grad_output(self, grad_output, dtype):
        """grad_output as a contiguous array of the last forward's output shape."""
        if self._output_shape is None:
            raise ValueError(f"{type(self).__name__}.backward called before forward")
        g = as_float_array(grad_output, "grad_output", dtype=dtype)
        check_shape(g, "grad_output", self._output_shape)
        return g
