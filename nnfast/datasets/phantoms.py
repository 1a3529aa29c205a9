"""Synthetic segmentation phantoms: a body, an elliptical organ, a lesion
inside it, under texture, noise and a smooth bias field.

Each image holds (drawn independently per image):

- a large elliptical *body* of soft tissue on dark air;
- an elliptical *organ* (label 1) inside it: random centre, semi-axes and
  rotation, brighter than the body;
- with ``classes=3``, a smaller elliptical *lesion* (label 2) inside the
  organ, as dark as the surrounding body tissue (a hypo-intense lesion, as
  a liver lesion on CT): only its place inside the organ tells it from the
  body, not its intensity;
- up to four small round *distractors* (vessels, bowel) in the body, outside
  the organ, as bright as the organ but labelled background: only size and
  shape tell them from it;
- a multiplicative texture per tissue, a smooth multiplicative bias field
  (up to about +-35 %, as the coil sensitivity of an MR scanner), a global
  gain and Gaussian noise.

So no global intensity threshold solves it: the bias field makes the body
in a bright corner as bright as the organ in a dark one, the lesion has the
body's intensity and the distractors the organ's (tests/training/
test_phantoms.py measures the best one- and two-threshold segmentations).

The draws are made in fixed blocks of ``BLOCK`` images, each block from
generators seeded by ``(seed, block index)``, so that the first m images
of ``make_phantoms(n)`` are ``make_phantoms(m)`` for any m <= n, and the
result does not depend on how NumPy was built or threaded.
"""
import numpy as np

from nnfast._validation import check_allocation, check_int

BLOCK = 128           # images drawn per generator (see the module docstring)
MIN_SIZE = 16         # below this an organ is a few pixels and a lesion one or two
MAX_CLASSES = 3
N_DISTRACTORS = 4     # candidate blobs per image; those touching the organ are dropped
AIR = 0.04            # intensity outside the body


def make_phantoms(n, size=64, classes=3, seed=0):
    """A deterministic synthetic medical segmentation data set.

    Parameters
    ----------
    n : int >= 1
        Number of images.
    size : int >= 16, default 64
        Images are ``size`` x ``size`` pixels.
    classes : {2, 3}, default 3
        2: background (0) and organ (1); 3: background, organ and a lesion
        (2) inside the organ. The images and organs are the same for both
        (``y`` of ``classes=2`` is ``y > 0`` of ``classes=3``); with 2 the
        organ's texture fills the lesion's place.
    seed : int >= 0, default 0
        The same ``(n, size, classes, seed)`` give bitwise the same arrays;
        ``make_phantoms(n, ...)[:m]`` equals ``make_phantoms(m, ...)``.

    Returns
    -------
    X : ndarray of shape (n, 1, size, size), float32
        The images, roughly in [0, 1.2] (air near 0.04, body about 0.35,
        organ about 0.66, before bias field, gain and noise).
    y : ndarray of shape (n, size, size), int64
        The label of each pixel: 0 background, 1 organ, 2 lesion.

    Raises
    ------
    TypeError
        If an argument is not an int.
    ValueError
        If ``n`` < 1, ``size`` < 16, ``classes`` is not 2 or 3, ``seed``
        < 0, or the arrays would not fit in memory.
    """
    n = check_int(n, "n", 1)
    size = check_int(size, "size", MIN_SIZE)
    classes = check_int(classes, "classes")
    if classes not in (2, MAX_CLASSES):
        raise ValueError(f"classes must be 2 (background, organ) or 3 (background, organ, lesion), "
                         f"got {classes}")
    seed = check_int(seed, "seed", 0)
    check_allocation((n, 1, size, size), np.float32, "n and size")
    check_allocation((n, size, size), np.int64, "n and size")

    X = np.empty((n, 1, size, size), dtype=np.float32)
    y = np.empty((n, size, size), dtype=np.int64)
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size     # pixel centres in (0, 1)
    smoother = _smoother(size)
    for block, start in enumerate(range(0, n, BLOCK)):
        stop = min(start + BLOCK, n)
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, block]).spawn(4)]
        X[start:stop, 0], y[start:stop] = _block(streams, stop - start, size, classes, coords,
                                                 smoother)
    return X, y


