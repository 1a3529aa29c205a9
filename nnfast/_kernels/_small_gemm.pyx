# distutils: sources = csrc/small_gemm.c csrc/dot_gemm.c csrc/gemm_avx2.c
"""The recurrent kernels' and the convolutions' float32 GEMM: register tiles
in AVX-512 or, on CPUs without it, AVX2, no operand packing
(csrc/small_gemm.h and csrc/gemm_avx2.h say why and what they measured),
and its companion for A @ B.T with both operands' rows along the summed
axis (csrc/dot_gemm.h: the convolutions' weight gradients).

``small_gemm`` returns False when it did not run: this CPU lacks AVX2 and
FMA, or ``set_enabled(False)`` turned it off (the tests run the recurrent
kernels both ways, so that the BLAS path stays tested on every machine).
The caller then calls BLAS. ``set_instruction_set`` picks one of the
instruction sets this CPU has, so that the tests run each of them here.
"""
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

cdef extern from "small_gemm.h" nogil:
    int NNFAST_GEMM_NONE, NNFAST_GEMM_AVX2, NNFAST_GEMM_AVX512
    int nnfast_small_gemm_f32(int isa, int trans_a, int64_t m, int64_t n, int64_t k,
                              const float *a, int64_t lda, const float *b, int64_t ldb,
                              int accumulate, float *c, int64_t ldc)
    int nnfast_small_gemm_rows_f32(int isa, int64_t m, int64_t n, int64_t k, const float *a,
                                   int64_t lda, const float *const *b_rows, int accumulate,
                                   float *c, int64_t ldc)
    int nnfast_gemm_isa()

cdef extern from "dot_gemm.h" nogil:
    int nnfast_dot_gemm_f32(int isa, int64_t m, int64_t n, int64_t k, const float *a,
                            int64_t lda, const float *b, int64_t ldb, int accumulate, float *c,
                            int64_t ldc)
    int nnfast_dot_gemm_rows_f32(int isa, int64_t m, int64_t n, int64_t k,
                                 const float *const *a_rows, const float *b, int64_t ldb,
                                 int accumulate, float *c, int64_t ldc)
    void nnfast_column_sums_f32(int64_t m, int64_t n, const float *a, int64_t lda,
                                float *out)

# Read by every kernel thread, written only by set_enabled and
# set_instruction_set (between calls).
cdef bint _enabled = True
cdef int _isa = nnfast_gemm_isa()

_ISA_NAMES = {NNFAST_GEMM_AVX2: "avx2", NNFAST_GEMM_AVX512: "avx512"}


cdef bint small_gemm(bint trans_a, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                     const float *a, Py_ssize_t lda, const float *b, Py_ssize_t ldb,
                     bint accumulate, float *c, Py_ssize_t ldc) noexcept nogil:
    """c := A @ b (+ c if accumulate), A = a (m, k) or, trans_a, a.T with a
    (k, m); all row-major. False (c untouched) when it cannot run here."""
    if not _enabled:
        return False
    return nnfast_small_gemm_f32(_isa, trans_a, m, n, k, a, lda, b, ldb, accumulate, c,
                                 ldc) != NNFAST_GEMM_NONE


cdef bint small_gemm_rows(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a,
                          Py_ssize_t lda, const float *const *b_rows, bint accumulate,
                          float *c, Py_ssize_t ldc) noexcept nogil:
    """c := a @ B (+ c if accumulate), a (m, k) row-major, row p of B the n
    floats at b_rows[p]. False (c untouched) when it cannot run here."""
    if not _enabled:
        return False
    return nnfast_small_gemm_rows_f32(_isa, m, n, k, a, lda, b_rows, accumulate, c,
                                      ldc) != NNFAST_GEMM_NONE


cdef bint dot_gemm_rows(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *const *a_rows,
                        const float *b, Py_ssize_t ldb, bint accumulate, float *c,
                        Py_ssize_t ldc) noexcept nogil:
    """c := A @ b.T (+ c if accumulate), row i of A the k floats at
    a_rows[i], b (n, k) row-major. False (c untouched) when it cannot run."""
    if not _enabled:
        return False
    return nnfast_dot_gemm_rows_f32(_isa, m, n, k, a_rows, b, ldb, accumulate, c,
                                    ldc) != NNFAST_GEMM_NONE


cdef bint small_gemm_rows_preferred() noexcept nogil:
    """True where the convolutions read their column matrix in place through
    small_gemm_rows: where it runs in the instruction set small_gemm runs in
    (AVX2; on an AVX-512 CPU small_gemm's own tiles there, with im2col)."""
    return _enabled and _isa == NNFAST_GEMM_AVX2


