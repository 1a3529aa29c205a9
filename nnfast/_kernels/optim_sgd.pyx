"""The SGD update kernel (momentum, Nesterov, dampening): one fused pass per
parameter per step.

The kernel reads a parameter's value, gradient and momentum buffer once and
writes the new value and buffer in place, where torch.optim's reference
implementation makes one pass over memory per arithmetic operation. The
update rule and its order of operations are torch.optim's (single-tensor
path), so that results agree to rounding.

All arrays are flat (1-D, C-contiguous) and of one dtype; hyper-parameters
come in as double and are cast once to that dtype (float32 stays float32, as
in torch). Threads split the array into one contiguous block each, only when
it is large enough to pay for waking them: ``team_size`` gets the flops per
element times the elements, and the elements as the independent units.
"""
from cython cimport floating

from nnfast._kernels._optim_rules cimport penalized
from nnfast._kernels._threads cimport TypedPart, run_team, split_range, team_size, typed_body


cdef struct SgdCall:
    # array pointers float or double as part.is_double says (part.first is
    # value); hyper-parameters as double, rounded to the arrays' dtype as
    # each thread starts
    TypedPart part
    const void *grad
    void *momentum_buf  # NULL when momentum == 0
    Py_ssize_t n
    double lr, momentum, one_minus_dampening, weight_decay, l1
    bint nesterov, first_step


cdef void _sgd_block(floating *value, void *args, int t, int nt) noexcept nogil:
    """Thread t's block of sgd_update (buf is NULL when momentum == 0).

    One loop per mode: a store under a condition inside the loop (buf only
    with momentum) keeps GCC from vectorizing it; loop-invariant selects on
    values (nesterov, the penalties) do not.
    """
    cdef SgdCall *c = <SgdCall *>args
    cdef const floating *grad = <const floating *>c.grad
    cdef floating *buf = <floating *>c.momentum_buf
    cdef floating lr = <floating>c.lr, momentum = <floating>c.momentum
    cdef floating one_minus_dampening = <floating>c.one_minus_dampening
    cdef floating weight_decay = <floating>c.weight_decay, l1 = <floating>c.l1
    cdef bint nesterov = c.nesterov, first_step = c.first_step
    cdef Py_ssize_t i, lo, hi
    cdef floating d, b
    split_range(c.n, t, nt, &lo, &hi)
    if buf == NULL:
        for i in range(lo, hi):
            d = penalized(grad[i], value[i], weight_decay, l1)
            value[i] = value[i] - lr * d
    elif first_step:
        for i in range(lo, hi):
            d = penalized(grad[i], value[i], weight_decay, l1)
            buf[i] = d
            d = (d + momentum * d) if nesterov else d
            value[i] = value[i] - lr * d
    else:
        for i in range(lo, hi):
            d = penalized(grad[i], value[i], weight_decay, l1)
            b = buf[i] * momentum + one_minus_dampening * d
            buf[i] = b
            d = (d + momentum * b) if nesterov else b
            value[i] = value[i] - lr * d


def sgd_update(floating[::1] value, const floating[::1] grad,
               floating[::1] momentum_buf, double lr, double momentum=0.0,
               double dampening=0.0, bint nesterov=False,
               double weight_decay=0.0, double l1=0.0, bint first_step=False):
    """One SGD step, in place (torch.optim.SGD's rule, plus an L1 term).

    d := grad + weight_decay * value + l1 * sign(value)
    if momentum != 0:
        buf := d if first_step else momentum * buf + (1 - dampening) * d
        d := d + momentum * buf if nesterov else buf
    value := value - lr * d

    Parameters
    ----------
    value : ndarray of shape (n,)                 # IN/OUT
    grad : ndarray of shape (n,)                  # IN
    momentum_buf : ndarray of shape (n,) or None  # IN/OUT; None when momentum == 0
    first_step : bool
        The buffer is new: it is set to d (no dampening), as torch does.
    """
    cdef SgdCall c
    c.n = value.shape[0]
    if c.n == 0:
        return
    c.part = TypedPart(_sgd_block[float], _sgd_block[double], &value[0], floating is double)
    c.grad = &grad[0]
    c.momentum_buf = &momentum_buf[0] if momentum != 0 else NULL
    c.lr, c.momentum, c.one_minus_dampening = lr, momentum, 1.0 - dampening
    c.weight_decay, c.l1 = weight_decay, l1
    c.nesterov, c.first_step = nesterov, first_step
    cdef int nt = team_size(6.0 * c.n, c.n)
    with nogil:
        run_team(typed_body, &c, nt)
