"""MNIST-format data sets: the bundled 5,000-digit sample, or the four
standard IDX files from a directory (MNIST, Fashion-MNIST, ...)."""
import os
from importlib import resources

import numpy as np

from nnfast.datasets.idx import load_idx, read_idx

# (train images, train labels, test images, test labels), as the originals are named
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
BUNDLED = "data/mnist5k"


def load_mnist(path=None):
    """Load an MNIST-format data set.

    Parameters
    ----------
    path : str, os.PathLike or None
        A directory holding ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
        ``t10k-labels-idx1-ubyte`` (each optionally with ``.gz``, or with
        ``.idx`` written ``train-images.idx3-ubyte`` as some mirrors do).
        None loads the sample bundled with nnfast: 4,000 training and 1,000
        test digits.

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
        Images float32 of shape (N, 1, H, W) (28 x 28 for MNIST) scaled to
        [0, 1]; labels int64 of shape (N,).

    Raises
    ------
    ValueError
        If the directory or a file is missing, a file is not a valid IDX
        file, images are not uint8 of shape (N, H, W), labels not uint8 of
        shape (N,), or the image and label counts differ.
    """
    if path is None:
        root = resources.files("nnfast.datasets").joinpath(BUNDLED)
        arrays = []
        for base in MNIST_FILES:
            with root.joinpath(base + ".gz").open("rb") as f:
                arrays.append(read_idx(f, f"nnfast bundled {base}.gz"))
    else:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be None, a str or an os.PathLike, got {type(path).__name__}")
        if not os.path.isdir(path):
            raise ValueError(f"path must be a directory holding the four MNIST files, got {os.fspath(path)!r} "
                             "(no such directory)")
        arrays = [load_idx(_find(path, base)) for base in MNIST_FILES]
    train = _images_and_labels(arrays[0], arrays[1], "train")
    test = _images_and_labels(arrays[2], arrays[3], "t10k")
    return train, test


def _find(directory, base):
    """The path of ``base`` in ``directory``, with or without ``.gz``."""
    dotted = base.replace("-idx", ".idx", 1)
    candidates = [base, base + ".gz", dotted, dotted + ".gz"]
    for name in candidates:
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    raise ValueError(f"{os.fspath(directory)!r} has no {base} file (looked for "
                     + ", ".join(candidates) + ")")


def _images_and_labels(images, labels, split):
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{split} images must be uint8 of shape (N, H, W), "
                         f"got {images.dtype} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{split} labels must be uint8 of shape (N,), "
                         f"got {labels.dtype} of shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split} images and labels must have the same count, "
                         f"got {images.shape[0]} images and {labels.shape[0]} labels")
    n, h, w = images.shape
    X = images.reshape(n, 1, h, w).astype(np.float32)
    X *= np.float32(1.0 / 255.0)
    return X, labels.astype(np.int64)
