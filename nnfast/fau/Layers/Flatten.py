"""Flatten: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""
from nnfast.fau._delegate import DelegatingLayer
from nnfast.layers.flatten import Flatten as _Flatten


class Flatten(DelegatingLayer):
    """Keeps the batch axis and merges the others, in C order; backward
    restores the input's exact shape. Nothing is copied (contiguous input)."""

    def __init__(self):
        super().__init__()
        self._inner = _Flatten()

    def _check_input(self, x):
        if x.ndim < 2:
            raise ValueError(f"input_tensor must have at least 2 dimensions (batch, ...), got "
                             f"shape {x.shape}")
