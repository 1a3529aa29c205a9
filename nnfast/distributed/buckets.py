"""Gradient buckets: which parameters are reduced together, and when.

As in Horovod's tensor fusion and PyTorch DDP's reducer, gradients are not
reduced one array at a time (a message per bias vector would pay the network
latency dozens of times per step) nor all at once (nothing could start
before the whole backward pass ends). They are packed into contiguous
buckets of about ``bucket_bytes``, filled in the order backpropagation
finishes the layers (last layer first), so that a bucket's reduction starts
while the layers below it are still computing theirs.
"""
import numpy as np

from nnfast._validation import check_int

# 1 MiB: the models nnfast trains carry 0.25 to 3 MB of float32 gradients
# (lenet5 to mlp-wide), so this makes two to three buckets where overlap has
# something to hide, while a bucket stays large enough that the per-message
# latency (~2 µs in shared memory, 5-50 µs on a network, times the ring's
# 2 (p - 1) steps) is small next to its transfer time: 1 MiB takes ~0.8 ms
# over 10 Gb/s. See bench/README.md, "Distributed training: the cost model".
DEFAULT_BUCKET_BYTES = 1 << 20


class Bucket:
    """Parameters whose gradients are packed and reduced as one array.

    Attributes
    ----------
    params : list of Parameter
        In packing order.
    first_layer : int
        The lowest layer index among them: the bucket is ready once the
        backward pass has finished layers[first_layer:]; -1 for parameters
        not found in the model's layers (ready only at ``step``).
    dtype : numpy dtype
        Of the parameters' values (a bucket holds one dtype).
    n_elements : int
    """

    __slots__ = ("params", "first_layer", "dtype", "n_elements", "buffer", "request")

    def __init__(self, params, first_layer, dtype):
        self.params = list(params)
        self.first_layer = first_layer
        self.dtype = np.dtype(dtype)
        self.n_elements = sum(p.value.size for p in self.params)
        self.buffer = None      # allocated on first use
        self.request = None     # the pending MPI request, between start and wait

    @property
    def n_bytes(self):
        return self.n_elements * self.dtype.itemsize

    def __repr__(self):
        return (f"Bucket({len(self.params)} parameters, {self.n_bytes} bytes, {self.dtype}, "
                f"ready after layer {self.first_layer})")


def check_bucket_bytes(bucket_bytes):
    return check_int(bucket_bytes, "bucket_bytes", 1)


def plan_buckets(groups, bucket_bytes=DEFAULT_BUCKET_BYTES):
    """Buckets for ``groups``, in the order their reductions start.

    Parameters
    ----------
    groups : list of (layer index, list of Parameter)
        In the order backpropagation finishes them (descending layer index;
        index -1, parameters that belong to no layer, last). A layer's
        parameters, final at the same moment, share a bucket (unless their
        dtypes differ).
    bucket_bytes : int >= 1
        A bucket takes consecutive groups while it stays within this size
        and one dtype; a group larger than that is a bucket by itself.

    Returns
    -------
    list of Bucket
    """
    bucket_bytes = check_bucket_bytes(bucket_bytes)
    buckets = []
    params, first, dtype, size = [], None, None, 0
    for layer, group in groups:
        for run in _dtype_runs(group):
            run_dtype = run[0].value.dtype
            run_bytes = sum(p.value.nbytes for p in run)
            if params and (run_dtype != dtype or size + run_bytes > bucket_bytes):
                buckets.append(Bucket(params, first, dtype))
                params, size = [], 0
            params.extend(run)
            first, dtype = layer, run_dtype
            size += run_bytes
    if params:
        buckets.append(Bucket(params, first, dtype))
    return buckets


def _dtype_runs(params):
    """``params`` cut where the dtype changes (a layer normally has one)."""
    runs = []
    for p in params:
        if runs and runs[-1][-1].value.dtype == p.value.dtype:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs
