"""NeuralNetClassifier and NeuralNetRegressor: any nnfast model as a scikit-learn estimator."""
import copy

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nnfast import _random
from nnfast.layers import LogSoftmax, Softmax
from nnfast.layers.base import Layer
from nnfast.losses import CrossEntropyLoss, MSELoss
from nnfast.optim import Adam
from nnfast.sklearn import _params as P
from nnfast.sklearn._heads import softmax
from nnfast.sklearn._threads import nnfast_threads
from nnfast.sklearn._training import EpochTrainer, as_model_input, predict_raw, validation_split
from nnfast.state_dict import named_children
from nnfast.training.checks import check_loss

_PARAMETERS_DOC = """
    module : nnfast Layer (a Sequential, ...) or callable
        The network. A Layer is copied at each fresh fit (the one given is
        never trained); a callable is called as ``module(input_shape,
        n_outputs)`` at each fresh fit, ``input_shape`` being one sample's
        shape (``(n_features,)``, or ``(C, H, W)`` for images) and
        ``n_outputs`` the number of classes or targets, with nnfast's random
        generator seeded from ``random_state``.
    loss : nnfast loss or None
        None: {default_loss}. Copied at each fresh fit.
    optimizer : nnfast optimizer class or None, default None (nf.optim.Adam)
        Called as ``optimizer(model.parameters(), lr=lr, **optimizer_params)``.
    lr : float > 0, default 1e-3
    optimizer_params : dict or None
        Further arguments of the optimizer (``{{"momentum": 0.9}}``).
    max_iter : int >= 1, default 10
        Epochs.
    batch_size : int >= 1 or "auto", default 64
        "auto": min(200, n_samples).
    shuffle : bool, default True
    random_state : None, int or numpy.random.RandomState
        The batch order, the early-stopping split and (for a callable
        ``module``) the initial weights.
    tol : float >= 0, default 1e-4
    n_iter_no_change : int >= 1 or numpy.inf, default 10
        Stop after this many epochs without an improvement of ``tol`` in the
        training loss (or, with early stopping, the validation score).
    early_stopping : bool, default False
    validation_fraction : float in [0, 1), default 0.1
    verbose : bool or int, default False
    warm_start : bool, default False
        Go on from the previous fit's network.
    n_jobs : int >= 1 or None, default None
        nnfast threads for fit and predict (restored afterwards); None uses
        the current ``nf.get_num_threads()``.
"""

_ATTRIBUTES_DOC = """
    module_ : nnfast Layer
        The trained network.
    criterion_ : nnfast loss
    optimizer_ : nnfast optimizer
    loss_ : float
        The last epoch's mean loss.
    loss_curve_ : list of float
    best_loss_, validation_scores_, best_validation_score_
        As in MLPClassifier.
    n_iter_ : int
        Epochs run by the last fit.
    t_ : int
        Training samples seen.
    n_features_in_ : int
        ``X.shape[1]`` (the channels, for images).
"""


