"""Upsampling kernels: fast == reference over seeded shapes, integer and
fractional scales (above and below 1, the special sizes torch copies or
halves), both modes and both align_corners, dtypes and thread counts; equality
with torch's interpolate; a backward that is the forward's adjoint and does
not depend on the thread count; the floating-point mode a call leaves."""
import math

import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from nnfast._kernels import _threads
from conftest import assert_close, threads_and_cutoff

VARIANTS = [("nearest", False), ("bilinear", False), ("bilinear", True)]
IDS = ["nearest", "bilinear", "bilinear-align"]


def random_scale(rng, size, kind):
    """A scale of one of the kinds the kernels treat apart."""
    if kind == 0:
        return float(rng.integers(1, 5))                 # integer (1: a copy)
    if kind == 1:
        return float(rng.choice([0.5, 1.5, 2.5, 0.75]))  # fractional, exact in binary
    if kind == 2:
        return float(rng.uniform(0.3, 4.0))              # anything
    if kind == 3:
        return 1.0 + 0.4 / (size + 1)                    # size unchanged, scale != 1
    return 2.0 + 0.4 / (size + 1)                        # size doubled, scale != 2


def random_case(seed, dtype):
    rng = np.random.default_rng(seed)
    while True:
        n, c = (int(v) for v in rng.integers(1, [4, 5]))
        h, w = (int(v) for v in rng.integers(1, 13, 2))
        scale = (random_scale(rng, h, seed % 5), random_scale(rng, w, (seed // 5) % 5))
        oh, ow = math.floor(h * scale[0]), math.floor(w * scale[1])
        if oh >= 1 and ow >= 1:
            break
    return dict(x=rng.standard_normal((n, c, h, w)).astype(dtype),
                grad_output=rng.standard_normal((n, c, oh, ow)).astype(dtype),
                scale=scale)


def run(kernels, case, mode, align_corners):
    """(out, grad_input), both started as NaN (every element must be written)."""
    x, g, scale = case["x"], case["grad_output"], case["scale"]
    out = np.full(g.shape, np.nan, dtype=x.dtype)
    grad_input = np.full(x.shape, np.nan, dtype=x.dtype)
    if mode == "nearest":
        kernels.upsample2d_nearest_forward(x, scale, out)
        kernels.upsample2d_nearest_backward(g, scale, grad_input)
    else:
        kernels.upsample2d_bilinear_forward(x, scale, align_corners, out)
        kernels.upsample2d_bilinear_backward(g, scale, align_corners, grad_input)
    return out, grad_input


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
@pytest.mark.parametrize("seed", range(50))
def test_upsample_fast_matches_reference(seed, variant, dtype, threads):
    case = random_case(seed, dtype)
    expected = run(reference, case, *variant)
    got = run(_kernels, case, *variant)
    for a, b in zip(got, expected):
        assert a.dtype == dtype
        assert np.all(np.isfinite(a))
        assert_close(a, b, dtype)
    # the forward gathers: equal, not merely close
    np.testing.assert_array_equal(got[0], expected[0])


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
@pytest.mark.parametrize("seed", range(0, 50, 3))
def test_upsample_matches_torch(seed, variant, dtype, torch):
    """Planes smaller than torch's vectorised path (see the layer's docstring),
    so that torch's forward and backward follow one rule."""
    mode, align_corners = variant
    case = random_case(seed, dtype)
    x = torch.tensor(case["x"], requires_grad=True)
    kwargs = {} if mode == "nearest" else {"align_corners": align_corners}
    out = torch.nn.functional.interpolate(x, scale_factor=case["scale"], mode=mode, **kwargs)
    out.backward(torch.tensor(case["grad_output"]))
    for kernels in (_kernels, reference):
        got_out, got_grad = run(kernels, case, mode, align_corners)
        assert got_out.shape == tuple(out.shape)
        assert_close(got_out, out.detach().numpy(), dtype)
        assert_close(got_grad, x.grad.numpy(), dtype)
        if mode == "nearest":
            np.testing.assert_array_equal(got_out, out.detach().numpy())


@pytest.mark.parametrize("size, scale", [(5, 1.1), (7, 2.05), (40, 2.01), (9, 1.0), (6, 3.0)])
def test_nearest_indices_at_the_sizes_torch_copies_or_halves(size, scale, torch):
    """Equal sizes copy and doubled sizes halve the index whatever the scale,
    as torch's backward (and its forward on small planes) does."""
    x = np.arange(size, dtype=np.float64).reshape(1, 1, 1, size).repeat(2, axis=1)
    out_size = math.floor(size * scale)
    for kernels in (_kernels, reference):
        out = np.empty((1, 2, 1, out_size))
        kernels.upsample2d_nearest_forward(x, (1.0, scale), out)
        if out_size == size:
            np.testing.assert_array_equal(out[0, 0, 0], np.arange(size))
        elif out_size == 2 * size:
            np.testing.assert_array_equal(out[0, 0, 0], np.arange(out_size) // 2)
    xt = torch.zeros((1, 2, 1, size), dtype=torch.float64, requires_grad=True)
    g = np.random.default_rng(size).standard_normal((1, 2, 1, out_size))
    torch.nn.functional.interpolate(xt, scale_factor=(1.0, scale), mode="nearest").backward(
        torch.tensor(g))
    grad = np.empty((1, 2, 1, size))
    _kernels.upsample2d_nearest_backward(g, (1.0, scale), grad)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
@pytest.mark.parametrize("seed", range(10))
def test_upsample_backward_is_the_adjoint_of_the_forward(seed, variant):
    """<forward(x), g> == <x, backward(g)>: the backward scatters exactly
    the weights the forward gathered with."""
    case = random_case(seed, np.float64)
    out, grad_input = run(_kernels, case, *variant)
    lhs = float(np.sum(out * case["grad_output"]))
    rhs = float(np.sum(case["x"] * grad_input))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(rhs))


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_upsample_backward_does_not_depend_on_threads_or_parts(variant, dtype):
    """Each plane's gradient is summed by one thread in one order: bit for
    bit the same on 1 and 2 threads, and in deterministic mode."""
    rng = np.random.default_rng(0)
    case = dict(x=rng.standard_normal((3, 5, 9, 7)).astype(dtype),
                grad_output=rng.standard_normal((3, 5, 22, 10)).astype(dtype),
                scale=(2.5, 1.5))
    results = []
    for n_threads in (1, 2):
        with threads_and_cutoff(n_threads):
            results.append(run(_kernels, case, *variant))
    nf.set_deterministic(True)
    try:
        with threads_and_cutoff(2):
            results.append(run(_kernels, case, *variant))
    finally:
        nf.set_deterministic(False)
    for out, grad in results[1:]:
        np.testing.assert_array_equal(out, results[0][0])
        np.testing.assert_array_equal(grad, results[0][1])


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_many_planes_fewer_and_more_than_threads(variant, threads):
    for n, c in ((1, 1), (7, 3)):
        rng = np.random.default_rng(n)
        case = dict(x=rng.standard_normal((n, c, 6, 5)),
                    grad_output=rng.standard_normal((n, c, 12, 7)), scale=(2.0, 1.5))
        for got, expected in zip(run(_kernels, case, *variant), run(reference, case, *variant)):
            assert_close(got, expected, np.float64)


def test_upsample_kernels_leave_the_fp_mode_as_found(dtype, threads):
    mode = _threads.fp_mode()
    case = random_case(7, dtype)
    for variant in VARIANTS:
        run(_kernels, case, *variant)
    assert _threads.fp_mode() == mode


def test_two_threads_calling_at_once_get_their_own_results():
    """Each call's tables are its own (allocated per call): two Python
    threads upsampling different images at once, forward and backward, get
    what each would get alone, bitwise."""
    import threading
    rng = np.random.default_rng(9)
    cases = [(rng.standard_normal((2, 3, 17, 23)).astype(np.float32), scale)
             for scale in ((2.0, 1.5), (0.75, 3.0))]

    def once(x, scale):
        out = np.empty(x.shape[:2] + (int(x.shape[2] * scale[0]), int(x.shape[3] * scale[1])),
                       np.float32)
        _kernels.upsample2d_bilinear_forward(x, scale, False, out)
        back = np.empty_like(x)
        _kernels.upsample2d_bilinear_backward(out, scale, False, back)
        near = np.empty_like(out)
        _kernels.upsample2d_nearest_forward(x, scale, near)
        return out, back, near

    alone = [once(*case) for case in cases]
    results = [None, None]

    def run(i):
        results[i] = [once(*cases[i]) for _ in range(30)]

    workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i in range(2):
        for got in results[i]:
            for a, b in zip(got, alone[i]):
                np.testing.assert_array_equal(a, b)
