"""Flatten: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""
from nnfast.fau._delegate import DelegatingLayer
from nnfast.layers.flatten import Flatten as _Flatten


class Flatten(DelegatingLayer):
    """Keeps the batch axis and merges the others, in C order; backward
    restores the input's exact shape. Nothing is copied (contiguous input)."""

    def __init__(self):
        super().__init__()
        self._inner = _Flatten()
