"""PyTorch-style state dicts: a model's parameters and buffers under torch's key names.

For a ``Sequential`` the keys are those of a ``torch.nn.Sequential`` of the same
layers: ``"0.weight"``, ``"0.bias"``, ``"3.weight"``, ..., nested Sequentials
giving ``"1.0.weight"``; a BatchNorm layer adds ``running_mean``,
``running_var`` and ``num_batches_tracked``. nnfast keeps weights in
PyTorch's layouts (Linear (out_features, in_features), Conv2D (out_channels,
in_channels, kernel_h, kernel_w)), so arrays copy across as they are; weights
in another framework's layout are refused with the transpose that fixes them.

A container layer lists its sub-layers with ``named_children()`` (name, layer
pairs); a Sequential's are its indices. A leaf layer's parameters are named by
``Parameter.name``; its buffers are the attributes named in ``BUFFER_NAMES``
that it has.
"""
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

# torch's buffer names, in the order torch lists them (BatchNorm's)
BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked")

# PyTorch's layout of each layer kind's weight, for error messages
WEIGHT_LAYOUTS = {
    "Linear": "(out_features, in_features)",
    "Conv1D": "(out_channels, in_channels, kernel_size)",
    "Conv2D": "(out_channels, in_channels, kernel_h, kernel_w)",
    "Conv3D": "(out_channels, in_channels, kernel_d, kernel_h, kernel_w)",
    "ConvTranspose2D": "(in_channels, out_channels, kernel_h, kernel_w)",
    "ConvTranspose3D": "(in_channels, out_channels, kernel_d, kernel_h, kernel_w)",
}

# Other frameworks' weight layouts: (rank, axes such that
# np.transpose(w, axes) is PyTorch's layout, what the layout is, the fix).
FOREIGN_LAYOUTS = (
    (2, (1, 0), "a Keras/TensorFlow Dense kernel, laid out (in_features, out_features)", "w.T"),
    (3, (2, 1, 0), "a channels-last (kernel_size, in_channels, out_channels) kernel, as Keras/TensorFlow "
                   "Conv1D stores it", "np.transpose(w, (2, 1, 0))"),
    (4, (3, 2, 0, 1), "an HWIO (kernel_h, kernel_w, in_channels, out_channels) kernel, as Keras/TensorFlow "
                      "Conv2D stores it", "np.transpose(w, (3, 2, 0, 1))"),
    (4, (0, 3, 1, 2), "an OHWI (out_channels, kernel_h, kernel_w, in_channels) kernel, as TFLite and "
                      "channels-last exports store it", "np.transpose(w, (0, 3, 1, 2))"),
    (5, (4, 3, 0, 1, 2), "a DHWIO (kernel_d, kernel_h, kernel_w, in_channels, out_channels) kernel, as "
                         "Keras/TensorFlow Conv3D stores it", "np.transpose(w, (4, 3, 0, 1, 2))"),
)

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = """What ``load_state_dict`` did not match, as torch's ``_IncompatibleKeys``."""


def _layer_base():
    from nnfast.layers.base import Layer
    return Layer


def named_children(layer):
    """(name, sub-layer) pairs of a container layer; [] for a leaf."""
    method = getattr(layer, "named_children", None)
    if callable(method):
        return list(method())
    from nnfast.network import Sequential
    if isinstance(layer, Sequential):
        return [(str(i), sub) for i, sub in enumerate(layer.layers)]
    return []


def _entries(layer, prefix=""):
    """(key, layer, kind, name) for every parameter ("param", its index in
    the leaf's own parameters) and buffer ("buffer", attribute name), in
    torch's order: each module's parameters, then its buffers, then its
    children's, depth first."""
    children = named_children(layer)
    child_params = {id(p) for _, sub in children for p in sub.parameters()}
    out = []
    used = set()
    for i, p in enumerate(layer.parameters()):
        if id(p) in child_params:
            continue
        name = p.name if p.name and p.name not in used else f"param{i}"
        used.add(name)
        out.append((prefix + name, layer, "param", i))
    for name in BUFFER_NAMES:
        if getattr(layer, name, None) is not None:
            out.append((prefix + name, layer, "buffer", name))
    for child_name, sub in children:
        out.extend(_entries(sub, f"{prefix}{child_name}."))
    return out


