"""Inference beyond ``predict``: ``sliding_window`` runs a model window by
window over images larger than it was trained on (or than memory allows for
one forward pass), blending the overlapping windows as MONAI does."""
from nnfast.inference.sliding_window import sliding_window

__all__ = ["sliding_window"]
