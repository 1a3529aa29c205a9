"""Segmentation losses (DiceLoss, TverskyLoss, FocalLoss, DiceCELoss):
against float64 formulas written here from their definitions, against
MONAI's numbers and (through torch autograd) its gradients where MONAI is
importable, float64 central-difference gradient checks, dtypes, targets in
every accepted form, training with nf.fit, and bad input."""
import itertools
import warnings

import numpy as np
import pytest

import nnfast as nf
from nnfast.losses import DiceCELoss, DiceLoss, FocalLoss, TverskyLoss

SPATIAL = {"2d": (5, 4), "3d": (3, 4, 2)}
TARGET_FORMS = ("labels", "labels1", "onehot")


# -- cases and float64 formulas from the definitions ------------------------
def one_hot(labels, c):
    """(N, *spatial) labels -> (N, C, *spatial) one-hot float64."""
    return np.moveaxis(np.eye(c)[labels], -1, 1)


def make_case(seed, c=3, spatial="2d", dtype=np.float64, n=2, probabilities=False):
    """(pred, labels): logits (or probabilities in (0, 1)) and int labels."""
    rng = np.random.default_rng(seed)
    shape = (n, c) + SPATIAL[spatial]
    if probabilities:
        pred = rng.uniform(0.02, 0.98, shape)
    else:
        pred = rng.standard_normal(shape) * 2
    labels = rng.integers(0, max(c, 2), (n,) + SPATIAL[spatial])
    return pred.astype(dtype), labels


def target_in_form(labels, c, form, dtype):
    """The target ours is given: labels (N, *S), labels (N, 1, *S) or one-hot."""
    if c == 1:
        mask = labels.astype(dtype)
        return mask if form == "labels" else mask[:, None]
    if form == "labels":
        return labels
    if form == "labels1":
        return labels[:, None]
    return one_hot(labels, c).astype(dtype)


def activated(x, sigmoid, softmax):
    x = x.astype(np.float64)
    if sigmoid:
        return 1 / (1 + np.exp(-x))
    if softmax and x.shape[1] > 1:
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return x


def maps_of(labels, c):
    return labels[:, None].astype(np.float64) if c == 1 else one_hot(labels, c)


def groups(p, t, batch):
    """(class, p, t) for every sample and class (every class with batch)."""
    n, c = p.shape[:2]
    if batch:
        return [(k, p[:, k], t[:, k]) for k in range(c)]
    return [(k, p[i, k], t[i, k]) for i in range(n) for k in range(c)]


def reduce(values, reduction):
    return float(np.mean(values) if reduction == "mean" else np.sum(values))


def ref_dice(x, labels, include_background=True, sigmoid=False, softmax=False, squared_pred=False,
             jaccard=False, reduction="mean", smooth_nr=1e-5, smooth_dr=1e-5, batch=False,
             weight=None):
    c = x.shape[1]
    p, t = activated(x, sigmoid, softmax), maps_of(labels, c)
    if not include_background and c > 1:
        p, t = p[:, 1:], t[:, 1:]
    k = 2 if squared_pred else 1
    values = []
    for cls, pp, tt in groups(p, t, batch):
        inter, sp, st = np.sum(pp * tt), np.sum(pp ** k), np.sum(tt ** k)
        if jaccard:
            f = 1 - (2 * inter + smooth_nr) / (2 * (sp + st - inter) + smooth_dr)
        else:
            f = 1 - (2 * inter + smooth_nr) / (sp + st + smooth_dr)
        if weight is not None and p.shape[1] > 1:
            f *= np.broadcast_to(weight, (p.shape[1],))[cls]
        values.append(f)
    return reduce(values, reduction)


def ref_tversky(x, labels, include_background=True, sigmoid=False, softmax=False, alpha=0.5,
                beta=0.5, reduction="mean", smooth_nr=1e-5, smooth_dr=1e-5, batch=False):
    c = x.shape[1]
    p, t = activated(x, sigmoid, softmax), maps_of(labels, c)
    if not include_background and c > 1:
        p, t = p[:, 1:], t[:, 1:]
    values = []
    for _, pp, tt in groups(p, t, batch):
        tp, fp, fn = np.sum(pp * tt), np.sum(pp * (1 - tt)), np.sum((1 - pp) * tt)
        values.append(1 - (tp + smooth_nr) / (tp + alpha * fp + beta * fn + smooth_dr))
    return reduce(values, reduction)


