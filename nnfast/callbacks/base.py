"""The callback interface of ``nf.fit``, and the list that runs callbacks."""
from nnfast._validation import check_list_of


class Callback:
    """Base class of ``fit(..., callbacks=[...])``: override the hooks you need.

    ``fit`` calls, in this order::

        on_train_begin(logs)
        for each epoch (0-based):
            on_epoch_begin(epoch, logs)
            on_batch_end(batch, logs)        after each optimizer step
            on_epoch_end(epoch, logs)        after validation
            on_checkpoint(epoch, logs)       after every callback's on_epoch_end
        on_train_end(logs)                   (not after an exception)

    Epoch logs hold ``loss``, ``accuracy`` (where it applies), the other
    metrics, ``val_`` versions with validation data, ``lr``, ``seconds``
    and ``samples_per_second``; batch logs hold ``loss`` and ``size``.

    While ``fit`` runs, ``self.trainer`` is its ``Trainer``: ``model``,
    ``optimizer``, ``loss``, ``history``, ``epoch``, ``epochs``; set
    ``self.trainer.stop_training = True`` to end training after the current
    epoch; ``self.trainer.save_checkpoint(path)`` writes everything a resumed
    ``fit`` needs. ``self.model`` and ``self.optimizer`` are shortcuts.

    A callback with state that matters for resuming (a patience counter, a
    best value) returns it from ``state_dict()`` (numbers, strings, lists,
    dicts, arrays) and takes it back in ``load_state_dict(state)``; the
    checkpoints that ``ModelCheckpoint`` writes keep it.

    Under ``fit(..., distributed=True)`` a callback whose class sets
    ``root_only = True`` (those that write files or print: ModelCheckpoint,
    CSVLogger, TensorBoard) runs on rank 0 alone; the others (the default,
    False: EarlyStopping, ReduceLROnPlateau, LearningRateScheduler, your
    own) run on every rank, and since the epoch logs are reduced over the
    ranks they decide alike there.
    """

    trainer = None
    root_only = False

    def set_trainer(self, trainer):
        self.trainer = trainer

    @property
    def model(self):
        return None if self.trainer is None else self.trainer.model

    @property
    def optimizer(self):
        return None if self.trainer is None else self.trainer.optimizer

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_checkpoint(self, epoch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                         if not k.startswith("_") and k != "trainer")
        return f"{type(self).__name__}({args})"


class LambdaCallback(Callback):
    """A callback from plain functions, e.g.
    ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))``.

    Each argument is None or a function taking the hook's arguments.
    """

    HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
             "on_checkpoint", "on_batch_end")

    def __init__(self, **functions):
        for name, f in functions.items():
            if name not in self.HOOKS:
                raise TypeError(f"LambdaCallback takes {', '.join(self.HOOKS)}; got {name!r}")
            if f is not None and not callable(f):
                raise TypeError(f"{name} must be callable, got {type(f).__name__}")
            if f is not None:
                setattr(self, name, f)


class CallbackList:
    """Runs a list of callbacks; ``on_batch_end`` only for those that define it.

    ``is_root`` False (a rank other than 0 of a distributed fit): the
    callbacks with ``root_only`` are kept (iterating gives all of them, so
    that a checkpoint's callback states match by position on every rank)
    but never called.
    """

    def __init__(self, callbacks, trainer, is_root=True):
        self.all = list(callbacks)
        for c in self.all:
            c.set_trainer(trainer)
        self.callbacks = [c for c in self.all if is_root or not c.root_only]
        self.batch_callbacks = [c for c in self.callbacks if _overrides(c, "on_batch_end")]

    def __iter__(self):
        return iter(self.all)

    def on_train_begin(self, logs):
        for c in self.callbacks:
            c.on_train_begin(logs)

    def on_train_end(self, logs):
        for c in self.callbacks:
            c.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs):
        for c in self.callbacks:
            c.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs):
        for c in self.callbacks:
            c.on_epoch_end(epoch, logs)
        for c in self.callbacks:
            c.on_checkpoint(epoch, logs)

    def on_batch_end(self, batch, logs):
        for c in self.batch_callbacks:
            c.on_batch_end(batch, logs)


def _overrides(callback, name):
    if name in vars(callback):   # LambdaCallback's functions
        return True
    return getattr(type(callback), name) is not getattr(Callback, name)


def check_callbacks(callbacks):
    """``callbacks`` as a list of Callback objects."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    return check_list_of(callbacks, "callbacks", "nf.callbacks.Callback objects",
                         lambda c: isinstance(c, Callback), "an nf.callbacks.Callback")
