"""Which kernel set the layers call: "fast" (compiled) or "reference" (NumPy)."""
import contextlib
import importlib

BACKENDS = ("fast", "reference")
_MODULES = {"fast": "nnfast._kernels", "reference": "nnfast.reference"}
_kernels = {}
_current = "fast"


def _load(name):
    if name not in _kernels:
        _kernels[name] = importlib.import_module(_MODULES[name])
    return _kernels[name]


def _check_name(name):
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")


def set_backend(name):
    """Make ``name`` ("fast" or "reference") the kernel set every layer calls."""
    global _current
    _check_name(name)
    _load(name)
    _current = name


def get_backend():
    """Name of the active kernel set: "fast" or "reference"."""
    return _current


@contextlib.contextmanager
def use_backend(name):
    """Context manager: run the block with kernel set ``name``, then restore."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def kernels():
    """The active kernel module (``nnfast._kernels`` or ``nnfast.reference``)."""
    return _kernels.get(_current) or _load(_current)
