"""CrossEntropyLoss(label_smoothing=eps): torch's values and gradients."""
import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close


def batch(dtype, n=7, c=5, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((n, c))).astype(dtype), rng.integers(0, c, n)


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("eps", [0.1, 0.5, 1.0])
def test_matches_torch(torch, dtype, backend, weighted, reduction, eps):
    x, y = batch(dtype)
    weight = np.array([0.5, 2.0, 1.0, 0.0, 3.0]) if weighted else None
    loss = nf.losses.CrossEntropyLoss(weight=weight, reduction=reduction, label_smoothing=eps)
    tx = torch.tensor(x, requires_grad=True)
    tloss = torch.nn.CrossEntropyLoss(
        weight=None if weight is None else torch.tensor(weight, dtype=tx.dtype),
        reduction=reduction, label_smoothing=eps)
    expected = tloss(tx, torch.tensor(y))
    expected.backward()
    with nf.use_backend(backend):
        value = loss.forward(x, y)
        grad = loss.backward()
    assert grad.dtype == dtype
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    assert value == pytest.approx(expected.item(), rel=rtol)
    assert_close(grad, tx.grad.numpy(), dtype, rtol=rtol)


def test_one_hot_targets_equal_labels():
    x, y = batch(np.float64)
    loss = nf.losses.CrossEntropyLoss(label_smoothing=0.2)
    a = loss.forward(x, y)
    ga = loss.backward()
    b = loss.forward(x, np.eye(5)[y])
    np.testing.assert_array_equal(loss.backward(), ga)
    assert a == b


def test_gradcheck():
    x, y = batch(np.float64, scale=1.0)
    for weight in (None, [1.0, 2.0, 0.5, 1.0, 3.0]):
        nf.gradcheck(nf.losses.CrossEntropyLoss(weight=weight, label_smoothing=0.3), x, target=y)


def test_zero_is_plain_cross_entropy_and_large_logits_stay_finite():
    x, y = batch(np.float32)
    plain, smooth0 = nf.losses.CrossEntropyLoss(), nf.losses.CrossEntropyLoss(label_smoothing=0.0)
    assert plain.forward(x, y) == smooth0.forward(x, y)
    np.testing.assert_array_equal(plain.backward(), smooth0.backward())
    # a probability that underflows to 0 still has a finite log
    big = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    loss = nf.losses.CrossEntropyLoss(label_smoothing=0.1)
    value = loss.forward(big, [0])
    assert np.isfinite(value) and value == pytest.approx(0.1 / 3 * 3000, rel=1e-5)
    assert np.all(np.isfinite(loss.backward()))


def test_config_and_saving_keeps_it():
    assert nf.losses.CrossEntropyLoss(label_smoothing=0.1).config() == {
        "weight": None, "reduction": "mean", "label_smoothing": 0.1}
    assert "label_smoothing" not in nf.losses.CrossEntropyLoss().config()


@pytest.mark.parametrize("eps, exc, words", [
    (-0.1, ValueError, "label_smoothing must be >= 0"),
    (1.5, ValueError, "label_smoothing must be <= 1"),
    (float("nan"), ValueError, "label_smoothing must be finite"),
    ("0.1", TypeError, "label_smoothing must be a real number"),
])
def test_bad_values(eps, exc, words):
    with pytest.raises(exc, match=words):
        nf.losses.CrossEntropyLoss(label_smoothing=eps)
