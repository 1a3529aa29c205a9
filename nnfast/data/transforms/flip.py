"""Random flips and 90-degree rotations (exact: no interpolation)."""
import numpy as np

from nnfast.data.transforms.base import Transform, check_axes, check_probability, spatial_axis


class RandomFlip(Transform):
    """Flip each of ``axes`` (spatial axes, 0 = the first) with probability ``p``.

    Parameters
    ----------
    axes : tuple of int or None
        None: every spatial axis (H and W; D, H and W for volumes).
    p : float in [0, 1], default 0.5
        Per axis, drawn independently.
    """

    def __init__(self, axes=None, p=0.5):
        self.axes = None if axes is None else check_axes(axes, "axes")
        self.p = check_probability(p)

    def _apply(self, image, mask, rng, spatial_dims):
        axes = range(spatial_dims) if self.axes is None else self.axes
        axes = [spatial_axis(a, spatial_dims) for a in axes]    # checked whatever is drawn
        flips = tuple(a for a in axes if rng.random() < self.p)
        if not flips:
            return image, mask
        image = np.ascontiguousarray(np.flip(image, flips))
        if mask is not None:
            mask = np.ascontiguousarray(np.flip(mask, flips))
        return image, mask


class RandomRotate90(Transform):
    """Rotate by k * 90 degrees in the plane of two spatial axes, k drawn
    from {0, 1, 2, 3}, with probability ``p`` (k = 0 otherwise).

    A rotation by 90 or 270 degrees swaps the plane's two sizes: give square
    planes when the samples are stacked into batches.

    Parameters
    ----------
    axes : (int, int), default (0, 1)
        The plane (spatial axes; for volumes (1, 2) is the H-W plane).
    p : float in [0, 1], default 1.0
    """

    def __init__(self, axes=(0, 1), p=1.0):
        axes = check_axes(axes, "axes")
        if len(axes) != 2 or axes[0] == axes[1]:
            raise ValueError(f"axes must be two different spatial axes, got {axes!r}")
        self.axes = axes
        self.p = check_probability(p)

    def _apply(self, image, mask, rng, spatial_dims):
        plane = tuple(spatial_axis(a, spatial_dims) for a in self.axes)
        k = int(rng.integers(4)) if rng.random() < self.p else 0
        if k == 0:
            return image, mask
        image = np.ascontiguousarray(np.rot90(image, k, axes=plane))
        if mask is not None:
            mask = np.ascontiguousarray(np.rot90(mask, k, axes=plane))
        return image, mask
