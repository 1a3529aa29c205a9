"""What every transform shares: the (image, mask) pair, its checks, Compose.

An image is channel-first: (C, H, W) for 2-D data, (C, D, H, W) for 3-D.
A mask has the image's spatial shape, with or without a channel axis:
(H, W) / (C', H, W), or (D, H, W) / (C', D, H, W). A target that is not a
spatial map (None, a class label, a vector) passes through unchanged, so the
same transforms serve classification and segmentation.
"""
import math
import numbers

import numpy as np

from nnfast._random import get_rng
from nnfast._validation import check_float, check_list_of


class Transform:
    """Base class: ``transform(image, mask=None, rng=None) -> (image, mask)``.

    ``rng`` is a numpy Generator, an int seed, or None for ``nf.seed``'s
    generator. Subclasses implement ``_apply(image, mask, rng, spatial_dims)``
    on checked arrays (mask None when there is none to move).
    """

    def __call__(self, image, mask=None, rng=None):
        image, mask_to_move, spatial = check_pair(image, mask)
        rng = get_rng(rng)
        image, moved = self._apply(image, mask_to_move, rng, spatial)
        return image, (moved if mask_to_move is not None else mask)

    def _apply(self, image, mask, rng, spatial_dims):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply ``transforms`` in order, each drawing from the same generator."""

    def __init__(self, transforms):
        if isinstance(transforms, (str, bytes)):
            raise TypeError(f"transforms must be a list of transforms, got {transforms!r}")
        self.transforms = check_list_of(transforms, "transforms", "transforms", callable,
                                        "callable as t(image, mask, rng)")

    def __call__(self, image, mask=None, rng=None):
        check_pair(image, mask)    # an empty Compose refuses what its parts would
        rng = get_rng(rng)
        for t in self.transforms:
            image, mask = t(image, mask, rng)
        return image, mask


def check_pair(image, mask):
    """(image, the mask to move with it or None, number of spatial axes)."""
    image = np.asarray(image)
    if image.ndim not in (3, 4) or image.dtype.kind not in "biuf":
        raise ValueError(f"image must be a numeric channel-first array, (C, H, W) or (C, D, H, W), "
                         f"got {image.dtype} of shape {image.shape}")
    spatial = image.ndim - 1
    if mask is None:
        return image, None, spatial
    mask = np.asarray(mask)
    if mask.ndim < spatial:
        return image, None, spatial  # a label, not a map
    if mask.dtype.kind not in "biuf":
        raise TypeError(f"mask must be a numeric array (labels or a map), got dtype {mask.dtype}")
    if mask.ndim > spatial + 1 or mask.shape[-spatial:] != image.shape[1:]:
        raise ValueError(f"mask must have the image's spatial shape {image.shape[1:]}, with or "
                         f"without a channel axis, got shape {mask.shape}")
    return image, mask, spatial


def check_probability(p, name="p"):
    return check_float(p, name, 0.0, 1.0)


def check_range(value, name, symmetric_about=None, minimum=None):
    """A (low, high) pair; a single number v means (-v, v) around
    ``symmetric_about`` (0 for angles and shifts, 1 for scales)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = check_float(value, name, 0.0)
        centre = symmetric_about or 0.0
        low, high = centre - v, centre + v
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = (check_float(v, name) for v in value)
        if low > high:
            raise ValueError(f"{name} must be (low, high) with low <= high, got {tuple(value)}")
    else:
        raise TypeError(f"{name} must be a number or a pair (low, high), got {value!r}")
    if not math.isfinite(high - low):
        # numpy cannot draw uniformly from a range wider than the float range
        raise ValueError(f"{name} must span a finite width, got the range ({low}, {high})")
    if minimum is not None and low < minimum:
        raise ValueError(f"{name} must stay >= {minimum}, got the range ({low}, {high})")
    return (low, high)


def check_axes(axes, name):
    """``axes`` as a tuple of spatial axis indices (ints >= 0; whether each
    exists is checked on the data, 2-D or 3-D)."""
    if isinstance(axes, (str, bytes)) or not isinstance(axes, (tuple, list, range)):
        raise TypeError(f"{name} must be a tuple of spatial axes (ints >= 0), got {axes!r}")
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral) or a < 0:
            raise ValueError(f"{name} must hold spatial axes (ints >= 0, 0 the first spatial "
                             f"axis), got {tuple(axes)!r}")
    return tuple(int(a) for a in axes)


def spatial_axis(axis, spatial_dims, name="axes"):
    """A spatial axis index (0 = the first spatial axis) as a negative array
    axis, valid for both the image and its mask."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not 0 <= axis < spatial_dims:
        raise ValueError(f"{name} must hold spatial axes in [0, {spatial_dims - 1}] for "
                         f"{spatial_dims}-D data, got {axis!r}")
    return int(axis) - spatial_dims
