"""MLPClassifier and MLPRegressor: ``sklearn.neural_network``'s estimators on nnfast's kernels.

Same parameters, defaults, fitted attributes and training rules as
scikit-learn's (the Glorot initialisation, batches, shuffling and validation
split drawn from ``random_state`` in the same order, the L2 penalty
``alpha`` divided by the batch's sample-weight sum and left off the
intercepts, the same stopping rules), so that a fit with the same
``random_state`` follows scikit-learn's up to rounding. The network is an
nnfast ``Sequential`` (``model_``), trained by nnfast's compiled Linear,
activation, cross-entropy and optimizer kernels.

nnfast's optimizers are PyTorch's, whose arithmetic differs from
scikit-learn's in two places; both are bridged here, so the updates are
scikit-learn's: momentum SGD keeps ``buf = momentum * buf + grad`` and steps
by ``lr * buf`` where scikit-learn keeps ``velocity = momentum * velocity -
lr * grad`` (the same while the rate is constant; when "invscaling" or
"adaptive" changes it, the buffers are rescaled by old / new rate), and
Adam adds its epsilon to ``sqrt(v_hat)`` where scikit-learn adds it to
``sqrt(v)`` (each step runs with ``epsilon / sqrt(1 - beta_2 ** t)``).
"""
import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from nnfast.layers import Linear, ReLU, Sigmoid, Tanh
from nnfast.network import Sequential
from nnfast.optim import SGD, Adam
from nnfast.sklearn import _params as P
from nnfast.sklearn._heads import HEADS
from nnfast.sklearn._threads import nnfast_threads
from nnfast.sklearn._training import EpochTrainer, as_model_input, predict_raw, validation_split

ACTIVATIONS = {"identity": None, "logistic": Sigmoid, "tanh": Tanh, "relu": ReLU}
SOLVERS = ("sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")

_PARAMETERS_DOC = """
    hidden_layer_sizes : int or sequence of int, default=(100,)
        The number of units of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        The hidden layers' activation.
    solver : {"adam", "sgd"}, default="adam"
        scikit-learn's "lbfgs" (a full-batch quasi-Newton method) is not offered.
    alpha : float >= 0, default=1e-4
        L2 penalty, divided by the batch's sample-weight sum; not applied to
        the intercepts.
    batch_size : int >= 1 or "auto", default="auto"
        "auto": min(200, n_samples).
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        The schedule of the "sgd" solver: "invscaling" sets
        ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch;
        "adaptive" divides it by 5 where the fit would otherwise stop.
    learning_rate_init : float > 0, default=1e-3
    power_t : float >= 0, default=0.5
    max_iter : int >= 1, default=200
        Epochs (passes over the data).
    shuffle : bool, default=True
    random_state : None, int or numpy.random.RandomState
        Initial weights, the early-stopping split and the batch order.
    tol : float >= 0, default=1e-4
    verbose : bool or int, default=False
        Print the loss after each epoch.
    warm_start : bool, default=False
        Go on from the previous fit's weights.
    momentum : float in [0, 1], default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for binary
        classification) and stop when its score stops improving; the best
        epoch's weights are kept.
    validation_fraction : float in [0, 1), default=0.1
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
    epsilon : float > 0, default=1e-8
    n_iter_no_change : int >= 1 or numpy.inf, default=10
    max_fun : int >= 1, default=15000
        Used by scikit-learn's "lbfgs" only; accepted for compatibility.
    n_jobs : int >= 1 or None, default=None
        nnfast threads for fit and predict (restored afterwards); None uses
        the current ``nf.get_num_threads()``. (nnfast's addition.)
"""

_ATTRIBUTES_DOC = """
    loss_ : float
        The last epoch's loss (with the L2 term).
    best_loss_ : float or None
        The lowest epoch loss (None with early stopping).
    loss_curve_ : list of float
        The loss after each epoch.
    validation_scores_ : list of float or None
        With early stopping, the validation score after each epoch.
    best_validation_score_ : float or None
        With early stopping, the best validation score.
    t_ : int
        Training samples seen.
    coefs_ : list of ndarray of shape (n_in, n_out)
        Each layer's weights in scikit-learn's layout: views of the
        transposed ``model_`` weights (writing to them changes the model).
    intercepts_ : list of ndarray of shape (n_out,)
        Views of each layer's bias.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When X has string feature names.
    n_iter_ : int
        Epochs run by the last fit (1 after ``partial_fit``).
    n_layers_ : int
        Layers, the input and the output included.
    n_outputs_ : int
    out_activation_ : str
    model_ : nnfast.Sequential
        The network (the output activation is applied by ``predict``); it
        can be saved, exported to ONNX or trained further as any nnfast model.
"""


