"""The joins of networks that are not a line (Concat, Add, SkipConnection):
a block copy into a slice of the output's rows, and an element-wise sum.

Arrays are 2-D (rows, width) views whose rows are contiguous (any row
stride; the element stride must be the item size, which the layers
guarantee and these kernels trust): the layers reshape (N, C, *spatial)
along their join axis to
(prod(shape[:axis]), shape[axis] * prod(shape[axis + 1:])), so one call
copies or adds every row. Threads split the rows (or, with fewer rows than
threads, each row) into one block each when the arrays are large enough.
"""
from cython cimport floating
from libc.string cimport memcpy

from nnfast._kernels._threads cimport TypedPart, run_part, split_range, team_size


cdef struct JoinCall:
    # One call's arguments, shared read-only by its threads (the first
    # array, a, is the part's): float or double as ``part.is_double`` says,
    # each with its row stride in elements.
    TypedPart part
    const void *b
    void *out
    Py_ssize_t rows, width, lda, ldb, ldo
    bint relu, add


cdef void _join_part(floating *a, void *args, int t, int nt) noexcept nogil:
    """Thread t's block of the flattened (rows, width) index range."""
    cdef JoinCall *c = <JoinCall *>args
    cdef const floating *b = <const floating *>c.b
    cdef floating *out = <floating *>c.out
    cdef Py_ssize_t lo, hi, i, r, j0, j1, j
    cdef const floating *ar
    cdef const floating *br
    cdef floating *orow
    split_range(c.rows * c.width, t, nt, &lo, &hi)
    i = lo
    while i < hi:
        r = i // c.width
        j0 = i - r * c.width
        j1 = min(c.width, j0 + (hi - i))
        ar = a + r * c.lda
        orow = out + r * c.ldo
        if not c.add:
            memcpy(orow + j0, ar + j0, (j1 - j0) * sizeof(floating))
        else:
            br = b + r * c.ldb
            if c.relu:
                for j in range(j0, j1):
                    # NaN stays NaN, as the ReLU kernel keeps it
                    orow[j] = ar[j] + br[j]
                    if orow[j] < 0:
                        orow[j] = 0
            else:
                for j in range(j0, j1):
                    orow[j] = ar[j] + br[j]
        i += j1 - j0


def concat_forward(const floating[:, :] x, Py_ssize_t offset, floating[:, :] out):
    """out[:, offset:offset + width] := x, one input's share of a
    concatenation.

    Parameters
    ----------
    x : ndarray of shape (rows, width), rows contiguous            # IN
    offset : int, 0 <= offset <= out's width - width
    out : ndarray of shape (rows, >= offset + width), rows contiguous  # OUT (that slice)
    """
    cdef JoinCall c
    c.rows, c.width = x.shape[0], x.shape[1]
    if c.rows == 0 or c.width == 0:
        return
    c.b, c.out = NULL, &out[0, offset]
    c.lda, c.ldb, c.ldo = x.strides[0] // sizeof(floating), 0, out.strides[0] // sizeof(floating)
    c.relu, c.add, c.part.is_double = False, False, floating is double
    # work: a copy, counted as one operation per element
    cdef int nt = team_size(1.0 * c.rows * c.width, c.rows * c.width)
    with nogil:
        run_part(&c.part, _join_part[float], _join_part[double], &x[0, 0], nt)


def add_forward(const floating[:, :] a, const floating[:, :] b, bint relu,
                floating[:, :] out):
    """out := a + b, then max(that, 0) if relu (a ReLU after a residual sum).

    Parameters
    ----------
    a, b : ndarrays of shape (rows, width), rows contiguous        # IN
    relu : bool
    out : ndarray of shape (rows, width), rows contiguous           # OUT (may be a or b)
    """
    cdef JoinCall c
    c.rows, c.width = a.shape[0], a.shape[1]
    if c.rows == 0 or c.width == 0:
        return
    c.b, c.out = &b[0, 0], &out[0, 0]
    c.lda, c.ldb = a.strides[0] // sizeof(floating), b.strides[0] // sizeof(floating)
    c.ldo = out.strides[0] // sizeof(floating)
    c.relu, c.add, c.part.is_double = relu, True, floating is double
    cdef int nt = team_size(1.0 * c.rows * c.width, c.rows * c.width)
    with nogil:
        run_part(&c.part, _join_part[float], _join_part[double], &a[0, 0], nt)
