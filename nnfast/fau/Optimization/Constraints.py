"""Weight penalties for the optimizers: ``Optimizer.add_regularizer``.

A regularizer has ``calculate_gradient(weights)``, the penalty's gradient,
which the optimizer's update subtracts times its learning rate, and
``norm(weights)``, the penalty itself, which ``NeuralNetwork`` adds to the
training loss. Both are one element-wise pass over the weights, so they are
plain NumPy (the kernels are in the update the optimizer runs).
"""
import numpy as np

from nnfast._validation import check_float
from nnfast.fau._checks import as_tensor


class _Regularizer:
    """The strength ``alpha`` (finite, >= 0) and the weights' conversion."""

    def __init__(self, alpha):
        self.alpha = check_float(alpha, "alpha", 0.0)

    @staticmethod
    def _weights(weights):
        """``weights`` as a float array (float32 stays float32)."""
        return as_tensor(weights, "weights", allow_empty=True, allow_scalar=True)  # the course passes scalars too

    def __repr__(self):
        return f"{type(self).__name__}({self.alpha!r})"


class L1_Regularizer(_Regularizer):
    """alpha * sum(|w|); its gradient alpha * sign(w) (0 where w == 0).

    Parameters
    ----------
    alpha : float >= 0
    """

    def calculate_gradient(self, weights):
        """weights : ndarray of any shape -> alpha * sign(weights), same shape"""
        w = self._weights(weights)
        return np.sign(w) * w.dtype.type(self.alpha)

    def norm(self, weights):
        """weights : ndarray of any shape -> float alpha * sum(|weights|)"""
        w = self._weights(weights)
        return self.alpha * float(np.sum(np.abs(w), dtype=np.float64))


class L2_Regularizer(_Regularizer):
    """alpha * sum(w ** 2); its gradient alpha * w (the course's convention:
    no factor 2, alpha is the weight decay).

    Parameters
    ----------
    alpha : float >= 0
    """

    def calculate_gradient(self, weights):
        """weights : ndarray of any shape -> alpha * weights, same shape"""
        w = self._weights(weights)
        return w * w.dtype.type(self.alpha)

    def norm(self, weights):
        """weights : ndarray of any shape -> float alpha * sum(weights ** 2)"""
        w = self._weights(weights)
        return self.alpha * float(np.sum(np.square(w, dtype=np.float64)))
