"""Global average pooling kernels: fast == reference over seeded shapes,
strided and reversed views, dtypes and thread counts; equality with torch's
adaptive average pooling; float32 means as accurate as float32 holds; a
backward that is the forward's adjoint; results that do not depend on the
thread count or on a view's strides; the floating-point mode a call leaves;
two threads calling at once."""
import threading

import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from nnfast._kernels import _threads
from conftest import assert_close, threads_and_cutoff


def random_case(seed, dtype):
    rng = np.random.default_rng(seed)
    n, c = (int(v) for v in rng.integers(1, [5, 7]))
    h, w = (int(v) for v in rng.integers(1, 15, 2))
    # mixed scales and an offset: the sums cancel partly
    x = rng.standard_normal((n, c, h, w)) * 10.0 ** rng.integers(-2, 3) + rng.uniform(-3, 3)
    return dict(x=x.astype(dtype), grad_output=rng.standard_normal((n, c, 1, 1)).astype(dtype))


def run(kernels, x, grad_output):
    """(out, grad_input), both started as NaN (every element must be written)."""
    out = np.full(x.shape[:2] + (1, 1), np.nan, dtype=x.dtype)
    grad_input = np.full(x.shape, np.nan, dtype=x.dtype)
    kernels.global_avgpool2d_forward(x, out)
    kernels.global_avgpool2d_backward(grad_output, grad_input)
    return out, grad_input


def views(x):
    """Views of other strides with x's values (their planes strided, or the
    samples and channels), and the contiguous arrays they equal."""
    wide = np.repeat(x, 2, axis=3)[..., ::2]                       # every other column
    every_other_channel = np.repeat(x, 2, axis=1)[:, ::2]          # contiguous planes
    reversed_ = np.ascontiguousarray(x[:, ::-1, ::-1, ::-1])[:, ::-1, ::-1, ::-1]
    fortran = np.asfortranarray(x)
    transposed = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    return [wide, every_other_channel, reversed_, fortran, transposed]


@pytest.mark.parametrize("seed", range(40))
def test_global_pool_fast_matches_reference(seed, dtype, threads):
    case = random_case(seed, dtype)
    expected = run(reference, case["x"], case["grad_output"])
    got = run(_kernels, case["x"], case["grad_output"])
    for a, b in zip(got, expected):
        assert a.dtype == dtype
        assert np.all(np.isfinite(a))
        assert_close(a, b, dtype)
    # the backward is one quotient per plane, rounded once: equal, not close
    np.testing.assert_array_equal(got[1], expected[1])


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_strided_views_give_the_bits_of_their_contiguous_copy(seed, dtype, threads):
    """A view is read in place, in the order of its contiguous copy: the
    same bits, and the reference's values."""
    case = random_case(seed, dtype)
    x, g = case["x"], case["grad_output"]
    expected = run(_kernels, x, g)
    g_strided = np.repeat(g, 3, axis=1)[:, ::3]
    for view in views(x):
        np.testing.assert_array_equal(view, x)
        got = run(_kernels, view, g_strided)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
        ref = run(reference, view, g_strided)
        assert_close(got[0], ref[0], dtype)
        np.testing.assert_array_equal(got[1], ref[1])


@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_global_pool_matches_torch(seed, dtype, torch):
    case = random_case(seed, dtype)
    x = torch.tensor(case["x"], requires_grad=True)
    out = torch.nn.AdaptiveAvgPool2d(1)(x)
    out.backward(torch.tensor(case["grad_output"]))
    for kernels in (_kernels, reference):
        got_out, got_grad = run(kernels, case["x"], case["grad_output"])
        assert got_out.shape == tuple(out.shape)
        assert_close(got_out, out.detach().numpy(), dtype)
        assert_close(got_grad, x.grad.numpy(), dtype)


def test_float32_means_are_the_rounded_exact_mean():
    """A float32 plane is summed in double: its mean is the exact mean
    rounded to float32 (to within one ulp). A float32 running sum of these
    million values near 1000 ends about 1.5e5 ulps off (1009.998 for a mean
    of 1000.500)."""
    rng = np.random.default_rng(11)
    x = (rng.random((2, 3, 1000, 1000)) + 1000).astype(np.float32)
    exact = x.astype(np.float64).sum(axis=(2, 3), keepdims=True) / 1e6
    for kernels in (_kernels, reference):
        out = np.empty((2, 3, 1, 1), np.float32)
        kernels.global_avgpool2d_forward(x, out)
        ulp = np.spacing(exact.astype(np.float32))
        assert np.all(np.abs(out - exact) <= ulp)


@pytest.mark.parametrize("seed", range(10))
def test_global_pool_backward_is_the_adjoint_of_the_forward(seed):
    """<forward(x), g> == <x, backward(g)>."""
    case = random_case(seed, np.float64)
    out, grad_input = run(_kernels, case["x"], case["grad_output"])
    lhs = float(np.sum(out * case["grad_output"]))
    rhs = float(np.sum(case["x"] * grad_input))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, float(np.sum(np.abs(case["x"] * grad_input))))


def test_global_pool_does_not_depend_on_threads_or_parts(dtype):
    """Each plane is summed by one thread in one order: bit for bit the same
    on 1 and 2 threads, and in deterministic mode."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 17, 13)).astype(dtype)
    g = rng.standard_normal((3, 5, 1, 1)).astype(dtype)
    results = []
    for n_threads in (1, 2):
        with threads_and_cutoff(n_threads):
            results.append(run(_kernels, x, g))
    nf.set_deterministic(True)
    try:
        with threads_and_cutoff(2):
            results.append(run(_kernels, x, g))
    finally:
        nf.set_deterministic(False)
    for out, grad in results[1:]:
        np.testing.assert_array_equal(out, results[0][0])
        np.testing.assert_array_equal(grad, results[0][1])


def test_many_planes_fewer_and_more_than_threads(threads):
    for n, c, h, w in ((1, 1, 6, 5), (7, 3, 2, 9), (2, 2, 1, 1), (1, 3, 1, 7)):
        rng = np.random.default_rng(n * c)
        x, g = rng.standard_normal((n, c, h, w)), rng.standard_normal((n, c, 1, 1))
        for got, expected in zip(run(_kernels, x, g), run(reference, x, g)):
            assert_close(got, expected, np.float64)


def test_global_pool_kernels_leave_the_fp_mode_as_found(dtype, threads):
    mode = _threads.fp_mode()
    case = random_case(7, dtype)
    run(_kernels, case["x"], case["grad_output"])
    run(_kernels, views(case["x"])[0], case["grad_output"])
    assert _threads.fp_mode() == mode


def test_two_threads_calling_at_once_get_their_own_results():
    """Each call's arguments are its own: two Python threads pooling
    different images at once, forward and backward, get what each would get
    alone, bitwise."""
    rng = np.random.default_rng(9)
    cases = [(rng.standard_normal((2, 3, 17, 23)).astype(np.float32),
              rng.standard_normal((2, 3, 1, 1)).astype(np.float32)),
             (rng.standard_normal((4, 2, 9, 31)).astype(np.float32)[..., ::2],
              rng.standard_normal((4, 2, 1, 1)).astype(np.float32))]
    alone = [run(_kernels, *case) for case in cases]
    results = [None, None]

    def work(i):
        results[i] = [run(_kernels, *cases[i]) for _ in range(30)]

    workers = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i in range(2):
        for got in results[i]:
            for a, b in zip(got, alone[i]):
                np.testing.assert_array_equal(a, b)
