"""``Trainer``: the state of one ``nf.fit`` call and its epoch loop.

Callbacks see it as ``self.trainer``; ``fit`` builds it after checking its
arguments and calls ``run``.
"""
import math
import time

import numpy as np

from nnfast.callbacks.base import CallbackList
from nnfast.training.evaluate import DEFAULT_BATCH_SIZE, evaluate
from nnfast.training.history import History
from nnfast.training.metrics import RunningMetrics, count_correct
from nnfast.training.weighting import weighted_loss


class Trainer:
    """One ``fit`` call: what it trains, with what, and how far it got.

    Attributes
    ----------
    model, loss, optimizer
    history : History
    epochs : int
        The total number of epochs asked for.
    initial_epoch : int
        Epochs already done when this call started (a resumed fit's).
    epoch : int
        The current epoch, 0-based.
    stop_training : bool
        Set by a callback to end training after the current epoch.
    base_lr : float or None
        What a learning-rate schedule scales: the optimizer's ``initial_lr``.
    rng : numpy Generator
        Shuffles the batches of arrays.
    source : the batches (``ArrayBatches`` or ``LoaderBatches``)
    has_validation : bool
    tracked_layers : list of (key, layer)
        The layers with parameters, keyed ``"<index>:<ClassName>"``.
    batches_per_epoch : int
    distributed : nnfast.distributed.fitting.DistributedFit or None
        ``fit(..., distributed=True)``'s: the epoch's metrics are reduced
        over the ranks, the validation set is shared out among them, and
        the callbacks with ``root_only`` run on rank 0 alone.
    """

    def __init__(self, model, loss, optimizer, source, epochs, rng, backward, tracked_layers,
                 validation, callbacks, metrics, reporter, track_grad_norms, validation_batch_size,
                 distributed=None):
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.source, self.epochs, self.rng = source, epochs, rng
        self.backward, self.tracked_layers = backward, tracked_layers
        self.validation = validation
        self.has_validation = validation is not None
        self.metrics = metrics
        self.reporter = reporter
        self.track_grad_norms = track_grad_norms
        self.validation_batch_size = validation_batch_size
        self.history = History()
        self.initial_epoch = 0
        self.epoch = 0
        self.stop_training = False
        self.base_lr = getattr(optimizer, "initial_lr", getattr(optimizer, "lr", None))
        self.batches_per_epoch = len(source)
        self.distributed = distributed
        self.callbacks = CallbackList(callbacks, self,
                                      is_root=distributed is None or distributed.is_root)

    def save_checkpoint(self, path, include_optimizer=True):
        """Write the model, the optimizer's state and the training state after
        the current epoch to ``path`` (``fit(..., resume_from=path)`` reads it)."""
        from nnfast.training.checkpoint import save_checkpoint
        save_checkpoint(self, path, include_optimizer=include_optimizer)

    def resume(self, path):
        from nnfast.training.checkpoint import restore
        self.initial_epoch = restore(self, path)
        self.epoch = self.initial_epoch

    def run(self):
        if self.track_grad_norms and not self.history.grad_norms:
            self.history.grad_norms = {key: [] for key, _ in self.tracked_layers}
        self.callbacks.on_train_begin({})
        for epoch in range(self.initial_epoch, self.epochs):
            self.epoch = epoch
            self.callbacks.on_epoch_begin(epoch, {})
            logs = self._train_epoch(epoch)
            self.reporter.end_epoch(epoch, logs)
            self.callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self.callbacks.on_train_end({"epochs": len(self.history)})
        return self.history

    def _train_epoch(self, epoch):
        model, loss, optimizer = self.model, self.loss, self.optimizer
        backward, tracked = self.backward, self.tracked_layers
        running = RunningMetrics(loss)
        for m in self.metrics:
            m.reset()
        norms = np.zeros(len(tracked)) if self.track_grad_norms else None
        batch_callbacks = self.callbacks.batch_callbacks
        reporter = self.reporter
        n_batches = self.batches_per_epoch
        reporter.begin_epoch(epoch, self.source.n_samples)
        start = time.perf_counter()
        samples = 0
        b = -1
        batches = self.source.epoch(epoch)
        try:
            for b, (xb, yb, wb, kind) in enumerate(batches):
                optimizer.zero_grad()
                out = model.forward(xb)
                if wb is None:
                    value = float(loss.forward(out, yb))
                    grad = loss.backward()
                else:
                    value, grad = weighted_loss(loss, out, yb, wb)
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss became {value} at epoch {epoch + 1}, batch {b + 1} of {n_batches}: "
                        "training stopped (try a lower learning rate)")
                backward(grad)
                if norms is not None:
                    for i, (_, layer) in enumerate(tracked):
                        norms[i] += _l2(layer.parameters()[0].grad)
                optimizer.step()
                n = xb.shape[0]
                samples += n
                running.add(value, n, count_correct(out, yb, kind))
                for m in self.metrics:
                    m.update(out, yb)
                reporter.update(n, running.loss)
                if batch_callbacks:
                    for c in batch_callbacks:
                        c.on_batch_end(b, {"loss": value, "size": n})
        finally:
            batches.close()     # stops a DataLoader's thread at once if training failed
            reporter.close()
        seconds = time.perf_counter() - start
        cluster = self.distributed
        if cluster is not None:     # loss, accuracy and metrics over all ranks
            cluster.reduce_metrics(running)
            cluster.reduce_metric_objects(self.metrics)
        if norms is not None:
            for i, (key, _) in enumerate(tracked):
                self.history.grad_norms[key].append(float(norms[i] / max(1, b + 1)))
        logs = {"loss": running.loss, "accuracy": running.accuracy}
        logs.update({m.name: m.result() for m in self.metrics})
        val = {}
        if self.validation is not None and cluster is not None and len(self.validation) == 2:
            # arrays: each rank evaluates its share (a DataLoader: the whole of it, on every rank)
            val = cluster.evaluate(model, *self.validation, loss=loss,
                                   batch_size=self.validation_batch_size, metrics=self.metrics)
            logs.update({f"val_{k}": v for k, v in val.items()})
        elif self.validation is not None:
            val = evaluate(model, *self.validation, loss=loss, batch_size=self.validation_batch_size,
                           metrics=self.metrics)
            logs.update({f"val_{k}": v for k, v in val.items()})
        lr = _lr(optimizer)
        rate = samples / seconds if seconds > 0 else float("inf")
        self.history.append(epoch=epoch + 1, loss=running.loss, accuracy=running.accuracy,
                            val_loss=val.get("loss"), val_accuracy=val.get("accuracy"),
                            samples_per_second=rate, seconds=seconds, lr=lr,
                            **{m.name: logs[m.name] for m in self.metrics},
                            **({f"val_{m.name}": val[m.name] for m in self.metrics} if val else {}))
        logs.update(lr=lr, seconds=seconds, samples_per_second=rate)
        return {k: v for k, v in logs.items() if v is not None}


def validation_batch_size(batch_size):
    return max(batch_size, DEFAULT_BATCH_SIZE)


def _l2(a):
    flat = a.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))


def _lr(optimizer):
    lr = getattr(optimizer, "lr", None)
    try:
        return float(lr)
    except (TypeError, ValueError):
        return None
