"""Optimizers: same trajectories as torch.optim, state, state_dict, bad input."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.parameter import Parameter

from optim_trajectories import (SHAPES, assert_continue_alike, assert_follows_torch,
                                 make_params, run_steps)


# (nnfast class, torch class name, keyword arguments: same names in both)
CASES = [
    ("SGD", "SGD", dict(lr=0.1)),
    ("SGD", "SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", "SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    ("SGD", "SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", "Adam", dict()),
    ("Adam", "Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("Adagrad", "Adagrad", dict()),
    ("Adagrad", "Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.02,
                                initial_accumulator_value=0.3, eps=1e-6)),
    ("RMSProp", "RMSprop", dict()),
    ("RMSProp", "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.03)),
    ("RMSProp", "RMSprop", dict(lr=0.01, momentum=0.7)),
    ("RMSProp", "RMSprop", dict(lr=0.01, alpha=0.95, momentum=0.5, centered=True,
                                weight_decay=0.01)),
]
CASE_IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def gradients(n_steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(n_steps)]


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_optimizer_matches_torch(torch, case, backend, dtype):
    name, torch_name, kwargs = case
    params = make_params(dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    with nf.use_backend(backend):
        assert_follows_torch(torch, getattr(nf.optim, name), getattr(torch.optim, torch_name),
                             kwargs, params, gradients(6), tol)
    assert all(p.value.dtype == dtype for p in params)


def test_defaults_are_torchs(torch):
    p = make_params(np.float64)
    tp = [torch.nn.Parameter(torch.zeros(1))]
    for ours, theirs, extra in [(nf.optim.Adam, torch.optim.Adam, {}),
                                (nf.optim.Adagrad, torch.optim.Adagrad, {}),
                                (nf.optim.RMSProp, torch.optim.RMSprop, {}),
                                (nf.optim.SGD, torch.optim.SGD, {"lr": 0.1})]:
        d = ours(p, **extra).defaults
        td = theirs(tp, **extra).defaults
        for k, v in d.items():
            if k != "l1":
                assert td[k] == v, (ours.__name__, k)
        assert d["l1"] == 0.0


def test_rmsprop_alias():
    assert nf.optim.RMSprop is nf.optim.RMSProp


def test_sgd_lr_is_required():
    with pytest.raises(TypeError):
        nf.optim.SGD(make_params(np.float32))


def test_l1_penalty_matches_manual_subgradient():
    p = Parameter(np.array([[-1.0, 0.0, 2.0]]))
    opt = nf.optim.SGD([p], lr=0.1, l1=0.5)
    p.grad[...] = 1.0
    opt.step()
    np.testing.assert_allclose(p.value, [[-1.0 - 0.1 * (1 - 0.5), 0.0 - 0.1, 2.0 - 0.1 * 1.5]])


def test_l1_drives_unused_weights_towards_zero():
    p = Parameter(np.linspace(-1, 1, 11))
    opt = nf.optim.Adam([p], lr=0.01, l1=1.0)
    for _ in range(300):
        opt.step()  # grad stays 0: only the L1 term acts
    assert np.max(np.abs(p.value)) < 0.05


def test_step_on_model_parameters_and_lr_attribute():
    model = nf.Sequential([nf.layers.Linear(3, 2, rng=0)])
    opt = nf.optim.SGD(model.parameters(), lr=0.5)
    w0 = model.layers[0].weight.value.copy()
    model.layers[0].weight.grad[...] = 1.0
    opt.lr = 0.25
    assert opt.lr == 0.25 and opt.initial_lr == 0.5
    opt.step()
    np.testing.assert_allclose(model.layers[0].weight.value, w0 - 0.25, rtol=1e-6)
    opt.zero_grad()
    assert not np.any(model.layers[0].weight.grad)
    opt.lr = 0  # a schedule may reach 0
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0
    with pytest.raises(ValueError, match="lr"):
        opt.lr = float("nan")


def test_state_is_per_parameter_and_created_on_first_step():
    params = make_params(np.float32)
    opt = nf.optim.Adam(params)
    assert all(opt.state[p] == {} for p in params)
    opt.step()
    for p in params:
        assert opt.state[p]["step"] == 1
        assert opt.state[p]["exp_avg"].shape == p.shape
        assert opt.state[p]["exp_avg_sq"].dtype == np.float32


def test_non_contiguous_or_other_dtype_grad_is_converted():
    p = Parameter(np.zeros((3, 4), np.float32))
    opt = nf.optim.SGD([p], lr=1.0)
    p.grad = np.ones((4, 3))[:, ::1].T  # float64, Fortran-ordered
    opt.step()
    np.testing.assert_array_equal(p.value, -np.ones((3, 4)))
    assert p.value.dtype == np.float32


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.9))),
    ("Adagrad", dict(lr_decay=0.1, initial_accumulator_value=0.2)),
    ("RMSProp", dict(momentum=0.5, centered=True)),
])
def test_state_dict_round_trip_through_npz(tmp_path, name, kwargs):
    cls = getattr(nf.optim, name)
    params = make_params(np.float32)
    opt = cls(params, **kwargs)
    run_steps(opt, params, gradients(3))
    opt.lr = 0.003
    d = opt.state_dict()
    np.savez(tmp_path / "opt.npz", **d)
    loaded = dict(np.load(tmp_path / "opt.npz", allow_pickle=False))

    params2 = [Parameter(p.value.copy()) for p in params]
    opt2 = cls(params2, lr=0.5)
    opt2.load_state_dict(loaded)
    assert opt2.lr == 0.003 and opt2.defaults == opt.defaults
    assert opt2.initial_lr == opt.initial_lr
    # the same next step from both
    assert_continue_alike(opt, params, opt2, params2, gradients(1, seed=9))


def test_state_dict_is_a_copy():
    params = make_params(np.float64)
    opt = nf.optim.SGD(params, lr=0.1, momentum=0.9)
    params[0].grad[...] = 1
    opt.step()
    d = opt.state_dict()
    saved = d["state.0.momentum_buffer"].copy()
    opt.step()
    np.testing.assert_array_equal(d["state.0.momentum_buffer"], saved)


@pytest.mark.parametrize("edit, exc, words", [
    (lambda d: d.update(optimizer="Adam"), ValueError, "optimizer 'Adam'"),
    (lambda d: d.update(n_params=2), ValueError, "2 parameters, this optimizer has 3"),
    (lambda d: d.pop("momentum"), ValueError, "momentum"),
    (lambda d: d.update(momentum=-1.0), ValueError, "momentum"),
    (lambda d: d.update(lr="fast"), TypeError, "lr"),
    (lambda d: d.update({"state.0.momentum_buffer": np.zeros(5)}), ValueError, "shape"),
    (lambda d: d.update({"state.7.momentum_buffer": np.zeros(5)}), ValueError, "unexpected key"),
    (lambda d: d.update({"state.0.exp_avg": np.zeros((4, 3))}), ValueError, "unexpected key"),
    (lambda d: d.update({"bogus": 1}), ValueError, "unexpected key"),
    (lambda d: d.update({"state.0.momentum_buffer": np.array(["a"] * 12).reshape(4, 3)}),
     ValueError, "numeric"),
])
def test_load_state_dict_bad_input_changes_nothing(edit, exc, words):
    params = make_params(np.float64)
    opt = nf.optim.SGD(params, lr=0.1, momentum=0.9)
    params[0].grad[...] = 1
    opt.step()
    d = opt.state_dict()
    edit(d)
    before = opt.state_dict()
    with pytest.raises(exc, match=words):
        opt.load_state_dict(d)
    after = opt.state_dict()
    assert before.keys() == after.keys()
    np.testing.assert_array_equal(before["state.0.momentum_buffer"], after["state.0.momentum_buffer"])


def test_load_state_dict_not_a_dict():
    opt = nf.optim.SGD(make_params(np.float64), lr=0.1)
    with pytest.raises(TypeError, match="dict"):
        opt.load_state_dict([1, 2])


def test_repr_names_hyper_parameters():
    r = repr(nf.optim.SGD(make_params(np.float32), lr=0.1, momentum=0.9))
    assert r.startswith("SGD(3 parameters") and "momentum=0.9" in r


# -- bad input ---------------------------------------------------------------

@pytest.mark.parametrize("params, exc, words", [
    ([], ValueError, "at least one"),
    (None, TypeError, "params"),
    (3, TypeError, "params"),
    (Parameter(np.zeros(3)), TypeError, "list of nnfast Parameters"),
    (np.zeros(3), TypeError, "list of nnfast Parameters"),
    ([np.zeros(3)], TypeError, r"params\[0\]"),
    ("weights", TypeError, "params"),
])
def test_bad_params(params, exc, words):
    with pytest.raises(exc, match=words):
        nf.optim.SGD(params, lr=0.1)


def test_duplicate_params():
    p = Parameter(np.zeros(3))
    with pytest.raises(ValueError, match=r"params\[1\] is the same Parameter as params\[0\]"):
        nf.optim.Adam([p, p])
    model = nf.Sequential([nf.layers.Linear(2, 2)])
    with pytest.raises(ValueError, match="same Parameter"):
        nf.optim.Adam(model.parameters() + model.parameters())


def test_params_generator_accepted():
    params = make_params(np.float32)
    opt = nf.optim.SGD((p for p in params), lr=0.1)
    assert opt.params == params


def test_parameter_assignment_converts_or_refuses_before_any_step():
    # Checked where it is assigned (nnfast.parameter), so an optimizer never
    # sees an array its kernels cannot read: integers are cast to the
    # parameter's dtype, non-contiguous views copied, other shapes refused.
    p = Parameter(np.zeros(3))
    p.value = np.zeros(3, dtype=np.int64)
    assert p.value.dtype == np.float64
    p.value = np.zeros((3, 4))[:, ::2][:, 0]
    assert p.value.flags.c_contiguous
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        p.value = np.zeros((3, 4))[:, ::2]
    opt = nf.optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()


def test_parameter_changed_after_construction_is_refused_at_assignment():
    p = Parameter(np.zeros((2, 3)))
    opt = nf.optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    p.value = np.zeros((3, 2)).T  # non-contiguous view of the right shape: copied
    assert p.value.flags.c_contiguous
    opt.step()
    with pytest.raises(ValueError, match=r"'?value'? must have shape \(2, 3\)"):
        p.value = np.zeros((4,))
    with pytest.raises(ValueError, match=r"grad must have shape \(2, 3\)"):
        p.grad = np.zeros(4)
    p.value = np.zeros((2, 3), np.float32)   # cast to the parameter's float64
    assert p.value.dtype == np.float64
    opt.step()


SGD_BAD = [
    (dict(lr=-0.1), ValueError, "lr"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(lr=float("inf")), ValueError, "lr"),
    (dict(lr="0.1"), TypeError, "lr"),
    (dict(lr=None), TypeError, "lr"),
    (dict(lr=0.1, momentum=-0.5), ValueError, "momentum"),
    (dict(lr=0.1, momentum=float("nan")), ValueError, "momentum"),
    (dict(lr=0.1, dampening=-0.1), ValueError, "dampening"),
    (dict(lr=0.1, dampening=1.5), ValueError, "dampening"),
    (dict(lr=0.1, nesterov=True), ValueError, "nesterov"),
    (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "nesterov"),
    (dict(lr=0.1, nesterov="yes"), TypeError, "nesterov"),
    (dict(lr=0.1, weight_decay=-1e-4), ValueError, "weight_decay"),
    (dict(lr=0.1, weight_decay=float("inf")), ValueError, "weight_decay"),
    (dict(lr=0.1, l1=-1e-4), ValueError, "l1"),
    (dict(lr=0.1, l1=[0.1]), TypeError, "l1"),
]
ADAM_BAD = [
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(betas=(1.0, 0.999)), ValueError, r"betas\[0\]"),
    (dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\]"),
    (dict(betas=(-0.1, 0.999)), ValueError, r"betas\[0\]"),
    (dict(betas=(0.9, float("nan"))), ValueError, r"betas\[1\]"),
    (dict(betas=0.9), TypeError, "betas"),
    (dict(betas=(0.9, 0.99, 0.9)), TypeError, "betas"),
    (dict(betas="ab"), TypeError, "betas"),
    (dict(betas=np.array(0.5)), TypeError, "betas"),   # 0-d: len() raises its own TypeError
    (dict(eps=0.0), ValueError, "eps"),
    (dict(eps=-1e-8), ValueError, "eps"),
    (dict(weight_decay=-1.0), ValueError, "weight_decay"),
    (dict(l1=float("nan")), ValueError, "l1"),
]
ADAGRAD_BAD = [
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(lr_decay=-0.1), ValueError, "lr_decay"),
    (dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (dict(initial_accumulator_value=-0.1), ValueError, "initial_accumulator_value"),
    (dict(eps=0.0), ValueError, "eps"),
    (dict(l1=-2.0), ValueError, "l1"),
]
RMSPROP_BAD = [
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(alpha=-0.1), ValueError, "alpha"),
    (dict(alpha=1.5), ValueError, "alpha"),
    (dict(eps=0.0), ValueError, "eps"),
    (dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (dict(momentum=-0.1), ValueError, "momentum"),
    (dict(centered=1), TypeError, "centered"),
    (dict(l1=-1.0), ValueError, "l1"),
]


@pytest.mark.parametrize("name, kwargs, exc, words",
                         [("SGD",) + c for c in SGD_BAD] + [("Adam",) + c for c in ADAM_BAD]
                         + [("Adagrad",) + c for c in ADAGRAD_BAD]
                         + [("RMSProp",) + c for c in RMSPROP_BAD])
def test_bad_hyper_parameters(name, kwargs, exc, words):
    with pytest.raises(exc, match=words):
        getattr(nf.optim, name)(make_params(np.float32), **kwargs)


def test_training_a_linear_model_converges():
    """Every optimizer fits y = x @ w on a tiny least-squares problem."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5))
    y = x @ rng.standard_normal((5, 1))
    for cls, kw in [(nf.optim.SGD, dict(lr=0.05, momentum=0.9)), (nf.optim.Adam, dict(lr=0.05)),
                    (nf.optim.Adagrad, dict(lr=0.5)), (nf.optim.RMSProp, dict(lr=0.01))]:
        layer = nf.layers.Linear(5, 1, dtype=np.float64, rng=1)
        opt = cls(layer.parameters(), **kw)
        for _ in range(300):
            out = layer.forward(x)
            layer.backward(2 * (out - y) / len(x))
            opt.step()
            opt.zero_grad()
        assert np.mean((layer.forward(x) - y) ** 2) < 1e-3, cls.__name__