def ref_focal(x, labels, include_background=True, gamma=2.0, alpha=None, weight=None,
              reduction="mean", use_softmax=False, soft_target=None):
    c = x.shape[1]
    x = x.astype(np.float64)
    t = maps_of(labels, c) if soft_target is None else soft_target
    if not include_background and c > 1:
        x, t = x[:, 1:], t[:, 1:]
    k = x.shape[1]
    per_class = (1, k) + (1,) * (x.ndim - 2)
    if use_softmax:
        e = np.exp(x - x.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        loss = -(1 - p) ** gamma * np.log(p) * t
        if alpha is not None and not (np.isscalar(alpha) and not include_background):
            a = [1 - alpha] + [alpha] * (k - 1) if np.isscalar(alpha) else alpha
            loss = loss * np.reshape(a, per_class)
    else:
        p = 1 / (1 + np.exp(-x))
        bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
        # (1 - p_t) ** gamma, written for soft targets as sigmoid(-x (2t - 1)) ** gamma
        loss = (1 / (1 + np.exp(x * (2 * t - 1)))) ** gamma * bce
        if alpha is not None:
            if np.isscalar(alpha):
                loss = loss * (alpha * t + (1 - alpha) * (1 - t))
            else:
                loss = loss * np.where(t == 1, np.reshape(alpha, per_class), 1.0)
    if weight is not None:
        loss = loss * (weight if np.isscalar(weight) else np.reshape(weight, per_class))
    if reduction == "mean":
        return float(loss.mean())
    return float(loss.reshape(loss.shape[0], k, -1).mean(axis=-1).sum())


def ref_cross_entropy(x, labels, one_hot_target, weight=None, label_smoothing=0.0,
                      reduction="mean"):
    """torch's cross_entropy over axis 1: class indices or probability targets."""
    n, c = x.shape[:2]
    x = x.astype(np.float64)
    logp = x - x.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    wc = w.reshape((1, c) + (1,) * (x.ndim - 2))
    eps = label_smoothing
    if one_hot_target:
        tt = one_hot(labels, c) * (1 - eps) + eps / c
        total = -np.sum(wc * tt * logp)
        return float(total / labels.size if reduction == "mean" else total)
    picked = np.take_along_axis(logp, labels[:, None], axis=1)[:, 0]
    nll = -np.sum(w[labels] * picked)
    smooth = -np.sum(wc * logp)
    total = (1 - eps) * nll + eps / c * smooth
    return float(total / np.sum(w[labels]) if reduction == "mean" else total)


def ref_dice_ce(x, labels, form, lambda_dice=1.0, lambda_ce=1.0, label_smoothing=0.0, weight=None,
                include_background=True, reduction="mean", **dice):
    c = x.shape[1]
    dice_weight = None if weight is None else (weight if include_background else weight[1:])
    d = ref_dice(x, labels, include_background=include_background, reduction=reduction,
                 weight=dice_weight, **dice)
    if c == 1:
        xx, t = x[:, 0].astype(np.float64), labels.astype(np.float64)
        pw = 1.0 if weight is None else weight[0]
        p = 1 / (1 + np.exp(-xx))
        bce = -(pw * t * np.log(p) + (1 - t) * np.log(1 - p))
        ce = float(bce.mean() if reduction == "mean" else bce.sum())
    else:
        ce = ref_cross_entropy(x, labels, form == "onehot", weight, label_smoothing, reduction)
    return lambda_dice * d + lambda_ce * ce


def close(actual, expected, rtol):
    expected = np.asarray(expected, np.float64)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=rtol,
                               atol=rtol * scale)


def forward_backward(loss, pred, target):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        value = loss.forward(pred, target)
        grad = loss.backward()
    assert isinstance(value, float)
    pred = np.asarray(pred)
    assert grad.shape == pred.shape
    assert grad.dtype == (pred.dtype if pred.dtype in (np.float32, np.float64) else np.float32)
    return value, grad


# -- options grids -----------------------------------------------------------
ACTIVATIONS = {"none": {}, "sigmoid": {"sigmoid": True}, "softmax": {"softmax": True}}


def dice_options():
    for squared, jaccard, batch, reduction in itertools.product(
            (False, True), (False, True), (False, True), ("mean", "sum")):
        yield {"squared_pred": squared, "jaccard": jaccard, "batch": batch, "reduction": reduction}


def tversky_options():
    for (alpha, beta), batch, reduction in itertools.product(
            ((0.5, 0.5), (0.3, 0.7), (1.0, 0.0)), (False, True), ("mean", "sum")):
        yield {"alpha": alpha, "beta": beta, "batch": batch, "reduction": reduction}


def focal_options(c, include_background):
    k = c - (0 if include_background else 1)
    seq = list(np.linspace(0.2, 0.8, k))
    for gamma, alpha, weight, reduction in itertools.product(
            (0.0, 0.5, 2.0), (None, 0.25, seq), (None, 2.0, list(np.arange(1.0, k + 1))),
            ("mean", "sum")):
        yield {"gamma": gamma, "alpha": alpha, "weight": weight, "reduction": reduction}


def dice_ce_options(c):
    for weight, smoothing, lambdas, reduction, jaccard in itertools.product(
            (None, list(np.arange(1.0, c + 1))), (0.0, 0.1), ((1.0, 1.0), (0.7, 1.3)),
            ("mean", "sum"), (False, True)):
        yield {"weight": weight, "label_smoothing": smoothing, "lambda_dice": lambdas[0],
               "lambda_ce": lambdas[1], "reduction": reduction, "jaccard": jaccard}


