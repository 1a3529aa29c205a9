"""Layers: each with ``forward``, ``backward``, ``parameters``, train/eval."""
from nnfast.layers.base import Layer
from nnfast.layers.linear import Linear
from nnfast.layers.dropout import Dropout
