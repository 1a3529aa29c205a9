"""The size of nnfast's own OpenMP thread pool, and the one preamble every
kernel runs through.

A kernel describes its call in a struct, asks ``team_size(flops, units)`` how
many threads the work pays for, and hands a per-thread body to
``run_team``, which runs it serially or on an OpenMP team. Below a few tens
of microseconds of work a fork/join costs more than it saves, so small calls
stay serial.
"""
from cython.parallel cimport parallel

from nnfast._kernels._openmp cimport (NNFAST_OPENMP, omp_get_max_threads,
                                      omp_get_num_threads, omp_get_thread_num,
                                      nnfast_fp_enter, nnfast_fp_exit,
                                      nnfast_fp_mode)

cdef int _n_threads = omp_get_max_threads()

# Deterministic mode (nnfast.set_deterministic): 0 off, else every kernel
# splits its work into this many parts whatever the thread count, and the
# threads take the parts in turn. A kernel computes its blocks, per-part
# partial sums and the order it adds them in from (part, parts), so the
# results depend on this number only, never on how many threads ran.
cdef int _parts = 0

# Work (in floating-point operations) that one extra thread must get before
# waking it pays: libgomp's fork/join costs ~2-5 us here, and one core does
# ~30 GFLOP/s of GEMM, so ~1e5 flops is about the break-even point.
cdef double _FLOPS_PER_THREAD = 1.0e5


cdef int max_threads() noexcept nogil:
    """The most parts a kernel may split a call into: the thread count, or
    in deterministic mode the fixed number of parts."""
    return _parts if _parts else _n_threads


cdef int team_size(double flops, Py_ssize_t units) noexcept nogil:
    """Threads worth waking for a call: 1 .. min(max_threads(), units).

    ``flops`` is the call's work in floating-point operations, the unit of
    the serial cut-off (``set_flops_per_thread``). A memory-bound kernel
    counts each element it touches as the flops of equal time (it states
    its factor beside the call: an exp is ~10, a pooling window element
    ~8). ``units`` is the number of independent pieces the kernel can split
    the call into (rows, planes, samples): never more threads than those.
    """
    cdef int limit = max_threads()
    cdef int n = <int>(flops / _FLOPS_PER_THREAD) if flops < 1e18 else limit
    if n > limit:
        n = limit
    if n > units:
        n = <int>units
    return n if n > 1 else 1


cdef void _run_member(team_body body, void *args, int parts) noexcept nogil:
    cdef unsigned int mode = nnfast_fp_enter()
    cdef int t = omp_get_thread_num(), nt = omp_get_num_threads(), part
    if parts == 0:
        body(args, t, nt)
    else:
        part = t
        while part < parts:
            body(args, part, parts)
            part += nt
    nnfast_fp_exit(mode)


cdef void run_team(team_body body, void *args, int nt) noexcept nogil:
    """body(args, t, nt) for t in range(nt): inline when nt <= 1, else on an
    OpenMP team of nt threads (fewer if the runtime gives fewer: the body
    is passed the team's real size).

    In deterministic mode ``nt`` counts parts, not threads (team_size
    planned them): body(args, part, nt) runs for every part, part p on
    thread p % threads, where threads is min(nt, the thread count). Parts
    must not wait for each other (no barriers in a body).

    Every thread flushes denormals for its part and puts its own
    floating-point mode back afterwards (csrc/nnfast_fpu.h): the caller's
    thread leaves the call in the mode it entered it with.
    """
    cdef unsigned int mode
    cdef int threads = nt, parts = 0, part
    if _parts:
        parts = nt
        threads = nt if nt < _n_threads else _n_threads
    if threads <= 1:
        mode = nnfast_fp_enter()
        if parts <= 1:
            body(args, 0, 1)
        else:
            for part in range(parts):
                body(args, part, parts)
        nnfast_fp_exit(mode)
        return
    with parallel(num_threads=threads):
        _run_member(body, args, parts)


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


def set_deterministic_parts(int parts):
    """Deterministic mode with ``parts`` parts per kernel call (>= 1), or
    off with 0 (see ``_parts``); nnfast.set_deterministic calls this."""
    global _parts
    _parts = parts if parts > 0 else 0


def get_deterministic_parts():
    """The fixed number of parts of deterministic mode, 0 when it is off."""
    return _parts


def set_flops_per_thread(double flops):
    """Tune the serial cut-off (see ``team_size``); for benchmarks."""
    global _FLOPS_PER_THREAD
    _FLOPS_PER_THREAD = flops


def fp_mode():
    """The calling thread's floating-point control word, exception flags
    left out (MXCSR on x86, 0 elsewhere): for tests that check a call
    leaves it as it found it."""
    return nnfast_fp_mode()
