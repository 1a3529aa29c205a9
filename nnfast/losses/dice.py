"""Soft Dice loss, for segmentation."""
import numpy as np

from nnfast import _backend
from nnfast._validation import check_float, check_in_range
from nnfast.losses.base import Loss


class DiceLoss(Loss):
    """Soft Dice loss on probabilities.

    For each sample i, over all its elements k (channels and pixels)::

        l_i = 1 - (2 * sum_k p_ik * t_ik + smooth) / (sum_k p_ik + sum_k t_ik + smooth)

    then the mean over the batch ("mean") or the sum ("sum").

    Parameters
    ----------
    smooth : float >= 0, default 1.0
        Added to numerator and denominator: keeps the loss defined (and 0) for
        an empty mask predicted empty. With smooth == 0, a sample whose
        prediction and target are all zero is an error.
    reduction : {"mean", "sum"}

    forward(pred, target): pred (N, ...) probabilities in [0, 1] (e.g. a
    Sigmoid's or Softmax's output), at least 2 dimensions; target of the same
    shape, in [0, 1].
    """

    def __init__(self, smooth=1.0, reduction="mean"):
        super().__init__(reduction)
        self.smooth = check_float(smooth, "smooth", 0.0)
        self._config = {"smooth": self.smooth, "reduction": self.reduction}

    def _forward(self, pred, target):
        pred = self._pred(pred)
        if pred.ndim < 2:
            raise ValueError(f"pred must have at least 2 dimensions (N, ...), got shape {pred.shape}")
        target = self._target_like(target, pred)
        check_in_range(pred, "pred", 0, 1)
        check_in_range(target, "target", 0, 1)
        n = pred.shape[0]
        t2 = target.reshape(n, -1)
        sums = np.empty((n, 2))
        total = _backend.kernels().dice_forward(pred.reshape(n, -1), t2, self.smooth, sums)
        if not np.all(sums[:, 1] > 0):
            i = int(np.argmin(sums[:, 1] > 0))
            raise ValueError(f"sample {i} has sum(pred) + sum(target) + smooth == 0: "
                             "Dice is undefined there (use smooth > 0)")
        scale = self._scale(n)
        self._saved = (pred.shape, t2, sums, scale)
        return total * scale

    def _backward(self):
        shape, t2, sums, scale = self._saved
        grad = np.empty(shape, dtype=t2.dtype)
        _backend.kernels().dice_backward(t2, sums, scale, grad.reshape(t2.shape))
        return grad
