"""Intensity augmentations: they change the image, never the mask."""
import numpy as np

from nnfast._validation import check_float
from nnfast.data.transforms.base import Transform, check_probability, check_range


class RandomIntensity(Transform):
    """image * s + t, with s drawn from ``scale`` and t from ``shift``.

    Parameters
    ----------
    scale : float or (low, high), default (0.9, 1.1)
        A number v means (1 - v, 1 + v).
    shift : float or (low, high), default (-0.1, 0.1)
        A number v means (-v, v).
    per_channel : bool, default False
        Draw s and t per channel instead of once per image.
    p : float in [0, 1], default 1.0
    """

    def __init__(self, scale=(0.9, 1.1), shift=(-0.1, 0.1), per_channel=False, p=1.0):
        self.scale = check_range(scale, "scale", symmetric_about=1.0)
        self.shift = check_range(shift, "shift")
        if not isinstance(per_channel, (bool, np.bool_)):
            raise TypeError(f"per_channel must be True or False, got {per_channel!r}")
        self.per_channel = bool(per_channel)
        self.p = check_probability(p)

    def _apply(self, image, mask, rng, spatial_dims):
        f = _float_type(image)
        if rng.random() >= self.p:
            # the same dtype whether or not the change is drawn: batches
            # stack samples of one type
            return image.astype(f, copy=False), mask
        n = image.shape[0] if self.per_channel else 1
        shape = (n,) + (1,) * spatial_dims
        s = rng.uniform(*self.scale, size=n).reshape(shape)
        t = rng.uniform(*self.shift, size=n).reshape(shape)
        return image.astype(f, copy=False) * s.astype(f) + t.astype(f), mask


class GaussianNoise(Transform):
    """image + noise from N(mean, std**2), per element, with probability ``p``.

    Parameters
    ----------
    std : float >= 0, default 0.1
    mean : float, default 0.0
    p : float in [0, 1], default 1.0
    """

    def __init__(self, std=0.1, mean=0.0, p=1.0):
        self.std = check_float(std, "std", 0.0)
        self.mean = check_float(mean, "mean")
        self.p = check_probability(p)

    def _apply(self, image, mask, rng, spatial_dims):
        f = _float_type(image)
        if rng.random() >= self.p:
            return image.astype(f, copy=False), mask
        noise = rng.normal(self.mean, self.std, size=image.shape).astype(f)
        return image.astype(f, copy=False) + noise, mask


def _float_type(image):
    """float32 and float64 images keep their type; integer images become float32."""
    return image.dtype.type if image.dtype.kind == "f" else np.float32
