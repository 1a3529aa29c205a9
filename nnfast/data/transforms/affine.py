"""Random affine transforms (rotation, scaling, translation) with interpolation."""
import math
import numbers

import numpy as np

from nnfast._validation import check_float, check_int
from nnfast.data.transforms.base import Transform, check_probability, check_range

MODES = ("constant", "nearest", "reflect", "mirror", "wrap")


class RandomAffine(Transform):
    """Rotate, scale and translate about the centre, with probability ``p``.

    The image is resampled with spline interpolation of ``order`` (1:
    linear), the mask with nearest neighbour (labels stay labels), both
    through ``scipy.ndimage.affine_transform``, channel by channel.

    Parameters
    ----------
    degrees : float or (low, high), default 0
        Rotation angle in degrees, drawn uniformly (a number d means
        (-d, d)). For volumes, one angle is drawn per plane (D-H, D-W,
        H-W) from the same range.
    translate : float, default 0
        Shift per spatial axis, uniform in +-translate * that axis's size.
    scale : float or (low, high), default (1, 1)
        Zoom factor (a number s means (1 - s, 1 + s)); > 1 enlarges.
    p : float in [0, 1], default 1.0
    order : int in [0, 5], default 1
    mode : {"constant", "nearest", "reflect", "mirror", "wrap"}, default "constant"
        How points outside the input are filled (scipy.ndimage's modes).
    cval : float, default 0.0
        The image's fill value for ``mode="constant"`` (the mask's is 0).
    """

    def __init__(self, degrees=0.0, translate=0.0, scale=(1.0, 1.0), p=1.0, order=1,
                 mode="constant", cval=0.0):
        self.degrees = check_range(degrees, "degrees")
        if isinstance(translate, bool) or not isinstance(translate, numbers.Real) or not 0 <= translate <= 1:
            raise ValueError(f"translate must be a fraction in [0, 1] of each axis's size, got {translate!r}")
        self.translate = float(translate)
        self.scale = check_range(scale, "scale", symmetric_about=1.0, minimum=1e-3)
        self.p = check_probability(p)
        self.order = check_int(order, "order", 0, 5)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.cval = check_float(cval, "cval")

    def _apply(self, image, mask, rng, spatial_dims):
        from scipy import ndimage

        if rng.random() >= self.p:
            return image, mask
        shape = np.array(image.shape[1:], dtype=np.float64)
        n_angles = 1 if spatial_dims == 2 else 3
        angles = np.radians(rng.uniform(*self.degrees, size=n_angles))
        zoom = rng.uniform(*self.scale)
        shift = rng.uniform(-self.translate, self.translate, size=spatial_dims) * shape
        forward = zoom * _rotation(angles, spatial_dims)
        # affine_transform maps output coordinates to input ones:
        # in = M @ out + offset, the inverse of out = A (in - c) + c + t
        matrix = np.linalg.inv(forward)
        centre = (shape - 1) / 2
        offset = centre - matrix @ (centre + shift)

        def resample(a, order, cval):
            if a.dtype == np.float16:   # scipy.ndimage has no float16 kernels
                return resample(a.astype(np.float32), order, cval).astype(np.float16)
            out = np.empty_like(a)
            planes = a.reshape((-1,) + a.shape[-spatial_dims:])
            for plane, target in zip(planes, out.reshape(planes.shape)):
                ndimage.affine_transform(plane, matrix, offset=offset, output=target, order=order,
                                         mode=self.mode, cval=cval)
            return out

        image = resample(image, self.order if image.dtype.kind == "f" else 0, self.cval)
        if mask is not None:
            mask = resample(mask, 0, 0.0)
        return image, mask


def _rotation(angles, spatial_dims):
    """Rotation matrix: one angle for 2-D, angles for the (0,1), (0,2) and
    (1,2) planes of 3-D, applied in that order."""
    if spatial_dims == 2:
        c, s = math.cos(angles[0]), math.sin(angles[0])
        return np.array([[c, -s], [s, c]])
    r = np.eye(3)
    for angle, (i, j) in zip(angles, ((0, 1), (0, 2), (1, 2))):
        g = np.eye(3)
        c, s = math.cos(angle), math.sin(angle)
        g[i, i], g[i, j], g[j, i], g[j, j] = c, -s, s, c
        r = g @ r
    return r
