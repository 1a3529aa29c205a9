"""Optimizers, weight penalties and the loss: ``from nnfast.fau.Optimization
import *`` gives the modules ``Optimizers``, ``Constraints`` and ``Loss``."""
from nnfast.fau.Optimization import Constraints, Loss, Optimizers

__all__ = ["Constraints", "Loss", "Optimizers"]
