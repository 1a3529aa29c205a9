"""Losses: kernels fast == reference, gradient checks, torch, stability,
dtypes, API and bad input."""
import warnings

import numpy as np
import pytest

import nnfast as nf
from nnfast import _kernels, reference
from conftest import assert_close, loss_pred_target

SEEDS = range(50)
KERNELS = (_kernels, reference)


def legacy_dice(smooth=1.0, reduction="mean"):
    """The deprecated DiceLoss(smooth=...), the former whole-sample Dice on
    (N, ...) probabilities, its FutureWarning checked."""
    with pytest.warns(FutureWarning, match=r"DiceLoss\(smooth=\.\.\.\) is deprecated"):
        return nf.losses.DiceLoss(smooth=smooth, reduction=reduction)


def assert_backends_agree(run, dtype):
    """run(kernels) -> a tuple of results (sums, arrays), called with the
    compiled kernels and with the reference: each result must agree."""
    fast, ref = (run(k) for k in KERNELS)
    for a, b in zip(fast, ref):
        assert_close(np.asarray(a), np.asarray(b), dtype)


def labels_case(seed, dtype, weighted=None):
    rng = np.random.default_rng(seed)
    n, c = rng.integers(1, 40), rng.integers(1, 12)
    x = (rng.standard_normal((n, c)) * 10.0 ** rng.integers(-1, 2)).astype(dtype)
    y = rng.integers(0, c, n).astype(np.int64)
    use_weight = seed % 2 == 0 if weighted is None else weighted
    w = rng.uniform(0, 3, c).astype(dtype) if use_weight else None
    return rng, x, y, w


# -- kernels: fast == reference ---------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_kernels_fast_match_reference(seed, dtype, threads):
    rng, x, y, w = labels_case(seed, dtype)
    scale = float(rng.uniform(0.1, 2))
    results = []
    for k in KERNELS:
        prob = np.empty_like(x)
        sums = k.cross_entropy_forward(x, y, w, prob)
        grad = np.empty_like(x)
        k.cross_entropy_backward(prob, y, w, scale, grad)
        results.append((sums, prob, grad))
    (s_f, p_f, g_f), (s_r, p_r, g_r) = results
    assert p_f.dtype == dtype and g_f.dtype == dtype
    assert_close(np.array(s_f), np.array(s_r), dtype)
    assert_close(p_f, p_r, dtype)
    assert_close(g_f, g_r, dtype)


@pytest.mark.parametrize("seed", SEEDS)
def test_nll_kernels_fast_match_reference(seed, dtype, threads):
    rng, x, y, w = labels_case(seed, dtype)
    scale = float(rng.uniform(0.1, 2))

    def run(k):
        sums = k.nll_forward(x, y, w)
        grad = np.full_like(x, 7.0)  # written, not accumulated
        k.nll_backward(x, y, w, scale, grad)
        return sums, grad
    assert_backends_agree(run, dtype)


@pytest.mark.parametrize("seed", SEEDS)
def test_hinge_kernels_fast_match_reference(seed, dtype, threads):
    rng, x, y, _ = labels_case(seed, dtype)
    margin, scale = float(rng.uniform(0, 2)), float(rng.uniform(0.1, 2))

    def run(k):
        total = k.hinge_forward(x, y, margin)
        grad = np.empty_like(x)
        k.hinge_backward(x, y, margin, scale, grad)
        return total, grad
    assert_backends_agree(run, dtype)


@pytest.mark.parametrize("seed", SEEDS)
def test_elementwise_loss_kernels_fast_match_reference(seed, dtype, threads):
    rng = np.random.default_rng(seed)
    for stem in ["mse", "bce_with_logits", "bce"]:
        n = int(rng.integers(1, 3000))
        pred, target = loss_pred_target(stem, rng, dtype, n, clamped=0.02, max_exponent=3)
        scale = float(rng.uniform(0.1, 2))

        def run(k):
            total = getattr(k, stem + "_forward")(pred, target)
            grad = np.empty_like(pred)
            getattr(k, stem + "_backward")(pred, target, scale, grad)
            assert grad.dtype == dtype
            return total, grad
        assert_backends_agree(run, dtype)


