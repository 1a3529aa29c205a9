"""What a fuzz case's outcome is, and the checks a case's run makes on results.

Classes (``CLASSES``):

ok
    The calls returned, and every result passed its case's checks (finite
    where the inputs were finite, the right shape and dtype, equal to the
    same call on a C-contiguous copy and on the reference kernels).
expected
    A ``ValueError`` or ``TypeError`` (``OSError`` where the case passed a
    path or a file) whose message names one of the arguments of the call.
wrong-kind
    Any other exception (AttributeError, IndexError, ZeroDivisionError,
    RecursionError, BufferError, MemoryError, ...), a ValueError/TypeError
    that names no argument or comes from a kernel's buffer checks, or an
    error where the case's inputs were all valid.
crash, hang
    The child process running the case died of a signal (or exited), or
    the case ran past the timeout. Decided by the parent (``runner``).
garbage
    A result that failed a check: NaN from finite input, a wrong shape or
    dtype, a value that differs between layouts or backends.
"""
import re

import numpy as np

CLASSES = ("ok", "expected", "wrong-kind", "crash", "hang", "garbage")
BAD_CLASSES = ("crash", "hang", "wrong-kind", "garbage")

# How the messages of Cython's and NumPy's own checks begin: they mean an
# argument reached a kernel (or NumPy's internals) unchecked, whatever words
# follow. Messages of nnfast's checks begin with the argument's name.
_KERNEL_MESSAGES = re.compile(
    r"Buffer dtype mismatch|Buffer has wrong number of dimensions|ndarray is not C-contiguous"
    r"|buffer source array is read-only|Argument '\w+' has incorrect type"
    r"|does not support the buffer interface|Cannot convert .* to memoryview"
    r"|Invalid base type for memoryview|Expected \w+, got \w+|a bytes-like object is required"
    r"|cannot reshape array|could not broadcast|operands could not be broadcast"
    r"|setting an array element with a sequence|Memoryview is not initialized"
    r"|expected non-negative integer|unsupported operand type|'\w+' object is not"
    r"|can't multiply sequence|can only concatenate|must be real number, not"
    r"|invalid literal for|could not convert string")


class Garbage(AssertionError):
    """A result failed one of its case's checks: silently wrong."""


class WrongKind(Exception):
    """Raised by a run for an error of a documented but wrong type (a
    ValueError where a missing file must be FileNotFoundError)."""


class Refused(Exception):
    """Raised by a run where a call that had to succeed raised: the case's
    inputs were valid (``detail`` says which call and what it raised)."""


def names_argument(message, names):
    """True if ``message`` holds one of ``names`` as a whole word."""
    for name in names:
        if name and re.search(r"(?<![\w])" + re.escape(str(name)) + r"(?![\w])", message):
            return True
    return False


def classify_exception(exc, names, allowed=(), paths=False):
    """(class, detail) of an exception a case's call raised.

    Parameters
    ----------
    exc : BaseException
    names : iterable of str
        The arguments (and entry-point words) an expected error may name.
    allowed : tuple of exception types
        Documented errors of this entry point beyond ValueError/TypeError
        (FloatingPointError for ``fit``, AssertionError for ``gradcheck``).
    paths : bool
        The case passed a path or a file: OSError is an expected error too.
    """
    message = str(exc)
    kind = type(exc).__name__
    detail = f"{kind}: {message[:300]}"
    if isinstance(exc, Refused):
        return "wrong-kind", f"refused a valid input: {message[:300]}"
    if isinstance(exc, WrongKind):
        return "wrong-kind", message[:400]
    if isinstance(exc, Garbage):
        return "garbage", message[:400]
    if allowed and isinstance(exc, allowed):
        return "expected", detail
    if isinstance(exc, (ValueError, TypeError)):
        if _KERNEL_MESSAGES.match(message):
            return "wrong-kind", "kernel-level " + detail
        if names_argument(message, names):
            return "expected", detail
        return "wrong-kind", "names no argument: " + detail
    if paths and isinstance(exc, OSError) and not isinstance(exc, (BlockingIOError,)):
        return "expected", detail
    return "wrong-kind", detail


