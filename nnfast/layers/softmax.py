"""Softmax and LogSoftmax over one axis, ``dim`` (default 1: the class or
channel axis), as torch.nn.Softmax(dim) and torch.nn.LogSoftmax(dim); and
CumulativeSoftmax, their running sum over ordered bins (a CDF output)."""
import math

from nnfast import _backend
from nnfast._validation import as_float_array
from nnfast.layers._axes import check_dim, min_rank, normalize_dim
from nnfast.layers.base import Layer


class _OverOneAxis(Layer):
    """Normalises over axis ``dim`` of input of any rank.

    The input is viewed as (outer, C, inner) without a copy, C the size of
    axis ``dim``, outer the product of the axes before it and inner of those
    after it; the kernels walk the C entries of each of the outer * inner
    vectors with stride ``inner`` (1 when ``dim`` is the last axis: the
    contiguous case). Backward reads the saved output. Float32/float64 keep
    their dtype; other numeric input is cast to float32.

    Parameters
    ----------
    dim : int, default 1
        The axis to normalise over; negative counts from the end (-1: the
        last). The default, the class axis of (n_samples, C) logits and the
        channel axis of (n_samples, C, *spatial) maps, is what nnfast did
        before ``dim`` existed (torch.nn.Softmax requires ``dim``).
    """

    def __init__(self, dim=1):
        super().__init__()
        self.dim = check_dim(dim)
        self._out = None
        self._config = {"dim": self.dim}

    def _as_3d(self, a):
        axis = normalize_dim(self.dim, a.shape, owner=f"{type(self).__name__}'s ")
        return a.reshape(math.prod(a.shape[:axis]), a.shape[axis], math.prod(a.shape[axis + 1:]))

    def _checked_input(self, x):
        """x as a float array of rank >= the axis needs, and its (outer, dim, inner) view."""
        need = min_rank(self.dim)
        x = as_float_array(x, "x", min_ndim=need)
        if x.ndim < need:
            raise ValueError(f"x must have at least {need} dimensions for {type(self).__name__} "
                             f"over dim={self.dim}, got shape {x.shape}")
        return x, self._as_3d(x)

    def _checked_grad_output(self, grad_output):
        """grad_output checked against the saved forward, and a grad_input
        array for it (None when ``requires_input_grad`` is False)."""
        dtype = self._out.dtype.type if self._out is not None else None
        g = self._check_grad_output(grad_output, dtype)
        if not self.requires_input_grad:
            return g, None
        return g, self._new_array("grad_input", g.shape, g.dtype)

    def forward(self, x):
        """x : any shape with axis ``dim`` -> same shape, normalised over ``dim``"""
        x, view = self._checked_input(x)
        out = self._new_array("out", x.shape, x.dtype)
        getattr(_backend.kernels(), self._forward_kernel)(view, out.reshape(view.shape))
        self._out = out
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : the output's shape -> grad_input (same shape) or None
        when ``requires_input_grad`` is False"""
        g, grad_input = self._checked_grad_output(grad_output)
        if grad_input is None:
            return None
        out = self._as_3d(self._out)
        getattr(_backend.kernels(), self._backward_kernel)(
            out, g.reshape(out.shape), grad_input.reshape(out.shape))
        return grad_input


class Softmax(_OverOneAxis, kernels="softmax"):
    """y = exp(x - max) / sum(exp(x - max)) over axis ``dim`` (default 1);
    finite for any finite x. See ``_OverOneAxis`` for ``dim``."""


class LogSoftmax(_OverOneAxis, kernels="log_softmax"):
    """y = (x - max) - log(sum(exp(x - max))) over axis ``dim`` (default 1);
    finite for any finite x. See ``_OverOneAxis`` for ``dim``."""


class CumulativeSoftmax(_OverOneAxis):
    """F[k] = sum_{j <= k} softmax(x)[j] over axis ``dim`` (default 1, the
    bins): a monotone cumulative distribution in [0, 1] whose last bin is
    exactly 1, as a network's output for a quantity binned 0 .. K - 1
    (neuron k giving P(value <= k)); train it with ``nf.losses.CRPSLoss``.

    (n_samples, K) -> (n_samples, K); any rank, normalised over ``dim`` as
    ``Softmax`` (see ``_OverOneAxis``). Backward reads the saved softmax,
    not differences of the saved output (those lose the small bins' digits).
    """

    def forward(self, x):
        """x : any shape with axis ``dim`` -> same shape, the running sum of
        its softmax over ``dim``"""
        x, view = self._checked_input(x)
        probs = self._new_array("probs", x.shape, x.dtype)
        out = self._new_array("out", x.shape, x.dtype)
        _backend.kernels().cumulative_softmax_forward(view, probs.reshape(view.shape),
                                                      out.reshape(view.shape))
        self._out = probs  # what backward reads
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : the output's shape -> grad_input (same shape) or None
        when ``requires_input_grad`` is False"""
        g, grad_input = self._checked_grad_output(grad_output)
        if grad_input is None:
            return None
        probs = self._as_3d(self._out)
        _backend.kernels().cumulative_softmax_backward(
            probs, g.reshape(probs.shape), grad_input.reshape(probs.shape))
        return grad_input