cdef bint dot_gemm(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float *a, Py_ssize_t lda,
                   const float *b, Py_ssize_t ldb, bint accumulate, float *c,
                   Py_ssize_t ldc) noexcept nogil:
    """c := a @ b.T (+ c if accumulate), a (m, k), b (n, k), c (m, n), all
    row-major. False (c untouched) when it cannot run here."""
    if not _enabled:
        return False
    return nnfast_dot_gemm_f32(_isa, m, n, k, a, lda, b, ldb, accumulate, c,
                               ldc) != NNFAST_GEMM_NONE


cdef bint small_gemm_runs() noexcept nogil:
    """True if small_gemm runs here (AVX2 and FMA at least, and enabled)."""
    return _enabled and _isa != NNFAST_GEMM_NONE


cdef void column_sums(Py_ssize_t m, Py_ssize_t n, const float *a, Py_ssize_t lda,
                      float *out) noexcept nogil:
    """out[j] += a[:, j].sum() for an (m, n) block with row stride lda."""
    nnfast_column_sums_f32(m, n, a, lda, out)


cdef bint small_gemm_is_avx512() noexcept nogil:
    """True if small_gemm runs in AVX-512 here (enabled, and the CPU has
    it): the condition of the kernels written in AVX-512 alone."""
    return _enabled and _isa == NNFAST_GEMM_AVX512 and nnfast_gemm_isa() == NNFAST_GEMM_AVX512


def available():
    """True if this CPU runs the register-tile GEMMs (AVX2 and FMA at least)."""
    return nnfast_gemm_isa() != NNFAST_GEMM_NONE


def instruction_sets():
    """The instruction sets the GEMMs can run in on this CPU, best first:
    a tuple of "avx512" and "avx2" (empty where neither runs)."""
    cdef int best = nnfast_gemm_isa()
    names = []
    if best >= NNFAST_GEMM_AVX512:
        names.append("avx512")
    if best >= NNFAST_GEMM_AVX2:
        names.append("avx2")
    return tuple(names)


def instruction_set():
    """The instruction set the GEMMs run in now, or None (BLAS everywhere)."""
    return _ISA_NAMES.get(_isa) if _enabled else None


def set_instruction_set(name):
    """Run the GEMMs in ``name``, one of ``instruction_sets()`` (None: the
    best this CPU has); returns the previous one. For tests and
    measurements: each instruction set's kernels checked on one machine."""
    global _isa
    old = _ISA_NAMES.get(_isa)
    if name is None:
        _isa = nnfast_gemm_isa()
    elif name in instruction_sets():
        _isa = {v: k for k, v in _ISA_NAMES.items()}[name]
    else:
        raise ValueError(f"set_instruction_set: name must be one of {instruction_sets()} "
                         f"or None, got {name!r}")
    return old


def set_enabled(bint flag):
    """Use the register-tile GEMMs where they run (True, the default) or
    BLAS everywhere (False); returns the previous setting."""
    global _enabled
    old = _enabled
    _enabled = flag
    return old


def enabled():
    """True if the kernels use the register-tile GEMMs on this machine."""
    return bool(small_gemm_runs())


def small_gemm_into(const float[:, :] a, const float[:, :] b, float[:, :] c,
                    bint trans_a=False, bint accumulate=False):
    """c := op(a) @ b (+ c if accumulate) through small_gemm, for tests;
    False if it did not run (c untouched). The caller checks the shapes:
    op(a) (m, k), b (k, n), c (m, n). Rows may be strided (views of wider
    arrays) as long as each row is contiguous.
    """
    cdef Py_ssize_t m = c.shape[0], n = c.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    if (a.shape[1] if trans_a else a.shape[0]) != m or b.shape[0] != k or b.shape[1] != n:
        raise ValueError("small_gemm_into: shapes do not match")
    if ((a.shape[1] > 1 and a.strides[1] != sizeof(float))
            or (b.shape[1] > 1 and b.strides[1] != sizeof(float))
            or (c.shape[1] > 1 and c.strides[1] != sizeof(float))):
        raise ValueError("small_gemm_into: rows must be contiguous")
    if m == 0 or n == 0:
        return small_gemm_runs()
    cdef const float *pa = &a[0, 0] if a.shape[0] and a.shape[1] else NULL
    cdef const float *pb = &b[0, 0] if k else NULL
    cdef Py_ssize_t lda = a.strides[0] // sizeof(float), ldb = b.strides[0] // sizeof(float)
    cdef Py_ssize_t ldc = c.strides[0] // sizeof(float)
    cdef bint ran
    with nogil:
        ran = small_gemm(trans_a, m, n, k, pa, lda, pb, ldb, accumulate, &c[0, 0], ldc)
    return ran


def _check_rows(const float[::1] source, offsets, Py_ssize_t width, name):
    """ValueError unless every row source[o : o + width], o in offsets, lies
    inside source (the rows test entries' operand given by its rows)."""
    for p in range(len(offsets)):
        if not 0 <= offsets[p] <= source.shape[0] - width:
            raise ValueError(f"{name}: row {p} at {offsets[p]} leaves the source")


