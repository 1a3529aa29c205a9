"""Where a training step's time goes, by layer kind, at every nesting level.

``profile_layers.py`` times the top-level layers of a workload; a U-Net is
mostly one SkipConnection there. This wraps every leaf layer's forward and
backward methods (the fused ones included) with a clock, runs training
steps of an ``nnfast bench`` workload, and prints the mean time per step
of each (kind, method), Conv2D by its channels:

    python bench/profile_kinds.py --workload unet-small --threads 2 --steps 20

Run it on an otherwise idle machine (see profile_layers.py).
"""
import argparse
import collections
import time

import nnfast as nf
from nnfast.benchmarks import workloads

METHODS = ("forward", "forward_relu", "backward", "backward_relu", "backward_after_relu")


def leaves(layer):
    """The layers that compute: what Sequentials and SkipConnections hold."""
    if isinstance(layer, nf.Sequential):
        for inner in layer.layers:
            yield from leaves(inner)
    elif hasattr(layer, "inner"):
        yield from leaves(layer.inner)
    else:
        yield layer


def kind(layer):
    name = type(layer).__name__
    if name == "Conv2D":
        name += f" {layer.in_channels}->{layer.out_channels}"
    return name


def profile(name, threads, steps, warmup=3):
    """({(kind, method): mean seconds per step}, mean seconds of a whole step)."""
    nf.set_num_threads(threads)
    model, loss, opt, _ = workloads.build_nnfast(name, workloads.init_weights(name))
    batch = workloads.WORKLOADS[name]["batch_size"]
    X, y = workloads.make_data(batch * 4, name=name)
    totals = collections.defaultdict(float)
    clock = time.perf_counter

    def timed(f, key):
        def call(*args):
            t0 = clock()
            out = f(*args)
            totals[key] += clock() - t0
            return out
        return call

    seen = set()
    for layer in leaves(model):
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        for method in METHODS:
            if hasattr(layer, method):
                setattr(layer, method, timed(getattr(layer, method), (kind(layer), method)))
    for step in range(warmup + steps):
        if step == warmup:
            totals.clear()
            start = clock()
        lo = (step % 4) * batch
        out = model.forward(X[lo:lo + batch])
        loss.forward(out, y[lo:lo + batch])
        model.backward(loss.backward())
        opt.step()
        opt.zero_grad()
    whole = (clock() - start) / steps
    return {k: v / steps for k, v in totals.items()}, whole


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", default="unet-small", choices=sorted(workloads.WORKLOADS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    rows, whole = profile(args.workload, args.threads, args.steps)
    print(f"{args.workload}, {args.threads} thread(s), mean of {args.steps} steps (ms)")
    for (k, method), seconds in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"{seconds * 1e3:8.2f}  {k}.{method}")
    print(f"{sum(rows.values()) * 1e3:8.2f}  sum of the rows")
    print(f"{whole * 1e3:8.2f}  whole step")


if __name__ == "__main__":
    main()
