"""``DataLoader``: mini-batches of arrays or of a dataset, shuffled, transformed,
and prepared in a background thread while the previous batch trains."""
import numbers
import queue
import threading

import numpy as np

from nnfast._random import get_rng
from nnfast._validation import check_bool, check_int


class DataLoader:
    """Batches of ``data``, one epoch per iteration.

    Parameters
    ----------
    data : ndarray, tuple of ndarrays, or a dataset
        An array X of shape (N, ...); a tuple (X, y) or (X, y, sample_weight)
        of arrays with N rows each; or a dataset: an object with
        ``len(dataset)`` and ``dataset[i]`` returning a sample (an array) or
        a tuple (x, y) or (x, y, weight) (PyTorch's map-style datasets).
    batch_size : int >= 1, default 32
    shuffle : bool, default False
        Visit the samples in a new order each epoch.
    drop_last : bool, default False
        Leave out the last batch of an epoch when it is smaller.
    seed : int >= 0 or None
        Seeds the order and the transforms: epoch e of a loader with seed s
        is the same whatever ran before, so a resumed training sees the
        batches it would have seen. None draws a seed from ``nf.seed``'s
        generator.
    transform : callable or None
        ``transform(x, y, rng) -> (x, y)``, called on each sample (x one
        sample of X, y its target or None) with a numpy Generator; the
        ``nf.data.transforms`` take that form and move a mask with its
        image.
    prefetch : int >= 0, default 2
        Batches prepared ahead by a background thread while the current one
        trains (NumPy and nnfast's kernels release the GIL, so the two
        overlap). 0 prepares each batch when it is asked for.

    Iterating gives tuples (xb, yb) or (xb, yb, wb) of stacked arrays, or
    xb alone for a single array (or a dataset of single samples); ``len(loader)`` is the number of batches
    per epoch. ``nf.fit`` accepts a DataLoader in place of (X, y).
    """

    def __init__(self, data, batch_size=32, shuffle=False, drop_last=False, seed=None,
                 transform=None, prefetch=2):
        self._arrays, self._dataset, self.n_samples = _check_data(data)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        self.shuffle = check_bool(shuffle, "shuffle")
        self.drop_last = check_bool(drop_last, "drop_last")
        if seed is None:
            seed = int(get_rng().integers(2**63))
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise TypeError(f"seed must be None or an int >= 0, got {seed!r}")
        self.seed = int(seed)
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable as transform(x, y, rng) -> (x, y), "
                            f"got {type(transform).__name__}")
        self.transform = transform
        self.prefetch = check_int(prefetch, "prefetch", 0)
        self.epoch = 0
        if self.drop_last and self.n_samples < self.batch_size:
            raise ValueError(f"drop_last=True with batch_size={self.batch_size} leaves no batch of "
                             f"the {self.n_samples} samples")

    def __len__(self):
        full, rest = divmod(self.n_samples, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def set_epoch(self, epoch):
        """Make the next iteration epoch ``epoch`` (0-based) of this loader."""
        self.epoch = check_int(epoch, "epoch", 0)

    def state_dict(self):
        """What a checkpoint keeps to reproduce the coming epochs."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.seed = check_int(state["seed"], "seed", 0)
        self.epoch = check_int(state["epoch"], "epoch", 0)

    def __repr__(self):
        source = "dataset" if self._dataset is not None else f"{len(self._arrays)} arrays"
        return (f"DataLoader({source} of {self.n_samples} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"prefetch={self.prefetch})")

    # -- iteration ------------------------------------------------------
    def __iter__(self):
        epoch = self.epoch
        self.epoch += 1
        batches = self._batches(epoch)
        if self.prefetch == 0:
            return batches
        return _prefetched(batches, self.prefetch)

    def _batches(self, epoch):
        """Epoch ``epoch``'s batches, in order (runs in the prefetch thread)."""
        order_rng = np.random.default_rng([self.seed, epoch, 0])
        transform_rng = np.random.default_rng([self.seed, epoch, 1])
        n = self.n_samples
        order = order_rng.permutation(n) if self.shuffle else None
        arity = None
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min(n, (b + 1) * self.batch_size)
            idx = np.arange(lo, hi) if order is None else order[lo:hi]
            batch = self._batch(idx, transform_rng)
            fields = len(batch) if isinstance(batch, tuple) else 1
            if arity is not None and fields != arity:
                raise ValueError(f"dataset[{int(idx[0])}] gives {fields} values, the samples of "
                                 f"the first batch gave {arity}: every sample must have the same "
                                 f"fields")
            arity = fields
            yield batch

    def _batch(self, idx, rng):
        if self._dataset is None and self.transform is None:
            fields = tuple(a[idx] for a in self._arrays)
        else:
            samples = [self._sample(int(i), rng) for i in idx]
            fields = _stack(samples, [int(i) for i in idx], self._dataset is not None)
        return fields[0] if len(fields) == 1 else fields

    def _sample(self, i, rng):
        if self._dataset is None:
            sample = tuple(a[i] for a in self._arrays)
        else:
            sample = self._dataset[i]
            if not isinstance(sample, tuple):
                sample = (sample,)
            if not 1 <= len(sample) <= 3:
                raise ValueError(f"dataset[{i}] must be a sample or a tuple (x, y) or (x, y, weight), "
                                 f"got a tuple of {len(sample)}")
        if self.transform is not None:
            out = self.transform(sample[0], sample[1] if len(sample) > 1 else None, rng)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise TypeError(f"transform must return a pair (x, y), got "
                                f"{type(out).__name__}" + (f" of {len(out)}" if isinstance(
                                    out, (tuple, list)) else "") + f" for sample {i}")
            x, y = out
            sample = (x,) + ((y,) + sample[2:] if len(sample) > 1 else ())
        return sample


_END = object()


class _Failure:
    def __init__(self, error):
        self.error = error


def _prefetched(batches, depth):
    """Iterate ``batches`` in a background thread, up to ``depth`` ahead."""
    ready = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_END)
        except BaseException as e:  # handed to the consumer, raised there
            put(_Failure(e))

    worker = threading.Thread(target=work, name="nnfast-DataLoader", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


def _check_data(data):
    """(arrays or None, dataset or None, number of samples)."""
    if isinstance(data, np.ndarray):
        data = (data,)
    if isinstance(data, (tuple, list)):
        if not 1 <= len(data) <= 3:
            raise ValueError(f"data must be X, (X, y) or (X, y, sample_weight), got {len(data)} arrays")
        arrays = []
        for i, a in enumerate(data):
            try:
                a = np.asarray(a)
            except (TypeError, ValueError) as e:   # ragged nested lists
                raise ValueError(f"data[{i}] must be an array (or nested lists of one shape): "
                                 f"{e}") from None
            if a.dtype.kind not in "biuf":
                raise TypeError(f"data[{i}] must hold numbers (bool, int or float), got dtype "
                                f"{a.dtype}")
            if a.ndim < 1:
                raise ValueError(f"data[{i}] must have one row per sample, got a scalar")
            arrays.append(a)
        n = arrays[0].shape[0]
        for i, a in enumerate(arrays[1:], 1):
            if a.shape[0] != n:
                raise ValueError(f"data[0] and data[{i}] must hold the same number of samples, "
                                 f"got {n} and {a.shape[0]}")
        if n < 1:
            raise ValueError("data must hold at least one sample")
        return arrays, None, n
    if (not isinstance(data, (str, bytes, dict)) and callable(getattr(data, "__len__", None))
            and callable(getattr(data, "__getitem__", None))):
        try:
            n = len(data)
        except (TypeError, ValueError, OverflowError) as e:
            # __len__ returned a non-int, a negative or a huge number
            raise TypeError(f"len(data) must be an int >= 1 (the dataset's __len__), got an "
                            f"error: {e}") from None
        if n < 1:
            raise ValueError("the dataset must hold at least one sample")
        return None, data, n
    raise TypeError(f"data must be an array, a tuple (X, y) of arrays or a dataset with __len__ and "
                    f"__getitem__, got {type(data).__name__}")


def _stack(samples, indices, from_dataset):
    """The fields of ``samples`` (tuples of one to three values) stacked into
    batch arrays; a sample of another arity, shape or a non-numeric type is
    refused naming its index."""
    source = "dataset" if from_dataset else "data"
    arity = len(samples[0])
    fields = []
    for k in range(arity):
        values = []
        for s, i in zip(samples, indices):
            if len(s) != arity:
                raise ValueError(f"{source}[{i}] gives {len(s)} values, sample {indices[0]} gave "
                                 f"{arity}: every sample must have the same fields")
            v = s[k]
            try:
                v = np.asarray(v)
            except (TypeError, ValueError) as e:
                raise TypeError(f"{source}[{i}] field {k} is not an array: {e}") from None
            if v.dtype.kind not in "biuf":
                raise TypeError(f"{source}[{i}] field {k} must be numeric (an array, a number), "
                                f"got {type(s[k]).__name__} of dtype {v.dtype}")
            if values and v.shape != values[0].shape:
                raise ValueError(f"{source}[{i}] field {k} has shape {v.shape}, sample "
                                 f"{indices[0]}'s has {values[0].shape}: samples of one batch "
                                 f"must have one shape")
            values.append(v)
        fields.append(np.stack(values))
    return tuple(fields)
