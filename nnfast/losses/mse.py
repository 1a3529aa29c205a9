"""Mean squared error."""
import numpy as np

from nnfast import _backend
from nnfast.losses.base import Loss


class MSELoss(Loss):
    """sum((pred - target) ** 2), divided by the number of elements for "mean".

    forward(pred, target): pred of any shape; target of the same shape.
    """

    def _forward(self, pred, target):
        pred = self._pred(pred)
        target = self._target_like(target, pred)
        scale = self._scale(pred.size)
        total = _backend.kernels().mse_forward(pred.reshape(-1), target.reshape(-1))
        self._saved = (pred, target, scale)
        return total * scale

    def _backward(self):
        pred, target, scale = self._saved
        grad = np.empty_like(pred)
        _backend.kernels().mse_backward(pred.reshape(-1), target.reshape(-1), scale,
                                        grad.reshape(-1))
        return grad
