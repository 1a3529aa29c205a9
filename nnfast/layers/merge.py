"""Layers of several inputs: ``Concat`` and ``Add``, the joins of a graph
(``nf.Graph``) or of a skip connection (``SkipConnection``)."""
import math

import numpy as np

from nnfast import _backend
from nnfast._validation import as_float_array
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


def concatenate_into(arrays, axis, out):
    """out := the concatenation of ``arrays`` along ``axis`` (the kernels'
    concat_forward, one call per input into its slice of out's rows)."""
    k = _backend.kernels()
    rows = math.prod(out.shape[:axis])
    dst = out.reshape(rows, -1)
    offset = 0
    for a in arrays:
        a = np.ascontiguousarray(a)
        src = a.reshape(rows, -1)
        k.concat_forward(src, offset, dst)
        offset += src.shape[1]
    return out


def add_into(a, b, out, relu=False):
    """out := a + b (then max(., 0) if relu), all of one shape, out
    contiguous, by the kernels' add_forward: as one row each where all are
    contiguous, else as the same N rows each (a slice along axis 1 of a
    contiguous (N, C, ...) array has contiguous rows; anything else is
    copied first)."""
    operands = [a, b, out]
    if all(x.flags.c_contiguous for x in operands):
        views = [x.reshape(1, -1) for x in operands]
    else:
        views = [_sample_rows(x) for x in operands]   # out is contiguous: a view
    _backend.kernels().add_forward(views[0], views[1], relu, views[2])
    return out


def _sample_rows(array):
    """``array`` (N, ...) as N rows of its sample's elements, each row
    contiguous: a view where that holds, else a contiguous copy's view."""
    if not (array.flags.c_contiguous or (array.ndim >= 2 and array[0].flags.c_contiguous)):
        array = np.ascontiguousarray(array)
    return np.lib.stride_tricks.as_strided(
        array, (array.shape[0], array[0].size), (array.strides[0], array.itemsize))


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
        concatenate_into(arrays, axis, out)
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
        add_into(arrays[0], arrays[1], out)
        for a in arrays[2:]:
            add_into(out, a, out)
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
