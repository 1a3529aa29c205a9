"""The optimizer interface: parameters, per-parameter state, step, zero_grad."""
from collections.abc import Mapping

import numpy as np

from nnfast import _backend
from nnfast._validation import FLOAT_DTYPES, check_float, check_int
from nnfast.parameter import Parameter


def check_params(params):
    """``params`` (what ``model.parameters()`` returns) as a list of Parameters.

    Raises TypeError for anything that is not an iterable of Parameters with
    float32/float64 values, ValueError for an empty list or a Parameter
    listed twice (it would be updated twice per step).
    """
    if isinstance(params, (Parameter, np.ndarray, str, bytes, Mapping)):
        raise TypeError(f"params must be a list of nnfast Parameters (model.parameters()), "
                        f"got {type(params).__name__}")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params must be a list of nnfast Parameters (model.parameters()), "
                        f"got {type(params).__name__}") from None
    if not params:
        raise ValueError("params must hold at least one Parameter, got an empty list")
    seen = {}
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(f"params[{i}] must be an nnfast Parameter, got {type(p).__name__}")
        if id(p) in seen:
            raise ValueError(f"params[{i}] is the same Parameter as params[{seen[id(p)]}]; "
                             f"each Parameter must be listed once")
        seen[id(p)] = i
        _check_arrays(p, i)
    return params


def _check_arrays(p, i):
    """p.value and p.grad: float32/float64 arrays of one shape and dtype, value
    C-contiguous (it is updated in place through a flat view)."""
    v, g = p.value, p.grad
    if not isinstance(v, np.ndarray) or v.dtype not in FLOAT_DTYPES:
        raise TypeError(f"params[{i}].value must be a float32 or float64 ndarray, got "
                        f"{getattr(v, 'dtype', type(v).__name__)}")
    if not v.flags.c_contiguous or not v.flags.writeable:
        raise ValueError(f"params[{i}].value must be a writeable C-contiguous array "
                         f"(it is updated in place)")
    if not isinstance(g, np.ndarray) or g.shape != v.shape:
        raise ValueError(f"params[{i}].grad must be an array of shape {v.shape}, got "
                         f"{getattr(g, 'shape', type(g).__name__)}")
    if g.dtype.kind not in "biuf":
        raise TypeError(f"params[{i}].grad must be a real numeric array, got dtype {g.dtype}")


def _number(x):
    """NumPy scalars and arrays (what np.load gives back) as Python values."""
    if isinstance(x, (np.ndarray, np.generic)):
        return x.tolist()
    return x


