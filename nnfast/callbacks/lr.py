"""Learning-rate callbacks: a schedule per epoch, and a cut on a plateau.

With an optimizer that has parameter groups (``optimizer.param_groups``, as
nnfast's and torch.optim's), both act on every group's own ``lr``, as
torch.optim.lr_scheduler does: a schedule scales each group's
``initial_lr``, a plateau cuts each group's rate by ``factor``. Other
optimizers are driven through their ``lr`` attribute.
"""
from nnfast._validation import check_float, check_int
from nnfast.callbacks.base import Callback
from nnfast.callbacks.monitor import (check_monitor_available, improved, monitored_value,
                                      resolve_mode)


def _groups(optimizer):
    """The optimizer's parameter groups (dicts with an ``"lr"``), or None."""
    groups = getattr(optimizer, "param_groups", None)
    if isinstance(groups, list) and groups and all(
            isinstance(g, dict) and "lr" in g for g in groups):
        return groups
    return None


class LearningRateScheduler(Callback):
    """Set the optimizer's ``lr`` at the start of each epoch to
    ``schedule(epoch, base_lr)``; each parameter group's ``lr`` to
    ``schedule(epoch, group["initial_lr"])``.

    ``epoch`` counts from 0 and ``base_lr`` is the optimizer's
    ``initial_lr`` (the rate it was built with; its ``lr`` at the start of
    ``fit`` if it has none), as ``nf.fit(..., schedule=...)`` and the
    schedules in ``nf.optim`` (StepLR, CosineLR) take them; with parameter
    groups, each group's own ``initial_lr`` (its ``lr`` when it was added),
    as torch's LambdaLR scales each group's. (Keras passes the current rate
    instead of the initial one.)

    Parameters
    ----------
    schedule : callable
    verbose : int, default 0
        1: print the rate each epoch.
    """

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError(f"schedule must be callable as schedule(epoch, base_lr) -> lr, "
                            f"got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = check_int(verbose, "verbose", 0)

    def on_train_begin(self, logs=None):
        if not hasattr(self.optimizer, "lr"):
            raise TypeError(f"schedule needs an optimizer with an lr attribute; "
                            f"{type(self.optimizer).__name__} has none")

    def on_epoch_begin(self, epoch, logs=None):
        groups = _groups(self.optimizer)
        if groups is None:
            lr = check_float(self.schedule(epoch, self.trainer.base_lr), "schedule(epoch, base_lr)", 0.0)
            self.optimizer.lr = lr
            lrs = [lr]
        else:
            # every group's rate computed (and checked) before any is set
            lrs = [check_float(self.schedule(epoch, g.get("initial_lr", self.trainer.base_lr)),
                               "schedule(epoch, base_lr)", 0.0) for g in groups]
            for g, lr in zip(groups, lrs):
                g["lr"] = lr
        if self.verbose:
            print(f"LearningRateScheduler: epoch {epoch + 1}: lr "
                  f"{', '.join(f'{lr:g}' for lr in lrs)}", flush=True)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not
    improved for ``patience`` epochs (Keras's rule, with its ``cooldown``
    and ``min_lr``); with parameter groups, every group's rate, each down
    to its ``min_lr`` (as torch's ReduceLROnPlateau).

    Parameters
    ----------
    monitor : str, default "val_loss"
    factor : float in (0, 1), default 0.1
    patience : int >= 0, default 10
    min_delta : float >= 0, default 1e-4
    mode : {"auto", "min", "max"}
    cooldown : int >= 0, default 0
        Epochs to wait after a cut before counting again.
    min_lr : float >= 0, or a list of them (one per parameter group), default 0
    verbose : int, default 0
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_delta=1e-4, mode="auto",
                 cooldown=0, min_lr=0.0, verbose=0):
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode)
        self.factor = check_float(factor, "factor", 0.0, 1.0, min_inclusive=False, max_inclusive=False)
        self.patience = check_int(patience, "patience", 0)
        self.min_delta = check_float(min_delta, "min_delta", 0.0)
        self.cooldown = check_int(cooldown, "cooldown", 0)
        if isinstance(min_lr, (list, tuple)):
            if not min_lr:
                raise ValueError("min_lr must be a float or a non-empty list of floats (one per "
                                 "parameter group), got an empty list")
            self.min_lr = [check_float(v, f"min_lr[{i}]", 0.0) for i, v in enumerate(min_lr)]
        else:
            self.min_lr = check_float(min_lr, "min_lr", 0.0)
        self.verbose = check_int(verbose, "verbose", 0)
        self.wait = 0
        self.cooldown_counter = 0
        self.best = None

    def on_train_begin(self, logs=None):
        check_monitor_available("ReduceLROnPlateau", self.monitor, self.trainer)
        if not hasattr(self.optimizer, "lr") and _groups(self.optimizer) is None:
            raise TypeError(f"ReduceLROnPlateau needs an optimizer with an lr attribute; "
                            f"{type(self.optimizer).__name__} has none")
        if isinstance(self.min_lr, list):
            groups = _groups(self.optimizer)
            n = 1 if groups is None else len(groups)
            if len(self.min_lr) != n:
                raise ValueError(f"min_lr must give one rate per parameter group: the optimizer "
                                 f"has {n}, min_lr has {len(self.min_lr)}")

    def on_epoch_end(self, epoch, logs=None):
        current = monitored_value("ReduceLROnPlateau", self.monitor, logs)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if current is not None and improved(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, epoch):
        """Cut the rate(s) above their floor; True if any was cut."""
        groups = _groups(self.optimizer)
        n = 1 if groups is None else len(groups)
        floors = self.min_lr if isinstance(self.min_lr, list) else [self.min_lr] * n
        olds = [float(self.optimizer.lr)] if groups is None else [float(g["lr"]) for g in groups]
        news = [max(old * self.factor, floor) if old > floor else old
                for old, floor in zip(olds, floors)]
        if news == olds:
            return False
        if groups is None:
            self.optimizer.lr = news[0]
        else:
            for g, new in zip(groups, news):
                g["lr"] = new
        if self.verbose:
            changes = ", ".join(f"{old:g} -> {new:g}" for old, new in zip(olds, news))
            print(f"ReduceLROnPlateau: epoch {epoch + 1}: lr {changes}", flush=True)
        return True

    def state_dict(self):
        return {"wait": self.wait, "cooldown_counter": self.cooldown_counter, "best": self.best}

    def load_state_dict(self, state):
        self.wait = state["wait"]
        self.cooldown_counter = state["cooldown_counter"]
        self.best = state["best"]
