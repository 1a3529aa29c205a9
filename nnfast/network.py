"""Sequential: layers applied in order, backpropagated in reverse."""
from nnfast.layers.activations import ReLU
from nnfast.layers.base import Layer


def relu_fused_forward(layers, i):
    """Whether ``Sequential.forward`` runs layers[i + 1], a ReLU, inside
    layers[i]'s forward (``forward_relu``): layers[i] declares
    ``fuses_relu`` and the next layer is a ReLU (exactly: a subclass of ReLU
    may compute something else)."""
    return (i + 1 < len(layers) and layers[i].fuses_relu
            and type(layers[i + 1]) is ReLU)


def relu_fused_backward(layers, i):
    """Whether ``Sequential.backward`` runs layers[i - 1], a ReLU, backward
    inside layers[i]'s backward (``backward_relu``): layers[i] declares
    ``fuses_relu_backward``, the layer before it is a ReLU, and both are to
    compute their input gradient."""
    return (i >= 1 and layers[i].fuses_relu_backward and type(layers[i - 1]) is ReLU
            and layers[i].requires_input_grad and layers[i - 1].requires_input_grad)


def relu_after_fused_backward(layers, i):
    """Whether ``Sequential.backward`` runs layers[i], a ReLU, backward
    inside layers[i - 1]'s backward (``backward_after_relu``): the forward
    ran the two fused (``relu_fused_forward(layers, i - 1)``), layers[i - 1]
    declares ``fuses_relu_after_backward``, and the ReLU is to compute its
    input gradient (else the pass stops at it)."""
    return (i >= 1 and type(layers[i]) is ReLU and relu_fused_forward(layers, i - 1)
            and layers[i - 1].fuses_relu_after_backward and layers[i].requires_input_grad)


def forward_step(layers, i, x):
    """Run layers[i] forward on ``x``, with the ReLU after it fused in where
    ``relu_fused_forward`` says so.

    Returns
    -------
    (output, index of the next layer to run)
    """
    if relu_fused_forward(layers, i):
        return layers[i + 1].adopt_output(layers[i].forward_relu(x)), i + 2
    return layers[i].forward(x), i + 1


def backward_step(layers, i, grad_output):
    """Run layers[i] backward on ``grad_output``, with the ReLU before it
    fused in where ``relu_fused_backward`` says so.

    Returns
    -------
    (gradient wrt the input of the lowest layer run, or None; index of the
    next layer to run backward)
    """
    if relu_after_fused_backward(layers, i):
        return layers[i - 1].backward_after_relu(layers[i], grad_output), i - 2
    if relu_fused_backward(layers, i):
        grad_input = layers[i].backward_relu(grad_output)
        if grad_input is not None:
            # the check the ReLU's own backward makes first: its output must
            # be what the layer above took as input
            layers[i - 1]._check_grad_output(grad_input, grad_input.dtype.type)
        return grad_input, i - 2
    return layers[i].backward(grad_output), i - 1


class Sequential(Layer):
    """A network: ``forward`` runs the layers in order, ``backward`` in reverse.

    Parameters
    ----------
    *layers : Layer, or one list (any iterable) of Layers
        ``Sequential(a, b, c)`` (as ``torch.nn.Sequential``) or
        ``Sequential([a, b, c])``.
    """

    # Called as ``after_layer_backward(i)`` each time ``backward`` has finished
    # layers[i:] (their parameters' gradients are final); None: not called.
    # nnfast.distributed.DistributedOptimizer starts reducing gradients there.
    after_layer_backward = None

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and not isinstance(layers[0], Layer):
            given = layers[0]
            if isinstance(given, (str, bytes)) or not hasattr(given, "__iter__"):
                raise TypeError(f"layers must be Layers or one list of Layers, "
                                f"got {type(given).__name__}")
            layers = given
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be an nnfast Layer, got {type(layer).__name__}")
        if not layers:
            raise ValueError("layers must hold at least one Layer, got none")
        self.layers = layers

    def forward(self, x):
        """Each layer's ``forward`` in order, with one shortcut: a layer that
        declares ``fuses_relu`` (Linear, Conv2D) and is followed by a ReLU
        computes the ReLU in its own output pass (``forward_relu``), instead
        of the ReLU reading and writing the whole output again. The result
        and every layer's state (what ``backward`` reads) are those of
        calling the two forwards one after the other."""
        layers = self.layers
        i, n = 0, len(layers)
        while i < n:
            x, i = forward_step(layers, i, x)
        return x

    def backward(self, grad_output):
        """Backpropagate ``grad_output`` (gradient of the loss wrt the output).

        Fills every Parameter's ``grad`` (accumulating) and returns the
        gradient wrt the network's input. A layer whose
        ``requires_input_grad`` is False returns None, and the pass stops
        there: set it on the first layer with parameters and the layers
        below it (a Flatten, say) are skipped, as ``nf.fit`` does. Returns
        None then. A layer that declares ``fuses_relu_backward`` (MaxPool2D)
        runs the backward of a ReLU before it in its own pass, one that
        declares ``fuses_relu_after_backward`` (BatchNorm) that of the ReLU
        after it, fused into its forward.
        """
        layers = self.layers
        hook = self.after_layer_backward
        i = len(layers) - 1
        while i >= 0:
            grad_output, i = backward_step(layers, i, grad_output)
            if hook is not None:
                hook(i + 1)
            if grad_output is None:
                break
        return grad_output

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def named_buffers(self):
        """Every layer's buffers, named "<layer index>.<name>" (torch's keys)."""
        return [(f"{i}.{name}", array) for i, layer in enumerate(self.layers)
                for name, array in layer.named_buffers()]

    def first_trainable_index(self):
        """Index of the first layer that has parameters (0 if none)."""
        for i, layer in enumerate(self.layers):
            if layer.parameters():
                return i
        return 0

    def layers_without_input_grad(self):
        """The first layer with parameters and every layer before it: with
        their ``requires_input_grad`` off, ``backward`` stops at the first
        of them (it returns None) and never runs the ones below, which have
        nothing to learn. A subclass whose backward does not stop at a None
        gradient overrides this."""
        return self.layers[:self.first_trainable_index() + 1]

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
        """The last layer's output on ``X`` (n_samples, ...), in eval mode, batched;
        the previous train/eval mode is restored. See ``nnfast.training.predict``."""
        from nnfast.training import predict
        return predict(self, X, batch_size=batch_size)

    def predict_proba(self, X, batch_size=256):
        """Class probabilities (N, C, ...) of a classifier on ``X``, in eval
        mode. See ``nnfast.training.predict_proba``."""
        from nnfast.training import predict_proba
        return predict_proba(self, X, batch_size=batch_size)

    def evaluate(self, X, y=None, loss=None, batch_size=256, metrics=None):
        """``{"loss": float, "accuracy": float or None, ...}`` on ``(X, y)``
        (or a DataLoader), in eval mode, batched; ``loss`` defaults to the
        one ``nf.fit`` trained with. See ``nnfast.training.evaluate``."""
        from nnfast.training import evaluate
        return evaluate(self, X, y, loss=loss, batch_size=batch_size, metrics=metrics)

    def save(self, path, optimizer=None):
        """Write the model (and optionally the optimizer's state) to ``path``
        atomically, as a versioned .npz; ``nf.load(path)`` reads it back.
        See ``nnfast.io.save``."""
        from nnfast.io import save
        save(self, path, optimizer=optimizer)
