"""``nf.fit``: the mini-batch training loop."""
import warnings

import numpy as np

from nnfast._random import get_rng
from nnfast._validation import MAX_EPOCHS, check_float, check_int
from nnfast.callbacks.base import Callback, check_callbacks
from nnfast.callbacks.lr import LearningRateScheduler
from nnfast.training.batches import ArrayBatches, LoaderBatches
from nnfast.training.checks import (check_inputs, check_loss, check_model, check_optimizer,
                                    check_targets, model_dtype)
from nnfast.training.evaluate import remember_fit_loss
from nnfast.training.metrics import resolve_metrics
from nnfast.training.progress import EpochReporter, check_verbose
from nnfast.training.trainer import Trainer, validation_batch_size
from nnfast.training.weighting import (check_class_weight, check_sample_weight, check_weightable,
                                       weights_from_classes)


def fit(model, X, y=None, loss=None, optimizer=None, epochs=1, batch_size=32, shuffle=True,
        validation_data=None, progress=True, schedule=None, track_grad_norms=False,
        rng=None, callback=None, *, callbacks=None, verbose=None, metrics=None,
        validation_split=0.0, class_weight=None, sample_weight=None, resume_from=None,
        distributed=False):
    """Train ``model`` on ``(X, y)`` by mini-batch gradient descent.

    Each batch: ``optimizer.zero_grad()``, forward, ``loss.forward``,
    backward, ``optimizer.step()``.

    Parameters
    ----------
    model : Sequential or Layer
    X : array_like of shape (N, ...), or an ``nf.data.DataLoader``
        Arrays are converted once to the model's dtype (its first
        parameter's). A DataLoader yields (x, y) or (x, y, sample_weight)
        batches (then ``y`` is None, and ``batch_size``, ``shuffle`` and
        ``rng`` are the loader's own).
    y : array_like of shape (N,) (class labels), (N, C) (one-hot) or what the loss expects
    loss : a loss object: ``forward(pred, target) -> float``, ``backward() -> grad``
        ``evaluate`` uses it afterwards when given no loss.
    optimizer : an optimizer over ``model.parameters()``: ``step()``, ``zero_grad()``
    epochs : int >= 1
        The total number of epochs (with ``resume_from``, including those
        already done).
    batch_size : int >= 1
        The last batch of an epoch may be smaller.
    shuffle : bool
        Visit the samples in a new random order each epoch.
    validation_data : (X_val, y_val), a DataLoader, or None
        Evaluated (eval mode) after each epoch.
    progress : bool
        The default of ``verbose``: True is 1, False is 0.
    schedule : callable or None
        ``schedule(epoch, base_lr) -> lr`` (epoch counted from 0; base_lr the
        optimizer's ``initial_lr``, the rate it was built with, or its ``lr``
        when ``fit`` starts if it has no ``initial_lr``), applied to
        ``optimizer.lr`` at the start of each epoch; e.g. ``nf.optim.StepLR``.
        The same as ``callbacks=[nf.callbacks.LearningRateScheduler(schedule)]``.
    track_grad_norms : bool
        Record, per layer with parameters, the L2 norm of its weight
        gradient averaged over each epoch's batches (``History.grad_norms``).
    rng : int, numpy.random.Generator or None
        For shuffling; None uses ``nf.seed``'s generator.
    callback : callable or None
        Deprecated: ``callback(history)`` after each epoch; use
        ``callbacks=[nf.callbacks.LambdaCallback(on_epoch_end=...)]``.
    callbacks : list of nf.callbacks.Callback
        EarlyStopping, ModelCheckpoint, LearningRateScheduler,
        ReduceLROnPlateau, CSVLogger, TensorBoard, or your own.
    verbose : {0, 1, 2, "auto"} or None
        As Keras: 0 silent; 1 a live progress bar (on sys.stderr, only when
        it is a terminal) and one line per epoch kept on sys.stdout (loss,
        metrics, validation metrics, samples/s, time); 2 the lines only.
        None: from ``progress``.
    metrics : list of names or nf.training.metrics.Metric objects
        Besides the loss and accuracy (always reported where they apply):
        "dice", "iou" (segmentation), "mse", "mae".
    validation_split : float in [0, 1)
        Hold out this fraction of (X, y), the last samples before any
        shuffling, as validation data (instead of ``validation_data``).
    class_weight : dict {class: weight} or sequence of weights per class
        Weights each sample's loss by its class's weight.
    sample_weight : array_like of shape (N,)
        Weights each sample's loss (multiplied by ``class_weight``'s). The
        weighted batch loss is ``sum_i w_i * l_i / N``; it needs a loss
        that is a mean of per-sample losses (see nnfast.training.weighting).
    resume_from : str, os.PathLike or None
        A checkpoint written by ``nf.callbacks.ModelCheckpoint``: its
        parameters, optimizer state, epoch count, History, shuffling state,
        DataLoader seed and callback states are restored into ``model``,
        ``optimizer``, the generators and ``callbacks``, and training runs
        the epochs still missing from ``epochs``, continuing as it would
        have had it never stopped (bit for bit where the kernels are
        deterministic, as at one thread). ``nf.seed``'s generator is set to
        its state at the checkpoint too (Dropout draws from it). With
        ``distributed``, every rank reads the same file.
    distributed : bool
        Data-parallel training over MPI (``nnfast.distributed``, the ``mpi``
        extra): run the same ``fit`` on every rank of ``mpiexec -n P``.
        ``batch_size`` is then per rank (a step trains on P * batch_size
        samples), each rank trains on its share of every shuffled batch
        (one order for all ranks: rank 0's ``rng``), the gradients are
        averaged over ranks (``optimizer`` is wrapped in a
        ``DistributedOptimizer`` unless it is one), the progress display
        (counting rank 0's samples) and the callbacks with ``root_only``
        (ModelCheckpoint, CSVLogger, TensorBoard, ``callback``) run on rank
        0 only, the others on every rank, and the training and validation
        metrics are over all ranks (validation arrays are shared out among
        the ranks; a validation DataLoader is evaluated whole on each). X
        must be arrays: a DataLoader is not sharded yet (a ValueError). In
        a single process it trains as without it.

    Returns
    -------
    History
        Every epoch's numbers, those before a resume included.

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
    from nnfast.data import DataLoader

    check_model(model)
    check_loss(loss)
    check_optimizer(optimizer)
    epochs = check_int(epochs, "epochs", 1, MAX_EPOCHS)
    batch_size = check_int(batch_size, "batch_size", 1)
    level = check_verbose(verbose, progress)
    extra = resolve_metrics(metrics)
    validation_split = check_float(validation_split, "validation_split", 0.0, 1.0, max_inclusive=False)
    class_table = check_class_weight(class_weight)
    rng = get_rng(rng)
    if class_table is not None or sample_weight is not None:
        check_weightable(loss)

    if distributed is not False and isinstance(X, DataLoader):
        raise ValueError("fit(..., distributed=True) does not support a DataLoader as X yet: "
                         "give the arrays (X, y), which every rank shards itself")
    if isinstance(X, DataLoader):
        if y is not None:
            raise TypeError("y must be None when X is a DataLoader (its batches hold the targets)")
        for name, given in (("validation_split", validation_split != 0),
                            ("sample_weight", sample_weight is not None)):
            if given:
                raise ValueError(f"{name} does not apply to a DataLoader: give the loader (x, y, w) "
                                 "samples or a validation DataLoader")
        source = LoaderBatches(X, model_dtype(model), class_table)
    else:
        X = check_inputs(X, model)
        y = check_targets(y, X.shape[0])
        if not np.all(np.isfinite(X)):
            raise ValueError("X must be finite, got NaN or infinite values")
        weights = check_sample_weight(sample_weight, X.shape[0])
        if class_table is not None:
            by_class = weights_from_classes(class_table, y)
            weights = by_class if weights is None else weights * by_class
        if validation_split:
            if validation_data is not None:
                raise ValueError("give validation_data or validation_split, not both")
            split = int(X.shape[0] * (1.0 - validation_split))
            if not 1 <= split < X.shape[0]:
                raise ValueError(f"validation_split={validation_split} of {X.shape[0]} samples leaves "
                                 f"{split} for training and {X.shape[0] - split} for validation; "
                                 "both need at least one")
            validation_data = (X[split:], y[split:])
            X, y = X[:split], y[:split]
            weights = None if weights is None else weights[:split]
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        shuffle = bool(shuffle)
        source = ArrayBatches(X, y, weights, batch_size, shuffle, rng)
    if validation_data is not None:
        validation_data = _check_validation_data(validation_data, model)

    callbacks = check_callbacks(callbacks)
    if schedule is not None:
        if not callable(schedule):
            raise TypeError(f"schedule must be callable as schedule(epoch, base_lr) -> lr, got {type(schedule).__name__}")
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"schedule needs an optimizer with an lr attribute; {type(optimizer).__name__} has none")
        callbacks = [LearningRateScheduler(schedule)] + callbacks
    if callback is not None:
        if not callable(callback):
            raise TypeError(f"callback must be callable as callback(history), got {type(callback).__name__}")
        warnings.warn("fit(callback=f) is deprecated: use callbacks=[nf.callbacks.LambdaCallback("
                      "on_epoch_end=lambda epoch, logs: f(history))]", DeprecationWarning, stacklevel=2)
        callbacks = callbacks + [_HistoryCallback(callback)]

    # -- distributed=True (nnfast.distributed), after every check: a
    # DistributedOptimizer, one shuffle for all ranks, this rank's share of
    # each batch, progress on rank 0 (the trainer reduces the metrics and
    # runs the root_only callbacks on rank 0 alone).
    cluster = None
    if distributed is not False:
        from nnfast.distributed.fitting import DistributedFit
        cluster = DistributedFit(distributed, model, optimizer, rng, X.shape[0], batch_size,
                                 epochs=epochs, shuffle=shuffle,
                                 validation=_validation_size(validation_data),
                                 resume_from=None if resume_from is None else str(resume_from))
        optimizer, rng = cluster.optimizer, cluster.rng
        source = cluster.batches(X, y, weights, shuffle, rng)
        level = level if cluster.is_root else 0
    # -- end distributed
    try:
        backward, tracked = model.backward, _tracked_layers(model)
        reporter = EpochReporter(level, epochs, [m.name for m in extra])
        trainer = Trainer(model, loss, optimizer, source, epochs, rng, backward, tracked,
                          validation_data, callbacks, extra, reporter, bool(track_grad_norms),
                          validation_batch_size(batch_size), distributed=cluster)
        if resume_from is not None:
            trainer.resume(resume_from)     # distributed: every rank reads the same file
        remember_fit_loss(model, loss)

        was_training = model.training
        flags = _skip_input_grads(model)
        model.train()
        try:
            return trainer.run()
        finally:
            for layer, flag in flags:
                layer.requires_input_grad = flag
            model.train(was_training)
    finally:
        if cluster is not None:     # the model's backward as it was
            cluster.close()


class _HistoryCallback(Callback):
    """The deprecated ``callback(history)``, called after each epoch."""

    root_only = True    # it printed or saved: rank 0 alone under fit(distributed=True)

    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, epoch, logs=None):
        self.function(self.trainer.history)


def _check_validation_data(data, model):
    from nnfast.data import DataLoader

    if isinstance(data, DataLoader):
        return (data,)
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"validation_data must be a pair (X_val, y_val) or a DataLoader, got {type(data).__name__}"
                        + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    Xv = check_inputs(data[0], model, "validation_data[0]")
    yv = check_targets(data[1], Xv.shape[0], "validation_data[1]", "validation_data[0]")
    return Xv, yv


def _validation_size(data):
    """What every rank of a distributed fit must agree on about its validation data."""
    if data is None:
        return None
    return len(data[0]) if len(data) == 2 else "a DataLoader"


def _tracked_layers(model):
    """The (key, layer) pairs whose gradient norms can be tracked: the
    layers with parameters, keyed "<index>:<ClassName>"."""
    layers = getattr(model, "layers", None) or [model]
    return [(f"{i}:{type(layer).__name__}", layer)
            for i, layer in enumerate(layers) if layer.parameters()]


def _skip_input_grads(model):
    """Set ``requires_input_grad = False`` where the model says no gradient
    wrt the input is needed; return (layer, old flag) pairs to restore."""
    saved = [(layer, layer.requires_input_grad) for layer in model.layers_without_input_grad()]
    for layer, _ in saved:
        layer.requires_input_grad = False
    return saved
