"""Whole-model collectives: broadcast parameters and optimizer state, average gradients."""
import numpy as np

from nnfast.distributed import runtime
from nnfast.distributed.buckets import DEFAULT_BUCKET_BYTES
from nnfast.distributed.reducer import GradientReducer
from nnfast.layers.base import Layer
from nnfast.optim.base import check_params


def _params(model, name="model"):
    """``model.parameters()`` for a Layer, else ``model`` as a list of Parameters."""
    if isinstance(model, Layer):
        params = model.parameters()
        if not params:
            raise ValueError(f"{name} has no parameters")
        return params
    try:
        return check_params(model)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be an nnfast model (Sequential or Layer) or a list of "
                        f"Parameters: {e}") from None


def broadcast_parameters(model, root=0):
    """Copy rank ``root``'s parameter values to every rank, in place.

    Call it after building the model on every rank (as ``nf.fit(...,
    distributed=True)`` does) so that all ranks start from the same weights
    whatever their random state.

    Parameters
    ----------
    model : Sequential, Layer or list of Parameter
        The same architecture on every rank (shapes and dtypes are checked
        against the root's first, so a mismatch is an error, not garbage).
    root : int, default 0
    """
    params = _params(model)
    world = runtime.world()
    root = runtime.check_root(root)
    if world.size == 1:
        return
    layout = [(p.value.shape, p.value.dtype.str) for p in params]
    root_layout = world.comm.bcast(layout, root=root)
    if root_layout != layout:
        raise ValueError(f"model on rank {world.rank} does not match rank {root}'s: "
                         f"parameter shapes/dtypes {layout} vs {root_layout}")
    for p in params:
        world.comm.Bcast(p.value, root=root)


def broadcast_optimizer_state(optimizer, root=0):
    """Give every rank rank ``root``'s optimizer state (hyper-parameters,
    momentum buffers, step counts): ``load_state_dict(state_dict())`` from
    the root, e.g. after rank 0 alone loaded a checkpoint."""
    world = runtime.world()
    root = runtime.check_root(root)
    inner = getattr(optimizer, "optimizer", optimizer)
    for method in ("state_dict", "load_state_dict"):
        if not callable(getattr(inner, method, None)):
            raise TypeError(f"optimizer must be an nnfast optimizer with {method}(), "
                            f"got {type(inner).__name__}")
    if world.size == 1:
        return
    state = world.comm.bcast(inner.state_dict() if world.rank == root else None, root=root)
    if world.rank != root:
        inner.load_state_dict(state)


def allreduce_gradients(model, bucket_bytes=DEFAULT_BUCKET_BYTES):
    """Replace every parameter's ``grad`` by its mean over the ranks, in place (blocking).

    For a training loop of one's own, between ``backward`` and ``step``;
    ``DistributedOptimizer`` does the same while the backward pass runs.

    Parameters
    ----------
    model : Sequential, Layer or list of Parameter
    bucket_bytes : int >= 1
        Gradients are packed into buckets of about this size.
    """
    params = _params(model)
    world = runtime.world()
    reducer = GradientReducer.for_params(world.comm, None, params, bucket_bytes) \
        if world.size > 1 else None
    if reducer is not None:
        reducer.finish(1.0 / world.size)


def allreduce_sum(values):
    """``values`` (a float64 array) summed over the ranks, in a new array."""
    values = np.array(values, dtype=np.float64)
    world = runtime.world()
    if world.size > 1:
        from mpi4py import MPI
        world.comm.Allreduce(MPI.IN_PLACE, values, op=MPI.SUM)
    return values


def broadcast_object(obj, root=0):
    """``obj`` from rank ``root`` on every rank (pickled: small objects only)."""
    world = runtime.world()
    root = runtime.check_root(root)
    if world.size == 1:
        return obj
    return world.comm.bcast(obj, root=root)
