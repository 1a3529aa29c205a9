"""Threads: one pool, ours.

nnfast's kernels parallelise with their own OpenMP threads and call BLAS
(scipy's, through ``scipy.linalg.cython_blas``) from inside them, so that BLAS
must run single-threaded: letting its threads and ours both spin cost ~10 ms
per call where ~17 us was possible (../DESIGN.md, "Threads"). The limit is set
once, at import, never per call (threadpoolctl costs ~670 us a call).
"""
import os
import numbers

import numpy as np
from threadpoolctl import ThreadpoolController

from nnfast import _backend


class _SerialThreads:
    """Stands in for the compiled thread pool where the compiled kernels did
    not import: the reference kernels run NumPy, which threads itself."""

    _n = 1

    def set_num_threads(self, n):
        self._n = n

    def get_num_threads(self):
        return self._n

    def openmp_enabled(self):
        return False


def _pool():
    if _backend.fast_available():
        from nnfast._kernels import _threads
        return _threads
    return _SERIAL


_SERIAL = _SerialThreads()

_blas_limited = []


def _scipy_blas_controllers():
    """threadpoolctl controllers of the BLAS that cython_blas calls.

    NumPy and SciPy wheels each bundle their own OpenBLAS; only SciPy's is
    ours to limit, so that NumPy (and the reference kernels) keep theirs.
    Where both share one system BLAS, limiting it limits NumPy too.
    """
    import scipy.linalg.cython_blas  # noqa: F401  (loads scipy's BLAS)

    numpy_dir = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    numpy_own = (os.path.join(numpy_dir, "numpy.libs"),
                 os.path.join(numpy_dir, "numpy") + os.sep)
    blas = ThreadpoolController().select(user_api="blas")
    mine = [lib for lib in blas.lib_controllers
            if not os.path.abspath(lib.filepath).startswith(numpy_own)]
    return mine or blas.lib_controllers


def limit_blas_threads():
    """Make the BLAS that nnfast's kernels call single-threaded (idempotent)."""
    if _blas_limited:
        return
    for lib in _scipy_blas_controllers():
        lib.set_num_threads(1)
    _blas_limited.append(True)


def set_num_threads(n):
    """Set how many OpenMP threads nnfast's kernels may use.

    Parameters
    ----------
    n : int >= 1
        Threads for nnfast's own parallel loops. The BLAS nnfast calls stays
        single-threaded whatever ``n`` is: each of our threads runs the GEMM
        of its own block.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an int >= 1, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"n must be an int >= 1, got {n}")
    limit_blas_threads()
    _pool().set_num_threads(int(min(n, 1 << 16)))


def get_num_threads():
    """Number of OpenMP threads nnfast's kernels may use."""
    return _pool().get_num_threads()


def openmp_enabled():
    """True if nnfast's kernels were built with OpenMP."""
    return _pool().openmp_enabled()


# Parts per kernel call in deterministic mode. Results depend on this
# number, never on the thread count; more parts than threads cost some
# speed (smaller GEMM blocks, more partial sums), fewer parts than threads
# leave threads idle. See README, "Deterministic mode", for the cost.
DETERMINISTIC_PARTS = 4


def set_deterministic(enabled=True, parts=None):
    """Make training bitwise reproducible across runs and thread counts.

    On: every compiled kernel splits its work into ``parts`` fixed parts
    (default ``DETERMINISTIC_PARTS``) whatever ``set_num_threads`` says, and
    adds partial sums in a fixed order, so the same seed, data and model give
    the same bits at 1 thread and at 16. At most ``parts`` threads work on a
    call. Off (the default): each call uses as many threads as pay, and
    sums of partial results (weight gradients, losses) may differ in the
    last bits between thread counts.

    Parameters
    ----------
    enabled : bool
    parts : int >= 1, optional
    """
    if not isinstance(enabled, (bool, np.bool_)):
        raise TypeError(f"enabled must be True or False, got {type(enabled).__name__} {enabled!r}")
    if parts is None:
        parts = DETERMINISTIC_PARTS
    if isinstance(parts, bool) or not isinstance(parts, numbers.Integral):
        raise TypeError(f"parts must be an int >= 1, got {type(parts).__name__} {parts!r}")
    if not 1 <= parts <= 1024:
        raise ValueError(f"parts must be an int from 1 to 1024, got {parts}")
    pool = _pool()
    if hasattr(pool, "set_deterministic_parts"):
        pool.set_deterministic_parts(int(parts) if enabled else 0)
    _deterministic[0] = bool(enabled)


def get_deterministic():
    """True if deterministic mode is on (see ``set_deterministic``)."""
    return _deterministic[0]


_deterministic = [False]
