"""Accuracy and batch-averaged loss, as ``fit`` and ``evaluate`` report them."""
import numpy as np

LABELS, ONEHOT = "labels", "onehot"


def target_kind(y):
    """``"labels"`` for integer-valued targets, ``"onehot"`` for one-hot rows
    (axis 1), None for anything else (regression targets): decided once per
    data set so that batches need no checks."""
    if y.dtype.kind in "iu":
        return LABELS
    if y.dtype.kind == "f" and y.ndim == 1 and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return LABELS
    if y.ndim >= 2 and y.shape[1] > 1 and y.dtype.kind in "fb":
        if np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1):
            return ONEHOT
    return None


def count_correct(output, target, kind):
    """Number of samples (or pixels) whose argmax over axis 1 is the target
    class, and how many were counted; None when accuracy does not apply.

    Parameters
    ----------
    output : ndarray of shape (N, C, ...)
        Class scores (logits, probabilities or log-probabilities).
    target : ndarray of shape (N, ...) (labels) or (N, C, ...) (one-hot)
    kind : "labels", "onehot" or None (from ``target_kind``)
    """
    if kind is None or output.ndim < 2 or output.shape[1] < 2:
        return None
    if kind == LABELS:
        if target.shape != output.shape[:1] + output.shape[2:]:
            return None
        hits = output.argmax(axis=1) == target
    else:
        if target.shape != output.shape:
            return None
        hits = output.argmax(axis=1) == target.argmax(axis=1)
    return int(np.count_nonzero(hits)), hits.size


class RunningMetrics:
    """Loss and accuracy accumulated over batches.

    Batch losses are means over the batch (or sums, for a loss with
    ``reduction="sum"``); weighting each mean by its batch size makes the
    result the loss of the whole set, as one forward over it would give.
    """

    def __init__(self, loss):
        self.sum_reduction = getattr(loss, "reduction", "mean") == "sum"
        self.total = 0.0
        self.samples = 0
        self.correct = 0
        self.counted = 0
        self.accuracy_applies = True

    def add(self, value, n, correct):
        self.total += value if self.sum_reduction else value * n
        self.samples += n
        if correct is None:
            self.accuracy_applies = False
        else:
            self.correct += correct[0]
            self.counted += correct[1]

    @property
    def loss(self):
        if self.samples == 0:
            return float("nan")
        return self.total if self.sum_reduction else self.total / self.samples

    @property
    def accuracy(self):
        if not self.accuracy_applies or self.counted == 0:
            return None
        return self.correct / self.counted
