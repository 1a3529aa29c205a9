"""Optimizers and schedules: construction with good and bad parameter lists,
parameter groups (each with its own hyper-parameters) and hyper-parameters,
steps over finite and non-finite gradients, the ``lr`` setter, a group's
``lr`` set by hand, ``add_param_group``, ``state_dict`` / ``load_state_dict``
round trips and crafted state;
StepLR and CosineLR built and called with good and bad arguments.

A valid run must leave every parameter finite where the gradients and
hyper-parameters were moderate, and do what the reference kernels do.
"""
import numbers

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import bad_floats, bad_ints, finite_real, seeds, threads
from nnfast.fuzz.outcome import Garbage, check_array, check_float, expect
from nnfast.fuzz.targets import register

# name -> {hyper-parameter: (strategy of moderate valid values)}
HYPER = {
    "SGD": {"lr": st.floats(0, 0.5), "momentum": st.sampled_from([0.0, 0.5, 0.9]),
            "dampening": st.sampled_from([0.0, 0.1]), "nesterov": st.booleans(),
            "weight_decay": st.sampled_from([0.0, 1e-3]), "l1": st.sampled_from([0.0, 1e-3])},
    "Adam": {"lr": st.floats(0, 0.5), "betas": st.tuples(st.sampled_from([0.0, 0.5, 0.9]),
                                                         st.sampled_from([0.0, 0.9, 0.999])),
             "eps": st.sampled_from([1e-8, 1e-3]), "weight_decay": st.sampled_from([0.0, 1e-3]),
             "l1": st.sampled_from([0.0, 1e-3]), "amsgrad": st.booleans()},
    "AdamW": {"lr": st.floats(0, 0.5), "betas": st.tuples(st.sampled_from([0.0, 0.5, 0.9]),
                                                          st.sampled_from([0.0, 0.9, 0.999])),
              "eps": st.sampled_from([1e-8, 1e-3]), "weight_decay": st.sampled_from([0.0, 1e-2]),
              "l1": st.sampled_from([0.0, 1e-3]), "amsgrad": st.booleans()},
    "Adagrad": {"lr": st.floats(0, 0.5), "lr_decay": st.sampled_from([0.0, 0.1]),
                "weight_decay": st.sampled_from([0.0, 1e-3]),
                "initial_accumulator_value": st.sampled_from([0.0, 0.1]),
                "eps": st.sampled_from([1e-10, 1e-3]), "l1": st.sampled_from([0.0, 1e-3])},
    "RMSProp": {"lr": st.floats(0, 0.5), "alpha": st.sampled_from([0.0, 0.5, 0.99, 1.0]),
                "eps": st.sampled_from([1e-8, 1e-3]), "weight_decay": st.sampled_from([0.0, 1e-3]),
                "momentum": st.sampled_from([0.0, 0.9]), "centered": st.booleans(),
                "l1": st.sampled_from([0.0, 1e-3])},
}
BOOL_HYPER = {"nesterov", "centered", "amsgrad"}
BAD_PARAMS = ("empty", "none", "one_parameter", "duplicate", "ndarray_item", "dict", "string",
              "layer", "groups_overlap", "groups_unknown_key", "groups_mixed", "group_no_params",
              "group_not_a_dict")
GOOD_PARAMS = ("list", "list", "list", "tuple", "generator", "float64", "groups", "groups",
               "groups_added")
BAD_STATE = ("missing_key", "wrong_class", "wrong_count", "bad_array_shape", "bad_step",
             "unknown_key", "not_a_dict", "nan_lr")


def _valid_hyper(name, value):
    if name in BOOL_HYPER:
        return isinstance(value, (bool, np.bool_))
    if name == "betas":
        return (isinstance(value, tuple) and len(value) == 2
                and all(finite_real(v) and 0 <= v < 1 for v in value))
    if not finite_real(value):
        return False
    if name in ("eps",):
        return value > 0
    if name == "alpha":
        return 0 <= value <= 1
    if name == "dampening":
        return 0 <= value <= 1
    return value >= 0




