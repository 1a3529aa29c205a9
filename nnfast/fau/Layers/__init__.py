"""Layers of the teaching framework: ``from nnfast.fau.Layers import *``
gives the modules (``FullyConnected.FullyConnected``, ``Conv.Conv``, ...)."""
from nnfast.fau.Layers import (LSTM, RNN, Base, BatchNormalization, Conv, Dropout, Flatten,
                               FullyConnected, Helpers, Initializers, Pooling, ReLU, Sigmoid,
                               SoftMax, TanH)

__all__ = ["Base", "BatchNormalization", "Conv", "Dropout", "Flatten", "FullyConnected",
           "Helpers", "Initializers", "LSTM", "Pooling", "ReLU", "RNN", "Sigmoid", "SoftMax",
           "TanH"]
