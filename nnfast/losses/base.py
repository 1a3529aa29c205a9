"""The loss interface: ``forward(pred, target) -> float``, ``backward() -> grad``."""
import numpy as np

from nnfast._validation import as_float_array, check_choice, check_shape

REDUCTIONS = ("mean", "sum")


class Loss:
    """Base class of every loss.

    ``forward(pred, target)`` checks its arguments, returns the loss as a
    Python float and keeps what ``backward`` needs; ``backward()`` returns the
    gradient of that value with respect to ``pred`` (same shape and dtype as
    the checked ``pred``). Kernels return sums; the reduction divides here.

    Parameters
    ----------
    reduction : {"mean", "sum"}
        "mean" means what torch means for the same loss (see each loss).
    """

    def __init__(self, reduction="mean"):
        self.reduction = check_choice(reduction, "reduction", REDUCTIONS)
        self._saved = None
        self._config = {"reduction": self.reduction}

    def forward(self, pred, target):
        """Loss of ``pred`` against ``target``, as a float."""
        self._saved = None  # a failed forward must not leave an old state behind
        return float(self._forward(pred, target))

    def backward(self):
        """Gradient of the last forward's value with respect to its ``pred``."""
        if self._saved is None:
            raise ValueError(f"{type(self).__name__}.backward called before forward")
        return self._backward()

    def __call__(self, pred, target):
        return self.forward(pred, target)

    def config(self):
        """Constructor arguments as a JSON-friendly dict."""
        return dict(self._config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    # -- helpers for subclasses ----------------------------------------
    def _forward(self, pred, target):
        raise NotImplementedError

    def _backward(self):
        raise NotImplementedError

    def _scale(self, count):
        """What backward multiplies by: 1 / count for "mean", 1 for "sum"."""
        return 1.0 / count if self.reduction == "mean" else 1.0

    @staticmethod
    def _pred(pred, ndim=None):
        """pred as a contiguous float32/float64 array (other numbers -> float32)."""
        return as_float_array(pred, "pred", ndim=ndim)

    @staticmethod
    def _target_like(target, pred):
        """target as an array of pred's shape and dtype."""
        t = as_float_array(target, "target", pred.dtype.type, allow_empty=True)
        check_shape(t, "target", pred.shape)
        return t
