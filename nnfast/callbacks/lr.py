"""Learning-rate callbacks: a schedule per epoch, and a cut on a plateau."""
from nnfast._validation import check_float, check_int
from nnfast.callbacks.base import Callback
from nnfast.callbacks.monitor import (check_monitor_available, improved, monitored_value,
                                      resolve_mode)


class LearningRateScheduler(Callback):
    """Set the optimizer's ``lr`` at the start of each epoch to
    ``schedule(epoch, base_lr)``.

    ``epoch`` counts from 0 and ``base_lr`` is the optimizer's
    ``initial_lr`` (the rate it was built with; its ``lr`` at the start of
    ``fit`` if it has none), as ``nf.fit(..., schedule=...)`` and the
    schedules in ``nf.optim`` (StepLR, CosineLR) take them. (Keras passes
    the current rate instead of the initial one.)

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
        lr = check_float(self.schedule(epoch, self.trainer.base_lr), "schedule(epoch, base_lr)", 0.0)
        self.optimizer.lr = lr
        if self.verbose:
            print(f"LearningRateScheduler: epoch {epoch + 1}: lr {lr:g}", flush=True)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not
    improved for ``patience`` epochs (Keras's rule, with its ``cooldown``
    and ``min_lr``).

    Parameters
    ----------
    monitor : str, default "val_loss"
    factor : float in (0, 1), default 0.1
    patience : int >= 0, default 10
    min_delta : float >= 0, default 1e-4
    mode : {"auto", "min", "max"}
    cooldown : int >= 0, default 0
        Epochs to wait after a cut before counting again.
    min_lr : float >= 0, default 0
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
        self.min_lr = check_float(min_lr, "min_lr", 0.0)
        self.verbose = check_int(verbose, "verbose", 0)
        self.wait = 0
        self.cooldown_counter = 0
        self.best = None

    def on_train_begin(self, logs=None):
        check_monitor_available("ReduceLROnPlateau", self.monitor, self.trainer)
        if not hasattr(self.optimizer, "lr"):
            raise TypeError(f"ReduceLROnPlateau needs an optimizer with an lr attribute; "
                            f"{type(self.optimizer).__name__} has none")

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
            if self.wait >= self.patience:
                old = float(self.optimizer.lr)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    self.optimizer.lr = new
                    if self.verbose:
                        print(f"ReduceLROnPlateau: epoch {epoch + 1}: lr {old:g} -> {new:g}", flush=True)
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def state_dict(self):
        return {"wait": self.wait, "cooldown_counter": self.cooldown_counter, "best": self.best}

    def load_state_dict(self, state):
        self.wait = state["wait"]
        self.cooldown_counter = state["cooldown_counter"]
        self.best = state["best"]
