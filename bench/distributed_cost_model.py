"""The cost model of data-parallel training, on paper: ring allreduce per step
against the compute per step, for 8, 64 and 512 ranks on 10 and 100 Gb/s links.

    python bench/distributed_cost_model.py        # prints the Markdown tables of bench/README.md

Per step, every rank sends and receives 2 (p - 1) / p times the gradient
bytes S (reduce-scatter then all-gather around a ring), and each bucket pays
the ring's 2 (p - 1) message latencies alpha:

    t_comm = 2 (p - 1) / p * S / bandwidth + n_buckets * 2 (p - 1) * alpha

Weak scaling: each rank keeps the workload's batch, so the compute per step
t_compute stays what one process measures; the global batch grows p-fold.
Efficiency lies between t_compute / (t_compute + t_comm) (no overlap) and
t_compute / max(t_compute, t_comm) (communication entirely hidden behind
the backward pass; it can hide at most behind the backward, about 2/3 of
t_compute, and the bucket of the first layer's gradients not at all, so the
true figure is nearer the first). The last column replaces the ring's
latency by that of the tree-shaped algorithms MPI libraries switch to for
many ranks (recursive doubling, Rabenseifner): 2 log2(p) alpha per bucket.
"""
import numpy as np

from nnfast.benchmarks.workloads import WORKLOADS, flops_per_step
from nnfast.distributed.buckets import DEFAULT_BUCKET_BYTES

# Measured compute per step at 1 thread on this machine, idle
# (bench/results/bench.md: samples/s of the "fast" column at 1 thread).
MEASURED_SAMPLES_PER_SECOND = {"mlp-wide": 38_735, "lenet5": 23_508, "cnn32-64": 3_350}
# cnn32-64's GEMM rate at 1 thread in the same run: the rate assumed for the U-Net.
CONV_GFLOPS = 83.7
# Latency per message: MPI over TCP on 10 Gb/s Ethernet, and over
# InfiniBand/RoCE at 100 Gb/s (typical small-message figures).
LINKS = {"10 Gb/s": (10e9 / 8, 15e-6), "100 Gb/s": (100e9 / 8, 2e-6)}
RANKS = (8, 64, 512)


def unet_small(channels=(16, 32, 64, 128), in_channels=1, out_channels=2, size=128):
    """(parameters per layer, MACs per sample) of a plain 2-D U-Net.

    Per level two 3x3 convolutions with bias (no normalisation), 2x2 max
    pooling down, 2x2 stride-2 transposed convolutions up, the skip
    concatenated before the decoder's two convolutions, a final 1x1
    convolution; input 1 x size x size. unet-small is not in
    nnfast/benchmarks/workloads.py yet: this is the estimate the tables use.
    """
    params, macs = [], 0

    def conv(c_in, c_out, k, hw):
        nonlocal macs
        params.append(c_out * c_in * k * k + c_out)
        macs += c_out * c_in * k * k * hw * hw

    c_prev, hw = in_channels, size
    for i, c in enumerate(channels):
        conv(c_prev, c, 3, hw)
        conv(c, c, 3, hw)
        c_prev = c
        if i < len(channels) - 1:
            hw //= 2
    for c in reversed(channels[:-1]):
        # transposed conv c_prev -> c, 2x2 stride 2, to the size 2 hw
        params.append(c_prev * c * 4 + c)
        macs += c_prev * c * 4 * hw * hw
        hw *= 2
        conv(2 * c, c, 3, hw)
        conv(c, c, 3, hw)
        c_prev = c
    conv(c_prev, out_channels, 1, hw)
    return params, macs


def workloads():
    """name -> (gradient bytes, n_buckets, compute seconds per step, batch per rank, note)."""
    import nnfast as nf
    from nnfast.benchmarks.workloads import build_nnfast, init_weights
    from nnfast.distributed.buckets import plan_buckets
    from nnfast.distributed.reducer import layer_groups

    rows = {}
    for name in ("mlp-wide", "lenet5", "cnn32-64"):
        model, _, _, _ = build_nnfast(name, init_weights(name))
        params = model.parameters()
        buckets = plan_buckets(layer_groups(model, params), DEFAULT_BUCKET_BYTES)
        batch = WORKLOADS[name]["batch_size"]
        seconds = batch / MEASURED_SAMPLES_PER_SECOND[name]
        rows[name] = (sum(p.value.nbytes for p in params), len(buckets), seconds, batch,
                      f"{sum(p.value.size for p in params):,} parameters; measured "
                      f"{seconds * 1e3:.1f} ms per step ({flops_per_step(name, batch) / seconds / 1e9:.0f} GFLOP/s)")
    per_layer, macs = unet_small()
    n_params = sum(per_layer)
    batch = 16
    # forward + weight gradient + input gradient: 3 GEMM passes of 2 flops per MAC
    seconds = 6.0 * macs * batch / (CONV_GFLOPS * 1e9)
    n_bytes = 4 * n_params
    groups = [(i, [nf.Parameter(np.empty(n, np.float32))]) for i, n in enumerate(per_layer)][::-1]
    rows["unet-small (estimate)"] = (n_bytes, len(plan_buckets(groups, DEFAULT_BUCKET_BYTES)), seconds, batch,
                                     f"{n_params:,} parameters (channels 16-32-64-128, 1x128x128 input); "
                                     f"{macs / 1e9:.2f} GMAC per sample at {CONV_GFLOPS} GFLOP/s: "
                                     f"{seconds * 1e3:.0f} ms per step, estimated")
    return rows


def main():
    rows = workloads()
    print("| workload | gradient bytes | buckets (1 MiB) | batch per rank | compute per step | notes |")
    print("|---|---|---|---|---|---|")
    for name, (n_bytes, n_buckets, seconds, batch, note) in rows.items():
        print(f"| {name} | {n_bytes:,} | {n_buckets} | {batch} | {seconds * 1e3:.1f} ms | {note} |")
    print()
    print("| workload | link | ranks | bandwidth term | latency term, ring | t_comm | "
          "t_comm / t_compute | efficiency, no overlap | efficiency, full overlap | "
          "efficiency, no overlap, tree latency |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, (n_bytes, n_buckets, seconds, _, _) in rows.items():
        for link, (bandwidth, alpha) in LINKS.items():
            for p in RANKS:
                bw = 2 * (p - 1) / p * n_bytes / bandwidth
                lat = n_buckets * 2 * (p - 1) * alpha
                t = bw + lat
                tree = bw + n_buckets * 2 * np.log2(p) * alpha
                print(f"| {name} | {link} | {p} | {bw * 1e3:.2f} ms | {lat * 1e3:.2f} ms | "
                      f"{t * 1e3:.2f} ms | {t / seconds:.2f} | {seconds / (seconds + t):.0%} | "
                      f"{seconds / max(seconds, t):.0%} | {seconds / (seconds + tree):.0%} |")


if __name__ == "__main__":
    main()
