"""``DistributedOptimizer``: any nnfast optimizer, stepping on the mean gradient over ranks."""
from nnfast.distributed import runtime
from nnfast.distributed.buckets import DEFAULT_BUCKET_BYTES, check_bucket_bytes, plan_buckets
from nnfast.distributed.reducer import GradientReducer, layer_groups
from nnfast.training.checks import check_model, check_optimizer

# The Sequential attribute a backward pass calls as hook(i) once layers[i:]
# are done (see nnfast.network.Sequential.after_layer_backward).
_HOOK = "after_layer_backward"


class DistributedOptimizer:
    """Wrap ``optimizer`` so that each ``step`` uses the gradient averaged over all ranks.

    Horovod's design: the gradients are packed into buckets of about
    ``bucket_bytes`` in the order the backward pass finishes the layers, and
    each bucket's non-blocking ``Iallreduce`` starts as soon as its layers'
    gradients are final, while the backward pass of the layers below is
    still running. ``step`` starts whatever is left, waits for every bucket,
    writes the averages into each ``Parameter.grad`` and calls the wrapped
    optimizer's ``step``. Between the backward pass and ``step``, ``grad``
    still holds this rank's own gradient.

    Every rank must call ``backward`` and ``step`` the same number of times
    on the same model (MPI collectives are matched by order). Several
    backward passes before a ``step`` (accumulated gradients) are averaged
    correctly, at the cost of reducing again after each pass. In a world
    of one process this is the wrapped optimizer, plus a few checks per step.

    Parameters
    ----------
    optimizer : nnfast optimizer
        Over the model's parameters; it does the update.
    model : Sequential or None
        The model whose backward pass produces the gradients. A Sequential
        lets reductions start during its backward pass (the optimizer sets
        its ``after_layer_backward`` hook); with None, or another model,
        every bucket is reduced in ``step``. ``nf.fit(..., distributed=True)``
        passes its model.
    bucket_bytes : int >= 1, default 1 MiB
        Target bucket size (``nnfast.distributed.buckets.DEFAULT_BUCKET_BYTES``).
        Larger buckets pay the per-message latency fewer times; smaller
        ones start sooner and overlap more of the backward pass. A layer
        bigger than this is a bucket by itself.

    Attributes
    ----------
    optimizer : the wrapped optimizer
        Save it (``model.save(path, optimizer=opt.optimizer)``): its state is
        the same on every rank.
    buckets : list of Bucket
        Their order, sizes and the layer after which each starts.
    timings : dict
        ``steps``, ``wait_seconds`` (blocked waiting for reductions in
        ``step``) and ``comm_seconds`` (all time spent packing, starting,
        waiting and unpacking), summed since construction or
        ``reset_timings()``.

    Other attributes (``lr``, ``initial_lr``, ``params``, ``state``,
    ``state_dict()``, ...) are the wrapped optimizer's.
    """

    def __init__(self, optimizer, model=None, bucket_bytes=DEFAULT_BUCKET_BYTES):
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("optimizer is already a DistributedOptimizer; wrap the optimizer once")
        check_optimizer(optimizer)
        params = getattr(optimizer, "params", None)
        if not isinstance(params, list) or not params:
            raise TypeError(f"optimizer must be an nnfast optimizer with a params list, "
                            f"got {type(optimizer).__name__}")
        self.__dict__["optimizer"] = optimizer
        self.bucket_bytes = check_bucket_bytes(bucket_bytes)
        world = runtime.world()
        self._world = world
        self._share = None
        self._model = None
        self._reducer = None
        self._timings = {"wait_seconds": 0.0, "comm_seconds": 0.0}
        self._steps = 0
        if model is None:
            self._plan()
        else:
            self.attach(model)

    # -- the model's backward pass ---------------------------------------
    def attach(self, model):
        """Start reductions during ``model``'s backward pass (a Sequential's
        ``after_layer_backward`` hook); replaces another DistributedOptimizer's
        hook on it. Other models: reductions wait for ``step``."""
        check_model(model)
        if self._model is model:
            return
        if self._model is not None:
            self.detach()
        if self._reducer is not None and self._reducer.pending:
            self._reducer.discard()
        if hasattr(type(model), _HOOK):
            current = getattr(model, _HOOK)
            owner = getattr(current, "__self__", None)
            if current is not None and not isinstance(owner, DistributedOptimizer):
                raise ValueError(f"model.{_HOOK} is already set to {current!r}")
            if owner is not None:
                owner.detach()
            setattr(model, _HOOK, self._layers_done)
        self._model = model
        self._plan()

    def detach(self):
        """Remove the hook from the model: reductions then all happen in ``step``."""
        model, self._model = self._model, None
        if model is not None and getattr(model, _HOOK, None) == self._layers_done:
            setattr(model, _HOOK, None)
        # the buckets stay as they are: without the hook, step starts them all

    def _plan(self):
        """The buckets for the current model (none to reduce in a world of one)."""
        self._reducer = None
        if self._world.size > 1:
            self._reducer = GradientReducer.for_params(self._world.comm, self._model,
                                                       self.optimizer.params, self.bucket_bytes,
                                                       self._timings)

    @property
    def model(self):
        return self._model

    def _layers_done(self, first_done):
        if self._reducer is not None:
            self._reducer.start_ready(first_done, self._current_share())

    # -- the optimizer interface -----------------------------------------
    def set_batch_share(self, n_local, n_total):
        """Weight this rank's next gradient by ``n_local / n_total``: its
        share of the global batch, when batches differ between ranks (the
        last one of an epoch; ``nf.fit`` calls this). Default 1 / world_size.
        Call it before the backward pass (before or after ``zero_grad``);
        ``step`` resets it."""
        if not (isinstance(n_local, int) and isinstance(n_total, int) and 0 <= n_local <= n_total
                and n_total > 0):
            raise ValueError(f"set_batch_share needs ints 0 <= n_local <= n_total, n_total > 0, "
                             f"got n_local={n_local!r}, n_total={n_total!r}")
        self._share = n_local / n_total

    def _current_share(self):
        return 1.0 / self._world.size if self._share is None else self._share

    def synchronize(self):
        """Finish the reductions: every ``grad`` holds the average over ranks."""
        if self._reducer is not None:
            self._reducer.finish(self._current_share())
        self._share = None

    def step(self):
        """Average the gradients over ranks (``synchronize``), then the wrapped ``step``."""
        self.synchronize()
        self._steps += 1
        return self.optimizer.step()

    def zero_grad(self):
        """The wrapped ``zero_grad``; reductions still in flight (a backward
        pass without a ``step``) are completed and dropped first."""
        if self._reducer is not None and self._reducer.pending:
            self._reducer.discard()
        return self.optimizer.zero_grad()

    @property
    def buckets(self):
        if self._reducer is not None:
            return list(self._reducer.buckets)
        return plan_buckets(layer_groups(self._model, self.optimizer.params), self.bucket_bytes)

    @property
    def timings(self):
        return {"steps": self._steps, **self._timings}

    def reset_timings(self):
        self._steps = 0
        for key in self._timings:
            self._timings[key] = 0.0

    # -- everything else is the wrapped optimizer's ------------------------
    def __getattr__(self, name):
        # only called for names not found on self: lr, params, state, ...
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["optimizer"], name)

    def __setattr__(self, name, value):
        if name in ("lr", "initial_lr", "defaults", "state", "param_groups"):
            setattr(self.optimizer, name, value)
        else:
            object.__setattr__(self, name, value)

    def __repr__(self):
        return (f"DistributedOptimizer({self.optimizer!r}, world_size={self._world.size}, "
                f"bucket_bytes={self.bucket_bytes})")
