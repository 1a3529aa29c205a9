"""ReLU: max(input, 0)."""
from nnfast.fau._delegate import DelegatingLayer
from nnfast.layers.activations import ReLU as _ReLU


class ReLU(DelegatingLayer):
    """max(input_tensor, 0), element-wise, any shape; backward passes the
    error where the input was positive (nnfast's ``relu_*`` kernels)."""

    def __init__(self):
        super().__init__()
        self._inner = _ReLU()
