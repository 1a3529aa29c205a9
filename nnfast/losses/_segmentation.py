"""What the segmentation losses (Dice, Tversky, focal, Dice + cross-entropy)
share: their option checks, the target forms they accept (label maps are
one-hot encoded here), the activations they apply to pred and the backward
of those activations.

Every array keeps pred's dtype (float32 stays float32); per-class sums are
accumulated in float64 (they are (N, C) numbers, cheap) and the few
coefficients that go back into element-wise work are cast to pred's dtype
before they do, so that nothing element-wise is promoted.
"""
import numbers
import warnings

import numpy as np

from nnfast import _backend
from nnfast._validation import (_numeric, as_float_array, check_bool, check_class_weights,
                                check_float, check_in_range)
from nnfast.losses.base import Loss

# MONAI's own wording for the options it ignores with one channel, so that a
# user who knows those warnings recognises them.
_SINGLE_CHANNEL = "single channel prediction, `{}` ignored."


def check_activation(sigmoid, softmax):
    """sigmoid and softmax as bools; both True is refused, as MONAI does."""
    sigmoid = check_bool(sigmoid, "sigmoid")
    softmax = check_bool(softmax, "softmax")
    if sigmoid and softmax:
        raise ValueError("Incompatible values: sigmoid and softmax must not both be True, "
                         "got sigmoid=True, softmax=True (choose the activation pred needs)")
    return sigmoid, softmax


def check_smooth(value, name):
    """smooth_nr / smooth_dr: a finite float >= 0."""
    return check_float(value, name, 0.0)


def check_weight(weight, name="weight", scalar=True):
    """Class weights: None, a number (``scalar``: the same for every class)
    or a 1-D sequence, every value finite and >= 0; returned as None, a float
    or a float64 array."""
    if weight is None:
        return None
    if scalar and isinstance(weight, numbers.Real) and not isinstance(weight, bool):
        return check_float(weight, name, 0.0)
    return check_class_weights(weight, name)


def weight_config(weight):
    """A checked weight as JSON-friendly config (None, a float or a list)."""
    return weight.tolist() if isinstance(weight, np.ndarray) else weight


def class_weight_for(weight, n_classes, first, name="weight"):
    """The weight as one value per class (an array of n_classes, the classes
    from ``first``), or None: a length that differs is refused."""
    if weight is None:
        return None
    if not isinstance(weight, np.ndarray):
        return np.full(n_classes, weight)
    if weight.shape[0] != n_classes:
        note = " (with include_background=False, the classes after class 0)" if first else ""
        raise ValueError(f"{name} must have one value per class{note}: {n_classes} values, got "
                         f"{weight.shape[0]}")
    return weight


def check_pred(pred, what, hint=""):
    """pred as a float array of shape (N, C, *spatial), at least one spatial axis.

    MONAI documents (B, C, H[, W, D]) inputs; for (N, C) it reduces over
    ``dim=[]``, which torch reads as every axis (one global value whatever
    ``batch`` says), so a shape without a spatial axis is refused here."""
    pred = as_float_array(pred, "pred", min_ndim=3)
    if pred.ndim < 3:
        raise ValueError(f"pred must have shape (N, C, *spatial) with at least one spatial axis "
                         f"(at least 3 dimensions) for {what}, got shape {pred.shape}{hint}")
    return pred


def check_finite(arr, name):
    if not np.isfinite(arr).all():
        bad = arr.reshape(-1)[np.argmin(np.isfinite(arr).reshape(-1))]
        raise ValueError(f"{name} must hold finite numbers, got {bad}")