# -- checks a run makes on results ------------------------------------------
def check_array(value, what, shape=None, dtype=None, finite=False, no_nan=False):
    """Raise Garbage unless ``value`` is an ndarray of ``shape`` and ``dtype``
    (None: any), finite (``finite``) or NaN-free (``no_nan``)."""
    if not isinstance(value, np.ndarray):
        raise Garbage(f"{what}: expected an ndarray, got {type(value).__name__}")
    if shape is not None and value.shape != tuple(shape):
        raise Garbage(f"{what}: expected shape {tuple(shape)}, got {value.shape}")
    if dtype is not None and value.dtype != np.dtype(dtype):
        raise Garbage(f"{what}: expected dtype {np.dtype(dtype)}, got {value.dtype}")
    if value.dtype.kind == "f":
        if finite and not np.all(np.isfinite(value)):
            raise Garbage(f"{what}: non-finite values from finite input "
                          f"({int(np.sum(~np.isfinite(value)))} of {value.size})")
        if no_nan and np.any(np.isnan(value)):
            raise Garbage(f"{what}: NaN from input without NaN "
                          f"({int(np.sum(np.isnan(value)))} of {value.size})")
    return value


def check_float(value, what, finite=False, no_nan=False):
    """Raise Garbage unless ``value`` is a Python float (finite / NaN-free)."""
    if type(value) is not float:
        raise Garbage(f"{what}: expected a Python float, got {type(value).__name__}")
    if finite and not np.isfinite(value):
        raise Garbage(f"{what}: {value} from finite input")
    if no_nan and value != value:
        raise Garbage(f"{what}: NaN from input without NaN")
    return value


def check_equal(actual, expected, what, rtol=0.0, atol=0.0):
    """Raise Garbage unless the two arrays (or floats) agree: bit for bit by
    default, NaN equal to NaN."""
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        raise Garbage(f"{what}: shapes differ, {a.shape} vs {e.shape}")
    if rtol == 0.0 and atol == 0.0:
        same = (a == e) | (np.isnan(a) & np.isnan(e)) if a.dtype.kind == "f" else a == e
    else:
        with np.errstate(all="ignore"):
            same = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if not np.all(same):
        bad = np.argmin(np.reshape(same, -1))
        raise Garbage(f"{what}: differs at flat index {bad}: {np.reshape(a, -1)[bad]!r} vs "
                      f"{np.reshape(e, -1)[bad]!r} ({int(np.sum(~np.asarray(same)))} of {a.size})")


def expect(call, valid, what):
    """``call()`` with what its inputs demand.

    valid True: it must return; a ValueError/TypeError/OSError becomes
    ``Refused`` (any other exception is wrong-kind anyway and goes on as it
    is). valid False: it must raise; returning is garbage (a bad input
    accepted). valid None: either.
    """
    try:
        result = call()
    except (ValueError, TypeError, OSError) as e:
        if valid and not isinstance(e, Garbage):
            raise Refused(f"{what}: {type(e).__name__}: {str(e)[:300]}") from e
        raise
    if valid is False:
        raise Garbage(f"{what}: accepted an invalid input and returned "
                      f"{_short(result)}")
    return result


def expect_file_not_found(call, what):
    """``call()`` on a path that does not exist must raise FileNotFoundError
    (raised on, as the expected refusal); any other exception is wrong-kind
    and returning is garbage."""
    try:
        call()
    except FileNotFoundError:
        raise
    except Exception as e:
        raise WrongKind(f"{what} of a missing file raised {type(e).__name__}, not "
                        f"FileNotFoundError: {e}") from e
    raise Garbage(f"{what} of a missing file returned")


def _short(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text[:120] + ("..." if len(text) > 120 else "")
