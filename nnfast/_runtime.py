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

from nnfast._kernels import _threads

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
    _threads.set_num_threads(int(min(n, 1 << 16)))


def get_num_threads():
    """Number of OpenMP threads nnfast's kernels may use."""
    return _threads.get_num_threads()


def openmp_enabled():
    """True if nnfast's kernels were built with OpenMP."""
    return _threads.openmp_enabled()
