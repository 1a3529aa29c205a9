"""Checks at the boundary: every public entry point converts and checks its
arguments here, before any kernel runs, and raises ``ValueError`` or
``TypeError`` naming the argument, what was expected and what came."""
import contextlib
import contextvars
import errno
import math
import numbers
import os
import zipfile

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_F32, _F64 = FLOAT_DTYPES
_DTYPE_OF = {np.float32: _F32, np.float64: _F64, _F32: _F32, _F64: _F64}
INT32_MAX = 2**31 - 1  # BLAS dimensions are C ints (see _kernels/_blas.pxd)
# More epochs (or training iterations) than anyone runs: a count above this
# is a mistake (2**31 typed for "until it converges"), refused rather than
# started as a run that never ends.
MAX_EPOCHS = 10**6


def float_dtype(dtype, name="dtype"):
    """``dtype`` as np.float32 or np.float64; anything else is a TypeError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be np.float32 or np.float64, got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be np.float32 or np.float64, got {dt}")
    return dt.type


def _numeric(x, name):
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as e:
            raise TypeError(f"{name} must be a numeric array, got {type(x).__name__} ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric (int or float) array, got dtype {arr.dtype}")
    return arr


def _native_float(dt):
    """float32/float64 of ``dt``'s size if ``dt`` is one in either byte order."""
    if dt.kind == "f" and dt.itemsize in (4, 8):
        return _F32 if dt.itemsize == 4 else _F64
    return None


def as_float_array(x, name, dtype=None, ndim=None, allow_empty=False, allow_scalar=False,
                   min_ndim=1, contiguous=True):
    """``x`` as a C-contiguous float array, converted at most once.

    Parameters
    ----------
    x : array_like
    name : str
        The argument's name, for error messages.
    dtype : np.float32, np.float64 or None
        Cast to this dtype; None keeps float32/float64 (in either byte
        order, made native) and casts the rest to float32.
    ndim : int, tuple of int, or None
        Allowed ranks.
    allow_empty : bool
        Accept arrays with no elements.
    allow_scalar : bool
        Accept 0-d input (kept 0-d). Otherwise a scalar is refused: a layer
        or a loss given one would otherwise see an array of shape (1,) and
        return a result of another shape than the caller passed.
    min_ndim : int
        Fewest dimensions (with ``ndim`` None), for the message a scalar gets.
    contiguous : bool
        False: an ndarray of the right dtype keeps its strides (for callers
        that read it through a view of their own, e.g. a transpose).
    """
    # Fast path: what layers pass each other (C-contiguous float32/float64
    # arrays of the right rank) goes back unchanged after a few identity
    # tests. Anything else, and every error, takes the full checks below.
    if (type(x) is np.ndarray and (x.flags.c_contiguous or not contiguous)
            and (x.size or allow_empty) and x.ndim):
        xd = x.dtype
        if ((xd is _F32 or xd is _F64) if dtype is None else xd is _DTYPE_OF.get(dtype)) and (
                ndim is None or x.ndim == ndim
                or (not isinstance(ndim, int) and x.ndim in ndim)):
            return x
    arr = _numeric(x, name)
    if arr.ndim == 0 and not allow_scalar and ndim is None:
        dims = "1 dimension" if min_ndim <= 1 else f"{min_ndim} dimensions"
        raise ValueError(f"{name} must be an array with at least {dims}, got a scalar "
                         f"({type(x).__name__}, 0-d, dtype {arr.dtype})")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got shape {arr.shape} ({arr.ndim} dimensions)")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if dtype is None:
        dtype = _native_float(arr.dtype) or _F32
    # np.asarray, not np.ascontiguousarray: that one makes 0-d input 1-d
    return np.asarray(arr, dtype=dtype, order="C" if contiguous else "K")