# -- against the formulas ----------------------------------------------------
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("include_background", [True, False])
def test_dice_matches_formula(activation, include_background):
    for i, (opts, spatial, form) in enumerate(itertools.product(dice_options(), SPATIAL, TARGET_FORMS)):
        x, labels = make_case(i, spatial=spatial, probabilities=activation == "none")
        kw = dict(include_background=include_background, **ACTIVATIONS[activation], **opts)
        if i % 3 == 0:
            kw["weight"] = [0.5, 1.0, 2.0][1 - include_background:] if i % 2 else 1.5
        value = DiceLoss(**kw).forward(x, target_in_form(labels, 3, form, x.dtype))
        assert value == pytest.approx(ref_dice(x, labels, **kw), rel=1e-12, abs=1e-14), (kw, form)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("include_background", [True, False])
def test_tversky_matches_formula(activation, include_background):
    for i, (opts, spatial, form) in enumerate(itertools.product(tversky_options(), SPATIAL, TARGET_FORMS)):
        x, labels = make_case(100 + i, spatial=spatial, probabilities=activation == "none")
        kw = dict(include_background=include_background, **ACTIVATIONS[activation], **opts)
        value = TverskyLoss(**kw).forward(x, target_in_form(labels, 3, form, x.dtype))
        assert value == pytest.approx(ref_tversky(x, labels, **kw), rel=1e-12, abs=1e-14), (kw, form)


@pytest.mark.parametrize("use_softmax", [False, True])
@pytest.mark.parametrize("include_background", [True, False])
def test_focal_matches_formula(use_softmax, include_background):
    cases = itertools.product(focal_options(3, include_background), SPATIAL, TARGET_FORMS)
    for i, (opts, spatial, form) in enumerate(cases):
        x, labels = make_case(200 + i, spatial=spatial)
        kw = dict(include_background=include_background, use_softmax=use_softmax, **opts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # scalar alpha ignored (softmax, no background)
            value = FocalLoss(**kw).forward(x, target_in_form(labels, 3, form, x.dtype))
        assert value == pytest.approx(ref_focal(x, labels, **kw), rel=1e-12, abs=1e-14), (kw, form)


def test_focal_soft_targets_match_formula():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4, 4)) * 3
    t = rng.uniform(0, 1, x.shape)
    for kw in ({}, {"gamma": 0.7, "alpha": 0.3}, {"use_softmax": True, "weight": [1.0, 2.0, 0.5]}):
        value = FocalLoss(**kw).forward(x, t)
        assert value == pytest.approx(ref_focal(x, None, soft_target=t, **kw), rel=1e-12)


@pytest.mark.parametrize("activation", ["softmax", "sigmoid", "none"])
@pytest.mark.parametrize("c", [1, 3])
def test_dice_ce_matches_formula(activation, c):
    cases = itertools.product(dice_ce_options(c), (True, False), SPATIAL, TARGET_FORMS)
    for i, (opts, include_background, spatial, form) in enumerate(cases):
        if c == 1 and (form == "onehot" or opts["label_smoothing"]):
            continue
        x, labels = make_case(300 + i, c=c, spatial=spatial,
                              probabilities=activation == "none" or (c == 1 and activation == "softmax"))
        if c == 1:
            labels = labels % 2
        kw = dict(include_background=include_background, **ACTIVATIONS[activation], **opts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # one channel: options ignored
            value = DiceCELoss(**kw).forward(x, target_in_form(labels, c, form, x.dtype))
        expected = ref_dice_ce(x, labels, form, **kw)
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-14), (kw, form)


def test_dice_with_one_channel_is_the_foreground_dice():
    rng = np.random.default_rng(6)
    p = rng.uniform(0.05, 0.95, (3, 1, 6, 6))
    m = (rng.random((3, 6, 6)) < 0.4).astype(np.float64)
    inter, s = (p[:, 0] * m).sum((1, 2)), p[:, 0].sum((1, 2)) + m.sum((1, 2))
    expected = np.mean(1 - (2 * inter + 1e-5) / (s + 1e-5))
    assert DiceLoss().forward(p, m) == pytest.approx(expected, rel=1e-12)
    assert DiceLoss().forward(p, m[:, None]) == pytest.approx(expected, rel=1e-12)
    # integer 0/1 masks too; the options MONAI ignores for one channel warn as MONAI does
    for kw, option in (({"include_background": False}, "include_background=False"),
                       ({"softmax": True}, "softmax=True"), ({"to_onehot_y": True}, "to_onehot_y=True")):
        with pytest.warns(UserWarning, match=f"single channel prediction, `{option}` ignored"):
            assert DiceLoss(**kw).forward(p, m.astype(np.int64)) == pytest.approx(expected, rel=1e-12)


