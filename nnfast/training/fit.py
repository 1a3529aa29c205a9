"""``nf.fit``: the mini-batch training loop."""
import math
import time

import numpy as np

from nnfast._random import get_rng
from nnfast._validation import MAX_EPOCHS, check_float, check_int
from nnfast.network import Sequential
from nnfast.training.checks import (check_inputs, check_loss, check_model,
                                    check_optimizer, check_targets)
from nnfast.training.evaluate import DEFAULT_BATCH_SIZE, evaluate
from nnfast.training.history import History
from nnfast.training.metrics import RunningMetrics, count_correct, target_kind


def fit(model, X, y, loss, optimizer, epochs=1, batch_size=32, shuffle=True,
        validation_data=None, progress=True, schedule=None, track_grad_norms=False,
        rng=None, callback=None):
    """Train ``model`` on ``(X, y)`` by mini-batch gradient descent.

    Each batch: ``optimizer.zero_grad()``, forward, ``loss.forward``,
    backward, ``optimizer.step()``.

    Parameters
    ----------
    model : Sequential or Layer
    X : array_like of shape (N, ...)
        Converted once to the model's dtype (its first parameter's).
    y : array_like of shape (N,) (class labels), (N, C) (one-hot) or what the loss expects
    loss : a loss object: ``forward(pred, target) -> float``, ``backward() -> grad``
    optimizer : an optimizer over ``model.parameters()``: ``step()``, ``zero_grad()``
    epochs, batch_size : int >= 1
        The last batch of an epoch may be smaller.
    shuffle : bool
        Visit the samples in a new random order each epoch.
    validation_data : (X_val, y_val) or None
        Evaluated (eval mode) after each epoch.
    progress : bool
        Show a tqdm progress bar with the running loss (none if tqdm is
        not installed).
    schedule : callable or None
        ``schedule(epoch, base_lr) -> lr`` (epoch counted from 0; base_lr the
        optimizer's ``initial_lr``, the rate it was built with, or its ``lr``
        when ``fit`` starts if it has no ``initial_lr``), applied to
        ``optimizer.lr`` at the start of each epoch; e.g. ``nf.optim.StepLR``.
    track_grad_norms : bool
        Record, per layer with parameters, the L2 norm of its weight
        gradient averaged over each epoch's batches (``History.grad_norms``).
    rng : int, numpy.random.Generator or None
        For shuffling; None uses ``nf.seed``'s generator.
    callback : callable or None
        ``callback(history)``, called after each epoch (e.g. to print it).

    Returns
    -------
    History

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite; the message names the epoch and
        batch. The model keeps the parameters of the last finite step.

    Notes
    -----
    During training the first layer that has parameters (and every layer
    before it) gets ``requires_input_grad = False`` and the backward pass
    stops there: no layer needs the gradient with respect to the data.
    The flags and the model's train/eval mode are restored afterwards.
    """
    check_model(model)
    check_loss(loss)
    check_optimizer(optimizer)
    X = check_inputs(X, model)
    n = X.shape[0]
    y = check_targets(y, n)
    epochs = check_int(epochs, "epochs", 1, MAX_EPOCHS)
    batch_size = check_int(batch_size, "batch_size", 1)
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite, got NaN or infinite values")
    if validation_data is not None:
        validation_data = _check_validation_data(validation_data, model)
    if schedule is not None:
        if not callable(schedule):
            raise TypeError(f"schedule must be callable as schedule(epoch, base_lr) -> lr, got {type(schedule).__name__}")
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"schedule needs an optimizer with an lr attribute; {type(optimizer).__name__} has none")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable as callback(history), got {type(callback).__name__}")
    rng = get_rng(rng)
    base_lr = getattr(optimizer, "initial_lr", getattr(optimizer, "lr", None))
    kind = target_kind(y)
    history = History()
    backward, tracked = _plan(model)
    if track_grad_norms:
        history.grad_norms = {key: [] for key, _ in tracked}
    bar_class = _tqdm() if progress else None
    n_batches = -(-n // batch_size)

    was_training = model.training
    flags = _skip_input_grads(model)
    model.train()
    try:
        for epoch in range(epochs):
            if schedule is not None:
                optimizer.lr = check_float(schedule(epoch, base_lr), "schedule(epoch, base_lr)", 0.0)
            order = rng.permutation(n) if shuffle else None
            metrics = RunningMetrics(loss)
            norms = np.zeros(len(tracked))
            bar = None
            if bar_class is not None:
                bar = bar_class(total=n, unit="samples", leave=False,
                                desc=f"epoch {epoch + 1}/{epochs}")
            start = time.perf_counter()
            try:
                for b in range(n_batches):
                    lo, hi = b * batch_size, min(n, (b + 1) * batch_size)
                    if order is None:
                        xb, yb = X[lo:hi], y[lo:hi]
                    else:
                        idx = order[lo:hi]
                        xb, yb = X[idx], y[idx]
                    optimizer.zero_grad()
                    out = model.forward(xb)
                    value = float(loss.forward(out, yb))
                    if not math.isfinite(value):
                        raise FloatingPointError(
                            f"the loss became {value} at epoch {epoch + 1}, batch {b + 1} of {n_batches}: "
                            "training stopped (try a lower learning rate)")
                    backward(loss.backward())
                    if track_grad_norms:
                        for i, (_, layer) in enumerate(tracked):
                            norms[i] += _l2(layer.parameters()[0].grad)
                    optimizer.step()
                    metrics.add(value, hi - lo, count_correct(out, yb, kind))
                    if bar is not None:
                        bar.update(hi - lo)
                        bar.set_postfix_str(f"loss={metrics.loss:.4f}", refresh=False)
            finally:
                if bar is not None:
                    bar.close()
            seconds = time.perf_counter() - start
            if track_grad_norms:
                for i, (key, _) in enumerate(tracked):
                    history.grad_norms[key].append(float(norms[i] / n_batches))
            val = {"loss": None, "accuracy": None}
            if validation_data is not None:
                val = evaluate(model, *validation_data, loss=loss,
                               batch_size=max(batch_size, DEFAULT_BATCH_SIZE))
            history.append(epoch=epoch + 1, loss=metrics.loss, accuracy=metrics.accuracy,
                           val_loss=val["loss"], val_accuracy=val["accuracy"],
                           samples_per_second=n / seconds if seconds > 0 else float("inf"),
                           seconds=seconds, lr=_lr(optimizer))
            if callback is not None:
                callback(history)
    finally:
        for layer, flag in flags:
            layer.requires_input_grad = flag
        model.train(was_training)
    return history


def _check_validation_data(data, model):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"validation_data must be a pair (X_val, y_val), got {type(data).__name__}"
                        + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    Xv = check_inputs(data[0], model, "validation_data[0]")
    yv = check_targets(data[1], Xv.shape[0], "validation_data[1]", "validation_data[0]")
    return Xv, yv


def _first_trainable(model):
    """Index of the first layer of a Sequential that has parameters (0 if none)."""
    for i, layer in enumerate(model.layers):
        if layer.parameters():
            return i
    return 0


def _plain_sequential(model):
    return isinstance(model, Sequential) and type(model).backward is Sequential.backward


def _plan(model):
    """The backward function to call, and the (key, layer) pairs whose
    gradient norms can be tracked."""
    if not isinstance(model, Sequential):
        tracked = [(f"0:{type(model).__name__}", model)] if model.parameters() else []
        return model.backward, tracked
    tracked = [(f"{i}:{type(layer).__name__}", layer)
               for i, layer in enumerate(model.layers) if layer.parameters()]
    # Sequential.backward stops at the first layer with parameters, whose
    # requires_input_grad _skip_input_grads turns off.
    return model.backward, tracked


def _skip_input_grads(model):
    """Set ``requires_input_grad = False`` where no gradient wrt the input is
    needed; return (layer, old flag) pairs to restore."""
    if _plain_sequential(model):
        layers = model.layers[:_first_trainable(model) + 1]
    elif isinstance(model, Sequential):
        layers = model.layers[:1]
    else:
        layers = [model]
    saved = [(layer, layer.requires_input_grad) for layer in layers]
    for layer in layers:
        layer.requires_input_grad = False
    return saved


def _l2(a):
    flat = a.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))


def _lr(optimizer):
    lr = getattr(optimizer, "lr", None)
    try:
        return float(lr)
    except (TypeError, ValueError):
        return None


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm
