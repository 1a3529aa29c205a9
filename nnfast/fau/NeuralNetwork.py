"""NeuralNetwork: a list of layers, a loss layer and a data layer."""
import copy

from nnfast._validation import MAX_EPOCHS, check_bool, check_int


def _check_has(obj, method, name, signature):
    if not callable(getattr(obj, method, None)):
        raise TypeError(f"{name} must have a {method}({signature}) method, "
                        f"got {type(obj).__name__}")


class NeuralNetwork:
    """Layers trained on batches pulled from ``data_layer``.

    Both forms of the course's constructor: the first exercise's
    ``NeuralNetwork(optimizer)``, where each layer keeps the weights it drew
    when made, and the later exercises' ``NeuralNetwork(optimizer,
    weights_initializer, bias_initializer)``, which initializes every
    trainable layer as it is appended.

    Parameters
    ----------
    optimizer : object with ``calculate_update``
        Each trainable layer gets its own deep copy in ``append_layer``
        (with its regularizer, if ``add_regularizer`` gave it one).
    weights_initializer, bias_initializer : objects with ``initialize``, or
        both None (the default)
        Applied to each trainable layer in ``append_layer``.

    Attributes
    ----------
    layers : list
    loss : list of float
        The loss of every training iteration: the loss layer's value plus
        the regularization loss (see ``forward``).
    data_layer : object whose ``next()`` returns (input_tensor, label_tensor)
        (one-hot labels).
    loss_layer : object with ``forward(prediction, label)`` and ``backward(label)``
    phase : bool
        True in the testing phase, False (the default) in training; setting
        it sets every layer's ``testing_phase``. ``train`` sets False,
        ``test`` True.
    """

    def __init__(self, optimizer, weights_initializer=None, bias_initializer=None):
        _check_has(optimizer, "calculate_update", "optimizer", "weight_tensor, gradient_tensor")
        if (weights_initializer is None) != (bias_initializer is None):
            raise ValueError(f"weights_initializer and bias_initializer must be given together "
                             f"(or neither, to keep each layer's own initial weights), got "
                             f"weights_initializer={weights_initializer!r}, "
                             f"bias_initializer={bias_initializer!r}")
        if weights_initializer is not None:
            signature = "weights_shape, fan_in, fan_out"
            _check_has(weights_initializer, "initialize", "weights_initializer", signature)
            _check_has(bias_initializer, "initialize", "bias_initializer", signature)
        self.optimizer = optimizer
        self.weights_initializer = weights_initializer
        self.bias_initializer = bias_initializer
        self.layers = []
        self.loss = []
        self.data_layer = None
        self.loss_layer = None
        self.label_tensor = None
        self._phase = False

    @property
    def phase(self):
        """True in the testing phase, False in training."""
        return self._phase

    @phase.setter
    def phase(self, testing):
        self._phase = check_bool(testing, "phase", " (True: the testing phase, False: training)")
        for layer in self.layers:
            layer.testing_phase = self._phase

    def append_layer(self, layer):
        """Append ``layer``, in the network's phase; a trainable one is
        initialized (when the network has initializers) and given its own
        copy of the optimizer (momentum and Adam keep state per layer)."""
        if getattr(layer, "trainable", False):
            if self.weights_initializer is not None:
                layer.initialize(self.weights_initializer, self.bias_initializer)
            layer.optimizer = copy.deepcopy(self.optimizer)
        layer.testing_phase = self._phase
        self.layers.append(layer)

    def _require(self, name):
        if getattr(self, name) is None:
            raise ValueError(f"NeuralNetwork.{name} must be set before training")

    def regularization_loss(self):
        """The sum over the trainable layers whose optimizer has a
        regularizer of ``optimizer.regularizer.norm(layer.weights)``."""
        total = 0.0
        for layer in self.layers:
            if not getattr(layer, "trainable", False):
                continue
            regularizer = getattr(getattr(layer, "optimizer", None), "regularizer", None)
            if regularizer is not None:
                total += float(regularizer.norm(layer.weights))
        return total

    def forward(self):
        """Pull a batch from ``data_layer``, run it through the layers and
        return the loss layer's value plus ``regularization_loss()``."""
        self._require("data_layer")
        self._require("loss_layer")
        input_tensor, self.label_tensor = self.data_layer.next()
        for layer in self.layers:
            input_tensor = layer.forward(input_tensor)
        # the weights the batch ran through, before backward moves them
        penalty = self.regularization_loss()
        return self.loss_layer.forward(input_tensor, self.label_tensor) + penalty

    def backward(self):
        """Propagate the last batch's error from the loss layer down; layers
        with an optimizer update their weights on the way."""
        if self.label_tensor is None:
            raise ValueError("NeuralNetwork.backward called before forward")
        error_tensor = self.loss_layer.backward(self.label_tensor)
        for layer in reversed(self.layers):
            error_tensor = layer.backward(error_tensor)

    def train(self, iterations):
        """In the training phase, ``iterations`` times forward and backward,
        appending each loss to ``loss``."""
        iterations = check_int(iterations, "iterations", 0, MAX_EPOCHS)
        self.phase = False
        for _ in range(iterations):
            self.loss.append(self.forward())
            self.backward()

    def test(self, input_tensor):
        """The last layer's output for ``input_tensor`` (no loss, no update),
        in the testing phase (where the network stays afterwards)."""
        self.phase = True
        for layer in self.layers:
            input_tensor = layer.forward(input_tensor)
        return input_tensor

    def __repr__(self):
        return f"NeuralNetwork(layers={self.layers!r}, optimizer={self.optimizer!r})"