@pytest.mark.parametrize("seed", SEEDS)
def test_dice_kernels_fast_match_reference(seed, dtype, threads):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 20), rng.integers(1, 300)
    p = rng.uniform(0, 1, (n, m)).astype(dtype)
    t = (rng.random((n, m)) < 0.3).astype(dtype)
    smooth, scale = float(rng.uniform(0, 2)), float(rng.uniform(0.1, 2))

    def run(k):
        sums = np.empty((n, 2))
        total = k.dice_forward(p, t, smooth, sums)
        grad = np.empty_like(p)
        k.dice_backward(t, sums, scale, grad)
        return total, sums, grad
    assert_backends_agree(run, dtype)


# -- gradient checks ----------------------------------------------------------

def classification_input(n=6, c=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c)) * 2, rng.integers(0, c, n), rng.uniform(0.2, 3, c)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cls", [nf.losses.CrossEntropyLoss, nf.losses.NLLLoss])
def test_label_loss_gradcheck(cls, weighted, reduction):
    x, y, w = classification_input()
    if cls is nf.losses.NLLLoss:
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
    loss = cls(weight=w if weighted else None, reduction=reduction)
    errors = nf.gradcheck(loss, x, y, rtol=1e-6)
    assert set(errors) == {"input"}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_hinge_gradcheck(reduction):
    x, y, _ = classification_input(8, 4, seed=1)
    # keep every margin term away from its kink at 0
    loss = nf.losses.HingeLoss(margin=1.0, reduction=reduction)
    rows = np.arange(8)
    z = x - x[rows, y][:, None] + 1.0
    x = x + np.where(np.abs(z) < 0.05, 0.1, 0.0) * (np.arange(4) != y[:, None])
    nf.gradcheck(loss, x, y, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2, 2)])
def test_elementwise_losses_gradcheck(reduction, shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    nf.gradcheck(nf.losses.MSELoss(reduction), x, rng.standard_normal(shape), rtol=1e-6)
    nf.gradcheck(nf.losses.BCEWithLogitsLoss(reduction), x * 3, rng.uniform(0, 1, shape), rtol=1e-6)
    nf.gradcheck(nf.losses.BCELoss(reduction), rng.uniform(0.05, 0.95, shape),
                 rng.uniform(0, 1, shape), rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("smooth", [0.0, 1.0])
@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 4, 4)])
def test_dice_gradcheck(reduction, smooth, shape):
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, shape)
    t = (rng.random(shape) < 0.4).astype(float)
    nf.gradcheck(legacy_dice(smooth, reduction), p, t, rtol=1e-6)


def test_dice_value_by_formula():
    p = np.array([[0.2, 0.8, 0.5], [0.0, 0.0, 0.0]])
    t = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    expected = [1 - (2 * 1.3 + 1) / (1.5 + 2 + 1), 1 - 1 / 1]
    assert legacy_dice().forward(p, t) == pytest.approx(np.mean(expected), rel=1e-12)
    assert legacy_dice(reduction="sum").forward(p, t) == pytest.approx(np.sum(expected), rel=1e-12)
    # the old positional call DiceLoss(smooth, reduction) is the same deprecated loss
    with pytest.warns(FutureWarning, match="deprecated"):
        assert nf.losses.DiceLoss(1.0, "sum").forward(p, t) == pytest.approx(np.sum(expected), rel=1e-12)
    with pytest.warns(FutureWarning, match="deprecated"):
        assert nf.losses.DiceLoss(1.0).config() == {"smooth": 1.0, "reduction": "mean"}


