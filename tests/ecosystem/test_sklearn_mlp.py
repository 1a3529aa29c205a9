"""nnfast.sklearn.MLPClassifier / MLPRegressor against sklearn.neural_network's."""
import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

# every fit here runs a fixed number of epochs on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning",
                                        "ignore:Got `batch_size`:UserWarning")
from scipy import sparse  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import nnfast as nf  # noqa: E402
from nnfast.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

X, Y3 = make_classification(300, 12, n_informative=8, n_classes=3, random_state=0)
Y2 = (Y3 == 1).astype(int)
YML = np.c_[Y3 == 0, Y3 == 2].astype(int)
XR, YR = make_regression(300, 12, n_targets=2, noise=1.0, random_state=0)
YR = YR / YR.std(axis=0)
SW = np.random.default_rng(0).integers(0, 4, size=300).astype(float)


def fit_both(cls_name, X, y, sample_weight=None, **params):
    params.setdefault("random_state", 3)
    params.setdefault("max_iter", 15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = getattr(sk, cls_name)(**params).fit(X, y, sample_weight=sample_weight)
        # one thread: two threads on a busy 2-core machine are slow (not a result here)
        ours = globals()[cls_name](n_jobs=1, **params).fit(X, y, sample_weight=sample_weight)
    return ours, theirs


def assert_same_fit(ours, theirs, method):
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(getattr(ours, method)(X), getattr(theirs, method)(X), rtol=1e-7, atol=1e-9)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-9) if theirs.best_loss_ else True
    if theirs.validation_scores_ is not None:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
        assert ours.best_validation_score_ == theirs.best_validation_score_