def test_target_forms_agree():
    x, labels = make_case(7, c=4, spatial="3d")
    for loss in (DiceLoss(softmax=True), TverskyLoss(sigmoid=True, alpha=0.2, beta=0.8),
                 FocalLoss(use_softmax=True), DiceCELoss(softmax=True)):
        results = [forward_backward(loss, x, target_in_form(labels, 4, form, x.dtype))
                   for form in TARGET_FORMS]
        results.append(forward_backward(loss, x, labels.astype(np.uint8)))
        for value, grad in results[1:]:
            assert value == pytest.approx(results[0][0], rel=1e-12)
            np.testing.assert_allclose(grad, results[0][1], rtol=1e-12, atol=1e-15)
    # float label maps are MONAI's habit: accepted with to_onehot_y=True
    for cls, kw in ((DiceLoss, {"sigmoid": True}), (TverskyLoss, {"softmax": True}),
                    (FocalLoss, {}), (DiceCELoss, {"softmax": True})):
        a = cls(to_onehot_y=True, **kw).forward(x, labels[:, None].astype(np.float32))
        assert a == pytest.approx(cls(**kw).forward(x, labels), rel=1e-12)


def test_background_left_out_has_no_gradient_without_softmax():
    x, labels = make_case(8, c=3)
    p = 1 / (1 + np.exp(-x))
    _, g = forward_backward(DiceLoss(include_background=False), p, labels)
    assert np.all(g[:, 0] == 0) and np.any(g[:, 1:] != 0)
    _, g = forward_backward(FocalLoss(include_background=False, use_softmax=True), x, labels)
    assert np.all(g[:, 0] == 0)                  # MONAI's softmax is over the other classes
    _, g = forward_backward(DiceLoss(include_background=False, softmax=True), x, labels)
    assert np.any(g[:, 0] != 0)                  # the softmax couples class 0 to the others


# -- dtypes --------------------------------------------------------------------
LOSSES = [
    (lambda: DiceLoss(softmax=True), False),
    (lambda: DiceLoss(jaccard=True, squared_pred=True), True),
    (lambda: TverskyLoss(sigmoid=True, alpha=0.3, beta=0.7), False),
    (lambda: FocalLoss(), False),
    (lambda: FocalLoss(use_softmax=True, alpha=0.25, gamma=1.5), False),
    (lambda: DiceCELoss(softmax=True), False),
    (lambda: DiceCELoss(sigmoid=True, weight=[1.0, 2.0, 3.0], label_smoothing=0.1, batch=True), False),
]


@pytest.mark.parametrize("make, probabilities", LOSSES)
@pytest.mark.parametrize("spatial", SPATIAL)
def test_float32_stays_float32_and_agrees_with_float64(make, probabilities, spatial):
    x, labels = make_case(9, spatial=spatial, probabilities=probabilities, n=3)
    v64, g64 = forward_backward(make(), x, labels)
    v32, g32 = forward_backward(make(), x.astype(np.float32), labels)
    assert g32.dtype == np.float32
    close(v32, v64, 1e-5)
    close(g32, g64, 1e-4)
    # other numeric pred (ints) is float32; a float target keeps pred's dtype
    _, g = forward_backward(make(), (x > 0.5).astype(np.int64), labels)
    assert g.dtype == np.float32
    _, g = forward_backward(make(), x.astype(np.float32), one_hot(labels, 3))
    assert g.dtype == np.float32


def test_extreme_logits_stay_finite():
    x, labels = make_case(10)
    x = np.sign(x) * 1e4
    for loss in (DiceLoss(softmax=True), DiceLoss(sigmoid=True), TverskyLoss(softmax=True),
                 FocalLoss(), FocalLoss(use_softmax=True), FocalLoss(use_softmax=True, gamma=0.5),
                 DiceCELoss(softmax=True), DiceCELoss(sigmoid=True, label_smoothing=0.2)):
        for dtype in (np.float32, np.float64):
            value, grad = forward_backward(loss, x.astype(dtype), labels)
            assert np.isfinite(value) and np.all(np.isfinite(grad)), loss


# -- gradient checks (float64 central differences) ---------------------------
def gradcheck_cases():
    for activation, include_background, opts in itertools.product(
            ACTIVATIONS, (True, False), list(dice_options())[::3]):
        yield "dice", dict(include_background=include_background, **ACTIVATIONS[activation], **opts,
                           weight=[1.0, 2.0, 0.5][1 - include_background:]), activation == "none"
    for activation, include_background, opts in itertools.product(
            ACTIVATIONS, (True, False), list(tversky_options())[::2]):
        yield "tversky", dict(include_background=include_background, **ACTIVATIONS[activation],
                              **opts), activation == "none"
    for use_softmax, include_background in itertools.product((False, True), (True, False)):
        for opts in list(focal_options(3, include_background))[::5]:
            if use_softmax and not include_background and np.isscalar(opts["alpha"]):
                continue                         # that alpha is ignored, with a warning
            yield "focal", dict(include_background=include_background, use_softmax=use_softmax,
                                **opts), False
    for activation, include_background in itertools.product(ACTIVATIONS, (True, False)):
        for opts in list(dice_ce_options(3))[::4]:
            yield "dice_ce", dict(include_background=include_background, **ACTIVATIONS[activation],
                                  **opts), activation == "none"


CLASSES = {"dice": DiceLoss, "tversky": TverskyLoss, "focal": FocalLoss, "dice_ce": DiceCELoss}


