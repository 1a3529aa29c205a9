"""Sizes that cannot fit in memory are refused with a ValueError naming the
argument before anything is allocated (they were a MemoryError, or an
allocation that starts swapping a shared machine); windows and paddings far
larger than the image cost what the image costs, on both backends."""
import tracemalloc

import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close
from nnfast._backend import use_backend

HUGE = 2**31 - 1


@pytest.mark.parametrize("make, match", [
    (lambda: nf.layers.Linear(HUGE, HUGE), r"weight \(out_features, in_features\)"),
    (lambda: nf.layers.Linear(HUGE, 8), r"weight \(out_features, in_features\)"),
    (lambda: nf.layers.Conv2D(1, 4096, kernel_size=(4096, 4096)), r"weight \(out_channels"),
    (lambda: nf.init.uniform((2**20, 2**20)), "shape"),
    (lambda: nf.init.he_normal((2**40,), 3), "shape"),
])
def test_parameters_too_large_for_memory_are_refused_without_allocating(make, match):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match + ".*more than the"):
            make()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 24


def test_sizes_are_checked_against_the_memory_there_is():
    # what fits on one machine may not on another: the budget stands in for
    # a small one (a 512 MiB weight with 64 MiB to spare)
    from nnfast._validation import allocation_budget
    with allocation_budget(1 << 26), pytest.raises(ValueError, match=r"weight \(num_parameters,\)"):
        nf.layers.PReLU(2**26, dtype=np.float64)
    nf.layers.PReLU(2**10)


def test_linear_output_too_large_for_memory_is_refused():
    layer = nf.layers.Linear(1, 2**20)            # 4 MB of weights
    x = np.ones((2**20, 1), np.float32)           # 4 MB of input
    with pytest.raises(ValueError, match=r"output for x of shape \(1048576, 1\).*4\.0 TiB"):
        layer.forward(x)                          # 4 TiB of output


def test_conv_padding_that_makes_a_huge_output_is_refused():
    layer = nf.layers.Conv2D(1, 8, kernel_size=1, padding=((2**28, 0), (0, 0)))   # 48 GiB out
    with pytest.raises(ValueError, match=r"output for x of shape \(2, 1, 3, 3\).*padding"):
        layer.forward(np.ones((2, 1, 3, 3), np.float32))


@pytest.mark.parametrize("pool", [nf.layers.MaxPool2D, nf.layers.AvgPool2D])
def test_a_window_far_larger_than_the_image_works_on_both_backends(pool, dtype):
    # valid: the padding is half the window, so every window meets the image.
    # The compiled kernels clip each window to the image; the NumPy twin
    # visits only the taps that reach the image. Checked against the twin and,
    # for max pooling, against the direct meaning (each window holds a whole
    # column band).
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4)).astype(dtype)
    layer = pool(kernel_size=(2**31 - 1, 3), stride=1, padding=(2**30 - 1, 1))
    out = layer.forward(x)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    grad = layer.backward(g)
    assert out.shape == (2, 3, 5, 4)
    assert np.isfinite(out).all() and np.isfinite(grad).all()
    if pool is nf.layers.MaxPool2D:
        # every window holds its whole column: the column maximum
        np.testing.assert_array_equal(
            out, np.maximum.reduce([np.pad(x, ((0, 0), (0, 0), (0, 0), (1, 1)),
                                           constant_values=-np.inf)[..., j:j + 4]
                                    for j in range(3)]).max(axis=2, keepdims=True)
            .repeat(5, axis=2))
    with use_backend("reference"):
        ref = pool(kernel_size=(2**31 - 1, 3), stride=1, padding=(2**30 - 1, 1))
        ref_out = ref.forward(x)
        ref_grad = ref.backward(g)
    assert_close(out, ref_out, dtype)
    assert_close(grad, ref_grad, dtype)


@pytest.mark.parametrize("pool", [nf.layers.MaxPool2D, nf.layers.AvgPool2D])
def test_a_huge_window_and_stride_visit_only_the_image_on_the_reference(pool, dtype):
    # kernel and stride of 2**31 - 1 with padding of 2**30 - 1: one window per
    # plane, which the NumPy twin once tried to pad to 16 GiB
    x = np.random.default_rng(2).standard_normal((3, 2, 5, 4)).astype(dtype)
    outs = []
    for backend in ("fast", "reference"):
        with use_backend(backend):
            layer = pool(kernel_size=(2**31 - 1, 1), stride=2**31 - 1, padding=(2**30 - 1, 0))
            out = layer.forward(x)
            outs.append((out, layer.backward(np.ones_like(out))))
    assert outs[0][0].shape == (3, 2, 1, 1)
    assert_close(outs[0][0], outs[1][0], dtype)
    assert_close(outs[0][1], outs[1][1], dtype)
