"""SkipConnection: ``cat([x, inner(x)])`` or ``x + inner(x)``, MONAI's block
from which U-Nets and residual networks are nested inside ``Sequential``."""
import numpy as np

from nnfast._validation import as_float_array, check_choice
from nnfast.layers._axes import check_dim, normalize_dim
from nnfast.layers.base import Layer
from nnfast.layers.merge import add_into, concatenate_into

MODES = ("cat", "add")


class SkipConnection(Layer):
    """A layer around ``inner`` whose output joins its input and inner's
    output, as MONAI's ``SkipConnection``.

    mode "cat": ``concatenate([x, inner(x)], axis=dim)`` (x first, so a
    U-Net's decoder sees [skip, up]); mode "add": ``x + inner(x)`` (a
    residual block; inner must keep x's shape). ``backward`` sums the
    gradients of both paths into the gradient with respect to x.

    Parameters
    ----------
    inner : Layer
        Any layer or network (a ``Sequential``, another ``SkipConnection``).
    mode : {"cat", "add"}, default "cat"
    dim : int, default 1
        The axis joined in mode "cat" (channels); ignored by "add".

    Shapes: x (n_samples, channels, *spatial) -> (n_samples, channels +
    inner's channels, *spatial) for "cat" (inner's output must match x on
    every axis but ``dim``), x's shape for "add".

    In mode "add" a following ReLU in a ``Sequential`` runs in the pass that
    adds (``forward_relu``), as ``relu(x + inner(x))`` of a ResNet block.
    """

    def __init__(self, inner, mode="cat", dim=1):
        super().__init__()
        if not isinstance(inner, Layer):
            raise TypeError(f"inner must be an nnfast Layer, got {type(inner).__name__}")
        if getattr(inner, "n_inputs", 1) != 1:
            raise TypeError(f"inner must take one input, got {type(inner).__name__}, which "
                            "merges several")
        self.inner = inner
        self.mode = check_choice(mode, "mode", MODES)
        self.dim = check_dim(dim, "dim")
        # a following ReLU fuses into the addition (not into a copy)
        self.fuses_relu = self.mode == "add"
        self._state = None
        self._config = {"mode": self.mode, "dim": self.dim}

    # -- containers: what saving, state dicts and conversions walk -----
    def named_children(self):
        """[("submodule", inner)]: MONAI's attribute name, so state-dict keys
        read "submodule.0.weight" as a MONAI SkipConnection's do."""
        return [("submodule", self.inner)]

    def parameters(self):
        return self.inner.parameters()

    def named_buffers(self):
        return [(f"submodule.{name}", a) for name, a in self.inner.named_buffers()]

    def layers_without_input_grad(self):
        """Itself and what of ``inner`` needs no input gradient then: with
        no gradient wanted for x, none is wanted for inner's input."""
        return [self] + list(self.inner.layers_without_input_grad())

    def train(self, mode=True):
        super().train(mode)
        self.inner.train(mode)
        return self

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    # -- forward and backward -------------------------------------------
    def forward(self, x):
        """x : (n_samples, channels, *spatial) -> the joined output (see the class)"""
        return self._forward(x, False)

    def forward_relu(self, x):
        """max(x + inner(x), 0) in one pass (mode "add" only)."""
        if self.mode != "add":
            raise NotImplementedError("SkipConnection fuses a following ReLU in mode 'add' only")
        return self._forward(x, True)

    def _forward(self, x, relu):
        y = self.inner.forward(x)
        x = as_float_array(x, "x", dtype=y.dtype.type, contiguous=False)
        if self.mode == "add":
            if y.shape != x.shape:
                raise ValueError(f"SkipConnection(mode='add'): inner's output must have x's shape "
                                 f"{x.shape}, got {y.shape}")
            out = self._new_array("out", x.shape, y.dtype)
            add_into(x, y, out, relu)
            self._state = (None, y.dtype.type)
        else:
            if y.ndim != x.ndim:
                raise ValueError(f"SkipConnection(mode='cat', dim={self.dim}): inner's output must "
                                 f"have x's rank {x.ndim} (x {x.shape}), got shape {y.shape}")
            axis = normalize_dim(self.dim, x.shape, "dim", "SkipConnection's ")
            if any(a != b for k, (a, b) in enumerate(zip(x.shape, y.shape)) if k != axis):
                raise ValueError(f"SkipConnection(mode='cat', dim={self.dim}): inner's output must "
                                 f"match x {x.shape} on every axis but {axis}, got {y.shape}")
            shape = x.shape[:axis] + (x.shape[axis] + y.shape[axis],) + x.shape[axis + 1:]
            out = self._new_array("out", shape, y.dtype)
            concatenate_into((x, y), axis, out)
            self._state = ((axis, x.shape[axis]), y.dtype.type)
        self._grad_output_shape = out.shape
        return out

    def backward(self, grad_output):
        """grad_output : the output's shape -> the gradient wrt x (both paths
        summed), or None when ``requires_input_grad`` is False (inner's
        parameters get their gradients either way)."""
        split, dtype = self._state if self._state is not None else (None, None)
        g = self._check_grad_output(grad_output, dtype, contiguous=False)
        if split is None:
            g_skip, g_inner = g, g
        else:
            axis, cut = split
            g_skip, g_inner = np.split(g, [cut], axis=axis)
        g_x = self.inner.backward(np.ascontiguousarray(g_inner))
        if not self.requires_input_grad:
            return None
        grad_input = self._new_array("grad_input", g_skip.shape, dtype)
        if g_x is None:   # inner was told its input needs no gradient
            np.copyto(grad_input, g_skip)
        else:
            add_into(g_skip, g_x, grad_input)
        return grad_input

    def __repr__(self):
        inner = repr(self.inner).replace("\n", "\n  ")
        return f"SkipConnection(\n  {inner},\n  mode={self.mode!r}, dim={self.dim})"
