"""Per-class Dice and IoU of label maps, as MONAI's DiceMetric and MeanIoU.

For each sample and class c, with P the predicted pixels of class c and T
the true ones:

- Dice = 2 |P & T| / (|P| + |T|), IoU = |P & T| / |P | T|;
- a class absent from the sample's truth (|T| = 0): with ``ignore_empty``
  (the default) the value is NaN and is left out of the mean over samples;
  without it, 1 where the prediction is empty too and 0 where it is not
  (MONAI's rule for both metrics).

The result is the mean over samples of each class's values, NaN left out
(MONAI's ``reduction="mean_batch"``), and NaN for a class that no sample's
truth holds (MONAI writes 0 there); ``np.nanmean`` of it is the mean over
classes that MONAI's default reduction gives when every sample has every
class.

All counts come from one ``np.bincount`` of (sample, true class, predicted
class) over every pixel, so any spatial shape costs one pass.
"""
import numbers

import numpy as np


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _label_map(labels, name, num_classes):
    """``labels`` as an int64 array, every value in [0, num_classes)."""
    if isinstance(labels, (str, bytes, dict, set)) or labels is None:
        raise TypeError(f"{name} must be an integer array of class labels, got "
                        f"{type(labels).__name__}")
    arr = np.asarray(labels)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise ValueError(f"{name} must be label maps of shape (n_samples, *spatial) with at least "
                         f"one spatial axis, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name} labels must be in [0, {num_classes - 1}] (num_classes "
                         f"{num_classes}), got {bad}")
    return arr.astype(np.int64, copy=False)


def _counts(pred_labels, true_labels, num_classes, include_background):
    """Per sample and class (n_samples, classes): |P & T|, |P|, |T|, the
    classes from 1 unless ``include_background``."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__} "
                        f"{num_classes!r}")
    num_classes = int(num_classes)
    include_background = _check_bool(include_background, "include_background")
    lowest = 1 if include_background else 2
    if num_classes < lowest:
        raise ValueError(f"num_classes must be >= {lowest} (include_background="
                         f"{include_background}), got {num_classes}")
    pred = _label_map(pred_labels, "pred_labels", num_classes)
    true = _label_map(true_labels, "true_labels", num_classes)
    if pred.shape != true.shape:
        raise ValueError(f"pred_labels and true_labels must have the same shape, got "
                         f"{pred.shape} and {true.shape}")
    n, k = pred.shape[0], num_classes
    sample = np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (pred.ndim - 1))
    cells = np.bincount(((sample * k + true) * k + pred).ravel(), minlength=n * k * k)
    confusion = cells.reshape(n, k, k).astype(np.float64)     # [sample, true, predicted]
    inter = np.diagonal(confusion, axis1=1, axis2=2)
    true_o, pred_o = confusion.sum(axis=2), confusion.sum(axis=1)
    first = 0 if include_background else 1
    return inter[:, first:], pred_o[:, first:], true_o[:, first:]


def _reduce(values):
    """The mean over samples, NaN left out; NaN where every sample's is."""
    valid = ~np.isnan(values)
    count = valid.sum(axis=0)
    total = np.where(valid, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def dice(pred_labels, true_labels, num_classes, include_background=False, ignore_empty=True):
    """Per-class Dice of predicted against true label maps (MONAI's DiceMetric).

    Parameters
    ----------
    pred_labels, true_labels : int arrays of shape (n_samples, *spatial)
        Class labels in [0, num_classes), e.g. (N, H, W) or (N, D, H, W).
    num_classes : int
        Classes, background (label 0) included.
    include_background : bool, default False
        Also score class 0.
    ignore_empty : bool, default True
        A class absent from a sample's truth is left out of that class's mean
        (else it scores 1 if the prediction is empty too, 0 if not).

    Returns
    -------
    ndarray of shape (num_classes,) or (num_classes - 1,), float64
        Each class's mean over samples; NaN for a class no sample's truth
        holds (with ``ignore_empty``). The mean foreground Dice is
        ``np.nanmean`` of it.
    """
    ignore_empty = _check_bool(ignore_empty, "ignore_empty")
    inter, pred_o, true_o = _counts(pred_labels, true_labels, num_classes, include_background)
    denom = pred_o + true_o
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(true_o > 0, 2.0 * inter / np.where(denom > 0, denom, 1.0), 0.0)
    if ignore_empty:
        values = np.where(true_o > 0, values, np.nan)
    else:
        values = np.where(true_o > 0, values, np.where(denom > 0, 0.0, 1.0))
    return _reduce(values)


def iou(pred_labels, true_labels, num_classes, include_background=False, ignore_empty=True):
    """Per-class intersection over union of label maps (MONAI's MeanIoU).

    Parameters and result as ``dice``: IoU = |P & T| / |P | T| per sample and
    class, a class absent from the truth NaN (``ignore_empty``) or 1 / 0 as
    the prediction is empty or not.
    """
    ignore_empty = _check_bool(ignore_empty, "ignore_empty")
    inter, pred_o, true_o = _counts(pred_labels, true_labels, num_classes, include_background)
    union = pred_o + true_o - inter
    safe = np.where(union > 0, union, 1.0)
    values = inter / safe
    if ignore_empty:
        values = np.where(true_o > 0, values, np.nan)
    else:
        values = np.where(union > 0, values, 1.0)
    return _reduce(values)
