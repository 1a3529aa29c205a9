"""Sequential applies a ReLU inside the Linear, Conv2D or BatchNorm before
it, takes a ReLU's backward into the MaxPool2D after it, and into the
BatchNorm before it.

The fused passes must give exactly what the layers' own forwards and
backwards give, and leave the same state; the kernels' ``relu`` flag and
``pooled`` mask must match the NumPy twins (NaN kept, as the ReLU kernel
keeps it)."""
import copy

import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from nnfast import layers as L
from nnfast._kernels import _conv_plan as fast_conv
from nnfast.fuzz.doubles import LayerChain
from test_linear import random_linear_case


def _run(model, x, grad, fused):
    network = model if fused else LayerChain(model.layers)
    out = network.forward(x).copy()
    grad_input = network.backward(grad).copy()
    grads = [p.grad.copy() for p in model.parameters()]
    return out, grad_input, grads


def _compare(model, x):
    twin = copy.deepcopy(model)
    rng = np.random.default_rng(5)
    out_shape = twin.forward(x).shape
    grad = rng.standard_normal(out_shape).astype(x.dtype)
    for p in twin.parameters():
        p.zero_grad()
    a = _run(model, x, grad, fused=True)
    b = _run(twin, x, grad, fused=False)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    for ga, gb in zip(a[2], b[2]):
        np.testing.assert_array_equal(ga, gb)


@pytest.mark.parametrize("algorithm", ["im2col", "direct"])
@pytest.mark.parametrize("span", ["never", "always"])
def test_conv_relu_fused_equals_unfused(algorithm, span, dtype, threads):
    old = fast_conv.get_span_columns()
    fast_conv.set_span_columns(span)
    try:
        rng = np.random.default_rng(0)
        model = nf.Sequential([
            L.Conv2D(2, 3, 3, padding=1, algorithm=algorithm, dtype=dtype, rng=1), L.ReLU(),
            L.Conv2D(3, 4, 1, algorithm=algorithm, dtype=dtype, rng=2), L.ReLU(),
            L.Flatten(), L.Linear(4 * 5 * 6, 7, dtype=dtype, rng=3), L.ReLU(),
            L.Linear(7, 2, dtype=dtype, rng=4)])
        x = rng.standard_normal((3, 2, 5, 6)).astype(dtype)
        _compare(model, x)
    finally:
        fast_conv.set_span_columns(old)


@pytest.mark.parametrize("pool", [(2, 2), (3, 2), (3, 1)], ids=["2x2", "3x3s2", "3x3s1"])
def test_relu_maxpool_backward_fused_equals_unfused(pool, dtype, threads):
    """Overlapping windows (a pixel the maximum of several) and exact zeros
    (a window of ReLU zeros) included."""
    kernel, stride = pool
    rng = np.random.default_rng(kernel * 10 + stride)
    model = nf.Sequential([
        L.Conv2D(2, 3, 3, padding=1, dtype=dtype, rng=1), L.ReLU(),
        L.MaxPool2D(kernel, stride=stride), L.ReLU(), L.MaxPool2D(2, stride=1),
        L.Flatten()])
    x = rng.standard_normal((3, 2, 9, 8)).astype(dtype)
    x[0, :, :4] = -5.0  # whole windows of ReLU zeros
    _compare(model, x)


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_fused_network_gradcheck(backend):
    """Central differences in float64 through both fusions: Conv2D + ReLU
    and Linear + ReLU forward, ReLU + MaxPool2D backward."""
    with nf.use_backend(backend):
        model = nf.Sequential([
            L.Conv2D(2, 3, 3, padding=1, dtype=np.float64, rng=1), L.ReLU(), L.MaxPool2D(2),
            L.Flatten(), L.Linear(3 * 3 * 4, 5, dtype=np.float64, rng=2), L.ReLU(),
            L.Linear(5, 2, dtype=np.float64, rng=3)])
        x = np.random.default_rng(7).standard_normal((3, 2, 6, 8))
        nf.gradcheck(model, x)