# scikit-learn's own updates, step for step: same draws, batches and arithmetic
@pytest.mark.parametrize("params", [
    {},
    {"solver": "sgd", "learning_rate_init": 0.01},
    {"solver": "sgd", "nesterovs_momentum": False, "batch_size": 32, "alpha": 0.01},
    {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.05, "power_t": 0.3},
    {"solver": "sgd", "learning_rate": "adaptive", "tol": 0.05, "n_iter_no_change": 2, "max_iter": 30},
    {"solver": "sgd", "momentum": 0.0, "shuffle": False, "activation": "tanh"},
    {"solver": "adam", "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-4, "activation": "logistic"},
    {"early_stopping": True, "validation_fraction": 0.2, "n_iter_no_change": 3, "max_iter": 40},
    {"hidden_layer_sizes": (), "activation": "identity"},
    {"hidden_layer_sizes": (16, 8, 4), "batch_size": 500},
], ids=repr)
@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel"])
def test_classifier_follows_sklearn(params, target):
    y = {"multiclass": Y3, "binary": Y2, "multilabel": YML}[target]
    ours, theirs = fit_both("MLPClassifier", X, y, **params)
    assert ours.out_activation_ == theirs.out_activation_
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert_same_fit(ours, theirs, "predict_proba")
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("params", [
    {"solver": "sgd", "learning_rate_init": 0.001},
    {"solver": "adam", "alpha": 0.1},
    {"loss": "poisson", "solver": "sgd", "learning_rate_init": 0.001},
    {"early_stopping": True, "max_iter": 30},
], ids=repr)
@pytest.mark.parametrize("n_targets", [1, 2])
def test_regressor_follows_sklearn(params, n_targets):
    y = YR[:, 0] if n_targets == 1 else YR
    if params.get("loss") == "poisson":
        y = np.abs(y)
    ours, theirs = fit_both("MLPRegressor", XR, y, hidden_layer_sizes=(20,), **params)
    assert ours.out_activation_ == theirs.out_activation_
    assert_same_fit(ours, theirs, "predict")
    assert ours.predict(XR).shape == y.shape


@pytest.mark.parametrize("target", ["multiclass", "binary"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_sample_weights_follow_sklearn(target, solver):
    y = Y3 if target == "multiclass" else Y2
    ours, theirs = fit_both("MLPClassifier", X, y, sample_weight=SW, solver=solver, batch_size=40)
    assert_same_fit(ours, theirs, "predict_proba")
    ours, theirs = fit_both("MLPRegressor", XR, YR, sample_weight=SW, solver=solver)
    assert_same_fit(ours, theirs, "predict")


def test_partial_fit_and_warm_start_follow_sklearn():
    for params in ({"solver": "sgd", "learning_rate": "invscaling"}, {"solver": "adam"}):
        ours = MLPClassifier(random_state=0, **params)
        theirs = sk.MLPClassifier(random_state=0, **params)
        for start in range(0, 300, 100):
            ours.partial_fit(X[start:start + 100], Y3[start:start + 100], classes=[0, 1, 2])
            theirs.partial_fit(X[start:start + 100], Y3[start:start + 100], classes=[0, 1, 2])
        assert ours.n_iter_ == theirs.n_iter_ == 1 and ours.t_ == theirs.t_ == 300
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPRegressor(warm_start=True, max_iter=5, random_state=1).fit(XR, YR)
        theirs = sk.MLPRegressor(warm_start=True, max_iter=5, random_state=1).fit(XR, YR)
        ours.fit(XR, YR)
        theirs.fit(XR, YR)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(ours.predict(XR), theirs.predict(XR), rtol=1e-7, atol=1e-9)


def test_fitted_attributes_and_model():
    clf = MLPClassifier((7, 5), max_iter=3, random_state=0).fit(X.astype(np.float32), Y3)
    for name in ("classes_", "loss_", "best_loss_", "loss_curve_", "validation_scores_",
                 "best_validation_score_", "t_", "coefs_", "intercepts_", "n_features_in_",
                 "n_iter_", "n_layers_", "n_outputs_", "out_activation_"):
        assert hasattr(clf, name), name
    assert [c.shape for c in clf.coefs_] == [(12, 7), (7, 5), (5, 3)]
    assert [c.dtype for c in clf.coefs_] == [np.float32] * 3  # float32 input trains in float32
    assert (clf.n_layers_, clf.n_outputs_, clf.n_iter_) == (4, 3, 3)
    assert [type(layer).__name__ for layer in clf.model_] == [
        "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    clf.coefs_[0][0, 0] = 5.0  # coefs_ are views of the network's weights
    assert clf.model_[0].weight.value[0, 0] == 5.0
    logits = clf.model_.predict(X.astype(np.float32))
    np.testing.assert_allclose(clf.predict_proba(X), np.exp(logits) / np.exp(logits).sum(1, keepdims=True),
                               rtol=1e-5)
    assert not hasattr(MLPClassifier(), "coefs_")


def test_sparse_input_gives_the_dense_fit():
    Xs = X.copy()
    Xs[np.abs(Xs) < 1] = 0
    dense = MLPClassifier(max_iter=5, random_state=0).fit(Xs, Y3)
    for fmt in (sparse.csr_matrix, sparse.csc_array):
        sp = MLPClassifier(max_iter=5, random_state=0).fit(fmt(Xs), Y3)
        np.testing.assert_allclose(sp.loss_curve_, dense.loss_curve_, rtol=1e-12)
        np.testing.assert_allclose(sp.predict_proba(fmt(Xs)), dense.predict_proba(Xs), rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_gridsearch_and_pickle():
    pipe = make_pipeline(StandardScaler(), MLPClassifier((10,), batch_size=20, max_iter=20, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-1],
                                 "mlpclassifier__solver": ["sgd", "adam"]}, cv=3).fit(X, Y3)
    assert search.best_score_ > 0.6
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict_proba(X), search.predict_proba(X))
    reg = MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(XR, YR)
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(XR), reg.predict(XR))
    again.partial_fit(XR, YR)  # the unpickled optimizer state goes on training
    reg.partial_fit(XR, YR)
    np.testing.assert_array_equal(again.predict(XR), reg.predict(XR))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_thread_setting_is_left_as_it_was():
    old = nf.get_num_threads()
    try:
        nf.set_num_threads(2)
        clf = MLPClassifier(max_iter=2, n_jobs=1).fit(X, Y3)
        assert nf.get_num_threads() == 2
        clf.predict(X)
        assert nf.get_num_threads() == 2
        MLPClassifier(max_iter=2).fit(X, Y3)
        assert nf.get_num_threads() == 2
    finally:
        nf.set_num_threads(old)


def test_stopping_rules_and_messages(capsys):
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\) reached"):
        MLPClassifier(max_iter=2).fit(X, Y3)
    clf = MLPClassifier(max_iter=500, tol=10.0, n_iter_no_change=3, verbose=True).fit(X, Y3)
    assert clf.n_iter_ == 5 == sk.MLPClassifier(max_iter=500, tol=10.0, n_iter_no_change=3).fit(X, Y3).n_iter_
    out = capsys.readouterr().out
    assert "Iteration 5, loss = " in out and "Training loss did not improve more than tol=10" in out
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPClassifier(early_stopping=True).partial_fit(X, Y3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, Y3)


@pytest.mark.parametrize("params, error, match", [
    ({"solver": "lbfgs"}, ValueError, "solver='lbfgs' is not available in nnfast.sklearn"),
    ({"solver": "newton"}, ValueError, "solver must be one of 'sgd', 'adam', got 'newton'"),
    ({"activation": "gelu"}, ValueError, "activation must be one of"),
    ({"hidden_layer_sizes": (10, 0)}, ValueError, "hidden_layer_sizes must be an int >= 1"),
    ({"alpha": -1.0}, ValueError, r"alpha must be a finite number in \[0, inf\], got -1.0"),
    ({"alpha": np.nan}, ValueError, "alpha must be a finite number"),
    ({"learning_rate_init": 0.0}, ValueError, r"learning_rate_init must be a finite number in \(0, inf\]"),
    ({"batch_size": 0}, ValueError, "batch_size must be an int >= 1"),
    ({"batch_size": "big"}, TypeError, "batch_size must be an int"),
    ({"max_iter": 2.5}, TypeError, "max_iter must be an int"),
    ({"momentum": 1.5}, ValueError, r"momentum must be a finite number in \[0, 1\]"),
    ({"beta_2": 1.0}, ValueError, r"beta_2 must be a finite number in \[0, 1\)"),
    ({"validation_fraction": 1.0}, ValueError, "validation_fraction must be"),
    ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be an int >= 1"),
    ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
    ({"n_jobs": 0}, ValueError, "n_jobs must be an int >= 1"),
    ({"learning_rate": "cyclic"}, ValueError, "learning_rate must be one of"),
])
def test_bad_parameters_are_named(params, error, match):
    with pytest.raises(error, match=match):
        MLPClassifier(**params).fit(X, Y3)


def test_bad_data_is_named():
    with pytest.raises(ValueError, match="poisson' needs y >= 0"):
        MLPRegressor(loss="poisson").fit(XR, YR)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        MLPClassifier().fit(X, Y3, sample_weight=-SW)
    clf = MLPClassifier(max_iter=1).partial_fit(X, Y3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
        clf.partial_fit(X, Y3 + 1)
    with pytest.raises(ValueError, match="y has 1 outputs, but MLPRegressor was fitted with 2"):
        MLPRegressor(max_iter=1).partial_fit(XR, YR).partial_fit(XR, YR[:, 0])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPClassifier().fit(np.full_like(X, np.nan), Y3)
