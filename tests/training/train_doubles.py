"""Minimal loss and optimizer objects for testing the training loop on its
own: softmax cross-entropy, mean squared error and plain SGD, in NumPy."""
import numpy as np


class SoftmaxCE:
    """Mean softmax cross-entropy over integer labels."""

    def forward(self, pred, target):
        self.target = np.asarray(target)
        z = pred - pred.max(axis=1, keepdims=True)
        self.p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        rows = np.arange(len(self.target))
        return float(-np.mean(np.log(self.p[rows, self.target])))

    def backward(self):
        g = self.p.copy()
        g[np.arange(len(self.target)), self.target] -= 1
        return g / len(self.target)


class MSE:
    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, pred, target):
        self.diff = pred - np.asarray(target, dtype=pred.dtype).reshape(pred.shape)
        total = float(np.sum(self.diff ** 2))
        return total if self.reduction == "sum" else total / self.diff.size

    def backward(self):
        scale = 2.0 if self.reduction == "sum" else 2.0 / self.diff.size
        return scale * self.diff


class PlainSGD:
    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = lr
        self.steps = 0

    def step(self):
        self.steps += 1
        for p in self.params:
            p.value -= np.asarray(self.lr, p.value.dtype) * p.grad

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()
