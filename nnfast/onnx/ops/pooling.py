"""MaxPool2D <-> MaxPool, AvgPool2D <-> AveragePool (count_include_pad=1)."""
from nnfast.layers import AvgPool2D, MaxPool2D
from nnfast.onnx.ops.conv import spatial_pair
from nnfast.onnx.registry import exports, imports


def _pool_attributes(layer):
    ph, pw = layer.padding
    return {"kernel_shape": list(layer.kernel_size), "strides": list(layer.stride),
            "pads": [ph, pw, ph, pw], "ceil_mode": 0}


@exports(MaxPool2D)
def export_maxpool2d(layer, ctx, x, key):
    return ctx.node("MaxPool", [x], key, **_pool_attributes(layer))


@exports(AvgPool2D)
def export_avgpool2d(layer, ctx, x, key):
    return ctx.node("AveragePool", [x], key, count_include_pad=1, **_pool_attributes(layer))


def _pool_args(ctx):
    """(kernel_size, stride, padding) of a MaxPool or AveragePool node."""
    kernel = spatial_pair(ctx, "kernel_shape", None)
    stride = spatial_pair(ctx, "strides", [1, 1])  # ONNX's default stride is 1, nnfast's the kernel
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID"):
        raise ctx.fail(f"auto_pad={auto_pad!r} has no nnfast pooling padding (NOTSET and VALID have)")
    pads = [0, 0, 0, 0] if auto_pad == "VALID" else list(ctx.attr("pads", [0, 0, 0, 0]))
    if pads[0] != pads[2] or pads[1] != pads[3]:
        raise ctx.fail(f"its pads {pads} differ before and after; nnfast pools with the same "
                       "padding on both sides")
    padding = (pads[0], pads[1])
    if ctx.attr("ceil_mode", 0):
        # ceil mode gives floor mode's size when the windows tile the input exactly
        exact = ctx.shape is not None and len(ctx.shape) == 3 and all(
            (n + 2 * p - k) % s == 0 for n, p, k, s in zip(ctx.shape[1:], padding, kernel, stride))
        if not exact:
            raise ctx.fail("ceil_mode=1 has no nnfast pooling (nnfast rounds the output size down)")
    return kernel, stride, padding


@imports("MaxPool")
def import_maxpool(node, ctx):
    ctx.check_only_first_output_used()
    if any(d != 1 for d in ctx.attr("dilations", [1, 1])):
        raise ctx.fail(f"dilations={ctx.attr('dilations')} have no nnfast max pooling")
    kernel, stride, padding = _pool_args(ctx)
    return [MaxPool2D(kernel, stride=stride, padding=padding)]


@imports("AveragePool")
def import_averagepool(node, ctx):
    if any(d != 1 for d in ctx.attr("dilations", [1, 1])):
        raise ctx.fail(f"dilations={ctx.attr('dilations')} have no nnfast average pooling")
    kernel, stride, padding = _pool_args(ctx)
    if any(padding) and not ctx.attr("count_include_pad", 0):
        raise ctx.fail("count_include_pad=0 with padding has no nnfast layer (AvgPool2D divides "
                       "by the whole window, padding included)")
    return [AvgPool2D(kernel, stride=stride, padding=padding)]
