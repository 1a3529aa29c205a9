"""nnfast.distributed in a single process (no MPI launched): init is a no-op,
fit(distributed=True) trains as fit does, the optimizer wrapper forwards;
and the clear messages when MPI is needed but missing."""
import sys

import numpy as np
import pytest

import nnfast as nf
from nnfast import distributed as dist
from nnfast.distributed import runtime

LAUNCHER_VARIABLES = ["OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE", "PMI_RANK",
                      "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK", "PMIX_RANK"]


@pytest.fixture
def fresh_world(monkeypatch):
    """No launcher in the environment and nnfast.distributed not yet initialised."""
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime, "_world", None)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    return monkeypatch


def test_a_single_process_is_a_world_of_one_without_mpi(fresh_world):
    fresh_world.setitem(sys.modules, "mpi4py", None)      # not installed
    dist.init()
    dist.init()                                            # idempotent
    assert dist.rank() == 0 and dist.world_size() == 1
    assert runtime.world().comm is None


def test_mpiexec_without_mpi4py_says_what_to_install(fresh_world):
    fresh_world.setitem(sys.modules, "mpi4py", None)
    fresh_world.setenv("OMPI_COMM_WORLD_SIZE", "2")
    with pytest.raises(ImportError, match=r"started by an MPI launcher \(2 processes\).*"
                                          r"mpi4py is not installed: pip install 'nnfast\[mpi\]'"):
        dist.init()
    with pytest.raises(ImportError, match="nnfast\\[mpi\\]"):
        nf.fit(_mlp(), *_data(64), loss=nf.losses.CrossEntropyLoss(),
               optimizer=nf.optim.SGD(_mlp().parameters(), lr=0.1), progress=False, distributed=True)


def test_a_launcher_rank_without_a_size(fresh_world):
    fresh_world.setitem(sys.modules, "mpi4py", None)
    fresh_world.setenv("PMIX_RANK", "0")
    with pytest.raises(ImportError, match="of unknown size"):
        dist.init()


def test_launcher_world_size():
    assert runtime.launcher_world_size({}) is None
    assert runtime.launcher_world_size({"OMPI_COMM_WORLD_SIZE": "4"}) == 4
    assert runtime.launcher_world_size({"PMI_SIZE": "8", "PMI_RANK": "3"}) == 8
    assert runtime.launcher_world_size({"PMIX_RANK": "1"}) == -1
    assert runtime.launcher_world_size({"PMI_SIZE": "x"}) == -1


class _FakeComm:
    def __init__(self, size):
        self.size = size

    def Get_size(self):
        return self.size


class _FakeMPI:
    Comm = _FakeComm

    def __init__(self, size):
        self.COMM_WORLD = _FakeComm(size)

    @staticmethod
    def Get_library_version():
        return "Some Other MPI 1.0"


def test_an_mpiexec_of_another_mpi_library_is_an_error(fresh_world):
    # mpiexec started 2 processes, but the MPI library mpi4py loaded sees
    # each as a world of one: every rank would train alone on all the data.
    fresh_world.setenv("OMPI_COMM_WORLD_SIZE", "2")
    fresh_world.setattr(runtime, "import_mpi", lambda reason: _FakeMPI(1))
    with pytest.raises(RuntimeError, match="started 2 processes, but MPI sees a world of 1"):
        dist.init()


def test_init_bad_arguments(fresh_world):
    fresh_world.setattr(runtime, "import_mpi", lambda reason: _FakeMPI(1))
    with pytest.raises(TypeError, match="comm must be an mpi4py.MPI communicator"):
        dist.init(comm="world")
    with pytest.raises(TypeError, match="abort_on_error must be True or False"):
        dist.init(abort_on_error=1)
    dist.init()
    with pytest.raises(ValueError, match="already initialised"):
        dist.init(comm=_FakeComm(1))


def test_init_with_a_communicator_needs_mpi4py(fresh_world):
    fresh_world.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match="given a communicator"):
        dist.init(comm=object())


# -- training in a world of one --------------------------------------------
def _mlp(dtype=np.float32):
    L = nf.layers
    rng = np.random.default_rng(0)
    return nf.Sequential([L.Flatten(), L.Linear(20, 16, dtype=dtype, rng=rng), L.ReLU(),
                          L.Linear(16, 3, dtype=dtype, rng=rng)])


