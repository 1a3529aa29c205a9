"""Shared by the optimizer tests: seeded parameters, and a run of steps of
one of our optimizers beside torch.optim's, compared after every step."""
import numpy as np

from nnfast.parameter import Parameter

SHAPES = [(4, 3), (3,), (2, 1, 3, 3)]


def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s).astype(dtype), f"p{i}") for i, s in enumerate(SHAPES)]


def assert_follows_torch(torch, opt_class, torch_class, kwargs, params, steps, tol):
    """Step opt_class(params, **kwargs) and torch_class on copies of params
    with each step's gradients in ``steps`` (one list of arrays a step); the
    values must stay within ``tol`` of torch's and the gradients be zeroed.
    Returns our optimizer, for checks on its state."""
    tparams = [torch.nn.Parameter(torch.from_numpy(p.value.copy())) for p in params]
    opt = opt_class(params, **kwargs)
    topt = torch_class(tparams, **kwargs)
    for grads in steps:
        for p, tp, g in zip(params, tparams, grads):
            p.grad[...] = g
            tp.grad = torch.from_numpy(g.astype(p.value.dtype))
        opt.step()
        topt.step()
        opt.zero_grad()
        for p, tp in zip(params, tparams):
            np.testing.assert_allclose(p.value, tp.detach().numpy(), **tol)
            assert not np.any(p.grad)
    return opt


def run_steps(opt, params, steps):
    """opt.step() once for each list of gradients (one array a parameter) in steps."""
    for grads in steps:
        for p, g in zip(params, grads):
            p.grad[...] = g
        opt.step()


def assert_continue_alike(opt, params, opt2, params2, steps):
    """Two optimizers (e.g. one restored from the other's state_dict) take the
    same steps; their parameters must end equal to the bit."""
    run_steps(opt, params, steps)
    run_steps(opt2, params2, steps)
    for p, p2 in zip(params, params2):
        np.testing.assert_array_equal(p.value, p2.value)
