"""CrossEntropyLoss and NLLLoss on (N, C, *spatial) scores with (N, *spatial)
labels or one-hot maps, as torch: against torch, a float64 formula,
central differences, and bad targets."""
import numpy as np
import pytest

import nnfast as nf

SHAPES = [(2, 3, 4), (2, 3, 4, 5), (1, 2, 3, 2, 2)]


def _formula(x, y, weight=None):
    """torch's weighted mean of -log softmax(x)[y] over every position."""
    c = x.shape[1]
    rows = np.moveaxis(x, 1, -1).reshape(-1, c)
    labels = y.reshape(-1)
    logp = rows - rows.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    w = np.ones(c) if weight is None else np.asarray(weight, float)
    terms = -logp[np.arange(len(labels)), labels] * w[labels]
    return terms.sum() / w[labels].sum()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_per_position_matches_the_formula(shape, weighted):
    rng = np.random.default_rng(len(shape) + weighted)
    x = rng.standard_normal(shape)
    y = rng.integers(0, shape[1], shape[:1] + shape[2:])
    weight = rng.random(shape[1]) + 0.5 if weighted else None
    loss = nf.losses.CrossEntropyLoss(weight=weight)
    assert loss.forward(x, y) == pytest.approx(_formula(x, y, weight), rel=1e-12)
    assert loss.backward().shape == shape


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_per_position_matches_torch(shape, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.integers(0, shape[1], shape[:1] + shape[2:])
    for smoothing in (0.0, 0.2):
        loss = nf.losses.CrossEntropyLoss(label_smoothing=smoothing)
        value = loss.forward(x, y)
        grad = loss.backward()
        assert grad.dtype == dtype and grad.flags.c_contiguous
        xt = torch.from_numpy(x).requires_grad_(True)
        vt = torch.nn.functional.cross_entropy(xt, torch.from_numpy(y), label_smoothing=smoothing)
        vt.backward()
        tol = 1e-5 if dtype == np.float32 else 1e-12
        assert value == pytest.approx(vt.item(), rel=tol, abs=tol)
        np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=tol, atol=tol)
    # one-hot targets of pred's shape: the same as the labels
    onehot = np.moveaxis(np.eye(shape[1], dtype=dtype)[y], -1, 1)
    loss = nf.losses.CrossEntropyLoss()
    assert loss.forward(x, onehot) == nf.losses.CrossEntropyLoss().forward(x, y)


def test_nll_per_position_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    # contiguous: torch's nll_loss2d backward refuses a strided input
    logp = np.ascontiguousarray(np.log(np.moveaxis(rng.dirichlet(np.ones(3), (2, 4, 5)), -1, 1)))
    y = rng.integers(0, 3, (2, 4, 5))
    loss = nf.losses.NLLLoss()
    value = loss.forward(logp, y)
    xt = torch.from_numpy(logp).requires_grad_(True)
    vt = torch.nn.functional.nll_loss(xt, torch.from_numpy(y))
    vt.backward()
    assert value == pytest.approx(vt.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), xt.grad.numpy(), atol=1e-15)


def test_cross_entropy_per_position_gradcheck():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 3, 2))
    y = rng.integers(0, 3, (2, 3, 2))
    errors = nf.gradcheck(nf.losses.CrossEntropyLoss(label_smoothing=0.1), x, target=y)
    assert max(errors.values()) < 1e-6


@pytest.mark.parametrize("target_shape", [(2, 4), (2, 4, 5, 1), (2, 3, 4)])
def test_a_target_of_another_shape_is_named(target_shape):
    x = np.zeros((2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"target must have shape \(2, 4, 5\)"):
        nf.losses.CrossEntropyLoss().forward(x, np.zeros(target_shape, np.int64))


def test_labels_out_of_range_are_refused_per_position():
    x = np.zeros((1, 2, 2, 2))
    with pytest.raises(ValueError, match="target"):
        nf.losses.CrossEntropyLoss().forward(x, np.array([[[0, 1], [2, 0]]]))
    with pytest.raises(ValueError, match="target"):
        nf.losses.CrossEntropyLoss().forward(x, np.array([[[0, -1], [1, 0]]]))
