"""Stand-ins shared by the fuzz targets and the tests (no hypothesis needed
here): a stream ``nf.datasets.read_idx`` must refuse, and a network without
Sequential's fusions."""
import io


class Unseekable(io.RawIOBase):
    """A readable binary stream of ``raw`` (bytes) that cannot seek, as a
    pipe or a socket."""

    def __init__(self, raw):
        self._buf = io.BytesIO(raw)

    def readable(self):
        return True

    def readinto(self, b):
        data = self._buf.read(len(b))
        b[:len(data)] = data
        return len(data)


class LayerChain:
    """The layers of a Sequential called one by one, each its own forward
    and backward: no fusion, for comparing with the Sequential."""

    def __init__(self, layers):
        self.layers = layers

    @property
    def requires_input_grad(self):
        return self.layers[0].requires_input_grad

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_output):
        """Down to the first layer, or to one that returns None (no input
        gradient wanted below it)."""
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
            if grad_output is None:
                break
        return grad_output

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]