def test_fused_forward_under_reference_backend(dtype):
    with nf.use_backend("reference"):
        model = nf.Sequential([L.Linear(5, 4, dtype=dtype, rng=0), L.ReLU(),
                               L.Linear(4, 3, dtype=dtype, rng=1)])
        _compare(model, np.random.default_rng(1).standard_normal((6, 5)).astype(dtype))
        model = nf.Sequential([L.Conv2D(1, 2, 3, dtype=dtype, rng=0), L.ReLU(),
                               L.MaxPool2D(2), L.Flatten()])
        _compare(model, np.random.default_rng(2).standard_normal((2, 1, 8, 8)).astype(dtype))


def test_relu_state_after_fused_forward():
    model = nf.Sequential([L.Linear(3, 4, rng=0), L.ReLU()])
    out = model.forward(np.ones((2, 3), np.float32))
    relu = model.layers[1]
    assert relu._saved is out
    assert relu._grad_output_shape == out.shape
    assert np.all(out >= 0)


def test_subclass_with_own_forward_is_not_fused():
    class Doubled(L.Linear):
        def forward(self, x):
            return 2 * super().forward(x)

    assert L.Linear.fuses_relu and not Doubled.fuses_relu
    model = nf.Sequential([Doubled(3, 2, rng=0), L.ReLU()])
    plain = L.Linear(3, 2, rng=0)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(model.forward(x), np.maximum(2 * plain.forward(x), 0))


def test_subclass_with_both_forwards_is_fused():
    calls = []

    class Logged(L.Linear):
        def forward(self, x):
            calls.append("forward")
            return super().forward(x)

        def forward_relu(self, x):
            calls.append("forward_relu")
            return super().forward_relu(x)

    assert Logged.fuses_relu
    model = nf.Sequential([Logged(3, 2, rng=0), L.ReLU()])
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    out = model.forward(x)
    assert calls == ["forward_relu"]
    np.testing.assert_array_equal(out, np.maximum(L.Linear(3, 2, rng=0).forward(x), 0))


class Scale(L.Layer):
    """A custom layer declaring the ReLU fusion: y = 3 * x."""

    fuses_relu = True

    def __init__(self):
        super().__init__()
        self.fused_calls = 0

    def forward(self, x):
        return 3 * x

    def forward_relu(self, x):
        self.fused_calls += 1
        return np.maximum(self.forward(x), 0)

    def backward(self, grad_output):
        return 3 * grad_output


def test_custom_layer_declaring_fuses_relu_is_fused():
    model = nf.Sequential([Scale(), L.ReLU()])
    x = np.random.default_rng(3).standard_normal((4, 5))
    out = model.forward(x)
    assert model.layers[0].fused_calls == 1
    np.testing.assert_array_equal(out, np.maximum(3 * x, 0))
    # the ReLU was given the state its own forward leaves
    g = np.random.default_rng(4).standard_normal(x.shape)
    np.testing.assert_array_equal(model.backward(g), 3 * np.where(x > 0, g, 0))


def test_undeclared_custom_layer_is_not_fused():
    class Plain(Scale):
        fuses_relu = False

    model = nf.Sequential([Plain(), L.ReLU()])
    model.forward(np.ones((2, 3)))
    assert model.layers[0].fused_calls == 0


def test_relu_subclass_is_not_absorbed():
    class Clipped(L.ReLU):
        def forward(self, x):
            return np.minimum(super().forward(x), 1.0)

    model = nf.Sequential([L.Linear(3, 4, rng=0), Clipped()])
    x = 10 * np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    expected = np.clip(L.Linear(3, 4, rng=0).forward(x), 0, 1)
    np.testing.assert_array_equal(model.forward(x), expected)


def test_maxpool_subclass_with_own_backward_is_not_fused_backward():
    seen = []

    class Logged(L.MaxPool2D):
        def backward(self, grad_output):
            seen.append("backward")
            return super().backward(grad_output)

    assert L.MaxPool2D.fuses_relu_backward and not Logged.fuses_relu_backward
    model = nf.Sequential([L.ReLU(), Logged(2)])
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    out = model.forward(x)
    model.backward(np.ones_like(out))
    assert seen == ["backward"]


