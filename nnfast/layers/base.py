"""The layer interface: ``forward``, ``backward``, ``parameters``, train/eval."""
import sys

import numpy as np

from nnfast._validation import as_float_array, check_shape


def _held_by_list_only():
    """What ``sys.getrefcount(array)`` reads, in ``_new_array``'s loop, for
    an array that only the list ``ring`` holds (measured the same way, so
    that it stays right on any CPython)."""
    ring = [np.empty(0)]
    for array in ring:
        return sys.getrefcount(array)


_HELD_BY_RING_ONLY = _held_by_list_only()

# Arrays a layer keeps per output slot for reuse: the one its last call
# returned (often still held by the next layer for its backward) and the one
# before, which is then free again.
_RING_SIZE = 2


class Layer:
    """Base class of every layer.

    A layer computes ``forward(x)``, keeps what its backward pass needs, and
    in ``backward(grad_output)`` accumulates its parameters' gradients and
    returns the gradient with respect to its input. Subclasses set
    ``_config`` (the constructor arguments, for ``repr`` and saving).

    Attributes
    ----------
    training : bool
        True in training mode (``train()``), False after ``eval()``.
    requires_input_grad : bool
        When False, ``backward`` may skip the input gradient and return
        None (the first layer of a network needs none).
    """

    training = True
    requires_input_grad = True

    def __init__(self):
        self.training = True
        self._output_shape = None

    # -- the interface --------------------------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    def parameters(self):
        """Trainable Parameters, weight before bias."""
        return []

    def train(self, mode=True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def __call__(self, x):
        return self.forward(x)

    def config(self):
        """Constructor arguments as a JSON-friendly dict."""
        return dict(getattr(self, "_config", {}))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    # -- inspection and conversion (nnfast.summary, nnfast.convert) -----
    def count_params(self):
        """Number of parameter elements (the sum of every Parameter's size)."""
        from nnfast.summary import count_params
        return count_params(self)

    def summary(self, input_shape, file=None):
        """Print each layer's output shape and parameter count for one sample
        of ``input_shape`` (no batch axis, e.g. (1, 28, 28)), and the total,
        to ``file`` (default sys.stdout). ``nnfast.summary.summarize`` returns
        the same as an object."""
        import sys
        from nnfast.summary import summarize
        print(summarize(self, input_shape), file=sys.stdout if file is None else file)

    def astype(self, dtype):
        """A converted copy with parameters of ``dtype`` (np.float32 or
        np.float64), e.g. for ``nf.gradcheck``; this layer is unchanged."""
        from nnfast.convert import astype
        return astype(self, dtype)

    # -- helpers for subclasses ----------------------------------------
    def _new_array(self, slot, shape, dtype):
        """An uninitialised array of ``shape`` and ``dtype`` for the output
        named ``slot`` ("out", "grad_x", ...), to be filled completely by the
        caller.

        A training step allocates the same arrays every time; fresh ones of
        a megabyte or more come from the OS and cost a page fault per 4 KiB
        when first written, which was most of a ReLU's time. So the layer
        keeps the last ``_RING_SIZE`` arrays of each slot and hands one back
        when nothing but the layer refers to it any more: not the caller, not
        a later layer that saved it for its backward, not a view of it. An
        array somebody still holds is never reused; then a new one is made.
        """
        if type(shape) is not tuple:
            shape = tuple(shape)
        rings = self.__dict__.get("_rings")
        if rings is None:
            rings = self.__dict__["_rings"] = {}
        ring = rings.get(slot)
        if ring is None:
            ring = rings[slot] = []
        free = -1
        i = 0
        for array in ring:
            if sys.getrefcount(array) == _HELD_BY_RING_ONLY:
                if array.shape == shape and array.dtype == dtype:
                    return array
                free = i
            i += 1
        array = np.empty(shape, dtype=dtype)
        if len(ring) < _RING_SIZE:
            ring.append(array)
        elif free >= 0:
            ring[free] = array
        return array

    def __getstate__(self):
        # Reusable arrays are scratch: not copied, not pickled.
        state = self.__dict__.copy()
        state.pop("_rings", None)
        return state

    def _output_shape_of(self, key, compute):
        """``compute()``, remembered for the last ``key`` (the input's shape
        and every argument the output shape depends on): a training step asks
        for the same shape each time, and working it out is several checks."""
        cached = self.__dict__.get("_shape_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        shape = compute()
        self._shape_cache = (key, shape)
        return shape

    def _remember_output_shape(self, shape):
        self._output_shape = tuple(shape)

    def _check_grad_output(self, grad_output, dtype):
        """grad_output as a contiguous array of the last forward's output shape."""
        if self._output_shape is None:
            raise ValueError(f"{type(self).__name__}.backward called before forward")
        g = as_float_array(grad_output, "grad_output", dtype=dtype)
        check_shape(g, "grad_output", self._output_shape)
        return g
