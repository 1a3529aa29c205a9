"""Which kernel set the layers call: "fast" (compiled) or "reference" (NumPy).

The compiled kernels are optional at run time: if ``nnfast._kernels`` does
not import (not built, built for another Python, a missing shared library),
``import nnfast`` warns once, naming the cause and how to build, and every
layer runs on the reference kernels, which need only NumPy.
"""
import contextlib
import importlib
import warnings

BACKENDS = ("fast", "reference")
_MODULES = {"fast": "nnfast._kernels", "reference": "nnfast.reference"}
_kernels = {}
_fast_error = []   # the ImportError of the compiled kernels, if they failed


def _try_fast():
    """Import the compiled kernels once; on failure keep the error."""
    if "fast" in _kernels or _fast_error:
        return "fast" in _kernels
    try:
        _kernels["fast"] = importlib.import_module(_MODULES["fast"])
    except ImportError as e:
        _fast_error.append(e)
        warnings.warn(
            f"nnfast: the compiled kernels failed to import ({type(e).__name__}: {e}); "
            "running on the NumPy reference kernels, which are much slower. Build the "
            "compiled ones with `pip install .` from a source checkout (a C compiler "
            "is needed) or install a wheel for this platform.",
            RuntimeWarning, stacklevel=3)
        return False
    return True


def fast_available():
    """True if the compiled kernels imported."""
    return _try_fast()


def fast_import_error():
    """The ImportError the compiled kernels failed with, or None."""
    _try_fast()
    return _fast_error[0] if _fast_error else None


def _load(name):
    if name == "fast":
        if not _try_fast():
            raise RuntimeError(
                "nnfast: the 'fast' backend is not available: the compiled kernels "
                f"failed to import ({_fast_error[0]}). Build them with `pip install .`; "
                "until then use set_backend('reference').")
    elif name not in _kernels:
        _kernels[name] = importlib.import_module(_MODULES[name])
    return _kernels[name]


_current = "fast" if _try_fast() else "reference"


def _check_name(name):
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")


def set_backend(name):
    """Make ``name`` ("fast" or "reference") the kernel set every layer calls.

    Raises RuntimeError for "fast" where the compiled kernels did not import.
    """
    global _current
    _check_name(name)
    name = str(name)    # a NumPy string: kept as the str it equals
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
