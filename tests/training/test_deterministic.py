"""Deterministic mode: training is bitwise reproducible across thread counts."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.benchmarks import workloads


def _train(workload, threads, steps=20, seed=0):
    nf.set_num_threads(threads)
    batch = workloads.WORKLOADS[workload]["batch_size"]
    model, loss, opt, backward = workloads.build_nnfast(
        workload, workloads.init_weights(workload, seed=seed))
    x, y = workloads.make_data(batch * 2, seed=seed, name=workload)
    losses = []
    for step in range(steps):
        i = (step % 2) * batch
        losses.append(loss.forward(model.forward(x[i:i + batch]), y[i:i + batch]))
        backward(loss.backward())
        opt.step()
        opt.zero_grad()
    return [p.value.copy() for p in model.parameters()], losses


@pytest.fixture
def deterministic():
    old = nf.get_num_threads()
    nf.set_deterministic(True)
    yield
    nf.set_deterministic(False)
    nf.set_num_threads(old)


@pytest.mark.parametrize("workload", ["lenet5", "mlp-wide", "lstm-seq"])
def test_bitwise_equal_at_1_and_2_threads(workload, deterministic):
    w1, l1 = _train(workload, 1)
    w2, l2 = _train(workload, 2)
    assert l1 == l2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