def test_dice_deprecated_smooth_keeps_the_old_kernels_and_attributes():
    rng = np.random.default_rng(4)
    p, t = rng.uniform(0, 1, (3, 2, 4, 4)), (rng.random((3, 2, 4, 4)) < 0.5).astype(float)
    loss = legacy_dice(0.5)
    assert (loss.smooth, loss.smooth_nr, loss.smooth_dr) == (0.5, 0.5, 0.5)
    s = (2 * (p * t).reshape(3, -1).sum(1) + 0.5) / (p.reshape(3, -1).sum(1) + t.reshape(3, -1).sum(1) + 0.5)
    assert loss.forward(p, t) == pytest.approx(np.mean(1 - s), rel=1e-12)
    for backend in ("fast", "reference"):
        with nf.use_backend(backend):
            assert legacy_dice(0.5).forward(p, t) == pytest.approx(np.mean(1 - s), rel=1e-12)
    # the new options do not mix with it
    with pytest.raises(TypeError, match="smooth cannot be combined with softmax"):
        nf.losses.DiceLoss(smooth=1.0, softmax=True)
    with pytest.raises(TypeError, match="smooth_nr"):
        nf.losses.DiceLoss(smooth=1.0, smooth_nr=0.1)
    with pytest.raises(TypeError, match="smooth twice"):
        nf.losses.DiceLoss(1.0, smooth=1.0)


# -- torch ------------------------------------------------------------------

