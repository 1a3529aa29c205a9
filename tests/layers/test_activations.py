"""Activations: kernels fast == reference, gradient checks, torch, layer API, bad input."""
import warnings

import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from conftest import assert_backward_checks, assert_close

SEEDS = range(50)
# (kernel stem, extra args between the arrays, backward reads the output)
ELEMENTWISE = [
    ("relu", (), True),
    ("leaky_relu", (0.07,), False),
    ("leaky_relu", (-0.5,), False),
    ("sigmoid", (), True),
    ("tanh", (), True),
]


def random_flat(rng, dtype):
    """A flat array with mixed scales, some exact zeros, and big values."""
    n = int(rng.integers(1, 2000))
    x = rng.standard_normal(n) * 10.0 ** rng.integers(-2, 3)
    x[rng.random(n) < 0.05] = 0.0
    x[rng.random(n) < 0.02] *= 1e3
    return x.astype(dtype), rng.standard_normal(n).astype(dtype)


@pytest.mark.parametrize("seed", SEEDS)
def test_elementwise_kernels_fast_match_reference(seed, dtype, threads):
    rng = np.random.default_rng(seed)
    for stem, extra, from_output in ELEMENTWISE:
        x, g = random_flat(rng, dtype)
        results = []
        for k in (_kernels, reference):
            out = np.empty_like(x)
            getattr(k, stem + "_forward")(x, *extra, out)
            grad_input = np.empty_like(x)
            getattr(k, stem + "_backward")(out if from_output else x, g, *extra, grad_input)
            results.append((out, grad_input))
        (out_f, gx_f), (out_r, gx_r) = results
        assert out_f.dtype == dtype and gx_f.dtype == dtype
        assert_close(out_f, out_r, dtype)
        assert_close(gx_f, gx_r, dtype)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("requires_input_grad", [True, False])
def test_prelu_kernels_fast_match_reference(seed, dtype, threads, requires_input_grad):
    rng = np.random.default_rng(seed)
    n, c, s = rng.integers(1, 9), rng.integers(1, 7), rng.integers(1, 50)
    if seed % 5 == 0:
        c = 1  # the shared slope
    x = rng.standard_normal((n, c, s)).astype(dtype)
    x[rng.random(x.shape) < 0.05] = 0.0
    w = rng.standard_normal(c).astype(dtype)
    g = rng.standard_normal((n, c, s)).astype(dtype)
    results = []
    for k in (_kernels, reference):
        out = np.empty_like(x)
        k.prelu_forward(x, w, out)
        gx = np.empty_like(x) if requires_input_grad else None
        gw = np.ones_like(w)  # accumulates: start from non-zero
        k.prelu_backward(x, w, g, gx, gw)
        results.append((out, gx, gw))
    for fast, ref in zip(*results):
        if ref is not None:
            assert fast.dtype == dtype
            assert_close(fast, ref, dtype)


# -- sigmoid far out ----------------------------------------------------------

@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_sigmoid_exact_limits_without_warnings(backend, dtype):
    x = np.array([-1e4, -800.0, -100.0, 0.0, 100.0, 800.0, 1e4], dtype=dtype)
    layer = nf.layers.Sigmoid()
    with nf.use_backend(backend), warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = layer.forward(x)
            gx = layer.backward(np.ones_like(x))
    assert y.dtype == dtype
    assert y[0] == 0.0 and y[1] == 0.0 and y[-1] == 1.0 and y[-2] == 1.0
    assert y[3] == 0.5
    assert np.all(np.isfinite(gx))


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_tanh_and_relu_far_out(backend, dtype):
    x = np.array([-1e4, -30.0, 0.0, 30.0, 1e4], dtype=dtype)
    with nf.use_backend(backend):
        np.testing.assert_array_equal(nf.layers.Tanh().forward(x), [-1, -1, 0, 1, 1])
        np.testing.assert_array_equal(nf.layers.ReLU().forward(x), [0, 0, 0, 30, 1e4])


