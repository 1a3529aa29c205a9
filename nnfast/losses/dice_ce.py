"""Dice + cross-entropy on logits for segmentation, MONAI's ``DiceCELoss``."""
import numpy as np

from nnfast._validation import check_bool, check_float
from nnfast.losses import _segmentation as seg
from nnfast.losses.base import Loss
from nnfast.losses.dice import DiceLoss


class DiceCELoss(Loss):
    """``lambda_dice * Dice + lambda_ce * cross-entropy``, MONAI's ``DiceCELoss``.

    pred are logits (N, C, *spatial), as a segmentation network's last layer
    gives them. The Dice term is ``DiceLoss`` with the same options, on
    softmax(pred) with ``softmax=True`` (sigmoid(pred) with
    ``sigmoid=True``); the cross-entropy is always on the logits:

    - C > 1: torch's ``cross_entropy`` over the channels, with ``weight``
      and ``label_smoothing``: for a label-map target, with class indices
      ("mean": sum_i w[y_i] l_i / sum_i w[y_i] over every pixel i); for maps
      of pred's shape, with probability targets ("mean": divided by the
      number of pixels), as MONAI passes each form;
    - C == 1: torch's ``binary_cross_entropy_with_logits`` with
      ``pos_weight=weight``.

    Both terms take ``reduction``; CE counts every class whatever
    ``include_background`` says, as MONAI.

    Parameters
    ----------
    include_background, to_onehot_y, sigmoid, softmax, squared_pred, jaccard,
    smooth_nr, smooth_dr, batch :
        As ``DiceLoss`` (for its term only).
    reduction : {"mean", "sum"}
    weight : array_like of shape (C,), optional
        Non-negative class weights of the cross-entropy (``pos_weight`` for
        one channel), and of the Dice term (without class 0 when
        ``include_background=False``).
    lambda_dice, lambda_ce : float >= 0, default 1.0
    label_smoothing : float in [0, 1], default 0.0
        torch's: the target is (1 - eps) on the label plus eps / C on every
        class (C > 1).

    forward(pred, target): pred (N, C, *spatial) logits; target a label map
    (N, *spatial) / (N, 1, *spatial) of integers in [0, C), or maps of
    pred's shape in [0, 1] (one-hot or soft). With C == 1, the foreground
    mask.

    Examples
    --------
    >>> loss = nf.losses.DiceCELoss(softmax=True)      # a U-Net's (N, C, H, W) logits
    >>> value = loss.forward(logits, labels)           # labels: int (N, H, W)
    >>> model.backward(loss.backward())
    """

    def __init__(self, include_background=True, to_onehot_y=False, sigmoid=False, softmax=False,
                 squared_pred=False, jaccard=False, reduction="mean", smooth_nr=1e-5,
                 smooth_dr=1e-5, batch=False, weight=None, lambda_dice=1.0, lambda_ce=1.0,
                 label_smoothing=0.0):
        super().__init__(reduction)
        self.weight = seg.check_weight(weight, scalar=False)
        dice_weight = self.weight
        if dice_weight is not None and not check_bool(include_background, "include_background"):
            # empty for one class: DiceLoss ignores weights then anyway (MONAI's weight[1:])
            dice_weight = dice_weight[1:] if dice_weight.shape[0] > 1 else None
        self.dice = DiceLoss(include_background=include_background, to_onehot_y=to_onehot_y,
                             sigmoid=sigmoid, softmax=softmax, squared_pred=squared_pred,
                             jaccard=jaccard, reduction=reduction, smooth_nr=smooth_nr,
                             smooth_dr=smooth_dr, batch=batch, weight=dice_weight)
        self.lambda_dice = check_float(lambda_dice, "lambda_dice", 0.0)
        self.lambda_ce = check_float(lambda_ce, "lambda_ce", 0.0)
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", 0.0, 1.0)
        d = self.dice
        # the Dice options, readable on this loss too
        for name in ("include_background", "to_onehot_y", "sigmoid", "softmax", "squared_pred",
                     "jaccard", "smooth_nr", "smooth_dr", "batch"):
            setattr(self, name, getattr(d, name))
        self._config = {
            "include_background": d.include_background, "to_onehot_y": d.to_onehot_y,
            "sigmoid": d.sigmoid, "softmax": d.softmax, "squared_pred": d.squared_pred,
            "jaccard": d.jaccard, "reduction": self.reduction, "smooth_nr": d.smooth_nr,
            "smooth_dr": d.smooth_dr, "batch": d.batch, "weight": seg.weight_config(self.weight),
            "lambda_dice": self.lambda_dice, "lambda_ce": self.lambda_ce,
            "label_smoothing": self.label_smoothing}

    def _forward(self, pred, target):
        d = self.dice
        pred, maps, labels, first = d._check_inputs(pred, target)
        c = pred.shape[1]
        if self.weight is not None and self.weight.shape[0] != c:
            raise ValueError(f"weight must have one value per class of pred ({c}), got "
                             f"{self.weight.shape[0]}")
        if c == 1:
            prob, kind = seg.activate(pred, d.sigmoid, d.softmax)
            ce, ce_saved = self._bce(pred, maps)
        else:
            # one softmax serves both terms: the CE's log-probabilities and,
            # with softmax=True, the Dice term's probabilities
            sm, logp = seg.log_softmax(pred)
            if d.softmax:
                prob, kind = sm, "softmax"
            else:
                prob, kind = seg.activate(pred, d.sigmoid, False)
            ce, ce_saved = self._ce(sm, logp, maps, labels)
        dice, coef = d._overlap(prob, maps, first)
        self._saved = (prob, maps, first, coef, kind, ce_saved)
        return self.lambda_dice * dice + self.lambda_ce * ce

    def _backward(self):
        prob, maps, first, coef, kind, ce_saved = self._saved
        dt = prob.dtype
        grad_prob = self.dice._overlap_grad(prob, maps, first, coef)
        if self.lambda_dice != 1.0:
            grad_prob *= dt.type(self.lambda_dice)
        grad = seg.deactivate(grad_prob, prob, kind)
        grad += self._ce_grad(ce_saved, dt)
        return grad

    # -- cross-entropy --------------------------------------------------------
    def _ce(self, sm, logp, maps, labels):
        """torch's cross_entropy of logits over axis 1 (value, saved)."""
        n, c = sm.shape[:2]
        dt = sm.dtype
        eps = self.label_smoothing
        w = None if self.weight is None else self.weight.astype(dt).reshape(
            (1, c) + (1,) * (sm.ndim - 2))
        pixels = sm.size // c
        one, share = dt.type(1 - eps), dt.type(eps / c)
        if labels is not None:
            # class indices: l = (1 - eps) w[y] (-log p[y]) + eps / C sum_c w[c] (-log p[c]),
            # the mean divided by sum_i w[y_i] (the pixel count without weights), as torch
            if w is None:
                a = maps if not eps else maps * one + share
                den = float(pixels)
            else:
                a = maps * w
                den = float(a.sum(dtype=np.float64))
                if eps:
                    a = a * one + w * share
                if self.reduction == "mean" and den == 0:
                    raise ValueError("the class weights of this batch's labels sum to 0: the "
                                     "weighted mean is undefined (use reduction='sum')")
        else:
            # probability targets: t' = (1 - eps) t + eps / C, l = -sum_c w[c] t'[c] log p[c],
            # the mean divided by the pixel count
            a = maps * one + share if eps else maps
            if w is not None:
                a = a * w
            den = float(pixels)
        # with a the coefficients of -log p: l = -sum_c a_c log p_c, and
        # d l / d logit = (sum_c a_c) p - a
        total = -float((a * logp).sum(dtype=np.float64))
        scale = 1.0 / den if self.reduction == "mean" else 1.0
        # sum_c a_c is 1 for labels without weights (one-hot, smoothed or not)
        unit = labels is not None and w is None
        return total * scale, ("ce", sm, a, unit, scale)

    def _bce(self, pred, maps):
        """torch's binary_cross_entropy_with_logits with pos_weight (value, saved)."""
        dt = pred.dtype
        pw = None if self.weight is None else dt.type(self.weight[0])
        sp = seg.softplus(-pred)                   # -log sigmoid(x)
        lw = 1 if pw is None else 1 + (pw - 1) * maps
        loss = (1 - maps) * pred + lw * sp
        scale = 1.0 / pred.size if self.reduction == "mean" else 1.0
        return float(loss.sum(dtype=np.float64)) * scale, ("bce", pred, maps, lw, scale)

    def _ce_grad(self, saved, dt):
        f = dt.type(self.lambda_ce * saved[-1])
        if saved[0] == "ce":
            _, sm, a, unit, _ = saved
            return ((sm - a) if unit else (sm * a.sum(axis=1, keepdims=True) - a)) * f
        _, x, t, lw, _ = saved
        return ((1 - t) - lw * seg.sigmoid(-x)) * f
