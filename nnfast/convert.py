"""``model.astype(dtype)``: a copy of a model with parameters of another dtype."""
import copy

import numpy as np

from nnfast._validation import FLOAT_DTYPES, float_dtype
from nnfast.parameter import Parameter


def astype(model, dtype):
    """A copy of ``model`` whose parameters (and other float arrays it keeps,
    such as normalisation buffers) are ``dtype``; ``model`` is unchanged.

    The copy is independent (no array is shared) and starts as a freshly
    built layer would: its ``backward`` needs a ``forward`` first.

    Parameters
    ----------
    model : Layer or Sequential
    dtype : np.float32 or np.float64

    Returns
    -------
    Layer of the same class
    """
    from nnfast.layers.base import Layer

    if not isinstance(model, Layer):
        raise TypeError(f"model must be an nnfast Sequential or Layer, got {type(model).__name__}")
    if dtype is None:   # np.dtype(None) is float64: say which one
        raise TypeError("dtype must be np.float32 or np.float64, got None")
    dtype = float_dtype(dtype)
    new = copy.deepcopy(model)   # reusable output arrays are left behind (Layer.__getstate__)
    for layer in _layers(new):
        _convert_layer(layer, dtype)
    return new


def _layers(layer):
    """``layer`` and every Layer inside it (Sequential's ``layers``, Layers
    held as attributes, e.g. a wrapped inner network, and a container's
    ``named_children()``, e.g. a Graph's nodes)."""
    from nnfast.layers.base import Layer

    seen, stack, out = set(), [layer], []
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        out.append(current)
        for value in vars(current).values():
            items = value if isinstance(value, (list, tuple)) else [value]
            stack.extend(v for v in items if isinstance(v, Layer))
        children = getattr(current, "named_children", None)
        if callable(children):
            stack.extend(child for _, child in children())
    return out


def _convert_layer(layer, dtype):
    for key, value in list(vars(layer).items()):
        if isinstance(value, Parameter):
            value._convert(dtype)
        elif isinstance(value, np.ndarray) and value.dtype in FLOAT_DTYPES:
            # buffers (and stale scratch, whose garbage may not cast cleanly)
            with np.errstate(all="ignore"):
                setattr(layer, key, value.astype(dtype))
        elif key == "dtype" and value is not None:
            layer.dtype = dtype
    config = vars(layer).get("_config")
    if isinstance(config, dict) and "dtype" in config:
        layer._config = dict(config, dtype=np.dtype(dtype).name)
    # what the last forward kept (and cached shapes) belongs to the original
    layer._grad_output_shape = None
    vars(layer).pop("_shape_cache", None)