class Optimizer:
    """Base class of nnfast's optimizers.

    Parameters
    ----------
    params : list of Parameter
        ``model.parameters()``: non-empty, each Parameter once.
    defaults : dict
        The hyper-parameters (already checked), ``lr`` among them.

    Attributes
    ----------
    params : list of Parameter
    defaults : dict
        Hyper-parameters by torch.optim's names.
    state : dict
        Parameter -> dict of its optimizer state (buffers of the parameter's
        shape and dtype, ``"step"`` counts), filled on the first ``step``.
    lr : float
        The learning rate; a schedule sets it (checked: finite, >= 0).
    initial_lr : float
        The learning rate given at construction: the ``base_lr`` a schedule
        scales.

    Subclasses set ``_STATE_ARRAYS`` (names of their state buffers), implement
    ``_check_hyper(**hyper) -> dict`` and ``_update(kernels, p, value, grad,
    state)``.
    """

    _STATE_ARRAYS = ()
    # hyper-parameter -> the value a state_dict from before it existed meant
    _HYPER_ADDED_LATER = {}

    def __init__(self, params, defaults):
        self.params = check_params(params)
        self.defaults = dict(defaults)
        self.initial_lr = self.defaults["lr"]
        self.state = {p: {} for p in self.params}

    # -- learning rate ---------------------------------------------------
    @property
    def lr(self):
        return self.defaults["lr"]

    @lr.setter
    def lr(self, value):
        self.defaults["lr"] = check_float(value, "lr", 0.0)

    # -- the interface ---------------------------------------------------
    def step(self):
        """Update every parameter from its ``grad`` (one fused kernel call each)."""
        kernels = _backend.kernels()
        for i, p in enumerate(self.params):
            value, grad = self._flat(p, i)
            if value.size:
                self._update(kernels, p, value, grad, self.state[p])

    def zero_grad(self):
        """Set every parameter's ``grad`` to zero (lazily: see Parameter)."""
        for p in self.params:
            p.zero_grad()

    def _flat(self, p, i):
        """Flat views of p.value and p.grad for the kernels. Cheap checks only:
        a layer or user may have replaced the arrays since construction."""
        v, g = p.value, p.grad
        if (not isinstance(v, np.ndarray) or v.dtype not in FLOAT_DTYPES
                or not v.flags.c_contiguous or not v.flags.writeable
                or not isinstance(g, np.ndarray) or g.shape != v.shape):
            _check_arrays(p, i)
        if g.dtype != v.dtype or not g.flags.c_contiguous:
            _check_arrays(p, i)
            g = np.ascontiguousarray(g, dtype=v.dtype)
        state = self.state[p]
        for name in self._STATE_ARRAYS:
            buf = state.get(name)
            if buf is not None and (buf.shape != v.shape or buf.dtype != v.dtype):
                raise ValueError(
                    f"optimizer state {name!r} of params[{i}] has shape {buf.shape} and dtype "
                    f"{buf.dtype}, but the parameter now has shape {v.shape} and dtype {v.dtype}")
        return v.reshape(-1), g.reshape(-1)

    def _buffer(self, state, name, value, fill=0.0):
        """state[name], created (filled with ``fill``) on first use."""
        buf = state.get(name)
        if buf is None:
            buf = np.full(value.shape, fill, dtype=value.dtype)
            state[name] = buf
        return buf

    # -- saving ----------------------------------------------------------
    def state_dict(self):
        """The optimizer as a flat dict of numbers and arrays (``np.savez`` ready).

        Keys: ``"optimizer"`` (class name), ``"n_params"``, ``"initial_lr"``,
        each hyper-parameter by name, and ``"state.<i>.<name>"`` for the i-th
        parameter's state (arrays copied; ``step`` as an int).
        """
        d = {"optimizer": type(self).__name__, "n_params": len(self.params),
             "initial_lr": self.initial_lr}
        for k, v in self.defaults.items():
            d[k] = tuple(v) if isinstance(v, tuple) else v
        for i, p in enumerate(self.params):
            for name, v in self.state[p].items():
                d[f"state.{i}.{name}"] = v.copy() if isinstance(v, np.ndarray) else v
        return d

    def load_state_dict(self, d):
        """Restore hyper-parameters and state saved by ``state_dict``.

        Accepts what ``state_dict`` returned, or the same keys as loaded back
        by ``np.load`` (numbers as 0-d arrays). Everything is checked before
        anything changes; arrays are copied and cast to each parameter's dtype.
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"state_dict must be a dict, got {type(d).__name__}")
        d = dict(d)
        name = str(_number(d.pop("optimizer", None)))
        if name != type(self).__name__:
            raise ValueError(f"state_dict is for optimizer {name!r}, not {type(self).__name__!r}")
        n = check_int(_number(d.pop("n_params", None)), "n_params")
        if n != len(self.params):
            raise ValueError(f"state_dict holds state for {n} parameters, this optimizer has "
                             f"{len(self.params)}")
        initial_lr = check_float(_number(d.pop("initial_lr", None)),
                                 "initial_lr", 0.0)
        hyper = {}
        for k in self.defaults:
            if k not in d and k in self._HYPER_ADDED_LATER:
                hyper[k] = self._HYPER_ADDED_LATER[k]
                continue
            if k not in d:
                raise ValueError(f"state_dict has no hyper-parameter {k!r}")
            v = d.pop(k)
            hyper[k] = _number(v)
        hyper = self._check_hyper(**hyper)
        state = {p: {} for p in self.params}
        for key, v in d.items():
            parts = key.split(".") if isinstance(key, str) else []
            if (len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit()
                    or int(parts[1]) >= n
                    or parts[2] not in self._STATE_ARRAYS + ("step",)):
                raise ValueError(f"state_dict has an unexpected key {key!r} for "
                                 f"{type(self).__name__}")
            p = self.params[int(parts[1])]
            if parts[2] == "step":
                state[p]["step"] = check_int(_number(v), f"state_dict[{key!r}]", 0)
                continue
            arr = np.asarray(v)
            if arr.shape != p.value.shape or arr.dtype.kind not in "biuf":
                raise ValueError(f"state_dict[{key!r}] must be a numeric array of shape "
                                 f"{p.value.shape}, got {arr.dtype} of shape {arr.shape}")
            state[p][parts[2]] = np.array(arr, dtype=p.value.dtype, order="C", copy=True)
        self.defaults = hyper
        self.initial_lr = initial_lr
        self.state = state

    # -- for subclasses --------------------------------------------------
    def _check_hyper(self, **hyper):
        raise NotImplementedError

    def _update(self, kernels, p, value, grad, state):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({len(self.params)} parameters, {args})"


def check_bool(value, name):
    """``value`` as a bool (True/False or a NumPy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_l1_decay(weight_decay, l1):
    """The two penalty weights, each finite and >= 0."""
    return check_float(weight_decay, "weight_decay", 0.0), check_float(l1, "l1", 0.0)
