"""Where a training step's time goes: per-layer forward and backward times.

Builds a workload of ``nnfast bench`` (same layers, weights and data), runs
training steps layer by layer with a clock around each call, and prints the
median of every forward, backward, the loss and the optimizer step.

    python bench/profile_layers.py --workload lenet5 --threads 2 --steps 200

Run it on an otherwise idle machine: with two OpenMP threads, a busy core
makes every fork/join wait.
"""
import argparse
import time

import numpy as np

import nnfast as nf
from nnfast import network
from nnfast.benchmarks import workloads


def profile(name, threads, steps, warmup, batch_size=None):
    """{row label: median seconds} over ``steps`` training steps."""
    nf.set_num_threads(threads)
    batch = batch_size or workloads.WORKLOADS[name]["batch_size"]
    model, loss, opt, _ = workloads.build_nnfast(name, workloads.init_weights(name))
    X, y = workloads.make_data(batch * 8, name=name)
    batches = [(X[i:i + batch].copy(), y[i:i + batch].copy())
               for i in range(0, len(X), batch)]
    layers = model.layers
    first = model.first_trainable_index()
    times = {}
    clock = time.perf_counter

    def add(label, t0):
        times.setdefault(label, []).append(clock() - t0)

    for step in range(warmup + steps):
        xb, yb = batches[step % len(batches)]
        t_step = clock()
        h = xb
        i = 0
        while i < len(layers):
            t0 = clock()
            h, after = network.forward_step(layers, i, h)
            fused = " + ReLU forward (fused)" if after == i + 2 else " forward"
            add(f"{i:2d} {layers[i]!r}{fused}", t0)
            i = after
        t0 = clock()
        loss.forward(h, yb)
        g = loss.backward()
        add("   loss forward + backward", t0)
        i = len(layers) - 1
        while i >= first:
            t0 = clock()
            g, after = network.backward_step(layers, i, g)
            if after == i - 2:
                add(f"{i:2d} ReLU + {layers[i]!r} backward (fused)", t0)
            else:
                add(f"{i:2d} {layers[i]!r} backward", t0)
            i = after
        t0 = clock()
        opt.step()
        opt.zero_grad()
        add("   optimizer step + zero_grad", t0)
        add("   whole step", t_step)
        if step == warmup - 1:
            times.clear()
    return {label: float(np.median(v)) for label, v in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="lenet5", choices=sorted(workloads.WORKLOADS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args(argv)
    result = profile(args.workload, args.threads, args.steps, args.warmup, args.batch_size)
    total = result.pop("   whole step")
    print(f"{args.workload}, {args.threads} thread(s), median of {args.steps} steps (µs)")
    for label, t in result.items():
        print(f"{t * 1e6:9.1f}  {label}")
    print(f"{sum(result.values()) * 1e6:9.1f}  sum of the rows")
    print(f"{total * 1e6:9.1f}  whole step")


if __name__ == "__main__":
    main()
