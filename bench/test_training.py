"""End-to-end training-step benchmarks of the five workloads.

One training step (forward, softmax cross-entropy, backward, SGD with
momentum) per call, the same data and initial weights for every
implementation, one group per workload: the steps of ``nnfast bench``'s
workers (nnfast.benchmarks.worker), run in process here, while ``nnfast
bench`` gives each implementation a process of its own.
"""
import itertools

import pytest

from nnfast.benchmarks import worker
from nnfast.benchmarks import workloads as wl


@pytest.mark.parametrize("workload", list(wl.WORKLOADS))
def test_training_step(measure, impl, workload):
    batch_size = wl.WORKLOADS[workload]["batch_size"]
    X, y = wl.make_data(4 * batch_size, name=workload)
    # nnfast's trainer is built on "fast"; measure runs its steps on impl's backend
    trainer = worker.TorchTrainer() if impl == "torch" else worker.NnfastTrainer("fast")
    try:
        trainer.build(workload, wl.init_weights(workload), X, y, batch_size)
    except AttributeError as e:  # a layer that has not landed yet
        if impl == "torch":
            raise
        pytest.skip(f"nnfast cannot build {workload}: {e}")
    batches = itertools.count()
    measure(impl, lambda: trainer.step(next(batches)), f"train-{workload}", batch_size,
            wl.flops_per_step(workload, batch_size))
