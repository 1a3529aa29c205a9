"""Conv2D forward + backward throughput against NumPy's sgemm, the NumPy
reference backend and PyTorch's CPU conv2d, all in one run.

    python bench/conv_measure.py [--threads 2] [--repeats 9]

Workloads: Conv2D 32->64, 3x3, pad 1 on a 64x32x14x14 float32 batch (a
hidden layer: input gradient computed) and the LeNet-5 first layer, 1->6,
5x5, pad 2 on 64x1x28x28 (a first layer: no input gradient), with each
algorithm. Times are the best of ``--repeats`` (the machine may be shared).
"""
import argparse
import time

import numpy as np

import nnfast as nf


def best(f, repeats):
    f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def sgemm_gflops(repeats):
    a = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    return 2 * 1024 ** 3 / best(lambda: a @ a, repeats) / 1e9


def conv_flops(x_shape, layer, input_grad):
    n, o, oh, ow = layer.output_shape(x_shape)
    kh, kw = layer.kernel_size
    gemm = 2.0 * n * o * layer.in_channels * kh * kw * oh * ow
    return gemm * (3 if input_grad else 2)   # forward, weight gradient, input gradient


def nnfast_time(layer, x, g, backend, repeats):
    def step():
        layer.forward(x)
        layer.backward(g)
    with nf.use_backend(backend):
        return best(step, repeats)


def torch_time(torch, layer, x, g, input_grad, repeats):
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
    return best(step, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    nf.set_num_threads(args.threads)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    peak = sgemm_gflops(args.repeats)
    print(f"{args.threads} threads; numpy sgemm 1024^3: {peak:.1f} GFLOP/s")
    workloads = [
        ("32->64 3x3 pad 1, 64x32x14x14", (64, 32, 14, 14), dict(in_channels=32, out_channels=64, kernel_size=3, padding=1), True),
        ("LeNet conv1 1->6 5x5 pad 2, 64x1x28x28", (64, 1, 28, 28), dict(in_channels=1, out_channels=6, kernel_size=5, padding=2), False),
    ]
    for title, shape, kwargs, input_grad in workloads:
        x = rng.standard_normal(shape).astype(np.float32)
        print(f"\n{title}, forward + backward ({'with' if input_grad else 'no'} input gradient)")
        for algorithm in ("im2col", "direct", "auto"):
            layer = nf.layers.Conv2D(algorithm=algorithm, rng=0, **kwargs)
            layer.requires_input_grad = input_grad
            g = rng.standard_normal(layer.output_shape(shape)).astype(np.float32)
            flops = conv_flops(shape, layer, input_grad)
            fast = nnfast_time(layer, x, g, "fast", args.repeats)
            ref = nnfast_time(layer, x, g, "reference", max(3, args.repeats // 3))
            line = (f"  {algorithm:<6} {fast * 1e3:7.2f} ms  {flops / fast / 1e9:6.1f} GFLOP/s"
                    f"  {flops / fast / 1e9 / peak:5.1%} of sgemm  x{ref / fast:5.1f} vs reference")
            if torch is not None:
                tt = torch_time(torch, layer, x, g, input_grad, args.repeats)
                line += f"  x{tt / fast:5.2f} vs torch ({tt * 1e3:.2f} ms)"
            if algorithm == "auto":
                line += f"  [auto -> {layer._algorithm_used}]"
            print(line)


if __name__ == "__main__":
    main()
