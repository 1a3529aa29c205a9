"""ModelCheckpoint: write the model (and what resuming needs) after epochs."""
import os

from nnfast._validation import check_int
from nnfast.callbacks.base import Callback
from nnfast.callbacks.monitor import (check_monitor_available, improved, monitored_value,
                                      resolve_mode)


class ModelCheckpoint(Callback):
    """Save a checkpoint after each epoch, or only when ``monitor`` improved.

    A checkpoint is the versioned .npz of ``model.save`` (``nf.load`` reads
    the model back) plus, by default, everything ``fit(...,
    resume_from=path)`` needs to continue as if it had never stopped: the
    optimizer's state (momentum buffers, Adam moments, step counts), the
    number of epochs done, the History so far, the shuffling generator's
    state, the DataLoader's seed and the callbacks' own state.

    Parameters
    ----------
    path : str or os.PathLike
        May hold ``{epoch}`` (1-based) and logged values, formatted as by
        ``str.format``: ``"ckpt-{epoch:03d}-{val_loss:.3f}.npz"``.
    monitor : str, default "val_loss"
        Used with ``save_best_only``.
    save_best_only : bool, default False
    mode : {"auto", "min", "max"}
    include_optimizer : bool, default True
        False writes the model alone (resuming then restarts the optimizer's
        state; fit warns).
    verbose : int, default 0
        1: print a line per file written.

    Attributes
    ----------
    best : float or None
    last_path : str or None
        The file written last.
    """

    root_only = True    # writes files: rank 0 alone under fit(distributed=True)

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto",
                 include_optimizer=True, verbose=0):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
        self.path = os.fspath(path)
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode)
        for name, value in (("save_best_only", save_best_only), ("include_optimizer", include_optimizer)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        self.save_best_only = save_best_only
        self.include_optimizer = include_optimizer
        self.verbose = check_int(verbose, "verbose", 0)
        self.best = None
        self.last_path = None
        self._due = False

    def on_train_begin(self, logs=None):
        if self.save_best_only:
            check_monitor_available("ModelCheckpoint", self.monitor, self.trainer)
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise ValueError(f"ModelCheckpoint: directory {directory!r} does not exist")

    def on_epoch_end(self, epoch, logs=None):
        self._due = True
        if self.save_best_only:
            current = monitored_value("ModelCheckpoint", self.monitor, logs)
            self._due = current is not None and improved(current, self.best, self.mode)
            if self._due:
                self.best = current

    def on_checkpoint(self, epoch, logs=None):
        # after every callback's on_epoch_end: their state is this epoch's
        if not self._due:
            return
        self._due = False
        try:
            path = self.path.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint: cannot fill in path {self.path!r} from epoch and "
                             f"the logs ({', '.join(sorted(logs))}): {e}") from None
        self.trainer.save_checkpoint(path, include_optimizer=self.include_optimizer)
        self.last_path = path
        if self.verbose:
            print(f"ModelCheckpoint: epoch {epoch + 1}: wrote {path}", flush=True)

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]
