"""The output units of scikit-learn's MLPs: activation, loss and its gradient.

Each head pairs an output activation with its canonical loss, so that the
gradient with respect to the last Linear's output z is
``(activation(z) - y) * sample_weight / sum(sample_weight)``, as in
``sklearn.neural_network``. The losses are scikit-learn's (``log_loss``,
``binary_log_loss``, ``squared_error``, ``poisson``), probabilities clipped
to [eps, 1 - eps] in the reported value as there.

The multi-class head without sample weights, the case nearly every fit is,
runs nnfast's fused softmax cross-entropy kernel.
"""
import numpy as np
from scipy.special import expit, xlogy

from nnfast.losses import CrossEntropyLoss


def softmax(z):
    """Row-wise softmax of (n_samples, n_classes) scores, stable for any finite z."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def _weights_and_sum(sample_weight, n):
    if sample_weight is None:
        return None, float(n)
    return sample_weight, float(sample_weight.sum())


class Head:
    """Base: ``targets(Y)`` prepares the targets once per fit;
    ``loss_and_grad(z, t, sample_weight)`` gives the batch loss and its
    gradient wrt z; ``activate(z)`` the predictions."""

    out_activation = None

    def targets(self, Y, dtype):
        return np.ascontiguousarray(Y, dtype=dtype)

    def loss_and_grad(self, z, t, sample_weight):
        sw, sw_sum = _weights_and_sum(sample_weight, z.shape[0])
        a = self.activate(z)
        value = self._loss(t, a, sw)
        grad = a - t
        if sw is not None:
            grad *= sw.reshape(-1, 1)
        grad /= sw_sum
        return value, grad.astype(z.dtype, copy=False)


class SoftmaxHead(Head):
    """Multi-class: softmax and log-loss; targets are class indices."""

    out_activation = "softmax"

    def __init__(self):
        self._cross_entropy = CrossEntropyLoss()

    def targets(self, Y, dtype):
        return np.argmax(Y, axis=1).astype(np.int64)

    def activate(self, z):
        return softmax(z)

    def loss_and_grad(self, z, t, sample_weight):
        if sample_weight is None:
            value = self._cross_entropy.forward(z, t)
            return value, self._cross_entropy.backward()
        p = softmax(z)
        eps = np.finfo(z.dtype).eps
        rows = np.arange(z.shape[0])
        sw_sum = float(sample_weight.sum())
        value = -float(np.dot(sample_weight, np.log(np.clip(p[rows, t], eps, 1 - eps)))) / sw_sum
        p[rows, t] -= 1
        p *= (sample_weight / sw_sum).reshape(-1, 1).astype(p.dtype, copy=False)
        return value, p


class LogisticHead(Head):
    """Binary and multi-label: a sigmoid per output and binary log-loss."""

    out_activation = "logistic"

    def activate(self, z):
        return expit(z)

    def _loss(self, t, a, sw):
        eps = np.finfo(a.dtype).eps
        p = np.clip(a, eps, 1 - eps)
        return -float(np.average(xlogy(t, p) + xlogy(1 - t, 1 - p), weights=sw, axis=0).sum())


class IdentityHead(Head):
    """Regression: the identity and half the squared error."""

    out_activation = "identity"

    def activate(self, z):
        return z.copy()

    def _loss(self, t, a, sw):
        return 0.5 * float(np.average((t - a) ** 2, weights=sw, axis=0).mean())


class ExpHead(Head):
    """Poisson regression: exp (a log link) and half the Poisson deviance."""

    out_activation = "exp"

    def activate(self, z):
        return np.exp(z)

    def _loss(self, t, a, sw):
        return float(np.average(xlogy(t, t / a) - t + a, weights=sw, axis=0).sum())


HEADS = {h.out_activation: h for h in (SoftmaxHead, LogisticHead, IdentityHead, ExpHead)}
