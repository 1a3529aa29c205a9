"""The continuous ranked probability score of a binned cumulative distribution."""
import numpy as np

from nnfast import _backend
from nnfast._validation import as_float_array, check_in_range, check_shape
from nnfast.losses.base import Loss


class CRPSLoss(Loss):
    """Squared distance between a predicted and the true cumulative
    distribution over K ordered bins: per sample, the mean over bins
    k = 0 .. K - 1 of (F[k] - T[k]) ** 2, where T is the true CDF: given a
    true value v (in bin units, integer or not), the step T[k] = 1 if k >= v
    else 0, the indicator taken literally (v = 2.5 steps at bin 3).

    forward(pred, target):

    - pred : (n_samples, K) float, the predicted CDFs (``CumulativeSoftmax``'s
      output; not checked to be monotone, so any network output trains).
    - target : (n_samples,) true values in [0, K), int or float; or
      (n_samples, K) true CDFs with values in [0, 1].

    reduction="mean" (default) averages the per-sample scores over the
    samples (the mean over samples of the mean over bins); "sum" adds them.
    Computed as a squared error against T on the MSE kernels, in pred's
    dtype; T is made once per call, (n_samples, K) like pred.
    """

    def _forward(self, pred, target):
        pred = self._pred(pred, ndim=2)
        n_samples, n_bins = pred.shape
        truth = self._true_cdf(target, n_samples, n_bins, pred.dtype)
        # per-sample mean over bins, then the reduction over samples
        scale = 1.0 / (n_bins * (n_samples if self.reduction == "mean" else 1))
        total = _backend.kernels().mse_forward(pred.reshape(-1), truth.reshape(-1))
        self._saved = (pred, truth, scale)
        return total * scale

    def _backward(self):
        pred, truth, scale = self._saved
        grad = np.empty_like(pred)
        _backend.kernels().mse_backward(pred.reshape(-1), truth.reshape(-1), scale,
                                        grad.reshape(-1))
        return grad

    @staticmethod
    def _true_cdf(target, n_samples, n_bins, dtype):
        """The (n_samples, n_bins) true CDFs of ``target``: the step at each
        true value, or the given CDFs checked."""
        t = np.asarray(target) if not isinstance(target, np.ndarray) else target
        if t.ndim == 2:
            cdf = as_float_array(t, "target", dtype)
            check_shape(cdf, "target", (n_samples, n_bins))
            check_in_range(cdf, "target (true CDFs)", 0, 1)
            return cdf
        if t.ndim != 1:
            raise ValueError(f"target must be (n_samples,) true values or (n_samples, {n_bins}) "
                             f"true CDFs, got shape {t.shape}")
        if t.dtype.kind not in "biuf":
            raise TypeError(f"target must hold numbers, got dtype {t.dtype}")
        check_shape(t, "target", (n_samples,))
        values = t.astype(np.float64)
        inside = (values >= 0) & (values < n_bins)
        if not np.all(inside):
            bad = values[np.argmin(inside)]
            raise ValueError(f"target must hold true values in [0, {n_bins}) (bin units, "
                             f"K = {n_bins} bins), got {bad}")
        return (np.arange(n_bins) >= values[:, None]).astype(dtype)
