"""``nf.data.DataLoader``: arrays, tuples of arrays (some of mismatched
lengths, ragged, of strings), datasets (objects with ``__len__`` and
``__getitem__``, some raising, returning samples of varying shapes, of the
wrong types, or a bad length), transforms (some raising or returning the
wrong thing) and bad hyper-parameters.

A valid loader must give the documented batches: ``len(loader)`` of them,
of ``batch_size`` rows (the last smaller unless ``drop_last``), every
sample exactly once per epoch, in order without ``shuffle``, and the same
batches for the same seed and epoch. An exception raised by the user's
dataset or transform must reach the consumer as it is (the loader's
prefetch thread must neither swallow it nor hang), and so must one raised
when the consumer stops early.
"""
import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import bad_ints, seeds, valid_int
from nnfast.fuzz.outcome import Garbage, check_equal, expect
from nnfast.fuzz.targets import register

DATA = ("array", "array", "tuple2", "tuple2", "tuple3", "list2d", "mismatch", "ragged", "scalar",
        "empty", "strings", "tuple4", "tuple0", "not_data", "dataset", "dataset", "dataset_tuple",
        "dataset_raises", "dataset_shapes", "dataset_types", "dataset_none_y",
        "dataset_tuple_len", "dataset_len", "dataset_len0", "dataset_arity")
TRANSFORMS = ("none", "none", "none", "flip", "raises", "not_pair", "not_callable")
CONSUME = ("full", "full", "break", "epochs")
# (True is 1 to Python's len(): not among them)
BAD_LENGTHS = (-1, 1.5, "3", None, 2**63)


class UserError(Exception):
    """Raised by a case's own dataset or transform: must reach the consumer as it is."""


class Samples:
    """A map-style dataset over rows of ``x`` (and ``y``); ``flaw`` makes it misbehave."""

    def __init__(self, x, y=None, flaw=None, bad_at=0, length="rows"):
        self.x, self.y, self.flaw, self.bad_at = x, y, flaw, bad_at
        # what __len__ returns: the number of rows, or a bad "length" (None too)
        self.length = len(x) if length == "rows" else length

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        if not 0 <= i < len(self.x):
            raise IndexError(i)
        if i == self.bad_at:
            if self.flaw == "raises":
                raise UserError(f"sample {i} cannot be read")
            if self.flaw == "shapes":
                return (np.zeros(self.x.shape[1:] + (2,)), self.y[i]) if self.y is not None \
                    else np.zeros(self.x.shape[1:] + (2,))
            if self.flaw == "types":
                return {"x": self.x[i]}
            if self.flaw == "none_y":
                return self.x[i], None
            if self.flaw == "tuple_len":
                return (self.x[i],)
            if self.flaw == "arity":
                return (self.x[i], self.y[i], 1.0, 2.0)
        if self.y is None:
            return self.x[i]
        return self.x[i], self.y[i]


VALID = {"batch_size": st.integers(1, 10), "shuffle": st.sampled_from([False, True, np.bool_(True)]),
         "drop_last": st.sampled_from([False, False, True]),
         "seed": st.sampled_from([None, 0, 7, 2**62]),
         "prefetch": st.sampled_from([0, 1, 2, 2, 5, 2**31])}
BAD = {"batch_size": st.one_of(st.sampled_from([2**31, 2**63]), bad_ints()),
       "shuffle": st.sampled_from([1, None, "yes"]), "drop_last": st.sampled_from([0, "no", None]),
       "seed": st.sampled_from([-1, 1.5, "1", True]),
       "prefetch": st.sampled_from([-1, 1.5, None, True])}


@st.composite
def loader_case(draw):
    # at most one hyper-parameter out of its range (2**31 and 2**63 are valid batch sizes)
    bad = draw(st.sampled_from([None] * 6 + sorted(BAD)))
    spec = {k: draw(BAD[k] if k == bad else VALID[k]) for k in VALID}
    spec.update({"data": draw(st.sampled_from(DATA)), "n": draw(st.integers(1, 9)),
                 "features": draw(st.integers(1, 3)),
                 "dtype": draw(st.sampled_from(["float32", "float64", "int64", "uint8", "bool"])),
                 "transform": draw(st.sampled_from(TRANSFORMS)),
                 "bad_at": draw(st.integers(0, 8)), "length": draw(st.sampled_from(BAD_LENGTHS)),
                 "consume": draw(st.sampled_from(CONSUME)), "seed_values": draw(seeds)})
    return spec