class _BaseMLP(EpochTrainer, BaseEstimator):
    """What MLPClassifier and MLPRegressor share."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 n_jobs=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.n_jobs = n_jobs

    # -- parameters ----------------------------------------------------------
    def _check_params(self):
        """The hyper-parameters, checked (ValueError/TypeError naming the one that is wrong)."""
        if self.solver == "lbfgs":
            raise ValueError("solver='lbfgs' is not available in nnfast.sklearn (nnfast trains "
                             "by mini-batches): use 'adam' or 'sgd', or scikit-learn's own estimator")
        P.check_choice(self.solver, "solver", SOLVERS)
        P.check_choice(self.activation, "activation", tuple(ACTIVATIONS))
        P.check_choice(self.learning_rate, "learning_rate", LEARNING_RATES)
        if self.batch_size != "auto":
            P.check_int(self.batch_size, "batch_size", 1)
        P.check_real(self.alpha, "alpha", 0)
        P.check_real(self.learning_rate_init, "learning_rate_init", 0, low_open=True)
        P.check_real(self.power_t, "power_t", 0)
        P.check_int(self.max_iter, "max_iter", 1)
        P.check_real(self.tol, "tol", 0)
        P.check_real(self.momentum, "momentum", 0, 1)
        P.check_real(self.validation_fraction, "validation_fraction", 0, 1, high_open=True)
        P.check_real(self.beta_1, "beta_1", 0, 1, high_open=True)
        P.check_real(self.beta_2, "beta_2", 0, 1, high_open=True)
        P.check_real(self.epsilon, "epsilon", 0, low_open=True)
        P.check_int(self.max_fun, "max_fun", 1)
        P.check_n_iter_no_change(self.n_iter_no_change)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            P.check_bool(getattr(self, name), name)
        P.check_verbose(self.verbose)
        P.check_n_jobs(self.n_jobs)
        return P.check_hidden_layer_sizes(self.hidden_layer_sizes)

    # -- the network -----------------------------------------------------------
    def _linears(self):
        return [layer for layer in self.model_.layers if isinstance(layer, Linear)]

    @property
    def coefs_(self):
        """Weights in scikit-learn's (n_in, n_out) layout: views of ``model_``'s."""
        check_is_fitted(self, "model_")
        return [layer.weight.value.T for layer in self._linears()]

    @property
    def intercepts_(self):
        """Biases (n_out,): ``model_``'s own arrays."""
        check_is_fitted(self, "model_")
        return [layer.bias.value for layer in self._linears()]

    def _initialize(self, Y, layer_units, dtype):
        """A new network, with scikit-learn's Glorot-uniform weights and its draws."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._out_activation()
        factor = 2.0 if self.activation == "logistic" else 6.0
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(layer_units[:-1], layer_units[1:])):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = self._random_state.uniform(-bound, bound, fan_out)
            linear = Linear(fan_in, fan_out, dtype=dtype, weight_init="zeros", bias_init="zeros")
            linear.weight.value[...] = coef.T
            linear.bias.value[...] = intercept
            layers.append(linear)
            activation = ACTIVATIONS[self.activation]
            if i < len(layer_units) - 2 and activation is not None:
                layers.append(activation())
        self.model_ = Sequential(layers)
        self._start_curves(self.early_stopping)

    def _make_optimizers(self):
        """(optimizer of the weights, optimizer of the intercepts): only the
        weights carry the L2 penalty."""
        linears = self._linears()
        groups = ([layer.weight for layer in linears], [layer.bias for layer in linears])
        if self.solver == "sgd":
            nesterov = bool(self.nesterovs_momentum and self.momentum > 0)
            return tuple(SGD(g, lr=self.learning_rate_init, momentum=self.momentum,
                             nesterov=nesterov) for g in groups)
        return tuple(Adam(g, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                          eps=self.epsilon) for g in groups)

    def _set_lr(self, lr):
        """A new learning rate, with scikit-learn's velocity kept (see the module docstring)."""
        for opt in self._optimizers:
            if isinstance(opt, SGD) and opt.lr != lr:
                for state in opt.state.values():
                    buf = state.get("momentum_buffer")
                    if buf is not None:
                        buf *= opt.lr / lr
            opt.lr = lr

    def _iteration_ends(self):
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._set_lr(float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t)

    def _trigger_stopping(self, msg):
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            return super()._trigger_stopping(msg)
        lr = self._optimizers[0].lr
        if lr <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._set_lr(lr / 5.0)
        if self.verbose:
            print(msg + " Setting learning rate to %f" % (lr / 5.0))
        return False

    # -- fitting -------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden = self._check_params()
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if not first_pass and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but {type(self).__name__} was fitted "
                             f"with {self.n_outputs_}")
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, [X.shape[1]] + hidden + [Y.shape[1]], X.dtype)
        with nnfast_threads(self.n_jobs):
            self._fit_stochastic(X, Y, sample_weight, incremental)
        self._check_finite_parameters()
        return self

    def _model_dtype(self):
        return self.model_.parameters()[0].value.dtype.type

    def _fit_stochastic(self, X, Y, sample_weight, incremental):
        if not incremental or not hasattr(self, "_optimizers"):
            self._optimizers = self._make_optimizers()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        dtype = self._model_dtype()
        X = as_model_input(X, dtype)
        head = HEADS[self.out_activation_]()
        validation = None
        if self.early_stopping:
            stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
            X, Y, sample_weight, X_val, Y_val, sw_val = validation_split(
                self, X, Y, sample_weight, stratify)
            if is_classifier(self):
                Y_val = self._label_binarizer.inverse_transform(Y_val)
            validation = (X_val, Y_val, sw_val)
        if sample_weight is not None and np.all(sample_weight == 1):
            sample_weight = None  # the same fit, on the fused kernels
        T = head.targets(Y, dtype)
        self._run_epochs(X, T, sample_weight, self._batch_step(head), incremental, validation)

    def _batch_step(self, head):
        """The function that trains on one batch, returning its loss."""
        forward, backward = self.model_.forward, self.model_.backward
        weights = [layer.weight.value.reshape(-1) for layer in self._linears()]
        opt_weights, opt_intercepts = self._optimizers
        alpha = float(self.alpha)
        adam = isinstance(opt_weights, Adam)
        first = self._linears()[0].weight
        epsilon, beta_2 = float(self.epsilon), float(self.beta_2)

        def step(x, t, sample_weight):
            sw_sum = x.shape[0] if sample_weight is None else float(sample_weight.sum())
            if sw_sum == 0:
                return 0.0  # a batch of zero weights carries nothing to learn from
            z = forward(x)
            loss, grad = head.loss_and_grad(z, t, sample_weight)
            squares = 0.0
            for w in weights:
                squares += float(np.dot(w, w))
            loss += 0.5 * alpha * squares / sw_sum
            opt_weights.param_groups[0]["weight_decay"] = alpha / sw_sum
            if adam:  # scikit-learn's epsilon, on sqrt(v) (see the module docstring)
                t = opt_weights.state[first].get("step", 0) + 1
                opt_weights.param_groups[0]["eps"] = opt_intercepts.param_groups[0]["eps"] = (
                    epsilon / math.sqrt(1.0 - beta_2 ** t))
            opt_weights.zero_grad()
            opt_intercepts.zero_grad()
            backward(grad)
            opt_weights.step()
            opt_intercepts.step()
            return loss

        return step

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``(X, y)``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: the loss is their weighted mean.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    # -- prediction ------------------------------------------------------------
    def _forward_pass_fast(self, X, check_input=True):
        """The output activation of the network on X, (n_samples, n_outputs)."""
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        with nnfast_threads(self.n_jobs):
            z = predict_raw(self.model_, X, self._model_dtype())
        return HEADS[self.out_activation_]().activate(z)

    def _score_with_function(self, X, y, sample_weight, score_function):
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def predict(self, X):
        """Predictions for X: class labels, (n_samples,) (or (n_samples,
        n_classes) for multi-label), from the classifier; values, (n_samples,)
        or (n_samples, n_outputs), from the regressor."""
        check_is_fitted(self)
        return self._predict(X)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = ("""Multi-layer perceptron classifier: ``sklearn.neural_network.MLPClassifier`` on nnfast.

    The log-loss of a softmax (multi-class) or of one sigmoid per output
    (binary, multi-label), minimised by mini-batch Adam or SGD.

    Parameters
    ----------""" + _PARAMETERS_DOC + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)""" + _ATTRIBUTES_DOC + """
    Examples
    --------
    >>> from nnfast.sklearn import MLPClassifier
    >>> clf = MLPClassifier(hidden_layer_sizes=(30,), solver="sgd", batch_size=64,
    ...                     random_state=0).fit(X_train, y_train)     # doctest: +SKIP
    >>> clf.predict_proba(X_test)                                     # doctest: +SKIP
    """)

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as "
                                     f"in the previous call to fit. Previously got {self.classes_}, "
                                     f"`y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(bool)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, from the current weights.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array of shape (n_classes,)
            Every class of all the calls: required on the first.

        Returns
        -------
        self
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes), in ``classes_``'s order."""
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, accuracy_score)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = ("""Multi-layer perceptron regressor: ``sklearn.neural_network.MLPRegressor`` on nnfast.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        Half the squared error with an identity output, or half the Poisson
        deviance with an exponential output (y >= 0).""" + _PARAMETERS_DOC + """
    Attributes
    ----------""" + _ATTRIBUTES_DOC)

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 n_jobs=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, n_jobs=n_jobs)
        self.loss = loss

    def _check_params(self):
        P.check_choice(self.loss, "loss", ("squared_error", "poisson"))
        return super()._check_params()

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(f"loss='poisson' needs y >= 0, got a minimum of {y.min()}")
        return X, y

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, from the current weights (a first call starts a network)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, r2_score)