@st.composite
def optimizer_case(draw, opt_name):
    hyper = {}
    for name, strategy in HYPER[opt_name].items():
        if name == "lr" or draw(st.booleans()):
            hyper[name] = draw(strategy)
    moderate = True
    if draw(st.integers(0, 3)) == 3:
        name = draw(st.sampled_from(sorted(HYPER[opt_name])))
        hyper[name] = draw(st.one_of(bad_floats(), st.sampled_from([1e10, 2, 0, "0.1"])))
        moderate = False
    valid = all(_valid_hyper(k, v) for k, v in hyper.items()) and _valid_nesterov(opt_name, hyper)
    params = draw(st.sampled_from(GOOD_PARAMS + BAD_PARAMS))
    # the second parameter group's own hyper-parameters (groups only)
    group_hyper = {}
    for name, strategy in HYPER[opt_name].items():
        if draw(st.integers(0, 2)) == 0:
            group_hyper[name] = draw(strategy)
    if draw(st.integers(0, 5)) == 5:
        name = draw(st.sampled_from(sorted(HYPER[opt_name])))
        group_hyper[name] = draw(st.one_of(bad_floats(), st.sampled_from([1e10, 2, 0, "0.1"])))
        moderate = False
    if params.startswith("group"):
        valid = valid and all(_valid_hyper(k, v) for k, v in group_hyper.items()) and (
            _valid_nesterov(opt_name, dict(hyper, **group_hyper)))
    grads = draw(st.sampled_from(["normal", "normal", "normal", "zeros", "nan", "inf", "huge"]))
    after = draw(st.sampled_from(["none", "none", "lr", "state_dict", "bad_state",
                                  "zero_grad", "replace_value", "group_lr"]))
    return {"opt": opt_name, "hyper": hyper, "group_hyper": group_hyper, "valid": valid,
            "moderate": moderate,
            "params": params, "grads": grads, "steps": draw(st.integers(1, 3)),
            "after": after, "lr": draw(st.one_of(st.floats(0, 1), bad_floats())),
            "bad_state": draw(st.sampled_from(BAD_STATE)), "seed": draw(seeds),
            "threads": draw(threads)}


def _valid_nesterov(opt_name, hyper):
    return not (opt_name == "SGD" and hyper.get("nesterov") and (
        hyper.get("momentum", 0.0) <= 0 or hyper.get("dampening", 0.0) != 0))


def _model(dtype):
    return nf.Sequential([nf.layers.Linear(3, 2, dtype=dtype), nf.layers.PReLU(2, dtype=dtype),
                          nf.layers.Linear(2, 2, dtype=dtype)])


def _params(kind, model, group_hyper=None):
    ps = model.parameters()
    mine = dict(group_hyper or {})
    groups = [{"params": ps[:2]}, dict(mine, params=ps[2:])]
    return {"list": ps, "tuple": tuple(ps), "generator": (p for p in ps), "float64": ps,
            "empty": [], "none": None, "one_parameter": ps[0], "duplicate": ps + ps[:1],
            "ndarray_item": ps + [np.ones(3)], "dict": {"a": ps[0]}, "string": "weights",
            "layer": model, "groups": groups, "groups_added": groups[:1],
            "groups_overlap": [{"params": ps[:3]}, dict(mine, params=ps[2:])],
            "groups_unknown_key": [{"params": ps[:2]}, dict(mine, params=ps[2:], rate=0.1)],
            "groups_mixed": [{"params": ps[:2]}] + ps[2:],
            "group_no_params": [{"params": ps[:2]}, dict(mine, parameters=ps[2:])],
            "group_not_a_dict": [{"params": ps[:2]}, ps[2:]]}[kind]


def _fill_grads(model, kind, seed):
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        g = rng.standard_normal(p.shape)
        if kind == "zeros":
            g[...] = 0
        elif kind in ("nan", "inf"):
            g.reshape(-1)[0] = np.nan if kind == "nan" else np.inf
        elif kind == "huge":
            g *= 1e300
        p.grad = g


