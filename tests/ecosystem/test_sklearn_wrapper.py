"""NeuralNetClassifier / NeuralNetRegressor: any nnfast model as a scikit-learn estimator."""
import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

# every fit here runs a fixed number of epochs on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning",
                                        "ignore:Got `batch_size`:UserWarning")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402

import nnfast as nf  # noqa: E402
from nnfast.sklearn import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402

L = nf.layers
(X_TRAIN, Y_TRAIN), (X_TEST, Y_TEST) = nf.datasets.load_mnist()
X_IMG, Y_IMG = X_TRAIN[:2000], Y_TRAIN[:2000]
SGD = {"optimizer": nf.optim.SGD, "lr": 0.05, "optimizer_params": {"momentum": 0.9}}


def lenet():
    return nf.Sequential([
        L.Conv2D(1, 6, 5, padding=2), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(6, 16, 5), L.ReLU(), L.MaxPool2D(2), L.Flatten(),
        L.Linear(400, 120), L.ReLU(), L.Linear(120, 84), L.ReLU(), L.Linear(84, 10)])


def mlp(input_shape, n_outputs):
    return nf.Sequential([L.Flatten(), L.Linear(int(np.prod(input_shape)), 16), L.Tanh(),
                          L.Linear(16, n_outputs)])


def to_images(X):
    return np.asarray(X, dtype=np.float32).reshape(-1, 1, 28, 28)


def test_lenet_on_images_learns_and_leaves_the_given_module_alone():
    nf.seed(0)
    module = lenet()
    before = module.state_dict()
    clf = NeuralNetClassifier(module, max_iter=2, random_state=0, n_jobs=1, **SGD).fit(X_IMG, Y_IMG)
    assert clf.score(X_TEST, Y_TEST) > 0.5  # two epochs on 2,000 digits
    assert clf.n_features_in_ == 1 and clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    for key, value in module.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert clf.module_ is not module and clf.model_ is clf.module_
    proba = clf.predict_proba(X_TEST[:50])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X_TEST[:50]), clf.classes_[proba.argmax(axis=1)])
    again = NeuralNetClassifier(module, max_iter=2, random_state=0, n_jobs=1, **SGD).fit(X_IMG, Y_IMG)
    np.testing.assert_array_equal(again.predict_proba(X_TEST[:50]), proba)  # the same fit


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_gridsearch_and_pickle_with_images():
    flat = X_IMG[:600].reshape(600, -1)
    pipe = make_pipeline(FunctionTransformer(to_images),
                         NeuralNetClassifier(lenet(), max_iter=1, random_state=0, n_jobs=1, **SGD))
    search = GridSearchCV(pipe, {"neuralnetclassifier__lr": [0.01, 0.05]}, cv=2).fit(flat, Y_IMG[:600])
    assert set(search.cv_results_["param_neuralnetclassifier__lr"]) == {0.01, 0.05}
    restored = pickle.loads(pickle.dumps(search))
    test = X_TEST[:100].reshape(100, -1)
    np.testing.assert_array_equal(restored.predict_proba(test), search.predict_proba(test))
    net = search.best_estimator_[-1]
    copy = pickle.loads(pickle.dumps(net))
    for est in (net, copy):  # the optimizer's momentum went along
        est.partial_fit(to_images(flat[:128]), Y_IMG[:128])
    np.testing.assert_array_equal(copy.predict_proba(to_images(test)), net.predict_proba(to_images(test)))


def test_callable_modules_are_seeded_by_random_state():
    X, y = X_TRAIN[:300], Y_TRAIN[:300]
    fits = [NeuralNetClassifier(mlp, max_iter=1, random_state=seed, n_jobs=1).fit(X, y)
            for seed in (1, 1, 2)]
    a, b, c = (f.module_[1].weight.value for f in fits)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    nf.seed(7)
    expected = nf.init.uniform((3,), 0, 1, np.float64, None)
    nf.seed(7)
    NeuralNetClassifier(mlp, max_iter=1, random_state=1, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(nf.init.uniform((3,), 0, 1, np.float64, None), expected)


def test_probabilities_follow_the_last_layer():
    X, y = X_TRAIN[:200].reshape(200, -1), Y_TRAIN[:200]

    def log_softmax_net(shape, n):
        return nf.Sequential([L.Linear(shape[0], n), L.LogSoftmax()])

    def softmax_net(shape, n):
        return nf.Sequential([L.Linear(shape[0], n), nf.Sequential([L.Softmax()])])

    clf = NeuralNetClassifier(log_softmax_net, loss=nf.losses.NLLLoss(), max_iter=2, n_jobs=1).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), np.exp(clf.module_.predict(X)), rtol=1e-6)
    clf = NeuralNetClassifier(softmax_net, loss=nf.losses.HingeLoss(), max_iter=1, n_jobs=1).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), clf.module_.predict(X), rtol=1e-6)


