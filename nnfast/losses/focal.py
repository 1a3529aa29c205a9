"""Focal loss for segmentation on logits, with MONAI's options and formula."""
import numbers
import warnings

import numpy as np

from nnfast._validation import as_float_array, check_bool, check_float
from nnfast.losses import _segmentation as seg
from nnfast.losses.base import Loss


def _check_alpha(alpha):
    """alpha as None, a float in [0, 1] or a float64 array of values in [0, 1]."""
    if alpha is None:
        return None
    if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        return check_float(alpha, "alpha", 0.0, 1.0)
    a = as_float_array(alpha, "alpha", np.float64, ndim=1)
    bad = ~((a >= 0) & (a <= 1))
    if np.any(bad):
        raise ValueError(f"alpha must hold values in [0, 1], got {a[bad][0]}")
    return a


class FocalLoss(Loss):
    """Focal loss (Lin et al. 2017) on logits, MONAI's ``FocalLoss``.

    With x the logits and t the target of each pixel and class:

    - ``use_softmax=False`` (a sigmoid per channel, multi-label)::

          l = sigmoid(-x * (2 t - 1)) ** gamma * (softplus(x) - x * t)

      (the binary cross-entropy on logits times (1 - p_t) ** gamma, p_t the
      probability of the target; written as MONAI does, so that soft
      targets give MONAI's numbers too), times ``t * alpha + (1 - t) *
      (1 - alpha)`` for a scalar alpha, or ``alpha[c]`` where t == 1 for one
      alpha per class;
    - ``use_softmax=True`` (classes exclusive): with log p = log_softmax(x)
      over the channels (those left after ``include_background``)::

          l = -(1 - p) ** gamma * log p * t

      times ``alpha[c]`` ((1 - alpha) for class 0 and alpha for the others
      with a scalar alpha).

    Then times ``weight[c]``; "mean" is the mean over every element
    (N, C, *spatial), "sum" the sum over samples and classes of the mean
    over the spatial axes (MONAI's).

    Parameters
    ----------
    include_background : bool, default True
        False: class 0 is left out (ignored, with MONAI's warning, for one
        channel); with use_softmax the softmax is then over the other
        classes, as MONAI, and a scalar alpha is ignored with its warning.
    to_onehot_y : bool, default False
        Accepted for MONAI compatibility; a label-map target is one-hot
        encoded whatever this says. True also accepts float label maps
        (integral values) and refuses a target of pred's shape with C > 1.
    gamma : float >= 0, default 2.0
        The focusing exponent; 0 gives the binary (or softmax) cross-entropy.
    alpha : float in [0, 1] or array_like of shape (C,), optional
        The balance factor described above.
    weight : float or array_like of shape (C,), optional
        Non-negative class weights (C without class 0 when
        ``include_background=False``).
    reduction : {"mean", "sum"}
    use_softmax : bool, default False

    forward(pred, target): pred (N, C, *spatial) logits; target a label map
    (N, *spatial) / (N, 1, *spatial) of integers in [0, C), or maps of pred's
    shape in [0, 1].
    """

    def __init__(self, include_background=True, to_onehot_y=False, gamma=2.0, alpha=None,
                 weight=None, reduction="mean", use_softmax=False):
        super().__init__(reduction)
        self.include_background = check_bool(include_background, "include_background")
        self.to_onehot_y = check_bool(to_onehot_y, "to_onehot_y")
        # MONAI takes any gamma; a negative one rewards the wrong class
        # (and (1 - p) ** gamma is infinite where p == 1), so it is refused
        self.gamma = check_float(gamma, "gamma", 0.0)
        self.alpha = _check_alpha(alpha)
        self.weight = seg.check_weight(weight)
        self.use_softmax = check_bool(use_softmax, "use_softmax")
        self._config = {
            "include_background": self.include_background, "to_onehot_y": self.to_onehot_y,
            "gamma": self.gamma, "alpha": seg.weight_config(self.alpha),
            "weight": seg.weight_config(self.weight), "reduction": self.reduction,
            "use_softmax": self.use_softmax}

    def _forward(self, pred, target):
        pred = seg.check_pred(pred, "FocalLoss")
        seg.check_finite(pred, "pred")
        maps, _ = seg.prepare_target(target, pred, self.to_onehot_y)
        c = pred.shape[1]
        seg.warn_onehot_ignored(self.to_onehot_y, c)
        first = seg.first_channel(self.include_background, c)
        x, t = pred[:, first:], maps[:, first:]
        classes = c - first
        per_class = (1, classes) + (1,) * (pred.ndim - 2)
        dt = pred.dtype
        alpha = self._alpha_factor(t, classes, first, per_class, dt)
        cw = self._class_weight(classes, first, per_class, dt)
        if self.use_softmax:
            prob, logp = seg.log_softmax(x)
            saved = (prob, logp)
            omp = 1 - prob
            loss = -(omp ** self.gamma) * logp * t
        else:
            m = -x * (2 * t - 1)
            factor = np.exp(self.gamma * -seg.softplus(-m))    # sigmoid(m) ** gamma
            bce = seg.softplus(x) - x * t
            saved = (m, factor, bce)
            loss = factor * bce
        for f in (alpha, cw):
            if f is not None:
                loss *= f
        spatial = int(np.prod(pred.shape[2:]))
        count = loss.size if self.reduction == "mean" else spatial
        scale = 1.0 / count
        self._saved = (pred.shape, x, t, first, saved, alpha, cw, scale)
        return float(loss.sum(dtype=np.float64)) * scale

    def _backward(self):
        shape, x, t, first, saved, alpha, cw, scale = self._saved
        dt = x.dtype
        g = self.gamma
        if self.use_softmax:
            prob, logp = saved
            omp = 1 - prob
            pw = omp ** g
            # d/dlogp of -(1 - p)**gamma * logp: gamma (1 - p)**(gamma-1) p logp - (1 - p)**gamma;
            # where p == 1 the first term tends to 0 (logp ~ -(1 - p))
            d = np.divide(pw, omp, out=np.zeros_like(omp), where=omp > 0)
            dlog = (g * d * prob * logp - pw) * t
            # the factors multiply each class's loss: they go in before the
            # softmax couples the classes
            for f in (alpha, cw):
                if f is not None:
                    dlog *= f
            grad = dlog - prob * dlog.sum(axis=1, keepdims=True)
        else:
            m, factor, bce = saved
            sign = 1 - 2 * t                   # d m / d x
            grad = factor * (seg.sigmoid(x) - t + g * bce * seg.sigmoid(-m) * sign)
            for f in (alpha, cw):
                if f is not None:
                    grad *= f
        out = np.zeros(shape, dtype=dt)
        out[:, first:] = grad * dt.type(scale)
        return out

    def _alpha_factor(self, t, classes, first, per_class, dt):
        """The alpha factor, broadcastable to t, or None."""
        a = self.alpha
        if a is None:
            return None
        if isinstance(a, float):
            if self.use_softmax:
                if first:
                    warnings.warn("`include_background=False`, scalar `alpha` ignored when using "
                                  "softmax.", stacklevel=4)
                    return None
                return np.array([1 - a] + [a] * (classes - 1), dtype=dt).reshape(per_class)
            return t * dt.type(a) + (1 - t) * dt.type(1 - a)
        if a.shape[0] != classes:
            raise ValueError(f"alpha must have one value per class ({classes}"
                             f"{' without class 0' if first else ''}), got {a.shape[0]}")
        a = a.astype(dt).reshape(per_class)
        return a if self.use_softmax else np.where(t == 1, a, dt.type(1))

    def _class_weight(self, classes, first, per_class, dt):
        w = self.weight
        if w is None:
            return None
        if isinstance(w, float):
            return dt.type(w)
        if classes == 1:
            raise ValueError(f"weight must be one number with a single-channel output, got "
                             f"{w.shape[0]} values (per-class weights need C > 1)")
        return seg.class_weight_for(w, classes, first).astype(dt).reshape(per_class)
