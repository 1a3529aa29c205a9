"""Upsample <-> Resize (and the old Upsample operator, nearest, on import).

Upsample exports as ONNX ``Resize`` with constant ``scales`` (1, 1, scale_h,
scale_w): nearest as coordinate_transformation_mode "asymmetric" with
nearest_mode "floor" (source floor(dst / scale)), bilinear as mode "linear"
with "half_pixel" or "align_corners". ONNX holds scales as float32 and a
runtime divides by them where nnfast (as PyTorch) multiplies by 1 / scale,
and nnfast copies an axis whose size does not change (and halves the index of
a doubled one, nearest): so the exporter checks, for the exported input size,
that the runtime's output sizes and nearest indices are nnfast's, and writes
out_size / size for an axis where that scale is exact and the given one is
not. What cannot be made exact is a ValueError.

Import maps exactly what Upsample computes: Resize with those modes (and
"pytorch_half_pixel" where no output axis has size 1), from ``scales`` or
``sizes``; anything else (cubic, other coordinate modes or nearest modes,
antialiasing, resizing the batch or channels) is a clear error. Where the
graph fixes the input size, the same checks as export's are made.
"""
import math

import numpy as np

from nnfast.layers import Upsample
from nnfast.onnx.registry import exports, imports
from nnfast.reference.upsample import _nearest_table

_F32 = np.float32


def _runtime_size(size, scale):
    """The output size for float32 ``scale``, or None where implementations
    may differ: the product rounded down in float32 (as runtimes compute it)
    and in double (as onnx's shape inference does) must agree."""
    in_float = int(_F32(scale) * _F32(size))
    in_double = math.floor(float(_F32(scale)) * size)
    return in_float if in_float == in_double else None


def _runtime_nearest(size, out_size, scale):
    """A runtime's asymmetric-floor source indices for float32 ``scale``."""
    src = np.floor(np.arange(out_size, dtype=_F32) / _F32(scale))
    return np.clip(src, 0, size - 1).astype(np.intp)


def _exact_scale(layer, size, out_size, scale):
    """The float32 scale that makes a runtime's Resize compute ``layer``
    along an axis of ``size`` -> ``out_size``, or None."""
    # the scale, else its float32 neighbours: 0.7 is 0.69999999 in float32,
    # which gives 10 * 0.7 = 7 the output size 6
    near = _F32(scale)
    candidates = [scale, float(np.nextafter(near, _F32(np.inf))),
                  float(np.nextafter(near, _F32(0)))]
    # out_size / size is exact in float32 for these: the sizes nnfast copies
    # (and, nearest, halves); with align_corners the scale sets the size only
    if (out_size == size or layer.align_corners
            or (layer.mode == "nearest" and out_size == 2 * size)):
        candidates.insert(0, out_size / size)
    for s in candidates:
        if _runtime_size(size, s) != out_size:
            continue
        if layer.mode == "nearest":
            if not np.array_equal(_runtime_nearest(size, out_size, s),
                                  _nearest_table(size, out_size, scale)):
                continue
        elif not layer.align_corners and out_size == size and s != 1:
            continue   # nnfast copies; a runtime would interpolate
        return float(_F32(s))
    return None


