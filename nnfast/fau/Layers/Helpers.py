"""Helpers that course test files call: central-difference gradient checks,
the batch-norm input gradient, accuracy, and Iris / 8x8-digits data layers
(scikit-learn, imported only when a data layer is made)."""
import numpy as np

from nnfast._validation import check_float, check_int
from nnfast.fau._checks import as_tensor, tensor_dtype

# The course's helper accepts no larger eps: its batch-norm layers divide by
# sqrt(var + eps) with eps this small, and the helper must match them.
BN_EPS_MAX = 1e-10


def _forward(layers, input_tensor, label_tensor, seed):
    """The loss (last layer) of the network (the others) for input_tensor."""
    x = input_tensor
    for layer in layers[:-1]:
        if seed is not None:
            np.random.seed(seed)
        x = layer.forward(x)
    return layers[-1].forward(x, label_tensor)


def _backward(layers, label_tensor):
    error = layers[-1].backward(label_tensor)
    for layer in reversed(layers[:-1]):
        error = layer.backward(error)
    return error


def input_gradients(layers, input_tensor, label_tensor, seed=None, epsilon=1e-5):
    """Backward's gradient of the loss with respect to the input, and its
    central-difference estimate.

    Parameters
    ----------
    layers : list of layers, the last a loss (``forward(x, label)``,
        ``backward(label)``)
    input_tensor : ndarray, computed in float64
    seed : int or None
        Reseed ``np.random`` before each layer's forward (random layers).

    Returns
    -------
    (analytical, numerical) : two float64 ndarrays of input_tensor's shape
    """
    input_tensor = np.asarray(input_tensor, dtype=np.float64)
    _forward(layers, input_tensor.copy(), label_tensor, seed)
    analytical = np.array(_backward(layers, label_tensor), dtype=np.float64)
    numerical = np.zeros_like(input_tensor)
    for index in np.ndindex(input_tensor.shape):
        plus, minus = input_tensor.copy(), input_tensor.copy()
        plus[index] += epsilon
        minus[index] -= epsilon
        numerical[index] = (_forward(layers, plus, label_tensor, seed)
                            - _forward(layers, minus, label_tensor, seed)) / (2 * epsilon)
    return analytical, numerical


def weight_gradients(layers, input_tensor, label_tensor, bias, epsilon=1e-5):
    """As ``input_gradients``, for ``layers[0].weights`` (``.bias`` when
    ``bias``) against ``gradient_weights`` (``gradient_bias``). The layer
    must have no optimizer (backward would move the weights)."""
    name = "bias" if bias else "weights"
    grad_name = "gradient_bias" if bias else "gradient_weights"
    weights = np.array(getattr(layers[0], name), dtype=np.float64)
    setattr(layers[0], name, weights.copy())
    _forward(layers, input_tensor, label_tensor, None)
    _backward(layers, label_tensor)
    analytical = np.array(getattr(layers[0], grad_name), dtype=np.float64).reshape(weights.shape)
    numerical = np.zeros_like(weights)
    for index in np.ndindex(weights.shape):
        plus, minus = weights.copy(), weights.copy()
        plus[index] += epsilon
        minus[index] -= epsilon
        setattr(layers[0], name, plus)
        upper = _forward(layers, input_tensor, label_tensor, None)
        setattr(layers[0], name, minus)
        lower = _forward(layers, input_tensor, label_tensor, None)
        numerical[index] = (upper - lower) / (2 * epsilon)
    setattr(layers[0], name, weights)
    return analytical, numerical


def _differences(analytical, numerical):
    """Per element |a - n| / max(|a|, |n|), 0 where both are below 1e-15."""
    scale = np.maximum(np.abs(analytical), np.abs(numerical))
    safe = np.where(scale < 1e-15, 1.0, scale)
    return np.where(scale < 1e-15, 0.0, np.abs(analytical - numerical) / safe)


def relative_error(analytical, numerical):
    """||a - n||_2 / max(||a||_2, ||n||_2) (0 when both are 0)."""
    scale = max(np.linalg.norm(analytical), np.linalg.norm(numerical))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(analytical - numerical) / scale)


def gradient_check(layers, input_tensor, label_tensor, seed=None, epsilon=1e-5):
    """Per-element relative difference between the input gradient and its
    central difference (course tests sum it); see ``input_gradients``."""
    return _differences(*input_gradients(layers, input_tensor, label_tensor, seed, epsilon))


def gradient_check_weights(layers, input_tensor, label_tensor, bias, epsilon=1e-5):
    """Per-element relative difference between ``gradient_weights`` (or
    ``gradient_bias``) and its central difference; see ``weight_gradients``."""
    return _differences(*weight_gradients(layers, input_tensor, label_tensor, bias, epsilon))


