"""Which samples each rank trains on: an epoch's order split across ranks.

Every rank draws the same epoch order (a common seed). Global batch ``b`` is
``order[b * G:(b + 1) * G]`` with ``G = world_size * batch_size``, exactly the
batch a single process with batch size ``G`` would take, and rank ``r`` gets
its positions ``r, r + world_size, ...``. So every sample is used once per
epoch, every rank runs the same number of steps (collectives match), and the
gradient averaged over ranks (each weighted by its share of the global
batch) is that of the global batch. If the last global batch would hold
fewer samples than there are ranks, some rank would have none; those few
samples join the batch before instead.
"""
import numpy as np

from nnfast._validation import check_int


class ShardPlan:
    """The batches of one rank in an epoch of ``n_samples``.

    Parameters
    ----------
    n_samples : int >= world_size
    batch_size : int >= 1
        Per rank: a global batch holds ``world_size * batch_size`` samples.
    rank, world_size : int

    Attributes
    ----------
    n_batches : int
        Steps per epoch, the same on every rank.
    bounds : ndarray of int64, shape (n_batches + 1,)
        Global batch ``b`` is positions ``bounds[b]:bounds[b + 1]`` of the
        epoch's order.
    local_samples : int
        Samples this rank trains on per epoch.
    """

    def __init__(self, n_samples, batch_size, rank, world_size):
        self.world_size = check_int(world_size, "world_size", 1)
        self.rank = check_int(rank, "rank", 0, self.world_size - 1)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        self.n_samples = check_int(n_samples, "n_samples", 1)
        if self.n_samples < self.world_size:
            raise ValueError(f"distributed training needs at least one sample per rank: got "
                             f"{self.n_samples} samples for {self.world_size} ranks")
        step = self.world_size * self.batch_size
        bounds = list(range(0, self.n_samples, step)) + [self.n_samples]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] < self.world_size:
            del bounds[-2]     # a last batch some rank would have no sample of
        self.bounds = np.asarray(bounds, dtype=np.int64)
        self.n_batches = len(bounds) - 1
        sizes = np.diff(self.bounds)
        self.local_samples = int(sum(-(-(s - self.rank) // self.world_size) for s in sizes))

    def global_size(self, b):
        """Samples in global batch ``b`` (over all ranks)."""
        return int(self.bounds[b + 1] - self.bounds[b])

    def positions(self, b):
        """This rank's positions in the epoch order for global batch ``b``:
        ``bounds[b] + rank``, every ``world_size``-th up to ``bounds[b + 1]``."""
        return slice(int(self.bounds[b]) + self.rank, int(self.bounds[b + 1]), self.world_size)

    def batch(self, order, b):
        """This rank's sample indices for global batch ``b`` (int64, never empty).

        ``order`` is the epoch's order of all samples (a permutation of
        ``n_samples``), or None for 0, 1, ..., n_samples - 1."""
        s = self.positions(b)
        if order is None:
            return np.arange(s.start, s.stop, s.step, dtype=np.int64)
        return np.asarray(order[s], dtype=np.int64)


def shard_indices(order, batch_size, rank=None, world_size=None):
    """This rank's sample indices for one epoch, batch after batch.

    Parameters
    ----------
    order : int or array_like of int
        The epoch's order of the samples, the same on every rank (e.g.
        ``np.random.default_rng([seed, epoch]).permutation(n)``), or
        ``n_samples`` for 0 .. n - 1.
    batch_size : int >= 1
        Per rank.
    rank, world_size : int or None
        This process's (``nnfast.distributed.rank()`` and ``world_size()``)
        when None.

    Returns
    -------
    list of ndarray of int64
        One array per step; the same number of steps on every rank, and
        over all ranks every sample exactly once.
    """
    if rank is None or world_size is None:
        from nnfast.distributed import runtime
        rank = runtime.rank() if rank is None else rank
        world_size = runtime.world_size() if world_size is None else world_size
    if isinstance(order, (int, np.integer)) and not isinstance(order, bool):
        n, order = int(order), None
    else:
        order = np.asarray(order)
        if order.ndim != 1 or order.dtype.kind not in "iu":
            raise TypeError(f"order must be an int (n_samples) or a 1-d array of sample indices, "
                            f"got {order.dtype} of shape {order.shape}")
        n = order.shape[0]
    plan = ShardPlan(n, batch_size, rank, world_size)
    return [plan.batch(order, b) for b in range(plan.n_batches)]