def check_shape(arr, name, expected):
    """Raise ValueError unless ``arr.shape`` matches ``expected`` (None = any)."""
    if arr.shape == expected:
        return
    if len(arr.shape) != len(expected) or any(
        e is not None and s != e for s, e in zip(arr.shape, expected)
    ):
        want = "(" + ", ".join("N" if e is None else str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")


def check_int(value, name, minimum=None, maximum=None):
    """``value`` as an int within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(value, name, minimum=None, maximum=None, min_inclusive=True,
                max_inclusive=True):
    """``value`` as a finite float within the given bounds."""
    # A plain float skips the numbers.Real check: an ABC isinstance is most
    # of this function's cost, and optimizers check their hyper-parameters
    # on every step in which one changed (scikit-learn's Adam: eps, each step).
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
        try:
            value = float(value)
        except OverflowError:   # an int beyond the float range
            raise ValueError(f"{name} must be finite, got an int of {value.bit_length()} bits") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (value == minimum and not min_inclusive)):
        op = ">=" if min_inclusive else ">"
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (value == maximum and not max_inclusive)):
        op = "<=" if max_inclusive else "<"
        raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def check_labels(target, n_samples, n_classes, name="target"):
    """Class labels as int64 of shape (n_samples,), each in [0, n_classes).

    Accepts integer labels of shape (N,), integral floats, or one-hot rows of
    shape (N, n_classes) (converted by argmax after checking they are one-hot).
    """
    arr = _numeric(target, name)
    if arr.ndim == 2:
        if arr.shape != (n_samples, n_classes):
            raise ValueError(f"{name} (one-hot) must have shape ({n_samples}, {n_classes}), got {arr.shape}")
        ones = arr == 1
        if not (np.all(ones | (arr == 0)) and np.all(ones.sum(axis=1) == 1)):
            raise ValueError(f"{name} of shape {arr.shape} must be one-hot: one 1 per row, 0 elsewhere")
        return np.ascontiguousarray(arr.argmax(axis=1), dtype=np.int64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be class labels of shape ({n_samples},) or one-hot of shape ({n_samples}, {n_classes}), got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} must hold {n_samples} labels (one per sample), got {arr.shape[0]}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise TypeError(f"{name} must be integer class labels, got non-integral values of dtype {arr.dtype}")
    elif arr.dtype.kind == "b":
        raise TypeError(f"{name} must be integer class labels, got dtype bool")
    labels = np.ascontiguousarray(arr, dtype=np.int64)
    if labels.size:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name} labels must be in [0, {n_classes - 1}], got {bad}")
    return labels


def check_classes(pred, name, what):
    """Raise ValueError unless ``pred`` (N, C) has at least 2 classes: with
    one, a loss over classes (``what``) is the same whatever ``pred`` holds
    and its gradient is 0, so training would silently learn nothing."""
    if pred.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 classes (columns) for {what}, got shape "
                         f"{pred.shape}: with one class the loss does not depend on {name}")


def check_bool(value, name, meaning=""):
    """``value`` as a bool (True/False or a NumPy bool), else a TypeError;
    ``meaning``, e.g. " (True: the testing phase, False: training)", follows
    "True or False" in its message."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False{meaning}, got {type(value).__name__} "
                        f"{value!r}")
    return bool(value)


def check_choice(value, name, choices):
    """``value`` if it is one of the strings ``choices``, else ValueError."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_list_of(items, name, what, is_item, item_what):
    """``items`` (any iterable) as a list, every element of which passes
    ``is_item``; else a TypeError naming ``name`` (``what`` it must be a list
    of) or the element ``name[i]`` (``item_what`` it must be)."""
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"{name} must be a list of {what}, got {type(items).__name__}") from None
    for i, item in enumerate(items):
        if not is_item(item):
            raise TypeError(f"{name}[{i}] must be {item_what}, got {type(item).__name__}")
    return items


def check_class_weights(weight, name="weight"):
    """Class weights as a float64 (C,) array of finite non-negative numbers."""
    w = as_float_array(weight, name, np.float64, ndim=1)
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} must hold finite numbers, got {w[~np.isfinite(w)][0]}")
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative, got {w[w < 0][0]}")
    return w


def check_in_range(arr, name, low, high):
    """Raise ValueError unless every element of ``arr`` lies in [low, high] (NaN does not)."""
    inside = (arr >= low) & (arr <= high)
    if not np.all(inside):
        bad = arr.reshape(-1)[np.argmin(inside.reshape(-1))]
        raise ValueError(f"{name} must hold values in [{low}, {high}], got {bad}")


def check_int_pair(value, name, minimum=None, maximum=None):
    """``value`` (an int, or a pair (h, w) of ints) as a tuple (h, w) of ints
    within [minimum, maximum]: for kernel sizes, strides, paddings."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w) of ints, got {value!r}")
        return tuple(check_int(v, name, minimum, maximum) for v in value)
    v = check_int(value, name, minimum, maximum)
    return (v, v)


# -- sizes: refused before anything of that size is allocated ----------------
_allocation_budget = contextvars.ContextVar("nnfast_allocation_budget", default=None)


# Arrays up to this size are never refused: checking them against the
# system would cost more than it could save.
ALWAYS_FITS = 1 << 26


def memory_limit():
    """Bytes one new array may take now: the memory available (free RAM,
    reclaimable cache and free swap), less where the process's address space
    or data segment is limited, and less again inside ``allocation_budget``."""
    limit = _available_memory()
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            limit = min(limit, soft - _address_space_used())
        soft = resource.getrlimit(resource.RLIMIT_DATA)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            limit = min(limit, soft)
    except (ImportError, AttributeError, ValueError, OSError):
        pass
    budget = _allocation_budget.get()
    limit = max(limit, 0)
    return limit if budget is None else min(limit, budget)


