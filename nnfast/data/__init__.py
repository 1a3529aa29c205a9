"""Data for training: ``DataLoader`` (batches prepared in a background thread)
and ``transforms`` (augmentations that move a mask with its image)."""
from nnfast.data.loader import DataLoader
from nnfast.data import transforms

__all__ = ["DataLoader", "transforms"]
