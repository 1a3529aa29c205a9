"""``nnfast.sklearn.MLPClassifier`` / ``MLPRegressor`` (when scikit-learn is
installed), with scikit-learn's own estimator as the oracle.

Each case builds both estimators with the same hyper-parameters (one of
them often bad) and calls both the same way (fit, partial_fit, predict
before fit, predict with the wrong number of features) on tiny data that is
often bad (NaN, inf, 1-D or 3-D X, strings, one class, lengths that
differ, empty). nnfast must refuse exactly what scikit-learn refuses, with
an error of the same kind (NotFittedError where scikit-learn raises it;
ValueError or TypeError where it raises those or its InvalidParameterError,
which is both), and accept what it accepts (except solver="lbfgs", which
nnfast documents it does not offer). Accepted calls are checked:
predictions of the right shape among ``classes_``, probabilities in [0, 1]
summing to 1, finite regression outputs and scores.
"""
import importlib.util

import numpy as np
from hypothesis import strategies as st

from nnfast.fuzz.inputs import seeds, threads
from nnfast.fuzz.outcome import Garbage, WrongKind
from nnfast.fuzz.targets import register

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None

GOOD = {"hidden_layer_sizes": [(3,), (4, 2), 2, ()], "activation": ["relu", "tanh", "logistic",
                                                                    "identity"],
        "solver": ["adam", "sgd"], "alpha": [0.0, 1e-4, 1.0], "batch_size": ["auto", 1, 4, 100],
        "learning_rate": ["constant", "invscaling", "adaptive"],
        "learning_rate_init": [1e-3, 0.1], "max_iter": [1, 2, 3], "shuffle": [True, False],
        "tol": [1e-4, 0.0], "momentum": [0.9, 0.0, 1.0], "early_stopping": [False, True],
        "validation_fraction": [0.1, 0.5], "n_iter_no_change": [1, 10]}
BAD = {"hidden_layer_sizes": [(0,), (-1,), (2.5,), "3", None, (3, None)],
       "activation": ["softmax", None, "RELU", 3], "solver": ["lbfgs", "newton", None],
       "alpha": [-1.0, float("nan"), "0.1", None, float("inf")],
       "batch_size": [0, -1, 1.5, "big", None],
       "learning_rate": ["fast", None], "learning_rate_init": [0.0, -0.1, float("nan"), "0.1"],
       "max_iter": [0, -1, 1.5, None], "shuffle": [1, "yes", None],
       "tol": [-1.0, float("nan"), None], "momentum": [-0.1, 1.5, float("nan")],
       "early_stopping": ["no", None], "validation_fraction": [0.0, 1.0, -0.1, 1.5],
       "beta_1": [1.0, -0.1, 2.0], "beta_2": [1.0, -0.5], "epsilon": [0.0, -1e-8],
       "n_iter_no_change": [0, -1, 1.5], "power_t": [-1.0, float("nan")],
       "warm_start": [1, None], "verbose": [-1, 1.5, "yes"], "random_state": [-1, 1.5, "seed"]}
XS = ("good", "good", "good", "nan", "inf", "1d", "3d", "strings", "empty", "list", "int",
      "one_feature", "object", "huge")
YS = ("good", "good", "good", "one_class", "short", "nan", "strings", "2d", "none", "float",
      "continuous", "empty")
CALLS = ("fit", "fit", "fit", "partial_fit", "predict_unfitted", "predict_features", "score",
         "warm_start")


@st.composite
def sklearn_case(draw):
    params = {k: draw(st.sampled_from(v)) for k, v in GOOD.items() if draw(st.booleans())}
    params["max_iter"] = draw(st.sampled_from(GOOD["max_iter"]))
    if draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(sorted(BAD)))
        params[key] = draw(st.sampled_from(BAD[key]))
    return {"estimator": draw(st.sampled_from(["MLPClassifier", "MLPRegressor"])),
            "params": params, "X": draw(st.sampled_from(XS)), "y": draw(st.sampled_from(YS)),
            "call": draw(st.sampled_from(CALLS)), "n": draw(st.integers(2, 12)),
            "features": draw(st.integers(1, 4)), "classes": draw(st.integers(2, 4)),
            "random_state": draw(st.sampled_from([0, 1, None])), "seed": draw(seeds),
            "threads": draw(threads)}