def _block(streams, count, size, classes, coords, smoother):
    """``count`` images and label maps from four generators: the shape
    parameters are always drawn for a whole BLOCK (so that a shorter last
    block draws what a full one would begin with), and each pixel field from
    a generator of its own (so that ``count`` fields are the first ``count``
    of a full block's)."""
    shapes, body_rng, organ_rng, noise_rng = streams
    p = {k: v[:count] for k, v in _shape_parameters(shapes, BLOCK).items()}
    m = smoother.shape[1]
    body_texture = _smooth_field(body_rng.standard_normal((count, m, m), dtype=np.float32), smoother)
    organ_texture = _smooth_field(organ_rng.standard_normal((count, m, m), dtype=np.float32), smoother)
    noise = noise_rng.standard_normal((count, size, size), dtype=np.float32)

    body = _quadratic_form(coords, p["body_cx"], p["body_cy"], p["body_ax"], p["body_ay"],
                           p["body_angle"]) <= 1
    organ = _quadratic_form(coords, p["organ_cx"], p["organ_cy"], p["organ_ax"], p["organ_ay"],
                            p["organ_angle"]) <= 1
    lesion = organ & (_quadratic_form(coords, p["lesion_cx"], p["lesion_cy"], p["lesion_ax"],
                                      p["lesion_ay"], p["lesion_angle"]) <= 1)
    image = np.full((count, size, size), AIR, dtype=np.float32)
    tissue = (p["body_level"][:, None, None] * (1 + 0.10 * body_texture)).astype(np.float32)
    bright = (1 + 0.08 * organ_texture).astype(np.float32)
    np.copyto(image, tissue, where=body)
    for k in range(N_DISTRACTORS):
        blob = _disc(coords, p["blob_cx"][:, k], p["blob_cy"][:, k], p["blob_r"][:, k])
        blob &= p["blob_valid"][:, k, None, None]
        np.copyto(image, p["blob_level"][:, k, None, None] * bright, where=blob)
    np.copyto(image, p["organ_level"][:, None, None] * bright, where=organ)
    labels = organ.astype(np.int64)
    if classes == 3:
        # the lesion takes the body's level and texture: iso-intense with the tissue outside
        np.copyto(image, p["lesion_level"][:, None, None] * (1 + 0.10 * body_texture), where=lesion)
        labels[lesion] = 2
    image *= _bias_field(coords, p["bias"])
    image *= p["gain"][:, None, None]
    image += p["noise_sd"][:, None, None] * noise
    return image, labels


def _shape_parameters(rng, count):
    """Every per-image number of a block, drawn in a fixed order: (count,)
    arrays (the distractors' (count, N_DISTRACTORS), the bias field's
    (count, 3, 3)), float32, in units of the image side."""
    def u(lo, hi, shape=(count,)):
        return rng.uniform(lo, hi, shape).astype(np.float32)

    p = {}
    p["body_cx"], p["body_cy"] = u(0.46, 0.54), u(0.46, 0.54)
    p["body_ax"], p["body_ay"], p["body_angle"] = u(0.40, 0.47), u(0.36, 0.45), u(0, np.pi)
    p["organ_cx"], p["organ_cy"] = u(0.40, 0.60), u(0.40, 0.60)
    p["organ_ax"], p["organ_ay"], p["organ_angle"] = u(0.16, 0.25), u(0.16, 0.25), u(0, np.pi)
    # the lesion's centre within 0.35 of the organ's radius and its semi-axes at
    # most half the organ's smaller one keep it inside the organ (it is clipped
    # to the organ all the same)
    rho, phi = np.sqrt(u(0, 1)) * 0.35, u(0, 2 * np.pi)
    ox, oy = rho * p["organ_ax"] * np.cos(phi), rho * p["organ_ay"] * np.sin(phi)
    c, s = np.cos(p["organ_angle"]), np.sin(p["organ_angle"])
    p["lesion_cx"], p["lesion_cy"] = p["organ_cx"] + c * ox - s * oy, p["organ_cy"] + s * ox + c * oy
    small = np.minimum(p["organ_ax"], p["organ_ay"])
    p["lesion_ax"], p["lesion_ay"] = small * u(0.32, 0.5), small * u(0.32, 0.5)
    p["lesion_angle"] = u(0, np.pi)
    p["body_level"] = u(0.30, 0.40)
    p["organ_level"] = u(0.58, 0.72)
    p["lesion_level"] = p["body_level"] * u(0.92, 1.08)
    # distractors: centres in the body, kept only clear of the organ by 1.5
    # pixels of 64 beyond their radius (the normalised distance bound below
    # holds for any rotation: |v|_organ <= |v| / min(axes))
    k = (count, N_DISTRACTORS)
    rho, phi = np.sqrt(u(0, 1, k)) * 0.85, u(0, 2 * np.pi, k)
    bx = rho * p["body_ax"][:, None] * np.cos(phi)
    by = rho * p["body_ay"][:, None] * np.sin(phi)
    c, s = np.cos(p["body_angle"])[:, None], np.sin(p["body_angle"])[:, None]
    p["blob_cx"] = p["body_cx"][:, None] + c * bx - s * by
    p["blob_cy"] = p["body_cy"][:, None] + s * bx + c * by
    p["blob_r"] = u(0.025, 0.06, k)
    p["blob_level"] = p["organ_level"][:, None] * u(0.9, 1.1, k)
    q = _quadratic_form_at(p["blob_cx"], p["blob_cy"], p["organ_cx"][:, None], p["organ_cy"][:, None],
                           p["organ_ax"][:, None], p["organ_ay"][:, None], p["organ_angle"][:, None])
    p["blob_valid"] = np.sqrt(q) > 1 + (p["blob_r"] + 0.025) / small[:, None]
    p["bias"] = u(-0.12, 0.12, (count, 3, 3))
    p["gain"] = u(0.85, 1.15)
    p["noise_sd"] = u(0.03, 0.06)
    return p


