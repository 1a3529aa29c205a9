"""Tversky loss for segmentation, with MONAI's options and formula."""
import numpy as np

from nnfast._validation import check_float
from nnfast.losses import _segmentation as seg


class TverskyLoss(seg.OverlapLoss):
    """Tversky loss (Salehi et al. 2017), MONAI's ``TverskyLoss``.

    For each sample n and class c (each class over the whole batch with
    ``batch=True``), sums over the spatial axes of the (activated)
    prediction p and the target t::

        TP = sum p * t,  FP = sum p * (1 - t),  FN = sum (1 - p) * t
        f = 1 - (TP + smooth_nr) / (TP + alpha * FP + beta * FN + smooth_dr)

    then the mean over every (n, c) ("mean") or the sum ("sum").
    alpha = beta = 0.5 is DiceLoss with smooth_nr and smooth_dr doubled.

    Parameters
    ----------
    include_background : bool, default True
        False: class 0 is left out (ignored, with MONAI's warning, for one
        channel).
    to_onehot_y : bool, default False
        Accepted for MONAI compatibility; a label-map target is one-hot
        encoded whatever this says. True also accepts float label maps
        (integral values) and refuses a target of pred's shape with C > 1.
    sigmoid, softmax : bool, default False
        Apply a sigmoid, or a softmax over the channels, to pred (logits)
        first; not both. Without either, pred must be probabilities in [0, 1].
    alpha, beta : float >= 0, default 0.5
        Weights of the false positives and of the false negatives.
    reduction : {"mean", "sum"}
    smooth_nr, smooth_dr : float >= 0, default 1e-5
    batch : bool, default False

    forward(pred, target): as ``DiceLoss``: pred (N, C, *spatial); target a
    label map (N, *spatial) / (N, 1, *spatial) of integers in [0, C), or
    maps of pred's shape in [0, 1].
    """

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False, softmax=False,
                 alpha=0.5, beta=0.5, reduction="mean", smooth_nr=1e-5, smooth_dr=1e-5,
                 batch=False):
        super().__init__(include_background, to_onehot_y, sigmoid, softmax, reduction,
                         smooth_nr, smooth_dr, batch)
        # MONAI takes any alpha and beta; a negative one can make the
        # denominator 0 or negative for valid inputs, so it is refused here
        self.alpha = check_float(alpha, "alpha", 0.0)
        self.beta = check_float(beta, "beta", 0.0)
        self._config = {
            "include_background": self.include_background, "to_onehot_y": self.to_onehot_y,
            "sigmoid": self.sigmoid, "softmax": self.softmax, "alpha": self.alpha,
            "beta": self.beta, "reduction": self.reduction, "smooth_nr": self.smooth_nr,
            "smooth_dr": self.smooth_dr, "batch": self.batch}

    def _terms(self, inter, sum_p, sum_t):
        al, be = self.alpha, self.beta
        num = inter + self.smooth_nr
        den = inter + al * (sum_p - inter) + be * (sum_t - inter) + self.smooth_dr
        with np.errstate(divide="ignore", invalid="ignore"):
            f = 1 - num / den
            # d den / d p = t + alpha * (1 - t) - beta * t
            a = -1 / den + num * (1 - al - be) / den**2
            b = num * al / den**2
        return f, a, b, den