cdef const float **_row_pointers(const float[::1] source, offsets) except NULL:
    """A malloc'ed array of &source[o] for o in offsets (the caller frees it)."""
    cdef Py_ssize_t p, k = len(offsets)
    cdef const float **rows = <const float **>malloc(max(k, 1) * sizeof(float *))
    if rows == NULL:
        raise MemoryError()
    for p in range(k):
        rows[p] = &source[0] + <Py_ssize_t>offsets[p] if source.shape[0] else NULL
    return rows


def small_gemm_rows_into(const float[:, :] a, const float[::1] source, offsets,
                         Py_ssize_t n, float[:, :] c, bint accumulate=False):
    """c := a @ B (+ c if accumulate) through small_gemm_rows, for tests; row
    p of B is source[offsets[p] : offsets[p] + n]. False if it did not run
    (c untouched). a (m, k) with k = len(offsets), c (m, n); rows of a and c
    may be strided as long as each row is contiguous."""
    cdef Py_ssize_t m = c.shape[0], k = len(offsets)
    if a.shape[0] != m or a.shape[1] != k or c.shape[1] != n:
        raise ValueError("small_gemm_rows_into: shapes do not match")
    if ((a.shape[1] > 1 and a.strides[1] != sizeof(float))
            or (c.shape[1] > 1 and c.strides[1] != sizeof(float))):
        raise ValueError("small_gemm_rows_into: rows must be contiguous")
    _check_rows(source, offsets, n, "small_gemm_rows_into")
    if m == 0 or n == 0:
        return small_gemm_rows_preferred() or small_gemm_runs()
    cdef const float **rows = _row_pointers(source, offsets)
    cdef const float *pa = &a[0, 0] if k else NULL
    cdef Py_ssize_t lda = a.strides[0] // sizeof(float), ldc = c.strides[0] // sizeof(float)
    cdef bint ran
    with nogil:
        ran = small_gemm_rows(m, n, k, pa, lda, rows, accumulate, &c[0, 0], ldc)
    free(rows)
    return ran


def dot_gemm_rows_into(const float[::1] source, offsets, Py_ssize_t k,
                       const float[:, :] b, float[:, :] c, bint accumulate=False):
    """c := A @ b.T (+ c if accumulate) through dot_gemm_rows, for tests; row
    i of A is source[offsets[i] : offsets[i] + k]. False if it did not run
    (c untouched). b (n, k), c (len(offsets), n); rows may be strided as
    long as each row is contiguous."""
    cdef Py_ssize_t m = len(offsets), n = c.shape[1]
    if c.shape[0] != m or b.shape[0] != n or b.shape[1] != k:
        raise ValueError("dot_gemm_rows_into: shapes do not match")
    if ((b.shape[1] > 1 and b.strides[1] != sizeof(float))
            or (c.shape[1] > 1 and c.strides[1] != sizeof(float))):
        raise ValueError("dot_gemm_rows_into: rows must be contiguous")
    _check_rows(source, offsets, k, "dot_gemm_rows_into")
    if m == 0 or n == 0:
        return small_gemm_rows_preferred() or small_gemm_runs()
    cdef const float **rows = _row_pointers(source, offsets)
    cdef const float *pb = &b[0, 0] if k else NULL
    cdef Py_ssize_t ldb = b.strides[0] // sizeof(float), ldc = c.strides[0] // sizeof(float)
    cdef bint ran
    with nogil:
        ran = dot_gemm_rows(m, n, k, rows, pb, ldb, accumulate, &c[0, 0], ldc)
    free(rows)
    return ran


def dot_gemm_into(const float[:, :] a, const float[:, :] b, float[:, :] c,
                  bint accumulate=False):
    """c := a @ b.T (+ c if accumulate) through dot_gemm, for tests; False
    if it did not run (c untouched). a (m, k), b (n, k), c (m, n); rows may
    be strided as long as each row is contiguous."""
    cdef Py_ssize_t m = c.shape[0], n = c.shape[1], k = a.shape[1]
    if a.shape[0] != m or b.shape[0] != n or b.shape[1] != k:
        raise ValueError("dot_gemm_into: shapes do not match")
    if ((a.shape[1] > 1 and a.strides[1] != sizeof(float))
            or (b.shape[1] > 1 and b.strides[1] != sizeof(float))
            or (c.shape[1] > 1 and c.strides[1] != sizeof(float))):
        raise ValueError("dot_gemm_into: rows must be contiguous")
    if m == 0 or n == 0:
        return small_gemm_runs()
    cdef const float *pa = &a[0, 0] if k else NULL
    cdef const float *pb = &b[0, 0] if k else NULL
    cdef Py_ssize_t lda = a.strides[0] // sizeof(float), ldb = b.strides[0] // sizeof(float)
    cdef Py_ssize_t ldc = c.strides[0] // sizeof(float)
    cdef bint ran
    with nogil:
        ran = dot_gemm(m, n, k, pa, lda, pb, ldb, accumulate, &c[0, 0], ldc)
    return ran
