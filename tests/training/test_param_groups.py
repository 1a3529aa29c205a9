"""Optimizer parameter groups as torch.optim's: per-group hyper-parameters give
torch's weights, param_groups is live, add_param_group, schedules and plateau
cuts per group, state round trips (state_dict, model files), bad input."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.parameter import Parameter

SHAPES = [(4, 3), (4,), (2, 4), (2,), (3, 2)]

# (nnfast class, torch class name, the optimizer's defaults, the two groups' own settings)
CASES = [
    ("SGD", "SGD", dict(lr=0.01, momentum=0.9), [dict(lr=0.1), dict(weight_decay=1e-4)]),
    ("SGD", "SGD", dict(lr=0.05, momentum=0.8, nesterov=True),
     [dict(momentum=0.5, weight_decay=0.01), dict(lr=0.2)]),
    ("Adam", "Adam", dict(lr=1e-3), [dict(lr=0.01, betas=(0.8, 0.9)), dict(weight_decay=0.05)]),
    ("Adam", "Adam", dict(lr=1e-2, amsgrad=True), [dict(), dict(lr=3e-3, eps=1e-5)]),
    ("AdamW", "AdamW", dict(lr=1e-3), [dict(lr=0.01), dict(weight_decay=0.0)]),
    ("Adagrad", "Adagrad", dict(lr=0.1), [dict(lr_decay=0.1), dict(lr=0.02, weight_decay=0.01)]),
    ("RMSProp", "RMSprop", dict(lr=0.01), [dict(momentum=0.5, centered=True), dict(alpha=0.9)]),
]
CASE_IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s).astype(dtype), f"p{i}") for i, s in enumerate(SHAPES)]


def gradients(n_steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(n_steps)]


def groups_of(params, settings):
    """Parameters 0-1 in the first group, 2-3 in the second, 4 left for add_param_group."""
    return [dict(settings[0], params=params[:2]), dict(settings[1], params=params[2:4])]


def step_all(opt, params, grads):
    for p, g in zip(params, grads):
        p.grad[...] = g
    opt.step()


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("name, torch_name, defaults, settings", CASES, ids=CASE_IDS)
def test_groups_match_torch(torch, backend, name, torch_name, defaults, settings):
    params = make_params()
    tparams = [torch.tensor(p.value.copy(), requires_grad=True) for p in params]
    with nf.use_backend(backend):
        opt = getattr(nf.optim, name)(groups_of(params, settings), **defaults)
        topt = getattr(torch.optim, torch_name)(groups_of(tparams, settings), **defaults)
        for n, grads in enumerate(gradients(6)):
            if n == 2:   # a third group mid-way, with the defaults
                opt.add_param_group({"params": [params[4]]})
                topt.add_param_group({"params": [tparams[4]]})
            if n == 4:   # a schedule's change, group by group
                for g, tg in zip(opt.param_groups, topt.param_groups):
                    g["lr"] = tg["lr"] = g["lr"] * 0.5
            active = 4 if n < 2 else 5
            step_all(opt, params[:active], grads[:active])
            for tp, g in zip(tparams[:active], grads[:active]):
                tp.grad = torch.tensor(g)
            topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.value, tp.detach().numpy(), rtol=1e-10, atol=1e-13)
    assert len(opt.param_groups) == 3
    for g, tg in zip(opt.param_groups, topt.param_groups):
        for k in opt.defaults:
            if k != "l1":
                assert g[k] == (tuple(tg[k]) if isinstance(tg[k], tuple) else tg[k]), k


def test_param_groups_hold_defaults_for_what_a_group_does_not_set():
    params = make_params()
    opt = nf.optim.SGD([{"params": params[:2], "lr": 0.1},
                        {"params": params[2:], "weight_decay": 1e-4}], lr=0.01, momentum=0.9)
    g0, g1 = opt.param_groups
    assert g0["params"] == params[:2] and g1["params"] == params[2:]
    assert (g0["lr"], g0["momentum"], g0["weight_decay"]) == (0.1, 0.9, 0.0)
    assert (g1["lr"], g1["momentum"], g1["weight_decay"]) == (0.01, 0.9, 1e-4)
    assert g0["initial_lr"] == 0.1 and g1["initial_lr"] == 0.01
    assert opt.defaults["lr"] == 0.01 and opt.params == params
    assert "2 groups" in repr(opt)


def test_one_group_lr_and_initial_lr_as_before():
    params = make_params()
    opt = nf.optim.Adam(params, lr=0.01)
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["params"] == params
    opt.lr = 0.002
    assert opt.lr == 0.002 == opt.param_groups[0]["lr"] and opt.initial_lr == 0.01
    opt.param_groups[0]["lr"] = 0.003
    assert opt.lr == 0.003 and opt.params is opt.params


def test_lr_with_groups_reads_the_first_and_sets_every_group():
    params = make_params()
    opt = nf.optim.SGD([{"params": params[:2], "lr": 0.1}, {"params": params[2:]}], lr=0.01)
    assert opt.lr == 0.1
    opt.lr = 0.5
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.5]


def test_a_changed_group_lr_takes_effect():
    params, twin = make_params(), make_params()
    opt = nf.optim.SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
    ref = nf.optim.SGD([{"params": twin[:2], "lr": 0.1}, {"params": twin[2:], "lr": 0.0}], lr=0.1)
    opt.param_groups[1]["lr"] = 0.0
    grads = gradients(1)[0]
    step_all(opt, params, grads)
    step_all(ref, twin, grads)
    for p, q, p0 in zip(params, twin, make_params()):
        np.testing.assert_array_equal(p.value, q.value)
    for p, p0 in zip(params[2:], make_params()[2:]):
        np.testing.assert_array_equal(p.value, p0.value)     # lr 0: unchanged


def test_empty_group_allowed_beside_others():
    params = make_params()
    opt = nf.optim.SGD([{"params": params}, {"params": [], "weight_decay": 0.1}], lr=0.1)
    step_all(opt, params, gradients(1)[0])
    assert len(opt.param_groups) == 2


# -- schedules and callbacks ---------------------------------------------------

def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, 3, n)


def _model():
    L = nf.layers
    return nf.Sequential(L.Linear(5, 8, rng=0), L.Tanh(), L.Linear(8, 3, rng=1))


def test_schedule_scales_each_groups_initial_lr():
    model = _model()
    opt = nf.optim.SGD([{"params": model[0].parameters(), "lr": 0.1},
                        {"params": model[2].parameters()}], lr=0.01, momentum=0.9)
    seen = []

    class Record(nf.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([g["lr"] for g in self.optimizer.param_groups])

    X, y = _data()
    h = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=3,
               schedule=nf.optim.StepLR(1, gamma=0.5), callbacks=[Record()], verbose=0)
    assert seen == [[0.1 * 0.5 ** e, 0.01 * 0.5 ** e] for e in range(3)]
    assert h["lr"] == [0.1 * 0.5 ** e for e in range(3)]      # the first group's rate


def test_reduce_lr_on_plateau_cuts_every_group_to_its_floor():
    model = _model()
    opt = nf.optim.SGD([{"params": model[0].parameters(), "lr": 0.1},
                        {"params": model[2].parameters()}], lr=0.01)
    cut = nf.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=1e9,
                                         min_lr=[0.02, 0.0])
    X, y = _data()
    nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=3,
           callbacks=[cut], verbose=0)
    # never "improves" (min_delta huge) after the first epoch: two cuts
    assert [g["lr"] for g in opt.param_groups] == [0.025, 0.0025]
    with pytest.raises(ValueError, match="one rate per parameter group: the optimizer has 2"):
        nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=1,
               callbacks=[nf.callbacks.ReduceLROnPlateau("loss", min_lr=[0.0])], verbose=0)


# -- saving ----------------------------------------------------------------------

@pytest.mark.parametrize("name, torch_name, defaults, settings", CASES, ids=CASE_IDS)
def test_state_dict_with_groups_round_trip_through_npz(tmp_path, name, torch_name, defaults,
                                                       settings):
    params = make_params(np.float32)
    cls = getattr(nf.optim, name)
    opt = cls(groups_of(params, settings), **defaults)
    opt.add_param_group({"params": params[4], "lr": 0.003})
    for grads in gradients(3):
        step_all(opt, params, grads)
    opt.param_groups[0]["lr"] *= 0.5
    np.savez(tmp_path / "opt.npz", **opt.state_dict())
    loaded = dict(np.load(tmp_path / "opt.npz", allow_pickle=False))
    twin = [Parameter(p.value.copy()) for p in params]
    opt2 = cls(twin, lr=0.5)         # one group: the saved groups replace it
    opt2.load_state_dict(loaded)
    assert opt2.defaults == opt.defaults and len(opt2.param_groups) == 3
    for g, g2 in zip(opt.param_groups, opt2.param_groups):
        assert [params.index(p) for p in g["params"]] == [twin.index(p) for p in g2["params"]]
        assert {k: v for k, v in g.items() if k != "params"} == \
            {k: v for k, v in g2.items() if k != "params"}
    for grads in gradients(2, seed=5):
        step_all(opt, params, grads)
        step_all(opt2, twin, grads)
    for p, q in zip(params, twin):
        np.testing.assert_array_equal(p.value, q.value)


def test_model_file_keeps_groups_in_any_order_of_parameters(tmp_path):
    model = _model()
    # the second layer's parameters first: the optimizer's order is not the model's
    opt = nf.optim.Adam([{"params": model[2].parameters(), "lr": 0.01},
                         {"params": model[0].parameters(), "weight_decay": 0.1}], lr=1e-3)
    X, y = _data()
    nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=1, verbose=0)
    model.save(tmp_path / "m.npz", optimizer=opt)
    loaded, opt2 = nf.load(tmp_path / "m.npz", with_optimizer=True)
    assert [g["lr"] for g in opt2.param_groups] == [0.01, 1e-3]
    assert [g["weight_decay"] for g in opt2.param_groups] == [0.0, 0.1]
    assert opt2.param_groups[0]["params"] == loaded[2].parameters()
    assert opt2.param_groups[1]["params"] == loaded[0].parameters()
    loss = nf.losses.CrossEntropyLoss()
    for m, o in ((model, opt), (loaded, opt2)):
        o.zero_grad()
        loss.forward(m.forward(X), y)
        m.backward(loss.backward())
        o.step()
    for p, q in zip(model.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_resume_refuses_groups_built_otherwise(tmp_path):
    model = _model()
    X, y = _data()
    args = dict(loss=nf.losses.CrossEntropyLoss(), epochs=2, verbose=0)
    opt = nf.optim.SGD([{"params": model[2].parameters()}, {"params": model[0].parameters()}],
                       lr=0.1)
    nf.fit(model, X, y, optimizer=opt, callbacks=[nf.callbacks.ModelCheckpoint(tmp_path / "ck.npz")],
           **dict(args, epochs=1))
    other = nf.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="build its parameter groups as they were"):
        nf.fit(model, X, y, optimizer=other, resume_from=tmp_path / "ck.npz", **args)


# -- bad input ---------------------------------------------------------------------

def test_a_parameter_in_two_groups_is_refused():
    params = make_params()
    with pytest.raises(ValueError, match=r"already in param_groups\[0\]"):
        nf.optim.SGD([{"params": params[:2]}, {"params": params[1:]}], lr=0.1)
    opt = nf.optim.SGD([{"params": params[:2]}], lr=0.1)
    with pytest.raises(ValueError, match="already in param_groups"):
        opt.add_param_group({"params": [params[0]]})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("groups, exc, words", [
    ([{"params": None}], TypeError, r"param_groups\[0\]\['params'\]"),
    ([{"lr": 0.1}], ValueError, "must have a 'params' entry"),
    ([{"params": "P", "lr": 0.1}], TypeError, "params"),
    ([{"params": [1]}], TypeError, r"param_groups\[0\]\['params'\]: params\[0\] must be an nnfast Parameter"),
    ([{"params": "X", "rate": 0.1, "mom": 1}], ValueError, "unknown keys 'mom', 'rate'; SGD groups take"),
    ([{"params": "X", "betas": (0.9, 0.99)}], ValueError, "unknown keys 'betas';"),
    ([{"params": "X"}, {"params": "Y", "lr": -1.0}], ValueError, r"param_groups\[1\]: lr must be >= 0"),
    ([{"params": "X", "momentum": float("nan")}], ValueError, r"param_groups\[0\]: momentum must be finite"),
    ([{"params": "X", "nesterov": 1}], TypeError, "nesterov must be True or False"),
    ([{"params": "X", "initial_lr": "a"}], TypeError, "initial_lr must be a real number"),
    ([{"params": "X"}, 3], TypeError, "params must be a list of Parameters or a list of parameter group"),
    ([[]], TypeError, r"params\[0\] must be an nnfast Parameter"),
    ([{"params": []}], ValueError, "only empty groups"),
    ({"params": "X"}, TypeError, "params must be a list"),
])
def test_bad_groups(groups, exc, words):
    params = make_params()
    named = {"X": params[:2], "Y": params[2:]}

    def resolve(v):
        return named.get(v, v) if isinstance(v, str) and v in named else v
    if isinstance(groups, list):
        groups = [{k: resolve(v) for k, v in g.items()} if isinstance(g, dict) else g
                  for g in groups]
    else:
        groups = {k: resolve(v) for k, v in groups.items()}
    with pytest.raises(exc, match=words):
        nf.optim.SGD(groups, lr=0.1, momentum=0.9)


def test_bad_add_param_group_changes_nothing():
    params = make_params()
    opt = nf.optim.Adam(params[:2])
    for group, exc in [(3, TypeError), ({"params": params[2:], "betas": (1.0, 0.9)}, ValueError),
                       ({"params": params[2:], "momentum": 0.9}, ValueError)]:
        with pytest.raises(exc):
            opt.add_param_group(group)
        assert len(opt.param_groups) == 1 and len(opt.state) == 2


@pytest.mark.parametrize("key, value, exc", [("lr", -0.1, ValueError), ("lr", "fast", TypeError),
                                             ("betas", (0.9, 1.0), ValueError),
                                             ("eps", float("inf"), ValueError)])
def test_a_bad_value_set_in_a_group_is_refused_at_step_before_any_update(key, value, exc):
    params = make_params()
    opt = nf.optim.Adam([{"params": params[:2]}, {"params": params[2:]}], lr=0.01)
    opt.param_groups[1][key] = value
    before = [p.value.copy() for p in params]
    with pytest.raises(exc, match=rf"param_groups\[1\]: {key}"):
        step_all(opt, params, gradients(1)[0])
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.value, b)
    del opt.param_groups[1][key]
    with pytest.raises(ValueError, match=rf"param_groups\[1\] has no hyper-parameter '{key}'"):
        opt.step()


@pytest.mark.parametrize("edit, words", [
    (lambda d: d.update({"group.1.lr": -1.0}), "group 1: lr must be >= 0"),
    (lambda d: d.pop("group.0.momentum"), "no hyper-parameter 'group.0.momentum'"),
    (lambda d: d.update({"group.0.params": np.array([0, 1, 2])}), "each in one group"),
    (lambda d: d.update({"group.0.params": np.array([0, 9])}), "indices of parameters below 5"),
    (lambda d: d.update({"group.1.params": np.array([2])}), "hold 3 of the 5 parameters"),
    (lambda d: d.update(n_groups=3), "no 'group.2.params'"),
    (lambda d: d.update(n_groups=0), "n_groups"),
    (lambda d: d.update({"group.0.params": np.array([0.0, 1.0])}), "indices"),
    (lambda d: d.pop("group.1.initial_lr"), "no 'group.1.initial_lr'"),
])
def test_load_state_dict_bad_groups_changes_nothing(edit, words):
    params = make_params()
    opt = nf.optim.SGD([{"params": params[:2], "lr": 0.2}, {"params": params[2:]}], lr=0.1,
                       momentum=0.9)
    step_all(opt, params, gradients(1)[0])
    d = opt.state_dict()
    edit(d)
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises((ValueError, TypeError), match=words):
        opt.load_state_dict(d)
    assert [dict(g) for g in opt.param_groups] == before


def test_distributed_wrapper_forwards_the_groups():
    from nnfast import distributed as dist
    model = _model()
    inner = nf.optim.SGD([{"params": model[0].parameters(), "lr": 0.1},
                          {"params": model[2].parameters()}], lr=0.01)
    opt = dist.DistributedOptimizer(inner, model=model)
    assert opt.param_groups is inner.param_groups and opt.params == model.parameters()
    X, y = _data()
    nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(), optimizer=opt, epochs=2,
           schedule=nf.optim.StepLR(1, gamma=0.5), verbose=0)
    assert [g["lr"] for g in inner.param_groups] == [0.05, 0.005]
