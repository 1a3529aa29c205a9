"""EarlyStopping: stop when a monitored quantity stops improving."""
from nnfast._validation import check_float, check_int
from nnfast.callbacks.base import Callback
from nnfast.callbacks.monitor import (check_monitor_available, improved, monitored_value,
                                      resolve_mode)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Keras's rule: after each epoch, an improvement (by more than
    ``min_delta``) resets the count; otherwise the count grows, and when it
    reaches ``patience`` training stops.

    Parameters
    ----------
    monitor : str, default "val_loss"
    patience : int >= 0, default 0
        Epochs without improvement before stopping (0: stop at the first).
    min_delta : float >= 0, default 0
    mode : {"auto", "min", "max"}
        "auto": "max" for names with acc, dice, iou, auc or f1, else "min".
    restore_best_weights : bool, default False
        At the end of training, set the parameters to those of the best
        epoch.
    verbose : int, default 0
        1: print a line when stopping.

    Attributes
    ----------
    stopped_epoch : int
        The 1-based epoch after which training stopped (0 if it did not).
    best, best_epoch : float, int
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best_weights=False, verbose=0):
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode)
        self.patience = check_int(patience, "patience", 0)
        self.min_delta = check_float(min_delta, "min_delta", 0.0)
        if not isinstance(restore_best_weights, bool):
            raise TypeError(f"restore_best_weights must be True or False, got {restore_best_weights!r}")
        self.restore_best_weights = restore_best_weights
        self.verbose = check_int(verbose, "verbose", 0)
        self._reset()

    def _reset(self):
        self.wait = 0
        self.best = None
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        check_monitor_available("EarlyStopping", self.monitor, self.trainer)

    def on_epoch_end(self, epoch, logs=None):
        current = monitored_value("EarlyStopping", self.monitor, logs)
        if current is not None and improved(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = current, epoch + 1, 0
            if self.restore_best_weights:
                self.best_weights = [p.value.copy() for p in self.model.parameters()]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch + 1
            self.trainer.stop_training = True
            if self.verbose:
                print(f"EarlyStopping: no improvement of {self.monitor} for {self.wait} epoch(s); "
                      f"stopped after epoch {epoch + 1} (best {self.best} at epoch {self.best_epoch})",
                      flush=True)

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            for p, w in zip(self.model.parameters(), self.best_weights):
                p.value[...] = w

    def state_dict(self):
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self.wait = state["wait"]
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        self.best_weights = state["best_weights"]
