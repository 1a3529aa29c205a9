"""Activation layers: ReLU, LeakyReLU, PReLU, Sigmoid, Tanh."""
import numpy as np

from nnfast import _backend
from nnfast._validation import INT32_MAX, as_float_array, check_float, check_int, float_dtype
from nnfast._validation import check_allocation
from nnfast.init import constant
from nnfast.layers.base import Layer
from nnfast.parameter import Parameter


class _Elementwise(Layer):
    """An element-wise activation without parameters.

    Float32 and float64 input keep their dtype; other numeric input is cast
    to float32. Any shape. Subclasses name their two kernels and say whether
    backward reads the forward's output (ReLU, Sigmoid, Tanh) or its input.
    """

    _backward_from_output = True

    def __init__(self):
        super().__init__()
        self._saved = None
        self._config = {}

    def _extra_args(self):
        """Arguments between the kernels' arrays (LeakyReLU's slope)."""
        return ()

    def forward(self, x):
        """x : ndarray of any shape -> ndarray of the same shape and dtype"""
        x = as_float_array(x, "x")
        out = self._new_array("out", x.shape, x.dtype)
        k = _backend.kernels()
        args = (x.reshape(-1),) + self._extra_args() + (out.reshape(-1),)
        getattr(k, self._forward_kernel)(*args)
        self._saved = out if self._backward_from_output else x
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : shape of the output -> grad_input of the input's shape, or
        None when ``requires_input_grad`` is False"""
        dtype = self._saved.dtype.type if self._saved is not None else None
        g = self._check_grad_output(grad_output, dtype)
        if not self.requires_input_grad:
            return None
        grad_input = self._new_array("grad_input", g.shape, g.dtype)
        k = _backend.kernels()
        args = ((self._saved.reshape(-1), g.reshape(-1)) + self._extra_args()
                + (grad_input.reshape(-1),))
        getattr(k, self._backward_kernel)(*args)
        return grad_input


class ReLU(_Elementwise, kernels="relu"):
    """y = max(x, 0). Backward reads the output (y > 0 exactly where x > 0)."""

    def adopt_output(self, out):
        """Record ``out`` as this layer's forward output, computed by the
        layer before it with the ReLU fused in (its ``forward_relu``): the
        state ``backward`` needs is then exactly what ``forward(x)`` leaves.
        Returns ``out``."""
        out = as_float_array(out, "out")
        self._saved = out
        self._grad_output_shape = out.shape
        return out


class LeakyReLU(_Elementwise, kernels="leaky_relu"):
    """y = x where x > 0, else negative_slope * x.

    Parameters
    ----------
    negative_slope : float, default 0.01
        Any finite value (as in torch); backward reads the input because a
        slope <= 0 hides the input's sign in the output.
    """

    _backward_from_output = False

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = check_float(negative_slope, "negative_slope")
        self._config = {"negative_slope": self.negative_slope}

    def _extra_args(self):
        return (self.negative_slope,)


class Sigmoid(_Elementwise, kernels="sigmoid"):
    """y = 1 / (1 + exp(-x)), exactly 0 or 1 far out, never overflowing."""


class Tanh(_Elementwise, kernels="tanh"):
    """y = tanh(x)."""


class PReLU(Layer):
    """y = x where x > 0, else a * x, with a learned slope ``a``.

    Parameters
    ----------
    num_parameters : int >= 1, default 1
        1: one slope shared by every element. Otherwise one slope per channel,
        the input's axis 1, which must then have ``num_parameters`` entries
        (input (n_samples, num_parameters, *spatial)).
    init : float, default 0.25
        Initial slope.
    dtype : np.float32 (default) or np.float64
        The slope's dtype; input of another dtype is cast to it.

    Attributes
    ----------
    weight : Parameter of shape (num_parameters,)
    """

    def __init__(self, num_parameters=1, init=0.25, dtype=np.float32):
        super().__init__()
        self.num_parameters = check_int(num_parameters, "num_parameters", 1, INT32_MAX)
        self.init = check_float(init, "init")
        self.dtype = float_dtype(dtype)
        check_allocation((self.num_parameters,), self.dtype, "weight (num_parameters,)")
        self.weight = Parameter(constant((self.num_parameters,), self.init, self.dtype), "weight")
        self._x = None
        self._config = {"num_parameters": self.num_parameters, "init": self.init,
                        "dtype": np.dtype(self.dtype).name}

    def parameters(self):
        return [self.weight]

    def _as_rows(self, a):
        """a viewed as (n_samples, channels, size): channels is 1 for a shared slope."""
        if self.num_parameters == 1:
            return a.reshape(a.shape[0] if a.ndim >= 2 else 1, 1, -1)
        return a.reshape(a.shape[0], self.num_parameters, -1)

    def forward(self, x):
        """x : (n_samples, num_parameters, *spatial), or any shape for one shared slope"""
        x = as_float_array(x, "x", self.dtype)
        if self.num_parameters > 1 and (x.ndim < 2 or x.shape[1] != self.num_parameters):
            raise ValueError(f"x must have shape (n_samples, {self.num_parameters}, ...) for "
                             f"{self!r} "
                             f"(one slope per channel on axis 1), got {x.shape}")
        out = self._new_array("out", x.shape, x.dtype)
        _backend.kernels().prelu_forward(self._as_rows(x), self.weight.value, self._as_rows(out))
        self._x = x
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """Accumulates ``weight.grad``; returns grad_input (input's shape) or None
        when ``requires_input_grad`` is False."""
        g = self._check_grad_output(grad_output, self.dtype)
        grad_input = (self._new_array("grad_input", g.shape, g.dtype)
                      if self.requires_input_grad else None)
        _backend.kernels().prelu_backward(
            self._as_rows(self._x), self.weight.value, self._as_rows(g),
            None if grad_input is None else self._as_rows(grad_input), self.weight.grad)
        return grad_input
