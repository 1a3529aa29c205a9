"""A training run of an unreasonable length is refused at once (fit and the
teaching framework's train started a run of 2**31 epochs or iterations
without a word), and schedules never raise OverflowError or
ZeroDivisionError: a learning rate out of range is a ValueError naming the
argument."""
import math

import numpy as np
import pytest

import nnfast as nf
import nnfast.fau.NeuralNetwork as NeuralNetwork
from nnfast.fau.Layers import FullyConnected, Initializers, SoftMax
from nnfast.fau.Optimization import Loss, Optimizers


class Stop(Exception):
    """Raised where the old code started the endless run."""


def stop(*args):
    raise Stop


def small_fit(**kwargs):
    model = nf.Sequential([nf.layers.Linear(3, 2)])
    opt = nf.optim.SGD(model.parameters(), lr=0.1)
    X = np.random.default_rng(0).standard_normal((8, 3))
    y = np.arange(8) % 2
    return nf.fit(model, X, y, nf.losses.CrossEntropyLoss(), opt, progress=False, **kwargs)


@pytest.mark.parametrize("epochs", [2**31, 2**63, 10**6 + 1])
def test_fit_refuses_unreasonable_epochs_before_training(epochs):
    with pytest.raises(ValueError, match=rf"epochs must be <= 1000000, got {epochs}"):
        small_fit(epochs=epochs, callback=stop)


def test_fit_still_runs_a_few_epochs():
    assert len(small_fit(epochs=3).loss) == 3


def test_fit_with_a_loss_class_instead_of_an_instance():
    model = nf.Sequential([nf.layers.Linear(3, 2)])
    with pytest.raises(TypeError, match="loss must be .*an instance, got the class CrossEntropyLoss"):
        nf.fit(model, np.ones((4, 3)), np.zeros(4, np.int64), nf.losses.CrossEntropyLoss,
               nf.optim.SGD(model.parameters(), lr=0.1), progress=False)


class Batches:
    def next(self):
        raise Stop


def test_fau_train_refuses_unreasonable_iterations():
    net = NeuralNetwork.NeuralNetwork(Optimizers.Sgd(0.1), Initializers.He(),
                                      Initializers.Constant(0.1))
    net.append_layer(FullyConnected.FullyConnected(3, 2))
    net.append_layer(SoftMax.SoftMax())
    net.loss_layer = Loss.CrossEntropyLoss()
    net.data_layer = Batches()
    with pytest.raises(ValueError, match="iterations must be <= 1000000"):
        net.train(2**31)


@pytest.mark.parametrize("schedule, epoch", [(nf.optim.StepLR(1, gamma=10.0), 10**5),
                                             (nf.optim.StepLR(1, gamma=1e300), 2)])
def test_step_lr_overflow_is_a_value_error(schedule, epoch):
    with pytest.raises(ValueError, match="overflows at epoch"):
        schedule(epoch, 0.1)


@pytest.mark.parametrize("schedule", [nf.optim.StepLR(3, 0.0), nf.optim.CosineLR(7),
                                      nf.optim.StepLR(1, 0.5)])
@pytest.mark.parametrize("epoch", [2**1100, 2**63, 10**6 + 1, -1],
                         ids=["2**1100", "2**63", "10**6+1", "-1"])
def test_schedules_refuse_epochs_beyond_any_run(schedule, epoch):
    with pytest.raises(ValueError, match="epoch must be"):
        schedule(epoch, 0.1)


def test_cosine_lr_near_the_float_maximum_does_not_overflow():
    # (base_lr - eta_min) * (1 + cos) was 2e308 = inf before the halving
    assert nf.optim.CosineLR(1)(2, 1e308) == 1e308
    assert nf.optim.CosineLR(4, eta_min=1e307)(0, 1.7e308) == 1.7e308


@pytest.mark.parametrize("schedule", [nf.optim.StepLR(3, 0.0), nf.optim.CosineLR(7),
                                      nf.optim.StepLR(1, 0.5), nf.optim.StepLR(2, 1.0)])
def test_schedules_give_finite_rates_over_the_longest_run(schedule):
    for epoch in (0, 1, 10, 1000, 10**6):
        lr = schedule(epoch, 0.1)
        assert math.isfinite(lr) and lr >= 0
