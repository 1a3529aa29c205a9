"""BaseLayer: what every layer of the teaching framework shares."""


class BaseLayer:
    """Base of every layer: ``forward(input_tensor)`` returns the next
    layer's input, ``backward(error_tensor)`` the error for the layer below.

    Attributes
    ----------
    trainable : bool
        False here; True in layers with weights (FullyConnected, Conv), which
        also have ``weights``, ``gradient_weights``, an ``optimizer``
        property and ``initialize(weights_initializer, bias_initializer)``.
    testing_phase : bool
        False (the training phase) until set; layers that behave differently
        at test time (Dropout) read it at each forward.
        ``NeuralNetwork.phase`` sets it on every layer of a network.
    """

    trainable = False
    testing_phase = False

    def __init__(self):
        self.trainable = False
        self.testing_phase = False

    def __repr__(self):
        return f"{type(self).__name__}()"
