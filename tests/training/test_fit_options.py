"""fit's Keras-style options: validation_split, class_weight, sample_weight,
metrics; evaluate's default loss, predict_proba, History's metric series."""
import numpy as np
import pytest

import nnfast as nf
from nnfast.training.history import History
from nnfast.training.metrics import Dice, IoU, MeanAbsoluteError, MeanSquaredError
from train_doubles import PlainSGD, SoftmaxCE


def blobs(n=60, classes=3, features=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = (3 * np.eye(classes, features)[y] + 0.8 * rng.standard_normal((n, features))).astype(np.float64)
    return X, y


def linear(seed=1, dtype=np.float64, classes=3):
    return nf.Sequential([nf.layers.Linear(4, classes, dtype=dtype, rng=seed)])


def one_step(X, y, **kwargs):
    """One full-batch SGD step with a summed cross-entropy; the new weights."""
    model = linear()
    nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(reduction="sum"),
           optimizer=nf.optim.SGD(model.parameters(), lr=0.01), epochs=1, batch_size=1000,
           shuffle=False, verbose=0, **kwargs)
    return [p.value for p in model.parameters()]


def test_integer_sample_weights_equal_repeated_samples():
    X, y = blobs(12)
    w = np.array([2, 0, 1, 3, 1, 1, 0, 2, 1, 1, 1, 1])
    repeated = np.repeat(np.arange(12), w)
    for a, b in zip(one_step(X, y, sample_weight=w), one_step(X[repeated], y[repeated])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_class_weight_equals_its_sample_weights():
    X, y = blobs(30)
    table = {0: 0.5, 1: 2.0, 2: 1.25}
    by_class = one_step(X, y, class_weight=table)
    by_sample = one_step(X, y, sample_weight=np.array([table[c] for c in y]))
    for a, b in zip(by_class, by_sample):
        np.testing.assert_array_equal(a, b)
    # a sequence indexed by class works the same
    for a, b in zip(one_step(X, y, class_weight=[0.5, 2.0, 1.25]), by_class):
        np.testing.assert_array_equal(a, b)


def test_weighted_loss_value_is_the_weighted_mean_over_the_batch_size():
    X, y = blobs(40)
    w = np.random.default_rng(3).random(40)
    model = linear()
    h = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
               optimizer=nf.optim.SGD(model.parameters(), lr=0.0), epochs=1, batch_size=16,
               shuffle=False, sample_weight=w, verbose=0)
    logits = model.forward(X)
    per_sample = -(logits - np.log(np.exp(logits).sum(1, keepdims=True)))[np.arange(40), y]
    batches = [slice(0, 16), slice(16, 32), slice(32, 40)]
    expected = sum(np.sum(w[b] * per_sample[b]) for b in batches) / 40
    assert h.loss[0] == pytest.approx(expected, rel=1e-12)


def test_weights_need_a_samplewise_loss():
    X, y = blobs(20)
    model = linear()
    opt = nf.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="mean of per-sample losses"):
        nf.fit(model, X, np.eye(3)[y], loss=nf.losses.DiceLoss(), optimizer=opt,
               sample_weight=np.ones(20), verbose=0)
    with pytest.raises(ValueError, match="SoftmaxCE is not"):
        nf.fit(model, X, y, loss=SoftmaxCE(), optimizer=opt, class_weight={0: 1, 1: 1, 2: 1}, verbose=0)
    with pytest.raises(ValueError, match="loss's own class weights"):
        nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(weight=[1, 2, 3]), optimizer=opt,
               class_weight={0: 1, 1: 1, 2: 1}, verbose=0)
    declared = SoftmaxCE()
    declared.samplewise = True    # a user loss that says it is a mean of per-sample losses
    nf.fit(model, X, y, loss=declared, optimizer=opt, class_weight={0: 1, 1: 2, 2: 1}, verbose=0)


def test_validation_split_holds_out_the_last_samples():
    X, y = blobs(50)
    model = linear()
    loss = nf.losses.CrossEntropyLoss()
    h = nf.fit(model, X, y, loss=loss, optimizer=nf.optim.SGD(model.parameters(), lr=0.05),
               epochs=2, batch_size=8, validation_split=0.2, verbose=0, rng=0)
    ev = model.evaluate(X[40:], y[40:], loss=loss)
    assert h.val_loss[-1] == pytest.approx(ev["loss"], rel=1e-12)
    assert h.val_accuracy[-1] == ev["accuracy"]
    # 40 training samples: 5 batches of 8 per epoch
    assert h.samples_per_second[0] > 0