def torch_compare(torch, ours, theirs, pred, target, torch_target, dtype, factor=1.0):
    value = ours.forward(pred, target)
    grad = ours.backward()
    tp = torch.tensor(pred, requires_grad=True)
    tv = theirs(tp, torch_target)
    tv.backward()
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert value == pytest.approx(tv.item() * factor, rel=rtol, abs=rtol)
    assert grad.dtype == dtype and grad.shape == pred.shape
    assert_close(grad, tp.grad.numpy() * factor, dtype, rtol=rtol)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_and_nll_match_torch(torch, weighted, reduction, dtype):
    x, y, w = classification_input(9, 4, seed=4)
    x = x.astype(dtype)
    tw = torch.tensor(w.astype(dtype)) if weighted else None
    kw = dict(weight=w if weighted else None, reduction=reduction)
    torch_compare(torch, nf.losses.CrossEntropyLoss(**kw),
                  torch.nn.CrossEntropyLoss(weight=tw, reduction=reduction), x, y, torch.tensor(y), dtype)
    logp = (x - np.log(np.exp(x).sum(1, keepdims=True))).astype(dtype)
    torch_compare(torch, nf.losses.NLLLoss(**kw),
                  torch.nn.NLLLoss(weight=tw, reduction=reduction), logp, y, torch.tensor(y), dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_elementwise_losses_match_torch(torch, reduction, dtype):
    rng = np.random.default_rng(5)
    shape = (4, 3, 5)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.uniform(0, 1, shape).astype(dtype)
    p = rng.uniform(0, 1, shape).astype(dtype)
    p.flat[:3] = [0.0, 1.0, 1e-30]  # torch's clamps at -100 and its gradient's 1e-12 floor
    for ours, theirs, pred in [
        (nf.losses.MSELoss(reduction), torch.nn.MSELoss(reduction=reduction), x),
        (nf.losses.BCEWithLogitsLoss(reduction), torch.nn.BCEWithLogitsLoss(reduction=reduction), x),
        (nf.losses.BCELoss(reduction), torch.nn.BCELoss(reduction=reduction), p),
    ]:
        torch_compare(torch, ours, theirs, pred, t, torch.tensor(t), dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_matches_torch_multi_margin_times_classes(torch, reduction, margin, dtype):
    x, y, _ = classification_input(10, 6, seed=6)
    x = x.astype(dtype)
    # torch's MultiMarginLoss divides each sample's sum by C; ours does not
    torch_compare(torch, nf.losses.HingeLoss(margin=margin, reduction=reduction),
                  torch.nn.MultiMarginLoss(margin=margin, reduction=reduction),
                  x, y, torch.tensor(y), dtype, factor=6.0)


# -- stability and dtypes -----------------------------------------------------

@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_logit_losses_finite_at_1e4(backend, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]], dtype)
    y = np.array([1, 1])
    with nf.use_backend(backend), warnings.catch_warnings():
        warnings.simplefilter("error")
        ce = nf.losses.CrossEntropyLoss()
        assert ce.forward(x, y) == pytest.approx(1e4)  # sample 0 is 2e4 off, sample 1 right
        assert np.all(np.isfinite(ce.backward()))
        bce = nf.losses.BCEWithLogitsLoss()
        value = bce.forward(x, (x > 0).astype(dtype))
        assert value == 0.0 or np.isfinite(value)
        assert np.all(np.isfinite(bce.backward()))
        assert np.isfinite(nf.losses.BCEWithLogitsLoss().forward(x, (x < 0).astype(dtype)))


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_bce_clamps_log_of_zero(backend):
    with nf.use_backend(backend), warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = nf.losses.BCELoss(reduction="sum")
        assert loss.forward(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(200.0)
        assert np.all(np.isfinite(loss.backward()))


LOSS_CASES = [
    (nf.losses.CrossEntropyLoss, lambda r: r.standard_normal((5, 3)), lambda r: r.integers(0, 3, 5)),
    (nf.losses.NLLLoss, lambda r: -r.uniform(0.1, 3, (5, 3)), lambda r: r.integers(0, 3, 5)),
    (nf.losses.HingeLoss, lambda r: r.standard_normal((5, 3)), lambda r: r.integers(0, 3, 5)),
    (nf.losses.MSELoss, lambda r: r.standard_normal((5, 3)), lambda r: r.standard_normal((5, 3))),
    (nf.losses.BCEWithLogitsLoss, lambda r: r.standard_normal((5, 3)), lambda r: r.uniform(0, 1, (5, 3))),
    (nf.losses.BCELoss, lambda r: r.uniform(0, 1, (5, 3)), lambda r: r.uniform(0, 1, (5, 3))),
    (legacy_dice, lambda r: r.uniform(0, 1, (5, 3)), lambda r: r.uniform(0, 1, (5, 3))),
    (nf.losses.DiceLoss, lambda r: r.uniform(0, 1, (5, 3, 4)), lambda r: r.uniform(0, 1, (5, 3, 4))),
]


@pytest.mark.parametrize("cls, make_pred, make_target", LOSS_CASES)
def test_loss_keeps_dtype_and_same_on_both_backends(cls, make_pred, make_target, dtype):
    rng = np.random.default_rng(7)
    pred, target = make_pred(rng).astype(dtype), make_target(rng)
    results = []
    for backend in ("fast", "reference"):
        loss = cls()
        with nf.use_backend(backend):
            value = loss.forward(pred, target)
            grad = loss.backward()
        assert isinstance(value, float)
        assert grad.dtype == dtype and grad.shape == pred.shape
        results.append((value, grad))
    assert_close(np.array(results[0][0]), np.array(results[1][0]), dtype)
    assert_close(results[0][1], results[1][1], dtype)


@pytest.mark.parametrize("cls, make_pred, make_target", LOSS_CASES)
def test_loss_casts_int_pred_to_float32(cls, make_pred, make_target):
    rng = np.random.default_rng(8)
    pred = (make_pred(rng) > 0.5).astype(np.int64)  # 0/1: valid for the probability losses too
    loss = cls()
    loss.forward(pred, make_target(rng))
    assert loss.backward().dtype == np.float32


@pytest.mark.parametrize("cls", [nf.losses.CrossEntropyLoss, nf.losses.NLLLoss, nf.losses.HingeLoss])
def test_one_hot_targets_equal_labels(cls):
    x, y, _ = classification_input(7, 4, seed=9)
    a, b = cls(), cls()
    assert a.forward(x, y) == b.forward(x, np.eye(4)[y])
    np.testing.assert_array_equal(a.backward(), b.backward())


def test_integral_float_labels_accepted():
    x, y, _ = classification_input(5, 3, seed=10)
    assert nf.losses.CrossEntropyLoss().forward(x, y.astype(np.float32)) == \
        nf.losses.CrossEntropyLoss().forward(x, y)


def test_loss_config_and_repr():
    assert nf.losses.CrossEntropyLoss(weight=[1, 2]).config() == {"weight": [1.0, 2.0], "reduction": "mean"}
    assert legacy_dice(0.5, "sum").config() == {"smooth": 0.5, "reduction": "sum"}
    assert nf.losses.HingeLoss().config() == {"margin": 1.0, "reduction": "mean"}
    assert repr(nf.losses.MSELoss()) == "MSELoss(reduction='mean')"


def test_loss_in_a_training_step():
    rng = np.random.default_rng(11)
    model = nf.Sequential([nf.layers.Linear(4, 8, dtype=np.float64, rng=0), nf.layers.PReLU(8, dtype=np.float64),
                           nf.layers.Linear(8, 3, dtype=np.float64, rng=1)])
    x, y = rng.standard_normal((10, 4)), rng.integers(0, 3, 10)
    loss = nf.losses.CrossEntropyLoss()
    first = loss.forward(model.forward(x), y)
    for _ in range(50):
        model.zero_grad()
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        for p in model.parameters():
            p.value -= 0.2 * p.grad
    assert loss.forward(model.forward(x), y) < first


# -- bad input ------------------------------------------------------------

X, Y = np.zeros((4, 3)), np.array([0, 1, 2, 0])


@pytest.mark.parametrize("cls", [nf.losses.CrossEntropyLoss, nf.losses.NLLLoss, nf.losses.HingeLoss])
@pytest.mark.parametrize("pred, target, exc, words", [
    (np.zeros(4), Y, ValueError, r"pred must have (2 dimensions|shape \(N, C\))"),
    # (N, C, *spatial) takes labels (N, *spatial) (CrossEntropyLoss, NLLLoss, as torch)
    (np.zeros((4, 3, 1)), Y, ValueError, r"pred must have 2 dimensions|target must have shape \(4, 1\)"),
    (np.zeros((0, 3)), Y[:0], ValueError, "empty"),
    (X, Y[:3], ValueError, "4 labels"),
    (X, np.array([0, 1, 3, 0]), ValueError, r"labels must be in \[0, 2\]"),
    (X, np.array([0, -1, 2, 0]), ValueError, r"labels must be in \[0, 2\]"),
    (X, np.array([0, 1.5, 2, 0]), TypeError, "integer class labels"),
    (X, np.array([0, np.nan, 2, 0]), TypeError, "integer class labels"),
    (X, np.array([True, False, True, True]), TypeError, "bool"),
    (X, np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [1, 0, 0]]), ValueError, "one-hot"),
    (X, np.zeros((4, 4)), ValueError, "one-hot"),
    (X, np.zeros((4, 3, 1)), ValueError, "class labels of shape"),
    (np.array([["a"] * 3]), Y[:1], TypeError, "numeric"),
])
def test_label_loss_bad_input(cls, pred, target, exc, words):
    with pytest.raises(exc, match=words):
        cls().forward(pred, target)