def _data(spec, rng):
    """(data, the rows it holds as arrays or None, valid, a user error may surface)."""
    kind, n, f = spec["data"], spec["n"], spec["features"]
    x = (rng.standard_normal((n, f)) * 3).astype(spec["dtype"])
    y = rng.integers(0, 3, n)
    w = rng.random(n)
    bad_at = spec["bad_at"] % n
    if kind == "array":
        return x, (x,), True
    if kind == "tuple2":
        return (x, y), (x, y), True
    if kind == "tuple3":
        return [x, y, w], (x, y, w), True
    if kind == "list2d":
        return (x.tolist(), y.tolist()), (np.asarray(x.tolist()), y), True
    if kind == "mismatch":
        return (x, y[:-1] if n > 1 else np.append(y, 1)), None, False
    if kind == "ragged":
        return ([[1.0, 2.0], [3.0]] + [[0.0]] * (n - 2), y[:max(n, 2)]), None, False
    if kind == "scalar":
        return (np.float64(1.0),), None, False
    if kind == "empty":
        return np.zeros((0, f)), None, False
    if kind == "strings":
        return (x.astype(str), y), None, False
    if kind == "tuple4":
        return (x, y, w, w), None, False
    if kind == "tuple0":
        return (), None, False
    if kind == "not_data":
        return [None, "abc", 3, {"a": 1}, object()][bad_at % 5], None, False
    if kind == "dataset":
        return Samples(x), (x,), True
    if kind == "dataset_tuple":
        return Samples(x, y), (x, y), True
    if kind == "dataset_len0":
        return Samples(x[:0]), None, False
    if kind == "dataset_len":
        return Samples(x, length=spec["length"]), None, False
    flaw = kind[len("dataset_"):]
    return Samples(x, y, flaw=flaw, bad_at=bad_at), (x, y), flaw


def _negate(x):
    x = np.asarray(x)
    return ~x if x.dtype == bool else -x


def _flip(x, y, rng):
    return _negate(x), y


def _raises(x, y, rng):
    raise UserError("the transform failed")


def _not_pair(x, y, rng):
    return x


def _transform(kind):
    return {"none": None, "flip": _flip, "raises": _raises, "not_pair": _not_pair,
            "not_callable": 3}[kind]


@register("nf.data.DataLoader", loader_case(),
          ("data", "batch_size", "shuffle", "drop_last", "seed", "transform", "prefetch",
           "dataset", "epoch", "len(data)", "len(dataset)"), weight=3.0)
def run_loader(spec, ctx):
    rng = np.random.default_rng(spec["seed_values"])
    data, rows, data_valid = _data(spec, rng)
    flaw = data_valid if isinstance(data_valid, str) else None
    transform = _transform(spec["transform"])
    kwargs = {k: spec[k] for k in ("batch_size", "shuffle", "drop_last", "seed", "prefetch")}
    kwargs["transform"] = transform
    hyper_valid = (valid_int(spec["batch_size"], 1) and valid_int(spec["prefetch"], 0)
                   and isinstance(spec["shuffle"], (bool, np.bool_))
                   and isinstance(spec["drop_last"], (bool, np.bool_))
                   and (spec["seed"] is None or valid_int(spec["seed"], 0))
                   and spec["transform"] != "not_callable")
    n = spec["n"]
    if data_valid is not False and spec["drop_last"] is True and hyper_valid \
            and spec["batch_size"] > n:
        hyper_valid = False    # no batch at all
    construct_valid = hyper_valid and data_valid is not False
    loader = expect(lambda: nf.data.DataLoader(data, **kwargs), construct_valid,
                    f"DataLoader({spec['data']}, {kwargs})")
    if not construct_valid:
        return
    # what iterating must do: a user error surfaces as it is; a bad sample
    # or a transform returning the wrong thing is refused (ValueError/TypeError)
    raises_user = flaw == "raises" or spec["transform"] == "raises"
    refused = (flaw not in (None, "raises")) or spec["transform"] == "not_pair"
    if raises_user or refused:
        _iterate_bad(loader, raises_user, refused, spec)
        return
    batches = _check_epoch(loader, rows, spec, epoch=0)
    if spec["consume"] == "epochs":
        if spec["seed"] is not None:   # (None draws a new seed for each loader)
            again = nf.data.DataLoader(data, **kwargs)
            again.set_epoch(0)
            _same(batches, list(again), "the same seed and epoch, a new loader")
        loader.set_epoch(0)
        _same(batches, list(loader), "set_epoch(0) on the same loader")
        _check_epoch(loader, rows, spec, epoch=1)


