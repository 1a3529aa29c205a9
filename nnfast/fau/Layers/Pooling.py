"""Max pooling without padding ("valid")."""
from nnfast.fau._checks import check_shape_tuple
from nnfast.fau._delegate import DelegatingLayer
from nnfast.layers.pooling import MaxPool2D


def _pair(value, name):
    v = check_shape_tuple(value, name, (1, 2))
    return v * 2 if len(v) == 1 else v


class Pooling(DelegatingLayer):
    """2-D max pooling, windows starting at (0, 0), no padding.

    Parameters
    ----------
    stride_shape : int or (stride_y, stride_x)
    pooling_shape : int or (pool_y, pool_x)

    ``forward(input_tensor)``: (batch, channels, y, x) -> (batch, channels,
    (y - pool_y) // stride_y + 1, (x - pool_x) // stride_x + 1). Backward
    sends each error to where its window's maximum was (summed where
    overlapping windows share a maximum): nnfast's ``maxpool2d_*`` kernels.
    """

    _ndim = 4

    def __init__(self, stride_shape, pooling_shape):
        super().__init__()
        self.stride_shape = _pair(stride_shape, "stride_shape")
        self.pooling_shape = _pair(pooling_shape, "pooling_shape")
        self._inner = MaxPool2D(kernel_size=self.pooling_shape, stride=self.stride_shape)

    def _check_input(self, x):
        if any(p > s for p, s in zip(self.pooling_shape, x.shape[2:])):
            raise ValueError(f"pooling_shape {self.pooling_shape} is larger than the input's "
                             f"spatial shape {x.shape[2:]} (input_tensor shape {x.shape})")

    def __repr__(self):
        return f"Pooling(stride_shape={self.stride_shape}, pooling_shape={self.pooling_shape})"
