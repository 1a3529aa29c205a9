"""Sigmoid: the logistic function."""
from nnfast.fau._delegate import DelegatingLayer
from nnfast.layers.activations import Sigmoid as _Sigmoid


class Sigmoid(DelegatingLayer):
    """1 / (1 + exp(-input_tensor)), element-wise, any shape, without
    overflow for any finite input; backward multiplies the error by
    y * (1 - y), y the forward's output (nnfast's ``sigmoid_*`` kernels)."""

    def __init__(self):
        super().__init__()
        self._inner = _Sigmoid()
