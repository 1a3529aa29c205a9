"""Adagrad (torch.optim.Adagrad)."""
from nnfast.optim.base import Optimizer
from nnfast.optim.functional import check_adagrad_hyper, run_adagrad


class Adagrad(Optimizer):
    """Adagrad: per-element learning rates from the sum of squared gradients.

    torch.optim.Adagrad's update, argument names and defaults, plus an L1
    term; at step t (counting from 1)::

        d = grad + weight_decay * value + l1 * sign(value)
        sum += d**2                        # starts at initial_accumulator_value
        value -= lr / (1 + (t - 1) * lr_decay) * d / (sqrt(sum) + eps)

    (``nf.optim.functional.adagrad_step`` is the same rule on plain arrays.)

    Parameters
    ----------
    params : list of Parameter
    lr : float >= 0, default 1e-2
    lr_decay : float >= 0, default 0
    weight_decay : float >= 0, default 0
    initial_accumulator_value : float >= 0, default 0
    eps : float > 0, default 1e-10
    l1 : float >= 0, default 0
    """

    _STATE_ARRAYS = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, l1=0.0):
        hyper = self._check_hyper(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                  initial_accumulator_value=initial_accumulator_value,
                                  eps=eps, l1=l1)
        super().__init__(params, hyper)

    def _check_hyper(self, lr, lr_decay, weight_decay, initial_accumulator_value, eps, l1):
        return check_adagrad_hyper(lr, lr_decay, weight_decay, initial_accumulator_value, eps, l1)

    def _update(self, kernels, p, value, grad, state, hyper):
        state_sum = self._buffer(state, "sum", p.value,
                                 hyper["initial_accumulator_value"]).reshape(-1)
        state["step"] = step = state.get("step", 0) + 1
        run_adagrad(kernels, value, grad, state_sum, step, hyper)
