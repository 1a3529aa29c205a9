"""Data-parallel training over MPI (mpi4py): the ``mpi`` extra.

Launch the same script on every rank (``mpiexec -n 2 python train.py``);
each rank holds the whole model, trains on its share of every batch, and
the gradients are averaged over ranks before each update, so every rank
keeps the same weights::

    import nnfast as nf
    from nnfast import distributed as dist

    dist.init()                              # a no-op in a single process
    history = nf.fit(model, X, y, loss=loss, optimizer=opt, batch_size=32,
                     distributed=True)       # 32 per rank
    if dist.rank() == 0:
        model.save("model.npz")

Or, for a loop of one's own: ``broadcast_parameters(model)`` once, then
``DistributedOptimizer(opt, model=model)`` (reductions overlap the backward
pass), or ``allreduce_gradients(model)`` between ``backward`` and ``step``;
``shard_indices`` splits an epoch's order across ranks.

mpi4py is imported only when an MPI launcher started the process; without
one, everything here works as a world of one process.
"""
from nnfast.distributed.buckets import DEFAULT_BUCKET_BYTES
from nnfast.distributed.collectives import (allreduce_gradients, broadcast_optimizer_state,
                                            broadcast_parameters)
from nnfast.distributed.fitting import evaluate_sharded
from nnfast.distributed.optimizer import DistributedOptimizer
from nnfast.distributed.runtime import init, rank, world_size
from nnfast.distributed.sharding import ShardPlan, shard_indices

__all__ = [
    "init", "rank", "world_size",
    "broadcast_parameters", "broadcast_optimizer_state", "allreduce_gradients",
    "DistributedOptimizer", "DEFAULT_BUCKET_BYTES",
    "shard_indices", "ShardPlan", "evaluate_sharded",
]
