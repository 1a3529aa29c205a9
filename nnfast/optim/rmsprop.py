"""RMSprop (torch.optim.RMSprop)."""
from nnfast.optim.base import Optimizer
from nnfast.optim.functional import check_rmsprop_hyper, run_rmsprop


class RMSProp(Optimizer):
    """RMSprop: gradients scaled by a running RMS of their recent values.

    torch.optim.RMSprop's update, argument names and defaults, plus an L1
    term::

        d = grad + weight_decay * value + l1 * sign(value)
        square_avg = alpha * square_avg + (1 - alpha) * d**2
        avg = sqrt(square_avg - grad_avg**2) + eps   # centered, with
              # grad_avg = alpha * grad_avg + (1 - alpha) * d
        avg = sqrt(square_avg) + eps                 # otherwise
        buf = momentum * buf + d / avg; value -= lr * buf   # momentum > 0
        value -= lr * d / avg                               # otherwise

    (``nf.optim.functional.rmsprop_step`` is the same rule on plain arrays.)

    Parameters
    ----------
    params : list of Parameter
    lr : float >= 0, default 1e-2
    alpha : float in [0, 1], default 0.99
    eps : float > 0, default 1e-8
    weight_decay : float >= 0, default 0
    momentum : float >= 0, default 0
    centered : bool, default False
    l1 : float >= 0, default 0
    """

    _STATE_ARRAYS = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, l1=0.0):
        hyper = self._check_hyper(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                  momentum=momentum, centered=centered, l1=l1)
        super().__init__(params, hyper)

    def _check_hyper(self, lr, alpha, eps, weight_decay, momentum, centered, l1):
        return check_rmsprop_hyper(lr, alpha, eps, weight_decay, momentum, centered, l1)

    def _update(self, kernels, p, value, grad, state, hyper):
        h = hyper
        square_avg = self._buffer(state, "square_avg", p.value).reshape(-1)
        buf = grad_avg = None
        if h["momentum"] > 0:
            buf = self._buffer(state, "momentum_buffer", p.value).reshape(-1)
        if h["centered"]:
            grad_avg = self._buffer(state, "grad_avg", p.value).reshape(-1)
        state["step"] = state.get("step", 0) + 1
        run_rmsprop(kernels, value, grad, square_avg, buf, grad_avg, h)


RMSprop = RMSProp  # torch.optim's spelling