def test_non_numeric_grad_rejected():
    p = Parameter(np.zeros(3))
    nf.optim.SGD([p], lr=0.1)
    with pytest.raises(TypeError, match="grad"):
        p.grad = np.zeros(3, dtype=complex)


# -- nnfast.optim.functional: the same rules on plain arrays --------------------
F = nf.optim.functional


class FunctionalState:
    """Drives one functional step function as the optimizer class would,
    keeping the state arrays itself."""

    def __init__(self, name, kwargs, value):
        self.name, self.kwargs, self.value = name, dict(kwargs), value
        self.step = 0
        zeros = lambda fill=0.0: np.full(value.shape, fill, value.dtype)  # noqa: E731
        if name == "SGD":
            self.state = [zeros()]
        elif name == "Adam":
            self.state = [zeros(), zeros()]
        elif name == "Adagrad":
            self.state = [zeros(self.kwargs.pop("initial_accumulator_value", 0.0))]
        else:
            self.state = [zeros(), zeros(), zeros()]

    def __call__(self, grad):
        self.step += 1
        if self.name == "SGD":
            F.sgd_step(self.value, grad, *self.state, first_step=self.step == 1, **self.kwargs)
        elif self.name == "Adam":
            F.adam_step(self.value, grad, *self.state, step=self.step, **self.kwargs)
        elif self.name == "Adagrad":
            F.adagrad_step(self.value, grad, *self.state, step=self.step, **self.kwargs)
        else:
            F.rmsprop_step(self.value, grad, *self.state, **self.kwargs)


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_functional_steps_equal_the_optimizer_classes(case, backend, dtype):
    """Bitwise: the classes run the same kernel calls after the same checks."""
    name, _, kwargs = case
    params = make_params(dtype)
    opt = getattr(nf.optim, name)(params, **kwargs)
    arrays = [p.value.copy() for p in params]
    steps = [FunctionalState(name, kwargs, a) for a in arrays]
    with nf.use_backend(backend):
        for grads in gradients(5):
            for p, g in zip(params, grads):
                p.grad[...] = g
            opt.step()
            for step, g in zip(steps, grads):
                step(g)           # a float64 gradient, cast to the value's dtype
    for p, a in zip(params, arrays):
        np.testing.assert_array_equal(a, p.value)


