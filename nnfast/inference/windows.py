"""Where the windows of a sliding-window pass lie, and how much each pixel of a window counts.

The geometry and the weights are MONAI's (``monai.inferers.utils._get_scan_interval``,
``monai.data.utils.dense_patch_slices`` and ``compute_importance_map``), so that
``nf.inference.sliding_window`` tiles an image exactly as
``monai.inferers.sliding_window_inference`` does. Every function here is N-d: one
entry per spatial axis.
"""
import itertools

import numpy as np

# MONAI's floor for the weights of a window (``compute_importance_map``): the
# Gaussian's tails are raised to it, so that no pixel covered by windows gets
# a weight sum of 0 (a division by 0) or so small that rounding dominates it.
MIN_WEIGHT = 1e-3


def scan_interval(image_size, roi_size, overlap):
    """The step between window starts along each axis.

    ``int(roi * (1 - overlap))``, at least 1; the whole axis (one window)
    where the ROI equals the image there.

    Parameters
    ----------
    image_size, roi_size : tuple of int, one per spatial axis
        ``roi_size[d] <= image_size[d]`` (the image padded first if need be).
    overlap : float in [0, 1)

    Returns
    -------
    tuple of int
    """
    steps = []
    for size, roi in zip(image_size, roi_size):
        if roi == size:
            steps.append(roi)
        else:
            steps.append(max(int(roi * (1 - overlap)), 1))
    return tuple(steps)


def axis_starts(size, roi, step):
    """The start of each window along one axis: ``0, step, 2 step, ...``,
    as many as it takes to reach the end, the last one moved back to end
    flush with the border (``size - roi``), so that every window lies
    inside the axis and every pixel is covered."""
    count = -(-(size - roi) // step) + 1   # 1 + ceil((size - roi) / step)
    return [min(i * step, size - roi) for i in range(count)]


def axis_grid(image_size, roi_size, overlap):
    """The window starts along each axis (``axis_starts`` per axis): the
    windows are every combination of one start per axis."""
    steps = scan_interval(image_size, roi_size, overlap)
    return [axis_starts(s, r, t) for s, r, t in zip(image_size, roi_size, steps)]


def window_count(grid):
    """How many windows the grid of starts ``axis_grid`` gave holds."""
    count = 1
    for starts in grid:
        count *= len(starts)
    return count


def window_start(grid, index):
    """The start (one int per axis) of window ``index`` of ``grid``, in
    MONAI's order: row-major over the grid, the first spatial axis varying
    slowest. Computed on demand, so that a pass over many windows keeps no
    list of them."""
    start = []
    for starts in reversed(grid):
        index, i = divmod(index, len(starts))
        start.append(starts[i])
    return tuple(reversed(start))


def window_starts(image_size, roi_size, overlap):
    """Every window's start, one tuple per window, in MONAI's order.

    Parameters
    ----------
    image_size, roi_size : tuple of int, one per spatial axis, roi <= image
    overlap : float in [0, 1)

    Returns
    -------
    list of tuple of int
    """
    return list(itertools.product(*axis_grid(image_size, roi_size, overlap)))


def importance_map(roi_size, blend, sigma_scale=0.125, dtype=np.float32):
    """The weight of each pixel of a window's output.

    ``"constant"``: 1 everywhere. ``"gaussian"``: the product over axes of
    ``exp(-x**2 / (2 sigma**2))`` with ``x`` the distance from the window's
    centre (``-(roi - 1) / 2 ... (roi - 1) / 2``) and ``sigma = sigma_scale
    * roi``; computed in float32 as MONAI does, then every weight below
    ``max(min(map), 1e-3)`` raised to it.

    Parameters
    ----------
    roi_size : tuple of int, one per spatial axis
    blend : "constant" or "gaussian"
    sigma_scale : float > 0
    dtype : np.float32 or np.float64
        The dtype of the map returned (its values are float32's either way).

    Returns
    -------
    ndarray of shape roi_size and dtype ``dtype``
    """
    if blend == "constant":
        return np.ones(roi_size, dtype)
    weights = None
    for axis, roi in enumerate(roi_size):
        sigma = sigma_scale * roi
        x = np.arange(roi, dtype=np.float32) - np.float32((roi - 1) / 2.0)
        g = np.exp(x * x / np.float32(-2.0 * sigma * sigma))
        # the outer product built one axis at a time, as MONAI builds it
        weights = g if weights is None else weights[..., None] * g[(None,) * axis]
    floor = max(float(weights.min()), MIN_WEIGHT)
    np.maximum(weights, np.float32(floor), out=weights)
    return weights.astype(dtype, copy=False)
