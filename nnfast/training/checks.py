"""Argument checks shared by ``fit``, ``evaluate`` and ``predict``."""
import numpy as np

from nnfast._validation import _numeric, as_float_array
from nnfast.layers.base import Layer


def check_model(model):
    if not isinstance(model, Layer):
        raise TypeError(f"model must be an nnfast Sequential or Layer, got {type(model).__name__}")
    return model


def _check_methods(obj, name, methods, kind):
    if isinstance(obj, type):
        raise TypeError(f"{name} must be {kind}: an instance, got the class {obj.__name__} "
                        f"(make one: {obj.__name__}(...))")
    missing = [m for m in methods if not callable(getattr(obj, m, None))]
    if missing:
        raise TypeError(f"{name} must be {kind} with {', '.join(m + '()' for m in methods)}; "
                        f"{type(obj).__name__} has no {', '.join(m + '()' for m in missing)}")
    return obj


def check_loss(loss, name="loss"):
    """A loss object: ``forward(pred, target) -> float`` and ``backward()``."""
    return _check_methods(loss, name, ("forward", "backward"), "a loss (e.g. nf.losses.CrossEntropyLoss())")


def check_optimizer(optimizer, name="optimizer"):
    """An optimizer object: ``step()`` and ``zero_grad()``."""
    return _check_methods(optimizer, name, ("step", "zero_grad"), "an optimizer (e.g. nf.optim.SGD(...))")


def model_dtype(model):
    """The dtype of the model's first parameter (None without parameters)."""
    params = model.parameters()
    return params[0].value.dtype.type if params else None


def check_inputs(X, model, name="X"):
    """``X`` as a float array of the model's dtype (converted once), ndim >= 1."""
    X = as_float_array(X, name, dtype=model_dtype(model), allow_empty=True)
    if X.ndim < 1 or X.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one sample (shape (N, ...) with N >= 1), got shape {X.shape}")
    if X.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {X.shape}")
    return X


def check_targets(y, n_samples, name="y", x_name="X"):
    """``y`` as a numeric array with one row per sample."""
    y = _numeric(y, name)
    if y.ndim < 1:
        raise ValueError(f"{name} must have one target per sample, shape ({n_samples}, ...), got a scalar")
    if y.shape[0] != n_samples:
        raise ValueError(f"{x_name} and {name} must hold the same number of samples, "
                         f"got {n_samples} in {x_name} and {y.shape[0]} in {name}")
    return np.ascontiguousarray(y)
