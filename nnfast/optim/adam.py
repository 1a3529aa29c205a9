"""Adam (torch.optim.Adam)."""
import numpy as np

from nnfast._validation import check_bool
from nnfast.optim.base import Optimizer
from nnfast.optim.functional import check_adam_hyper, run_adam


class Adam(Optimizer):
    """Adam: adaptive moment estimation, with bias correction.

    torch.optim.Adam's update, argument names and defaults, plus an L1
    term; at step t (counting from 1)::

        d = grad + weight_decay * value + l1 * sign(value)
        exp_avg = beta1 * exp_avg + (1 - beta1) * d
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * d**2
        value -= lr / (1 - beta1**t) * exp_avg
                 / (sqrt(exp_avg_sq) / sqrt(1 - beta2**t) + eps)

    With ``amsgrad=True`` the denominator uses the running maximum
    ``max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)`` instead of
    ``exp_avg_sq`` (Reddi et al., "On the Convergence of Adam and Beyond").
    (``nf.optim.functional.adam_step`` is the same rule, without amsgrad,
    on plain arrays.)

    Parameters
    ----------
    params : list of Parameter
    lr : float >= 0, default 1e-3
    betas : (float, float), each in [0, 1), default (0.9, 0.999)
    eps : float > 0, default 1e-8
    weight_decay : float >= 0, default 0
        L2 penalty added to the gradient (Adam's, not AdamW's decoupled decay).
    l1 : float >= 0, default 0
    amsgrad : bool, default False
    """

    _STATE_ARRAYS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    # state_dicts written before amsgrad existed lack it
    _HYPER_ADDED_LATER = {"amsgrad": False}
    # AdamW: weight decay applied to the value, not added to the gradient
    _DECOUPLED_WEIGHT_DECAY = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0, l1=0.0, amsgrad=False):
        hyper = self._check_hyper(lr=lr, betas=betas, eps=eps,
                                  weight_decay=weight_decay, l1=l1, amsgrad=amsgrad)
        super().__init__(params, hyper)

    def _check_hyper(self, lr, betas, eps, weight_decay, l1, amsgrad=False):
        hyper = check_adam_hyper(lr, betas, eps, weight_decay, l1)
        hyper["amsgrad"] = check_bool(amsgrad, "amsgrad")
        return hyper

    def _update(self, kernels, p, value, grad, state, hyper):
        h = hyper
        if self._DECOUPLED_WEIGHT_DECAY:
            if h["weight_decay"] != 0:
                # torch multiplies in the parameter's dtype: float32 stays float32
                value *= value.dtype.type(1.0 - h["lr"] * h["weight_decay"])
            h = dict(h, weight_decay=0.0)
        exp_avg = self._buffer(state, "exp_avg", p.value).reshape(-1)
        exp_avg_sq = self._buffer(state, "exp_avg_sq", p.value).reshape(-1)
        state["step"] = step = state.get("step", 0) + 1
        if not h["amsgrad"]:
            run_adam(kernels, value, grad, exp_avg, exp_avg_sq, step, h)
            return
        # The fused kernel has no running maximum: it updates the two moments
        # (lr 0 leaves value as it is), and the step with the maximum follows
        # in NumPy, in torch's order of operations.
        run_adam(kernels, value, grad, exp_avg, exp_avg_sq, step, dict(h, lr=0.0))
        beta1, beta2 = h["betas"]
        max_sq = self._buffer(state, "max_exp_avg_sq", p.value).reshape(-1)
        np.maximum(max_sq, exp_avg_sq, out=max_sq)
        f = value.dtype.type
        denom = np.sqrt(max_sq) / f(np.sqrt(1.0 - beta2 ** step)) + f(h["eps"])
        value -= f(h["lr"] / (1.0 - beta1 ** step)) * (exp_avg / denom)