def _check_model(model):
    if not isinstance(model, _layer_base()):
        raise TypeError(f"model must be an nnfast Sequential or Layer, got {type(model).__name__}")


def named_parameters(model):
    """Every Parameter of ``model`` with its PyTorch key.

    Returns
    -------
    list of (str, Parameter)
        In ``model.parameters()``'s order: ``[("0.weight", p), ("0.bias", p), ...]``.
    """
    _check_model(model)
    return [(key, layer.parameters()[i]) for key, layer, kind, i in _entries(model) if kind == "param"]


def state_dict(model):
    """``model``'s parameters and buffers as NumPy arrays under PyTorch's keys.

    Returns
    -------
    OrderedDict of str -> ndarray
        Copies (a state dict taken now does not change as training goes on),
        in PyTorch's layouts and order; ``torch.nn.Module.load_state_dict``
        accepts it after ``{k: torch.from_numpy(v) for k, v in d.items()}``.
    """
    _check_model(model)
    out = OrderedDict()
    for key, layer, kind, which in _entries(model):
        if kind == "param":
            out[key] = layer.parameters()[which].value.copy()
        else:
            out[key] = np.array(getattr(layer, which), copy=True)
    return out


def _as_numpy(value, key):
    """A state dict entry as an ndarray: NumPy arrays and numbers as they
    are, torch tensors (anything with ``.numpy()``) detached and on the CPU."""
    if isinstance(value, np.ndarray):
        return value
    if callable(getattr(value, "numpy", None)):
        for method in ("detach", "cpu"):
            if callable(getattr(value, method, None)):
                value = getattr(value, method)()
        try:
            return np.asarray(value.numpy())
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"state_dict[{key!r}]: cannot convert the {type(value).__name__} to a "
                            f"NumPy array with .numpy() ({e})") from None
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"state_dict[{key!r}] must be a NumPy array or have .numpy(), got "
                        f"{type(value).__name__} ({e})") from None


def layout_hint(layer, expected, got):
    """Why an array of shape ``got`` where ``layer``'s weight has shape
    ``expected`` may be another framework's layout, and the transpose that
    fixes it ("" if no known layout matches)."""
    expected, got = tuple(expected), tuple(got)
    for rank, axes, what, fix in FOREIGN_LAYOUTS:
        if len(got) == rank == len(expected) and tuple(got[a] for a in axes) == expected:
            return f" It looks like {what}: pass {fix}."
    return ""


def _shape_error(key, layer, which, expected, got):
    kind = type(layer).__name__
    layout = WEIGHT_LAYOUTS.get(kind) if which == "weight" else None
    if layout is not None and getattr(layer, "groups", 1) != 1:
        # a grouped convolution's weight holds in_channels // groups inputs
        layout = layout.replace("in_channels", "in_channels // groups", 1)
    where = f"{kind}.{which}"
    if layout is not None:
        msg = (f"state_dict[{key!r}] has shape {got}, but {where} has PyTorch's layout "
               f"{layout} = {expected}.")
        msg += layout_hint(layer, expected, got)
    else:
        msg = f"state_dict[{key!r}] must have shape {expected} for {where}, got {got}."
    return ValueError(msg)


def _prefix_hint(missing, unexpected):
    """A hint when the given keys are the expected ones behind one prefix
    (``"module."`` from DataParallel, ``"model."`` from a wrapper)."""
    if not missing or len(missing) != len(unexpected):
        return ""
    for key in unexpected:
        for want in missing:
            if key.endswith("." + want):
                prefix = key[: -len(want)]
                if all(k.startswith(prefix) and k[len(prefix):] in missing for k in unexpected):
                    return f" (the given keys carry the prefix {prefix!r}: strip it)"
                return ""
    return ""


