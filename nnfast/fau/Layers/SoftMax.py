"""SoftMax over the categories."""
from nnfast.fau._delegate import DelegatingLayer
from nnfast.layers.softmax import Softmax as _Softmax


class SoftMax(DelegatingLayer):
    """exp(x - max) / sum(exp(x - max)) over axis 1 of (batch, categories).

    Subtracting each row's maximum keeps it finite for any finite input (an
    input of 1e4 everywhere gives 1 / categories). Backward applies the
    softmax Jacobian to the error: y * (e - sum(e * y)), per row. Both run in
    nnfast's ``softmax_*`` kernels.
    """

    _ndim = 2

    def __init__(self):
        super().__init__()
        self._inner = _Softmax()