def _run(spec, dtype, backend="fast"):
    """Build and step; the parameters' values after, and the optimizer."""
    nf.seed(spec["seed"])
    model = _model(dtype)
    opt_cls = getattr(nf.optim, spec["opt"])
    params = _params(spec["params"], model, spec.get("group_hyper"))
    with nf.use_backend(backend):
        opt = opt_cls(params, **spec["hyper"])
        if spec["params"] == "groups_added":
            opt.add_param_group(dict(spec["group_hyper"], params=model.parameters()[2:]))
        for k in range(spec["steps"]):
            _fill_grads(model, spec["grads"], spec["seed"] + k)
            opt.step()
    return [p.value.copy() for p in model.parameters()], opt, model


def run_optimizer(spec, ctx):
    dtype = np.float64 if spec["params"] == "float64" else np.float32
    good_params = spec["params"] in GOOD_PARAMS
    valid = spec["valid"] and good_params
    values, opt, model = expect(lambda: _run(spec, dtype), valid,
                                f"{spec['opt']}({spec['params']}, **{spec['hyper']!r})")
    if not valid:
        return
    moderate = spec["moderate"] and spec["grads"] in ("normal", "zeros")
    for i, (p, v) in enumerate(zip(model.parameters(), values)):
        check_array(v, f"{spec['opt']} parameter {i} after step", p.shape, dtype,
                    finite=moderate)
    if moderate:
        ref, _, _ = _run(spec, dtype, backend="reference")
        rtol = 1e-4 if dtype == np.float32 else 1e-10
        for i, (a, b) in enumerate(zip(values, ref)):
            if not np.allclose(a, b, rtol=rtol, atol=rtol):
                raise Garbage(f"{spec['opt']} parameter {i}: fast and reference steps differ "
                              f"by {float(np.max(np.abs(a - b)))}")
    after = spec["after"]
    if after == "lr":
        lr = spec["lr"]
        ok = finite_real(lr) and lr >= 0
        expect(lambda: setattr(opt, "lr", lr), ok, f"optimizer.lr = {lr!r}")
        if ok:
            check_float(opt.lr, "optimizer.lr", finite=True)
    elif after == "group_lr":
        lr = spec["lr"]
        ok = finite_real(lr) and lr >= 0
        before = [p.value.copy() for p in model.parameters()]
        opt.param_groups[-1]["lr"] = lr
        _fill_grads(model, "normal", spec["seed"])
        expect(opt.step, ok, f"step after param_groups[-1]['lr'] = {lr!r}")
        if not ok and any(not np.array_equal(b, p.value, equal_nan=True)
                          for b, p in zip(before, model.parameters())):
            raise Garbage("a refused step changed parameters")
    elif after == "zero_grad":
        opt.zero_grad()
        for p in model.parameters():
            if np.any(p.grad != 0):
                raise Garbage("zero_grad left a non-zero gradient")
    elif after == "state_dict":
        state = opt.state_dict()
        nf.seed(spec["seed"])
        fresh = getattr(nf.optim, spec["opt"])(_model(dtype).parameters(), **spec["hyper"])
        fresh.load_state_dict(state)
        again = fresh.state_dict()
        if sorted(state) != sorted(again):
            raise Garbage("state_dict after load_state_dict has other keys")
        for k in state:
            a, b = np.asarray(state[k]), np.asarray(again[k])
            if not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                raise Garbage(f"state_dict[{k!r}] changed in a round trip")
    elif after == "bad_state":
        state = _bad_state(opt.state_dict(), spec["bad_state"])
        nf.seed(spec["seed"])
        fresh = getattr(nf.optim, spec["opt"])(_model(dtype).parameters(), **spec["hyper"])
        expect(lambda: fresh.load_state_dict(state), False, f"load_state_dict ({spec['bad_state']})")
    elif after == "replace_value":
        # a user assigns a parameter of the other dtype: cast at assignment,
        # the next step still works
        p = model.parameters()[0]
        p.value = np.ones(p.shape, dtype=np.float64 if dtype == np.float32 else np.float32)
        _fill_grads(model, "normal", spec["seed"])
        opt.step()
        check_array(p.value, "parameter after a step on an assigned value", p.shape, dtype,
                    finite=moderate)


