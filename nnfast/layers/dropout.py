"""Dropout (inverted): zero random units in training, identity in eval."""
import numbers

import numpy as np

from nnfast import _backend
from nnfast._random import get_rng
from nnfast._validation import as_float_array, check_float
from nnfast.layers.base import Layer


class Dropout(Layer):
    """Inverted dropout: in training, each element is zeroed with probability
    ``p`` and the kept ones are scaled by 1 / (1 - p), so that the expected
    output equals the input and ``eval()`` mode is the identity.

    Parameters
    ----------
    p : float in [0, 1], default 0.5
        Probability of dropping an element. p == 0 is the identity; p == 1
        drops everything (output and gradient 0, as in torch).
    rng : int, numpy.random.Generator or None
        Where masks are drawn from: None draws from ``nf.seed``'s generator at
        each forward; an int seeds a generator owned by the layer (each
        forward draws a new mask from it).

    Input of any shape; float32 and float64 stay as they are, other dtypes
    become float32.
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        self.p = check_float(p, "p", 0.0, 1.0)
        if rng is not None and not isinstance(rng, np.random.Generator):
            if isinstance(rng, bool) or not isinstance(rng, numbers.Integral) or rng < 0:
                raise TypeError(f"rng must be None, a non-negative int seed or a "
                                f"numpy.random.Generator, got {rng!r}")
        self._rng = None if rng is None else get_rng(rng)
        self._mask = None
        self._dtype = None
        self._config = {"p": self.p}

    @property
    def scale(self):
        """1 / (1 - p), the factor on kept elements (0 when p == 1)."""
        return 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0

    def _draw_mask(self, shape):
        """uint8 mask of ``shape``: 1 (kept) with probability 1 - p."""
        u = get_rng(self._rng).random(shape, dtype=np.float32)
        return (u >= np.float32(self.p)).view(np.uint8)

    def forward(self, x):
        """x : any shape -> same shape"""
        x = as_float_array(x, "x")
        self._grad_output_shape = x.shape
        self._dtype = x.dtype.type
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        mask = self._draw_mask(x.shape)
        out = self._new_array("out", x.shape, x.dtype)
        _backend.kernels().dropout_forward(x.reshape(-1), mask.reshape(-1), self.scale,
                                           out.reshape(-1))
        self._mask = mask
        return out

    def backward(self, grad_output):
        """grad_output : the forward's output shape -> grad_input, same shape"""
        g = self._check_grad_output(grad_output, self._dtype)
        mask = self._mask
        if mask is None:
            return g
        grad_input = self._new_array("grad_input", g.shape, g.dtype)
        _backend.kernels().dropout_backward(g.reshape(-1), mask.reshape(-1), self.scale,
                                            grad_input.reshape(-1))
        return grad_input
