"""Models, data and a reference run shared by the rank scripts."""
import numpy as np

import nnfast as nf


def build(kind, dtype, seed=0):
    """A small MLP or LeNet-5 of ``dtype``, initialised from ``seed`` (the
    same on every rank)."""
    L = nf.layers
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        layers = [L.Flatten(), L.Linear(784, 64, dtype=dtype, rng=rng), L.ReLU(),
                  L.Linear(64, 32, dtype=dtype, rng=rng), L.Sigmoid(),
                  L.Linear(32, 10, dtype=dtype, rng=rng)]
    elif kind == "lenet":
        layers = [L.Conv2D(1, 6, 5, padding=2, dtype=dtype, rng=rng), L.ReLU(), L.MaxPool2D(2),
                  L.Conv2D(6, 16, 5, dtype=dtype, rng=rng), L.ReLU(), L.MaxPool2D(2),
                  L.Flatten(),
                  L.Linear(400, 120, dtype=dtype, rng=rng), L.ReLU(),
                  L.Linear(120, 84, dtype=dtype, rng=rng), L.ReLU(),
                  L.Linear(84, 10, dtype=dtype, rng=rng)]
    else:
        raise ValueError(kind)
    return nf.Sequential(layers)


def data(n_samples, dtype):
    """The first ``n_samples`` of the bundled MNIST training digits."""
    (X, y), _ = nf.datasets.load_mnist()
    return X[:n_samples].astype(dtype), y[:n_samples]


def weights(model):
    return [p.value.copy() for p in model.parameters()]