def compute_bn_gradients(error_tensor, input_tensor, weights, mean, var,
                         eps=np.finfo(float).eps):
    """The gradient of batch normalization with respect to its input.

    For y = weights * (x - mean) / sqrt(var + eps) + bias over the batch
    axis, with ``mean`` and ``var`` the batch's (as a batch-norm layer's
    backward has them), the error below, written the course's way (chain
    rule through the variance and the mean, the mean's term kept even where
    it vanishes)::

        s = sqrt(var + eps);  d = error_tensor * weights;  c = x - mean
        grad_var  = -1/2 * sum(d * c) / s**3
        grad_mean = -sum(d) / s - 2 * grad_var * mean(c)
        d / s + 2 * grad_var * c / N + grad_mean / N

    sums and means over the batch axis (N rows), per channel.

    Parameters
    ----------
    error_tensor : ndarray of shape (N, C)
        The error arriving at the layer's output.
    input_tensor : ndarray of shape (N, C)
        The layer's input (4-D layers reshape to (batch * y * x, C) first).
    weights : ndarray of shape (C,) (or (1, C), or a scalar)
        gamma.
    mean, var : ndarrays of shape (C,) (or (1, C))
        The statistics the forward normalized with; var + eps > 0.
    eps : float in [0, 1e-10], default the float64 machine epsilon
        As the course's helper, which rejects anything larger.

    Returns
    -------
    ndarray of shape (N, C): float32 when ``input_tensor`` is float32,
    float64 otherwise.
    """
    eps = check_float(eps, "eps", 0.0, BN_EPS_MAX)
    dtype = tensor_dtype(input_tensor, "input_tensor")
    x = as_tensor(input_tensor, "input_tensor", dtype, ndim=2)
    e = as_tensor(error_tensor, "error_tensor", dtype, ndim=2)
    if e.shape != x.shape:
        raise ValueError(f"error_tensor must have input_tensor's shape {x.shape}, got {e.shape}")
    channels = (1, x.shape[1])

    def per_channel(value, name):
        arr = as_tensor(value, name, dtype, allow_empty=True, allow_scalar=True)  # broadcast
        try:
            return np.broadcast_to(arr, channels)
        except ValueError:
            raise ValueError(f"{name} must hold one value per channel, shape "
                             f"({x.shape[1]},), got shape {arr.shape}") from None

    gamma = per_channel(weights, "weights")
    mu = per_channel(mean, "mean")
    variance = per_channel(var, "var")
    if not np.all(variance + eps > 0):
        raise ValueError(f"var + eps must be > 0 in every channel, got var minimum "
                         f"{variance.min()} with eps {eps}")
    n = x.shape[0]
    std = np.sqrt(variance + eps)
    scaled = e * gamma
    centered = x - mu
    grad_var = -0.5 * np.sum(scaled * centered, axis=0, keepdims=True) / std ** 3
    grad_mean = (-np.sum(scaled, axis=0, keepdims=True) / std
                 - 2.0 * grad_var * np.mean(centered, axis=0, keepdims=True))
    return scaled / std + 2.0 * grad_var * centered / n + grad_mean / n


def calculate_accuracy(results, labels):
    """Fraction of rows whose largest entry is where the one-hot label's 1 is."""
    results, labels = np.asarray(results), np.asarray(labels)
    return float(np.mean(np.argmax(results, axis=1) == np.argmax(labels, axis=1)))


def one_hot(labels, categories):
    """(N,) integer labels -> (N, categories) float64 one-hot rows."""
    out = np.zeros((len(labels), categories))
    out[np.arange(len(labels)), labels] = 1.0
    return out


class _SplitData:
    """Shuffled once (``np.random``), the first two thirds for training;
    ``next()`` walks the training part batch by batch, in a new random
    order at the start of every pass (``random``) or in the same order every
    pass (``random=False``: the same batches each time, for runs that must
    repeat); ``get_test_set()`` returns the rest. A batch that reaches past
    the end of a pass is completed from the next one, so that every batch
    holds ``batch_size`` samples."""

    def __init__(self, data, labels, categories, batch_size, random):
        if not isinstance(random, (bool, np.bool_)):
            raise TypeError(f"random must be a bool, got {type(random).__name__} {random!r}")
        split = 2 * len(data) // 3
        self.batch_size = check_int(batch_size, "batch_size", 1, split)
        order = np.random.permutation(len(data))
        data, labels = data[order], one_hot(labels[order], categories)
        self.random = bool(random)
        self._train = (data[:split], labels[:split])
        self._test = (data[split:], labels[split:])
        self._order = np.arange(0)
        self._position = 0

    def next(self):
        n = len(self._train[0])
        if self._position + self.batch_size > len(self._order):
            one_pass = np.random.permutation(n) if self.random else np.arange(n)
            self._order = np.concatenate([self._order[self._position:], one_pass])
            self._position = 0
        rows = self._order[self._position:self._position + self.batch_size]
        self._position += self.batch_size
        return self._train[0][rows], self._train[1][rows]

    def get_test_set(self):
        return self._test


class IrisData(_SplitData):
    """scikit-learn's Iris: inputs (N, 4), one-hot labels (N, 3); 100
    samples for training, 50 for testing.

    Parameters
    ----------
    batch_size : int in [1, 100]
    random : bool, default True
        A new order of the training samples every pass; False keeps one.
    """

    def __init__(self, batch_size, random=True):
        from sklearn.datasets import load_iris
        iris = load_iris()
        super().__init__(iris.data.astype(np.float64), iris.target, 3, batch_size, random)


class DigitData(_SplitData):
    """scikit-learn's 8x8 digits: inputs (N, 1, 8, 8) scaled to [0, 1],
    one-hot labels (N, 10); 1198 samples for training, 599 for testing.

    Parameters
    ----------
    batch_size : int in [1, 1198]
    random : bool, default True
        As ``IrisData``'s.
    """

    def __init__(self, batch_size, random=True):
        from sklearn.datasets import load_digits
        digits = load_digits()
        images = (digits.images / 16.0).reshape(-1, 1, 8, 8)
        super().__init__(images, digits.target, 10, batch_size, random)
