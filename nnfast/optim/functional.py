"""The optimizers' update rules as functions on arrays, as
``torch.optim``'s functional forms: one step, in place, on a value array and
the state arrays the caller keeps.

Each ``*_step`` checks its arrays and hyper-parameters (ValueError or
TypeError naming the argument) and then runs the active backend's fused
kernel: one pass over the value, its gradient and its state. The optimizer
classes (``SGD``, ``Adam``, ``Adagrad``, ``RMSProp``) check the same
hyper-parameters once, with the ``check_*_hyper`` functions here, and run the
same kernel calls (``run_*``) at every step; ``nnfast.fau``'s course
optimizers call the ``*_step`` functions.

Arrays: ``value`` a writeable C-contiguous float32 or float64 ndarray of
any shape (updated in place); ``grad`` anything numeric of its shape (cast
to its dtype); every state array an ndarray of exactly ``value``'s shape and
dtype, writeable, C-contiguous and sharing no memory with the others.
"""
import numpy as np

from nnfast import _backend
from nnfast._validation import FLOAT_DTYPES, _numeric, check_bool, check_float, check_int
from nnfast.optim.base import check_l1_decay

__all__ = ["sgd_step", "adam_step", "adagrad_step", "rmsprop_step",
           "check_sgd_hyper", "check_adam_hyper", "check_adagrad_hyper", "check_rmsprop_hyper"]


# -- hyper-parameters (shared with the optimizer classes) --------------------
def check_sgd_hyper(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, l1=0.0):
    """SGD's hyper-parameters, checked, as a dict by torch.optim's names."""
    lr = check_float(lr, "lr", 0.0)
    momentum = check_float(momentum, "momentum", 0.0)
    dampening = check_float(dampening, "dampening", 0.0, 1.0)
    nesterov = check_bool(nesterov, "nesterov")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(f"nesterov=True needs momentum > 0 and dampening == 0, got "
                         f"momentum={momentum}, dampening={dampening}")
    weight_decay, l1 = check_l1_decay(weight_decay, l1)
    return {"lr": lr, "momentum": momentum, "dampening": dampening,
            "nesterov": nesterov, "weight_decay": weight_decay, "l1": l1}


def check_adam_hyper(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, l1=0.0):
    """Adam's hyper-parameters, checked, as a dict by torch.optim's names
    (each beta in [0, 1): 1 would make a bias correction divide by zero)."""
    lr = check_float(lr, "lr", 0.0)
    try:
        pair = not isinstance(betas, (str, bytes)) and len(betas) == 2
    except TypeError:          # no len(), or a 0-d array's "unsized object"
        pair = False
    if not pair:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    beta1 = check_float(betas[0], "betas[0]", 0.0, 1.0, max_inclusive=False)
    beta2 = check_float(betas[1], "betas[1]", 0.0, 1.0, max_inclusive=False)
    eps = check_float(eps, "eps", 0.0, min_inclusive=False)
    weight_decay, l1 = check_l1_decay(weight_decay, l1)
    return {"lr": lr, "betas": (beta1, beta2), "eps": eps,
            "weight_decay": weight_decay, "l1": l1}


def check_adagrad_hyper(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                        eps=1e-10, l1=0.0):
    """Adagrad's hyper-parameters, checked, as a dict by torch.optim's names."""
    lr = check_float(lr, "lr", 0.0)
    lr_decay = check_float(lr_decay, "lr_decay", 0.0)
    initial = check_float(initial_accumulator_value, "initial_accumulator_value", 0.0)
    eps = check_float(eps, "eps", 0.0, min_inclusive=False)
    weight_decay, l1 = check_l1_decay(weight_decay, l1)
    return {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
            "initial_accumulator_value": initial, "eps": eps, "l1": l1}


def check_rmsprop_hyper(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                        centered=False, l1=0.0):
    """RMSprop's hyper-parameters, checked, as a dict by torch.optim's names."""
    lr = check_float(lr, "lr", 0.0)
    alpha = check_float(alpha, "alpha", 0.0, 1.0)
    eps = check_float(eps, "eps", 0.0, min_inclusive=False)
    momentum = check_float(momentum, "momentum", 0.0)
    centered = check_bool(centered, "centered")
    weight_decay, l1 = check_l1_decay(weight_decay, l1)
    return {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
            "momentum": momentum, "centered": centered, "l1": l1}


