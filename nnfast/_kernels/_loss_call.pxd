# The call struct every loss kernel describes its call in, and the helpers
# that run it (_loss_call.pyx). Sums are accumulated in double, one partial
# sum per thread (no two threads add into one number), and added up after
# the parallel region in thread order.
from cython cimport floating
from libc.stdint cimport int64_t

from nnfast._kernels._threads cimport TypedPart, double_part, float_part


cdef enum Op:
    # the element-wise losses' ops (losses_elementwise.pyx)
    MSE_FORWARD
    MSE_BACKWARD
    BCE_WITH_LOGITS_FORWARD
    BCE_WITH_LOGITS_BACKWARD
    BCE_FORWARD
    BCE_BACKWARD


cdef struct LossCall:
    # One call's arguments, shared read-only by its threads. part's first
    # array is the prediction (logits, probabilities or scores) or, for a
    # backward that does not read it, grad_input. target is the float
    # target, (n_samples, n_cols) or flat (n_cols == 1); target, weight and
    # out are float or double as part.is_double says (None weights are
    # NULL). out is the probabilities (cross_entropy_forward) or grad_input
    # (the backwards); sums the Dice numerators and denominators; partial
    # one row of n_partial sums per thread.
    TypedPart part
    Op op
    const void *target
    const void *weight
    const int64_t *labels
    void *out
    double *sums
    double *partial
    Py_ssize_t n_samples, n_cols, n_partial
    double scale, margin, smooth


cdef LossCall new_loss_call(float_part f32, double_part f64, const void *first,
                            Py_ssize_t n_samples, Py_ssize_t n_cols, bint is_double)
cdef tuple run_summing(LossCall *c, int nt, Py_ssize_t n_partial)
cdef void run_writing(LossCall *c, int nt)


cdef inline void *first_item(const floating[:, ::1] a):
    """&a[0, 0], or NULL for an empty array (never read then)."""
    return <void *>&a[0, 0] if a.shape[0] and a.shape[1] else NULL
