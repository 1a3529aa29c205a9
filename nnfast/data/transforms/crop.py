"""Crop or pad to a fixed spatial size: at a random or the central position."""
import numbers

import numpy as np

from nnfast._validation import check_float
from nnfast.data.transforms.base import Transform


class RandomCropOrPad(Transform):
    """Bring every spatial axis to ``size``: a larger axis is cropped at a
    random offset, a smaller one padded with ``pad_value`` (the mask with
    ``mask_pad_value``) by a random split before and after.

    Parameters
    ----------
    size : tuple of int
        One size per spatial axis: (H, W) or (D, H, W).
    pad_value : float, default 0.0
    mask_pad_value : int or float, default 0
    """

    _random = True

    def __init__(self, size, pad_value=0.0, mask_pad_value=0):
        if not isinstance(size, (tuple, list)) or len(size) not in (2, 3) or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in size):
            raise ValueError(f"size must be one int >= 1 per spatial axis, (H, W) or (D, H, W), e.g. "
                             f"(64, 64), got {size!r}")
        self.size = tuple(int(s) for s in size)
        self.pad_value = check_float(pad_value, "pad_value")
        self.mask_pad_value = check_float(mask_pad_value, "mask_pad_value")

    def _apply(self, image, mask, rng, spatial_dims):
        if len(self.size) != spatial_dims:
            raise ValueError(f"size {self.size} has {len(self.size)} axes; the data has {spatial_dims} "
                             f"spatial axes (image shape {image.shape})")
        crops, pads = [], []
        for have, want in zip(image.shape[1:], self.size):
            if have >= want:
                start = self._offset(have - want, rng)
                crops.append(slice(start, start + want))
                pads.append((0, 0))
            else:
                before = self._offset(want - have, rng)
                crops.append(slice(None))
                pads.append((before, want - have - before))
        image = _crop_pad(image, crops, pads, self.pad_value, "pad_value")
        if mask is not None:
            mask = _crop_pad(mask, crops, pads, self.mask_pad_value, "mask_pad_value")
        return image, mask

    def _offset(self, slack, rng):
        return int(rng.integers(slack + 1)) if self._random else slack // 2


class CenterCropOrPad(RandomCropOrPad):
    """``RandomCropOrPad`` at the central position (the same every call): for
    validation data."""

    _random = False


def _fill(value, dtype, name):
    """``value`` in ``dtype``, refused where it would change (-1 in a uint8
    image, 0.5 in an integer mask)."""
    if dtype.kind == "f":
        return dtype.type(value)
    if dtype.kind == "b":
        if value not in (0, 1):
            raise ValueError(f"{name} must be 0 or 1 for a bool array, got {value}")
        return bool(value)
    info = np.iinfo(dtype)
    if value != int(value) or not info.min <= value <= info.max:
        raise ValueError(f"{name} must be an integer in [{info.min}, {info.max}] to pad a {dtype} "
                         f"array, got {value}")
    return dtype.type(int(value))


def _crop_pad(a, crops, pads, value, name):
    lead = a.ndim - len(crops)
    a = a[(slice(None),) * lead + tuple(crops)]
    if any(p != (0, 0) for p in pads):
        a = np.pad(a, [(0, 0)] * lead + pads, mode="constant",
                   constant_values=_fill(value, a.dtype, name))
    return np.ascontiguousarray(a)
