"""scikit-learn estimators on nnfast: ``MLPClassifier``, ``MLPRegressor``
(``sklearn.neural_network``'s parameters, defaults and fitted attributes),
and ``NeuralNetClassifier`` / ``NeuralNetRegressor`` wrapping any nnfast model.

Needs scikit-learn (``pip install nnfast[sklearn]``); ``import nnfast`` does
not import this package.
"""
try:
    import sklearn  # noqa: F401
except ImportError:  # pragma: no cover - only without the extra
    raise ImportError("nnfast.sklearn needs scikit-learn: pip install nnfast[sklearn] "
                      "(or pip install scikit-learn)") from None

from nnfast.sklearn._mlp import MLPClassifier, MLPRegressor
from nnfast.sklearn._net import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor"]
