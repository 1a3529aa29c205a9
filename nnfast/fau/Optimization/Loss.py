"""Cross-entropy on probabilities (the SoftMax layer's output)."""
import numpy as np

from nnfast._validation import check_labels
from nnfast.fau._checks import as_tensor

EPS = np.finfo(float).eps


class CrossEntropyLoss:
    """sum over the batch of -ln(prediction at the label + eps), eps the
    float64 machine epsilon (so that a zero probability gives a finite loss).

    The work is one gathered value per sample (the SoftMax before it, which
    is where the cost is, runs in nnfast's kernels), so it is plain NumPy.
    """

    def __init__(self):
        self.prediction_tensor = None
        self._labels = None

    def _labels_of(self, label_tensor, shape):
        """Class indices from one-hot labels (N, categories); integer labels
        of shape (N,) are accepted too."""
        return check_labels(label_tensor, shape[0], shape[1], "label_tensor")

    def forward(self, prediction_tensor, label_tensor):
        """prediction_tensor : (batch, categories) probabilities;
        label_tensor : (batch, categories) one-hot -> float"""
        p = as_tensor(prediction_tensor, "prediction_tensor", ndim=2)
        if not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ValueError("prediction_tensor must hold finite probabilities >= 0 (the "
                             "SoftMax layer's output), got values outside that range")
        labels = self._labels_of(label_tensor, p.shape)
        picked = p[np.arange(p.shape[0]), labels]
        self.prediction_tensor = p
        self._labels = labels
        return float(-np.sum(np.log(picked + EPS)))

    def backward(self, label_tensor):
        """label_tensor : (batch, categories) one-hot -> error (batch,
        categories): -label / (prediction + eps)."""
        if self.prediction_tensor is None:
            raise ValueError("CrossEntropyLoss.backward called before forward")
        p = self.prediction_tensor
        labels = self._labels_of(label_tensor, p.shape)
        rows = np.arange(p.shape[0])
        error = np.zeros_like(p)
        error[rows, labels] = -1.0 / (p[rows, labels] + EPS)
        return error

    def __repr__(self):
        return "CrossEntropyLoss()"
