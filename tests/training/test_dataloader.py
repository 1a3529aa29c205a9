"""nf.data.DataLoader: batches, order by seed and epoch, datasets, transforms,
the background thread (it prepares the next batch while the current one is
used), errors, and fit with a loader."""
import threading

import numpy as np
import pytest

import nnfast as nf
from nnfast.data import DataLoader


def arrays(n=10):
    return np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n)


def collect(loader):
    return [tuple(np.array(a) for a in b) if isinstance(b, tuple) else np.array(b) for b in loader]


@pytest.mark.parametrize("prefetch", [0, 1, 3])
def test_batches_in_order_with_a_short_last_one(prefetch):
    X, y = arrays()
    loader = DataLoader((X, y), batch_size=4, prefetch=prefetch)
    batches = collect(loader)
    assert len(loader) == 3 and [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(batches[2][0], X[8:])
    dropped = DataLoader((X, y), batch_size=4, drop_last=True, prefetch=prefetch)
    assert len(dropped) == 2 and [b[1].tolist() for b in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [b.shape for b in DataLoader(X, batch_size=6)] == [(6, 2), (4, 2)]


def test_shuffled_order_depends_on_seed_and_epoch_only():
    X, y = arrays(20)
    a = DataLoader((X, y), batch_size=5, shuffle=True, seed=3)
    epochs = [np.concatenate([b[1] for b in a]) for _ in range(3)]
    assert all(sorted(e.tolist()) == list(range(20)) for e in epochs)
    assert not np.array_equal(epochs[0], epochs[1])
    b = DataLoader((X, y), batch_size=5, shuffle=True, seed=3, prefetch=0)
    b.set_epoch(2)
    np.testing.assert_array_equal(np.concatenate([t[1] for t in b]), epochs[2])
    assert a.epoch == 3 and a.state_dict() == {"seed": 3, "epoch": 3}
    c = DataLoader((X, y), batch_size=5, shuffle=True, seed=4)
    assert not np.array_equal(np.concatenate([t[1] for t in c]), epochs[0])


def test_seed_none_draws_from_nf_seed():
    X, y = arrays()
    nf.seed(1)
    s1 = DataLoader((X, y)).seed
    nf.seed(1)
    assert DataLoader((X, y)).seed == s1


class Squares:
    """A map-style dataset: (x, y, weight) per index."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.full((2, 3), float(i), np.float32), i * i, 0.5


def test_dataset_items_are_stacked():
    batches = collect(DataLoader(Squares(), batch_size=3))
    x, y, w = batches[0]
    assert x.shape == (3, 2, 3) and y.tolist() == [0, 1, 4] and w.tolist() == [0.5] * 3
    assert batches[-1][1].tolist() == [36]

    class Plain:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(3, i)
    assert [b.shape for b in DataLoader(Plain(), batch_size=2)] == [(2, 3), (2, 3), (1, 3)]


def test_transform_gets_each_sample_and_a_seeded_generator():
    X, y = arrays(8)
    calls = []

    def transform(x, label, rng):
        calls.append(int(label))
        return x + rng.random(), label * 10

    first = collect(DataLoader((X, y), batch_size=3, seed=5, transform=transform))
    assert calls == list(range(8))
    assert first[0][1].tolist() == [0, 10, 20]
    again = collect(DataLoader((X, y), batch_size=3, seed=5, transform=transform, prefetch=0))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(first[0][0], X[:3])


def test_prefetch_prepares_the_next_batch_while_the_current_one_is_used():
    """No timing: the consumer holds batch 0 until the loader has started
    batch 1, which only a background thread can do."""
    X, y = arrays(8)
    started = [threading.Event() for _ in range(4)]
    threads = set()

    def transform(x, label, rng):
        started[int(label) // 2].set()
        threads.add(threading.current_thread().name)
        return x, label

    for prefetch, overlaps in ((2, True), (0, False)):
        for e in started:
            e.clear()
        threads.clear()
        it = iter(DataLoader((X, y), batch_size=2, transform=transform, prefetch=prefetch))
        next(it)
        assert started[1].wait(timeout=10 if overlaps else 0.2) is overlaps
        rest = list(it)
        assert len(rest) == 3
        assert threads == ({"nnfast-DataLoader"} if overlaps else {threading.current_thread().name})


def test_errors_in_the_background_thread_reach_the_consumer_and_break_stops_it():
    X, y = arrays(8)

    def bad(x, label, rng):
        if label == 5:
            raise RuntimeError("bad sample 5")
        return x, label
    it = iter(DataLoader((X, y), batch_size=2, transform=bad))
    assert next(it)[1].tolist() == [0, 1]
    with pytest.raises(RuntimeError, match="bad sample 5"):
        list(it)
    before = threading.active_count()
    for batch in DataLoader((X, y), batch_size=1, prefetch=1):
        break
    import gc
    gc.collect()
    assert threading.active_count() <= before


def test_fit_with_a_loader_equals_fit_with_the_arrays_unshuffled():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    X = (3 * np.eye(3, 4)[y] + rng.standard_normal((40, 4))).astype(np.float32)
    results = []
    for data in ((X, y), (DataLoader((X, y), batch_size=8),)):
        model = nf.Sequential([nf.layers.Linear(4, 3, rng=1)])
        opt = nf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        kwargs = {} if len(data) == 1 else {"batch_size": 8, "shuffle": False}
        h = nf.fit(model, *data, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=3,
                   validation_data=DataLoader((X[:10], y[:10]), batch_size=4), verbose=0, **kwargs)
        results.append((model, h))
    for p, q in zip(results[0][0].parameters(), results[1][0].parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    assert results[0][1].loss == results[1][1].loss
    assert results[0][1].val_loss == results[1][1].val_loss


def test_fit_with_loader_sample_weights_and_class_weight():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 16)
    X = rng.standard_normal((16, 4)).astype(np.float32)
    w = rng.random(16)
    losses = []
    for data, extra in (((X, y), {"sample_weight": w, "batch_size": 4, "shuffle": False}),
                        ((DataLoader((X, y, w), batch_size=4),), {})):
        model = nf.Sequential([nf.layers.Linear(4, 2, rng=1)])
        h = nf.fit(model, *data, loss=nf.losses.CrossEntropyLoss(),
                   optimizer=nf.optim.SGD(model.parameters(), lr=0.1), class_weight={0: 1.0, 1: 3.0},
                   verbose=0, **extra)
        losses.append(h.loss)
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)


@pytest.mark.parametrize("make, exc, words", [
    (lambda: DataLoader("abc"), TypeError, "data must be an array"),
    (lambda: DataLoader((np.zeros(3), np.zeros(4))), ValueError, "same number of samples"),
    (lambda: DataLoader((np.zeros(3),) * 4), ValueError, "data must be X"),
    (lambda: DataLoader(np.zeros((3, 2)), batch_size=0), ValueError, "batch_size must be >= 1"),
    (lambda: DataLoader(np.zeros((3, 2)), shuffle=1), TypeError, "shuffle must be True or False"),
    (lambda: DataLoader(np.zeros((3, 2)), seed=-1), TypeError, "seed must be None or an int"),
    (lambda: DataLoader(np.zeros((3, 2)), transform=3), TypeError, "transform must be callable"),
    (lambda: DataLoader(np.zeros((3, 2)), prefetch=-1), ValueError, "prefetch must be >= 0"),
    (lambda: DataLoader(np.zeros((3, 2)), batch_size=4, drop_last=True), ValueError, "leaves no batch"),
    (lambda: DataLoader(np.zeros((0, 2))), ValueError, "at least one sample"),
])
def test_bad_arguments(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


def test_fit_rejects_what_a_loader_cannot_take():
    X, y = arrays()
    model = nf.Sequential([nf.layers.Linear(2, 3, rng=0)])
    opt = nf.optim.SGD(model.parameters(), lr=0.1)
    loss = nf.losses.CrossEntropyLoss()
    y3 = y % 3
    with pytest.raises(TypeError, match="y must be None when X is a DataLoader"):
        nf.fit(model, DataLoader((X, y3)), y3, loss=loss, optimizer=opt, verbose=0)
    with pytest.raises(ValueError, match="validation_split does not apply to a DataLoader"):
        nf.fit(model, DataLoader((X, y3)), loss=loss, optimizer=opt, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="sample_weight does not apply to a DataLoader"):
        nf.fit(model, DataLoader((X, y3)), loss=loss, optimizer=opt, sample_weight=np.ones(10),
               verbose=0)
    with pytest.raises(ValueError, match=r"batches are \(x, y\)"):
        nf.fit(model, DataLoader(X), loss=loss, optimizer=opt, verbose=0)