@exports(Upsample)
def export_upsample(layer, ctx, x, key):
    _, height, width = ctx.shapes[x]
    out_shape = layer.output_shape((1, 1, height, width))
    scales = [1.0, 1.0]
    for axis, size, out_size, scale in zip(("height", "width"), (height, width), out_shape[2:],
                                           layer.scale_factor):
        s = _exact_scale(layer, size, out_size, float(scale))
        if s is None:
            raise ValueError(f"cannot export {layer!r} (at {key.rstrip('.') or 'the top'}) to "
                             f"ONNX for an input {axis} of {size}: no float32 scale makes "
                             f"Resize compute its output {axis} {out_size} and its source "
                             f"pixels exactly")
        scales.append(s)
    inputs = [x, "", ctx.initializer(key + "scales", scales, dtype=np.float32)]
    if layer.mode == "nearest":
        return ctx.node("Resize", inputs, key, mode="nearest",
                        coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    return ctx.node("Resize", inputs, key, mode="linear",
                    coordinate_transformation_mode="align_corners" if layer.align_corners
                    else "half_pixel")


def _spatial_scales(ctx, scales, sizes):
    """(scale_h, scale_w) from the node's scales or sizes (both per axis of
    the 4-D input, or of ``axes``)."""
    axes = ctx.attr("axes")
    if axes is not None and [ctx.axis(a) for a in axes] != [2, 3]:
        raise ctx.fail(f"its axes {list(axes)} are not the height and width; Upsample resizes "
                       "those two")
    want = 2 if axes is not None else 4
    if ctx.rank is not None and ctx.rank != 4:
        raise ctx.fail(f"it resizes a rank-{ctx.rank} tensor; Upsample takes (batch, channels, "
                       "height, width)")
    if scales is not None and np.size(scales) > 0:
        values = [float(v) for v in np.asarray(scales).reshape(-1)]
        what = "scales"
    elif sizes is not None and np.size(sizes) > 0:
        if ctx.shape is None:
            raise ctx.fail("it gives output sizes, and the graph does not fix the input's: "
                           "Upsample needs scales")
        if ctx.attr("keep_aspect_ratio_policy", "stretch") != "stretch":
            raise ctx.fail(f"keep_aspect_ratio_policy={ctx.attr('keep_aspect_ratio_policy')!r} "
                           "has no Upsample form (stretch has)")
        given = [int(v) for v in np.asarray(sizes).reshape(-1)]
        if len(given) != want or len(ctx.shape) != 3:
            raise ctx.fail(f"its sizes {given} must have {want} values, for an input of "
                           f"shape (batch, channels, height, width)")
        # a constant batch size is the batch's only where the graph fixes it
        if want == 4 and (given[0] != ctx.batch_size or given[1] != ctx.shape[0]):
            raise ctx.fail(f"its sizes {given} resize the batch (of size "
                           f"{ctx.batch_size or 'batch'}) or the channels ({ctx.shape[0]}); "
                           "Upsample resizes the height and width only")
        values = [1.0] * (want - 2) + [o / i for o, i in zip(given[-2:], ctx.shape[1:])]
        what = "sizes"
    else:
        raise ctx.fail("it has neither scales nor sizes")
    if len(values) != want:
        raise ctx.fail(f"its {what} {values} must have {want} values")
    if want == 4 and values[:2] != [1.0, 1.0]:
        raise ctx.fail(f"its {what} {values} resize the batch or the channels; Upsample resizes "
                       "the height and width only")
    if not all(math.isfinite(v) and v > 0 for v in values[-2:]):
        raise ctx.fail(f"its {what} {values} must be positive")
    return tuple(values[-2:])


def _check_exact(ctx, layer):
    """With the input size known: the graph's sizes and source pixels are the
    layer's (ONNX divides by the float32 scale, nnfast multiplies by its
    inverse; nnfast copies an axis that keeps its size)."""
    if ctx.shape is None or len(ctx.shape) != 3:
        return
    out_shape = layer.output_shape((1,) + tuple(ctx.shape))
    for axis, size, out_size, s in zip(("height", "width"), ctx.shape[1:], out_shape[2:],
                                       layer.scale_factor):
        if _runtime_size(size, s) != out_size:
            raise ctx.fail(f"its scale {s} makes an output {axis} other than floor({size} * "
                           f"{s}) = {out_size} in float32 arithmetic; Upsample would differ")
        exact = (layer.mode == "nearest"
                 and np.array_equal(_runtime_nearest(size, out_size, s),
                                    _nearest_table(size, out_size, s))) or (
                 layer.mode == "bilinear" and (layer.align_corners or out_size != size or s == 1))
        if not exact:
            raise ctx.fail(f"along the {axis} ({size} -> {out_size}) Upsample's source pixels "
                           f"differ from this node's for its scale {s}")


def _build(ctx, mode, scales, align_corners=False):
    try:
        layer = Upsample(scales, mode=mode, align_corners=align_corners)
    except ValueError as e:
        raise ctx.fail(str(e)) from None
    _check_exact(ctx, layer)
    return [layer]


@imports("Resize")
def import_resize(node, ctx):
    if ctx.opset < 11:   # Resize-10: (X, scales), asymmetric coordinates
        scales, sizes = ctx.input(1, "scales"), None
        transform, nearest_mode = "asymmetric", "floor"
    else:
        scales, sizes = ctx.input(2, "scales"), ctx.input(3, "sizes")
        transform = ctx.attr("coordinate_transformation_mode", "half_pixel")
        nearest_mode = ctx.attr("nearest_mode", "round_prefer_floor")
    mode = ctx.attr("mode", "nearest")
    if ctx.attr("antialias", 0):
        raise ctx.fail("antialias=1 has no Upsample form")
    scale = _spatial_scales(ctx, scales, sizes)
    if mode == "nearest" and ctx.opset < 11 and any(v < 1 for v in scale):
        raise ctx.fail(f"its scales {list(scale)} shrink; Resize before opset 11 rounds "
                       "down-sampled positions differently from Upsample")
    if mode == "nearest":
        if transform != "asymmetric" or nearest_mode != "floor":
            raise ctx.fail(f"nearest with coordinate_transformation_mode={transform!r} and "
                           f"nearest_mode={nearest_mode!r} has no Upsample form (Upsample's "
                           "nearest is 'asymmetric' with 'floor', as PyTorch's)")
        return _build(ctx, "nearest", scale)
    if mode != "linear":
        raise ctx.fail(f"mode={mode!r} has no Upsample form (nearest and linear have)")
    if transform == "align_corners":
        return _build(ctx, "bilinear", scale, align_corners=True)
    if transform == "pytorch_half_pixel":
        # half_pixel except that an output axis of size 1 reads pixel 0
        sizes_known = ctx.shape is not None and len(ctx.shape) == 3
        if not (all(s >= 1 for s in scale) or (sizes_known and all(
                math.floor(n * s) > 1 for n, s in zip(ctx.shape[1:], scale)))):
            raise ctx.fail("pytorch_half_pixel with an output axis that may have size 1 "
                           "differs from Upsample's half-pixel coordinates there")
        transform = "half_pixel"
    if transform != "half_pixel":
        raise ctx.fail(f"linear with coordinate_transformation_mode={transform!r} has no "
                       "Upsample form ('half_pixel' and 'align_corners' have)")
    return _build(ctx, "bilinear", scale)


@imports("Upsample")
def import_upsample(node, ctx):
    # the operator of opsets 7 to 9: scales as an attribute (7) or an input (9),
    # asymmetric coordinates; nearest upsampling then takes floor(dst / scale)
    mode = ctx.attr("mode", "nearest")
    scales = ctx.attr("scales")
    if scales is None:
        scales = ctx.input(1, "scales")
    if mode != "nearest":
        raise ctx.fail(f"mode={mode!r}: ONNX Upsample interpolates at asymmetric coordinates, "
                       "which nnfast's Upsample (as PyTorch's) does not; only nearest loads")
    scale = _spatial_scales(ctx, scales, None)
    if any(s < 1 for s in scale):
        raise ctx.fail(f"its scales {list(scale)} shrink; the ONNX Upsample operator rounds "
                       "down-sampled positions differently from Upsample")
    return _build(ctx, "nearest", scale)
