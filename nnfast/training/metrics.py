"""Accuracy, batch-averaged loss and the other metrics ``fit`` and
``evaluate`` report (``metrics=["accuracy", "dice", ...]``)."""
import copy

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


# -- metrics beyond the loss and accuracy -------------------------------------
class Metric:
    """A quantity accumulated over the batches of an epoch.

    ``reset()`` starts a new epoch, ``update(output, target)`` adds a batch
    (the model's output and the targets, as the loss sees them) and
    ``result()`` is the value over every batch since the reset (None where it
    does not apply). ``name`` is the key in ``History`` and in callbacks'
    logs (``"val_" + name`` on validation data).
    """

    name = None

    def reset(self):
        raise NotImplementedError

    def update(self, output, target):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class _Overlap(Metric):
    """Per-class overlap counts of the predicted and the target classes,
    pooled over every sample and pixel of the epoch.

    The predicted class is the argmax over axis 1 of (N, C, ...) scores; a
    one-channel output (N, 1, ...) is one foreground class, predicted where
    the output exceeds ``threshold`` (0.5 for probabilities; give 0.0 for
    logits). Targets are class labels (N, ...) or one-hot (N, C, ...); for
    one channel, 0/1 masks of shape (N, 1, ...) or (N, ...).

    Parameters
    ----------
    include_background : bool, default False
        Count class 0 too (it is left out by default, as MONAI's metrics do
        for segmentation).
    threshold : float, default 0.5
    """

    def __init__(self, include_background=False, threshold=0.5):
        if not isinstance(include_background, (bool, np.bool_)):
            raise TypeError(f"include_background must be True or False, got {include_background!r}")
        self.include_background = bool(include_background)
        from nnfast._validation import check_float
        self.threshold = check_float(threshold, "threshold")
        self.reset()

    def reset(self):
        self.intersection = self.predicted = self.actual = None

    def update(self, output, target):
        pred, true, n_classes = _classes(output, target, self.threshold, self.name)
        counts = (np.bincount(true[pred == true], minlength=n_classes),
                  np.bincount(pred, minlength=n_classes), np.bincount(true, minlength=n_classes))
        if self.intersection is None or self.intersection.size != n_classes:
            self.intersection, self.predicted, self.actual = counts
        else:
            self.intersection += counts[0]
            self.predicted += counts[1]
            self.actual += counts[2]

    def result(self):
        if self.intersection is None:
            return None
        first = 0 if self.include_background else 1
        inter = self.intersection[first:].astype(np.float64)
        pred, true = self.predicted[first:], self.actual[first:]
        scores = self._score(inter, pred, true)
        present = (pred + true) > 0
        # classes absent from both prediction and target are left out; with
        # none left, prediction and target agree perfectly (both empty)
        return float(np.mean(scores[present])) if np.any(present) else 1.0

    def __repr__(self):
        return (f"{type(self).__name__}(include_background={self.include_background}, "
                f"threshold={self.threshold})")


class Dice(_Overlap):
    """Dice overlap 2 |P & T| / (|P| + |T|) per class, averaged over the
    classes (see ``_Overlap`` for what counts)."""

    name = "dice"

    @staticmethod
    def _score(inter, pred, true):
        with np.errstate(invalid="ignore", divide="ignore"):
            return 2 * inter / (pred + true)


class IoU(_Overlap):
    """Intersection over union |P & T| / |P | T| per class, averaged over the
    classes (Jaccard index)."""

    name = "iou"

    @staticmethod
    def _score(inter, pred, true):
        with np.errstate(invalid="ignore", divide="ignore"):
            return inter / (pred + true - inter)


class _ElementError(Metric):
    """Mean of an element-wise error between output and target (same size)."""

    def reset(self):
        self.total = 0.0
        self.count = 0

    def __init__(self):
        self.reset()

    def update(self, output, target):
        output = np.asarray(output)
        target = np.asarray(target, dtype=output.dtype)
        if target.size != output.size:
            raise ValueError(f"metric {self.name!r} needs targets of the output's size: output "
                             f"{output.shape}, target {target.shape}")
        self.total += float(self._error(output - target.reshape(output.shape)).sum(dtype=np.float64))
        self.count += output.size

    def result(self):
        return self.total / self.count if self.count else None