@pytest.mark.parametrize("i, name, kw, probabilities",
                         [(i,) + case for i, case in enumerate(gradcheck_cases())],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_gradcheck(i, name, kw, probabilities):
    x, labels = make_case(400 + i, spatial="3d" if i % 2 else "2d", probabilities=probabilities)
    target = target_in_form(labels, 3, TARGET_FORMS[i % 3], np.float64)
    if i % 5 == 0 and name != "dice_ce":        # soft targets too
        target = np.random.default_rng(i).uniform(0, 1, x.shape)
    nf.gradcheck(CLASSES[name](**kw), x, target, rtol=1e-6)


@pytest.mark.parametrize("loss", [DiceLoss(sigmoid=True), DiceCELoss(), DiceCELoss(weight=[3.0]),
                                  FocalLoss(weight=2.0, alpha=0.7), TverskyLoss(sigmoid=True)],
                         ids=["dice", "dice_ce", "dice_ce_pos_weight", "focal", "tversky"])
def test_gradcheck_one_channel(loss):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 1, 4, 5))
    if isinstance(loss, DiceCELoss):
        x = 1 / (1 + np.exp(-x))                 # its Dice term without activation needs [0, 1]
    nf.gradcheck(loss, x, (rng.random((3, 4, 5)) < 0.5).astype(np.float64), rtol=1e-6)


# -- against MONAI (and its gradients through torch autograd) ----------------
def monai_losses():
    pytest.importorskip("torch")
    return pytest.importorskip("monai.losses")


def monai_target(torch, labels, c, form, dtype):
    """What MONAI is given for the target ours gets in ``form``, and whether
    it needs to_onehot_y."""
    if c == 1:
        return torch.tensor(labels[:, None].astype(dtype)), False
    if form == "onehot":
        return torch.tensor(one_hot(labels, c).astype(dtype)), False
    return torch.tensor(labels[:, None]), True


def run_monai(torch, loss, x, target):
    tx = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = loss(tx, target)
    value.backward()
    return value.item(), tx.grad.numpy()


def compare_with_monai(ours, theirs, x, labels, form, c, torch, rtol):
    target = target_in_form(labels, c, form, x.dtype)
    value, grad = forward_backward(ours, x, target)
    mv, mg = run_monai(torch, theirs, x, monai_target(torch, labels, c, form, x.dtype)[0])
    close(value, mv, rtol)
    close(grad, mg, rtol)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_dice_and_tversky_match_monai(activation, include_background, dtype):
    ml = monai_losses()
    import torch
    rtol = 2e-5 if dtype == np.float32 else 1e-8
    cases = itertools.product(dice_options(), SPATIAL, TARGET_FORMS)
    for i, (opts, spatial, form) in enumerate(cases):
        x, labels = make_case(500 + i, spatial=spatial, dtype=dtype, probabilities=activation == "none")
        kw = dict(include_background=include_background, **ACTIVATIONS[activation], **opts)
        if i % 3 == 0:
            kw["weight"] = [0.5, 1.0, 2.0][1 - include_background:]
        onehot_y = monai_target(torch, labels, 3, form, dtype)[1]
        # MONAI's one_hot is float32 and its squared_pred path takes the
        # target's norm in that dtype (then tp = (|p|^2 + |t|^2 - |p - t|^2) / 2):
        # its float64 result is good to ~1e-8 there
        tol = max(rtol, 1e-6) if opts["squared_pred"] and onehot_y else rtol
        compare_with_monai(DiceLoss(**kw), ml.DiceLoss(to_onehot_y=onehot_y, **kw), x, labels, form,
                           3, torch, tol)
    for i, (opts, spatial, form) in enumerate(itertools.product(tversky_options(), SPATIAL,
                                                                TARGET_FORMS)):
        x, labels = make_case(600 + i, spatial=spatial, dtype=dtype, probabilities=activation == "none")
        kw = dict(include_background=include_background, **ACTIVATIONS[activation], **opts)
        onehot_y = monai_target(torch, labels, 3, form, dtype)[1]
        compare_with_monai(TverskyLoss(**kw), ml.TverskyLoss(to_onehot_y=onehot_y, **kw), x, labels,
                           form, 3, torch, rtol)


@pytest.mark.parametrize("use_softmax", [False, True])
@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_focal_matches_monai(use_softmax, include_background, dtype):
    ml = monai_losses()
    import torch
    cases = itertools.product(focal_options(3, include_background), SPATIAL, TARGET_FORMS)
    for i, (opts, spatial, form) in enumerate(cases):
        if i % 2:
            continue                             # half the grid: it is large
        x, labels = make_case(700 + i, spatial=spatial, dtype=dtype)
        kw = dict(include_background=include_background, use_softmax=use_softmax, **opts)
        onehot_y = monai_target(torch, labels, 3, form, dtype)[1]
        # MONAI computes the focal loss in float32 whatever the input's dtype
        compare_with_monai(FocalLoss(**kw), ml.FocalLoss(to_onehot_y=onehot_y, **kw), x, labels, form,
                           3, torch, 2e-5)


