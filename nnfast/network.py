"""Sequential: layers applied in order, backpropagated in reverse."""
from nnfast.layers.activations import ReLU
from nnfast.layers.base import Layer
from nnfast.layers.conv import Conv2D
from nnfast.layers.linear import Linear
from nnfast.layers.pooling import MaxPool2D

# Layers whose output pass can apply a following ReLU (``_forward(x, relu)``),
# by the ``forward`` they are run with: a subclass that overrides forward is
# run as it is.
_FUSES_RELU = {Linear.forward, Conv2D.forward}


def relu_fused_forward(layers, i):
    """Whether ``Sequential.forward`` runs layers[i + 1], a ReLU, inside
    layers[i]'s output pass."""
    return (i + 1 < len(layers) and type(layers[i + 1]) is ReLU
            and type(layers[i]).forward in _FUSES_RELU)


def relu_fused_backward(layers, i):
    """Whether ``Sequential.backward`` runs layers[i - 1], a ReLU, backward
    inside layers[i]'s, a MaxPool2D (only where the pooled maximum is > 0
    does a gradient reach the ReLU's input: the same result as the two
    backwards)."""
    if i < 1 or type(layers[i]) is not MaxPool2D or type(layers[i - 1]) is not ReLU:
        return False
    pool, relu = layers[i], layers[i - 1]
    return (pool.requires_input_grad and relu.requires_input_grad
            and pool._x_shape == relu._output_shape)


class Sequential(Layer):
    """A network: ``forward`` runs the layers in order, ``backward`` in reverse.

    Parameters
    ----------
    layers : list of Layer
    """

    def __init__(self, layers):
        super().__init__()
        if isinstance(layers, (Layer, str, bytes)) or not hasattr(layers, "__iter__"):
            raise TypeError(f"layers must be a list of nnfast Layers, got {type(layers).__name__}")
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be an nnfast Layer, got {type(layer).__name__}")
        if not layers:
            raise ValueError("layers must hold at least one Layer, got an empty list")
        self.layers = layers

    def forward(self, x):
        """Each layer's ``forward`` in order, with one shortcut: a Linear or
        Conv2D followed by a ReLU computes the ReLU in the pass that adds its
        bias, instead of the ReLU reading and writing the whole output again.
        The result and every layer's state (what ``backward`` reads) are those
        of calling the two forwards one after the other."""
        layers = self.layers
        i, n = 0, len(layers)
        while i < n:
            if relu_fused_forward(layers, i):
                x = layers[i + 1]._take_fused_output(layers[i]._forward(x, True))
                i += 2
            else:
                x = layers[i].forward(x)
                i += 1
        return x

    def backward(self, grad_output):
        """Backpropagate ``grad_output`` (gradient of the loss wrt the output).

        Fills every Parameter's ``grad`` (accumulating) and returns the
        gradient wrt the network's input. A layer whose
        ``requires_input_grad`` is False returns None, and the pass stops
        there: set it on the first layer with parameters and the layers
        below it (a Flatten, say) are skipped, as ``nf.fit`` does. Returns
        None then.
        """
        layers = self.layers
        i = len(layers) - 1
        while i >= 0:
            if relu_fused_backward(layers, i):
                grad_output = layers[i]._backward(grad_output, True)
                i -= 2
            else:
                grad_output = layers[i].backward(grad_output)
                i -= 1
            if grad_output is None:
                break
        return grad_output

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode=True):
        super().train(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner},\n])"

    # -- training, inference and persistence (see nnfast.training, nnfast.io)
    def predict(self, X, batch_size=256):
        """The last layer's output on ``X`` (N, ...), in eval mode, batched;
        the previous train/eval mode is restored. See ``nnfast.training.predict``."""
        from nnfast.training import predict
        return predict(self, X, batch_size=batch_size)

    def evaluate(self, X, y, loss, batch_size=256):
        """``{"loss": float, "accuracy": float or None}`` on ``(X, y)``, in
        eval mode, batched. See ``nnfast.training.evaluate``."""
        from nnfast.training import evaluate
        return evaluate(self, X, y, loss=loss, batch_size=batch_size)

    def save(self, path, optimizer=None):
        """Write the model (and optionally the optimizer's state) to ``path``
        atomically, as a versioned .npz; ``nf.load(path)`` reads it back.
        See ``nnfast.io.save``."""
        from nnfast.io import save
        save(self, path, optimizer=optimizer)