def _X(kind, n, f, rng):
    X = rng.standard_normal((n, f))
    if kind == "nan":
        X[0, 0] = np.nan
    elif kind == "inf":
        X[-1, -1] = np.inf
    elif kind == "1d":
        X = X[:, 0]
    elif kind == "3d":
        X = X[:, :, None]
    elif kind == "strings":
        X = X.astype(str)
        X[0, 0] = "abc"
    elif kind == "empty":
        X = X[:0]
    elif kind == "list":
        X = X.tolist()
    elif kind == "int":
        X = np.round(X * 3).astype(np.int64)
    elif kind == "one_feature":
        X = X[:, :1]
    elif kind == "object":
        X = X.astype(object)
        X[0, 0] = None
    elif kind == "huge":
        X = X * 1e300
    return X


def _y(kind, estimator, n, classes, rng):
    if estimator == "MLPClassifier":
        y = np.arange(n) % classes
        rng.shuffle(y)
    else:
        y = rng.standard_normal(n)
    if kind == "one_class":
        y = np.zeros(n, dtype=y.dtype)
    elif kind == "short":
        y = y[:-1]
    elif kind == "nan":
        y = y.astype(np.float64)
        y[0] = np.nan
    elif kind == "strings":
        y = np.array(["cat", "dog", "emu", "fox"])[np.arange(n) % classes]
    elif kind == "2d":
        y = np.stack([y, y[::-1]], axis=1)
    elif kind == "none":
        y = None
    elif kind == "float":
        y = y + 0.5
    elif kind == "continuous":
        y = rng.standard_normal(n)
    elif kind == "empty":
        y = y[:0]
    return y


def _outcome(call):
    """("ok", result) or ("error", exception)."""
    try:
        return "ok", call()
    except Exception as e:   # compared with the other estimator's outcome
        return "error", e


def _kind(exc):
    from sklearn.exceptions import NotFittedError
    if isinstance(exc, NotFittedError):
        return "NotFittedError"
    if isinstance(exc, (ValueError, TypeError)):
        return "ValueError/TypeError"
    return type(exc).__name__


def _calls(spec, cls, rng_seed):
    """The calls of the case on a fresh estimator of ``cls``: a function
    returning (estimator, last result)."""
    params = dict(spec["params"], random_state=spec["random_state"])
    rng = np.random.default_rng(rng_seed)
    X = _X(spec["X"], spec["n"], spec["features"], rng)
    y = _y(spec["y"], spec["estimator"], spec["n"], spec["classes"], rng)
    classifier = spec["estimator"] == "MLPClassifier"
    good_X = rng.standard_normal((spec["n"], spec["features"]))

    def run():
        est = cls(**params)
        call = spec["call"]
        if call == "predict_unfitted":
            return est, est.predict(X)
        if call == "partial_fit":
            if classifier:
                classes = np.unique(y) if y is not None and np.size(y) else None
                est.partial_fit(X, y, classes=classes)
            else:
                est.partial_fit(X, y)
            return est, est.predict(X)
        est.fit(X, y)
        if call == "predict_features":
            return est, est.predict(np.ones((2, np.shape(X)[1] + 1)))
        if call == "score":
            return est, est.score(X, y)
        if call == "warm_start":
            est.set_params(warm_start=True)
            est.fit(X, y)
        return est, est.predict(good_X)
    return run, X, y


@register("nnfast.sklearn", sklearn_case(),
          ("X", "y", "classes", "sample_weight") + tuple(sorted(BAD)), weight=2.0,
          hidden=not HAS_SKLEARN)
