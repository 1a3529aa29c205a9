"""Kernel benchmarks: one group per kernel and shape, implementations side by side.

nnfast's kernels are timed through their public layers (what a network
pays per call, checks included), on the ``fast`` backend or the NumPy
``reference``; PyTorch through ``torch.nn.functional`` and autograd, with
parameters that require gradients as in training.
"""
import numpy as np
import pytest

import nnfast as nf
from nnfast.benchmarks import workloads as wl

from conftest import rng

LINEAR_SIZES = [(64, 784, 30), (128, 512, 512), (256, 1024, 1024)]  # (batch, in, out)
# (name, batch, in_channels, out_channels, kernel, padding, height = width)
CONV_SHAPES = [("lenet-conv1", 64, 1, 6, 5, 2, 28),
               ("lenet-conv2", 64, 6, 16, 5, 0, 14),
               ("conv32-64", 64, 32, 64, 3, 1, 14)]
POOL_SHAPES = [(64, 6, 28, 28), (64, 32, 28, 28)]
SOFTMAX_SHAPES = [(64, 10), (256, 1000)]


def conv_algorithms():
    """Conv2D's algorithm names (besides "auto"), or ["auto"] if it lists none."""
    conv = getattr(nf.layers, "Conv2D", None)
    if conv is None:
        return ["auto"]
    import sys

    for owner in (conv, sys.modules.get(conv.__module__)):
        for attr in ("ALGORITHMS", "algorithms", "_ALGORITHMS"):
            names = getattr(owner, attr, None)
            if names:
                names = [a for a in names if a != "auto"]
                if names:
                    return list(names)
    return ["auto"]


def _torch():
    import torch

    return torch


# -- Linear ----------------------------------------------------------------------

@pytest.mark.parametrize("size", LINEAR_SIZES, ids=lambda s: "x".join(map(str, s)))
def test_linear_forward(measure, impl, size):
    n, i, o = size
    x = rng(0).random((n, i), dtype=np.float32)
    flops = 2.0 * n * i * o
    group = f"linear-forward-{n}x{i}x{o}"
    if impl == "torch":
        torch = _torch()
        lin = torch.nn.Linear(i, o)
        xt = torch.from_numpy(x)
        measure(impl, lambda: lin(xt), group, n, flops)
    else:
        layer = nf.layers.Linear(i, o, rng=0)
        measure(impl, lambda: layer.forward(x), group, n, flops)


@pytest.mark.parametrize("size", LINEAR_SIZES, ids=lambda s: "x".join(map(str, s)))
def test_linear_backward(measure, impl, size):
    """Weight, bias and input gradients."""
    n, i, o = size
    x = rng(0).random((n, i), dtype=np.float32)
    g = rng(1).standard_normal((n, o)).astype(np.float32)
    flops = 4.0 * n * i * o
    group = f"linear-backward-{n}x{i}x{o}"
    if impl == "torch":
        torch = _torch()
        lin = torch.nn.Linear(i, o)
        xt = torch.from_numpy(x).requires_grad_()
        out = lin(xt)
        gt = torch.from_numpy(g)
        inputs = [xt, lin.weight, lin.bias]
        measure(impl, lambda: torch.autograd.grad(out, inputs, gt, retain_graph=True), group, n, flops)
    else:
        layer = nf.layers.Linear(i, o, rng=0)
        layer.forward(x)
        measure(impl, lambda: layer.backward(g), group, n, flops)


# -- Conv2D ----------------------------------------------------------------------

def _conv_cases():
    algos = conv_algorithms()
    cases = [pytest.param("fast", a, id=f"fast-{a}") for a in algos]
    cases += [pytest.param("reference", a, id=f"reference-{a}") for a in algos]
    cases.append(pytest.param("torch", None, id="torch"))
    return cases


def _conv_setup(shape, impl, algorithm):
    name, n, c_in, c_out, k, pad, hw = shape
    if impl == "torch":
        pytest.importorskip("torch")
    elif not hasattr(nf.layers, "Conv2D"):
        pytest.skip("nnfast has no Conv2D yet")
    x = rng(0).random((n, c_in, hw, hw), dtype=np.float32)
    h_out = hw + 2 * pad - k + 1
    flops = 2.0 * n * c_out * h_out * h_out * c_in * k * k
    return x, flops, h_out


@pytest.mark.parametrize("impl, algorithm", _conv_cases())
@pytest.mark.parametrize("shape", CONV_SHAPES, ids=lambda s: s[0])
def test_conv2d_forward(measure, shape, impl, algorithm):
    name, n, c_in, c_out, k, pad, hw = shape
    x, flops, _ = _conv_setup(shape, impl, algorithm)
    group = f"conv2d-forward-{name}"
    if impl == "torch":
        torch = _torch()
        conv = torch.nn.Conv2d(c_in, c_out, k, padding=pad)
        xt = torch.from_numpy(x)
        measure(impl, lambda: conv(xt), group, n, flops)
    else:
        layer = nf.layers.Conv2D(c_in, c_out, k, stride=1, padding=pad, algorithm=algorithm)
        measure(impl, lambda: layer.forward(x), group, n, flops)


