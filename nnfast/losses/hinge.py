"""Multi-class hinge loss (Weston-Watkins)."""
import numpy as np

from nnfast import _backend
from nnfast._validation import check_classes, check_float, check_labels
from nnfast.losses.base import Loss


class HingeLoss(Loss):
    """Weston-Watkins multi-class hinge on scores x (N, C)::

        l_i = sum_{j != y_i} max(0, x_ij - x_iy_i + margin)

    then the mean over the batch ("mean") or the sum ("sum"). torch's
    MultiMarginLoss is this divided by C.

    Parameters
    ----------
    margin : float, default 1.0
    reduction : {"mean", "sum"}

    forward(pred, target): pred (N, C) scores; target int labels (N,) in
    [0, C) or one-hot (N, C).
    """

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = check_float(margin, "margin")
        self._config = {"margin": self.margin, "reduction": self.reduction}

    def _forward(self, pred, target):
        pred = self._pred(pred, ndim=2)
        check_classes(pred, "pred", "HingeLoss")
        labels = check_labels(target, pred.shape[0], pred.shape[1])
        scale = self._scale(pred.shape[0])
        total = _backend.kernels().hinge_forward(pred, labels, self.margin)
        self._saved = (pred, labels, scale)
        return total * scale

    def _backward(self):
        pred, labels, scale = self._saved
        grad = np.empty_like(pred)
        _backend.kernels().hinge_backward(pred, labels, self.margin, scale, grad)
        return grad