@pytest.mark.parametrize("cls", [nf.losses.CrossEntropyLoss, nf.losses.NLLLoss])
@pytest.mark.parametrize("weight, exc, words", [
    ([1.0, np.nan, 1.0], ValueError, "finite"),
    ([1.0, np.inf, 1.0], ValueError, "finite"),
    ([1.0, -1.0, 1.0], ValueError, "non-negative"),
    ([[1.0, 1.0, 1.0]], ValueError, "weight must have 1 dimensions"),
    (["a", "b", "c"], TypeError, "weight"),
])
def test_class_weight_bad_values(cls, weight, exc, words):
    with pytest.raises(exc, match=words):
        cls(weight=weight)


@pytest.mark.parametrize("cls", [nf.losses.CrossEntropyLoss, nf.losses.NLLLoss])
def test_class_weight_wrong_count_and_zero_sum(cls):
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        cls(weight=[1.0, 2.0]).forward(X, Y)
    with pytest.raises(ValueError, match="sum to 0"):
        cls(weight=[0.0, 0.0, 1.0]).forward(X, np.array([0, 1, 1, 0]))
    assert cls(weight=[0.0, 0.0, 1.0], reduction="sum").forward(X, np.array([0, 1, 1, 0])) == 0.0


@pytest.mark.parametrize("make", [
    lambda: nf.losses.MSELoss(reduction="avg"),
    lambda: nf.losses.CrossEntropyLoss(reduction="none"),
    lambda: nf.losses.DiceLoss(reduction=None),
    lambda: nf.losses.HingeLoss(reduction="MEAN"),
])
def test_bad_reduction(make):
    with pytest.raises(ValueError, match="reduction must be one of"):
        make()


