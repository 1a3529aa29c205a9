"""``evaluate``, ``predict`` and ``predict_proba``: batched forward passes in eval mode."""
import weakref

import numpy as np

from nnfast._inference import inference_mode
from nnfast._validation import as_float_array, check_int
from nnfast.training.checks import check_inputs, check_loss, check_model, check_targets
from nnfast.training.metrics import RunningMetrics, count_correct, resolve_metrics, target_kind

DEFAULT_BATCH_SIZE = 256

# model -> the loss its last nf.fit trained it with (evaluate's default)
_fit_losses = weakref.WeakKeyDictionary()


def eval_mode(model):
    """Run a block as in eval mode for the calling thread only
    (nnfast._inference): the model's ``training`` flag is never touched, so
    threads predicting at once, or predicting while another trains, leave
    it as it was."""
    return inference_mode()


def remember_fit_loss(model, loss):
    _fit_losses[model] = loss


def default_loss(model, y):
    """The loss ``evaluate`` uses when given none: the one ``nf.fit`` last
    trained ``model`` with; else, for class labels or one-hot targets, the
    cross-entropy that fits the output layer (NLLLoss after LogSoftmax,
    CrossEntropyLoss on logits)."""
    loss = _fit_losses.get(model)
    if loss is not None:
        return loss
    from nnfast import losses
    last = _last_layer(model)
    if target_kind(y) is not None:
        if type(last).__name__ == "LogSoftmax":
            return losses.NLLLoss()
        if type(last).__name__ not in ("Softmax", "Sigmoid"):
            return losses.CrossEntropyLoss()
    raise TypeError(f"loss must be given: this model was not trained by nf.fit, and its targets or "
                    f"its output layer ({type(last).__name__}) have no default (pass e.g. "
                    "loss=nf.losses.MSELoss())")


def _last_layer(model):
    while getattr(model, "layers", None):
        model = model.layers[-1]
    return model


def predict(model, X, batch_size=DEFAULT_BATCH_SIZE):
    """The model's output on ``X``, computed in eval mode, ``batch_size`` rows at a time.

    Parameters
    ----------
    model : Sequential or Layer
    X : array_like of shape (N, ...), or, for an ``nf.Graph`` of several
        inputs, a dict {input name: array of shape (N, ...)}
    batch_size : int >= 1

    Returns
    -------
    ndarray of shape (N, ...)
        The last layer's output for every sample; a tuple of them for a
        Graph of several outputs.
    """
    check_model(model)
    batch_size = check_int(batch_size, "batch_size", 1)
    if isinstance(X, dict):
        if not X:
            raise ValueError("X must hold at least one input array, got an empty dict")
        X = {k: check_inputs(v, model, f"X[{k!r}]") for k, v in X.items()}
        counts = {k: v.shape[0] for k, v in X.items()}
        if len(set(counts.values())) > 1:
            raise ValueError(f"X's arrays must hold the same number of samples, got {counts}")
        n = next(iter(counts.values()))
        batch = lambda start: {k: v[start:start + batch_size] for k, v in X.items()}  # noqa: E731
    else:
        X = check_inputs(X, model)
        n = X.shape[0]
        batch = lambda start: X[start:start + batch_size]  # noqa: E731
    outs = None
    several = False
    with eval_mode(model):
        for start in range(0, n, batch_size):
            y = model.forward(batch(start))
            several = isinstance(y, tuple)
            ys = [np.asarray(a) for a in (y if several else (y,))]
            if outs is None:
                outs = [np.empty((n,) + a.shape[1:], dtype=a.dtype) for a in ys]
            for out, a in zip(outs, ys):
                out[start:start + a.shape[0]] = a
    return tuple(outs) if several else outs[0]


def predict_proba(model, X, batch_size=DEFAULT_BATCH_SIZE):
    """Class probabilities (N, C, ...) of a classifier, in eval mode.

    By the output layer: a Softmax's output as it is, exp of a
    LogSoftmax's, [1 - p, p] for a one-column Sigmoid, and a softmax over
    axis 1 of anything else (logits).
    """
    out = predict(model, X, batch_size)
    if out.ndim < 2:
        raise ValueError(f"predict_proba needs outputs of shape (N, C, ...), got {out.shape}")
    kind = type(_last_layer(model)).__name__
    if kind == "Softmax":
        return out
    if kind == "LogSoftmax":
        return np.exp(out)
    if kind == "Sigmoid":
        if out.shape[1] != 1:
            raise ValueError(f"predict_proba of a Sigmoid output needs one column (binary), got {out.shape}")
        return np.concatenate([1 - out, out], axis=1)
    shifted = out - out.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def evaluate(model, X, y=None, loss=None, batch_size=DEFAULT_BATCH_SIZE, metrics=None):
    """Loss, accuracy and ``metrics`` of ``model`` on ``(X, y)``, in eval mode, batched.

    Parameters
    ----------
    model : Sequential or Layer
    X : array_like of shape (N, ...), or an ``nf.data.DataLoader`` of (x, y)
        batches (then ``y`` is None)
    y : array_like of shape (N,) (class labels), (N, C) (one-hot) or the
        shape the loss expects
    loss : a loss object or None
        None: the loss ``nf.fit`` last trained the model with, or a
        cross-entropy for class targets (see ``default_loss``).
    batch_size : int >= 1
    metrics : list of names or Metric objects, optional
        "dice", "iou", "mse", "mae" (accuracy is always reported where it
        applies).

    Returns
    -------
    dict
        ``{"loss": float, "accuracy": float or None, <metric>: float, ...}``:
        the loss over the whole set (the batch means weighted by batch
        size), the fraction of samples whose argmax over the output's axis
        1 is the target class (None for outputs with one column or targets
        that are not classes), and each metric.
    """
    from nnfast.data import DataLoader

    check_model(model)
    extra = resolve_metrics(metrics)
    if isinstance(X, DataLoader):
        if y is not None:
            raise TypeError("y must be None when X is a DataLoader (its batches hold the targets)")
        batches = _loader_batches(X, model)
        first = None
    else:
        X = check_inputs(X, model)
        y = check_targets(y, X.shape[0])
        batch_size = check_int(batch_size, "batch_size", 1)
        kind = target_kind(y)
        batches = ((X[s:s + batch_size], y[s:s + batch_size], kind)
                   for s in range(0, X.shape[0], batch_size))
        first = y
    if loss is not None:
        check_loss(loss)
    running = None
    with eval_mode(model):
        for xb, yb, kind in batches:
            if loss is None:
                loss = check_loss(default_loss(model, yb if first is None else first))
            if running is None:
                running = RunningMetrics(loss)
            out = model.forward(xb)
            value = float(loss.forward(out, yb))
            running.add(value, xb.shape[0], count_correct(out, yb, kind))
            for m in extra:
                m.update(out, yb)
    result = {"loss": running.loss, "accuracy": running.accuracy}
    result.update({m.name: m.result() for m in extra})
    return result


def _loader_batches(loader, model):
    from nnfast.training.checks import model_dtype
    dtype = model_dtype(model)
    for b, batch in enumerate(loader):
        if not isinstance(batch, tuple) or len(batch) < 2:
            raise ValueError(f"evaluate needs a DataLoader whose batches are (x, y); batch {b + 1} is not")
        xb = as_float_array(batch[0], "a DataLoader batch's x", dtype=dtype)
        yb = check_targets(batch[1], xb.shape[0], "a DataLoader batch's y", "its x")
        yield xb, yb, target_kind(yb)
