"""CRPSLoss: a direct float64 formula over integer and fractional true
values and true CDFs, both reductions, both kernel sets; gradient checks;
PyTorch autograd of the same formula; training CumulativeSoftmax on it; bad
input."""
import numpy as np
import pytest

import nnfast as nf
from conftest import assert_close


def _crps(pred, values):
    """The mean over samples of the mean over bins of (F[k] - 1[k >= v])**2,
    summed by a loop in float64, the indicator taken literally."""
    n, k = pred.shape
    total = 0.0
    for i in range(n):
        per_sample = 0.0
        for b in range(k):
            step = 1.0 if b >= values[i] else 0.0
            per_sample += (float(pred[i, b]) - step) ** 2
        total += per_sample / k
    return total / n


def _case(seed, dtype, n_bins=None):
    rng = np.random.default_rng([seed, 72])
    n, k = int(rng.integers(1, 12)), n_bins or int(rng.integers(1, 40))
    logits = rng.standard_normal((n, k))
    pred = np.cumsum(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 1).astype(dtype)
    values = rng.uniform(0, k, n)
    values[: n // 2] = np.floor(values[: n // 2])      # integer and fractional
    return pred, values


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("seed", range(20))
def test_crps_matches_the_formula(seed, backend, dtype):
    pred, values = _case(seed, dtype)
    with nf.use_backend(backend):
        got = nf.losses.CRPSLoss().forward(pred, values)
        summed = nf.losses.CRPSLoss(reduction="sum").forward(pred, values)
    expected = _crps(pred, values)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert got == pytest.approx(expected, rel=rtol, abs=1e-7)
    assert summed == pytest.approx(expected * len(pred), rel=rtol, abs=1e-6)


def test_crps_integer_targets_and_true_cdfs_agree(dtype):
    pred, values = _case(3, dtype, n_bins=600)
    ints = np.floor(values).astype(np.int64)
    truth = (np.arange(600) >= ints[:, None]).astype(np.float64)
    loss = nf.losses.CRPSLoss()
    a = loss.forward(pred, ints)
    ga = loss.backward()
    b = loss.forward(pred, truth)
    gb = loss.backward()
    assert a == b
    np.testing.assert_array_equal(ga, gb)
    assert ga.dtype == dtype


def test_crps_fractional_value_steps_at_the_next_bin():
    """v = 2.5 over 4 bins: T = [0, 0, 0, 1] (k >= 2.5 from bin 3 on); v = 2
    exactly: T = [0, 0, 1, 1]."""
    pred = np.zeros((1, 4))
    assert nf.losses.CRPSLoss().forward(pred, [2.5]) == pytest.approx(1 / 4)
    assert nf.losses.CRPSLoss().forward(pred, [2.0]) == pytest.approx(2 / 4)
    assert nf.losses.CRPSLoss().forward(np.ones((1, 4)), [0]) == 0.0


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("fractional", [False, True])
def test_crps_gradcheck(reduction, fractional):
    pred, values = _case(5, np.float64, n_bins=30)
    if not fractional:
        values = np.floor(values)
    errors = nf.gradcheck(nf.losses.CRPSLoss(reduction=reduction), pred, target=values, rtol=1e-6)
    assert set(errors) == {"input"}


def test_crps_through_cumulative_softmax_gradcheck():
    model = nf.Sequential([nf.layers.Linear(4, 25, dtype=np.float64, rng=0),
                           nf.layers.CumulativeSoftmax()])
    x = np.random.default_rng(8).standard_normal((6, 4))
    values = np.random.default_rng(9).uniform(0, 25, 6)
    nf.gradcheck(model, x, grad_output=None)
    loss = nf.losses.CRPSLoss()
    out = model.forward(x)
    loss.forward(out, values)
    model.zero_grad()
    model.backward(loss.backward())
    analytic = model.layers[0].weight.grad.copy()
    w = model.layers[0].weight.value
    numeric = np.zeros_like(w)
    for idx in [(0, 0), (3, 2), (24, 3), (12, 1)]:
        old = w[idx]
        w[idx] = old + 1e-6
        up = loss.forward(model.forward(x), values)
        w[idx] = old - 1e-6
        down = loss.forward(model.forward(x), values)
        w[idx] = old
        numeric[idx] = (up - down) / 2e-6
        assert analytic[idx] == pytest.approx(numeric[idx], rel=1e-6, abs=1e-10)


def test_crps_matches_torch_autograd(torch, dtype):
    pred, values = _case(6, dtype, n_bins=600)
    loss = nf.losses.CRPSLoss()
    ours = loss.forward(pred, values)
    grad = loss.backward()
    tp = torch.tensor(pred, requires_grad=True)
    step = (torch.arange(600, dtype=tp.dtype)[None, :] >= torch.tensor(values)[:, None]).to(tp.dtype)
    theirs = ((tp - step) ** 2).mean(dim=1).mean()
    theirs.backward()
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert ours == pytest.approx(theirs.item(), rel=rtol)
    assert_close(grad, tp.grad.numpy(), dtype, rtol=rtol)


def test_crps_trains_a_cdf_head():
    """A linear CumulativeSoftmax head learns values that depend on x: its
    median's error falls well below the spread of the values."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((512, 3)).astype(np.float32)
    values = np.clip(50 + 15 * x[:, 0] - 10 * x[:, 1], 0, 99.5).astype(np.float32)
    nf.seed(1)
    model = nf.Sequential([nf.layers.Linear(3, 100), nf.layers.CumulativeSoftmax()])
    opt = nf.optim.Adam(model.parameters(), lr=0.05)
    loss = nf.losses.CRPSLoss()
    before = loss.forward(model.forward(x), values)
    nf.fit(model, x, values, loss, opt, epochs=60, batch_size=64, progress=False)
    after = loss.forward(model.predict(x), values)
    median = (model.predict(x) < 0.5).sum(axis=1)
    assert after < before / 3
    assert np.abs(median - values).mean() < values.std() / 3


@pytest.mark.parametrize("pred, target, error, match", [
    (np.ones((4,)), np.zeros(4), ValueError, r"pred must have 2 dimensions.*\(4,\)"),
    (np.ones((2, 3, 4)), np.zeros(2), ValueError, "pred must have 2 dimensions"),
    (np.ones((2, 5)), np.array([1.0, 5.0]), ValueError, r"\[0, 5\).*got 5\.0"),
    (np.ones((2, 5)), np.array([-0.5, 1.0]), ValueError, r"\[0, 5\).*got -0\.5"),
    (np.ones((2, 5)), np.array([np.nan, 1.0]), ValueError, r"\[0, 5\).*got nan"),
    (np.ones((2, 5)), np.array([1.0, 2.0, 3.0]), ValueError, r"target must have shape \(2,\)"),
    (np.ones((2, 5)), np.ones((2, 4)), ValueError, r"target must have shape \(2, 5\)"),
    (np.ones((2, 5)), np.full((2, 5), 1.5), ValueError, r"true CDFs.*\[0, 1\].*1\.5"),
    (np.ones((2, 5)), np.ones((2, 5, 1)), ValueError, "target must be .*true values or"),
    (np.ones((2, 5)), np.array(["a", "b"]), TypeError, "target must hold numbers"),
    (np.ones((2, 5)), 3.0, ValueError, "target must be .*true values or"),
    (np.array([["a"]]), np.zeros(1), TypeError, "pred must be a numeric"),
])
def test_crps_bad_input(pred, target, error, match):
    with pytest.raises(error, match=match):
        nf.losses.CRPSLoss().forward(pred, target)


def test_crps_bad_reduction_and_early_backward():
    with pytest.raises(ValueError, match="reduction"):
        nf.losses.CRPSLoss(reduction="none")
    with pytest.raises(ValueError, match="before forward"):
        nf.losses.CRPSLoss().backward()