def prepare_target(target, pred, to_onehot_y):
    """The target as maps of pred's shape and dtype, and its labels.

    Parameters
    ----------
    target : array_like
        - of pred's shape (N, C, *spatial): one map per class (one-hot or
          probabilities in [0, 1]), used as it is;
        - of shape (N, *spatial) or (N, 1, *spatial): a label map, one-hot
          encoded here (integer labels in [0, C); float labels need
          ``to_onehot_y=True``, as MONAI's ``one_hot``, and must be
          integral). With one channel (C == 1) these shapes are the
          foreground mask instead, in [0, 1].
    pred : ndarray of shape (N, C, *spatial)
    to_onehot_y : bool

    Returns
    -------
    maps : ndarray of pred's shape and dtype
    labels : int ndarray of shape (N, *spatial), or None
        The class of every pixel when target was a label map (C > 1).
    """
    arr = _numeric(target, "target")
    n, c = pred.shape[:2]
    spatial = pred.shape[2:]
    label_shapes = ((n,) + spatial, (n, 1) + spatial)
    if c > 1 and arr.shape == pred.shape:
        if to_onehot_y:
            raise ValueError(f"target of shape {arr.shape} already holds one map per class (pred's "
                             f"shape); to_onehot_y=True needs a label map of shape "
                             f"{label_shapes[0]} or {label_shapes[1]}")
        maps = as_float_array(arr, "target", pred.dtype.type)
        check_in_range(maps, "target", 0, 1)
        return maps, None
    if arr.shape not in label_shapes:
        raise ValueError(f"target must have shape {pred.shape} (one map per class, pred's shape), "
                         f"{label_shapes[0]} or {label_shapes[1]} (a label map), got {arr.shape}")
    if c == 1:
        maps = as_float_array(arr, "target", pred.dtype.type).reshape(pred.shape)
        check_in_range(maps, "target", 0, 1)
        return maps, None
    if arr.dtype.kind == "f":
        if not to_onehot_y:
            raise TypeError(f"target label map of shape {arr.shape} must have an integer dtype, got "
                            f"{arr.dtype} (give integer labels, one-hot maps of shape {pred.shape}, "
                            "or to_onehot_y=True for float labels)")
        if not (np.isfinite(arr).all() and np.all(arr == np.round(arr))):
            raise ValueError(f"target label map must hold integral class labels in [0, {c - 1}], "
                             f"got non-integral values (dtype {arr.dtype})")
    labels = arr.reshape(label_shapes[0])
    if labels.dtype.kind == "b":
        labels = labels.view(np.uint8)
    lo, hi = labels.min(), labels.max()
    if lo < 0 or hi >= c:
        bad = lo if lo < 0 else hi
        raise ValueError(f"target labels must be in [0, {c - 1}] (pred has {c} classes), "
                         f"got {bad.item()}")
    labels = labels.astype(np.intp, copy=False)
    classes = np.arange(c, dtype=np.intp).reshape((1, c) + (1,) * len(spatial))
    maps = (labels[:, None] == classes).astype(pred.dtype)
    return maps, labels


def first_channel(include_background, n_classes):
    """0, or 1 to leave class 0 out; with one channel there is nothing to
    leave out and MONAI warns and ignores the option."""
    if include_background:
        return 0
    if n_classes == 1:
        warnings.warn(_SINGLE_CHANNEL.format("include_background=False"), stacklevel=4)
        return 0
    return 1


def warn_onehot_ignored(to_onehot_y, n_classes):
    if to_onehot_y and n_classes == 1:
        warnings.warn(_SINGLE_CHANNEL.format("to_onehot_y=True"), stacklevel=4)


# -- activations: the Sigmoid and Softmax layers' kernels -------------------
def _rows(x):
    """x (N, C, ...) as the (N, C, rest) contiguous view the softmax kernels take."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def sigmoid(x):
    """1 / (1 + exp(-x)) (the sigmoid kernel: no overflow for any x)."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    _backend.kernels().sigmoid_forward(x.reshape(-1), out.reshape(-1))
    return out


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), finite for any x."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def log_softmax(x):
    """(softmax over axis 1, log-softmax over axis 1) of x (N, C, ...), by
    the Softmax and LogSoftmax kernels (the maximum subtracted)."""
    x = np.ascontiguousarray(x)
    k = _backend.kernels()
    prob, logp = np.empty_like(x), np.empty_like(x)
    k.softmax_forward(_rows(x), _rows(prob))
    k.log_softmax_forward(_rows(x), _rows(logp))
    return prob, logp


def softmax_backward(prob, grad_prob):
    """Gradient wrt the logits of softmax over axis 1: p * (g - sum_c g p)."""
    grad_prob = np.ascontiguousarray(grad_prob, dtype=prob.dtype)
    grad = np.empty_like(prob)
    _backend.kernels().softmax_backward(_rows(prob), _rows(grad_prob), _rows(grad))
    return grad


def activate(pred, sigmoid_, softmax_):
    """pred through the chosen activation (softmax over the channels; with
    one channel MONAI warns and leaves it out). Returns (probabilities,
    kind) where kind is "sigmoid", "softmax" or None, for ``deactivate``."""
    if sigmoid_:
        return sigmoid(pred), "sigmoid"
    if softmax_:
        if pred.shape[1] == 1:
            warnings.warn(_SINGLE_CHANNEL.format("softmax=True"), stacklevel=4)
            return pred, None
        return log_softmax(pred)[0], "softmax"
    return pred, None


def deactivate(grad_prob, prob, kind):
    """The gradient wrt the activation's input from the one wrt its output."""
    if kind == "sigmoid":
        grad_prob = np.ascontiguousarray(grad_prob, dtype=prob.dtype)
        grad = np.empty_like(prob)
        _backend.kernels().sigmoid_backward(prob.reshape(-1), grad_prob.reshape(-1),
                                            grad.reshape(-1))
        return grad
    if kind == "softmax":
        return softmax_backward(prob, grad_prob)
    return grad_prob


# -- per-class overlaps -----------------------------------------------------
def overlap_sums(prob, maps, batch, squared):
    """Sums over the spatial axes (and the batch with ``batch``) of
    prob * maps, prob (or prob**2) and maps (or maps**2), in float64.

    prob, maps : ndarray of shape (N, C, S) (spatial axes flattened)

    Returns three arrays of shape (N, C), or (C,) with ``batch``.
    """
    if squared:
        sp, st = prob * prob, maps * maps
    else:
        sp, st = prob, maps
    sums = [a.sum(axis=-1, dtype=np.float64) for a in (prob * maps, sp, st)]
    if batch:
        sums = [s.sum(axis=0) for s in sums]
    return sums


