"""Flatten: merge the axes ``start_dim`` to ``end_dim`` into one, as torch.nn.Flatten."""
import math

from nnfast._validation import as_float_array
from nnfast.layers.base import Layer
from nnfast.layers._axes import check_dim, min_rank, normalize_dim


class Flatten(Layer):
    """Merge axes ``start_dim`` to ``end_dim`` (both included) into one.

    The defaults keep axis 0 and merge the others: (n_samples, *rest) ->
    (n_samples, prod(rest)). In general (d0, ..., d_{s-1}, d_s, ..., d_e,
    d_{e+1}, ...) -> (d0, ..., d_{s-1}, d_s * ... * d_e, d_{e+1}, ...), s and e
    the two axes made non-negative; s == e leaves the shape as it is.

    The output is a view of the (contiguous) input, and backward reshapes the
    gradient back to the input's shape: nothing is copied or computed.
    Float32/float64 keep their dtype; other numeric input is cast to float32.

    Parameters
    ----------
    start_dim : int, default 1
        The first axis merged; negative counts from the end.
    end_dim : int, default -1
        The last axis merged; negative counts from the end. Must not come
        before ``start_dim`` (checked against each input's rank).
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = check_dim(start_dim, "start_dim")
        self.end_dim = check_dim(end_dim, "end_dim")
        if (self.start_dim >= 0) == (self.end_dim >= 0) and self.end_dim < self.start_dim:
            raise ValueError(f"end_dim must not come before start_dim, got start_dim="
                             f"{self.start_dim}, end_dim={self.end_dim}")
        self._input_shape = None
        self._dtype = None
        self._config = {"start_dim": self.start_dim, "end_dim": self.end_dim}

    def output_shape(self, shape):
        """The shape ``forward`` makes of an input of ``shape`` (checked)."""
        shape = tuple(shape)
        start = normalize_dim(self.start_dim, shape, "start_dim", "Flatten's ")
        end = normalize_dim(self.end_dim, shape, "end_dim", "Flatten's ")
        if end < start:
            raise ValueError(f"end_dim={self.end_dim} (axis {end}) comes before start_dim="
                             f"{self.start_dim} (axis {start}) for input x of shape {shape}")
        return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]

    def forward(self, x):
        """x : at least 2 dimensions (and axes ``start_dim``, ``end_dim``) -> x with
        axes start_dim..end_dim merged; (n_samples, prod(rest)) by default"""
        need = max(2, min_rank(self.start_dim), min_rank(self.end_dim))
        x = as_float_array(x, "x", min_ndim=need)
        if x.ndim < need:
            raise ValueError(f"x must have at least {need} dimensions (n_samples, ...) for "
                             f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}), "
                             f"got shape {x.shape}")
        out = x.reshape(self.output_shape(x.shape))
        self._input_shape = x.shape
        self._dtype = x.dtype.type
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : the output's shape -> grad_input (the input's shape)"""
        g = self._check_grad_output(grad_output, self._dtype)
        if not self.requires_input_grad:
            return None
        return g.reshape(self._input_shape)
