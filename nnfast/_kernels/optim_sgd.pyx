"""The SGD update kernel (momentum, Nesterov, dampening), one fused pass per
parameter per step (_optim_rules.pxd says how the update kernels work)."""
from cython cimport floating

from nnfast._kernels._optim_rules cimport UpdateCall, penalized, run_update, update_call
from nnfast._kernels._threads cimport split_range


cdef void _sgd_block(floating *value, void *args, int t, int nt) noexcept nogil:
    """Thread t's block of sgd_update (buf is NULL when momentum == 0).

    One loop per mode: a store under a condition inside the loop (buf only
    with momentum) keeps GCC from vectorizing it; loop-invariant selects on
    values (nesterov, the penalties) do not.
    """
    cdef UpdateCall *c = <UpdateCall *>args
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
    if value.shape[0] == 0:
        return
    cdef UpdateCall c = update_call(value, grad)
    c.momentum_buf = &momentum_buf[0] if momentum != 0 else NULL
    c.lr, c.momentum, c.one_minus_dampening = lr, momentum, 1.0 - dampening
    c.weight_decay, c.l1 = weight_decay, l1
    c.nesterov, c.first_step = nesterov, first_step
    run_update(&c, _sgd_block[float], _sgd_block[double], 6.0)
