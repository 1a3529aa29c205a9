"""``evaluate`` and ``predict``: batched forward passes in eval mode."""
import numpy as np

from nnfast._inference import inference_mode
from nnfast._validation import check_int
from nnfast.training.checks import check_inputs, check_loss, check_model, check_targets
from nnfast.training.metrics import RunningMetrics, count_correct, target_kind

DEFAULT_BATCH_SIZE = 256


def eval_mode(model):
    """Run a block as in eval mode for the calling thread only
    (nnfast._inference): the model's ``training`` flag is never touched, so
    threads predicting at once, or predicting while another trains, leave
    it as it was."""
    return inference_mode()


def predict(model, X, batch_size=DEFAULT_BATCH_SIZE):
    """The model's output on ``X``, computed in eval mode, ``batch_size`` rows at a time.

    Parameters
    ----------
    model : Sequential or Layer
    X : array_like of shape (N, ...)
    batch_size : int >= 1

    Returns
    -------
    ndarray of shape (N, ...)
        The last layer's output for every sample.
    """
    check_model(model)
    X = check_inputs(X, model)
    batch_size = check_int(batch_size, "batch_size", 1)
    n = X.shape[0]
    out = None
    with eval_mode(model):
        for start in range(0, n, batch_size):
            y = np.asarray(model.forward(X[start:start + batch_size]))
            if out is None:
                out = np.empty((n,) + y.shape[1:], dtype=y.dtype)
            out[start:start + y.shape[0]] = y
    return out


def evaluate(model, X, y, loss, batch_size=DEFAULT_BATCH_SIZE):
    """Loss and accuracy of ``model`` on ``(X, y)``, in eval mode, batched.

    Parameters
    ----------
    model : Sequential or Layer
    X : array_like of shape (N, ...)
    y : array_like of shape (N,) (class labels), (N, C) (one-hot) or the
        shape the loss expects
    loss : a loss object (``forward(pred, target) -> float``)
    batch_size : int >= 1

    Returns
    -------
    dict
        ``{"loss": float, "accuracy": float or None}``: the loss over the
        whole set (the batch means weighted by batch size) and the fraction
        of samples whose argmax over the output's axis 1 is the target class
        (None for outputs with one column or targets that are not classes).
    """
    check_model(model)
    check_loss(loss)
    X = check_inputs(X, model)
    y = check_targets(y, X.shape[0])
    batch_size = check_int(batch_size, "batch_size", 1)
    kind = target_kind(y)
    metrics = RunningMetrics(loss)
    with eval_mode(model):
        for start in range(0, X.shape[0], batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            out = model.forward(xb)
            value = float(loss.forward(out, yb))
            metrics.add(value, xb.shape[0], count_correct(out, yb, kind))
    return {"loss": metrics.loss, "accuracy": metrics.accuracy}
