"""Test accuracy of the MNIST lab's MLPs, nnfast beside PyTorch.

Both frameworks start from the same weights and see the same batches in the
same order (SGD lr 0.003 momentum 0.9, batch 64, 15 epochs, log-softmax +
NLL), so the two columns differ only by floating-point rounding.

    python bench/lab_accuracy.py                      # bundled MNIST sample
    python bench/lab_accuracy.py --data /usr/share/datasets/fashion-mnist --depths 1
"""
import argparse

import numpy as np

import nnfast as nf
from nnfast.cli.lab import build_mlp


def train_nnfast(model, X, y, Xt, yt, epochs, order_rng):
    """nf.fit: each epoch's batches in the order of ``order_rng.permutation``,
    as train_torch's."""
    opt = nf.optim.SGD(model.parameters(), lr=0.003, momentum=0.9)
    loss = nf.losses.NLLLoss()
    nf.fit(model, X, y, loss=loss, optimizer=opt, epochs=epochs, batch_size=64, progress=False,
           rng=order_rng)
    return model.evaluate(Xt, yt, loss=loss)["accuracy"]


def train_torch(model, X, y, Xt, yt, epochs, order_rng):
    import torch
    opt = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9)
    loss = torch.nn.NLLLoss()
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(epochs):
        order = torch.from_numpy(order_rng.permutation(len(X)))
        for i in range(0, len(X), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            loss(model(tX[idx]), ty[idx]).backward()
            opt.step()
    with torch.no_grad():
        return float((model(torch.from_numpy(Xt)).argmax(dim=1).numpy() == yt).mean())


def torch_twin(model):
    """The same network in torch.nn, with the same weights."""
    import torch
    kinds = {"Flatten": torch.nn.Flatten, "Sigmoid": torch.nn.Sigmoid, "ReLU": torch.nn.ReLU,
             "LogSoftmax": lambda: torch.nn.LogSoftmax(dim=1)}
    layers = []
    for layer in model:
        name = type(layer).__name__
        if name == "Linear":
            t = torch.nn.Linear(layer.in_features, layer.out_features)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(layer.weight.value))
                t.bias.copy_(torch.from_numpy(layer.bias.value))
            layers.append(t)
        else:
            layers.append(kinds[name]())
    return torch.nn.Sequential(*layers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder of IDX files (default: bundled sample)")
    parser.add_argument("--depths", default="1,2,3,4,5")
    parser.add_argument("--activations", default="sigmoid,relu")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        torch = None
    (X, y), (Xt, yt) = nf.datasets.load_mnist(args.data)
    print(f"| hidden layers | activation | nnfast test accuracy | PyTorch test accuracy |")
    print(f"|---|---|---|---|")
    for act in args.activations.split(","):
        for depth in map(int, args.depths.split(",")):
            model = build_mlp(784, 10, depth, 30, act, rng=np.random.default_rng(args.seed))
            twin = torch_twin(model) if torch else None
            acc = train_nnfast(model, X, y, Xt, yt, args.epochs, np.random.default_rng(args.seed + 1))
            tacc = (train_torch(twin, X, y, Xt, yt, args.epochs, np.random.default_rng(args.seed + 1))
                    if torch else float("nan"))
            print(f"| {depth} | {act} | {acc:.4f} | {tacc:.4f} |", flush=True)


if __name__ == "__main__":
    main()
