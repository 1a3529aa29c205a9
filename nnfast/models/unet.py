"""The U-Net (Ronneberger et al., 2015): an encoder that halves the image at
each level, a decoder that doubles it back, and at each level a skip
connection that concatenates the encoder's features to the decoder's."""
import numbers

import numpy as np

from nnfast._random import get_rng
from nnfast._validation import check_choice, check_int, float_dtype
from nnfast.layers import (BatchNorm2D, Conv2D, ConvTranspose2D, MaxPool2D, ReLU,
                           SkipConnection)
from nnfast.network import Sequential

NORMS = ("batch", None)


def conv_block(in_channels, out_channels, kernel_size, norm, dtype, rng):
    """Two × (Conv kernel_size "same", BatchNorm2D, ReLU): the work of one level.
    With a norm the convolutions have no bias (the norm's shift replaces it)."""
    layers = []
    for c_in in (in_channels, out_channels):
        layers.append(Conv2D(c_in, out_channels, kernel_size, padding=kernel_size // 2,
                             bias=norm is None, dtype=dtype, rng=rng))
        if norm == "batch":
            layers.append(BatchNorm2D(out_channels, dtype=dtype))
        layers.append(ReLU())
    return layers


def _check_channels(channels):
    if isinstance(channels, (str, bytes)) or not hasattr(channels, "__iter__"):
        raise TypeError(f"channels must be a sequence of ints (the features at each level), "
                        f"got {type(channels).__name__} {channels!r}")
    channels = tuple(channels)
    if len(channels) < 2:
        raise ValueError(f"channels must list at least 2 levels (an encoder level and the "
                         f"bottleneck), got {channels}")
    return tuple(check_int(c, f"channels[{i}]", 1, 2**20) for i, c in enumerate(channels))


def UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64), norm="batch",
         kernel_size=3, up_kernel_size=2, dtype=np.float32, rng=None):
    """A U-Net, as a ``Sequential`` of nested ``SkipConnection`` (mode "cat").

    Level i (of ``len(channels) - 1``) runs a conv block to ``channels[i]``
    features, then a SkipConnection around [MaxPool 2, the levels below,
    ConvTranspose2D (up_kernel_size, stride 2) back to ``channels[i]``], so
    that the next conv block (2 × channels[i] -> channels[i]) sees
    [skip, up] on the channel axis. The last entry of ``channels`` is the
    bottleneck's conv block. A 1×1 convolution maps ``channels[0]`` to
    ``out_channels`` logits. A conv block is two × (Conv, BatchNorm2D,
    ReLU).

    Parameters
    ----------
    spatial_dims : 2
        2-D images (3-D volumes are not built yet).
    in_channels, out_channels : int >= 1
    channels : sequence of int >= 1, at least 2 entries
        Features per level, from the top to the bottleneck.
    norm : "batch" or None
        BatchNorm2D after each convolution (which then has no bias), or
        nothing (convolutions with bias).
    kernel_size : odd int >= 1, default 3
        The conv blocks' kernels ("same" padding).
    up_kernel_size : 2
        The transposed convolutions' kernels (stride 2).
    dtype : np.float32 or np.float64
    rng : int, numpy.random.Generator or None
        For the initial weights; None draws from ``nf.seed``'s generator.

    Returns
    -------
    Sequential
        Input (n_samples, in_channels, H, W), H and W divisible by
        2 ** (len(channels) - 1); output (n_samples, out_channels, H, W).
    """
    if isinstance(spatial_dims, bool) or not isinstance(spatial_dims, numbers.Integral):
        raise TypeError(f"spatial_dims must be an int, got {type(spatial_dims).__name__} "
                        f"{spatial_dims!r}")
    if spatial_dims != 2:
        raise ValueError(f"spatial_dims must be 2 (2-D images), got {spatial_dims}")
    in_channels = check_int(in_channels, "in_channels", 1, 2**20)
    out_channels = check_int(out_channels, "out_channels", 1, 2**20)
    channels = _check_channels(channels)
    if norm is not None:   # check_choice takes strings only: None is the other choice
        norm = check_choice(norm, "norm", NORMS)
    kernel_size = check_int(kernel_size, "kernel_size", 1, 31)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (for 'same' padding), got {kernel_size}")
    if check_int(up_kernel_size, "up_kernel_size", 1, 31) != 2:
        raise ValueError(f"up_kernel_size must be 2 (stride-2 upsampling), got {up_kernel_size}")
    dtype = float_dtype(dtype)
    rng = get_rng(rng)   # one generator for every layer: an int seed is one stream

    def level(i, c_in):
        if i == len(channels) - 1:
            return conv_block(c_in, channels[i], kernel_size, norm, dtype, rng)
        c = channels[i]
        down = [MaxPool2D(2)] + level(i + 1, c) + [
            ConvTranspose2D(channels[i + 1], c, 2, stride=2, dtype=dtype, rng=rng)]
        return (conv_block(c_in, c, kernel_size, norm, dtype, rng)
                + [SkipConnection(Sequential(down), mode="cat", dim=1)]
                + conv_block(2 * c, c, kernel_size, norm, dtype, rng))

    return Sequential(level(0, in_channels)
                      + [Conv2D(channels[0], out_channels, 1, dtype=dtype, rng=rng)])
