"""Data sets: IDX files and MNIST-format data (a 5,000-digit sample ships inside),
and synthetic segmentation phantoms (``make_phantoms``)."""
from nnfast.datasets.idx import load_idx, read_idx
from nnfast.datasets.mnist import load_mnist
from nnfast.datasets.phantoms import make_phantoms

__all__ = ["load_idx", "read_idx", "load_mnist", "make_phantoms"]