def test_functional_steps_follow_the_active_backend(torch):
    rng = np.random.default_rng(3)
    start, grad = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    results = {}
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            v, buf = start.copy(), np.zeros_like(start)
            F.sgd_step(v, grad, buf, lr=0.1, momentum=0.9, first_step=True)
            F.sgd_step(v, grad, buf, lr=0.1, momentum=0.9)
            results[backend] = v
    np.testing.assert_allclose(results["fast"], results["reference"], rtol=1e-12)
    tv = torch.nn.Parameter(torch.from_numpy(start.copy()))
    topt = torch.optim.SGD([tv], lr=0.1, momentum=0.9)
    for _ in range(2):
        tv.grad = torch.from_numpy(grad.copy())
        topt.step()
    np.testing.assert_allclose(results["fast"], tv.detach().numpy(), rtol=1e-12)


def test_functional_steps_any_shape_and_empty():
    v = np.array(2.0)
    F.sgd_step(v, 1.0, lr=0.5)
    assert v == 1.5
    empty = np.zeros((0, 3), np.float32)
    F.adam_step(empty, empty.copy(), empty.copy(), empty.copy(), step=1)
    v = np.ones((2, 1, 3), np.float32)
    m, s = np.zeros_like(v), np.zeros_like(v)
    F.adam_step(v, np.ones((2, 1, 3)), m, s, step=1, lr=0.1)
    np.testing.assert_allclose(v, 0.9, rtol=1e-6)
    assert v.dtype == np.float32 and np.all(m > 0)