@pytest.mark.parametrize("activation", ["softmax", "sigmoid", "none"])
@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_dice_ce_matches_monai(activation, c, dtype):
    ml = monai_losses()
    import torch
    rtol = 2e-5 if dtype == np.float32 else 1e-8
    cases = itertools.product(dice_ce_options(c), (True, False), SPATIAL, TARGET_FORMS)
    for i, (opts, include_background, spatial, form) in enumerate(cases):
        if c == 1 and (form == "onehot" or opts["label_smoothing"]):
            continue
        if c > 1 and i % 2:
            continue                             # half the grid (the formula test has it all)
        x, labels = make_case(800 + i, c=c, spatial=spatial, dtype=dtype,
                              probabilities=activation == "none" or (c == 1 and activation == "softmax"))
        if c == 1:
            labels = labels % 2
        kw = dict(include_background=include_background, **ACTIVATIONS[activation], **opts)
        theirs = dict(kw)
        if kw["weight"] is not None:
            theirs["weight"] = torch.tensor(kw["weight"], dtype=torch.float32 if dtype == np.float32
                                            else torch.float64)
        onehot_y = monai_target(torch, labels, c, form, dtype)[1]
        compare_with_monai(DiceCELoss(**kw), ml.DiceCELoss(to_onehot_y=onehot_y, **theirs), x, labels,
                           form, c, torch, rtol)


def test_options_monai_refuses_are_refused():
    ml = monai_losses()
    for cls, mcls in ((DiceLoss, ml.DiceLoss), (TverskyLoss, ml.TverskyLoss),
                      (DiceCELoss, ml.DiceCELoss)):
        with pytest.raises(ValueError):
            mcls(sigmoid=True, softmax=True)
        with pytest.raises(ValueError, match="sigmoid and softmax"):
            cls(sigmoid=True, softmax=True)
    with pytest.raises(ValueError):
        ml.DiceCELoss(lambda_dice=-1.0)
    with pytest.raises(ValueError, match="lambda_dice"):
        DiceCELoss(lambda_dice=-1.0)
    with pytest.raises(ValueError, match="lambda_ce"):
        DiceCELoss(lambda_ce=-0.5)
    with pytest.raises(ValueError, match="reduction must be one of"):
        DiceCELoss(reduction="none")


# -- the API ---------------------------------------------------------------------
def test_defaults_are_monais():
    d = DiceLoss()
    assert (d.include_background, d.to_onehot_y, d.sigmoid, d.softmax, d.squared_pred, d.jaccard,
            d.reduction, d.smooth_nr, d.smooth_dr, d.batch, d.weight) == \
        (True, False, False, False, False, False, "mean", 1e-5, 1e-5, False, None)
    t = TverskyLoss()
    assert (t.alpha, t.beta, t.smooth_nr, t.smooth_dr, t.batch) == (0.5, 0.5, 1e-5, 1e-5, False)
    f = FocalLoss()
    assert (f.gamma, f.alpha, f.weight, f.use_softmax, f.reduction) == (2.0, None, None, False, "mean")
    c = DiceCELoss()
    assert (c.lambda_dice, c.lambda_ce, c.label_smoothing, c.softmax, c.smooth_nr) == \
        (1.0, 1.0, 0.0, False, 1e-5)


@pytest.mark.parametrize("loss", [
    DiceLoss(softmax=True, jaccard=True, batch=True, weight=[1.0, 2.0, 3.0], smooth_nr=0.1),
    DiceLoss(weight=2.0, reduction="sum"),
    TverskyLoss(sigmoid=True, alpha=0.2, beta=0.8, include_background=False),
    FocalLoss(gamma=1.0, alpha=[0.2, 0.3, 0.5], weight=[1.0, 1.0, 2.0], use_softmax=True),
    DiceCELoss(softmax=True, weight=[1.0, 2.0, 3.0], lambda_ce=0.5, label_smoothing=0.1),
])
def test_config_rebuilds_the_same_loss(loss):
    import json
    config = json.loads(json.dumps(loss.config()))
    again = type(loss)(**config)
    assert again.config() == loss.config()
    assert repr(again) == repr(loss)
    x, labels = make_case(12, probabilities=isinstance(loss, DiceLoss) and not loss.softmax)
    assert again.forward(x, labels) == loss.forward(x, labels)


