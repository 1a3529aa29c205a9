"""Averaging gradients over ranks, one bucket at a time, without blocking.

``GradientReducer`` packs each bucket's gradients into one contiguous buffer
(scaled by this rank's share of the global batch), starts a non-blocking
``Iallreduce`` (a sum) on it, and, once every bucket has been started, waits
for them and copies the results back into each ``Parameter.grad``. Until
then ``grad`` keeps this rank's own gradient, so nothing that reads it
during the backward pass sees a half-reduced array.
"""
import time

import numpy as np

from nnfast.distributed.buckets import DEFAULT_BUCKET_BYTES, plan_buckets


def layer_groups(model, params):
    """``params`` as (layer index, parameters) pairs in the order a backward
    pass finishes them: by descending index in ``model.layers``, then those
    of no layer (index -1). A model without ``layers`` is one group, -1."""
    layers = getattr(model, "layers", None) if model is not None else None
    wanted = {id(p): p for p in params}
    groups = []
    if isinstance(layers, list):
        for i in range(len(layers) - 1, -1, -1):
            group = [p for p in layers[i].parameters() if wanted.pop(id(p), None) is not None]
            if group:
                groups.append((i, group))
    rest = [p for p in reversed(params) if id(p) in wanted]
    if rest:
        groups.append((-1, rest))
    return groups


class GradientReducer:
    """Sums (share-weighted) gradients over a communicator, bucket by bucket.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm
    buckets : list of Bucket
        In the order they are started (``plan_buckets``).

    timings : dict or None
        Where to add up the time spent: ``"wait_seconds"``, blocked waiting
        for reductions to finish, and ``"comm_seconds"``, all the time spent
        in here (packing, starting, testing, waiting, unpacking). A new dict
        when None.
    """

    def __init__(self, comm, buckets, timings=None):
        from mpi4py import MPI  # the communicator exists, so mpi4py is loaded

        self._MPI = MPI
        self.comm = comm
        self.buckets = buckets
        self._next = 0          # buckets[:_next] have been started this step
        self._last_done = None  # the last first_done of this backward pass
        self.timings = timings if timings is not None else {"wait_seconds": 0.0, "comm_seconds": 0.0}

    @classmethod
    def for_params(cls, comm, model, params, bucket_bytes=DEFAULT_BUCKET_BYTES, timings=None):
        return cls(comm, plan_buckets(layer_groups(model, params), bucket_bytes), timings)

    @property
    def pending(self):
        """Whether reductions were started and not yet waited for."""
        return self._next > 0

    def start_ready(self, first_done, share):
        """Start every bucket not started yet whose layers are all in
        layers[first_done:], in order; then let the ones in flight progress
        (Open MPI advances non-blocking collectives only inside MPI calls).

        Within a backward pass ``first_done`` only decreases; a value that
        does not is a second backward pass before ``finish`` (gradients
        accumulated over several batches): what was started holds the
        first pass's gradients only, so it is completed, dropped, and the
        buckets start again from the accumulated ones."""
        t0 = time.perf_counter()
        if self._next and self._last_done is not None and first_done >= self._last_done:
            self.discard()
        self._last_done = first_done
        buckets, started = self.buckets, False
        while self._next < len(buckets) and buckets[self._next].first_layer >= first_done:
            self._start(buckets[self._next], share)
            self._next += 1
            started = True
        if started or self._next:
            self._test()
        self.timings["comm_seconds"] += time.perf_counter() - t0

    def finish(self, share):
        """Start what is left, wait for every bucket, write the sums into the
        parameters' ``grad``."""
        t0 = time.perf_counter()
        for bucket in self.buckets[self._next:]:
            self._start(bucket, share)
        self._next = len(self.buckets)
        t1 = time.perf_counter()
        self._MPI.Request.Waitall([b.request for b in self.buckets])
        self.timings["wait_seconds"] += time.perf_counter() - t1
        for bucket in self.buckets:
            bucket.request = None
            offset = 0
            for p in bucket.params:
                size = p.value.size
                p.grad[...] = bucket.buffer[offset:offset + size].reshape(p.value.shape)
                offset += size
        self._next = 0
        self._last_done = None
        self.timings["comm_seconds"] += time.perf_counter() - t0

    def discard(self):
        """Wait for the reductions in flight and drop their results (every
        rank started them, so every rank must complete them)."""
        started = [b.request for b in self.buckets[:self._next]]
        self._MPI.Request.Waitall(started)
        for bucket in self.buckets[:self._next]:
            bucket.request = None
        self._next = 0
        self._last_done = None

    def _start(self, bucket, share):
        if bucket.buffer is None:
            bucket.buffer = np.empty(bucket.n_elements, dtype=bucket.dtype)
        buffer, offset = bucket.buffer, 0
        for p in bucket.params:
            size = p.value.size
            # one pass: copy and scale by this rank's share of the batch
            np.multiply(p.grad, share, out=buffer[offset:offset + size].reshape(p.value.shape),
                        casting="unsafe")
            offset += size
        bucket.request = self.comm.Iallreduce(self._MPI.IN_PLACE, buffer, op=self._MPI.SUM)

    def _test(self):
        self._MPI.Request.Testall([b.request for b in self.buckets[:self._next]])
