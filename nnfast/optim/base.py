"""The optimizer interface: parameters, per-parameter state, step, zero_grad."""
from collections.abc import Mapping

import numpy as np

from nnfast import _aligned, _backend
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
    params : list of Parameter, or list of dict
        ``model.parameters()`` (one group: each Parameter once), or parameter
        groups as torch.optim takes them: dicts with a ``"params"`` entry (a
        list of Parameters, or one) and any of the optimizer's
        hyper-parameters, which override ``defaults`` for that group.
    defaults : dict
        The hyper-parameters (already checked), ``lr`` among them: what a
        group does not set.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (list of Parameter), every
        hyper-parameter by name, and ``"initial_lr"`` (the group's ``lr`` when
        it was added: what a learning-rate schedule scales). Changing a value
        (``group["lr"] = 0.01``, as schedules do) takes effect at the next
        ``step``, which checks it as the constructor does.
    params : list of Parameter
        Every group's parameters, group after group (read-only).
    defaults : dict
        Hyper-parameters by torch.optim's names, as given to the constructor.
    state : dict
        Parameter -> dict of its optimizer state (buffers of the parameter's
        shape and dtype, ``"step"`` counts), filled on the first ``step``.
    lr : float
        The first group's learning rate; setting it sets every group's
        (checked: finite, >= 0). With one group, simply the learning rate.
    initial_lr : float
        The first group's ``initial_lr``.

    Subclasses set ``_STATE_ARRAYS`` (names of their state buffers), implement
    ``_check_hyper(**hyper) -> dict`` and ``_update(kernels, p, value, grad,
    state, hyper)`` (``hyper``: the parameter's group's checked
    hyper-parameters).
    """

    _STATE_ARRAYS = ()
    # hyper-parameter -> the value a state_dict from before it existed meant
    _HYPER_ADDED_LATER = {}

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        # id(group) -> (the group's hyper-parameter values when last checked,
        # the checked dict): step re-checks a group only when it changed
        self._checked = {}
        for group in _as_groups(params):
            self.add_param_group(group)
        if not self.params:
            raise ValueError("params must hold at least one Parameter, got only empty groups")

    # -- groups ----------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyper-parameters, as
        torch.optim's ``add_param_group`` (for layers unfrozen during
        training, say).

        Parameters
        ----------
        param_group : dict
            ``"params"``: a list of Parameters (or one), none of them already
            in a group; any of the optimizer's hyper-parameters (the rest are
            ``defaults``'); optionally ``"initial_lr"``.
        """
        g = len(self.param_groups)
        where = f"param_groups[{g}]"
        if not isinstance(param_group, Mapping):
            raise TypeError(f"{where} must be a dict with a 'params' entry, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{where} must have a 'params' entry (its list of Parameters), got "
                             f"keys {sorted(map(str, param_group))}")
        known = set(self.defaults) | {"params", "initial_lr"}
        unknown = [k for k in param_group if k not in known]
        if unknown:
            raise ValueError(f"{where} has unknown keys {', '.join(sorted(map(repr, unknown)))}; "
                             f"{type(self).__name__} groups take 'params', 'initial_lr' and "
                             f"its hyper-parameters {sorted(self.defaults)}")
        params = param_group["params"]
        params = [params] if isinstance(params, Parameter) else params
        params = _group_params(params, f"{where}['params']")
        owners = {id(p): i for i, group in enumerate(self.param_groups) for p in group["params"]}
        for p in params:
            if id(p) in owners:
                raise ValueError(f"a Parameter of {where} is already in param_groups"
                                 f"[{owners[id(p)]}]; each Parameter must be in one group")
        group = {"params": params}
        group.update(self.defaults)
        group.update({k: v for k, v in param_group.items() if k != "params"})
        group.setdefault("initial_lr", group["lr"])
        self._group_hyper(group, g)       # checks, before the group is added
        self.param_groups.append(group)
        for p in params:
            self.state[p] = {}

    def _group_hyper(self, group, g):
        """The checked hyper-parameters of ``group`` (param_groups[g]),
        re-checked only when a value changed since the last call."""
        names = self.defaults
        try:
            values = tuple(map(group.__getitem__, names)) + (group["initial_lr"],)
        except KeyError as e:
            raise ValueError(f"param_groups[{g}] has no hyper-parameter {e.args[0]!r}") from None
        # the types too: True == 1, but lr=True is refused
        snapshot = (values, tuple(map(type, values)))
        cached = self._checked.get(id(group))
        if cached is not None and cached[0] == snapshot:
            return cached[1]
        try:
            hyper = self._check_hyper(**{k: group[k] for k in names})
            check_float(group["initial_lr"], "initial_lr", 0.0)
        except (TypeError, ValueError) as e:
            raise type(e)(f"param_groups[{g}]: {e}") from None
        self._checked[id(group)] = (snapshot, hyper)
        return hyper

    @property
    def params(self):
        # one list while the groups hold the same Parameters (``opt.params is
        # opt.params``, as when it was a plain attribute)
        flat = [p for group in self.param_groups for p in group["params"]]
        cached = self.__dict__.get("_params")
        if cached is None or len(cached) != len(flat) or any(a is not b for a, b in zip(cached, flat)):
            self._params = cached = flat
        return cached

    # -- learning rate ---------------------------------------------------
    @property
    def lr(self):
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        value = check_float(value, "lr", 0.0)
        for group in self.param_groups:
            group["lr"] = value

    @property
    def initial_lr(self):
        return self.param_groups[0]["initial_lr"]

    @initial_lr.setter
    def initial_lr(self, value):
        value = check_float(value, "initial_lr", 0.0)
        for group in self.param_groups:
            group["initial_lr"] = value

    # -- the interface ---------------------------------------------------
    def step(self):
        """Update every parameter from its ``grad`` (one fused kernel call
        each), with its group's hyper-parameters."""
        kernels = _backend.kernels()
        # every group checked before any parameter changes
        hypers = [self._group_hyper(group, g) for g, group in enumerate(self.param_groups)]
        i = 0
        for g, (group, hyper) in enumerate(zip(self.param_groups, hypers)):
            for p in group["params"]:
                state = self.state.get(p)
                if state is None:      # a Parameter put into group["params"] by hand
                    _group_params([p], f"param_groups[{g}]['params']")
                    state = self.state[p] = {}
                value, grad = self._flat(p, i)
                if value.size:
                    self._update(kernels, p, value, grad, state, hyper)
                i += 1

    def zero_grad(self):
        """Set every parameter's ``grad`` to zero (lazily: see Parameter)."""
        for group in self.param_groups:
            for p in group["params"]:
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
        """state[name], created (filled with ``fill``, 64-byte aligned for the
        update kernels' vector loads) on first use."""
        buf = state.get(name)
        if buf is None:
            buf = _aligned.empty(value.shape, value.dtype)
            buf.fill(fill)
            state[name] = buf
        return buf

    # -- saving ----------------------------------------------------------
    def state_dict(self):
        """The optimizer as a flat dict of numbers and arrays (``np.savez`` ready).

        Keys: ``"optimizer"`` (class name), ``"n_params"``, ``"initial_lr"``
        (the first group's), each of ``defaults`` by name, ``"n_groups"``,
        and per group g ``"group.<g>.params"`` (the indices of its parameters
        in ``params``' order), ``"group.<g>.<name>"`` for each
        hyper-parameter and ``"group.<g>.initial_lr"``; and
        ``"state.<i>.<name>"`` for the i-th parameter's state (arrays copied;
        ``step`` as an int).
        """
        d = {"optimizer": type(self).__name__, "n_params": len(self.params),
             "initial_lr": self.initial_lr}
        for k, v in self.defaults.items():
            d[k] = tuple(v) if isinstance(v, tuple) else v
        d["n_groups"] = len(self.param_groups)
        i = 0
        for g, group in enumerate(self.param_groups):
            n = len(group["params"])
            d[f"group.{g}.params"] = np.arange(i, i + n, dtype=np.int64)
            i += n
            for k in self.defaults:
                v = group[k]
                d[f"group.{g}.{k}"] = tuple(v) if isinstance(v, tuple) else v
            d[f"group.{g}.initial_lr"] = group["initial_lr"]
        for i, p in enumerate(self.params):
            for name, v in self.state[p].items():
                d[f"state.{i}.{name}"] = v.copy() if isinstance(v, np.ndarray) else v
        return d

    def load_state_dict(self, d):
        """Restore hyper-parameters, parameter groups and state saved by
        ``state_dict``.

        Accepts what ``state_dict`` returned, or the same keys as loaded back
        by ``np.load`` (numbers as 0-d arrays); a state_dict written before
        groups existed is one group with the top-level hyper-parameters.
        Parameters are matched by their index in ``params``' order; the saved
        groups replace this optimizer's (their hyper-parameters included).
        Everything is checked before anything changes; arrays are copied and
        cast to each parameter's dtype.
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"state_dict must be a dict, got {type(d).__name__}")
        d = dict(d)
        name = str(_number(d.pop("optimizer", None)))
        if name != type(self).__name__:
            raise ValueError(f"state_dict is for optimizer {name!r}, not {type(self).__name__!r}")
        n = check_int(_number(d.pop("n_params", None)), "n_params")
        params = self.params
        if n != len(params):
            raise ValueError(f"state_dict holds state for {n} parameters, this optimizer has "
                             f"{len(params)}")
        initial_lr = check_float(_number(d.pop("initial_lr", None)),
                                 "initial_lr", 0.0)
        hyper = self._saved_hyper(d, "")
        groups = self._saved_groups(d, n, hyper, initial_lr, params)
        state = {p: {} for p in params}
        for key, v in d.items():
            parts = key.split(".") if isinstance(key, str) else []
            if (len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit()
                    or int(parts[1]) >= n
                    or parts[2] not in self._STATE_ARRAYS + ("step",)):
                raise ValueError(f"state_dict has an unexpected key {key!r} for "
                                 f"{type(self).__name__}")
            p = params[int(parts[1])]
            if parts[2] == "step":
                state[p]["step"] = check_int(_number(v), f"state_dict[{key!r}]", 0)
                continue
            arr = np.asarray(v)
            if arr.shape != p.value.shape or arr.dtype.kind not in "biuf":
                raise ValueError(f"state_dict[{key!r}] must be a numeric array of shape "
                                 f"{p.value.shape}, got {arr.dtype} of shape {arr.shape}")
            state[p][parts[2]] = np.array(arr, dtype=p.value.dtype, order="C", copy=True)
        self.defaults = hyper
        self.param_groups = groups
        self._checked = {}
        self.state = state

    def _saved_hyper(self, d, prefix):
        """The hyper-parameters under ``prefix + name`` in ``d`` (popped), checked."""
        hyper = {}
        for k in self.defaults:
            key = prefix + k
            if key not in d and k in self._HYPER_ADDED_LATER:
                hyper[k] = self._HYPER_ADDED_LATER[k]
                continue
            if key not in d:
                raise ValueError(f"state_dict has no hyper-parameter {key!r}")
            hyper[k] = _number(d.pop(key))
        try:
            return self._check_hyper(**hyper)
        except (TypeError, ValueError) as e:
            if not prefix:
                raise
            raise type(e)(f"state_dict group {prefix[6:-1]}: {e}") from None

    def _saved_groups(self, d, n, hyper, initial_lr, params):
        """The parameter groups saved in ``d`` (their keys popped), over this
        optimizer's ``params``; one group of ``hyper`` when none were saved."""
        if "n_groups" not in d:
            return [dict({"params": list(params)}, **hyper, initial_lr=initial_lr)]
        n_groups = check_int(_number(d.pop("n_groups")), "state_dict['n_groups']", 1, max(n, 1))
        groups, seen = [], set()
        for g in range(n_groups):
            key = f"group.{g}.params"
            if key not in d:
                raise ValueError(f"state_dict has no {key!r}")
            indices = np.asarray(d.pop(key))
            if (indices.ndim != 1 or indices.dtype.kind not in "iu" or np.any(indices < 0)
                    or np.any(indices >= n) or seen.intersection(indices.tolist())
                    or len(set(indices.tolist())) != indices.size):
                raise ValueError(f"state_dict[{key!r}] must list indices of parameters below {n}, "
                                 f"each in one group, got {indices!r}")
            seen.update(indices.tolist())
            group_hyper = self._saved_hyper(d, f"group.{g}.")
            key = f"group.{g}.initial_lr"
            if key not in d:
                raise ValueError(f"state_dict has no {key!r}")
            group_initial = check_float(_number(d.pop(key)), f"state_dict[{key!r}]", 0.0)
            groups.append(dict({"params": [params[i] for i in indices.tolist()]}, **group_hyper,
                               initial_lr=group_initial))
        if len(seen) != n:
            raise ValueError(f"state_dict's groups hold {len(seen)} of the {n} parameters")
        return groups

    # -- for subclasses --------------------------------------------------
    def _check_hyper(self, **hyper):
        raise NotImplementedError

    def _update(self, kernels, p, value, grad, state, hyper):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        groups = f"{len(self.param_groups)} groups, " if len(self.param_groups) > 1 else ""
        return f"{type(self).__name__}({len(self.params)} parameters, {groups}{args})"


def _as_groups(params):
    """``params`` as a list of group dicts: parameter groups as given, or one
    group of a list of Parameters."""
    if isinstance(params, (Parameter, np.ndarray, str, bytes, Mapping)):
        raise TypeError(f"params must be a list of nnfast Parameters (model.parameters()) or "
                        f"of parameter group dicts, got {type(params).__name__}")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params must be a list of nnfast Parameters (model.parameters()) or "
                        f"of parameter group dicts, got {type(params).__name__}") from None
    if params and all(isinstance(p, Mapping) for p in params):
        return params
    if any(isinstance(p, Mapping) for p in params):
        raise TypeError("params must be a list of Parameters or a list of parameter group "
                        "dicts, not a mix of the two")
    return [{"params": check_params(params)}]


def _group_params(params, where):
    """A group's ``params`` as a list of Parameters, checked as ``check_params``
    does (an empty group is allowed)."""
    if isinstance(params, (list, tuple)) and not params:
        return []
    try:
        return check_params(params)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where}: {e}") from None


def check_l1_decay(weight_decay, l1):
    """The two penalty weights, each finite and >= 0."""
    return check_float(weight_decay, "weight_decay", 0.0), check_float(l1, "l1", 0.0)