class _BaseNeuralNet(EpochTrainer, BaseEstimator):
    """What NeuralNetClassifier and NeuralNetRegressor share."""

    _warn_batch_clipped = False  # a data set smaller than batch_size is one batch, silently

    def __init__(self, module, loss=None, optimizer=None, *, lr=0.001, optimizer_params=None,
                 max_iter=10, batch_size=64, shuffle=True, random_state=None, tol=1e-4,
                 n_iter_no_change=10, early_stopping=False, validation_fraction=0.1,
                 verbose=False, warm_start=False, n_jobs=None):
        self.module = module
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.optimizer_params = optimizer_params
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def _check_params(self):
        if not isinstance(self.module, Layer) and not callable(self.module):
            raise TypeError(f"module must be an nnfast Layer or a callable module(input_shape, "
                            f"n_outputs) -> Layer, got {type(self.module).__name__}")
        if self.loss is not None:
            check_loss(self.loss)
        if self.optimizer is not None and not callable(self.optimizer):
            raise TypeError(f"optimizer must be an nnfast optimizer class, got {self.optimizer!r}")
        if self.optimizer_params is not None and not isinstance(self.optimizer_params, dict):
            raise TypeError(f"optimizer_params must be a dict or None, got "
                            f"{type(self.optimizer_params).__name__}")
        P.check_real(self.lr, "lr", 0, low_open=True)
        P.check_int(self.max_iter, "max_iter", 1)
        if self.batch_size != "auto":
            P.check_int(self.batch_size, "batch_size", 1)
        P.check_real(self.tol, "tol", 0)
        P.check_n_iter_no_change(self.n_iter_no_change)
        P.check_real(self.validation_fraction, "validation_fraction", 0, 1, high_open=True)
        for name in ("shuffle", "warm_start", "early_stopping"):
            P.check_bool(getattr(self, name), name)
        P.check_verbose(self.verbose)
        P.check_n_jobs(self.n_jobs)

    # -- the network -----------------------------------------------------------
    @property
    def model_(self):
        """The trained network (``module_``), under the name the MLPs use."""
        return self.module_

    def _build_module(self, input_shape, n_outputs):
        if isinstance(self.module, Layer):
            return copy.deepcopy(self.module)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        previous = _random._rng
        _random._rng = np.random.default_rng(seed)  # the factory's initial weights
        try:
            module = self.module(input_shape, n_outputs)
        finally:
            _random._rng = previous
        if not isinstance(module, Layer):
            raise TypeError(f"module(input_shape, n_outputs) must return an nnfast Layer, got "
                            f"{type(module).__name__}")
        return module

    def _model_dtype(self):
        params = self.module_.parameters()
        return params[0].value.dtype.type if params else np.float32

    def _make_optimizer(self):
        params = self.module_.parameters()
        if not params:
            raise ValueError("the module has no parameters to train")
        make = Adam if self.optimizer is None else self.optimizer
        return make(params, lr=self.lr, **(self.optimizer_params or {}))

    # -- fitting -------------------------------------------------------------
    def _fit(self, X, y, incremental):
        self._check_params()
        first_pass = not hasattr(self, "module_") or (not self.warm_start and not incremental)
        X, T = self._validate_input(X, y, incremental, reset=first_pass)
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self.module_ = self._build_module(X.shape[1:], self._n_outputs())
            self.criterion_ = copy.deepcopy(self.loss) if self.loss is not None else self._default_loss()
            self.n_iter_ = 0
            self.t_ = 0
            self._start_curves(self.early_stopping)
        if not incremental or not hasattr(self, "optimizer_"):
            self.optimizer_ = self._make_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        with nnfast_threads(self.n_jobs):
            dtype = self._model_dtype()
            X = as_model_input(X, dtype)
            T = self._targets(T, dtype)
            validation = None
            if self.early_stopping:
                stratify = T if self._stratify() else None
                X, T, _, X_val, T_val, _ = validation_split(self, X, T, None, stratify)
                validation = (X_val, self._labels(T_val), None)
            self._run_epochs(X, T, None, self._batch_step(), incremental, validation)
        self._check_finite_parameters()
        return self

    def _batch_step(self):
        module, criterion, optimizer = self.module_, self.criterion_, self.optimizer_

        def step(x, t, sample_weight):
            out = module.forward(x)
            value = float(criterion.forward(out, t))
            optimizer.zero_grad()
            module.backward(criterion.backward())
            optimizer.step()
            return value

        return step

    def fit(self, X, y):
        """Train a fresh network (or, with ``warm_start``, the last one) on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            What the module takes: (n_samples, n_features), or images
            (n_samples, C, H, W).
        y : array-like of shape (n_samples,) (or (n_samples, n_outputs) for regression)

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def _validate_X(self, X, reset, y="no_validation"):
        """X (and y, in fit: None there is an error) checked by scikit-learn."""
        kwargs = {"allow_nd": True, "dtype": (np.float32, np.float64), "reset": reset}
        if isinstance(y, str) and y == "no_validation":
            return validate_data(self, X, **kwargs)
        return validate_data(self, X, y, multi_output=self._multi_output(), **kwargs)

    def _check_input_shape(self, X, reset):
        """One sample's shape, recorded at a fresh fit and the same ever after."""
        if reset:
            self._input_shape = X.shape[1:]
        elif X.shape[1:] != self._input_shape:
            raise ValueError(f"X must have samples of shape {self._input_shape}, as in the first "
                             f"fit, got {X.shape[1:]}")

    def _output(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        self._check_input_shape(X, reset=False)
        with nnfast_threads(self.n_jobs):
            return predict_raw(self.module_, X, self._model_dtype())

    def _score(self, X, y, sample_weight=None):
        return self._score_function(y, self._predict_checked(X), sample_weight=sample_weight)

    def _predict_checked(self, X):
        with nnfast_threads(self.n_jobs):
            return self._from_output(predict_raw(self.module_, X, self._model_dtype()))


def _last_leaf(layer):
    children = named_children(layer)
    return _last_leaf(children[-1][1]) if children else layer


class NeuralNetClassifier(ClassifierMixin, _BaseNeuralNet):
    __doc__ = ("""An nnfast network as a scikit-learn classifier.

    The module maps a batch to one score per class, (n_samples, n_classes);
    the loss receives the class indices 0..n_classes-1 (the default,
    CrossEntropyLoss, takes logits; NLLLoss takes a LogSoftmax's output).

    Parameters
    ----------""" + _PARAMETERS_DOC.format(default_loss="nf.losses.CrossEntropyLoss()") + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)""" + _ATTRIBUTES_DOC + """
    Examples
    --------
    >>> clf = NeuralNetClassifier(lenet, optimizer=nf.optim.SGD, lr=0.01,
    ...                           optimizer_params={"momentum": 0.9}, max_iter=5)  # doctest: +SKIP
    >>> clf.fit(X_images, y).score(X_test, y_test)                                 # doctest: +SKIP
    """)

    _score_function = staticmethod(accuracy_score)

    def _multi_output(self):
        return False

    def _stratify(self):
        return True

    def _n_outputs(self):
        return len(self.classes_)

    def _default_loss(self):
        return CrossEntropyLoss()

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_X(X, reset, y)
        check_classification_targets(y)
        self._check_input_shape(X, reset)
        classes = np.unique(y)
        if not incremental:
            if reset:
                self.classes_ = classes
            elif set(classes) != set(self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes as in "
                                 f"the previous call to fit. Previously got {self.classes_}, `y` has "
                                 f"{classes}")
        if len(np.setdiff1d(classes, self.classes_)):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                             f"{self.classes_}. 'y' has {classes}.")
        return X, np.searchsorted(self.classes_, y)

    def _targets(self, T, dtype):
        return np.ascontiguousarray(T, dtype=np.int64)

    def _labels(self, T):
        return self.classes_[T]

    def partial_fit(self, X, y, classes=None):
        """One epoch over ``(X, y)`` from the current network (a first call
        builds one); ``classes``, every class of all the calls, is required
        on the first call."""
        _check_partial_fit_first_call(self, classes)
        return self._fit(X, y, incremental=True)

    def _from_output(self, out):
        return self.classes_[np.argmax(out, axis=1)]

    def predict(self, X):
        """Class labels, (n_samples,)."""
        return self._from_output(self._output(X))

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes): the module's output if it ends
        with Softmax, its exp after LogSoftmax, else the softmax of its scores."""
        out = self._output(X).astype(np.float64)
        last = _last_leaf(self.module_)
        if isinstance(last, Softmax):
            return out
        if isinstance(last, LogSoftmax):
            return np.exp(out)
        return softmax(out)

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        return np.log(self.predict_proba(X))


class NeuralNetRegressor(RegressorMixin, _BaseNeuralNet):
    __doc__ = ("""An nnfast network as a scikit-learn regressor.

    The module maps a batch to (n_samples, n_outputs); y of shape
    (n_samples,) is trained as (n_samples, 1) and predicted as (n_samples,).

    Parameters
    ----------""" + _PARAMETERS_DOC.format(default_loss="nf.losses.MSELoss()") + """
    Attributes
    ----------""" + _ATTRIBUTES_DOC)

    _score_function = staticmethod(r2_score)

    def _multi_output(self):
        return True

    def _stratify(self):
        return False

    def _n_outputs(self):
        return self.n_outputs_

    def _default_loss(self):
        return MSELoss()

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_X(X, reset, y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = y.reshape(len(y), -1)
        self._check_input_shape(X, reset)
        if reset:
            self.n_outputs_ = Y.shape[1]
            self._y_ndim = y.ndim
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y must have {self.n_outputs_} outputs as in the first fit, got {Y.shape[1]}")
        return X, Y

    def _targets(self, T, dtype):
        return np.ascontiguousarray(T, dtype=dtype)

    def _labels(self, T):
        return T

    def partial_fit(self, X, y):
        """One epoch over ``(X, y)`` from the current network (a first call builds one)."""
        return self._fit(X, y, incremental=True)

    def _from_output(self, out):
        out = np.asarray(out)
        return out.reshape(len(out)) if self._y_ndim == 1 and out.ndim == 2 and out.shape[1] == 1 else out

    def predict(self, X):
        """Predictions, (n_samples,) or (n_samples, n_outputs)."""
        return self._from_output(self._output(X))