def test_metrics_in_history_and_validation():
    X, y = blobs(60)
    model = linear()
    h = nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
               optimizer=nf.optim.SGD(model.parameters(), lr=0.0), epochs=2, batch_size=7,
               metrics=["accuracy", "dice", IoU(include_background=True)],
               validation_data=(X[:20], y[:20]), verbose=0)
    pred = model.predict(X).argmax(1)
    dice = np.mean([2 * np.sum((pred == k) & (y == k)) / (np.sum(pred == k) + np.sum(y == k))
                    for k in (1, 2)])
    iou = np.mean([np.sum((pred == k) & (y == k)) / np.sum((pred == k) | (y == k)) for k in (0, 1, 2)])
    assert h.dice == pytest.approx([dice] * 2) and h["iou"] == pytest.approx([iou] * 2)
    assert h.accuracy[0] == np.mean(pred == y)
    vpred = pred[:20]
    vdice = np.mean([2 * np.sum((vpred == k) & (y[:20] == k)) / (np.sum(vpred == k) + np.sum(y[:20] == k))
                     for k in (1, 2)])
    assert h["val_dice"] == pytest.approx([vdice] * 2)
    assert set(h.history) >= {"loss", "accuracy", "dice", "iou", "val_dice", "val_iou", "lr"}
    ev = model.evaluate(X, y, metrics=["dice"])
    assert ev["dice"] == pytest.approx(dice)
    again = History.from_dict(h.as_dict())
    assert again.as_dict() == h.as_dict() and again.dice == h.dice


def test_metric_objects_on_masks():
    dice, iou = Dice(), IoU()
    out = np.zeros((2, 2, 2, 2))
    out[:, 1, 0, :] = 1                        # predicts class 1 on the top row
    target = np.zeros((2, 2, 2), int)
    target[:, :, 0] = 1                        # class 1 in the left column
    for m in (dice, iou):
        m.update(out, target)
    # per sample: P = 2 pixels, T = 2 pixels, overlap 1
    assert dice.result() == pytest.approx(2 * 2 / (4 + 4)) and iou.result() == pytest.approx(2 / 6)
    # one channel of probabilities against a 0/1 mask
    m = Dice(threshold=0.5)
    m.update(np.array([[[0.9, 0.2]], [[0.7, 0.6]]]), np.array([[1, 0], [0, 1]]))
    assert m.result() == pytest.approx(2 * 2 / (3 + 2))
    m.reset()
    m.update(np.zeros((1, 1, 3)), np.zeros((1, 3)))
    assert m.result() == 1.0                    # nothing predicted, nothing there
    e = MeanSquaredError()
    e.update(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    a = MeanAbsoluteError()
    a.update(np.array([[1.0, -2.0]]), np.array([[0.0, 0.0]]))
    assert e.result() == 2.5 and a.result() == 1.5


def test_evaluate_defaults_to_the_fit_loss_or_a_cross_entropy():
    X, y = blobs(30)
    model = linear()
    loss = nf.losses.CrossEntropyLoss(label_smoothing=0.2)
    nf.fit(model, X, y, loss=loss, optimizer=nf.optim.SGD(model.parameters(), lr=0.1), verbose=0)
    assert model.evaluate(X, y) == model.evaluate(X, y, loss=loss)
    fresh = linear(seed=2)
    assert fresh.evaluate(X, y) == fresh.evaluate(X, y, loss=nf.losses.CrossEntropyLoss())
    logp = nf.Sequential([nf.layers.Linear(4, 3, dtype=np.float64, rng=2), nf.layers.LogSoftmax()])
    assert logp.evaluate(X, y) == logp.evaluate(X, y, loss=nf.losses.NLLLoss())


def test_predict_proba_by_output_layer():
    X, _ = blobs(10)
    base = nf.layers.Linear(4, 3, dtype=np.float64, rng=0)
    logits = nf.Sequential([base]).predict(X)
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    for last in (None, nf.layers.Softmax(), nf.layers.LogSoftmax()):
        model = nf.Sequential([base] + ([last] if last else []))
        np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-12)
    binary = nf.Sequential([nf.layers.Linear(4, 1, dtype=np.float64, rng=0), nf.layers.Sigmoid()])
    p = binary.predict_proba(X)
    assert p.shape == (10, 2) and np.allclose(p.sum(1), 1)


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"class_weight": {0: 1.0, 1: 1.0}}, ValueError, r"no weight for the classes \[2\]"),
    ({"class_weight": {0: -1.0, 1: 1.0, 2: 1.0}}, ValueError, r"class_weight\[0\] must be a finite"),
    ({"class_weight": {"a": 1.0}}, TypeError, "class_weight keys must be class labels"),
    ({"class_weight": "balanced"}, TypeError, "class_weight must be a dict"),
    ({"sample_weight": np.ones(59)}, ValueError, r"sample_weight must have shape \(60,\)"),
    ({"sample_weight": -np.ones(60)}, ValueError, "finite weights >= 0"),
    ({"validation_split": 1.0}, ValueError, "validation_split must be < 1"),
    ({"validation_split": 0.99}, ValueError, "both need at least one"),
    ({"validation_split": 0.2, "validation_data": blobs(5)}, ValueError, "not both"),
    ({"metrics": ["f2"]}, ValueError, r"metrics\[0\] must be one of"),
    ({"metrics": ["dice", "dice"]}, ValueError, "repeated or reserved"),
    ({"metrics": [3]}, TypeError, r"metrics\[0\] must be a metric name"),
    ({"callbacks": [print]}, TypeError, r"callbacks\[0\] must be an nf.callbacks.Callback"),
    ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
])
def test_bad_options(kwargs, exc, words):
    X, y = blobs(60)
    model = linear()
    with pytest.raises(exc, match=words):
        nf.fit(model, X, y, loss=nf.losses.CrossEntropyLoss(),
               optimizer=nf.optim.SGD(model.parameters(), lr=0.1), verbose=0, **kwargs)
