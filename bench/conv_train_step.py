"""Training-step throughput (samples/s) of two small CNNs, nnfast against
PyTorch's CPU build, interleaved in one run; medians.

    python bench/conv_train_step.py [--threads 2] [--rounds 15]

cnn32-64: Conv 1->32 3x3 pad 1, ReLU, MaxPool 2, Conv 32->64 3x3 pad 1,
ReLU, MaxPool 2, Flatten, Linear 3136-128, ReLU, Linear 128-10.
lenet5: Conv 1->6 5x5 pad 2, ReLU, MaxPool 2, Conv 6->16 5x5, ReLU,
MaxPool 2, Flatten, Linear 400-120-84-10 with ReLU.
One step: forward, cross-entropy, backward, SGD with momentum; batch 64,
float32. The first layer computes no input gradient in either library.
"""
import argparse
import statistics
import time

import numpy as np

import nnfast as nf


def nnfast_model(name):
    L = nf.layers
    if name == "cnn32-64":
        layers = [L.Conv2D(1, 32, 3, padding=1), L.ReLU(), L.MaxPool2D(2),
                  L.Conv2D(32, 64, 3, padding=1), L.ReLU(), L.MaxPool2D(2),
                  L.Flatten(), L.Linear(3136, 128), L.ReLU(), L.Linear(128, 10)]
    else:
        layers = [L.Conv2D(1, 6, 5, padding=2), L.ReLU(), L.MaxPool2D(2),
                  L.Conv2D(6, 16, 5), L.ReLU(), L.MaxPool2D(2), L.Flatten(),
                  L.Linear(400, 120), L.ReLU(), L.Linear(120, 84), L.ReLU(),
                  L.Linear(84, 10)]
    layers[0].requires_input_grad = False
    return nf.Sequential(layers)


def torch_model(torch, name):
    nn = torch.nn
    if name == "cnn32-64":
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def nnfast_step(name, x, y):
    model = nnfast_model(name)
    loss = nf.losses.CrossEntropyLoss()
    opt = nf.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        opt.step()
        opt.zero_grad()
    return step


def torch_step(torch, name, x, y):
    model = torch_model(torch, name)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss(model(xt), yt).backward()
        opt.step()
    return step


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
        steps[(name, "nnfast")] = nnfast_step(name, x, y)
        steps[(name, "torch")] = torch_step(torch, name, x, y)
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
