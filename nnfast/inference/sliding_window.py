"""Sliding-window inference: a model trained on small patches, run over a large image."""
import numpy as np

from nnfast._inference import inference_mode
from nnfast._validation import (_native_float, _numeric, check_bool, check_choice, check_float,
                                check_int)
from nnfast.inference.windows import axis_grid, importance_map, window_count, window_start
from nnfast.training.checks import check_model, model_dtype

BLENDS = ("constant", "gaussian")
# Spatial axes accepted now: the geometry below is N-d, the 3-D layers are not all there yet.
SPATIAL_DIMS = (2,)
AXES = {1: "W", 2: "H, W", 3: "D, H, W"}


def sliding_window(model, image, roi_size, overlap=0.25, blend="constant", batch_size=4,
                   sigma_scale=0.125, pad=False):
    """The model's output over ``image``, computed window by window and blended.

    The windows and the blending are those of MONAI's
    ``sliding_window_inference(image, roi_size, sw_batch_size=batch_size,
    predictor=model, overlap=overlap, mode=blend, sigma_scale=sigma_scale)``:
    along each spatial axis windows of ``roi_size`` start every
    ``int(roi * (1 - overlap))`` pixels (at least 1), the last one flush with
    the border; the windows of all N images, image by image, go through the
    model ``batch_size`` at a time; each pixel's output is

        sum over windows w covering it of  importance[w] * tile_output[w]
        ------------------------------------------------------------------
        sum over windows w covering it of  importance[w]

    with ``importance`` 1 (``"constant"``) or a Gaussian centred on the window
    (``"gaussian"``, sigma ``sigma_scale * roi`` per axis, weights below 1e-3
    raised to it). The model runs as in ``predict``: in inference mode
    (Dropout off, BatchNorm's running statistics used) on this thread only;
    the model's train/eval flag and BatchNorm's statistics are left as they
    were.

    Memory: the image is never copied whole (each window is cast to the
    model's dtype as it is gathered). Beyond the image, the peak is

        output (N * C_out * H * W) + weight sum (H * W) + importance map (roi)
        + two batches of tiles in (2 * batch_size * C * roi: the model's first
          layer may still hold the last batch while the next is gathered)
        + one batch of weighted tiles out (batch_size * C_out * roi)
        + what the model allocates for forwards of batch_size tiles (its
          layers' output arrays, kept for reuse, and the kernels' workspace)

    elements of the model's dtype: the image size enters only through the
    output and one spatial plane of summed weights, never through the number
    of windows (tests/inference/test_sliding_window.py measures it: a
    2048x2048 image through ``nf.models.UNet``, roi 96, batch_size 4, peaks at
    131 MiB, 48 of them the output and the weight sum).

    Parameters
    ----------
    model : nnfast Layer (Sequential, Graph, UNet, ...)
        Maps (B, C, *roi_size) to (B, C_out, *roi_size): any number of output
        channels, the input's spatial size.
    image : array_like of shape (N, C, H, W)
        Numeric; cast to the model's dtype (float32 by default) window by
        window.
    roi_size : int or tuple of int (one per spatial axis), each >= 1
        The window size; an int is used for every axis. It must fit in the
        image unless ``pad`` is True.
    overlap : float in [0, 1)
        The fraction of a window shared with the next one along each axis.
    blend : "constant" or "gaussian"
        How overlapping windows are weighted.
    batch_size : int >= 1
        Windows per model call (MONAI's ``sw_batch_size``); a batch may hold
        windows of several images.
    sigma_scale : float > 0
        The Gaussian's sigma as a fraction of the window size (``"gaussian"``).
    pad : bool
        False: a ``roi_size`` larger than the image along an axis is a
        ValueError. True: the image is padded with zeros along such axes to
        ``roi_size`` (half before, the rest after, as MONAI pads) and the
        output cropped back to the image.

    Returns
    -------
    ndarray of shape (N, C_out, H, W), the model's dtype
    """
    check_model(model)
    image = _check_image(image)
    spatial = image.shape[2:]
    roi = _check_roi_size(roi_size, spatial)
    overlap = check_float(overlap, "overlap", 0.0, 1.0, max_inclusive=False)
    blend = check_choice(blend, "blend", BLENDS)
    batch_size = check_int(batch_size, "batch_size", 1)
    sigma_scale = check_float(sigma_scale, "sigma_scale", 0.0, min_inclusive=False)
    pad = check_bool(pad, "pad", " (True: pad an image smaller than roi_size with zeros; "
                                 "False: refuse it)")
    _check_fits(roi, image.shape, pad)
    dtype = model_dtype(model) or _native_float(image.dtype) or np.float32

    # Windows lie in the padded image (the image itself where nothing is
    # padded); ``before`` is where the image starts in it. A window is made
    # from its index when needed: no list of windows is kept.
    padded = tuple(max(s, r) for s, r in zip(spatial, roi))
    before = tuple((p - s) // 2 for p, s in zip(padded, spatial))
    grid = axis_grid(padded, roi, overlap)
    n_windows = window_count(grid)

    def place(j):
        return _place(window_start(grid, j), roi, before, spatial)

    # The weight sum is the same for every image and channel: one spatial
    # plane, summed in the windows' order (MONAI's count map).
    weight = importance_map(roi, blend, sigma_scale, dtype)
    weight_sum = np.zeros(spatial, dtype)
    for j in range(n_windows):
        image_part, tile_part = place(j)
        weight_sum[image_part] += weight[tile_part]

    # Windows run image by image (window j of image n is job n * n_windows + j),
    # batch_size jobs per model call, a batch spanning images where it falls so.
    n, channels = image.shape[:2]
    total = n * n_windows
    all_channels = (slice(None),)
    out = scratch = None
    with inference_mode():
        for first in range(0, total, batch_size):
            jobs = range(first, min(first + batch_size, total))
            # a new array per batch: a layer may keep its input for a backward;
            # zeros where the windows reach into the padding
            tiles = (np.zeros if padded != spatial else np.empty)((len(jobs), channels) + roi, dtype)
            parts = [(job // n_windows, place(job % n_windows)) for job in jobs]
            for i, (sample, (image_part, tile_part)) in enumerate(parts):
                tiles[(i,) + all_channels + tile_part] = image[(sample,) + all_channels + image_part]
            y = _check_output(model.forward(tiles), tiles.shape, out)
            if out is None:
                out = np.zeros((n, y.shape[1]) + spatial, dtype)
                scratch = np.empty((min(batch_size, total), y.shape[1]) + roi, dtype)
            weighted = scratch[:len(jobs)]
            np.multiply(y, weight, out=weighted, casting="same_kind")
            del y
            for i, (sample, (image_part, tile_part)) in enumerate(parts):
                out[(sample,) + all_channels + image_part] += weighted[(i,) + all_channels + tile_part]
    out /= weight_sum
    return out


def _place(start, roi, before, spatial):
    """(the slices of the image a window at ``start`` of the padded image
    covers, the slices of the window that lie on the image)."""
    image_part, tile_part = [], []
    for s, r, b, size in zip(start, roi, before, spatial):
        lo, hi = max(s - b, 0), min(s - b + r, size)
        image_part.append(slice(lo, hi))
        tile_part.append(slice(lo - (s - b), hi - (s - b)))
    return tuple(image_part), tuple(tile_part)


def _check_image(image):
    arr = _numeric(image, "image")
    if arr.ndim - 2 not in SPATIAL_DIMS:
        raise ValueError(f"image must have shape (N, C, H, W) (4 dimensions), got shape "
                         f"{arr.shape} ({arr.ndim} dimensions)")
    if arr.size == 0:
        raise ValueError(f"image must not be empty, got shape {arr.shape}")
    return arr


def _check_roi_size(roi_size, spatial):
    """``roi_size`` as a tuple of ints >= 1, one per spatial axis."""
    ndim = len(spatial)
    if isinstance(roi_size, (tuple, list)):
        if len(roi_size) != ndim:
            raise ValueError(f"roi_size must be an int or {ndim} ints (one per spatial axis of an "
                             f"image of shape (N, C, {AXES[ndim]})), got {roi_size!r}")
        return tuple(check_int(r, f"roi_size[{d}]", 1) for d, r in enumerate(roi_size))
    if isinstance(roi_size, np.ndarray) and roi_size.ndim == 1:
        return _check_roi_size(roi_size.tolist(), spatial)
    return (check_int(roi_size, "roi_size", 1),) * ndim


def _check_fits(roi, shape, pad):
    for d, (r, s) in enumerate(zip(roi, shape[2:])):
        if r > s and not pad:
            raise ValueError(f"roi_size {roi} is larger than the image of shape {shape} in spatial "
                             f"dimension {d} (axis {d + 2}: {r} > {s}); pass pad=True to pad the "
                             "image with zeros to the window size")


def _check_output(y, tiles_shape, out):
    """The model's output for a batch of tiles: (B, C_out, *roi), the same
    C_out for every batch."""
    if isinstance(y, (tuple, list, dict)):
        raise TypeError(f"model must return one array (B, C_out, *roi_size) for a batch of tiles, "
                        f"got a {type(y).__name__} of {len(y)} outputs")
    y = np.asarray(y)
    b, _, *roi = tiles_shape
    if y.ndim != len(tiles_shape) or y.shape[0] != b or list(y.shape[2:]) != roi:
        raise ValueError(f"model must map a batch of tiles of shape {tuple(tiles_shape)} to "
                         f"({b}, C_out, {', '.join(map(str, roi))}) (the window's spatial size), "
                         f"got shape {y.shape}")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"model output must be numeric, got dtype {y.dtype}")
    if out is not None and y.shape[1] != out.shape[1]:
        raise ValueError(f"model must give the same number of output channels for every batch of "
                         f"tiles: {out.shape[1]}, then {y.shape[1]}")
    return y