def test_custom_layer_declaring_fused_backward_is_asked():
    class Through(L.Layer):
        fuses_relu_backward = True

        def forward(self, x):
            self._x = x
            return x

        def backward(self, grad_output):
            return grad_output

        def backward_relu(self, grad_output):
            return np.where(self._x > 0, grad_output, 0)

    through = Through()
    through.backward = lambda g: pytest.fail("the unfused backward ran")
    model = nf.Sequential([L.ReLU(), through])
    x = np.random.default_rng(0).standard_normal((3, 4))
    model.forward(x)
    g = np.random.default_rng(1).standard_normal((3, 4))
    np.testing.assert_array_equal(model.backward(g), np.where(x > 0, g, 0))


def test_fused_passes_need_a_declaration():
    with pytest.raises(NotImplementedError, match="fuses_relu"):
        L.Sigmoid().forward_relu(np.ones(3))
    with pytest.raises(NotImplementedError, match="fuses_relu_backward"):
        L.AvgPool2D(2).backward_relu(np.ones((1, 1, 1, 1)))


def test_fused_backward_checks_what_the_relu_saw():
    """A ReLU whose output was not the pool's input: the same error as the
    ReLU's own backward gives."""
    relu, pool = L.ReLU(), L.MaxPool2D(2)
    relu.forward(np.ones((1, 1, 6, 6)))
    pool.forward(np.ones((1, 1, 4, 4)))
    model = nf.Sequential([relu, pool])
    with pytest.raises(ValueError, match="grad_output"):
        model.backward(np.ones((1, 1, 2, 2)))


def test_other_activations_are_not_fused():
    model = nf.Sequential([L.Linear(3, 2, rng=0), L.LeakyReLU(0.5)])
    plain = L.Linear(3, 2, rng=0)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    y = plain.forward(x)
    np.testing.assert_allclose(model.forward(x), np.where(y > 0, y, 0.5 * y))


@pytest.mark.parametrize("seed", range(20))
def test_linear_relu_flag_fast_matches_reference(seed, dtype, threads):
    x, w, b, _ = random_linear_case(seed, dtype)
    n, o = x.shape[0], w.shape[0]
    x[0, :] = np.nan  # a NaN row: the output row stays NaN, as ReLU keeps NaN
    outs = []
    for kernels in (_kernels, reference):
        out = np.empty((n, o), dtype)
        kernels.linear_forward(x, w, b, out, True)
        outs.append(out)
    assert np.all(np.isnan(outs[0][0]))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-4 if dtype == np.float32 else 1e-10)
    assert np.all(outs[0][1:] >= 0)


@pytest.mark.parametrize("seed", range(20))
def test_conv_relu_flag_fast_matches_reference(seed, dtype, threads):
    rng = np.random.default_rng(seed)
    n, c, o = (int(v) for v in rng.integers(1, [4, 4, 5]))
    k = int(rng.integers(1, 4))
    x = rng.standard_normal((n, c, 7, 6)).astype(dtype)
    w = rng.standard_normal((o, c, k, k)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    out_shape = (n, o, 7 - k + 1, 6 - k + 1)
    ws = np.empty(_kernels.conv2d_workspace_size(w.shape, out_shape, dtype), dtype)
    expected = np.empty(out_shape, dtype)
    geometry = ((1, 1), ((0, 0), (0, 0)), (1, 1))   # stride, padding, dilation
    reference.conv2d_im2col_forward(x, w, b, *geometry, expected, None, True)
    for run in (lambda out: _kernels.conv2d_im2col_forward(x, w, b, *geometry, out, ws, True),
                lambda out: _kernels.conv2d_direct_forward(x, w, b, *geometry, out, True)):
        out = np.empty(out_shape, dtype)
        run(out)
        tol = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * 10)
        assert np.all(out >= 0)