def _data(n):
    rng = np.random.default_rng(1)
    return rng.random((n, 1, 4, 5), dtype=np.float32), rng.integers(0, 3, n)


@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_distributed_in_one_process_is_fit(shuffle):
    X, y = _data(203)
    runs = []
    for distributed in (False, True):
        model = _mlp()
        opt = nf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        seen = []
        h = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=3,
                   batch_size=16, shuffle=shuffle, rng=5, progress=False,
                   validation_data=(X[:50], y[:50]), schedule=nf.optim.StepLR(1, 0.5),
                   callback=lambda hist: seen.append(hist.epoch[-1]), distributed=distributed)
        assert seen == [1, 2, 3]
        assert model.after_layer_backward is None     # fit took its hook off again
        runs.append((model, h))
    (m0, h0), (m1, h1) = runs
    for a, b in zip(m0.parameters(), m1.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert h0[key] == h1[key], key


def test_fit_keeps_a_given_distributed_optimizer():
    X, y = _data(64)
    model = _mlp()
    opt = dist.DistributedOptimizer(nf.optim.Adam(model.parameters(), lr=1e-3), bucket_bytes=256)
    nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=1,
           batch_size=16, progress=False, distributed=True)
    assert opt.model is None and model.after_layer_backward is None
    assert opt.timings["steps"] == 4
    assert opt.state[opt.params[0]]["step"] == 4


def test_fit_distributed_must_be_a_bool():
    X, y = _data(32)
    model = _mlp()
    with pytest.raises(TypeError, match="distributed must be True or False"):
        nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
               optimizer=nf.optim.SGD(model.parameters(), lr=0.1), progress=False, distributed="yes")


def test_fit_distributed_refuses_a_dataloader():
    X, y = _data(32)
    model = _mlp()
    loader = nf.data.DataLoader((X, y), batch_size=8, seed=0)
    with pytest.raises(ValueError, match="does not support a DataLoader as X"):
        nf.fit(model, loader, loss=nf.losses.CrossEntropyLoss(),
               optimizer=nf.optim.SGD(model.parameters(), lr=0.1), progress=False, distributed=True)
    assert model.after_layer_backward is None


def test_callbacks_that_write_run_on_rank_0_alone():
    C = nf.callbacks
    assert C.ModelCheckpoint.root_only and C.CSVLogger.root_only and C.TensorBoard.root_only
    for cls in (C.EarlyStopping, C.ReduceLROnPlateau, C.LearningRateScheduler, C.LambdaCallback):
        assert not cls.root_only, cls.__name__
    from nnfast.callbacks.base import CallbackList
    writer, stopper = C.CSVLogger("unused.csv"), C.EarlyStopping(monitor="loss")
    others = CallbackList([writer, stopper], trainer=None, is_root=False)
    assert others.callbacks == [stopper] and list(others) == [writer, stopper]
    assert CallbackList([writer, stopper], trainer=None).callbacks == [writer, stopper]


def test_distributed_optimizer_forwards_to_the_optimizer():
    model = _mlp()
    inner = nf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt = dist.DistributedOptimizer(inner, model=model)
    assert opt.optimizer is inner and opt.params is inner.params
    assert opt.lr == 0.1 and opt.initial_lr == 0.1
    opt.lr = 0.02
    assert inner.lr == 0.02
    assert opt.state_dict()["optimizer"] == "SGD"
    assert "world_size=1" in repr(opt) and "bucket_bytes=1048576" in repr(opt)
    assert [b.first_layer for b in opt.buckets] == [1]      # 20x16 + 16x3: one bucket, layer 1 last
    X, y = _data(8)
    loss = nf.losses.CrossEntropyLoss()
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    before = [p.value.copy() for p in model.parameters()]
    opt.step()
    assert any(not np.array_equal(b, p.value) for b, p in zip(before, model.parameters()))
    opt.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())


