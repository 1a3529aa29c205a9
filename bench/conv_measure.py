"""Conv2D forward + backward throughput against NumPy's sgemm, the NumPy
reference backend and PyTorch's CPU conv2d, all in one run.

    python bench/conv_measure.py [--threads 2] [--rounds 10]

Workloads: Conv2D 32->64, 3x3, pad 1 on a 64x32x14x14 float32 batch (a
hidden layer: input gradient computed) and the LeNet-5 first layer, 1->6,
5x5, pad 2 on 64x1x28x28 (a first layer: no input gradient), with each
algorithm. Each candidate keeps its best time over many rounds spread over
the whole run (on a shared machine, bursts of load then hit all of them
alike). Within a round, candidates that use other thread pools (NumPy's
OpenBLAS, PyTorch's OpenMP) run in their own block after a pause: their
threads spin for a while after each call and would steal the cores from
whatever ran next.

With ``--threads 1`` everything (NumPy's BLAS included) runs in the calling
thread, so its CPU time (``time.thread_time``) is measured instead of wall
time: the figures then hold even on a loaded machine.
"""
import argparse
import time

import numpy as np

import nnfast as nf


def conv_flops(x_shape, layer, input_grad):
    n, o, oh, ow = layer.output_shape(x_shape)
    kh, kw = layer.kernel_size
    gemm = 2.0 * n * o * layer.in_channels * kh * kw * oh * ow
    return gemm * (3 if input_grad else 2)   # forward, weight gradient, input gradient


def nnfast_step(layer, x, g, backend):
    def step():
        with nf.use_backend(backend):
            layer.forward(x)
            layer.backward(g)
    return step


def torch_step(torch, layer, x, g, input_grad):
    F = torch.nn.functional
    top, bottom, left, right = layer.padding
    xt = torch.tensor(x, requires_grad=input_grad)
    wt = torch.tensor(layer.weight.value, requires_grad=True)
    bt = torch.tensor(layer.bias.value, requires_grad=True)
    gt = torch.tensor(g)

    def step():
        out = F.conv2d(xt, wt, bt, stride=layer.stride, padding=(top, left),
                       dilation=layer.dilation)
        out.backward(gt)
    return step


def interleaved_best(groups, rounds, clock, calls=2, pause=0.05):
    """{name: best seconds}: ``rounds`` rounds, each running every group of
    steps in turn (after a pause), each step ``calls`` times."""
    best = {}
    for steps in groups:
        for name, f in steps.items():
            f()
            best[name] = float("inf")
    for _ in range(rounds):
        for steps in groups:
            time.sleep(pause)
            for _ in range(calls):
                for name, f in steps.items():
                    t0 = clock()
                    f()
                    best[name] = min(best[name], clock() - t0)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    nf.set_num_threads(args.threads)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    workloads = [
        ("32->64 3x3 pad 1, 64x32x14x14", (64, 32, 14, 14),
         dict(in_channels=32, out_channels=64, kernel_size=3, padding=1), True),
        ("LeNet conv1 1->6 5x5 pad 2, 64x1x28x28", (64, 1, 28, 28),
         dict(in_channels=1, out_channels=6, kernel_size=5, padding=2), False),
    ]
    sgemm, fast, reference, torch_steps = {"sgemm": lambda: a @ a}, {}, {}, {}
    flops = {"sgemm": 2.0 * 1024 ** 3}
    chosen = {}
    for title, shape, kwargs, input_grad in workloads:
        x = rng.standard_normal(shape).astype(np.float32)
        for algorithm in ("im2col", "direct", "auto"):
            layer = nf.layers.Conv2D(algorithm=algorithm, rng=0, **kwargs)
            layer.requires_input_grad = input_grad
            g = rng.standard_normal(layer.output_shape(shape)).astype(np.float32)
            key = (title, algorithm)
            fast[key + ("fast",)] = nnfast_step(layer, x, g, "fast")
            if algorithm != "auto":
                reference[key + ("reference",)] = nnfast_step(layer, x, g, "reference")
            flops[key] = conv_flops(shape, layer, input_grad)
            fast[key + ("fast",)]()
            chosen[title] = layer._algorithm_used
        if torch is not None:
            torch_steps[(title, "torch")] = torch_step(torch, layer, x, g, input_grad)
    if args.threads == 1:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(1):
            best = interleaved_best([sgemm, fast, torch_steps, reference], args.rounds,
                                    time.thread_time)
    else:
        best = interleaved_best([sgemm, fast, torch_steps, reference], args.rounds,
                                time.perf_counter)
    peak = flops["sgemm"] / best["sgemm"] / 1e9
    clock = "thread CPU time" if args.threads == 1 else "wall time"
    print(f"{args.threads} thread(s), best of {args.rounds} rounds, {clock}; "
          f"numpy sgemm 1024^3: {peak:.1f} GFLOP/s")
    for title, shape, kwargs, input_grad in workloads:
        print(f"\n{title}, forward + backward ({'with' if input_grad else 'no'} input gradient)")
        tt = best.get((title, "torch"))
        if tt is not None:
            print(f"  torch  {tt * 1e3:7.2f} ms  {flops[(title, 'im2col')] / tt / 1e9:6.1f} GFLOP/s")
        for algorithm in ("im2col", "direct", "auto"):
            fast = best[(title, algorithm, "fast")]
            rate = flops[(title, algorithm)] / fast / 1e9
            line = f"  {algorithm:<6} {fast * 1e3:7.2f} ms  {rate:6.1f} GFLOP/s  {rate / peak:5.1%} of sgemm"
            ref = best.get((title, algorithm, "reference"))
            if ref is not None:
                line += f"  x{ref / fast:5.1f} faster than reference ({ref * 1e3:.1f} ms)"
            if tt is not None:
                line += f"  x{tt / fast:5.2f} torch's speed"
            if algorithm == "auto":
                line += f"  [auto -> {chosen[title]}]"
            print(line)


if __name__ == "__main__":
    main()
