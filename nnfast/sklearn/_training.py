"""The epoch loop the estimators share, with scikit-learn's MLP's stopping rules.

One epoch visits the samples in batches (in a new random order each epoch
when ``shuffle``, drawn from the estimator's ``random_state`` exactly as
``sklearn.neural_network`` draws it); after each, the training loss, or with
``early_stopping`` the score on a held-out split, decides whether to stop:
``n_iter_no_change`` epochs without an improvement of at least ``tol`` end
the fit (or, for adaptive SGD, divide the learning rate by 5).
"""
import warnings

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import shuffle as shuffled

from nnfast.data._rows import take_rows
from nnfast.network import Sequential
from nnfast.training.evaluate import eval_mode

PREDICT_BATCH = 2048  # rows per forward pass in predict


def effective_batch_size(batch_size, n_samples, warn=True):
    """``batch_size`` for ``n_samples`` as scikit-learn's MLP computes it
    (and warns, if ``warn``, when it is clipped to ``n_samples``)."""
    if batch_size == "auto":
        return min(200, n_samples)
    if warn and batch_size > n_samples:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
    return int(np.clip(batch_size, 1, n_samples))


def dense_rows(X, index):
    """``X[index]`` as a dense array (X dense or a scipy sparse matrix);
    ``index`` a slice or the epoch loop's own row numbers (``take_rows``)."""
    if sparse.issparse(X):
        return X[index].toarray()
    return take_rows(X, index)


def as_model_input(X, dtype):
    """X converted once: dense C-contiguous, or CSR, in ``dtype``."""
    if sparse.issparse(X):
        return sparse.csr_matrix(X, dtype=dtype)
    return np.ascontiguousarray(X, dtype=dtype)


def predict_raw(model, X, dtype):
    """The model's output on X (dense or sparse), in eval mode, batched."""
    X = as_model_input(X, dtype)
    out = None
    with eval_mode(model):
        for start in range(0, X.shape[0], PREDICT_BATCH):
            z = np.asarray(model.forward(dense_rows(X, slice(start, start + PREDICT_BATCH))))
            if out is None:
                out = np.empty((X.shape[0],) + z.shape[1:], dtype=z.dtype)
            out[start:start + z.shape[0]] = z
    return out


def skip_input_grads(model):
    """Turn off the input gradient of the layers that need none (up to the
    first with parameters); returns what to restore."""
    if isinstance(model, Sequential):
        layers = []
        for layer in model.layers:
            layers.append(layer)
            if layer.parameters():
                break
        if type(model).backward is not Sequential.backward:
            layers = layers[:1]
    else:
        layers = [model]
    saved = [(layer, layer.requires_input_grad) for layer in layers]
    for layer in layers:
        layer.requires_input_grad = False
    return saved


def validation_split(estimator, X, T, sample_weight, stratify):
    """(X_train, T_train, sw_train, X_val, T_val, sw_val): scikit-learn's split."""
    arrays = (X, T) if sample_weight is None else (X, T, sample_weight)
    parts = train_test_split(*arrays, random_state=estimator._random_state,
                             test_size=estimator.validation_fraction, stratify=stratify)
    if sample_weight is None:
        X_train, X_val, T_train, T_val = parts
        sw_train = sw_val = None
    else:
        X_train, X_val, T_train, T_val, sw_train, sw_val = parts
    if X_val.shape[0] < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                         "or the size of your dataset.")
    return X_train, T_train, sw_train, X_val, T_val, sw_val


class EpochTrainer:
    """Mixin: ``_run_epochs`` and scikit-learn's no-improvement bookkeeping.

    The estimator provides ``model_``, ``_random_state``, the parameters
    ``max_iter``, ``shuffle``, ``tol``, ``n_iter_no_change``, ``verbose``,
    ``batch_size``, and ``_score(X, y, sample_weight)``; it may override
    ``_iteration_ends()`` and ``_trigger_stopping(msg)`` (adaptive learning rates).
    """

    _warn_batch_clipped = True  # as scikit-learn's MLP, when batch_size > n_samples

    def _start_curves(self, early_stopping):
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self._best_params = [p.value.copy() for p in self.model_.parameters()]

    def _run_epochs(self, X, T, sample_weight, step, incremental, validation):
        """Train for up to ``max_iter`` epochs (one if ``incremental``).

        ``step(x_batch, t_batch, sw_batch) -> float`` trains on one batch and
        returns its mean loss. ``validation``: (X_val, y_val, sw_val) to score
        after each epoch (early stopping), or None.
        """
        n = X.shape[0]
        batch_size = effective_batch_size(self.batch_size, n, self._warn_batch_clipped)
        sample_idx = np.arange(n, dtype=int)
        saved = skip_input_grads(self.model_)
        self.model_.train()
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    sample_idx = shuffled(sample_idx, random_state=self._random_state)
                accumulated = 0.0
                for start in range(0, n, batch_size):
                    index = (sample_idx[start:start + batch_size] if self.shuffle
                             else slice(start, start + batch_size))
                    sw = None if sample_weight is None else sample_weight[index]
                    x = dense_rows(X, index)
                    accumulated += step(x, T[index], sw) * x.shape[0]
                self.n_iter_ += 1
                self.loss_ = accumulated / n
                self.t_ += n
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                self._update_no_improvement_count(validation)
                self._iteration_ends()
                if self._no_improvement_count > self.n_iter_no_change:
                    if validation is not None:
                        msg = ("Validation score did not improve more than tol=%f for %d consecutive "
                               "epochs." % (self.tol, self.n_iter_no_change))
                    else:
                        msg = ("Training loss did not improve more than tol=%f for %d consecutive "
                               "epochs." % (self.tol, self.n_iter_no_change))
                    if self._trigger_stopping(msg):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                                  "optimization hasn't converged yet." % self.max_iter,
                                  ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finally:
            for layer, flag in saved:
                layer.requires_input_grad = flag
        if validation is not None:  # restore the best epoch's parameters
            for p, best in zip(self.model_.parameters(), self._best_params):
                p.value[...] = best

    def _update_no_improvement_count(self, validation):
        if validation is not None:
            score = self._score(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = [p.value.copy() for p in self.model_.parameters()]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _iteration_ends(self):
        """After each epoch (a learning-rate schedule may act here)."""

    def _trigger_stopping(self, msg):
        """Whether to stop after ``n_iter_no_change`` epochs without progress."""
        if self.verbose:
            print(msg + " Stopping.")
        return True

    def _check_finite_parameters(self):
        if not all(np.isfinite(p.value).all() for p in self.model_.parameters()):
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed.")