@pytest.mark.parametrize("make, exc, words", [
    (lambda: nf.losses.DiceLoss(smooth=float("nan")), ValueError, "smooth"),
    (lambda: nf.losses.DiceLoss(smooth=-1.0), ValueError, "smooth"),
    (lambda: nf.losses.DiceLoss(smooth="1"), TypeError, "smooth"),
    (lambda: nf.losses.HingeLoss(margin=float("inf")), ValueError, "margin"),
    (lambda: nf.losses.HingeLoss(margin=None), TypeError, "margin"),
])
def test_bad_hyper_parameters(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


@pytest.mark.parametrize("cls", [nf.losses.MSELoss, nf.losses.BCEWithLogitsLoss, nf.losses.BCELoss,
                                 legacy_dice])
def test_elementwise_loss_wrong_target_shape(cls):
    with pytest.raises(ValueError, match=r"target must have shape \(4, 3\)"):
        cls().forward(np.full((4, 3), 0.5), np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match=r"target must have shape \(4, 3\)"):
        cls().forward(np.full((4, 3), 0.5), np.full(12, 0.5))


@pytest.mark.parametrize("cls, pred, target, words", [
    (nf.losses.BCELoss, [[1.5, 0.5]], [[1.0, 0.0]], r"pred must hold values in \[0, 1\]"),
    (nf.losses.BCELoss, [[-0.1, 0.5]], [[1.0, 0.0]], r"pred must hold values in \[0, 1\]"),
    (nf.losses.BCELoss, [[np.nan, 0.5]], [[1.0, 0.0]], r"pred must hold values in \[0, 1\]"),
    (nf.losses.BCELoss, [[0.5, 0.5]], [[2.0, 0.0]], r"target must hold values in \[0, 1\]"),
    (nf.losses.BCEWithLogitsLoss, [[3.0, -2.0]], [[1.0, -1.0]], r"target must hold values in \[0, 1\]"),
    (legacy_dice, [[1.5, 0.5]], [[1.0, 0.0]], r"pred must hold values in \[0, 1\]"),
    (legacy_dice, [[0.5, 0.5]], [[1.0, 3.0]], r"target must hold values in \[0, 1\]"),
    (legacy_dice, [0.5, 0.5], [1.0, 0.0], "at least 2 dimensions"),
    (nf.losses.DiceLoss, [[[1.5, 0.5]]], [[[1.0, 0.0]]], r"pred must hold values in \[0, 1\]"),
    (nf.losses.DiceLoss, [[[0.5, 0.5]]], [[[1.0, 3.0]]], r"target must hold values in \[0, 1\]"),
    (nf.losses.DiceLoss, [[0.5, 0.5]], [[1.0, 0.0]], r"at least one spatial axis.*DiceLoss\(smooth=1.0\)"),
])
def test_probability_range_checks(cls, pred, target, words):
    with pytest.raises(ValueError, match=words):
        cls().forward(np.array(pred), np.array(target))


def test_dice_zero_denominator_without_smoothing():
    with pytest.raises(ValueError, match="sample 1"):
        legacy_dice(0.0).forward(np.array([[0.5, 0.5], [0, 0]]), np.zeros((2, 2)))


@pytest.mark.parametrize("cls, make_pred, make_target", LOSS_CASES)
def test_backward_before_forward(cls, make_pred, make_target):
    loss = cls()
    with pytest.raises(ValueError, match="backward called before forward"):
        loss.backward()
    rng = np.random.default_rng(12)
    loss.forward(make_pred(rng), make_target(rng))
    loss.backward()
    with pytest.raises(ValueError):  # a failed forward leaves nothing to differentiate
        loss.forward(np.zeros((2, 2, 2, 2, 2)), np.zeros(1))
    with pytest.raises(ValueError, match="backward called before forward"):
        loss.backward()