def _bad_state(state, kind):
    state = dict(state)
    if kind == "missing_key":
        state.pop("lr")
    elif kind == "wrong_class":
        state["optimizer"] = "Nope"
    elif kind == "wrong_count":
        state["n_params"] = state["n_params"] + 1
    elif kind == "bad_array_shape":
        keys = [k for k in state if k.startswith("state.") and isinstance(state[k], np.ndarray)]
        if keys:
            state[keys[0]] = np.ones(7)
        else:
            state["state.0.nonsense"] = np.ones(7)
    elif kind == "bad_step":
        state["state.0.step"] = -1
    elif kind == "unknown_key":
        state["state.99.step"] = 1
    elif kind == "not_a_dict":
        return [("lr", 0.1)]
    elif kind == "nan_lr":
        state["lr"] = float("nan")
    return state


OPT_NAMES = ("params", "lr", "momentum", "dampening", "nesterov", "weight_decay", "l1", "betas",
             "betas[0]", "betas[1]", "eps", "lr_decay", "initial_accumulator_value", "alpha",
             "centered", "state_dict", "n_params", "initial_lr", "amsgrad",
             "param_groups[0]", "param_groups[1]", "param_groups[2]")
for _opt in HYPER:
    register(f"optim.{_opt}", optimizer_case(_opt), OPT_NAMES + tuple(f"params[{i}]" for i in range(6)),
             weight=1.5)(run_optimizer)


# -- schedules ---------------------------------------------------------------------
@st.composite
def schedule_case(draw):
    cls = draw(st.sampled_from(["StepLR", "CosineLR"]))
    if cls == "StepLR":
        kwargs = {"step_size": draw(st.integers(1, 5)),
                  "gamma": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.0, 10.0]))}
    else:
        kwargs = {"T_max": draw(st.integers(1, 10)), "eta_min": draw(st.sampled_from([0.0, 1e-3]))}
    valid = True
    if draw(st.integers(0, 3)) == 3:
        name = draw(st.sampled_from(sorted(kwargs)))
        kwargs[name] = draw(bad_ints() if name in ("step_size", "T_max") else bad_floats())
        valid = None
    epoch = draw(st.one_of(st.integers(0, 50), bad_ints(), st.sampled_from([10**6, 10**7])))
    base_lr = draw(st.one_of(st.floats(0, 1), bad_floats()))
    return {"cls": cls, "kwargs": kwargs, "kwargs_valid": valid, "epoch": epoch,
            "base_lr": base_lr}


def _valid_epoch(e):
    return isinstance(e, numbers.Integral) and not isinstance(e, bool) and 0 <= e <= 50


@register("optim.schedules", schedule_case(),
          ("step_size", "gamma", "T_max", "eta_min", "epoch", "base_lr"))
def run_schedule(spec, ctx):
    cls = getattr(nf.optim, spec["cls"])
    sched = expect(lambda: cls(**spec["kwargs"]), spec["kwargs_valid"],
                   f"{spec['cls']}(**{spec['kwargs']!r})")
    epoch, base_lr = spec["epoch"], spec["base_lr"]
    valid = (_valid_epoch(epoch) and finite_real(base_lr) and base_lr >= 0) or None
    lr = expect(lambda: sched(epoch, base_lr), valid, f"{spec['cls']}({epoch!r}, {base_lr!r})")
    # whatever a schedule returns, fit sets it as the learning rate
    check_float(lr, f"{spec['cls']}(epoch, base_lr)", finite=True)
    if lr < 0:
        raise Garbage(f"{spec['cls']} returned a negative learning rate {lr}")
