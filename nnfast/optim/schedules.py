"""Learning-rate schedules: ``schedule(epoch, base_lr) -> lr``.

``nf.fit`` calls the schedule at the start of each epoch (``epoch`` counted
from 0) with the optimizer's ``initial_lr`` and sets ``optimizer.lr`` to the
result. The values are those of torch.optim.lr_scheduler's StepLR and
CosineAnnealingLR after ``epoch`` calls of ``scheduler.step()``.
"""
import math

from nnfast._validation import MAX_EPOCHS, check_float, check_int


class _Schedule:
    """``config()`` and ``repr`` of a schedule from its hyper-parameters,
    the attributes named in ``_hyper_parameters`` (the constructor's
    arguments, in order)."""

    _hyper_parameters = ()

    def config(self):
        return {name: getattr(self, name) for name in self._hyper_parameters}

    def __repr__(self):
        args = ", ".join(f"{name}={value}" for name, value in self.config().items())
        return f"{type(self).__name__}({args})"


class StepLR(_Schedule):
    """Decay the learning rate by ``gamma`` every ``step_size`` epochs.

    lr = base_lr * gamma ** (epoch // step_size)

    Parameters
    ----------
    step_size : int >= 1
    gamma : float >= 0, default 0.1
    """

    _hyper_parameters = ("step_size", "gamma")

    def __init__(self, step_size, gamma=0.1):
        self.step_size = check_int(step_size, "step_size", 1)
        self.gamma = check_float(gamma, "gamma", 0.0)

    def __call__(self, epoch, base_lr):
        epoch, base_lr = _check_call(epoch, base_lr)
        try:
            lr = base_lr * self.gamma ** (epoch // self.step_size)
        except OverflowError:
            lr = math.inf
        return _finite_lr(lr, self, epoch)


class CosineLR(_Schedule):
    """Cosine annealing from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs.

    lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    Past ``T_max`` the cosine goes on (back up to ``base_lr`` at 2 T_max), as
    torch's CosineAnnealingLR does.

    Parameters
    ----------
    T_max : int >= 1
        Epochs of one half-period.
    eta_min : float >= 0, default 0
    """

    _hyper_parameters = ("T_max", "eta_min")

    def __init__(self, T_max, eta_min=0.0):
        self.T_max = check_int(T_max, "T_max", 1)
        self.eta_min = check_float(eta_min, "eta_min", 0.0)

    def __call__(self, epoch, base_lr):
        epoch, base_lr = _check_call(epoch, base_lr)
        # halved before the product, not after: the same bits (halving is
        # exact), and no overflow for a base_lr near the float maximum
        return self.eta_min + (base_lr - self.eta_min) * (
            (1 + math.cos(math.pi * epoch / self.T_max)) / 2)


def _check_call(epoch, base_lr):
    return check_int(epoch, "epoch", 0, MAX_EPOCHS), check_float(base_lr, "base_lr", 0.0)


def _finite_lr(lr, schedule, epoch):
    if not math.isfinite(lr):
        raise ValueError(f"{schedule!r} overflows at epoch={epoch}: the learning rate would be "
                         f"{lr} (use a gamma <= 1 or fewer epochs)")
    return lr
