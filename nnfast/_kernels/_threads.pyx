"""The size of nnfast's own OpenMP thread pool, and when to use it.

Every kernel asks ``threads_for(flops)`` how many threads to run: below a
few tens of microseconds of work a fork/join costs more than it saves, so
small calls stay serial.
"""
from nnfast._kernels._openmp cimport NNFAST_OPENMP, omp_get_max_threads

cdef int _n_threads = omp_get_max_threads()

# Work (in floating-point operations) that one extra thread must get before
# waking it pays: libgomp's fork/join costs ~2-5 us here, and one core does
# ~30 GFLOP/s of GEMM, so ~1e5 flops is about the break-even point.
cdef double _FLOPS_PER_THREAD = 1.0e5


cdef int max_threads() noexcept nogil:
    return _n_threads


cdef int threads_for(double flops) noexcept nogil:
    """Threads worth waking for ``flops`` of work: 1 .. max_threads()."""
    cdef int n = <int>(flops / _FLOPS_PER_THREAD)
    if n < 1:
        return 1
    if n > _n_threads:
        return _n_threads
    return n


def set_num_threads(int n):
    """Set the number of OpenMP threads nnfast's kernels may use (n >= 1)."""
    global _n_threads
    _n_threads = n if NNFAST_OPENMP else 1


def get_num_threads():
    """Number of OpenMP threads nnfast's kernels may use."""
    return _n_threads


def openmp_enabled():
    """True if the kernels were compiled with OpenMP."""
    return bool(NNFAST_OPENMP)


def set_flops_per_thread(double flops):
    """Tune the serial cut-off (see ``threads_for``); for benchmarks."""
    global _FLOPS_PER_THREAD
    _FLOPS_PER_THREAD = flops
