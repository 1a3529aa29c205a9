"""Binary cross-entropy, on logits and on probabilities."""
import numpy as np

from nnfast import _backend
from nnfast._validation import check_in_range
from nnfast.losses.base import Loss


class _Binary(Loss):
    """Element-wise binary loss; "mean" divides by the number of elements."""

    _forward_kernel = None
    _backward_kernel = None
    _pred_in_unit_interval = False

    def _forward(self, pred, target):
        pred = self._pred(pred)
        target = self._target_like(target, pred)
        if self._pred_in_unit_interval:
            check_in_range(pred, "pred", 0, 1)
        check_in_range(target, "target", 0, 1)
        scale = self._scale(pred.size)
        total = getattr(_backend.kernels(), self._forward_kernel)(pred.reshape(-1),
                                                                  target.reshape(-1))
        self._saved = (pred, target, scale)
        return total * scale

    def _backward(self):
        pred, target, scale = self._saved
        grad = np.empty_like(pred)
        getattr(_backend.kernels(), self._backward_kernel)(pred.reshape(-1), target.reshape(-1),
                                                           scale, grad.reshape(-1))
        return grad


class BCEWithLogitsLoss(_Binary):
    """Binary cross-entropy on logits x: max(x, 0) - x * t + log1p(exp(-|x|)).

    The sigmoid is fused in; the form above never overflows, so logits of any
    magnitude give finite values and gradients (sigmoid(x) - t).

    forward(pred, target): pred logits of any shape; target of the same
    shape, in [0, 1].
    """

    _forward_kernel = "bce_with_logits_forward"
    _backward_kernel = "bce_with_logits_backward"


class BCELoss(_Binary):
    """Binary cross-entropy on probabilities p:
    -(t * max(log p, -100) + (1 - t) * max(log(1 - p), -100)).

    The logs are clamped at -100 as torch does, so p of exactly 0 or 1 gives a
    finite loss; the gradient is (p - t) / max(p * (1 - p), 1e-12), torch's.
    Prefer BCEWithLogitsLoss on logits: it is exact where this saturates.

    forward(pred, target): pred probabilities of any shape, in [0, 1]; target
    of the same shape, in [0, 1].
    """

    _forward_kernel = "bce_forward"
    _backward_kernel = "bce_backward"
    _pred_in_unit_interval = True