@pytest.mark.parametrize("impl, algorithm", _conv_cases())
@pytest.mark.parametrize("shape", CONV_SHAPES, ids=lambda s: s[0])
def test_conv2d_backward(measure, shape, impl, algorithm):
    """Weight, bias and input gradients."""
    name, n, c_in, c_out, k, pad, hw = shape
    x, flops, h_out = _conv_setup(shape, impl, algorithm)
    g = rng(1).standard_normal((n, c_out, h_out, h_out)).astype(np.float32)
    group = f"conv2d-backward-{name}"
    if impl == "torch":
        torch = _torch()
        conv = torch.nn.Conv2d(c_in, c_out, k, padding=pad)
        xt = torch.from_numpy(x).requires_grad_()
        out = conv(xt)
        gt = torch.from_numpy(g)
        inputs = [xt, conv.weight, conv.bias]
        measure(impl, lambda: torch.autograd.grad(out, inputs, gt, retain_graph=True),
                group, n, 2 * flops)
    else:
        layer = nf.layers.Conv2D(c_in, c_out, k, stride=1, padding=pad, algorithm=algorithm)
        layer.forward(x)
        measure(impl, lambda: layer.backward(g), group, n, 2 * flops)


# -- Max pooling -------------------------------------------------------------------

@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("shape", POOL_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_maxpool2d(measure, impl, shape, direction):
    """2x2 max pooling, stride 2 (memory-bound: samples/s only)."""
    n = shape[0]
    x = rng(0).standard_normal(shape).astype(np.float32)
    out_shape = shape[:2] + (shape[2] // 2, shape[3] // 2)
    g = rng(1).standard_normal(out_shape).astype(np.float32)
    group = f"maxpool2d-{direction}-{'x'.join(map(str, shape))}"
    if impl == "torch":
        torch = _torch()
        xt = torch.from_numpy(x).requires_grad_(direction == "backward")
        if direction == "forward":
            measure(impl, lambda: torch.nn.functional.max_pool2d(xt, 2, 2), group, n)
        else:
            out = torch.nn.functional.max_pool2d(xt, 2, 2)
            gt = torch.from_numpy(g)
            measure(impl, lambda: torch.autograd.grad(out, xt, gt, retain_graph=True), group, n)
    else:
        if not hasattr(nf.layers, "MaxPool2D"):
            pytest.skip("nnfast has no MaxPool2D yet")
        pool = nf.layers.MaxPool2D(kernel_size=2, stride=2)
        if direction == "forward":
            measure(impl, lambda: pool.forward(x), group, n)
        else:
            pool.forward(x)
            measure(impl, lambda: pool.backward(g), group, n)


# -- log-softmax + NLL -------------------------------------------------------------

@pytest.mark.parametrize("shape", SOFTMAX_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_cross_entropy(measure, impl, shape):
    """Softmax cross-entropy (log-softmax + NLL), forward and backward together."""
    n, c = shape
    logits = (3 * rng(0).standard_normal(shape)).astype(np.float32)
    y = rng(1).integers(0, c, size=n)
    group = f"cross-entropy-{n}x{c}"
    if impl == "torch":
        torch = _torch()
        lt = torch.from_numpy(logits).requires_grad_()
        yt = torch.from_numpy(y)

        def step():
            value = torch.nn.functional.cross_entropy(lt, yt)
            return torch.autograd.grad(value, lt)
        measure(impl, step, group, n)
    else:
        if not hasattr(nf, "losses"):
            pytest.skip("nnfast has no losses yet")
        loss = nf.losses.CrossEntropyLoss()

        def step():
            loss.forward(logits, y)
            return loss.backward()
        measure(impl, step, group, n)


# -- one optimizer step ------------------------------------------------------------

@pytest.mark.parametrize("workload", ["mlp-wide", "cnn32-64"])
def test_sgd_momentum_step(measure, impl, workload):
    """One SGD step (lr 0.003, momentum 0.9) over a workload's parameters."""
    weights = wl.init_weights(workload)
    grads = [rng(k).standard_normal(w.shape).astype(np.float32) for k, w in enumerate(weights)]
    n_params = sum(w.size for w in weights)
    group = f"sgd-momentum-step-{workload}-{n_params}-params"
    if impl == "torch":
        torch = _torch()
        params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in weights]
        for p, g in zip(params, grads):
            p.grad = torch.from_numpy(g)
        opt = torch.optim.SGD(params, lr=wl.LR, momentum=wl.MOMENTUM)
        measure(impl, opt.step, group, n_params, unit="params")
    else:
        if not hasattr(nf, "optim"):
            pytest.skip("nnfast has no optim yet")
        params = [nf.Parameter(w.copy()) for w in weights]
        for p, g in zip(params, grads):
            p.grad[...] = g
        opt = nf.optim.SGD(params, lr=wl.LR, momentum=wl.MOMENTUM)
        measure(impl, opt.step, group, n_params, unit="params")
