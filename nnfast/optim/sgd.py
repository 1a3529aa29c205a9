"""Stochastic gradient descent with momentum (torch.optim.SGD)."""
from nnfast.optim.base import Optimizer
from nnfast.optim.functional import check_sgd_hyper, run_sgd


class SGD(Optimizer):
    """Stochastic gradient descent, with momentum and Nesterov momentum.

    torch.optim.SGD's update, argument names and defaults, plus an L1 term::

        d = grad + weight_decay * value + l1 * sign(value)
        buf = d (first step) or momentum * buf + (1 - dampening) * d
        d = d + momentum * buf (nesterov) or buf      # when momentum != 0
        value -= lr * d

    (``nf.optim.functional.sgd_step`` is the same rule on plain arrays.)

    Parameters
    ----------
    params : list of Parameter
        ``model.parameters()``.
    lr : float >= 0
        Learning rate (required, as in older torch releases).
    momentum : float >= 0, default 0
    dampening : float in [0, 1], default 0
    nesterov : bool, default False
        Needs momentum > 0 and dampening == 0.
    weight_decay : float >= 0, default 0
        L2 penalty: adds ``weight_decay * value`` to the gradient.
    l1 : float >= 0, default 0
        L1 penalty: adds ``l1 * sign(value)`` to the gradient.
    """

    _STATE_ARRAYS = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0, l1=0.0):
        hyper = self._check_hyper(lr=lr, momentum=momentum, dampening=dampening,
                                  nesterov=nesterov, weight_decay=weight_decay, l1=l1)
        super().__init__(params, hyper)

    def _check_hyper(self, lr, momentum, dampening, nesterov, weight_decay, l1):
        return check_sgd_hyper(lr, momentum, dampening, nesterov, weight_decay, l1)

    def _update(self, kernels, p, value, grad, state, hyper):
        buf, first = None, False
        if hyper["momentum"] != 0:
            first = "momentum_buffer" not in state
            buf = self._buffer(state, "momentum_buffer", p.value).reshape(-1)
        run_sgd(kernels, value, grad, buf, hyper, first)