def _iterate_bad(loader, raises_user, refused, spec):
    # the sample is bad only at one index: with drop_last it may be left out
    try:
        for _ in loader:
            pass
    except UserError:
        if not raises_user:
            raise Garbage("a UserError surfaced where none was raised") from None
        return
    except (ValueError, TypeError):
        if refused:
            raise
        raise
    # (an error of another kind goes on as it is: wrong-kind)
    left_out = spec["drop_last"] is True and spec["data"].startswith("dataset_")
    # a sample of another shape alone in its batch is a batch of another
    # shape (as variable-sized samples give); one sample alone has no other
    # to disagree with
    left_out |= spec["data"] == "dataset_shapes"
    left_out |= spec["data"] == "dataset_tuple_len" and spec["n"] == 1
    if not left_out and spec["transform"] in ("raises", "not_pair"):
        raise Garbage("a transform that raised or returned the wrong thing: the epoch "
                      "finished without an error")
    if not left_out:
        raise Garbage(f"a bad sample ({spec['data']}): the epoch finished without an error")


def _check_epoch(loader, rows, spec, epoch):
    loader.set_epoch(epoch)
    n, bs = spec["n"], spec["batch_size"]
    full, rest = divmod(n, bs)
    n_batches = full + (1 if rest and not spec["drop_last"] else 0)
    if len(loader) != n_batches:
        raise Garbage(f"len(loader) is {len(loader)}, expected {n_batches}")
    batches = []
    for b, batch in enumerate(loader):
        if spec["consume"] == "break" and b == 1:
            break
        batches.append(batch)
    if spec["consume"] == "break":
        return batches
    if len(batches) != n_batches:
        raise Garbage(f"an epoch gave {len(batches)} batches, expected {n_batches}")
    if loader.epoch != epoch + 1:
        raise Garbage(f"after epoch {epoch} the loader's epoch is {loader.epoch}")
    fields = len(rows)
    seen = []
    for b, batch in enumerate(batches):
        parts = batch if fields > 1 else (batch,)
        if not isinstance(parts, tuple) or len(parts) != fields:
            raise Garbage(f"batch {b} is {type(batch).__name__} of {fields} fields expected")
        size = min(bs, n - b * bs)
        for k, part in enumerate(parts):
            if not isinstance(part, np.ndarray) or part.shape[:1] != (size,) \
                    or part.shape[1:] != rows[k].shape[1:]:
                raise Garbage(f"batch {b} field {k}: shape {np.shape(part)}, expected "
                              f"{(size,) + rows[k].shape[1:]}")
        seen.append(parts)
    order = _recover_order(seen, rows, spec)
    used = n_batches * bs if spec["drop_last"] else n
    if spec["shuffle"]:
        if len(set(order)) != len(order) or len(order) != min(used, n):
            raise Garbage(f"a shuffled epoch visited the samples {order}")
    elif order != list(range(min(used, n))):
        raise Garbage(f"an epoch without shuffle visited the samples {order}")
    return batches


def _recover_order(seen, rows, spec):
    """The sample indices the batches hold, by matching the last field's
    rows (sample weights or features are distinct) and checking the others."""
    order = []
    x = rows[0]
    if spec["transform"] == "flip":
        x = np.stack([_negate(row) for row in x])
    for parts in seen:
        for r in range(parts[0].shape[0]):
            want = parts[0][r]
            candidates = [i for i in range(len(x))
                          if np.array_equal(x[i].astype(want.dtype), want)]
            if not candidates:
                raise Garbage(f"a batch row {want!r} is none of the samples")
            pick = next((i for i in candidates if i not in order), candidates[0])
            for k in range(1, len(rows)):
                if not np.array_equal(parts[k][r], rows[k][pick]):
                    # equal features: another candidate may match
                    match = [i for i in candidates if np.array_equal(parts[k][r], rows[k][i])
                             and i not in order]
                    if not match:
                        raise Garbage(f"field {k} of a batch row does not go with its sample")
                    pick = match[0]
            order.append(pick)
    return order


def _same(a, b, what):
    if len(a) != len(b):
        raise Garbage(f"{what}: {len(b)} batches instead of {len(a)}")
    for i, (p, q) in enumerate(zip(a, b)):
        for u, v in zip(p if isinstance(p, tuple) else (p,), q if isinstance(q, tuple) else (q,)):
            check_equal(v, u, f"{what}: batch {i}")
