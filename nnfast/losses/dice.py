"""Soft Dice loss for segmentation, with MONAI's options and formula."""
import numbers
import warnings

import numpy as np

from nnfast import _backend
from nnfast._validation import check_bool, check_float, check_in_range
from nnfast.losses import _segmentation as seg
from nnfast.losses.base import Loss

_UNSET = object()

_DEPRECATED = (
    "DiceLoss(smooth=...) is deprecated and will be removed: DiceLoss now takes MONAI's options "
    "(one Dice per class and sample, smooth_nr and smooth_dr, both 1e-5 by default). This call "
    "keeps the old loss, one Dice per sample over all its channels and pixels with "
    "smooth_nr = smooth_dr = smooth = {smooth}; for the per-class Dice write "
    "DiceLoss(smooth_nr={smooth}, smooth_dr={smooth}) (with softmax=True or sigmoid=True for logits)."
)

_LEGACY_HINT = ("; for the former whole-sample Dice of (N, ...) arrays use DiceLoss(smooth=1.0) "
                "(deprecated)")


class DiceLoss(seg.OverlapLoss):
    """Soft Dice loss, MONAI's ``DiceLoss``: one Dice per class and sample.

    For each sample n and class c (each class over the whole batch with
    ``batch=True``), with p the (activated) prediction and t the target,
    sums over the spatial axes::

        I = sum p * t,  P = sum p (sum p**2 with squared_pred),  T = sum t (sum t**2)
        f = 1 - (2 I + smooth_nr) / (P + T + smooth_dr)                  (Dice)
        f = 1 - (2 I + smooth_nr) / (2 (P + T - I) + smooth_dr)          (jaccard=True)

    then ``weight[c] * f`` averaged over every (n, c) ("mean") or summed
    ("sum").

    Parameters
    ----------
    include_background : bool, default True
        False: class 0 is left out (ignored, with MONAI's warning, for one
        channel).
    to_onehot_y : bool, default False
        Accepted for MONAI compatibility. A label-map target is one-hot
        encoded whatever this says; what True changes: float label maps
        (integral values, as MONAI's ``one_hot`` takes) are accepted, and a
        target of pred's shape with C > 1 is refused (it is no label map:
        MONAI's ``one_hot`` fails on it too); ignored with one channel.
    sigmoid, softmax : bool, default False
        Apply a sigmoid, or a softmax over the channels, to pred (logits)
        first; not both. Without either, pred must be probabilities in [0, 1].
    squared_pred : bool, default False
        Squares of pred and target in the denominator.
    jaccard : bool, default False
        The soft Jaccard (IoU) loss instead of Dice, as written above.
    reduction : {"mean", "sum"}
        MONAI's "none" is refused: ``forward`` returns one number.
    smooth_nr, smooth_dr : float >= 0, default 1e-5
        Added to numerator and denominator. With smooth_dr == 0, a class
        empty in both prediction and target is an error (MONAI gives NaN).
    batch : bool, default False
        Sum over the batch before dividing: one Dice per class.
    weight : float or array_like of shape (C,), optional
        Non-negative class weights (C without class 0 when
        ``include_background=False``); unused with one class left.
    smooth : float >= 0, deprecated
        The former ``DiceLoss(smooth=1.0, reduction="mean")`` (also
        positional: ``DiceLoss(1.0)``, ``DiceLoss(1.0, "sum")``): kept, with a
        FutureWarning, and computes what it did: for each sample i, over all
        its elements k (channels and pixels),
        ``l_i = 1 - (2 sum_k p_ik t_ik + smooth) / (sum_k p_ik + sum_k t_ik + smooth)``,
        on probabilities of any shape (N, ...) with N >= 1 and at least 2
        dimensions; only ``reduction`` may go with it.

    forward(pred, target): pred (N, C, *spatial) with at least one spatial
    axis, probabilities or (with sigmoid / softmax) logits; target a label
    map (N, *spatial) or (N, 1, *spatial) of integers in [0, C), or one map
    per class (N, C, *spatial) in [0, 1] (one-hot or soft). With one channel
    (C == 1) the target is the foreground mask, (N, 1, *spatial) or
    (N, *spatial), in [0, 1].
    """

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False, softmax=False,
                 squared_pred=False, jaccard=False, reduction="mean", smooth_nr=1e-5,
                 smooth_dr=1e-5, batch=False, weight=None, *, smooth=_UNSET):
        if isinstance(include_background, numbers.Real) and not isinstance(
                include_background, (bool, np.bool_)):
            # the former positional call DiceLoss(smooth, reduction)
            if smooth is not _UNSET:
                raise TypeError("DiceLoss got smooth twice (positionally and as smooth=)")
            smooth, include_background = include_background, True
            if to_onehot_y is not False:
                if reduction != "mean":
                    raise TypeError("DiceLoss got reduction twice (positionally and as reduction=)")
                reduction, to_onehot_y = to_onehot_y, False
        self._legacy = smooth is not _UNSET
        if self._legacy:
            self._init_legacy(smooth, reduction, dict(
                include_background=(include_background, True), to_onehot_y=(to_onehot_y, False),
                sigmoid=(sigmoid, False), softmax=(softmax, False),
                squared_pred=(squared_pred, False), jaccard=(jaccard, False),
                smooth_nr=(smooth_nr, 1e-5), smooth_dr=(smooth_dr, 1e-5), batch=(batch, False),
                weight=(weight, None)))
            return
        super().__init__(include_background, to_onehot_y, sigmoid, softmax, reduction,
                         smooth_nr, smooth_dr, batch)
        self.squared_pred = check_bool(squared_pred, "squared_pred")
        self._squared = self.squared_pred
        self.jaccard = check_bool(jaccard, "jaccard")
        self.weight = seg.check_weight(weight)
        self._class_weight = self.weight
        self._legacy_hint = _LEGACY_HINT
        self._config = {
            "include_background": self.include_background, "to_onehot_y": self.to_onehot_y,
            "sigmoid": self.sigmoid, "softmax": self.softmax, "squared_pred": self.squared_pred,
            "jaccard": self.jaccard, "reduction": self.reduction, "smooth_nr": self.smooth_nr,
            "smooth_dr": self.smooth_dr, "batch": self.batch,
            "weight": seg.weight_config(self.weight)}

    def _terms(self, inter, sum_p, sum_t):
        num = 2 * inter + self.smooth_nr
        k = 2.0 if self.squared_pred else 1.0     # d P / d p = k * q
        if self.jaccard:
            den = 2 * (sum_p + sum_t - inter) + self.smooth_dr
            with np.errstate(divide="ignore", invalid="ignore"):
                a = -2 / den - 2 * num / den**2
                b = 2 * k * num / den**2
        else:
            den = sum_p + sum_t + self.smooth_dr
            with np.errstate(divide="ignore", invalid="ignore"):
                a = -2 / den
                b = k * num / den**2
        with np.errstate(divide="ignore", invalid="ignore"):
            f = 1 - num / den
        return f, a, b, den

    # -- the deprecated DiceLoss(smooth=...) --------------------------------
    def _init_legacy(self, smooth, reduction, others):
        Loss.__init__(self, reduction)
        self.smooth = check_float(smooth, "smooth", 0.0)
        given = [name for name, (value, default) in others.items()
                 if value is not default and not (isinstance(value, type(default))
                                                   and value == default)]
        if given:
            raise TypeError(f"DiceLoss's deprecated smooth cannot be combined with {', '.join(given)}: "
                            "give smooth_nr and smooth_dr instead of smooth")
        self.smooth_nr = self.smooth_dr = self.smooth
        warnings.warn(_DEPRECATED.format(smooth=self.smooth), FutureWarning, stacklevel=3)
        self._config = {"smooth": self.smooth, "reduction": self.reduction}

    def _forward(self, pred, target):
        if not self._legacy:
            return super()._forward(pred, target)
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
        if not self._legacy:
            return super()._backward()
        shape, t2, sums, scale = self._saved
        grad = np.empty(shape, dtype=t2.dtype)
        _backend.kernels().dice_backward(t2, sums, scale, grad.reshape(t2.shape))
        return grad
