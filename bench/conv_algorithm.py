"""Time Conv2D forward + backward with algorithm="im2col" and "direct" on a
few shapes, to set the rule behind algorithm="auto" (nnfast/layers/conv.py),
with the input gradient (a hidden layer) and without it (a first layer).

The fastest of a few repeats: on a shared, noisy machine the minimum is the
most repeatable statistic of a CPU-bound loop. With ``--threads 1`` the
kernels run in the calling thread, and its CPU time (``time.thread_time``)
is measured instead of wall time: that ignores time the thread spends
descheduled by other processes.

    python bench/conv_algorithm.py [--threads 2] [--repeats 7]
"""
import argparse
import time

import numpy as np

import nnfast as nf

# (in_channels, out_channels, kernel, padding, image size), batch 64
SHAPES = [
    (1, 6, 5, 2, 28),     # LeNet-5 first layer
    (1, 32, 3, 1, 28),
    (1, 16, 7, 3, 28),
    (3, 16, 3, 1, 32),    # a CIFAR first layer
    (3, 6, 5, 0, 32),
    (3, 32, 5, 2, 32),
    (6, 16, 5, 0, 14),    # LeNet-5 second layer
    (8, 16, 3, 1, 16),
    (16, 32, 3, 1, 16),
    (32, 64, 3, 1, 14),
]


def best_time(layer, x, g, repeats, clock):
    layer.forward(x)
    layer.backward(g)
    times = []
    for _ in range(repeats):
        t0 = clock()
        layer.forward(x)
        layer.backward(g)
        times.append(clock() - t0)
    return float(np.min(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    nf.set_num_threads(args.threads)
    clock = time.thread_time if args.threads == 1 else time.perf_counter
    rng = np.random.default_rng(0)
    print(f"batch {args.batch}, {args.threads} threads, float32, forward + backward, "
          f"best of {args.repeats}, ms ({clock.__name__}); hidden layer (input gradient) | first layer (none)")
    print(f"{'in':>3} {'out':>4} {'k':>2} {'HxW':>6} {'C*k*k':>6} | {'im2col':>7} {'direct':>7} "
          f"{'auto':>6} | {'im2col':>7} {'direct':>7} {'auto':>6}")
    for c, o, k, p, s in SHAPES:
        x = rng.standard_normal((args.batch, c, s, s)).astype(np.float32)
        row = f"{c:>3} {o:>4} {k:>2} {s:>3}x{s:<2} {c * k * k:>6}"
        for input_grad in (True, False):
            ms = {}
            for algorithm in ("im2col", "direct"):
                layer = nf.layers.Conv2D(c, o, k, padding=p, algorithm=algorithm, rng=0)
                layer.requires_input_grad = input_grad
                g = rng.standard_normal(layer.output_shape(x.shape)).astype(np.float32)
                ms[algorithm] = 1e3 * best_time(layer, x, g, args.repeats, clock)
            auto = nf.layers.conv.auto_algorithm(c, (k, k), input_grad)
            row += f" | {ms['im2col']:>7.2f} {ms['direct']:>7.2f} {auto:>6}"
        print(row)

if __name__ == "__main__":
    main()