# -- gradient checks ----------------------------------------------------------

def away_from_kinks(shape, seed=0):
    """Random input with |x| > 1e-3 (ReLU-type kinks at 0)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(x >= 0, x + 0.05, x - 0.05)


@pytest.mark.parametrize("layer", [
    nf.layers.ReLU(), nf.layers.LeakyReLU(), nf.layers.LeakyReLU(0.3),
    nf.layers.LeakyReLU(-0.2), nf.layers.Sigmoid(), nf.layers.Tanh(),
], ids=repr)
@pytest.mark.parametrize("shape", [(7,), (4, 9), (2, 3, 4, 5)])
def test_activation_gradcheck(layer, shape):
    errors = nf.gradcheck(layer, away_from_kinks(shape), rtol=1e-6)
    assert set(errors) == {"input"}


@pytest.mark.parametrize("num_parameters, shape", [
    (1, (6,)), (1, (5, 4)), (1, (2, 3, 4, 4)), (3, (5, 3)), (3, (2, 3, 4, 5)),
])
def test_prelu_gradcheck(num_parameters, shape):
    layer = nf.layers.PReLU(num_parameters, init=0.1, dtype=np.float64)
    layer.weight.value[:] = np.linspace(-0.5, 0.7, num_parameters)
    errors = nf.gradcheck(layer, away_from_kinks(shape, 1), rtol=1e-6)
    assert set(errors) == {"input", "weight"}


# -- torch ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "Sigmoid", "Tanh"])
def test_activation_matches_torch(torch, name, dtype):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((4, 3, 5)) * 4).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    ours = getattr(nf.layers, name)()
    theirs = getattr(torch.nn, name)()
    y = ours.forward(x)
    gx = ours.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = theirs(tx)
    ty.backward(torch.tensor(g))
    assert_close(y, ty.detach().numpy(), dtype, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert_close(gx, tx.grad.numpy(), dtype, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("num_parameters, shape", [(1, (4, 3, 5)), (3, (4, 3, 5)), (6, (8, 6))])
def test_prelu_matches_torch(torch, num_parameters, shape, dtype):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    ours = nf.layers.PReLU(num_parameters, dtype=dtype)
    ours.weight.value[:] = rng.uniform(-0.5, 0.5, num_parameters)
    theirs = torch.nn.PReLU(num_parameters, dtype=torch.float32 if dtype == np.float32 else torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.value))
    y = ours.forward(x)
    gx = ours.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    theirs(tx).backward(torch.tensor(g))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close(y, theirs(tx).detach().numpy(), dtype, rtol=rtol)
    assert_close(gx, tx.grad.numpy(), dtype, rtol=rtol)
    assert_close(ours.weight.grad, theirs.weight.grad.numpy(), dtype, rtol=rtol)


# -- layer API ----------------------------------------------------------------

LAYERS = [nf.layers.ReLU, nf.layers.LeakyReLU, nf.layers.Sigmoid, nf.layers.Tanh]


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_activation_keeps_float_dtype_and_shape(cls, backend, dtype):
    x = np.random.default_rng(0).standard_normal((3, 2, 5)).astype(dtype)
    layer = cls()
    with nf.use_backend(backend):
        y = layer.forward(x)
        gx = layer.backward(np.ones((3, 2, 5)))  # float64 grad is cast to the layer's dtype
    assert y.dtype == dtype and y.shape == x.shape
    assert gx.dtype == dtype and gx.shape == x.shape


@pytest.mark.parametrize("cls", LAYERS)
def test_activation_casts_int_input_to_float32(cls):
    y = cls().forward(np.arange(-3, 3).reshape(2, 3))
    assert y.dtype == np.float32


def test_prelu_casts_to_its_dtype():
    layer = nf.layers.PReLU(dtype=np.float64)
    assert layer.forward(np.ones((2, 3), np.float32)).dtype == np.float64
    layer32 = nf.layers.PReLU()
    assert layer32.forward(np.ones((2, 3))).dtype == np.float32


def test_prelu_parameters_and_accumulation():
    layer = nf.layers.PReLU(2, init=0.3)
    (w,) = layer.parameters()
    assert w is layer.weight and w.shape == (2,) and w.name == "weight"
    np.testing.assert_array_equal(w.value, np.float32([0.3, 0.3]))
    x = np.array([[-1.0, -2.0], [3.0, -4.0]])
    for _ in range(2):
        layer.forward(x)
        layer.backward(np.ones((2, 2)))
    np.testing.assert_allclose(w.grad, 2 * np.array([-1.0, -6.0]))


@pytest.mark.parametrize("layer", [nf.layers.ReLU(), nf.layers.Sigmoid(), nf.layers.PReLU()], ids=repr)
def test_activation_skips_input_gradient_when_not_required(layer):
    layer.requires_input_grad = False
    layer.forward(-np.ones((2, 3)))
    assert layer.backward(np.ones((2, 3))) is None


def test_activation_config_and_repr():
    assert nf.layers.LeakyReLU(0.2).config() == {"negative_slope": 0.2}
    assert nf.layers.ReLU().config() == {}
    assert repr(nf.layers.Tanh()) == "Tanh()"
    assert nf.layers.PReLU(4, init=0.1, dtype=np.float64).config() == {
        "num_parameters": 4, "init": 0.1, "dtype": "float64"}


def test_activations_same_on_both_backends(dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 4, 3)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    for make in [nf.layers.ReLU, nf.layers.Sigmoid, lambda: nf.layers.PReLU(4, dtype=dtype)]:
        results = []
        for backend in ("fast", "reference"):
            layer = make()
            with nf.use_backend(backend):
                results.append((layer.forward(x), layer.backward(g),
                                [p.grad.copy() for p in layer.parameters()]))
        assert_close(results[0][0], results[1][0], dtype)
        assert_close(results[0][1], results[1][1], dtype)
        for a, b in zip(results[0][2], results[1][2]):
            assert_close(a, b, dtype)


# -- bad input ------------------------------------------------------------

@pytest.mark.parametrize("make, exc, words", [
    (lambda: nf.layers.LeakyReLU(float("nan")), ValueError, "negative_slope"),
    (lambda: nf.layers.LeakyReLU("0.1"), TypeError, "negative_slope"),
    (lambda: nf.layers.PReLU(0), ValueError, "num_parameters"),
    (lambda: nf.layers.PReLU(2.0), TypeError, "num_parameters"),
    (lambda: nf.layers.PReLU(init=float("inf")), ValueError, "init"),
    (lambda: nf.layers.PReLU(dtype=np.int64), TypeError, "dtype"),
])
def test_activation_bad_constructor(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


@pytest.mark.parametrize("x, exc, words", [
    (np.ones((2, 0)), ValueError, "empty"),
    (np.array(["a", "b"]), TypeError, "numeric"),
    (np.ones(3, dtype=complex), TypeError, "numeric"),
])
@pytest.mark.parametrize("cls", LAYERS + [nf.layers.PReLU])
def test_activation_bad_input(cls, x, exc, words):
    with pytest.raises(exc, match=words):
        cls().forward(x)


@pytest.mark.parametrize("x", [np.ones((4, 2)), np.ones(3), np.ones((4, 5, 3))])
def test_prelu_per_channel_wrong_channels(x):
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3, \.\.\.\)"):
        nf.layers.PReLU(3).forward(x)


@pytest.mark.parametrize("layer", [cls() for cls in LAYERS] + [nf.layers.PReLU(2)], ids=repr)
def test_activation_backward_errors(layer):
    assert_backward_checks(layer, np.ones((3, 2)), [(2, 3), (6,)])
