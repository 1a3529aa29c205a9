"""Inference mode: a property of the calling thread, not of the model.

``predict`` and ``evaluate`` used to switch the model to eval mode and back;
two threads doing that at once interleave (each restores what it saw), and
a model could be left in eval mode, its Dropout off in later training.
Inside ``inference_mode()`` every layer's ``training`` reads False on this
thread only (``Layer.training`` is a property), and the flag the model was
given by ``train()``/``eval()`` is never touched.
"""
import contextlib
import threading

_local = threading.local()


def is_inference():
    """True inside ``inference_mode()`` on the calling thread."""
    return getattr(_local, "depth", 0) > 0


@contextlib.contextmanager
def inference_mode():
    """Run the block as in eval mode (Dropout off, running statistics used),
    for this thread only."""
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1
