"""Training checkpoints: what ``fit(..., resume_from=path)`` needs to continue
as if it had never stopped.

Beside the model and the optimizer's state (``nnfast.io``), a checkpoint
keeps: the number of epochs done and the total asked for, the History so
far, the state of the generator that shuffles the batches, of ``nf.seed``'s
generator and of any generator a layer owns (Dropout(rng=seed)), the
DataLoader's seed, and each callback's ``state_dict()``. Learning-rate
schedules are functions of the epoch, so the epoch is their position.
"""
import sys
import warnings

import numpy as np

from nnfast import _random, io
from nnfast.convert import _layers
from nnfast.training.history import History


def _generators(model):
    """(key, Generator) for every numpy Generator a layer of ``model`` holds."""
    out = []
    for i, layer in enumerate(_layers(model)):
        for attr, value in sorted(vars(layer).items()):
            if isinstance(value, np.random.Generator):
                out.append((f"{i}:{type(layer).__name__}.{attr}", value))
    return out


def training_state(trainer):
    """The training state of ``trainer`` after its current epoch."""
    return {
        "epoch": trainer.epoch + 1,
        "epochs": trainer.epochs,
        "history": trainer.history.as_dict(),
        "shuffle_rng": trainer.rng.bit_generator.state,
        "global_rng": _random.get_rng().bit_generator.state,
        "layer_rngs": {key: g.bit_generator.state for key, g in _generators(trainer.model)},
        "data": trainer.source.state_dict(),
        "callbacks": [[type(c).__name__, c.state_dict()] for c in trainer.callbacks],
    }


def _unwrapped(optimizer):
    """The optimizer whose state a checkpoint holds: a DistributedOptimizer's
    wrapped one (fit(distributed=True)'s; the wrapper has no state of its own
    that outlives a step). Looked up only where nnfast.distributed is loaded."""
    module = sys.modules.get("nnfast.distributed.optimizer")
    if module is not None and isinstance(optimizer, module.DistributedOptimizer):
        return optimizer.optimizer
    return optimizer


def save_checkpoint(trainer, path, include_optimizer=True):
    optimizer = _unwrapped(trainer.optimizer) if include_optimizer else None
    if optimizer is not None and not callable(getattr(optimizer, "state_dict", None)):
        optimizer = None   # not an nnfast optimizer: nothing to keep
    io.save(trainer.model, path, optimizer=optimizer, training=training_state(trainer))


def restore(trainer, path):
    """Load the checkpoint at ``path`` into ``trainer``; returns the number
    of epochs it had done."""
    optimizer = _unwrapped(trainer.optimizer)
    optimizer = optimizer if callable(getattr(optimizer, "load_state_dict", None)) else None
    state = io.read_training_state(path, trainer.model, optimizer)
    try:
        done = int(state["epoch"])
        history = History.from_dict(state["history"])
        _set_generator(trainer.rng, state["shuffle_rng"], "the shuffling generator")
        _set_generator(_random.get_rng(), state["global_rng"], "nf.seed's generator")
        layer_rngs = dict(_generators(trainer.model))
        for key, saved in state["layer_rngs"].items():
            if key in layer_rngs:
                _set_generator(layer_rngs[key], saved, key)
        trainer.source.load_state_dict(state["data"])
        saved_callbacks = state["callbacks"]
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path!r}: corrupt training state ({e})") from None
    if not state["optimizer_restored"] and callable(getattr(trainer.optimizer, "state_dict", None)):
        warnings.warn(f"{path!r} holds no optimizer state: the optimizer's state (momentum, moments, "
                      "step counts) starts afresh", stacklevel=3)
    ours = [(type(c).__name__, c) for c in trainer.callbacks]
    for i, (name, c) in enumerate(ours):
        if i < len(saved_callbacks) and saved_callbacks[i][0] == name:
            c.load_state_dict(saved_callbacks[i][1])
    trainer.history = history
    return done


def _set_generator(generator, state, what):
    if not isinstance(state, dict) or state.get("bit_generator") != type(generator.bit_generator).__name__:
        raise ValueError(f"{what} was a {state.get('bit_generator') if isinstance(state, dict) else None} "
                         f"generator, this one is {type(generator.bit_generator).__name__}")
    generator.bit_generator.state = state