# -- the kernel calls (arrays flat and checked, hyper-parameters checked) ----
def run_sgd(kernels, value, grad, momentum_buf, hyper, first_step):
    """One SGD step by ``kernels`` on flat arrays the caller has checked."""
    h = hyper
    kernels.sgd_update(value, grad, momentum_buf, h["lr"], h["momentum"], h["dampening"],
                       h["nesterov"], h["weight_decay"], h["l1"], first_step)


def run_adam(kernels, value, grad, exp_avg, exp_avg_sq, step, hyper):
    """One Adam step (``step`` counted from 1) on checked flat arrays."""
    h = hyper
    beta1, beta2 = h["betas"]
    kernels.adam_update(value, grad, exp_avg, exp_avg_sq, step, h["lr"], beta1, beta2,
                        h["eps"], h["weight_decay"], h["l1"])


def run_adagrad(kernels, value, grad, state_sum, step, hyper):
    """One Adagrad step (``step`` counted from 1) on checked flat arrays."""
    h = hyper
    kernels.adagrad_update(value, grad, state_sum, step, h["lr"], h["lr_decay"],
                           h["weight_decay"], h["eps"], h["l1"])


def run_rmsprop(kernels, value, grad, square_avg, momentum_buf, grad_avg, hyper):
    """One RMSprop step on checked flat arrays (momentum_buf None unless
    momentum > 0, grad_avg None unless centered)."""
    h = hyper
    kernels.rmsprop_update(value, grad, square_avg, momentum_buf, grad_avg, h["lr"],
                           h["alpha"], h["eps"], h["weight_decay"], h["momentum"],
                           h["centered"], h["l1"])


# -- array checks ------------------------------------------------------------
def _check_value(value):
    if not isinstance(value, np.ndarray) or value.dtype not in FLOAT_DTYPES:
        raise TypeError(f"value must be a float32 or float64 ndarray, got "
                        f"{getattr(value, 'dtype', type(value).__name__)}")
    if not value.flags.c_contiguous or not value.flags.writeable:
        raise ValueError("value must be a writeable C-contiguous array (it is updated in place)")
    return value


def _check_grad(grad, value):
    g = _numeric(grad, "grad")
    if g.shape != value.shape:
        raise ValueError(f"grad must have value's shape {value.shape}, got {g.shape}")
    return np.ascontiguousarray(g, dtype=value.dtype)


def _check_state(arrays, value, grad):
    """The state arrays {name: array or None}, checked; None stays None."""
    seen = [("value", value), ("grad", grad)]
    for name, a in arrays.items():
        if a is None:
            continue
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be an ndarray, got {type(a).__name__}")
        if a.shape != value.shape or a.dtype != value.dtype:
            raise ValueError(f"{name} must have value's shape {value.shape} and dtype "
                             f"{value.dtype}, got shape {a.shape} and dtype {a.dtype}")
        if not a.flags.c_contiguous or not a.flags.writeable:
            raise ValueError(f"{name} must be a writeable C-contiguous array "
                             f"(it is updated in place)")
        for other, b in seen:
            if np.may_share_memory(a, b):
                raise ValueError(f"{name} must not share memory with {other}")
        seen.append((name, a))


def _require(array, name, reason):
    if array is None:
        raise ValueError(f"{name} must be an array of value's shape when {reason}, got None")


def _flat(*arrays):
    return [None if a is None else a.reshape(-1) for a in arrays]


# -- the steps ---------------------------------------------------------------
def sgd_step(value, grad, momentum_buf=None, *, lr, momentum=0.0, dampening=0.0,
             nesterov=False, weight_decay=0.0, l1=0.0, first_step=False):
    """One step of ``nf.optim.SGD``'s rule on ``value``, in place::

        d = grad + weight_decay * value + l1 * sign(value)
        buf = d (first_step) or momentum * buf + (1 - dampening) * d
        d = d + momentum * buf (nesterov) or buf      # when momentum != 0
        value -= lr * d

    Parameters
    ----------
    value : ndarray of any shape                       # IN/OUT
    grad : array_like of value's shape                 # IN
    momentum_buf : ndarray of value's shape, or None   # IN/OUT
        Needed when momentum != 0 (unused otherwise).
    lr, momentum, dampening, nesterov, weight_decay, l1
        As ``nf.optim.SGD``.
    first_step : bool
        The buffer is new: it is set to ``d`` (no dampening), as torch does
        at the first step.
    """
    hyper = check_sgd_hyper(lr, momentum, dampening, nesterov, weight_decay, l1)
    first_step = check_bool(first_step, "first_step")
    value = _check_value(value)
    grad = _check_grad(grad, value)
    if hyper["momentum"] == 0:
        momentum_buf = None
    else:
        _require(momentum_buf, "momentum_buf", "momentum != 0")
    _check_state({"momentum_buf": momentum_buf}, value, grad)
    if value.size:
        run_sgd(_backend.kernels(), *_flat(value, grad, momentum_buf), hyper, first_step)


