"""Layers of several inputs: ``Concat`` and ``Add``, the joins of a graph
(``nf.Graph``) or of a skip connection (``SkipConnection``)."""
import numpy as np

from nnfast._validation import as_float_array, check_choice
from nnfast.layers._axes import check_dim, normalize_dim
from nnfast.layers.base import Layer


def check_inputs(layer, inputs):
    """The inputs of a merge layer as float arrays of one dtype: the first
    input's (float32 or float64; other numbers become float32), the others
    cast to it. Returns a list."""
    if len(inputs) < 2:
        raise ValueError(f"{type(layer).__name__}.forward takes at least 2 arrays, got "
                         f"{len(inputs)}")
    first = as_float_array(inputs[0], "inputs[0]", contiguous=False)
    dtype = first.dtype.type
    arrays = [first]
    for i, x in enumerate(inputs[1:], 1):
        arrays.append(as_float_array(x, f"inputs[{i}]", dtype=dtype, contiguous=False))
    return arrays


class MergeLayer(Layer):
    """A layer of several inputs: ``forward(*inputs)`` and ``backward(grad_output)``
    returning one gradient per input (a tuple; None for all of them when
    ``requires_input_grad`` is False)."""

    n_inputs = None  # any number >= 2

    def __call__(self, *inputs):
        return self.forward(*inputs)


class Concat(MergeLayer):
    """Concatenate arrays along axis ``dim``, as ``torch.cat``.

    Parameters
    ----------
    dim : int, default 1
        The axis joined (the channels of (n_samples, channels, ...)).
        Negative counts from the end.

    forward(*inputs): arrays of one rank whose shapes agree except along
    ``dim`` -> their concatenation, in the order given. backward(grad_output)
    -> a tuple of each input's part of grad_output (views: nothing is
    computed).
    """

    def __init__(self, dim=1):
        super().__init__()
        self.dim = check_dim(dim, "dim")
        self._splits = None
        self._dtype = None
        self._config = {"dim": self.dim}

    def output_shape(self, shapes):
        """The output shape for inputs of ``shapes`` (checked)."""
        shapes = [tuple(s) for s in shapes]
        first = shapes[0]
        axis = normalize_dim(self.dim, first, "dim", "Concat's ")
        for i, shape in enumerate(shapes[1:], 1):
            if len(shape) != len(first) or any(a != b for k, (a, b) in
                                                enumerate(zip(shape, first)) if k != axis):
                raise ValueError(
                    f"Concat(dim={self.dim}): inputs[{i}] must have the shape of inputs[0] "
                    f"{first} except along axis {axis}, got {shape}")
        return first[:axis] + (sum(s[axis] for s in shapes),) + first[axis + 1:]

    def forward(self, *inputs):
        arrays = check_inputs(self, inputs)
        shape = self.output_shape([a.shape for a in arrays])
        axis = normalize_dim(self.dim, arrays[0].shape)
        out = self._new_array("out", shape, arrays[0].dtype)
        np.concatenate(arrays, axis=axis, out=out)
        self._splits = (axis, np.cumsum([a.shape[axis] for a in arrays])[:-1])
        self._dtype = arrays[0].dtype.type
        self._grad_output_shape = shape
        return out

    def backward(self, grad_output):
        g = self._check_grad_output(grad_output, self._dtype, contiguous=False)
        if not self.requires_input_grad:
            return (None,) * (len(self._splits[1]) + 1)
        axis, cuts = self._splits
        return tuple(np.split(g, cuts, axis=axis))


class Add(MergeLayer):
    """The sum of arrays of one shape (no broadcasting), as ``a + b + ...``.

    forward(*inputs) -> their sum; backward(grad_output) -> grad_output for
    each input (the same read-only array, not copies).
    """

    def __init__(self):
        super().__init__()
        self._n = 0
        self._dtype = None
        self._config = {}

    def forward(self, *inputs):
        arrays = check_inputs(self, inputs)
        shape = arrays[0].shape
        for i, a in enumerate(arrays[1:], 1):
            if a.shape != shape:
                raise ValueError(f"Add: inputs[{i}] must have the shape of inputs[0] {shape} "
                                 f"(no broadcasting), got {a.shape}")
        out = self._new_array("out", shape, arrays[0].dtype)
        np.add(arrays[0], arrays[1], out=out)
        for a in arrays[2:]:
            out += a
        self._n = len(arrays)
        self._dtype = arrays[0].dtype.type
        self._grad_output_shape = shape
        return out

    def backward(self, grad_output):
        g = self._check_grad_output(grad_output, self._dtype, contiguous=False)
        if not self.requires_input_grad:
            return (None,) * self._n
        g = g.view()
        g.flags.writeable = False
        return (g,) * self._n


SKIP_MODES = ("cat", "add")


def check_mode(mode):
    return check_choice(mode, "mode", SKIP_MODES)
