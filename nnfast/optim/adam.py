"""Adam (torch.optim.Adam)."""
from nnfast.optim.base import Optimizer
from nnfast.optim.functional import check_adam_hyper, run_adam


class Adam(Optimizer):
    """Adam: adaptive moment estimation, with bias correction.

    torch.optim.Adam's update (amsgrad=False), argument names and defaults,
    plus an L1 term; at step t (counting from 1)::

        d = grad + weight_decay * value + l1 * sign(value)
        exp_avg = beta1 * exp_avg + (1 - beta1) * d
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * d**2
        value -= lr / (1 - beta1**t) * exp_avg
                 / (sqrt(exp_avg_sq) / sqrt(1 - beta2**t) + eps)

    (``nf.optim.functional.adam_step`` is the same rule on plain arrays.)

    Parameters
    ----------
    params : list of Parameter
    lr : float >= 0, default 1e-3
    betas : (float, float), each in [0, 1), default (0.9, 0.999)
    eps : float > 0, default 1e-8
    weight_decay : float >= 0, default 0
        L2 penalty added to the gradient (Adam's, not AdamW's decoupled decay).
    l1 : float >= 0, default 0
    """

    _STATE_ARRAYS = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0, l1=0.0):
        hyper = self._check_hyper(lr=lr, betas=betas, eps=eps,
                                  weight_decay=weight_decay, l1=l1)
        super().__init__(params, hyper)

    def _check_hyper(self, lr, betas, eps, weight_decay, l1):
        return check_adam_hyper(lr, betas, eps, weight_decay, l1)

    def _update(self, kernels, p, value, grad, state):
        exp_avg = self._buffer(state, "exp_avg", p.value).reshape(-1)
        exp_avg_sq = self._buffer(state, "exp_avg_sq", p.value).reshape(-1)
        state["step"] = step = state.get("step", 0) + 1
        run_adam(kernels, value, grad, exp_avg, exp_avg_sq, step, self.defaults)