def adam_step(value, grad, exp_avg, exp_avg_sq, *, step, lr=1e-3, betas=(0.9, 0.999),
              eps=1e-8, weight_decay=0.0, l1=0.0):
    """One step of ``nf.optim.Adam``'s rule on ``value``, in place::

        d = grad + weight_decay * value + l1 * sign(value)
        exp_avg = beta1 * exp_avg + (1 - beta1) * d
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * d**2
        value -= lr / (1 - beta1**step) * exp_avg
                 / (sqrt(exp_avg_sq) / sqrt(1 - beta2**step) + eps)

    Parameters
    ----------
    value : ndarray of any shape                       # IN/OUT
    grad : array_like of value's shape                 # IN
    exp_avg, exp_avg_sq : ndarrays of value's shape    # IN/OUT (zeros at first)
    step : int >= 1
        Number of this step, counting from 1 (for the bias corrections).
    lr, betas, eps, weight_decay, l1
        As ``nf.optim.Adam``.
    """
    hyper = check_adam_hyper(lr, betas, eps, weight_decay, l1)
    step = check_int(step, "step", 1)
    value = _check_value(value)
    grad = _check_grad(grad, value)
    _require(exp_avg, "exp_avg", "running Adam")
    _require(exp_avg_sq, "exp_avg_sq", "running Adam")
    _check_state({"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}, value, grad)
    if value.size:
        run_adam(_backend.kernels(), *_flat(value, grad, exp_avg, exp_avg_sq), step, hyper)


def adagrad_step(value, grad, state_sum, *, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 eps=1e-10, l1=0.0):
    """One step of ``nf.optim.Adagrad``'s rule on ``value``, in place::

        d = grad + weight_decay * value + l1 * sign(value)
        state_sum += d**2
        value -= lr / (1 + (step - 1) * lr_decay) * d / (sqrt(state_sum) + eps)

    Parameters
    ----------
    value : ndarray of any shape                       # IN/OUT
    grad : array_like of value's shape                 # IN
    state_sum : ndarray of value's shape               # IN/OUT
    step : int >= 1
    lr, lr_decay, weight_decay, eps, l1
        As ``nf.optim.Adagrad``.
    """
    hyper = check_adagrad_hyper(lr, lr_decay, weight_decay, 0.0, eps, l1)
    step = check_int(step, "step", 1)
    value = _check_value(value)
    grad = _check_grad(grad, value)
    _require(state_sum, "state_sum", "running Adagrad")
    _check_state({"state_sum": state_sum}, value, grad)
    if value.size:
        run_adagrad(_backend.kernels(), *_flat(value, grad, state_sum), step, hyper)


def rmsprop_step(value, grad, square_avg, momentum_buf=None, grad_avg=None, *, lr=1e-2,
                 alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, l1=0.0):
    """One step of ``nf.optim.RMSProp``'s rule on ``value``, in place (see
    that class for the formula).

    Parameters
    ----------
    value : ndarray of any shape                       # IN/OUT
    grad : array_like of value's shape                 # IN
    square_avg : ndarray of value's shape              # IN/OUT
    momentum_buf : ndarray of value's shape or None    # IN/OUT; needed when momentum > 0
    grad_avg : ndarray of value's shape or None        # IN/OUT; needed when centered
    lr, alpha, eps, weight_decay, momentum, centered, l1
        As ``nf.optim.RMSProp``.
    """
    hyper = check_rmsprop_hyper(lr, alpha, eps, weight_decay, momentum, centered, l1)
    value = _check_value(value)
    grad = _check_grad(grad, value)
    _require(square_avg, "square_avg", "running RMSprop")
    if hyper["momentum"] > 0:
        _require(momentum_buf, "momentum_buf", "momentum > 0")
    else:
        momentum_buf = None
    if hyper["centered"]:
        _require(grad_avg, "grad_avg", "centered=True")
    else:
        grad_avg = None
    _check_state({"square_avg": square_avg, "momentum_buf": momentum_buf,
                  "grad_avg": grad_avg}, value, grad)
    if value.size:
        run_rmsprop(_backend.kernels(), *_flat(value, grad, square_avg, momentum_buf, grad_avg),
                    hyper)