def test_classifier_partial_fit_warm_start_and_early_stopping():
    X, y = X_TRAIN[:400], Y_TRAIN[:400]
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        NeuralNetClassifier(mlp).partial_fit(X, y)
    clf = NeuralNetClassifier(mlp, random_state=0, n_jobs=1)
    clf.partial_fit(X[:200], y[:200], classes=np.arange(10))
    first = clf.module_[1].weight.value.copy()
    clf.partial_fit(X[200:], y[200:])
    assert clf.n_iter_ == 1 and clf.t_ == 400 and not np.array_equal(first, clf.module_[1].weight.value)
    warm = NeuralNetClassifier(mlp, max_iter=1, warm_start=True, random_state=0, n_jobs=1).fit(X, y)
    module = warm.module_
    warm.fit(X, y)
    assert warm.module_ is module and warm.t_ == 800
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
        warm.fit(X[y < 5], y[y < 5])
    stopped = NeuralNetClassifier(mlp, max_iter=30, early_stopping=True, n_iter_no_change=2,
                                  random_state=0, n_jobs=1).fit(X, y)
    assert len(stopped.validation_scores_) == stopped.n_iter_ < 30
    assert stopped.best_validation_score_ == max(stopped.validation_scores_)


@pytest.mark.parametrize("n_targets", [1, 2])
def test_regressor(n_targets):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 5))
    W = rng.standard_normal((5, n_targets))
    y = X @ W if n_targets == 2 else (X @ W)[:, 0]
    reg = NeuralNetRegressor(mlp, max_iter=60, lr=0.01, random_state=0, n_jobs=1).fit(X, y)
    assert reg.predict(X).shape == y.shape and reg.n_outputs_ == n_targets
    assert reg.score(X, y) > 0.9
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    with pytest.raises(ValueError, match=f"y must have {n_targets} outputs as in the first fit"):
        reg.partial_fit(X, np.c_[y, y, y])


def test_thread_setting_is_left_as_it_was():
    old = nf.get_num_threads()
    try:
        nf.set_num_threads(2)
        clf = NeuralNetClassifier(mlp, max_iter=1, n_jobs=1).fit(X_TRAIN[:100], Y_TRAIN[:100])
        clf.predict(X_TRAIN[:10])
        assert nf.get_num_threads() == 2
    finally:
        nf.set_num_threads(old)


def test_bad_arguments_are_named():
    X, y = X_TRAIN[:50], Y_TRAIN[:50]
    with pytest.raises(TypeError, match="module must be an nnfast Layer or a callable"):
        NeuralNetClassifier("lenet").fit(X, y)
    with pytest.raises(TypeError, match=r"module\(input_shape, n_outputs\) must return an nnfast Layer"):
        NeuralNetClassifier(lambda shape, n: None).fit(X, y)
    with pytest.raises(TypeError, match="optimizer must be an nnfast optimizer class"):
        NeuralNetClassifier(mlp, optimizer="sgd").fit(X, y)
    with pytest.raises(TypeError, match="loss must be a loss"):
        NeuralNetClassifier(mlp, loss="mse").fit(X, y)
    with pytest.raises(ValueError, match=r"lr must be a finite number in \(0, inf\]"):
        NeuralNetClassifier(mlp, lr=0).fit(X, y)
    with pytest.raises(TypeError, match="optimizer_params must be a dict"):
        NeuralNetClassifier(mlp, optimizer_params=[("momentum", 0.9)]).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        NeuralNetClassifier(mlp).fit(X, np.linspace(0, 1, 50))
    clf = NeuralNetClassifier(mlp, max_iter=1, n_jobs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"X must have samples of shape \(1, 28, 28\), as in the first fit"):
        clf.predict(np.zeros((3, 1, 28, 27), np.float32))
    with pytest.raises(ValueError, match="x must have shape"):  # the module's own check
        NeuralNetClassifier(lenet(), max_iter=1).fit(np.zeros((8, 1, 20, 20), np.float32), y[:8])
