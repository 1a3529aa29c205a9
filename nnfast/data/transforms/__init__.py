"""Augmentations for 2-D and 3-D images that move a mask with its image.

Each is called as ``t(image, mask=None, rng=None) -> (image, mask)`` on one
channel-first sample ((C, H, W) or (C, D, H, W)); the mask (the image's
spatial shape, with or without a channel axis) gets the same geometric
change, never an intensity change, and a target that is not a map (a class
label) passes through. ``DataLoader(..., transform=Compose([...]))`` calls
them per sample with a generator seeded from its seed and the epoch.
"""
from nnfast.data.transforms.base import Compose, Transform
from nnfast.data.transforms.flip import RandomFlip, RandomRotate90
from nnfast.data.transforms.crop import CenterCropOrPad, RandomCropOrPad
from nnfast.data.transforms.affine import RandomAffine
from nnfast.data.transforms.intensity import GaussianNoise, RandomIntensity

__all__ = ["Transform", "Compose", "RandomFlip", "RandomRotate90", "RandomCropOrPad",
           "CenterCropOrPad", "RandomAffine", "RandomIntensity", "GaussianNoise"]
