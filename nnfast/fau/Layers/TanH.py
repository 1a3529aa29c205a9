"""TanH: the hyperbolic tangent."""
from nnfast.fau._delegate import DelegatingLayer
from nnfast.layers.activations import Tanh as _Tanh


class TanH(DelegatingLayer):
    """tanh(input_tensor), element-wise, any shape; backward multiplies the
    error by 1 - tanh(x)**2, read from the forward's output (nnfast's
    ``tanh_*`` kernels)."""

    def __init__(self):
        super().__init__()
        self._inner = _Tanh()
