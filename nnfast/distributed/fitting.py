"""What ``nf.fit(..., distributed=True)`` does differently, in one object.

``fit`` keeps its loop; at a few marked places it asks a ``DistributedFit``
for the wrapped optimizer, a random generator common to all ranks, this
rank's batch, and metrics summed over ranks.
"""
import numpy as np

from nnfast._validation import check_int
from nnfast.distributed import runtime
from nnfast.distributed.collectives import (allreduce_sum, broadcast_optimizer_state,
                                            broadcast_parameters)
from nnfast.distributed.optimizer import DistributedOptimizer
from nnfast.distributed.sharding import ShardPlan
from nnfast.training.checks import check_inputs, check_loss, check_model, check_targets
from nnfast.training.evaluate import DEFAULT_BATCH_SIZE, eval_mode
from nnfast.training.metrics import (RunningMetrics, _ElementError, _Overlap, count_correct,
                                     resolve_metrics, target_kind)


class DistributedFit:
    """The distributed side of one ``fit`` call.

    Joins the MPI world (``init``), wraps the optimizer in a
    ``DistributedOptimizer`` attached to the model unless it is one already,
    copies rank 0's parameters and optimizer state to every rank, and makes
    ``rng`` rank 0's generator on every rank, so that all ranks shuffle alike.

    Parameters
    ----------
    distributed : True
        ``fit``'s argument (anything else is a TypeError).
    model, optimizer, rng : as ``fit`` got them (rng already a Generator)
    n_samples, batch_size : int
        ``batch_size`` is per rank: a step trains on ``world_size *
        batch_size`` samples.
    **same : the rest of fit's arguments that fix its collectives
        (``epochs``, ``shuffle``, the validation set's size, ...). They,
        ``n_samples`` and ``batch_size`` must be equal on every rank, or
        the ranks would wait for each other forever: all ranks check them
        and raise the same ValueError.

    Attributes
    ----------
    optimizer : DistributedOptimizer
    rng : numpy.random.Generator
    is_root : bool
        Rank 0, the one that shows progress and runs the callbacks (which
        write checkpoints).
    n_batches : int
        Steps per epoch, the same on every rank.
    local_samples : int
        This rank's samples per epoch.
    """

    def __init__(self, distributed, model, optimizer, rng, n_samples, batch_size, **same):
        if distributed is not True:
            raise TypeError(f"distributed must be True or False, got {type(distributed).__name__} "
                            f"{distributed!r}")
        world = runtime.world()
        self.world = world
        self.is_root = world.rank == 0
        _check_same_on_every_rank(world, n_samples=n_samples, batch_size=batch_size,
                                  parameters=[(p.value.shape, p.value.dtype.str) for p in model.parameters()],
                                  **same)
        self.plan = ShardPlan(n_samples, batch_size, world.rank, world.size)
        self.n_batches = self.plan.n_batches
        self.local_samples = self.plan.local_samples
        self.rng = self._common_rng(rng)
        self._order = None
        # last: from here on fit must call close() (it does, in its finally)
        if not isinstance(optimizer, DistributedOptimizer):
            optimizer = DistributedOptimizer(optimizer)
        self._previous_model = optimizer.model
        optimizer.attach(model)
        self.optimizer = optimizer
        self._model = model
        try:
            broadcast_parameters(model, root=0)
            broadcast_optimizer_state(optimizer, root=0)
        except BaseException:
            self.close()
            raise

    def _common_rng(self, rng):
        """rank 0's generator: rank 0 keeps ``rng`` itself (its draws are
        those of the same ``fit`` in one process), the others get a copy of
        its state."""
        if self.world.size == 1:
            return rng
        state = self.world.comm.bcast(rng.bit_generator.state if self.is_root else None, root=0)
        if self.is_root:
            return rng
        copy = np.random.Generator(type(rng.bit_generator)())
        copy.bit_generator.state = state
        return copy

    def close(self):
        """Give the optimizer back the model it had before (none, for one
        ``fit`` created): the hook ``fit`` set on the model is removed."""
        if self._previous_model is not self._model:
            self.optimizer.detach()
            if self._previous_model is not None:
                self.optimizer.attach(self._previous_model)

    def root_only(self, callback):
        """``callback`` on rank 0, None elsewhere."""
        return callback if self.is_root else None

    def start_epoch(self, order):
        """The epoch's order of all samples (None: unshuffled), the same on every rank."""
        self._order = order

    def batch_indices(self, b):
        """This rank's sample indices for step ``b`` of the epoch; the
        optimizer weights its gradient by its share of the global batch."""
        idx = self.plan.batch(self._order, b)
        self.optimizer.set_batch_share(int(idx.size), self.plan.global_size(b))
        return idx

    def reduce_metrics(self, metrics):
        """Make ``metrics`` (a RunningMetrics) the sums over all ranks, in place."""
        return reduce_running_metrics(metrics)

    def reduce_metric_objects(self, metrics):
        """Make each of ``metrics`` (``nf.training.metrics`` Metric objects
        updated with this rank's batches) hold its counts over all ranks."""
        for m in metrics:
            reduce_metric(m)

    def evaluate(self, model, X, y, loss, batch_size, metrics=None):
        """``evaluate(model, X, y, loss, batch_size, metrics)`` with each rank
        evaluating a contiguous 1 / world_size of ``(X, y)``, then summed."""
        return evaluate_sharded(model, X, y, loss, batch_size, metrics)

    def batches(self, X, y, weights, shuffle, rng):
        """``fit``'s batch source for arrays: this rank's share of each
        global batch (see ``ShardedArrayBatches``)."""
        return ShardedArrayBatches(self, X, y, weights, shuffle, rng)


