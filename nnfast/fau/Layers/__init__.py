"""Layers of the teaching framework: ``from nnfast.fau.Layers import *``
gives the modules (``FullyConnected.FullyConnected``, ``Conv.Conv``, ...)."""
from nnfast.fau.Layers import (LSTM, RNN, Base, Conv, Flatten, FullyConnected, Helpers,
                               Initializers, Pooling, ReLU, SoftMax)

__all__ = ["Base", "Conv", "Flatten", "FullyConnected", "Helpers", "Initializers",
           "LSTM", "Pooling", "ReLU", "RNN", "SoftMax"]
