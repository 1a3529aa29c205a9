"""AdamW and Adam's amsgrad: torch.optim's trajectories, defaults, state."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.parameter import Parameter

from optim_trajectories import (SHAPES, assert_continue_alike, assert_follows_torch,
                                 make_params, run_steps)

CASES = [
    ("Adam", dict(amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("AdamW", dict(lr=0.02, weight_decay=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.02, weight_decay=0.0)),
]


def gradients(n_steps, seed=1):
    rng = np.random.default_rng(seed)
    # gradients that shrink then grow: the running maximum of amsgrad matters
    return [[rng.standard_normal(s) * (3.0 if t in (1, 5) else 0.3) for s in SHAPES]
            for t in range(n_steps)]


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch(torch, case, backend, dtype):
    name, kwargs = case
    params = make_params(dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    with nf.use_backend(backend):
        opt = assert_follows_torch(torch, getattr(nf.optim, name), getattr(torch.optim, name),
                                   kwargs, params, gradients(8), tol)
    assert all(p.value.dtype == dtype for p in params)
    if kwargs.get("amsgrad"):
        for p in params:
            state = opt.state[p]
            assert np.all(state["max_exp_avg_sq"] >= state["exp_avg_sq"])


def test_defaults_are_torchs(torch):
    d = nf.optim.AdamW(make_params(np.float64)).defaults
    td = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))]).defaults
    for k, v in d.items():
        if k != "l1":
            assert td[k] == v, k
    assert d["weight_decay"] == 0.01 and d["amsgrad"] is False and d["l1"] == 0.0
    assert nf.optim.Adam(make_params(np.float64)).defaults["amsgrad"] is False


def test_adamw_decay_is_decoupled_from_the_gradient():
    """With a zero gradient, Adam's L2 term moves the weights by ~lr each step
    (the moments normalise it), AdamW's shrinks them by the factor 1 - lr * wd."""
    p = Parameter(np.array([4.0, -2.0, 0.5]))
    opt = nf.optim.AdamW([p], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        opt.step()
    np.testing.assert_allclose(p.value, np.array([4.0, -2.0, 0.5]) * 0.95 ** 3, rtol=1e-12)


@pytest.mark.parametrize("cls, kwargs", [(nf.optim.AdamW, {"amsgrad": True}),
                                         (nf.optim.Adam, {"amsgrad": True}),
                                         (nf.optim.AdamW, {})])
def test_state_dict_round_trip_continues_identically(tmp_path, cls, kwargs):
    params = make_params(np.float32)
    opt = cls(params, lr=0.01, **kwargs)
    run_steps(opt, params, gradients(3))
    np.savez(tmp_path / "opt.npz", **opt.state_dict())
    params2 = [Parameter(p.value.copy()) for p in params]
    opt2 = cls(params2)
    opt2.load_state_dict(dict(np.load(tmp_path / "opt.npz", allow_pickle=False)))
    assert opt2.defaults == opt.defaults
    assert_continue_alike(opt, params, opt2, params2, gradients(2, seed=5))


def test_adam_state_dict_from_before_amsgrad_still_loads():
    params = make_params(np.float64)
    opt = nf.optim.Adam(params, lr=0.01)
    for p, g in zip(params, gradients(1)[0]):
        p.grad[...] = g
    opt.step()
    old = opt.state_dict()
    del old["amsgrad"]
    opt2 = nf.optim.Adam(make_params(np.float64), amsgrad=True)
    opt2.load_state_dict(old)
    assert opt2.defaults["amsgrad"] is False and opt2.state[opt2.params[0]]["step"] == 1


def test_max_buffer_in_state_dict_only_with_amsgrad():
    params = make_params(np.float64)
    for amsgrad in (False, True):
        opt = nf.optim.AdamW(params, amsgrad=amsgrad)
        opt.step()
        keys = {k.split(".")[-1] for k in opt.state_dict() if k.startswith("state.")}
        assert ("max_exp_avg_sq" in keys) == amsgrad


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"amsgrad": 1}, TypeError, "amsgrad must be True or False"),
    ({"amsgrad": "yes"}, TypeError, "amsgrad must be True or False"),
    ({"weight_decay": -0.1}, ValueError, "weight_decay must be >= 0"),
    ({"lr": float("inf")}, ValueError, "lr must be finite"),
    ({"betas": (0.9, 1.0)}, ValueError, r"betas\[1\] must be < 1"),
])
def test_bad_hyper_parameters(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        nf.optim.AdamW(make_params(np.float32), **kwargs)