def test_distributed_optimizer_bad_input():
    model = _mlp()
    inner = nf.optim.SGD(model.parameters(), lr=0.1)
    opt = dist.DistributedOptimizer(inner)
    with pytest.raises(TypeError, match="already a DistributedOptimizer"):
        dist.DistributedOptimizer(opt)
    with pytest.raises(TypeError, match="must be an optimizer"):
        dist.DistributedOptimizer(object())
    with pytest.raises(ValueError, match="bucket_bytes must be >= 1"):
        dist.DistributedOptimizer(inner, bucket_bytes=0)
    with pytest.raises(TypeError, match="model must be an nnfast Sequential or Layer"):
        dist.DistributedOptimizer(inner, model="net")
    for n_local, n_total in [(3, 2), (-1, 4), (1, 0), (1.0, 2)]:
        with pytest.raises(ValueError, match="set_batch_share"):
            opt.set_batch_share(n_local, n_total)


def test_attaching_sets_and_hands_over_the_models_hook():
    model = _mlp()
    first = dist.DistributedOptimizer(nf.optim.SGD(model.parameters(), lr=0.1), model=model)
    assert model.after_layer_backward == first._layers_done
    second = dist.DistributedOptimizer(nf.optim.SGD(model.parameters(), lr=0.1), model=model)
    assert first.model is None and second.model is model
    second.detach()
    assert model.after_layer_backward is None
    model.after_layer_backward = print
    with pytest.raises(ValueError, match="already set"):
        first.attach(model)


def _lenet():
    L = nf.layers
    return nf.Sequential([L.Conv2D(1, 6, 5, padding=2), L.ReLU(), L.MaxPool2D(2),
                          L.Conv2D(6, 16, 5), L.ReLU(), L.MaxPool2D(2), L.Flatten(),
                          L.Linear(400, 120), L.ReLU(), L.Linear(120, 10)])


@pytest.mark.parametrize("first_needs_grad", [True, False])
def test_the_backward_hook_follows_the_pass(first_needs_grad):
    model = _lenet()
    model.layers[0].requires_input_grad = first_needs_grad
    calls = []
    model.after_layer_backward = calls.append
    x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    out = model.forward(x)
    model.backward(np.ones_like(out))
    # layers[i:] are done at each call: strictly decreasing down to 0 (a
    # pool+ReLU pair run backward together gets one call for both), and
    # each layer with parameters gets a call as soon as its backward is done
    assert calls == sorted(calls, reverse=True) and len(set(calls)) == len(calls)
    assert calls[0] == 9 and calls[-1] == 0
    assert {9, 7, 3, 0} <= set(calls)


def test_collectives_in_a_world_of_one():
    model = _mlp()
    before = [p.value.copy() for p in model.parameters()]
    dist.broadcast_parameters(model)
    for p in model.parameters():
        p.grad[...] = 1.5
    dist.allreduce_gradients(model)
    assert all(np.array_equal(b, p.value) for b, p in zip(before, model.parameters()))
    assert all(np.all(p.grad == 1.5) for p in model.parameters())
    dist.broadcast_optimizer_state(nf.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="root must be <= 0"):
        dist.broadcast_parameters(model, root=1)
    with pytest.raises(TypeError, match="model must be an nnfast model"):
        dist.allreduce_gradients("model")
    with pytest.raises(ValueError, match="has no parameters"):
        dist.broadcast_parameters(nf.layers.ReLU())
    with pytest.raises(TypeError, match="state_dict"):
        dist.broadcast_optimizer_state(object())


def test_evaluate_sharded_in_a_world_of_one_is_evaluate():
    X, y = _data(90)
    model = _mlp()
    loss = nf.losses.CrossEntropyLoss()
    sharded = dist.evaluate_sharded(model, X, y, loss, batch_size=7)
    whole = model.evaluate(X, y, loss=loss)
    # batches of 7 against one of 90: BLAS may round a row's logits by an
    # ulp differently for another number of rows (OpenBLAS does on the Xeon)
    assert sharded["accuracy"] == whole["accuracy"]
    assert sharded["loss"] == pytest.approx(whole["loss"], rel=1e-6)
    assert dist.evaluate_sharded(model, X, y, loss, batch_size=256) == whole
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        dist.evaluate_sharded(model, X, y, loss, batch_size=0)
