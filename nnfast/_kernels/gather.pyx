"""Row gather: a batch of rows picked from a data set by index.

A training loop that shuffles (nf.fit's DataLoader, the scikit-learn
estimators) copies each batch out of the data set, rows from all over it:
a memory-bound copy that ran serially in NumPy while the kernel threads
waited (lstm-seq aside, the scikit-learn defaults fit spent 11 % of its
time there on one thread). Threads split the batch's rows; each row is one
contiguous copy.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from libc.string cimport memcpy

from nnfast._kernels._threads cimport run_team, split_range, team_size


cdef struct GatherCall:
    # Shared read-only by its threads; each writes only its own rows.
    const char *x
    const int64_t *index
    char *out
    Py_ssize_t rows, row_bytes


cdef void _gather_body(void *args, int t, int nt) noexcept nogil:
    cdef GatherCall *c = <GatherCall *>args
    cdef Py_ssize_t i, lo, hi
    split_range(c.rows, t, nt, &lo, &hi)
    for i in range(lo, hi):
        memcpy(c.out + i * c.row_bytes, c.x + c.index[i] * c.row_bytes, c.row_bytes)


def gather_rows(const floating[:, ::1] x, const long long[::1] index, floating[:, ::1] out):
    """out[i] := x[index[i]] for every i.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_features)      # IN
    index : int64 ndarray of shape (n_rows,)          # IN, each in [0, n_samples)
    out : ndarray of shape (n_rows, n_features)       # OUT
    """
    cdef GatherCall c
    c.rows = out.shape[0]
    c.row_bytes = x.shape[1] * sizeof(floating)
    if c.rows == 0 or c.row_bytes == 0:
        return
    c.x, c.index, c.out = <const char *>&x[0, 0], <const int64_t *>&index[0], <char *>&out[0, 0]
    # work: a copied byte counts as one flop-equivalent (memory-bound)
    cdef int nt = team_size(<double>c.rows * c.row_bytes, c.rows)
    with nogil:
        run_team(_gather_body, &c, nt)
