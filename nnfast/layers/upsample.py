"""Upsampling by a scale factor (PyTorch's ``nn.Upsample``), nearest or bilinear."""
import math
import numbers

from nnfast import _backend
from nnfast._validation import (INT32_MAX, as_float_array, check_allocation, check_bool,
                                check_choice, check_float)
from nnfast.layers.base import Layer

MODES = ("nearest", "bilinear")
# the spatial axes a mode interpolates: 3-D ("trilinear", NCDHW) adds its row
_SPATIAL_DIMS = {"nearest": 2, "bilinear": 2}
_AXES = ("height", "width")


def check_scale_factor(scale_factor, n_axes=2):
    """``scale_factor`` (a positive finite number, or one per spatial axis) as
    a tuple of ``n_axes`` numbers, ints kept ints (for the saved config)."""
    values = (tuple(scale_factor) if isinstance(scale_factor, (tuple, list))
              else (scale_factor,) * n_axes)
    if len(values) != n_axes:
        raise ValueError(f"scale_factor must be a positive number or {n_axes} of them (one per "
                         f"spatial axis: {', '.join(_AXES[:n_axes])}), got {scale_factor!r}")
    checked = []
    for v in values:
        f = check_float(v, "scale_factor", 0.0, min_inclusive=False)
        checked.append(int(v) if isinstance(v, numbers.Integral) else f)
    return tuple(checked)


class Upsample(Layer):
    """Upsampling of (n_samples, channels, height, width) by a scale factor,
    as PyTorch's ``nn.Upsample(scale_factor=..., mode=...)`` (and
    ``F.interpolate`` with ``scale_factor`` and ``recompute_scale_factor``
    unset).

    The output size along each axis is floor(size * scale). Each output
    pixel's source coordinate comes from the given scale (not from the ratio
    of the sizes), as PyTorch's:

    - ``"nearest"``: src = min(floor(dst * (1 / scale)), size - 1), in float32
      arithmetic for either dtype; a doubled axis takes dst // 2 and an axis
      whose size does not change is copied (PyTorch's ``nearest_idx``).
    - ``"bilinear"``: the two neighbours of src = (dst + 0.5) / scale - 0.5
      (clamped at 0; half-pixel centres) or, with ``align_corners``, src =
      dst * (size - 1) / (out_size - 1) (the corner pixels of input and
      output aligned, the scale used for the size only), weighted by the
      distance. An axis whose size does not change is copied.

    PyTorch's own forward is not one rule: on larger planes (from about 128
    output columns, torch 2.13) it drops nearest's special cases (a scale of
    2.01 on a doubled width is then floor(dst / 2.01)) and in float64 finds
    the nearest source in double. Its backward, and its forward on smaller
    planes, are what this layer computes in both directions.

    Parameters
    ----------
    scale_factor : positive number, or (h, w) pair of them
        Scales below 1 shrink (nearest picks pixels, bilinear interpolates
        without averaging, as PyTorch's).
    mode : "nearest" (default) or "bilinear"
    align_corners : bool, default False
        Bilinear only (True with "nearest" is a ValueError, as in PyTorch).
        None is taken as False (PyTorch's default spelling).

    Input of float32 and float64 keeps its dtype; other dtypes are cast to
    float32. The layer has no parameters. Volumes (5-D input, trilinear) are
    not supported yet.
    """

    def __init__(self, scale_factor, mode="nearest", align_corners=False):
        super().__init__()
        self.mode = check_choice(mode, "mode", MODES)
        self.scale_factor = check_scale_factor(scale_factor, _SPATIAL_DIMS[self.mode])
        if align_corners is None:
            align_corners = False
        self.align_corners = check_bool(
            align_corners, "align_corners", " (bilinear only: align the corner pixels)")
        if self.align_corners and self.mode == "nearest":
            raise ValueError("align_corners=True needs mode='bilinear' (nearest has no corners "
                             "to align, as in PyTorch), got mode='nearest'")
        self._x_shape = None
        self._dtype = None
        self._config = {"scale_factor": list(self.scale_factor), "mode": self.mode}
        if self.align_corners:
            self._config["align_corners"] = True

    def output_shape(self, input_shape):
        """(n_samples, channels, floor(height * scale_h), floor(width *
        scale_w)) for an input of shape (n_samples, channels, height, width);
        ValueError if an output size would be 0 or too large."""
        key = (tuple(input_shape), self.scale_factor, self._dtype)
        memo = self.__dict__.get("_output_shape_memo")
        if memo is not None and memo[0] == key:
            return memo[1]
        n_samples, channels, *spatial = input_shape
        size = []
        for axis, extent, scale in zip(_AXES, spatial, self.scale_factor):
            product = float(extent) * float(scale)
            if product >= INT32_MAX + 1.0:  # (inf too) before floor() makes a huge int
                raise ValueError(f"scale_factor {self.scale_factor} gives x of shape "
                                 f"{tuple(input_shape)} an output {axis} of {extent} * {scale} "
                                 f"= {product:.6g}, must be <= {INT32_MAX}")
            out = math.floor(product)
            if out < 1:
                raise ValueError(f"scale_factor {self.scale_factor} gives x of shape "
                                 f"{tuple(input_shape)} an output {axis} of floor({extent} * "
                                 f"{scale}) = {out}, must be >= 1")
            size.append(out)
        shape = (n_samples, channels, *size)
        check_allocation(shape, self._dtype or "float32",
                         f"the output for x of shape {tuple(input_shape)}")
        self._output_shape_memo = (key, shape)
        return shape

    def _check_input(self, x):
        ndim = getattr(x, "ndim", None)
        if ndim == 5:
            raise ValueError(f"x must have 4 dimensions (n_samples, channels, height, width) for "
                             f"{self!r}, got shape {x.shape}: volumes (5-D input, trilinear) "
                             f"are not supported yet")
        return as_float_array(x, "x", None, ndim=4)

    def forward(self, x):
        """x : (n_samples, channels, height, width) -> (n_samples, channels,
        out_height, out_width)"""
        x = self._check_input(x)
        self._dtype = x.dtype
        out_shape = self.output_shape(x.shape)
        out = self._new_array("out", out_shape, x.dtype)
        k = _backend.kernels()
        scales = tuple(float(s) for s in self.scale_factor)
        if self.mode == "nearest":
            k.upsample2d_nearest_forward(x, scales, out)
        else:
            k.upsample2d_bilinear_forward(x, scales, self.align_corners, out)
        self._x_shape = x.shape
        self._grad_output_shape = out_shape
        return out

    def backward(self, grad_output):
        """grad_output : (n_samples, channels, out_height, out_width) ->
        grad_input (n_samples, channels, height, width), or None when
        ``requires_input_grad`` is False."""
        g = self._check_grad_output(grad_output, self._dtype)
        if not self.requires_input_grad:
            return None
        grad_input = self._new_array("grad_input", self._x_shape, self._dtype)
        k = _backend.kernels()
        scales = tuple(float(s) for s in self.scale_factor)
        if self.mode == "nearest":
            k.upsample2d_nearest_backward(g, scales, grad_input)
        else:
            k.upsample2d_bilinear_backward(g, scales, self.align_corners, grad_input)
        return grad_input