class MeanSquaredError(_ElementError):
    """Mean of (output - target)**2 over every element."""

    name = "mse"

    @staticmethod
    def _error(d):
        return d * d


class MeanAbsoluteError(_ElementError):
    """Mean of |output - target| over every element."""

    name = "mae"

    @staticmethod
    def _error(d):
        return np.abs(d)


METRICS = {"dice": Dice, "iou": IoU, "mse": MeanSquaredError, "mae": MeanAbsoluteError}
ACCURACY_NAMES = ("accuracy", "acc")


def resolve_metrics(metrics):
    """``metrics`` (None, or a list of names and Metric objects) as new Metric
    objects, accuracy left out (``fit`` and ``evaluate`` always report it
    where it applies). Names must be unique."""
    if metrics is None:
        return []
    if isinstance(metrics, (str, Metric)):
        metrics = [metrics]
    try:
        items = list(metrics)
    except TypeError:
        raise TypeError(f"metrics must be a list of names ({', '.join(('accuracy',) + tuple(METRICS))}) "
                        f"or Metric objects, got {type(metrics).__name__}") from None
    out = []
    for i, m in enumerate(items):
        if isinstance(m, str):
            if m in ACCURACY_NAMES:
                continue
            if m not in METRICS:
                raise ValueError(f"metrics[{i}] must be one of {('accuracy',) + tuple(METRICS)} or a "
                                 f"Metric, got {m!r}")
            out.append(METRICS[m]())
        elif isinstance(m, Metric):
            if not isinstance(m.name, str) or not m.name:
                raise ValueError(f"metrics[{i}] ({type(m).__name__}) must have a name")
            m = copy.deepcopy(m)
            m.reset()
            out.append(m)
        else:
            raise TypeError(f"metrics[{i}] must be a metric name or a Metric, got {type(m).__name__}")
    names = [m.name for m in out]
    for name in names:
        if names.count(name) > 1 or name in ACCURACY_NAMES or name.startswith("val_") \
                or name in ("loss", "lr", "seconds", "samples_per_second", "epoch"):
            raise ValueError(f"metric name {name!r} is repeated or reserved")
    return out


def _classes(output, target, threshold, name):
    """Predicted and true class per sample and pixel, as flat int arrays, and
    the number of classes."""
    output = np.asarray(output)
    target = np.asarray(target)
    if output.ndim < 2:
        raise ValueError(f"metric {name!r} needs outputs of shape (N, C, ...), got {output.shape}")
    n_classes = output.shape[1]
    if n_classes == 1:
        pred = (output[:, 0] > threshold).astype(np.intp)
        if target.shape == output.shape:
            target = target[:, 0]
        if target.shape != pred.shape:
            raise ValueError(f"metric {name!r}: one-channel output {output.shape} needs a mask of "
                             f"shape {output.shape} or {pred.shape}, got {target.shape}")
        true = (target > 0.5).astype(np.intp)
        return pred.reshape(-1), true.reshape(-1), 2
    pred = output.argmax(axis=1)
    if target.shape == output.shape:
        target = target.argmax(axis=1)
    if target.shape != pred.shape:
        raise ValueError(f"metric {name!r}: output {output.shape} needs class labels of shape "
                         f"{pred.shape} or one-hot targets of shape {output.shape}, got {target.shape}")
    true = target.astype(np.intp, copy=False)
    if true.size and (true.min() < 0 or true.max() >= n_classes):
        raise ValueError(f"metric {name!r}: labels must be in [0, {n_classes - 1}], "
                         f"got {true.min() if true.min() < 0 else true.max()}")
    return pred.reshape(-1), true.reshape(-1), n_classes
