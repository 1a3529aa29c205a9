"""Learning-rate schedules: same values as torch's schedulers, bad input."""
import math

import numpy as np
import pytest

import nnfast as nf


def torch_lrs(torch, make_scheduler, base_lr, n_epochs):
    """lr at the start of each epoch, one scheduler.step() per epoch."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(n_epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize("step_size, gamma", [(1, 0.1), (3, 0.5), (10, 0.9), (2, 1.0), (4, 0.0)])
def test_step_lr_matches_torch(torch, step_size, gamma):
    expected = torch_lrs(torch, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma),
                         0.3, 25)
    sched = nf.optim.StepLR(step_size, gamma)
    np.testing.assert_allclose([sched(e, 0.3) for e in range(25)], expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("T_max, eta_min", [(1, 0.0), (5, 0.0), (10, 0.001), (7, 0.05)])
def test_cosine_lr_matches_torch(torch, T_max, eta_min):
    n = 3 * T_max + 2  # past T_max too: the cosine goes on
    expected = torch_lrs(
        torch, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max, eta_min), 0.1, n)
    sched = nf.optim.CosineLR(T_max, eta_min)
    np.testing.assert_allclose([sched(e, 0.1) for e in range(n)], expected, rtol=1e-9, atol=1e-15)


def test_schedule_values_by_hand():
    assert nf.optim.StepLR(2)(0, 1.0) == 1.0
    assert nf.optim.StepLR(2)(3, 1.0) == pytest.approx(0.1)
    c = nf.optim.CosineLR(4, eta_min=0.2)
    assert c(0, 1.0) == 1.0 and c(4, 1.0) == pytest.approx(0.2)
    assert c(2, 1.0) == pytest.approx(0.6)
    assert math.isclose(c(8, 1.0), 1.0)


def test_schedule_sets_optimizer_lr():
    p = nf.Parameter(np.zeros(2))
    opt = nf.optim.SGD([p], lr=0.4)
    sched = nf.optim.StepLR(1, 0.5)
    for epoch in range(3):
        opt.lr = sched(epoch, opt.initial_lr)
    assert opt.lr == pytest.approx(0.1) and opt.initial_lr == 0.4


def test_schedule_repr_and_config():
    assert repr(nf.optim.StepLR(3, 0.5)) == "StepLR(step_size=3, gamma=0.5)"
    assert nf.optim.CosineLR(10).config() == {"T_max": 10, "eta_min": 0.0}


@pytest.mark.parametrize("make, exc, words", [
    (lambda: nf.optim.StepLR(0), ValueError, "step_size"),
    (lambda: nf.optim.StepLR(2.5), TypeError, "step_size"),
    (lambda: nf.optim.StepLR(2, -0.1), ValueError, "gamma"),
    (lambda: nf.optim.StepLR(2, float("nan")), ValueError, "gamma"),
    (lambda: nf.optim.CosineLR(0), ValueError, "T_max"),
    (lambda: nf.optim.CosineLR("10"), TypeError, "T_max"),
    (lambda: nf.optim.CosineLR(10, -1.0), ValueError, "eta_min"),
    (lambda: nf.optim.CosineLR(10, float("inf")), ValueError, "eta_min"),
    (lambda: nf.optim.StepLR(2)(-1, 0.1), ValueError, "epoch"),
    (lambda: nf.optim.StepLR(2)(1.5, 0.1), TypeError, "epoch"),
    (lambda: nf.optim.CosineLR(2)(1, -0.1), ValueError, "base_lr"),
    (lambda: nf.optim.CosineLR(2)(1, None), TypeError, "base_lr"),
])
def test_schedule_bad_input(make, exc, words):
    with pytest.raises(exc, match=words):
        make()