def _quadratic_form(coords, cx, cy, ax, ay, angle):
    """((x'/ax)^2 + (y'/ay)^2) at every pixel, (x', y') the pixel centre in
    the frame of an ellipse (centre, semi-axes, rotation; (count,) each):
    (count, size, size) float32, <= 1 inside. Built as A dx^2 + C dy^2 +
    B dx dy from (count, 1, size) and (count, size, 1) pieces: one full-size
    product and two broadcast sums per ellipse."""
    A, B, C = _form_coefficients(ax, ay, angle)
    dx = coords[None, None, :] - cx[:, None, None]          # columns are x
    dy = coords[None, :, None] - cy[:, None, None]          # rows are y
    q = (B[:, None, None] * dy) * dx
    q += A[:, None, None] * dx * dx
    q += C[:, None, None] * dy * dy
    return q


def _quadratic_form_at(px, py, cx, cy, ax, ay, angle):
    """The same quadratic form at points (px, py) (any broadcastable shape)."""
    A, B, C = _form_coefficients(ax, ay, angle)
    dx, dy = px - cx, py - cy
    return A * dx * dx + B * dx * dy + C * dy * dy


def _form_coefficients(ax, ay, angle):
    c, s = np.cos(angle), np.sin(angle)
    ia, ib = 1 / (ax * ax), 1 / (ay * ay)
    return c * c * ia + s * s * ib, 2 * c * s * (ia - ib), s * s * ia + c * c * ib


def _disc(coords, cx, cy, r):
    """Pixels within ``r`` of (cx, cy): (count, size, size) bool."""
    dx = coords[None, None, :] - cx[:, None, None]
    dy = coords[None, :, None] - cy[:, None, None]
    return dx * dx + dy * dy <= (r * r)[:, None, None]


def _smoother(size):
    """The (size, m) matrix that interpolates an m x m grid of white noise to
    size x size pixels with a Gaussian kernel, scaled so that each pixel of
    the result has unit variance: a texture of blobs about 4 pixels wide
    (m = size / 4 grid points), as W @ Z @ W.T."""
    m = max(4, size // 4)
    grid = (np.arange(m) + 0.5) / m
    x = (np.arange(size) + 0.5) / size
    w = np.exp(-0.5 * ((x[:, None] - grid[None, :]) * m) ** 2)
    # row i of W @ Z @ W.T at column j has variance |W_i|^2 |W_j|^2
    w /= np.sqrt((w * w).sum(axis=1, keepdims=True))
    return w.astype(np.float32)


def _smooth_field(z, smoother):
    """(count, m, m) white noise as a (count, size, size) unit-variance
    texture, W @ Z @ W.T per image, as two plain 2-D products: NumPy's
    matmul of a 2-D matrix against a stack does not reach BLAS (100 images
    of 256 x 256 took 7 s that way, 0.1 s this way)."""
    count, m, _ = z.shape
    size = smoother.shape[0]
    right = (z.reshape(count * m, m) @ smoother.T).reshape(count, m, size)        # Z @ W.T
    left = np.ascontiguousarray(right.transpose(0, 2, 1)).reshape(count * size, m) @ smoother.T
    return left.reshape(count, size, size).transpose(0, 2, 1)      # (W @ Z @ W.T).T, transposed back


def _bias_field(coords, coefficients):
    """1 + sum over k, l in 0..2 (not both 0) of c_kl cos(k pi y) cos(l pi x):
    a smooth multiplicative field per image, (count, size, size) float32,
    clipped to [0.6, 1.4]. ``coefficients`` (count, 3, 3); c_00 is unused."""
    basis = np.cos(np.pi * np.arange(3, dtype=np.float32)[:, None] * coords[None, :])   # (3, size)
    c = coefficients.copy()
    c[:, 0, 0] = 0
    field = np.matmul(np.matmul(basis.T, c), basis)     # (size, 3) @ (count, 3, 3) @ (3, size)
    field += 1
    return np.clip(field, 0.6, 1.4, out=field)
