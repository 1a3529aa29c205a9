"""Training: ``fit`` (the mini-batch loop), ``evaluate``, ``predict``,
``predict_proba``, ``History``, and the ``Trainer`` that callbacks see."""
from nnfast.training.evaluate import evaluate, predict, predict_proba
from nnfast.training.fit import fit
from nnfast.training.history import History
from nnfast.training.trainer import Trainer

__all__ = ["fit", "evaluate", "predict", "predict_proba", "History", "Trainer"]
