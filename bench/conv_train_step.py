"""Training-step throughput (samples/s) of two small CNNs, nnfast against
PyTorch's CPU build, interleaved in one run; medians.

    python bench/conv_train_step.py [--threads 2] [--rounds 15]

cnn32-64: Conv 1->32 3x3 pad 1, ReLU, MaxPool 2, Conv 32->64 3x3 pad 1,
ReLU, MaxPool 2, Flatten, Linear 3136-128, ReLU, Linear 128-10.
lenet5: Conv 1->6 5x5 pad 2, ReLU, MaxPool 2, Conv 6->16 5x5, ReLU,
MaxPool 2, Flatten, Linear 400-120-84-10 with ReLU.
One step: forward, cross-entropy, backward, SGD with momentum; batch 64,
float32. The first layer computes no input gradient in either library.
The networks, initial weights and steps are ``nnfast bench``'s
(nnfast.benchmarks.workloads and worker).
"""
import argparse
import statistics
import time

import numpy as np

import nnfast as nf
from nnfast.benchmarks import worker, workloads


def training_step(trainer, name, x, y):
    """One training step on the batch (x, y) by ``nnfast bench``'s worker
    ``trainer``, on the workload ``name`` (its layers and initial weights)."""
    trainer.build(name, workloads.init_weights(name), x, y, len(x))
    return lambda: trainer.step(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    nf.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    steps = {}
    for name in ("cnn32-64", "lenet5"):
        steps[(name, "nnfast")] = training_step(worker.NnfastTrainer("fast"), name, x, y)
        steps[(name, "torch")] = training_step(worker.TorchTrainer(), name, x, y)
    times = {key: [] for key in steps}
    for f in steps.values():
        f()
        f()
    for _ in range(args.rounds):
        for key, f in steps.items():
            time.sleep(0.05)   # let the other library's spinning threads park
            for _ in range(args.calls):
                t0 = time.perf_counter()
                f()
                times[key].append(time.perf_counter() - t0)
    print(f"{args.threads} threads, batch 64, median of {args.rounds * args.calls} steps")
    for name in ("cnn32-64", "lenet5"):
        ours = statistics.median(times[(name, "nnfast")])
        theirs = statistics.median(times[(name, "torch")])
        print(f"  {name:<9} nnfast {ours * 1e3:6.2f} ms ({64 / ours:7.0f} samples/s)  "
              f"torch {theirs * 1e3:6.2f} ms ({64 / theirs:7.0f} samples/s)  "
              f"x{theirs / ours:4.2f} torch")


if __name__ == "__main__":
    main()
