"""The layer interface: ``forward``, ``backward``, ``parameters``, train/eval."""
import sys
import threading

import numpy as np

from nnfast import _aligned
from nnfast._inference import is_inference
from nnfast._validation import as_float_array, check_shape


def _held_by_list_only():
    """What ``sys.getrefcount`` reads, in ``_new_array``'s loop, for an
    aligned array that only the list ``ring`` holds, and for its byte buffer
    (``array.base``) when nothing but that array uses it (measured the same
    way, so that it stays right on any CPython)."""
    ring = [_aligned.empty(0)]
    for array in ring:
        return sys.getrefcount(array), sys.getrefcount(array.base)


# A view of an aligned array has the byte buffer as its base, not the
# array: so both counts, the array's (nobody else holds it) and its
# buffer's (no view of it is alive).
_HELD_BY_RING_ONLY, _BUFFER_HELD_BY_ARRAY_ONLY = _held_by_list_only()

# Arrays a layer keeps per output slot for reuse: the one its last call
# returned (often still held by the next layer for its backward) and the one
# before, which is then free again.
_RING_SIZE = 2


def check_bias(bias):
    """The ``bias`` switch of the layers with weights: True or False."""
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be True or False, got {type(bias).__name__} {bias!r}")
    return bool(bias)


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
    fuses_relu : bool (class attribute)
        True when ``forward_relu(x)`` computes ``forward(x)`` and a ReLU
        after it in one pass; ``Sequential`` then runs a following ReLU that
        way.
    fuses_relu_backward : bool (class attribute)
        True when ``backward_relu(grad_output)`` computes ``backward`` and
        the backward of a ReLU before this layer (whose output was this
        layer's input) in one pass; ``Sequential`` then runs them that way.
    fuses_relu_after_backward : bool (class attribute)
        True when ``backward_after_relu(relu, grad_output)`` computes the
        backward of the ReLU after this layer (fused into its forward by
        ``forward_relu``) and then this layer's, in one pass; ``Sequential``
        then runs them that way.

    A subclass that overrides ``forward`` (``backward``) but neither
    ``forward_relu`` (``backward_relu``) nor the flag is not fused: the
    inherited fused pass computes the parent's forward, not the new one.
    """

    requires_input_grad = True
    # the kernel names of a layer that runs one pair (set with kernels=)
    _forward_kernel = _backward_kernel = None
    fuses_relu = False
    fuses_relu_backward = False
    fuses_relu_after_backward = False

    def __init_subclass__(cls, kernels=None, **kwargs):
        # kernels="relu": the class runs the kernels relu_forward and
        # relu_backward (as _forward_kernel, _backward_kernel)
        super().__init_subclass__(**kwargs)
        if kernels is not None:
            cls._forward_kernel, cls._backward_kernel = f"{kernels}_forward", f"{kernels}_backward"
        own = vars(cls)
        if "forward" in own and "forward_relu" not in own and "fuses_relu" not in own:
            cls.fuses_relu = False
        if ("backward" in own and "backward_relu" not in own
                and "fuses_relu_backward" not in own):
            cls.fuses_relu_backward = False
        if ("backward" in own and "backward_after_relu" not in own
                and "fuses_relu_after_backward" not in own):
            cls.fuses_relu_after_backward = False

    def __init__(self):
        self.training = True
        # the shape backward's grad_output must have: the last forward's
        # output's (set by every forward)
        self._grad_output_shape = None

    @property
    def training(self):
        """True in training mode, False after ``eval()`` and, on the calling
        thread only, inside ``predict``/``evaluate`` (nnfast._inference):
        those never change the mode the model was put in."""
        return self.__dict__.get("_training", True) and not is_inference()

    @training.setter
    def training(self, mode):
        self.__dict__["_training"] = bool(mode)

    # -- the interface --------------------------------------------------
    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    def forward_relu(self, x):
        """``forward(x)`` followed by a ReLU, in one pass, with the state
        ``forward(x)`` leaves: for layers whose ``fuses_relu`` is True."""
        raise NotImplementedError(f"{type(self).__name__} does not fuse a following ReLU "
                                  f"(its fuses_relu is False)")

    def backward_relu(self, grad_output):
        """``backward(grad_output)`` followed by the backward of the ReLU
        whose output was this layer's input, in one pass: for layers whose
        ``fuses_relu_backward`` is True. Returns the gradient with respect
        to the ReLU's input."""
        raise NotImplementedError(f"{type(self).__name__} does not fuse the backward of a "
                                  f"ReLU before it (its fuses_relu_backward is False)")

    def parameters(self):
        """Trainable Parameters, weight before bias."""
        return []

    def named_buffers(self):
        """[(name, array)] of state that is not trained but is saved and
        loaded with the model (BatchNorm's running statistics), in a fixed
        order; the arrays are updated in place. None here."""
        return []

    def layers_without_input_grad(self):
        """The layers whose ``requires_input_grad`` a trainer may turn off
        when no gradient with respect to this model's input is wanted (as
        ``nf.fit``, training on data, does): ``backward`` then returns None.
        A single layer: itself. A container: its layers up to and including
        the one where its backward then stops (see ``Sequential``)."""
        return [self]

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

    # -- PyTorch-style state dicts (see nnfast.state_dict) --------------
    def named_parameters(self):
        """[(key, Parameter)] under PyTorch's key names ("0.weight", ...)."""
        from nnfast import state_dict
        return state_dict.named_parameters(self)

    def state_dict(self):
        """OrderedDict of PyTorch key -> a copy of the parameter or buffer."""
        from nnfast import state_dict
        return state_dict.state_dict(self)

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (NumPy, or anything with ``.numpy()``) in by PyTorch's
        keys; returns ``(missing_keys, unexpected_keys)``."""
        from nnfast.state_dict import load_state_dict
        return load_state_dict(self, state_dict, strict=strict)

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
        named ``slot`` ("out", "grad_input", ...), to be filled completely by the
        caller.

        A training step allocates the same arrays every time; fresh ones of
        a megabyte or more come from the OS and cost a page fault per 4 KiB
        when first written, which was most of a ReLU's time. So the layer
        keeps the last ``_RING_SIZE`` arrays of each slot and hands one back
        when nothing but the layer refers to it any more: not the caller, not
        a later layer that saved it for its backward, not a view of it. An
        array somebody still holds is never reused; then a new one is made.
        Arrays are 64-byte aligned (nnfast._aligned).
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
            if (sys.getrefcount(array) == _HELD_BY_RING_ONLY
                    and sys.getrefcount(array.base) == _BUFFER_HELD_BY_ARRAY_ONLY):
                if array.shape == shape and array.dtype == dtype:
                    return array
                free = i
            i += 1
        array = _aligned.empty(shape, dtype)
        if len(ring) < _RING_SIZE:
            ring.append(array)
        elif free >= 0:
            ring[free] = array
        return array

    @property
    def _grad_output_shape(self):
        """The shape backward's grad_output must have: the last forward's
        output's. Setting it (every forward does, after its state) also
        records the thread that ran that forward."""
        return self.__dict__.get("_grad_output_shape_")

    @_grad_output_shape.setter
    def _grad_output_shape(self, shape):
        self.__dict__["_grad_output_shape_"] = shape
        self.__dict__["_forward_thread"] = threading.get_ident() if shape is not None else None

    def __getstate__(self):
        # Reusable arrays are scratch: not copied, not pickled; the thread
        # of the last forward means nothing in another process.
        state = self.__dict__.copy()
        state.pop("_rings", None)
        state.pop("_forward_thread", None)
        return state

    def _check_grad_output(self, grad_output, dtype, contiguous=True):
        """grad_output as a contiguous array of the last forward's output shape
        (with ``contiguous`` False, in whatever strides it came)."""
        if self._grad_output_shape is None:
            raise ValueError(f"{type(self).__name__}.backward called before forward")
        owner = self.__dict__.get("_forward_thread")
        if owner is not None and owner != threading.get_ident():
            # Another thread's forward replaced the state this backward
            # would read: refuse rather than mix two calls' arrays.
            raise RuntimeError(
                f"{type(self).__name__}.backward on a thread other than the one that ran "
                "its last forward: forward and backward of one training step must run on "
                "one thread, and one model trains on one thread at a time (predict and "
                "evaluate may run on any number of threads; see README, 'Threads')")
        g = as_float_array(grad_output, "grad_output", dtype=dtype, contiguous=contiguous)
        check_shape(g, "grad_output", self._grad_output_shape)
        return g


class ReLUFusedForward:
    """For a layer (listed before Layer in its bases) whose output pass can
    apply a following ReLU: it defines ``_forward(x, relu)``, and this gives
    it ``forward`` and ``forward_relu`` with ``fuses_relu`` True."""

    fuses_relu = True

    def forward(self, x):
        """The layer's output for x (``_forward(x, False)``: shapes in the
        layer's class docstring)."""
        return self._forward(x, False)

    def forward_relu(self, x):
        """max(forward(x), 0), the ReLU applied in the pass that writes the
        output (with the bias, or the normalisation) instead of a second
        pass over it; the layer's state is that of ``forward(x)``."""
        return self._forward(x, True)
