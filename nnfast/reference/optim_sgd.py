"""The SGD update kernel in NumPy: the twin of ``nnfast._kernels.optim_sgd``.

Same operations in the same order as the compiled kernels (and as
torch.optim), one NumPy operation per line; hyper-parameters are cast to the
arrays' dtype first so that float32 stays float32.
"""
from nnfast.reference._optim_rules import _penalized


def sgd_update(value, grad, momentum_buf, lr, momentum=0.0, dampening=0.0,
               nesterov=False, weight_decay=0.0, l1=0.0, first_step=False):
    """One SGD step, in place (torch.optim.SGD's rule, plus an L1 term), with
    the arguments of ``nnfast._kernels.optim_sgd.sgd_update`` (value,
    grad, momentum_buf of shape (n,); momentum_buf None when momentum == 0;
    first_step: the buffer is new and is set to the gradient)."""
    f = value.dtype.type
    d = _penalized(value, grad, weight_decay, l1, f)
    if momentum != 0:
        if first_step:
            momentum_buf[...] = d
        else:
            momentum_buf[...] = momentum_buf * f(momentum) + f(1.0 - dampening) * d
        if nesterov:
            d = d + f(momentum) * momentum_buf
        else:
            d = momentum_buf
    value -= f(lr) * d
