"""``class_weight`` and ``sample_weight`` of ``fit``: per-sample weights on
the loss, as Keras defines them.

With weights s_i the batch objective is (1/N) sum_i s_i * l_i (reduction
"mean") or sum_i s_i * l_i ("sum"), where l_i is sample i's own loss. That
needs a loss whose batch value is the mean (or sum) of per-sample losses:
nnfast's CrossEntropyLoss, NLLLoss (without their own class weights),
MSELoss, BCELoss, BCEWithLogitsLoss and HingeLoss, or any loss that says so
with ``samplewise = True``. The gradient of such a loss has one row per
sample, so the weighted gradient is the unweighted one with row i scaled by
s_i. The weighted value takes one extra loss forward per distinct weight in
the batch (at most one per class with ``class_weight``).
"""
import numbers

import numpy as np

from nnfast._validation import _numeric

SAMPLEWISE_LOSSES = ("CrossEntropyLoss", "NLLLoss", "MSELoss", "BCELoss",
                     "BCEWithLogitsLoss", "HingeLoss")


def check_weightable(loss):
    """Raise unless weights per sample are defined for ``loss``."""
    from nnfast import losses
    name = type(loss).__name__
    own = name in SAMPLEWISE_LOSSES and type(loss) is getattr(losses, name, None)
    if not (own or getattr(loss, "samplewise", False) is True):
        raise ValueError(f"class_weight and sample_weight need a loss whose batch value is the mean "
                         f"of per-sample losses ({', '.join(SAMPLEWISE_LOSSES)}, or a loss with "
                         f"samplewise = True); {name} is not")
    if getattr(loss, "weight", None) is not None:
        raise ValueError(f"class_weight and sample_weight cannot be combined with the loss's own "
                         f"class weights ({name}(weight=...)): give one of the two")


def check_class_weight(class_weight):
    """``class_weight`` (a dict class -> weight, or a sequence indexed by
    class) as a float64 lookup array, or None."""
    if class_weight is None:
        return None
    if isinstance(class_weight, dict):
        if not class_weight:
            raise ValueError("class_weight must not be empty")
        for k in class_weight:
            if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
                raise TypeError(f"class_weight keys must be class labels (ints >= 0), got {k!r}")
        table = np.full(max(class_weight) + 1, np.nan)
        for k, v in class_weight.items():
            table[k] = _weight(v, f"class_weight[{k}]")
        return table
    if isinstance(class_weight, (str, bytes)):
        raise TypeError(f"class_weight must be a dict {{class: weight}} or a sequence of weights, "
                        f"got {type(class_weight).__name__}")
    table = _numeric(class_weight, "class_weight").astype(np.float64)
    if table.ndim != 1 or table.size == 0:
        raise ValueError(f"class_weight must be one weight per class, shape (C,), got shape {table.shape}")
    for i, v in enumerate(table):
        _weight(v, f"class_weight[{i}]")
    return table


def _weight(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return float(v)


def class_labels(y, name="y"):
    """Integer class labels from labels (N,) or one-hot rows (N, C)."""
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.ndim == 1 and (y.dtype.kind in "iu" or np.all(y == np.round(y))):
        return y.astype(np.int64)
    raise ValueError(f"class_weight needs class labels (N,) or one-hot targets (N, C) in {name}, "
                     f"got shape {y.shape} and dtype {y.dtype}")


def weights_from_classes(table, y, name="y"):
    """Each sample's weight: ``table`` at its class label."""
    labels = class_labels(y, name)
    if labels.size and (labels.min() < 0 or labels.max() >= table.size
                        or np.any(np.isnan(table[labels]))):
        missing = sorted(set(labels.tolist()) - {i for i in range(table.size) if not np.isnan(table[i])})
        raise ValueError(f"class_weight has no weight for the classes {missing} found in {name}")
    return table[labels]


def check_sample_weight(sample_weight, n_samples):
    """``sample_weight`` as a float64 (N,) array of finite weights >= 0."""
    if sample_weight is None:
        return None
    w = _numeric(sample_weight, "sample_weight").astype(np.float64)
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},) (one weight per sample), "
                         f"got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must hold finite weights >= 0")
    return w


def weighted_loss(loss, out, target, weights):
    """(value, gradient wrt ``out``) of the weighted objective on one batch."""
    total = 0.0
    distinct, groups = np.unique(weights, return_inverse=True)
    sum_reduction = getattr(loss, "reduction", "mean") == "sum"
    for k, w in enumerate(distinct):
        if w == 0:
            continue
        idx = np.flatnonzero(groups == k)
        part = float(loss.forward(out[idx], target[idx]))
        total += w * (part if sum_reduction else part * idx.size)
    n = out.shape[0]
    loss.forward(out, target)          # the whole batch, for backward
    grad = loss.backward()
    grad = grad * weights.astype(grad.dtype).reshape((n,) + (1,) * (grad.ndim - 1))
    return (total if sum_reduction else total / n), grad