def _check_buffer_values(key, which, current, arr):
    """A count stays a count (an int >= 0, not NaN cast to an int) and a
    variance is never negative (its square root would be NaN)."""
    if np.asarray(current).dtype.kind in "iu":
        with np.errstate(all="ignore"):
            whole = arr.dtype.kind in "biu" or bool(np.all(np.isfinite(arr))
                                                    and np.all(arr == np.round(arr)))
        if not whole or np.any(arr < 0):
            raise ValueError(f"state_dict[{key!r}] ({which}) must hold whole numbers >= 0, got "
                             f"{arr.ravel()[:4]!r}")
        if np.any(arr > np.iinfo(np.asarray(current).dtype).max):
            raise ValueError(f"state_dict[{key!r}] ({which}) is too large for "
                             f"{np.asarray(current).dtype}: {arr.ravel()[:4]!r}")
    if which == "running_var" and np.any(arr < 0):
        raise ValueError(f"state_dict[{key!r}] ({which}) must be >= 0 (a variance), got "
                         f"{arr[arr < 0].ravel()[:4]!r}")


def load_state_dict(model, state_dict, strict=True):
    """Copy the arrays of ``state_dict`` into ``model``'s parameters and buffers.

    Parameters
    ----------
    model : Sequential or Layer
    state_dict : mapping of str -> array
        PyTorch's keys and layouts (``torch_model.state_dict()`` works as
        it is): NumPy arrays, or anything with ``.numpy()`` (torch tensors,
        detached first). Values are cast to each parameter's dtype.
    strict : bool, default True
        True: the keys must be exactly the model's (ValueError naming the
        missing and unexpected ones otherwise). False: load the keys that
        match and return the others.

    Returns
    -------
    IncompatibleKeys
        ``(missing_keys, unexpected_keys)``, both lists (empty when strict).

    Raises
    ------
    ValueError
        For missing or unexpected keys (strict), or an array of the wrong
        shape; a weight in another framework's layout (a Keras (in, out)
        Dense kernel, an HWIO convolution kernel) is named as such, with the
        transpose to apply. Nothing is changed when anything is wrong.
    TypeError
        For a value that is not numeric.
    """
    _check_model(model)
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of str to arrays, got {type(state_dict).__name__}")
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"strict must be True or False, got {type(strict).__name__} {strict!r}")
    entries = _entries(model)
    expected = [key for key, *_ in entries]
    given = list(state_dict.keys())
    missing = [k for k in expected if k not in state_dict]
    expected_set = set(expected)
    unexpected = [k for k in given if k not in expected_set]
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        raise ValueError(f"state_dict does not match the {type(model).__name__}: "
                         + " and ".join(parts) + _prefix_hint(missing, unexpected)
                         + " (pass strict=False to load the keys that match)")
    updates = []
    for key, layer, kind, which in entries:
        if key not in state_dict:
            continue
        arr = _as_numpy(state_dict[key], key)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"state_dict[{key!r}] must be numeric, got dtype {arr.dtype}")
        if kind == "param":
            p = layer.parameters()[which]
            if arr.shape != p.value.shape:
                raise _shape_error(key, layer, p.name or f"param{which}", p.value.shape, arr.shape)
            updates.append((p.value, arr))
        else:
            current = getattr(layer, which)
            shape = np.shape(current)
            if arr.shape != shape:
                raise _shape_error(key, layer, which, shape, arr.shape)
            _check_buffer_values(key, which, current, arr)
            updates.append((layer, which, arr))
    for update in updates:
        if len(update) == 2:
            target, arr = update
            target[...] = arr
        else:
            layer, which, arr = update
            current = getattr(layer, which)
            if isinstance(current, np.ndarray):
                current[...] = arr
            else:  # a Python number (num_batches_tracked as an int)
                setattr(layer, which, type(current)(arr.item()))
    return IncompatibleKeys(missing, unexpected)
