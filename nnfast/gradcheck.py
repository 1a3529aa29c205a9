"""Central-difference gradient check of a layer, a network or a loss."""
import numbers
import warnings

import numpy as np

from nnfast._validation import as_float_array, check_float, check_int
from nnfast.layers.base import Layer


def _relative_error(analytic, numeric):
    """max |a - n| over the tensor, relative to the tensor's largest magnitude."""
    scale = max(np.max(np.abs(analytic)), np.max(np.abs(numeric)))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric)) / scale)


def gradcheck(module, x, target=None, grad_output=None, eps=1e-6, rtol=1e-6,
              max_checks=400, rng=0, raise_on_failure=True):
    """Compare backward's gradients with central differences, in float64.

    For a layer or network, the checked function is
    ``f = sum(module.forward(x) * grad_output)`` (``grad_output`` random if not
    given), and the analytic gradients are what ``module.backward(grad_output)``
    returns (input) and accumulates (each Parameter's ``grad``). For a loss
    (``target`` given), ``f = module.forward(x, target)`` and the analytic
    input gradient is ``module.backward()``.

    Parameters
    ----------
    module : Layer, Sequential or loss
        Checked in float64 (differences of 1e-6 need it): a layer or network
        with float32 parameters is checked as ``module.astype(np.float64)``,
        a float64 copy (the module itself is unchanged), with a warning
        saying so.
    x : ndarray
        Input (or prediction, for a loss); cast to float64.
    target : ndarray, optional
        The loss's target; makes ``module`` a loss.
    eps : float
        Step of the central difference.
    rtol : float
        Largest relative error accepted: ``max|a - n| / max(|a|, |n|)`` per tensor.
    max_checks : int
        Elements checked per tensor, drawn at random when it has more.
    rng : int or numpy.random.Generator
    raise_on_failure : bool
        Raise AssertionError naming the tensor when an error exceeds ``rtol``.

    Returns
    -------
    errors : dict
        Tensor name ("input", "<layer index>.<parameter name>") -> relative error.
    """
    is_loss = target is not None
    _check_module(module, is_loss)
    eps = check_float(eps, "eps", 0.0, min_inclusive=False)
    rtol = check_float(rtol, "rtol", 0.0)
    max_checks = check_int(max_checks, "max_checks", 1)
    rng = _check_rng(rng)
    x = np.array(as_float_array(x, "x", np.float64), copy=True)
    params = [] if is_loss else _named_parameters(module)
    not_float64 = [(name, p) for name, p in params if p.value.dtype != np.float64]
    if not_float64:
        name, p = not_float64[0]
        if not callable(getattr(module, "astype", None)):
            raise ValueError(f"gradcheck needs float64 parameters; {name} is {p.value.dtype} "
                             "(build the module with dtype=np.float64)")
        warnings.warn(f"gradcheck: {name} is {p.value.dtype}; checking a float64 copy "
                      "(module.astype(np.float64)) instead, the module is unchanged", stacklevel=2)
        module = module.astype(np.float64)
        params = _named_parameters(module)

    if is_loss:
        def f():
            return float(module.forward(x, target))
        try:
            f()
        except (TypeError, ValueError) as e:
            # the loss names its own arguments (pred, target): say which of
            # gradcheck's they are
            raise type(e)(f"x and target go to {type(module).__name__}.forward(pred, target) "
                          f"as pred and target: {e}") from None
        analytic_x = np.array(module.backward(), dtype=np.float64)
    else:
        out = module.forward(x)
        if grad_output is None:
            grad_output = rng.standard_normal(np.shape(out))
        grad_output = as_float_array(grad_output, "grad_output", np.float64)

        def f():
            return float(np.sum(module.forward(x) * grad_output))
        for _, p in params:
            p.zero_grad()
        analytic_x = module.backward(grad_output)

    tensors = [("input", x, analytic_x)] if analytic_x is not None else []
    tensors += [(name, p.value, p.grad.copy()) for name, p in params]

    errors = {}
    for name, value, analytic in tensors:
        flat = value.reshape(-1)
        idx = np.arange(flat.size)
        if flat.size > max_checks:
            idx = rng.choice(flat.size, max_checks, replace=False)
        numeric = np.empty(idx.size)
        for k, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + eps
            f_plus = f()
            flat[i] = old - eps
            f_minus = f()
            flat[i] = old
            numeric[k] = (f_plus - f_minus) / (2 * eps)
        errors[name] = _relative_error(np.asarray(analytic).reshape(-1)[idx], numeric)
    if raise_on_failure:
        bad = {k: v for k, v in errors.items() if not v <= rtol}
        if bad:
            raise AssertionError(f"gradient check failed (rtol={rtol}): {bad}")
    return errors


def _check_module(module, is_loss):
    """A layer or network (forward, backward, parameters), or with a target a
    loss (forward(pred, target), backward())."""
    if isinstance(module, type) or not all(
            callable(getattr(module, m, None)) for m in ("forward", "backward")):
        raise TypeError(f"module must be an nnfast layer, network or loss (with forward and "
                        f"backward), got {module.__name__ if isinstance(module, type) else type(module).__name__}")
    if is_loss and isinstance(module, Layer):
        raise TypeError(f"target is given, so module must be a loss; got the layer "
                        f"{type(module).__name__} (leave target out to check a layer)")
    if not is_loss and not isinstance(module, Layer):
        if not callable(getattr(module, "parameters", None)):
            raise TypeError(f"module {type(module).__name__} is not a layer or network: a loss "
                            f"needs target= (the labels or values to compare with)")


def _check_rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"rng must be a non-negative int seed or a numpy.random.Generator, "
                        f"got {type(rng).__name__} {rng!r}")
    if rng < 0:
        raise ValueError(f"rng must be a non-negative int seed, got {int(rng)}")
    return np.random.default_rng(int(rng))


def _named_parameters(module):
    """(key, Parameter) under the state-dict keys ("0.weight",
    "2.submodule.0.bias", ...): unique in a network of any nesting."""
    from nnfast import state_dict
    return state_dict.named_parameters(module)
