"""Running a loss kernel's call (_loss_call.pxd): a forward sums per-thread
partial sums, a backward writes grad_input."""
import numpy as np

from nnfast._kernels._threads cimport run_team, typed_body


cdef LossCall new_loss_call(float_part f32, double_part f64, const void *first,
                            Py_ssize_t n_samples, Py_ssize_t n_cols, bint is_double):
    """A LossCall of part f32 or f64 (as is_double says) on first, the
    other pointers NULL and the numbers 0."""
    cdef LossCall c
    c.part.f32, c.part.f64, c.part.first, c.part.is_double = f32, f64, <void *>first, is_double
    c.n_samples, c.n_cols = n_samples, n_cols
    c.op = MSE_FORWARD  # read by the element-wise losses only, which set it
    c.target = c.weight = c.out = NULL
    c.labels, c.sums, c.partial, c.n_partial = NULL, NULL, NULL, 0
    c.scale = c.margin = c.smooth = 0
    return c


cdef tuple run_summing(LossCall *c, int nt, Py_ssize_t n_partial):
    """The call's part on nt threads with a zeroed (nt, n_partial) array of
    partial sums for them; returns the column totals, summed in thread
    order."""
    cdef double[:, ::1] partial = np.zeros((nt, n_partial))
    cdef Py_ssize_t t, k
    cdef double s
    c.partial, c.n_partial = &partial[0, 0], n_partial
    with nogil:
        run_team(typed_body, c, nt)
    totals = []
    for k in range(n_partial):
        s = 0
        for t in range(nt):
            s += partial[t, k]
        totals.append(s)
    return tuple(totals)


cdef void run_writing(LossCall *c, int nt):
    """The call's part on nt threads, without the GIL (a backward: it writes
    c.out)."""
    with nogil:
        run_team(typed_body, c, nt)