@pytest.mark.parametrize("seed", range(20))
def test_maxpool_backward_pooled_mask_fast_matches_reference(seed, dtype, threads):
    rng = np.random.default_rng(seed)
    n, c = (int(v) for v in rng.integers(1, [4, 4]))
    k, s = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    h, w = (int(v) for v in rng.integers(k, k + 7, 2))
    x = np.maximum(rng.standard_normal((n, c, h, w)), 0).astype(dtype)
    x.reshape(-1)[::7] = np.nan
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, oh, ow), dtype)
    argmax = np.empty(out.shape, np.int32)
    _kernels.maxpool2d_forward(x, (k, k), (s, s), ((0, 0), (0, 0)), out, argmax)
    g = rng.standard_normal(out.shape).astype(dtype)
    results = []
    for kernels in (_kernels, reference):
        grad_input = np.full(x.shape, np.nan, dtype)
        kernels.maxpool2d_backward(g, argmax, grad_input, out)
        results.append(grad_input)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)
    # nothing reaches a pixel whose window maximum is not > 0
    plain = np.empty_like(x)
    _kernels.maxpool2d_backward(np.where(out > 0, g, 0).astype(dtype), argmax, plain)
    np.testing.assert_array_equal(results[0], plain)


@pytest.mark.parametrize("train", [True, False], ids=["batch-stats", "running-stats"])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_relu_backward_fused_equals_unfused(affine, train, dtype, threads):
    """BatchNorm + ReLU: forward fused (forward_relu), backward fused the
    other way (backward_after_relu, the mask from BatchNorm's input); a
    ReLU + MaxPool2D after it keeps its own fusion; BatchNorm1D on (N, C)
    and BatchNorm2D with a nonzero bias."""
    rng = np.random.default_rng(11)
    bn2 = L.BatchNorm2D(3, affine=affine, dtype=dtype)
    bn1 = L.BatchNorm1D(5, affine=affine, dtype=dtype)
    if affine:
        bn2.bias.value[...] = [0.4, -0.3, 0.0]
        bn2.weight.value[...] = [1.5, 0.5, -1.0]
    model = nf.Sequential([
        L.Conv2D(2, 3, 3, padding=1, dtype=dtype, rng=1), bn2, L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(3, 3, 1, dtype=dtype, rng=2), L.BatchNorm2D(3, dtype=dtype), L.ReLU(),
        L.Flatten(), L.Linear(3 * 3 * 4, 5, dtype=dtype, rng=3), bn1, L.ReLU(),
        L.Linear(5, 2, dtype=dtype, rng=4)])
    if not train:
        model.forward(rng.standard_normal((4, 2, 6, 8)).astype(dtype))  # running stats
        model.eval()
    x = rng.standard_normal((4, 2, 6, 8)).astype(dtype)
    calls = []
    original = L.BatchNorm2D.backward_after_relu
    L.BatchNorm2D.backward_after_relu = lambda self, relu, g: (calls.append(1),
                                                               original(self, relu, g))[1]
    try:
        _compare(model, x)
    finally:
        L.BatchNorm2D.backward_after_relu = original
    assert calls   # the fused path ran (the second BatchNorm2D's; the first's ReLU is MaxPool's)


def test_batchnorm_relu_fused_gradcheck():
    # (no convolution bias: BatchNorm's batch mean removes it, its gradient is 0)
    model = nf.Sequential([L.Conv2D(2, 3, 3, padding=1, bias=False, dtype=np.float64, rng=1),
                           L.BatchNorm2D(3, dtype=np.float64), L.ReLU(), L.Flatten(),
                           L.Linear(3 * 4 * 5, 2, dtype=np.float64, rng=2)])
    model.layers[1].bias.value[...] = [0.3, -0.2, 0.1]
    nf.gradcheck(model, np.random.default_rng(8).standard_normal((4, 2, 4, 5)))


def test_batchnorm_after_plain_forward_backs_off_the_fusion():
    """A BatchNorm whose last forward was not forward_relu (run by hand)
    takes the ReLU's own backward, then its own."""
    bn, relu = L.BatchNorm2D(2), L.ReLU()
    x = np.random.default_rng(3).standard_normal((3, 2, 4, 4)).astype(np.float32)
    out = relu.forward(bn.forward(x))
    g = np.ones_like(out)
    twin_bn, twin_relu = copy.deepcopy(bn), copy.deepcopy(relu)
    np.testing.assert_array_equal(bn.backward_after_relu(relu, g),
                                  twin_bn.backward(twin_relu.backward(g)))
