"""The softmax and log-softmax forwards over maps, (n_samples, n_classes,
size) with size > 1 (float32: csrc/softmax_spatial.h's blocks of 256
positions, vectorized): against a float64 NumPy formula at sizes either side
of the block and vector widths, class counts 1 to 10, 1 and 2 threads;
results independent of the thread count and of where a block starts;
extreme logits and NaN as the one-vector path treats them."""
import numpy as np
import pytest

from nnfast import _kernels, reference
from conftest import assert_close, threads_and_cutoff

KINDS = ["softmax", "log_softmax"]
SIZES = [1, 2, 15, 16, 17, 255, 256, 257, 1000]
CLASSES = [1, 2, 3, 10]


def exact(kind, x):
    """The float64 formula: (n_samples, n_classes, size) -> the same shape."""
    x = x.astype(np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted - log_total if kind == "log_softmax" else np.exp(shifted - log_total)


def forward(kind, x, kernels=_kernels):
    out = np.full_like(x, np.nan)  # a position the kernel skips shows
    getattr(kernels, kind + "_forward")(x, out)
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", CLASSES)
@pytest.mark.parametrize("size", SIZES)
def test_matches_float64_formula(kind, n_classes, size, dtype, threads):
    """Three samples, so that with 2 threads the split falls inside a sample
    and a thread's first block starts mid-sample. Float32 within 1e-5
    (the rounding of x - max in float32 alone is ~|x - max| * 6e-8)."""
    rng = np.random.default_rng([n_classes, size])
    x = (rng.standard_normal((3, n_classes, size)) * 3).astype(dtype)
    out = forward(kind, x)
    assert out.dtype == dtype
    assert_close(out, exact(kind, x), dtype, rtol=1e-5 if dtype == np.float32 else None)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_classes", CLASSES)
def test_same_bits_for_any_thread_count_and_block_start(kind, n_classes, dtype):
    """Each position's output does not depend on which thread computes it,
    nor on where its block or vector lanes start (a map without its first 3
    positions gives the rest of the full map's outputs bit for bit)."""
    x = (np.random.default_rng(n_classes).standard_normal((5, n_classes, 1000)) * 4).astype(dtype)
    outs = []
    for n_threads in (1, 2):
        with threads_and_cutoff(n_threads):
            outs.append(forward(kind, x))
    np.testing.assert_array_equal(outs[0], outs[1])
    shifted = forward(kind, np.ascontiguousarray(x[:, :, 3:]))
    np.testing.assert_array_equal(shifted, outs[0][:, :, 3:])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [17, 300])
def test_extreme_logits(kind, size, dtype, threads):
    """+-1e4 logits are finite; a class at -inf gets probability 0 (log
    -inf) and leaves the rest as without it; equal logits give 1 / C; one
    logit 2e4 above the rest gives exactly 1 (log 0)."""
    rng = np.random.default_rng(size)
    n_classes = 3
    x = np.where(rng.random((2, n_classes, size)) < 0.5, -1e4, 1e4).astype(dtype)
    x += rng.standard_normal(x.shape).astype(dtype)
    out = forward(kind, x)
    assert np.all(np.isfinite(out))
    assert_close(out, exact(kind, x), dtype, rtol=1e-5 if dtype == np.float32 else None)

    with_inf = (rng.standard_normal((2, n_classes, size)) * 3).astype(dtype)
    with_inf[:, 1] = -np.inf
    out = forward(kind, with_inf)
    np.testing.assert_array_equal(out[:, 1], 0 if kind == "softmax" else -np.inf)
    rest = forward(kind, np.ascontiguousarray(with_inf[:, [0, 2]]))
    np.testing.assert_array_equal(out[:, [0, 2]], rest)

    equal = np.full((2, n_classes, size), 7.5, dtype)
    out = forward(kind, equal)
    assert_close(out, exact(kind, equal), dtype, rtol=1e-6 if dtype == np.float32 else None)
    np.testing.assert_array_equal(out, out[0, 0, 0])  # every position alike

    big = np.full((2, n_classes, size), -1e4, dtype)
    big[:, 0] = 1e4
    out = forward(kind, big)
    np.testing.assert_array_equal(out[:, 0], 1 if kind == "softmax" else 0)
    if kind == "softmax":
        np.testing.assert_array_equal(out[:, 1:], 0)


@pytest.mark.parametrize("kind", KINDS)
def test_nan_and_inf_as_reference(kind, dtype, threads):
    """A NaN or +inf logit makes its position's outputs NaN (as NumPy's
    formula does) and no other position's."""
    x = np.random.default_rng(7).standard_normal((2, 3, 40)).astype(dtype)
    x[0, 0, 5] = np.nan   # in the class the max starts from
    x[0, 2, 6] = np.nan   # in a later class
    x[1, 1, 30] = np.inf
    out = forward(kind, x)
    with np.errstate(invalid="ignore"):
        ref = forward(kind, x, reference)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    bad = np.zeros(out.shape, bool)
    bad[0, :, 5] = bad[0, :, 6] = bad[1, :, 30] = True
    np.testing.assert_array_equal(np.isnan(out), bad)
    assert_close(out[~bad], ref[~bad], dtype)