def _available_memory():
    """MemAvailable + SwapFree where /proc/meminfo says (Linux), else the
    machine's physical memory, else no limit."""
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        kib = int(fields["MemAvailable"].split()[0]) + int(fields.get("SwapFree", "0 kB").split()[0])
        return kib * 1024
    except (OSError, KeyError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 1 << 62


def _address_space_used():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


@contextlib.contextmanager
def allocation_budget(nbytes):
    """Within the block, ``check_allocation`` refuses any array above
    ``nbytes`` (``nf.load`` builds layers from a file's header with the
    file's own parameter bytes as the budget)."""
    token = _allocation_budget.set(int(nbytes))
    try:
        yield
    finally:
        _allocation_budget.reset(token)


def _size_text(nbytes):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.3g} EiB"


def check_allocation(shape, dtype, name, copies=1):
    """Raise ValueError, before allocating, if an array of ``shape`` and
    ``dtype`` (named ``name`` in the message) needs more than
    ``memory_limit()`` bytes: a size typed or read wrong must be refused at
    once, not fail after minutes of swapping (or bring a shared machine down).
    ``copies``: arrays of that size needed at once (initial weights are
    drawn in float64, then cast). Arrays of at most ``ALWAYS_FITS`` bytes are
    not checked (outside ``allocation_budget``)."""
    count = 1
    for s in shape:
        count *= int(s)
    nbytes = count * np.dtype(dtype).itemsize
    need = nbytes * copies
    if need <= ALWAYS_FITS and _allocation_budget.get() is None:
        return
    limit = memory_limit()
    if need > limit:
        also = f" ({copies} such arrays at once: {_size_text(need)})" if copies > 1 else ""
        raise ValueError(f"{name}: an array of shape {tuple(int(s) for s in shape)} and dtype "
                         f"{np.dtype(dtype).name} would need {_size_text(nbytes)}{also}, more "
                         f"than the {_size_text(limit)} this process can allocate")


# -- files ---------------------------------------------------------------------
def check_readable_file(path, name="path", allow_bytes=False, what="file"):
    """``path`` as a str naming an existing regular file.

    Raises TypeError for what is not a path, FileNotFoundError for a missing
    file, IsADirectoryError for a folder and ValueError for anything else
    that is not a regular file (a FIFO would block the reader for ever).
    """
    kinds = (str, os.PathLike, bytes) if allow_bytes else (str, os.PathLike)
    if not isinstance(path, kinds):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    try:
        text = os.fsdecode(os.fspath(path))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__} ({e})") from None
    if "\0" in text:
        raise ValueError(f"{name} must not contain NUL characters, got {text!r}")
    if not os.path.exists(text):
        raise FileNotFoundError(errno.ENOENT, f"{what} {text!r} does not exist", text)
    if os.path.isdir(text):
        raise IsADirectoryError(errno.EISDIR, f"{what} {text!r} is a directory, not a file", text)
    if not os.path.isfile(text):
        raise ValueError(f"{what} {text!r} is not a regular file")
    return text


def check_npz_members(path, name):
    """Check every .npy member of the .npz archive ``path`` before NumPy
    reads it: its header must declare exactly the bytes the member holds,
    in a dtype without Python objects. NumPy allocates what a header
    declares before it reads, so a crafted header claiming a terabyte in a
    file of a few bytes would otherwise be a MemoryError (or worse, a
    huge allocation that fits). Returns the members' declared bytes.
    Raises ValueError naming the file (``name``) for anything wrong.
    """
    total = 0
    try:
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as f:
                magic = f.read(6)
            # NumPy would read a bare .npy's declared shape in full
            raise ValueError("a bare .npy array, not an .npz archive" if magic == b"\x93NUMPY"
                             else "not a zip archive")
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with z.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    reader = {(1, 0): np.lib.format.read_array_header_1_0,
                              (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                    if reader is None:
                        raise ValueError(f"unsupported .npy format version {version}")
                    shape, _, dtype = reader(member)
                    offset = member.tell()
                if dtype.hasobject:
                    raise ValueError(f"member {info.filename!r} holds Python objects")
                declared = dtype.itemsize
                for s in shape:
                    declared *= s
                if declared != info.file_size - offset:
                    raise ValueError(f"member {info.filename!r} declares shape {shape} of "
                                     f"{dtype} ({declared} bytes) but holds "
                                     f"{info.file_size - offset} bytes")
                # a member cannot hold more than its compressed bytes allow
                # (stored: as many; DEFLATE: at most 1032 times as many)
                ratio = 1 if info.compress_type == zipfile.ZIP_STORED else 1032
                if info.file_size > ratio * info.compress_size + 64:
                    raise ValueError(f"member {info.filename!r} claims {info.file_size} bytes "
                                     f"from {info.compress_size} compressed ones")
                check_allocation(shape, dtype, f"member {info.filename!r}")
                total += declared
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, KeyError, RuntimeError,
            NotImplementedError) as e:
        raise ValueError(f"{name!r} is not a readable nnfast model file (truncated, corrupt or "
                         f"another format): {e}") from None
    return total