def check_denominator(den, batch, first):
    """Refuse a zero denominator (an empty class predicted empty without
    smoothing): MONAI returns NaN there. ``first``: the class of column 0."""
    if np.all(den > 0):
        return
    where = np.argwhere(~(den > 0))[0]
    at = f"class {where[0] + first}" if batch else f"sample {where[0]}, class {where[1] + first}"
    raise ValueError(f"the denominator is 0 for {at} (prediction and target both empty): the loss "
                     f"is undefined there; use smooth_dr > 0")


# -- the base of Dice and Tversky ------------------------------------------
class OverlapLoss(Loss):
    """A loss 1 - numerator / denominator per class, from the overlap of the
    (activated) prediction and the target maps, as MONAI's DiceLoss and
    TverskyLoss: per sample and class (per class over the whole batch with
    ``batch``), then the mean ("mean") or the sum ("sum") of those values.

    Subclasses give ``_terms(inter, sum_pred, sum_target)``: the per-class
    loss f and the coefficients a, b of its gradient, df/dp = a * t + b * q
    (q = p with ``_squared``, else 1).
    """

    _squared = False
    _legacy_hint = ""

    def __init__(self, include_background, to_onehot_y, sigmoid, softmax, reduction,
                 smooth_nr, smooth_dr, batch):
        super().__init__(reduction)
        self.include_background = check_bool(include_background, "include_background")
        self.to_onehot_y = check_bool(to_onehot_y, "to_onehot_y")
        self.sigmoid, self.softmax = check_activation(sigmoid, softmax)
        self.smooth_nr = check_smooth(smooth_nr, "smooth_nr")
        self.smooth_dr = check_smooth(smooth_dr, "smooth_dr")
        self.batch = check_bool(batch, "batch")
        self._class_weight = None

    def _check_inputs(self, pred, target):
        """(pred, maps, labels, first) for a forward on (pred, target)."""
        pred = check_pred(pred, type(self).__name__, self._legacy_hint)
        # softmax is ignored for one channel (as MONAI): pred is then used as it is
        if self.sigmoid or (self.softmax and pred.shape[1] > 1):
            check_finite(pred, "pred")
        else:
            try:
                check_in_range(pred, "pred", 0, 1)
            except ValueError as e:
                raise ValueError(f"{e}: with sigmoid=False and softmax=False pred must be "
                                 "probabilities (for logits set sigmoid=True or softmax=True)") from None
        maps, labels = prepare_target(target, pred, self.to_onehot_y)
        c = pred.shape[1]
        warn_onehot_ignored(self.to_onehot_y, c)
        return pred, maps, labels, first_channel(self.include_background, c)

    def _forward(self, pred, target):
        pred, maps, _, first = self._check_inputs(pred, target)
        prob, kind = activate(pred, self.sigmoid, self.softmax)
        value, coef = self._overlap(prob, maps, first)
        self._saved = (prob, maps, first, coef, kind)
        return value

    def _backward(self):
        prob, maps, first, coef, kind = self._saved
        return deactivate(self._overlap_grad(prob, maps, first, coef), prob, kind)

    def _overlap(self, prob, maps, first):
        """The loss of probabilities ``prob`` against ``maps`` (both
        (N, C, *spatial)) over the classes from ``first``, and the
        coefficients its gradient needs (already scaled by the reduction)."""
        n, c = prob.shape[:2]
        p = prob[:, first:].reshape(n, c - first, -1)
        t = maps[:, first:].reshape(n, c - first, -1)
        inter, sum_p, sum_t = overlap_sums(p, t, self.batch, self._squared)
        f, a, b, den = self._terms(inter, sum_p, sum_t)
        check_denominator(den, self.batch, first)
        w = class_weight_for(self._class_weight, c - first, first) if c - first != 1 else None
        if w is not None:
            f, a, b = f * w, a * w, b * w
        scale = self._scale(f.size)
        return float(f.sum()) * scale, (a * scale, b * scale)

    def _overlap_grad(self, prob, maps, first, coef):
        """d loss / d prob, of prob's shape (0 for the classes left out)."""
        n, c = prob.shape[:2]
        shape = (1, c - first, 1) if self.batch else (n, c - first, 1)
        dt = prob.dtype
        a, b = (x.astype(dt).reshape(shape) for x in coef)
        grad = np.zeros((n, c, prob[0, 0].size), dtype=dt)
        t = maps[:, first:].reshape(n, c - first, -1)
        if self._squared:
            grad[:, first:] = a * t + b * prob[:, first:].reshape(n, c - first, -1)
        else:
            grad[:, first:] = a * t + b
        return grad.reshape(prob.shape)

    def _terms(self, inter, sum_p, sum_t):
        raise NotImplementedError
