"""What the loss twins share (the NumPy side of ``nnfast._kernels._loss_call``): sums in
float64 and per-sample class weights.

Forwards return the sum(s) the reduction needs (accumulated in float64);
backwards write the gradient of the reduced loss, ``scale`` being 1 for
"sum" and 1 / count for "mean".
"""
import numpy as np


def _sum(a):
    return float(np.sum(a, dtype=np.float64))


def _sample_weights(labels, weight, dtype):
    if weight is None:
        return np.ones(labels.shape[0], dtype=dtype)
    return weight[labels]