def _value():
    return np.ones(4)


FUNCTIONAL_BAD = [
    # (call, error, words in the message)
    (lambda: F.sgd_step([1.0, 2.0], np.ones(2), lr=0.1), TypeError, "value"),
    (lambda: F.sgd_step(np.ones(4, np.int64), np.ones(4), lr=0.1), TypeError, "value"),
    (lambda: F.sgd_step(np.ones((4, 2))[:, 0], np.ones(4), lr=0.1), ValueError, "value"),
    (lambda: F.sgd_step(_value(), np.ones(3), lr=0.1), ValueError, r"grad must have value's shape"),
    (lambda: F.sgd_step(_value(), np.array(["a"] * 4), lr=0.1), TypeError, "grad"),
    (lambda: F.sgd_step(_value(), np.ones(4)), TypeError, "lr"),
    (lambda: F.sgd_step(_value(), np.ones(4), lr=-0.1), ValueError, "lr"),
    (lambda: F.sgd_step(_value(), np.ones(4), lr=float("nan")), ValueError, "lr"),
    (lambda: F.sgd_step(_value(), np.ones(4), lr=0.1, momentum=0.9), ValueError, "momentum_buf"),
    (lambda: F.sgd_step(_value(), np.ones(4), np.zeros(3), lr=0.1, momentum=0.9),
     ValueError, "momentum_buf"),
    (lambda: F.sgd_step(_value(), np.ones(4), np.zeros(4, np.float32), lr=0.1, momentum=0.9),
     ValueError, "momentum_buf"),
    (lambda: F.sgd_step(_value(), np.ones(4), [0.0] * 4, lr=0.1, momentum=0.9),
     TypeError, "momentum_buf"),
    (lambda: F.sgd_step(_value(), np.ones(4), np.zeros((4, 2))[:, 1], lr=0.1, momentum=0.9),
     ValueError, "momentum_buf"),
    (lambda: F.sgd_step(_value(), np.ones(4), lr=0.1, nesterov=True), ValueError, "nesterov"),
    (lambda: F.sgd_step(_value(), np.ones(4), lr=0.1, first_step=1), TypeError, "first_step"),
    (lambda: F.adam_step(_value(), np.ones(4), np.zeros(4), np.zeros(4), step=0),
     ValueError, "step"),
    (lambda: F.adam_step(_value(), np.ones(4), np.zeros(4), np.zeros(4), step=1.0),
     TypeError, "step"),
    (lambda: F.adam_step(_value(), np.ones(4), np.zeros(4), None, step=1),
     ValueError, "exp_avg_sq"),
    (lambda: F.adam_step(_value(), np.ones(4), np.zeros(4), np.zeros(4), step=1,
                         betas=(0.9, 1.0)), ValueError, r"betas\[1\]"),
    (lambda: F.adam_step(_value(), np.ones(4), np.zeros(4), np.zeros(4), step=1, eps=0.0),
     ValueError, "eps"),
    (lambda: F.adagrad_step(_value(), np.ones(4), None, step=1), ValueError, "state_sum"),
    (lambda: F.adagrad_step(_value(), np.ones(4), np.zeros(4), step=1, lr_decay=-1.0),
     ValueError, "lr_decay"),
    (lambda: F.rmsprop_step(_value(), np.ones(4), np.zeros(4), momentum=0.5),
     ValueError, "momentum_buf"),
    (lambda: F.rmsprop_step(_value(), np.ones(4), np.zeros(4), centered=True),
     ValueError, "grad_avg"),
    (lambda: F.rmsprop_step(_value(), np.ones(4), np.zeros(4), alpha=2.0), ValueError, "alpha"),
]


@pytest.mark.parametrize("call, exc, words", FUNCTIONAL_BAD,
                         ids=[str(i) for i in range(len(FUNCTIONAL_BAD))])
def test_functional_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_functional_read_only_or_aliased_arrays():
    v = np.ones(4)
    v.setflags(write=False)
    with pytest.raises(ValueError, match="value must be a writeable"):
        F.sgd_step(v, np.ones(4), lr=0.1)
    v = np.ones(4)
    with pytest.raises(ValueError, match="momentum_buf must not share memory with value"):
        F.sgd_step(v, np.ones(4), v, lr=0.1, momentum=0.9)
    m = np.zeros(4)
    with pytest.raises(ValueError, match="exp_avg_sq must not share memory with exp_avg"):
        F.adam_step(v, np.ones(4), m, m, step=1)
    np.testing.assert_array_equal(v, 1.0)   # nothing ran


def test_functional_momentum_buffer_unused_without_momentum():
    v, buf = np.ones(3), np.full(3, 7.0)
    F.sgd_step(v, np.ones(3), buf, lr=0.5)
    np.testing.assert_array_equal(v, 0.5)
    np.testing.assert_array_equal(buf, 7.0)