def test_fit_and_evaluate_a_segmentation_net_with_label_maps():
    rng = np.random.default_rng(13)
    X = rng.standard_normal((24, 1, 8, 8)).astype(np.float32)
    y = (X[:, 0] > 0.3).astype(np.int64) + (X[:, 0] > 1.2)      # 3 classes, (N, H, W)
    model = nf.Sequential([nf.layers.Conv2D(1, 8, 3, padding=1, rng=0), nf.layers.ReLU(),
                           nf.layers.Conv2D(8, 3, 1, rng=1)])
    loss = DiceCELoss(softmax=True)
    first = model.evaluate(X, y, loss=loss)
    history = nf.fit(model, X, y, loss=loss, optimizer=nf.optim.Adam(model.parameters(), lr=0.02),
                     epochs=8, batch_size=8, validation_data=(X, y), verbose=0, rng=0)
    assert history.loss[-1] < history.loss[0]
    result = model.evaluate(X, y)                   # the loss fit used
    assert result["loss"] < first["loss"]
    out = model.predict(X)
    assert result["accuracy"] == pytest.approx(np.mean(out.argmax(axis=1) == y))
    assert result["loss"] == pytest.approx(history.val_loss[-1], rel=1e-6)
    # every segmentation loss trains and evaluates on (N, C, H, W) outputs
    for other in (DiceLoss(softmax=True), TverskyLoss(softmax=True), FocalLoss(use_softmax=True)):
        nf.fit(model, X, y, loss=other, optimizer=nf.optim.SGD(model.parameters(), lr=0.01),
               epochs=1, batch_size=12, verbose=0)
        assert np.isfinite(model.evaluate(X, y, loss=other)["loss"])


# -- bad input ----------------------------------------------------------------------
P = np.full((2, 3, 4, 4), 1 / 3)
L = np.zeros((2, 4, 4), np.int64)


