"""Training: ``fit`` (the mini-batch loop), ``evaluate``, ``predict``, ``History``."""
from nnfast.training.evaluate import evaluate, predict
from nnfast.training.fit import fit
from nnfast.training.history import History

__all__ = ["fit", "evaluate", "predict", "History"]
