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
from nnfast.training.metrics import RunningMetrics, count_correct, target_kind


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

    def evaluate(self, model, X, y, loss, batch_size):
        """``evaluate(model, X, y, loss, batch_size)`` with each rank
        evaluating a contiguous 1 / world_size of ``(X, y)``, then summed."""
        return evaluate_sharded(model, X, y, loss, batch_size)


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


def evaluate_sharded(model, X, y, loss, batch_size=DEFAULT_BATCH_SIZE):
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
    metrics = RunningMetrics(loss)
    with eval_mode(model):
        for start in range(lo, hi, batch_size):
            stop = min(hi, start + batch_size)
            xb, yb = X[start:stop], y[start:stop]
            out = model.forward(xb)
            metrics.add(float(loss.forward(out, yb)), stop - start, count_correct(out, yb, kind))
    reduce_running_metrics(metrics)
    return {"loss": metrics.loss, "accuracy": metrics.accuracy}