@pytest.mark.parametrize("make, exc, words", [
    (lambda: DiceLoss(sigmoid=True, softmax=True), ValueError, "sigmoid and softmax"),
    (lambda: DiceLoss(smooth_nr=-1e-5), ValueError, "smooth_nr must be >= 0"),
    (lambda: DiceLoss(smooth_dr=float("nan")), ValueError, "smooth_dr must be finite"),
    (lambda: DiceLoss(smooth=-1.0), ValueError, "smooth must be >= 0"),
    (lambda: DiceLoss(smooth=float("inf")), ValueError, "smooth must be finite"),
    (lambda: DiceLoss(include_background="yes"), TypeError, "include_background must be True or False"),
    (lambda: DiceLoss(batch=1), TypeError, "batch must be True or False"),
    (lambda: DiceLoss(squared_pred=None), TypeError, "squared_pred"),
    (lambda: DiceLoss(jaccard="no"), TypeError, "jaccard"),
    (lambda: DiceLoss(to_onehot_y=0), TypeError, "to_onehot_y"),
    (lambda: DiceLoss(weight=[1.0, -2.0]), ValueError, "weight must be non-negative"),
    (lambda: DiceLoss(weight=-1.0), ValueError, "weight must be >= 0"),
    (lambda: DiceLoss(weight=[1.0, float("nan")]), ValueError, "weight must hold finite"),
    (lambda: DiceLoss(reduction="none"), ValueError,
     r"reduction must be one of \('mean', 'sum'\), got 'none'"),
    (lambda: TverskyLoss(alpha=-0.1), ValueError, "alpha must be >= 0"),
    (lambda: TverskyLoss(beta=float("nan")), ValueError, "beta must be finite"),
    (lambda: TverskyLoss(softmax="yes"), TypeError, "softmax must be True or False"),
    (lambda: TverskyLoss(reduction="none"), ValueError, "reduction must be one of"),
    (lambda: FocalLoss(gamma=-1.0), ValueError, "gamma must be >= 0"),
    (lambda: FocalLoss(gamma="2"), TypeError, "gamma must be a real number"),
    (lambda: FocalLoss(alpha=1.5), ValueError, r"alpha must be <= 1"),
    (lambda: FocalLoss(alpha=[0.2, 2.0]), ValueError, r"alpha must hold values in \[0, 1\]"),
    (lambda: FocalLoss(weight=[-1.0, 1.0]), ValueError, "weight must be non-negative"),
    (lambda: FocalLoss(use_softmax=1), TypeError, "use_softmax"),
    (lambda: FocalLoss(reduction="none"), ValueError, "reduction must be one of"),
    (lambda: DiceCELoss(lambda_dice=-1.0), ValueError, "lambda_dice must be >= 0"),
    (lambda: DiceCELoss(lambda_ce=float("nan")), ValueError, "lambda_ce must be finite"),
    (lambda: DiceCELoss(label_smoothing=1.5), ValueError, "label_smoothing must be <= 1"),
    (lambda: DiceCELoss(weight=2.0), ValueError, "weight must have 1 dimensions"),
    (lambda: DiceCELoss(weight=[1.0, -1.0]), ValueError, "weight must be non-negative"),
    (lambda: DiceCELoss(smooth_dr=-1.0), ValueError, "smooth_dr"),
    (lambda: DiceCELoss(sigmoid=True, softmax=True), ValueError, "sigmoid and softmax"),
])
def test_bad_hyper_parameters(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


LOGIT_LOSSES = [lambda: DiceLoss(softmax=True), lambda: TverskyLoss(sigmoid=True), FocalLoss,
                lambda: DiceCELoss(softmax=True)]


@pytest.mark.parametrize("make", [DiceLoss, TverskyLoss] + LOGIT_LOSSES)
@pytest.mark.parametrize("pred, target, exc, words", [
    (P, L + 3, ValueError, r"target labels must be in \[0, 2\].*got 3"),
    (P, L - 1, ValueError, r"target labels must be in \[0, 2\].*got -1"),
    (P, L[:, :3], ValueError, r"target must have shape \(2, 3, 4, 4\).*\(2, 4, 4\).*got \(2, 3, 4\)"),
    (P, L[:, None, :, :3], ValueError, r"target must have shape .*got \(2, 1, 4, 3\)"),
    (P, L[:1], ValueError, r"target must have shape .*got \(1, 4, 4\)"),
    (P, np.zeros((2, 2, 4, 4)), ValueError, r"target must have shape \(2, 3, 4, 4\)"),
    (P, L.astype(np.float32), TypeError, "target label map of shape .* must have an integer dtype"),
    (P, np.full(P.shape, 1.5), ValueError, r"target must hold values in \[0, 1\]"),
    (P, np.full(P.shape, np.nan), ValueError, r"target must hold values in \[0, 1\]"),
    (P, "labels", TypeError, "target must be a numeric"),
    (P, None, TypeError, "target must be a numeric"),
    (P[:, :, 0, 0], L[:, 0, 0], ValueError, r"pred must have shape \(N, C, \*spatial\).*spatial axis"),
    (P[0, 0, 0], L[0, 0], ValueError, "pred must have shape"),
    (np.full((2, 3, 4, 4), "a"), L, TypeError, "pred must be a numeric"),
    (np.zeros((2, 3, 0, 4)), L[:, :0], ValueError, "pred must not be empty"),
])
def test_bad_inputs(make, pred, target, exc, words):
    loss = make()
    with pytest.raises(exc, match=words):
        loss.forward(pred, target)
    with pytest.raises(ValueError, match="backward called before forward"):
        loss.backward()                        # a failed forward leaves nothing behind


@pytest.mark.parametrize("make", [DiceLoss, TverskyLoss] + LOGIT_LOSSES)
def test_nan_pred(make):
    bad = P.copy()
    bad[1, 2, 3, 0] = np.nan
    words = r"pred must hold values in \[0, 1\]" if make in (DiceLoss, TverskyLoss) else \
        "pred must hold finite numbers, got nan"
    with pytest.raises(ValueError, match=words):
        make().forward(bad, L)
    bad[1, 2, 3, 0] = np.inf
    with pytest.raises(ValueError, match="pred must hold"):
        make().forward(bad, L)


def test_other_bad_inputs():
    # probabilities expected without an activation: logits say how to fix it
    with pytest.raises(ValueError, match=r"pred must hold values in \[0, 1\].*softmax=True"):
        DiceLoss().forward(P * 4, L)
    with pytest.raises(ValueError, match=r"pred must hold values in \[0, 1\]"):
        DiceCELoss().forward(P - 1, L)
    # float labels without integral values, and to_onehot_y with maps already per class
    with pytest.raises(ValueError, match="target label map must hold integral"):
        DiceLoss(to_onehot_y=True).forward(P, L + 0.5)
    with pytest.raises(ValueError, match="to_onehot_y=True needs a label map"):
        DiceLoss(to_onehot_y=True).forward(P, np.ones_like(P) / 3)
    # class weights of the wrong length
    with pytest.raises(ValueError, match="weight must have one value per class.*3 values, got 2"):
        DiceLoss(weight=[1.0, 2.0]).forward(P, L)
    with pytest.raises(ValueError, match="with include_background=False.*2 values, got 3"):
        DiceLoss(weight=[1.0, 2.0, 3.0], include_background=False).forward(P, L)
    with pytest.raises(ValueError, match=r"weight must have one value per class of pred \(3\), got 2"):
        DiceCELoss(weight=[1.0, 2.0]).forward(P, L)
    with pytest.raises(ValueError, match="alpha must have one value per class"):
        FocalLoss(alpha=[0.1, 0.2]).forward(P, L)
    with pytest.raises(ValueError, match="weight must have one value per class"):
        FocalLoss(weight=[1.0, 2.0]).forward(P, L)
    with pytest.raises(ValueError, match="weight must be one number with a single-channel output"):
        FocalLoss(weight=[1.0, 2.0]).forward(P[:, :1], L)
    # an empty class predicted empty without smoothing has no Dice
    with pytest.raises(ValueError, match="denominator is 0 for sample 0, class 2.*smooth_dr > 0"):
        DiceLoss(smooth_dr=0.0).forward(np.concatenate([P[:, :2] * 1.5, 0 * P[:, :1]], 1), L)
    with pytest.raises(ValueError, match="denominator is 0 for class 1.*smooth_dr"):
        TverskyLoss(smooth_dr=0.0, batch=True).forward(np.stack([P[:, 0] * 3, 0 * P[:, 0]], 1),
                                                       L)
    # the weighted CE mean over labels whose weights sum to 0
    with pytest.raises(ValueError, match="sum to 0"):
        DiceCELoss(softmax=True, weight=[0.0, 1.0, 1.0]).forward(P, L)
    # soft-alpha with softmax and no background: ignored with MONAI's warning
    with pytest.warns(UserWarning, match="scalar `alpha` ignored"):
        FocalLoss(alpha=0.3, use_softmax=True, include_background=False).forward(P, L)
