"""scikit-learn's estimator checks, every one, on the four nnfast.sklearn estimators.

Skipped by scikit-learn itself here: the pandas checks (pandas is not
installed) and check_array_api_input (SCIPY_ARRAY_API is not set). nnfast
skips none.
"""
import numpy as np
import pytest

pytest.importorskip("sklearn")

# scikit-learn's checks fit for a fixed number of epochs
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import nnfast as nf  # noqa: E402
from nnfast.sklearn import (MLPClassifier, MLPRegressor, NeuralNetClassifier,  # noqa: E402
                            NeuralNetRegressor)


def small_net(input_shape, n_outputs):
    """A float32 MLP for whatever data a check passes (a module-level
    function, so that the estimators pickle)."""
    L = nf.layers
    return nf.Sequential([L.Flatten(), L.Linear(int(np.prod(input_shape)), 32), L.ReLU(),
                          L.Linear(32, n_outputs)])


ESTIMATORS = [
    MLPClassifier(max_iter=100, n_jobs=1),  # scikit-learn checks its own MLPs with max_iter=100
    MLPClassifier(solver="sgd", learning_rate="adaptive", max_iter=100, n_jobs=1),
    MLPRegressor(max_iter=100, n_jobs=1),
    NeuralNetClassifier(small_net, max_iter=100, n_jobs=1),
    NeuralNetRegressor(small_net, max_iter=100, n_jobs=1),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
