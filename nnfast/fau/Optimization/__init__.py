"""Optimizers and the loss: ``from nnfast.fau.Optimization import *`` gives
the modules ``Optimizers`` and ``Loss``."""
from nnfast.fau.Optimization import Loss, Optimizers

__all__ = ["Loss", "Optimizers"]
