cdef int threads_for(double flops) noexcept nogil
cdef int max_threads() noexcept nogil


cdef inline void split_range(Py_ssize_t n, int t, int nt, Py_ssize_t *lo,
                             Py_ssize_t *hi) noexcept nogil:
    """[lo, hi): thread t's share of range(n), split in nt near-equal blocks.

    Kernels compute the block inside the thread from (t, nt), so that lo and
    hi are the thread's own locals, never shared across threads.
    """
    lo[0] = n * t // nt
    hi[0] = n * (t + 1) // nt