def run_sklearn(spec, ctx):
    if not HAS_SKLEARN:
        return
    import sklearn.neural_network as reference

    import nnfast.sklearn as ours
    name = spec["estimator"]
    run_ours, X, y = _calls(spec, getattr(ours, name), spec["seed"])
    run_ref, _, _ = _calls(spec, getattr(reference, name), spec["seed"])
    mine = _outcome(run_ours)
    theirs = _outcome(run_ref)
    what = f"{name}({spec['params']}).{spec['call']} on X {spec['X']}, y {spec['y']}"
    if spec["params"].get("solver") == "lbfgs":
        if mine[0] == "ok" or "lbfgs" not in str(mine[1]) or _kind(mine[1]) != \
                "ValueError/TypeError":
            raise Garbage(f"{what}: solver='lbfgs' must be refused naming it, got {mine}")
        raise ValueError(f"solver='lbfgs' is not offered: {mine[1]}")
    if theirs[0] == "error":
        if mine[0] == "ok":
            raise Garbage(f"{what}: accepted what scikit-learn refuses "
                          f"({type(theirs[1]).__name__}: {str(theirs[1])[:200]})")
        # scikit-learn hides partial_fit (AttributeError) for a solver other
        # than sgd/adam; nnfast refuses the call with a ValueError instead
        hidden = spec["call"] == "partial_fit" and isinstance(theirs[1], AttributeError) \
            and _kind(mine[1]) == "ValueError/TypeError"
        if _kind(mine[1]) != _kind(theirs[1]) and not hidden:
            raise WrongKind(f"{what}: nnfast raised {type(mine[1]).__name__}: "
                            f"{str(mine[1])[:200]}; scikit-learn raises "
                            f"{type(theirs[1]).__name__}: {str(theirs[1])[:200]}")
        # refused as scikit-learn refuses it: an expected error
        raise ValueError(
            f"X/y or a hyper-parameter refused as scikit-learn refuses it: "
            f"{type(mine[1]).__name__}: {str(mine[1])[:300]}") from mine[1]
    if mine[0] == "error":
        e = mine[1]
        raise WrongKind(f"{what}: refused what scikit-learn accepts: {type(e).__name__}: "
                        f"{str(e)[:300]}") from e
    est, result = mine[1]
    ref_est, ref_result = theirs[1]
    _check(spec, est, result, ref_est, ref_result, X)


def _check(spec, est, result, ref_est, ref_result, X):
    call = spec["call"]
    if call == "score":
        if not isinstance(result, float) or not np.isfinite(result) and \
                np.isfinite(ref_result):
            raise Garbage(f"score is {result!r}, scikit-learn's {ref_result!r}")
        return
    pred = np.asarray(result)
    ref = np.asarray(ref_result)
    if pred.shape != ref.shape:
        raise Garbage(f"predictions of shape {pred.shape}, scikit-learn's {ref.shape}")
    if spec["estimator"] == "MLPClassifier":
        if list(est.classes_) != list(ref_est.classes_):
            raise Garbage(f"classes_ {est.classes_}, scikit-learn's {ref_est.classes_}")
        if pred.ndim == 1 and not set(pred.tolist()) <= set(est.classes_.tolist()):
            raise Garbage(f"predictions {set(pred.tolist())} outside classes_ {est.classes_}")
        Xp = np.asarray(X, dtype=np.float64)
        if np.all(np.isfinite(Xp)):
            proba = est.predict_proba(Xp)
            ref_proba = ref_est.predict_proba(Xp)
            # (scikit-learn gives one class two columns, and multi-label
            # rows that need not sum to 1: nnfast does as it does)
            sums_to_one = np.allclose(ref_proba.sum(axis=1), 1.0, atol=1e-5)
            # (training on inputs of 1e300 diverges in scikit-learn too)
            finite = np.all(np.isfinite(proba)) or not np.all(np.isfinite(ref_proba))
            if proba.shape != ref_proba.shape or not finite \
                    or np.any(proba < 0) or np.any(proba > 1) or \
                    (sums_to_one and not np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)):
                raise Garbage(f"predict_proba gave {proba!r}")
    else:
        finite_in = np.all(np.isfinite(np.asarray(X, dtype=np.float64)))
        if finite_in and np.all(np.isfinite(ref)) and not np.all(np.isfinite(pred)):
            raise Garbage("non-finite regression outputs where scikit-learn's are finite")