class ShardedArrayBatches:
    """The batches of ``nf.training.batches.ArrayBatches`` for one rank:
    each epoch one order of all samples (``rng.permutation(N)``, ``rng``
    the same generator on every rank), and of global batch ``b`` the
    samples ``ShardPlan.batch`` gives this rank. Sets the optimizer's batch
    share before each batch is yielded."""

    def __init__(self, cluster, X, y, weights, shuffle, rng):
        self.cluster, self.X, self.y, self.weights = cluster, X, y, weights
        self.shuffle, self.rng = shuffle, rng
        self.n_samples = cluster.local_samples
        self.kind = target_kind(y)

    def __len__(self):
        return self.cluster.n_batches

    def epoch(self, epoch):
        cluster = self.cluster
        order = self.rng.permutation(self.X.shape[0]) if self.shuffle else None
        cluster.start_epoch(order)
        X, y, w = self.X, self.y, self.weights
        for b in range(cluster.n_batches):
            idx = cluster.batch_indices(b)
            yield X[idx], y[idx], None if w is None else w[idx], self.kind

    def state_dict(self):
        return None

    def load_state_dict(self, state):
        pass


def _check_same_on_every_rank(world, **settings):
    if world.size == 1:
        return
    everyone = world.comm.allgather(settings)
    for name in settings:
        values = [s[name] for s in everyone]
        if any(v != values[0] for v in values[1:]):
            shown = ", ".join(f"rank {r}: {v!r}" for r, v in enumerate(values))
            raise ValueError(f"fit(..., distributed=True) needs the same {name} on every rank, got {shown}"[:2000])


def reduce_running_metrics(metrics):
    """Make ``metrics`` (a RunningMetrics) hold its sums over all ranks, in place."""
    totals = allreduce_sum([metrics.total, metrics.samples, metrics.correct, metrics.counted,
                            0.0 if metrics.accuracy_applies else 1.0])
    metrics.total = float(totals[0])
    metrics.samples, metrics.correct, metrics.counted = (int(round(v)) for v in totals[1:4])
    metrics.accuracy_applies = bool(totals[4] == 0)
    return metrics


def reduce_metric(metric):
    """Sum a built-in Metric's counts over all ranks, in place (Dice, IoU:
    the per-class overlap counts; MSE, MAE: the error sum and count).
    Another Metric class is a TypeError: its state is unknown."""
    if isinstance(metric, _Overlap):
        counts = [metric.intersection, metric.predicted, metric.actual]
        world = runtime.world()
        size = None if counts[0] is None else counts[0].size
        # a rank may have seen no batch (or, for one-channel outputs, fewer classes)
        sizes = world.comm.allgather(size) if world.size > 1 else [size]
        n_classes = max((s for s in sizes if s is not None), default=None)
        if n_classes is None:
            return metric
        flat = np.concatenate([np.zeros(n_classes) if c is None else
                               np.pad(np.asarray(c, dtype=np.float64), (0, n_classes - c.size))
                               for c in counts])
        total = np.rint(allreduce_sum(list(flat))).astype(np.int64)
        metric.intersection, metric.predicted, metric.actual = np.split(total, 3)
    elif isinstance(metric, _ElementError):
        total, count = allreduce_sum([metric.total, metric.count])
        metric.total, metric.count = float(total), int(round(count))
    else:
        raise TypeError(f"fit(..., distributed=True) can reduce the built-in metrics over ranks, "
                        f"not a {type(metric).__name__}")
    return metric


def evaluate_sharded(model, X, y, loss, batch_size=DEFAULT_BATCH_SIZE, metrics=None):
    """Loss and accuracy over ``(X, y)``, each rank evaluating its share.

    Rank r evaluates samples ``r * N // P`` to ``(r + 1) * N // P``; the sums
    (loss times samples, correct, counted) are added over ranks, so the
    result is that of ``nf.training.evaluate`` on the whole set, on every
    rank (to float rounding).

    Returns
    -------
    dict
        ``{"loss": float, "accuracy": float or None}``
    """
    check_model(model)
    check_loss(loss)
    X = check_inputs(X, model)
    y = check_targets(y, X.shape[0])
    batch_size = check_int(batch_size, "batch_size", 1)
    world = runtime.world()
    n = X.shape[0]
    lo, hi = world.rank * n // world.size, (world.rank + 1) * n // world.size
    kind = target_kind(y)
    extra = resolve_metrics(metrics)
    for m in extra:
        m.reset()
    running = RunningMetrics(loss)
    with eval_mode(model):
        for start in range(lo, hi, batch_size):
            stop = min(hi, start + batch_size)
            xb, yb = X[start:stop], y[start:stop]
            out = model.forward(xb)
            running.add(float(loss.forward(out, yb)), stop - start, count_correct(out, yb, kind))
            for m in extra:
                m.update(out, yb)
    reduce_running_metrics(running)
    result = {"loss": running.loss, "accuracy": running.accuracy}
    for m in extra:
        result[m.name] = reduce_metric(m).result()
    return result
