"""nf.metrics.dice and iou: against a float64 loop over the definition, against
MONAI's DiceMetric and MeanIoU where MONAI is importable, and bad input."""
import numpy as np
import pytest

import nnfast as nf


def _loop(pred, true, k, include_background, ignore_empty, kind):
    """The definition, sample by sample and class by class, in float64."""
    classes = range(0 if include_background else 1, k)
    per = np.full((pred.shape[0], len(classes)), np.nan)
    for b in range(pred.shape[0]):
        for j, c in enumerate(classes):
            p, t = pred[b] == c, true[b] == c
            inter, sp, st = float((p & t).sum()), float(p.sum()), float(t.sum())
            if st > 0:
                per[b, j] = 2 * inter / (sp + st) if kind == "dice" else inter / (sp + st - inter)
            elif not ignore_empty:
                per[b, j] = 1.0 if sp == 0 else 0.0
    with np.errstate(invalid="ignore"):
        return np.array([np.nanmean(col) if (~np.isnan(col)).any() else np.nan for col in per.T])


def _case(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    shape = (int(rng.integers(1, 5)),) + tuple(int(s) for s in rng.integers(1, 9, rng.integers(1, 4)))
    true = rng.integers(0, k, shape)
    pred = np.where(rng.random(shape) < 0.7, true, rng.integers(0, k, shape))
    if seed % 3 == 0:          # a class absent from every truth, present in a prediction
        true[true == k - 1] = 0
    if seed % 4 == 1:          # a sample with one class only
        true[0] = 0
        pred[0] = 0
    return pred, true, k


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("include_background", [False, True])
@pytest.mark.parametrize("ignore_empty", [True, False])
@pytest.mark.parametrize("kind", ["dice", "iou"])
def test_matches_the_definition(seed, include_background, ignore_empty, kind):
    pred, true, k = _case(seed)
    got = getattr(nf.metrics, kind)(pred, true, k, include_background=include_background,
                                    ignore_empty=ignore_empty)
    expected = _loop(pred, true, k, include_background, ignore_empty, kind)
    assert got.shape == (k if include_background else k - 1,) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)   # NaN where NaN


def test_known_values_and_perfect_prediction():
    pred = np.array([[[0, 1], [2, 2]]])
    true = np.array([[[0, 1], [1, 2]]])
    np.testing.assert_allclose(nf.metrics.dice(pred, true, 3), [2 / 3, 2 / 3])
    np.testing.assert_allclose(nf.metrics.iou(pred, true, 3), [0.5, 0.5])
    np.testing.assert_allclose(nf.metrics.dice(true, true, 3, include_background=True), 1.0)
    absent = nf.metrics.dice(np.zeros((1, 4, 4), int), np.zeros((1, 4, 4), int), 3)
    assert np.isnan(absent).all()
    np.testing.assert_array_equal(
        nf.metrics.dice(np.zeros((1, 4, 4), int), np.zeros((1, 4, 4), int), 3,
                        ignore_empty=False), [1.0, 1.0])


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("include_background", [False, True])
@pytest.mark.parametrize("ignore_empty", [True, False])
def test_matches_monai(seed, include_background, ignore_empty):
    monai = pytest.importorskip("monai")
    torch = pytest.importorskip("torch")
    from monai.metrics import DiceMetric, MeanIoU
    pred, true, k = _case(seed)
    one_hot = lambda a: torch.nn.functional.one_hot(torch.from_numpy(a), k).movedim(-1, 1)
    for ours, theirs in ((nf.metrics.dice, DiceMetric), (nf.metrics.iou, MeanIoU)):
        metric = theirs(include_background=include_background, reduction="none",
                        ignore_empty=ignore_empty)
        per = metric(one_hot(pred), one_hot(true)).double().numpy()   # (samples, classes)
        with np.errstate(invalid="ignore"):
            valid = ~np.isnan(per)
            expected = np.where(valid.any(0), np.nansum(per, 0) / np.maximum(valid.sum(0), 1),
                                np.nan)
        np.testing.assert_allclose(ours(pred, true, k, include_background=include_background,
                                        ignore_empty=ignore_empty), expected, rtol=1e-6)


@pytest.mark.parametrize("kind", ["dice", "iou"])
@pytest.mark.parametrize("args, exc, words", [
    ((np.zeros((1, 3, 3), int), np.full((1, 3, 3), 3), 3), ValueError, "true_labels labels must be in"),
    ((np.full((1, 3, 3), -1), np.zeros((1, 3, 3), int), 3), ValueError, "pred_labels labels must be in"),
    ((np.zeros((1, 3, 3), int), np.zeros((1, 3, 4), int), 3), ValueError, "same shape"),
    ((np.zeros((1, 3, 3)), np.zeros((1, 3, 3), int), 3), TypeError, "integer class labels"),
    ((np.zeros(3, int), np.zeros(3, int), 3), ValueError, "spatial axis"),
    ((np.zeros((0, 3), int), np.zeros((0, 3), int), 3), ValueError, "must not be empty"),
    ((np.zeros((1, 3), int), np.zeros((1, 3), int), 1), ValueError, "num_classes must be >= 2"),
    ((np.zeros((1, 3), int), np.zeros((1, 3), int), 2.0), TypeError, "num_classes must be an int"),
    (("a", np.zeros((1, 3), int), 2), TypeError, "pred_labels must be an integer array"),
])
def test_bad_input_is_named(kind, args, exc, words):
    with pytest.raises(exc, match=words):
        getattr(nf.metrics, kind)(*args)


@pytest.mark.parametrize("kind", ["dice", "iou"])
def test_bad_switches(kind):
    a = np.zeros((1, 3), int)
    with pytest.raises(TypeError, match="include_background must be True or False"):
        getattr(nf.metrics, kind)(a, a, 2, include_background=1)
    with pytest.raises(TypeError, match="ignore_empty must be True or False"):
        getattr(nf.metrics, kind)(a, a, 2, ignore_empty="yes")
