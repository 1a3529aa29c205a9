"""NeuralNetwork: a list of layers, a loss layer and a data layer."""
import copy

from nnfast._validation import MAX_EPOCHS, check_int


class NeuralNetwork:
    """Layers trained on batches pulled from ``data_layer``.

    Parameters
    ----------
    optimizer : object with ``calculate_update``
        Each trainable layer gets its own deep copy in ``append_layer``.
    weights_initializer, bias_initializer : objects with ``initialize``
        Applied to each trainable layer in ``append_layer``.

    Attributes
    ----------
    layers : list
    loss : list of float
        The loss of every training iteration.
    data_layer : object whose ``next()`` returns (input_tensor, label_tensor)
        (one-hot labels).
    loss_layer : object with ``forward(prediction, label)`` and ``backward(label)``
    """

    def __init__(self, optimizer, weights_initializer, bias_initializer):
        self.optimizer = optimizer
        self.weights_initializer = weights_initializer
        self.bias_initializer = bias_initializer
        self.layers = []
        self.loss = []
        self.data_layer = None
        self.loss_layer = None
        self.label_tensor = None

    def append_layer(self, layer):
        """Append ``layer``; a trainable one is initialized and given its own
        copy of the optimizer (momentum and Adam keep state per layer)."""
        if getattr(layer, "trainable", False):
            layer.initialize(self.weights_initializer, self.bias_initializer)
            layer.optimizer = copy.deepcopy(self.optimizer)
        self.layers.append(layer)

    def _require(self, name):
        if getattr(self, name) is None:
            raise ValueError(f"NeuralNetwork.{name} must be set before training")

    def forward(self):
        """Pull a batch from ``data_layer``, run it through the layers and
        return the loss layer's value."""
        self._require("data_layer")
        self._require("loss_layer")
        input_tensor, self.label_tensor = self.data_layer.next()
        for layer in self.layers:
            input_tensor = layer.forward(input_tensor)
        return self.loss_layer.forward(input_tensor, self.label_tensor)

    def backward(self):
        """Propagate the last batch's error from the loss layer down; layers
        with an optimizer update their weights on the way."""
        if self.label_tensor is None:
            raise ValueError("NeuralNetwork.backward called before forward")
        error_tensor = self.loss_layer.backward(self.label_tensor)
        for layer in reversed(self.layers):
            error_tensor = layer.backward(error_tensor)

    def train(self, iterations):
        """``iterations`` times forward and backward, appending each loss to
        ``loss``."""
        for _ in range(check_int(iterations, "iterations", 0, MAX_EPOCHS)):
            self.loss.append(self.forward())
            self.backward()

    def test(self, input_tensor):
        """The last layer's output for ``input_tensor`` (no loss, no update)."""
        for layer in self.layers:
            input_tensor = layer.forward(input_tensor)
        return input_tensor

    def __repr__(self):
        return f"NeuralNetwork(layers={self.layers!r}, optimizer={self.optimizer!r})"
