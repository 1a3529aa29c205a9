"""AdamW (torch.optim.AdamW): Adam with decoupled weight decay."""
from nnfast.optim.adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, "Decoupled
    Weight Decay Regularization").

    torch.optim.AdamW's update, argument names and defaults (note
    ``weight_decay=1e-2``), plus an L1 term; at step t (counting from 1)::

        value *= 1 - lr * weight_decay          # decay, not through the gradient
        d = grad + l1 * sign(value)
        exp_avg = beta1 * exp_avg + (1 - beta1) * d
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * d**2
        value -= lr / (1 - beta1**t) * exp_avg
                 / (sqrt(exp_avg_sq) / sqrt(1 - beta2**t) + eps)

    (with ``amsgrad=True`` the running maximum of exp_avg_sq, as in Adam).
    Unlike Adam's ``weight_decay``, the decay does not pass through the
    moment estimates, so every weight shrinks by the same factor per step.

    Parameters
    ----------
    params, lr, betas, eps, l1, amsgrad
        As ``Adam``'s, with its defaults.
    weight_decay : float >= 0, default 1e-2
        The decoupled decay above.
    """

    _DECOUPLED_WEIGHT_DECAY = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=1e-2, l1=0.0, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         l1=l1, amsgrad=amsgrad)
