"""Losses: ``forward(pred, target) -> float``, ``backward() -> grad wrt pred``."""
from nnfast.losses.base import Loss
from nnfast.losses.cross_entropy import CrossEntropyLoss, NLLLoss
from nnfast.losses.mse import MSELoss
from nnfast.losses.binary import BCELoss, BCEWithLogitsLoss
from nnfast.losses.dice import DiceLoss
from nnfast.losses.hinge import HingeLoss
from nnfast.losses.tversky import TverskyLoss
from nnfast.losses.focal import FocalLoss
from nnfast.losses.dice_ce import DiceCELoss
from nnfast.losses.crps import CRPSLoss

__all__ = ["Loss", "CrossEntropyLoss", "NLLLoss", "MSELoss", "BCEWithLogitsLoss",
           "BCELoss", "DiceLoss", "HingeLoss", "TverskyLoss", "FocalLoss", "DiceCELoss",
           "CRPSLoss"]
