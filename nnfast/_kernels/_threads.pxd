# The one preamble every kernel uses: how many threads (team_size), then the
# serial or the parallel path with the floating-point mode set for the
# kernel's duration only (run_team). See _threads.pyx.

# A kernel's per-thread work: thread t of nt does its share of the call
# described by args (a struct of the kernel's own). Called once per thread.
ctypedef void (*team_body)(void *args, int t, int nt) noexcept nogil

cdef int team_size(double flops, Py_ssize_t units) noexcept nogil
cdef void run_team(team_body body, void *args, int nt) noexcept nogil
cdef int max_threads() noexcept nogil


cdef inline void split_range(Py_ssize_t n, int t, int nt, Py_ssize_t *lo,
                             Py_ssize_t *hi) noexcept nogil:
    """[lo, hi): thread t's share of range(n), split in nt near-equal blocks.

    Kernels compute the block inside the thread from (t, nt), so that lo and
    hi are the thread's own locals, never shared across threads.
    """
    lo[0] = n * t // nt
    hi[0] = n * (t + 1) // nt


cdef inline void split_columns(Py_ssize_t n, int t, int nt, Py_ssize_t itemsize,
                               Py_ssize_t *lo, Py_ssize_t *hi) noexcept nogil:
    """split_range for a block of columns of a row-major matrix: the block
    edges fall on multiples of a 64-byte cache line (when n allows), so that
    no line of a row is written by two threads (split_range cut rows of 784
    floats at 392, mid-line). On mlp-wide's 784-input weight gradient this
    measured no faster (435 against 442 us on 2 threads); it costs nothing."""
    cdef Py_ssize_t step = 64 // itemsize if itemsize < 64 else 1
    cdef Py_ssize_t blocks = (n + step - 1) // step
    lo[0] = min(n, (blocks * t // nt) * step)
    hi[0] = min(n, (blocks * (t + 1) // nt) * step)


# A body written once over ``floating``: part(first, args, t, nt) is thread
# t's share of the call args, with first the call's leading array as float or
# double. A call struct that runs through typed_body starts with a TypedPart
# (C lets a pointer to a struct stand for a pointer to its first member), so
# one dispatcher serves every kernel instead of an if/else per kernel.
ctypedef void (*float_part)(float *first, void *args, int t, int nt) noexcept nogil
ctypedef void (*double_part)(double *first, void *args, int t, int nt) noexcept nogil


cdef struct TypedPart:
    float_part f32
    double_part f64
    void *first
    bint is_double


cdef inline void typed_body(void *args, int t, int nt) noexcept nogil:
    """The team_body of a call struct that starts with a TypedPart: its f32
    or f64 part, as is_double says."""
    cdef TypedPart *head = <TypedPart *>args
    if head.is_double:
        head.f64(<double *>head.first, args, t, nt)
    else:
        head.f32(<float *>head.first, args, t, nt)


cdef inline void run_part(TypedPart *head, float_part f32, double_part f64,
                          const void *first, int nt) noexcept nogil:
    """run_team(typed_body, ...) on the call that head starts, pointed at a
    part (its float and double specialisations) and its first array;
    head.is_double stays as the call set it."""
    head.f32, head.f64, head.first = f32, f64, <void *>first
    run_team(typed_body, head, nt)
