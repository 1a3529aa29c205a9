"""Metrics of hard predictions: per-class overlap of label maps (segmentation).

``dice`` and ``iou`` compare predicted and true label maps class by class,
with MONAI's rules for a class absent from the truth.
"""
from nnfast.metrics.overlap import dice, iou

__all__ = ["dice", "iou"]
