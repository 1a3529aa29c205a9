"""Time each phase of the im2col convolution kernels (forward, weight
gradient, input gradient) on the layers of cnn32-64 and LeNet-5, one
thread, thread CPU time (robust on a shared machine), medians.

    python bench/conv_phases.py [--rounds 15] [--span-columns never|always|auto]

"input gradient" is the backward call with grad_input minus the one without.
"""
import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

import nnfast as nf
from nnfast import _kernels as K

CASES = [  # name, input shape, out_channels, kernel, padding
    ("32->64 3x3 pad 1, 14x14", (64, 32, 14, 14), 64, 3, 1),
    ("1->32 3x3 pad 1, 28x28", (64, 1, 28, 28), 32, 3, 1),
    ("LeNet conv1 1->6 5x5 pad 2", (64, 1, 28, 28), 6, 5, 2),
    ("LeNet conv2 6->16 5x5", (64, 6, 14, 14), 16, 5, 0),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--span-columns", default="auto", choices=["never", "always", "auto"],
                        help="when the kernels use span columns (nnfast._kernels._conv_plan)")
    args = parser.parse_args()
    K._conv_plan.set_span_columns(args.span_columns)
    nf.set_num_threads(1)
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        for name, shape, o, k, p in CASES:
            x = rng.standard_normal(shape).astype(np.float32)
            w = rng.standard_normal((o, shape[1], k, k)).astype(np.float32)
            b = np.zeros(o, np.float32)
            oh, ow = shape[2] + 2 * p - k + 1, shape[3] + 2 * p - k + 1
            out = np.empty((shape[0], o, oh, ow), np.float32)
            g = rng.standard_normal(out.shape).astype(np.float32)
            gx, gw, gb = np.empty_like(x), np.zeros_like(w), np.zeros_like(b)
            ws = np.empty(K.conv2d_workspace_size(w.shape, out.shape, np.float32), np.float32)
            geometry = ((1, 1), ((p, p), (p, p)), (1, 1))
            steps = {
                "forward": lambda: K.conv2d_im2col_forward(x, w, b, *geometry, out, ws),
                "weight": lambda: K.conv2d_im2col_backward(x, w, g, *geometry, None, gw, gb, ws),
                "both": lambda: K.conv2d_im2col_backward(x, w, g, *geometry, gx, gw, gb, ws),
            }
            times = {key: [] for key in steps}
            for _ in range(args.rounds):
                for key, f in steps.items():
                    t0 = time.thread_time()
                    f()
                    times[key].append(time.thread_time() - t0)
            med = {key: statistics.median(v) for key, v in times.items()}
            med["input"] = med["both"] - med["weight"]
            flops = 2.0 * shape[0] * o * shape[1] * k * k * oh * ow
            print(name + ":  " + "  ".join(
                f"{key} {med[key] * 1e3:6.2f} ms ({flops / med[key] / 1e9:5.1f} GFLOP/s)"
                for key in ("forward", "weight", "input")))


if __name__ == "__main__":
    main()
