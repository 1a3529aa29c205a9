"""Conv2D's input gradient as a forward convolution with the flipped kernel
(stride 1, "same" padding, float32, where the small GEMM runs): the same as
the backward kernel's GEMM + col2im and as the NumPy reference, over random
odd kernels, and not taken where it does not apply."""
import numpy as np
import pytest

import nnfast as nf
from nnfast._kernels import _small_gemm
from nnfast.layers import conv
from conftest import assert_close, threads_and_cutoff

pytestmark = pytest.mark.skipif(not _small_gemm.available(), reason="this CPU has neither AVX-512F nor AVX2 with FMA")


@pytest.fixture
def flipped():
    old = conv.FLIPPED_INPUT_GRAD[0]
    yield conv.FLIPPED_INPUT_GRAD
    conv.FLIPPED_INPUT_GRAD[0] = old


def _case(seed):
    rng = np.random.default_rng(seed)
    c, o = (int(v) for v in rng.integers(1, [9, 9]))
    kh, kw = (2 * int(v) + 1 for v in rng.integers(0, 3, 2))      # odd: 1, 3 or 5
    padding = ((kh // 2, kh // 2), (kw // 2, kw // 2)) if seed % 3 else "same"
    h, w = (int(v) for v in rng.integers(max(kh, kw), 12, 2))
    layer = nf.layers.Conv2D(c, o, (kh, kw), padding=padding, bias=bool(seed % 2), rng=seed)
    x = rng.standard_normal((int(rng.integers(1, 4)), c, h, w)).astype(np.float32)
    return layer, x, rng


def _gradients(layer, x, g):
    for p in layer.parameters():
        p.grad[...] = 0
    layer.forward(x)
    gi = layer.backward(g).copy()
    return [gi] + [p.grad.copy() for p in layer.parameters()]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("threads", [1, 2])
def test_flipped_input_grad_equals_col2im_and_reference(seed, threads, flipped):
    layer, x, rng = _case(seed)
    g = rng.standard_normal(layer.output_shape(x.shape)).astype(np.float32)
    with threads_and_cutoff(threads):
        flipped[0] = True
        fast = _gradients(layer, x, g)
        assert layer._flipped_input_grad()
        flipped[0] = False
        col2im = _gradients(layer, x, g)
    with nf.use_backend("reference"):
        ref = _gradients(layer, x, g)
    for a, b, r in zip(fast, col2im, ref):
        assert_close(a, b, np.float32)
        assert_close(a, r, np.float32)


def test_not_taken_where_it_does_not_apply(flipped):
    flipped[0] = True
    x32 = np.zeros((1, 2, 8, 8), np.float32)
    cases = [nf.layers.Conv2D(2, 2, 3, stride=2, padding=1),
             nf.layers.Conv2D(2, 2, 3, dilation=2, padding=1),
             nf.layers.Conv2D(2, 2, 3, padding=1, groups=2),
             nf.layers.Conv2D(2, 2, 3, padding=3),
             nf.layers.Conv2D(2, 2, 3, padding=0),
             nf.layers.Conv2D(2, 2, 3, padding=((1, 0), (1, 1))),
             nf.layers.Conv2D(2, 2, 4, padding="same"),
             nf.layers.Conv2D(2, 2, 3, padding=1, dtype=np.float64),
             nf.layers.Conv2D(2, 2, 3, padding=1, algorithm="direct")]
    for layer in cases:
        layer.forward(x32)
        assert not layer._flipped_input_grad(), layer
    layer = nf.layers.Conv2D(2, 2, 3, padding=1)
    layer.forward(x32)
    assert layer._flipped_input_grad()
    old = _small_gemm.set_enabled(False)
    try:
        assert not layer._flipped_input_grad()
    finally:
        _small_gemm.set_enabled(old)
    with nf.use_backend("reference"):
        assert not layer._flipped_input_grad()
