"""End-to-end training-step benchmarks of the five workloads.

One training step (forward, softmax cross-entropy, backward, SGD with
momentum) per call, the same data and initial weights for every
implementation, one group per workload. In process here; ``nnfast bench``
gives each implementation a process of its own.
"""
import pytest

import nnfast as nf
from nnfast.benchmarks import workloads as wl


@pytest.mark.parametrize("workload", list(wl.WORKLOADS))
def test_training_step(measure, impl, workload):
    batch_size = wl.WORKLOADS[workload]["batch_size"]
    X, y = wl.make_data(4 * batch_size)
    weights = wl.init_weights(workload)
    batches = [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X), batch_size)]
    flops = wl.flops_per_step(workload, batch_size)
    state = {"i": 0}
    if impl == "torch":
        import torch

        model, loss, opt = wl.build_torch(workload, weights)
        batches = [(torch.from_numpy(x), torch.from_numpy(t)) for x, t in batches]

        def step():
            x, t = batches[state["i"] % len(batches)]
            state["i"] += 1
            loss(model(x), t).backward()
            opt.step()
            opt.zero_grad()
    else:
        try:
            model, loss, opt, backward = wl.build_nnfast(workload, weights)
        except AttributeError as e:  # a layer that has not landed yet
            pytest.skip(f"nnfast cannot build {workload}: {e}")

        def step():
            x, t = batches[state["i"] % len(batches)]
            state["i"] += 1
            loss.forward(model.forward(x), t)
            backward(loss.backward())
            opt.step()
            opt.zero_grad()
    measure(impl, step, f"train-{workload}", batch_size, flops)
