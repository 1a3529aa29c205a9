"""Cross-entropy on logits (softmax fused in) and NLL on log-probabilities."""
import numpy as np

from nnfast import _backend
from nnfast._validation import (check_class_weights, check_classes, check_float,
                                check_labels)
from nnfast.losses.base import Loss


def _check_class_weight(weight):
    """weight as a float64 (C,) array of finite non-negative numbers, or None."""
    return None if weight is None else check_class_weights(weight)


class _LabelLoss(Loss):
    """A loss on (N, C) scores and class labels, with optional class weights.

    "mean" is torch's: sum_i w[y_i] * l_i / sum_i w[y_i] (the plain mean over
    the batch without weights).
    """

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self._spatial_shape = self._saved_spatial = None
        self.weight = _check_class_weight(weight)
        self._config = {"weight": None if self.weight is None else self.weight.tolist(),
                        "reduction": self.reduction}

    def _inputs(self, pred, target):
        pred = self._pred(pred)
        if pred.ndim < 2:
            raise ValueError(f"pred must have shape (N, C) or (N, C, *spatial), got shape "
                             f"{pred.shape}")
        check_classes(pred, "pred", type(self).__name__)
        # (N, C, *spatial), as torch: a label per position (a segmentation
        # mask), computed as (N * prod(spatial), C) rows with the class axis
        # last; backward moves it back
        self._spatial_shape = None
        if pred.ndim > 2:
            pred, target = self._flatten_spatial(pred, target)
        n, c = pred.shape
        labels = check_labels(target, n, c)
        w = None
        if self.weight is not None:
            if self.weight.shape[0] != c:
                raise ValueError(f"weight must have shape ({c},) (one per class of pred "
                                 f"{pred.shape}), got {self.weight.shape}")
            w = self.weight.astype(pred.dtype)
        return pred, labels, w

    def _flatten_spatial(self, pred, target):
        """pred (N, C, *spatial) as (N * prod(spatial), C) and target (integer
        labels (N, *spatial), or one-hot of pred's shape) as its rows'."""
        shape = pred.shape
        label_shape = shape[:1] + shape[2:]
        t = np.asarray(target)
        if t.shape == shape:
            t = np.moveaxis(t, 1, -1).reshape(-1, shape[1])
        elif t.shape == label_shape:
            t = t.reshape(-1)
        else:
            raise ValueError(f"target must have shape {label_shape} (a label per position of "
                             f"pred {shape}) or pred's shape (one-hot), got "
                             f"{t.shape}")
        self._spatial_shape = shape
        return np.ascontiguousarray(np.moveaxis(pred, 1, -1).reshape(-1, shape[1])), t

    def _unflatten_grad(self, grad):
        """grad of the (rows, C) scores back to pred's (N, C, *spatial)."""
        shape = self._saved_spatial
        if shape is None:
            return grad
        moved = grad.reshape(shape[:1] + shape[2:] + shape[1:2])
        return np.ascontiguousarray(np.moveaxis(moved, -1, 1))

    def _reduce(self, total, weight_sum, saved):
        """The loss of the batch from the sum of its terms (``total``) and of
        its labels' weights; keeps ``saved + (scale,)`` for ``_backward``, the
        scale of the gradient being 1 ("sum") or 1 / weight_sum ("mean")."""
        if self.reduction == "sum":
            value, scale = total, 1.0
        elif weight_sum == 0:
            raise ValueError("the class weights of this batch's labels sum to 0: "
                             "the weighted mean is undefined (use reduction='sum')")
        else:
            value, scale = total / weight_sum, 1.0 / weight_sum
        self._saved = saved + (scale,)
        self._saved_spatial = self._spatial_shape
        return value


class CrossEntropyLoss(_LabelLoss):
    """Softmax cross-entropy on logits: l_i = -log softmax(x_i)[y_i].

    Softmax and log are fused (log-sum-exp with the row's maximum subtracted),
    so logits of any magnitude give a finite loss.

    Parameters
    ----------
    weight : array_like of shape (C,), optional
        Non-negative class weights (cost-sensitive learning).
    reduction : {"mean", "sum"}
        "mean": sum_i w[y_i] * l_i / sum_i w[y_i], as torch.
    label_smoothing : float in [0, 1], default 0
        ``eps``: the target is (1 - eps) on the label plus eps / C on every
        class, as torch::

            l_i = (1 - eps) * w[y_i] * -log p_i[y_i] + eps / C * sum_c w[c] * -log p_i[c]

        (w = 1 without class weights), reduced as above.

    forward(pred, target): pred (N, C) logits; target int labels (N,) in
    [0, C) or one-hot (N, C). Or, as torch, pred (N, C, *spatial) (a
    segmentation network's per-pixel logits) with target labels (N, *spatial)
    or one-hot maps of pred's shape: every position is a term, "mean"
    averages over all N * prod(spatial) of them.
    """

    def __init__(self, weight=None, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", 0.0, 1.0)
        if self.label_smoothing:
            self._config["label_smoothing"] = self.label_smoothing

    def _forward(self, pred, target):
        pred, labels, w = self._inputs(pred, target)
        kernels = _backend.kernels()
        prob = np.empty_like(pred)
        total, weight_sum = kernels.cross_entropy_forward(pred, labels, w, prob)
        eps = self.label_smoothing
        smooth = 0.0
        if eps:
            # sum_i sum_c w[c] * -log p_i[c], from the log-probabilities (finite
            # where a probability underflows to 0)
            log_prob = np.empty_like(pred)
            kernels.log_softmax_forward(pred[:, :, None], log_prob[:, :, None])
            smooth = -float(log_prob.sum() if w is None else (log_prob @ w).sum())
            total = (1.0 - eps) * total + eps / pred.shape[1] * smooth
        return self._reduce(total, weight_sum, (prob, labels, w))

    def _backward(self):
        prob, labels, w, scale = self._saved
        grad = np.empty_like(prob)
        eps = self.label_smoothing
        _backend.kernels().cross_entropy_backward(prob, labels, w, (1.0 - eps) * scale, grad)
        if eps:
            # d/dx of eps / C * sum_c w[c] * -log p[c] is eps / C * (sum(w) * p - w)
            f = prob.dtype.type
            c = prob.shape[1]
            factor = f(eps / c * scale)
            if w is None:
                grad += factor * (f(c) * prob - f(1))
            else:
                grad += factor * (w.sum(dtype=prob.dtype) * prob - w)
        return self._unflatten_grad(grad)


class NLLLoss(_LabelLoss):
    """Negative log-likelihood on log-probabilities: l_i = -pred[i, y_i].

    Parameters
    ----------
    weight : array_like of shape (C,), optional
        Non-negative class weights.
    reduction : {"mean", "sum"}
        "mean": sum_i w[y_i] * l_i / sum_i w[y_i], as torch.

    forward(pred, target): pred (N, C) log-probabilities (e.g. LogSoftmax's
    output); target int labels (N,) or one-hot (N, C); or pred (N, C,
    *spatial) with labels (N, *spatial), as CrossEntropyLoss.
    """

    def _forward(self, pred, target):
        pred, labels, w = self._inputs(pred, target)
        total, weight_sum = _backend.kernels().nll_forward(pred, labels, w)
        return self._reduce(total, weight_sum, (pred, labels, w))

    def _backward(self):
        pred, labels, w, scale = self._saved
        grad = np.empty_like(pred)
        _backend.kernels().nll_backward(pred, labels, w, scale, grad)
        return self._unflatten_grad(grad)
