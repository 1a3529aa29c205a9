"""Layers of the teaching framework: ``from nnfast.fau.Layers import *``
gives the modules (``FullyConnected.FullyConnected``, ``Conv.Conv``, ...)."""
from nnfast.fau.Layers import (Base, BatchNormalization, Conv, Flatten, FullyConnected,
                               Helpers, Initializers, Pooling, ReLU, SoftMax)

__all__ = ["Base", "BatchNormalization", "Conv", "Flatten", "FullyConnected", "Helpers",
           "Initializers", "Pooling", "ReLU", "SoftMax"]
