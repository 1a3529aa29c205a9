"""Conv2D <-> Conv (2-D; ``group`` is Conv2D's ``groups``)."""

from nnfast.layers import Conv2D
from nnfast.onnx.registry import exports, imports


@exports(Conv2D)
def export_conv2d(layer, ctx, x, key):
    w = ctx.initializer(key + "weight", layer.weight.value)
    # bias=False: ONNX's bias input is optional
    inputs = [x, w] if layer.bias is None else [x, w, ctx.initializer(key + "bias", layer.bias.value)]
    top, bottom, left, right = layer.padding
    return ctx.node("Conv", inputs, key, dilations=list(layer.dilation), group=layer.groups,
                    kernel_shape=list(layer.kernel_size), pads=[top, left, bottom, right],
                    strides=list(layer.stride))


def spatial_pair(ctx, name, default):
    """A 2-D attribute (kernel_shape, strides, dilations) as a pair."""
    value = ctx.attr(name, default)
    if value is None or len(value) != 2:
        raise ctx.fail(f"its {name} is {value!r}; nnfast's 2-D layers need two values")
    return tuple(int(v) for v in value)


@imports("Conv")
def import_conv(node, ctx):
    w = ctx.weight(ctx.input(1, "weight W"), "weight W")
    if w.ndim != 4:
        raise ctx.fail(f"it is a {w.ndim - 2}-D convolution (weight of shape {w.shape}); nnfast has Conv2D")
    # ONNX's W is (M, C / group, kH, kW), PyTorch's and Conv2D's layout
    group = ctx.attr("group", 1)
    if isinstance(group, bool) or not isinstance(group, int) or group < 1 or w.shape[0] % group:
        raise ctx.fail(f"group={group!r} must be an int >= 1 dividing the weight's "
                       f"{w.shape[0]} output channels")
    kernel = spatial_pair(ctx, "kernel_shape", list(w.shape[2:]))
    if kernel != w.shape[2:]:
        raise ctx.fail(f"its kernel_shape {kernel} differs from its weight's {w.shape[2:]}")
    stride = spatial_pair(ctx, "strides", [1, 1])
    dilation = spatial_pair(ctx, "dilations", [1, 1])
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad == "NOTSET":
        pads = ctx.attr("pads", [0, 0, 0, 0])
        padding = ((pads[0], pads[2]), (pads[1], pads[3]))
    elif auto_pad == "VALID":
        padding = 0
    elif auto_pad == "SAME_UPPER" and stride == (1, 1):
        padding = "same"  # nnfast's "same" puts an odd extra row and column after: SAME_UPPER
    else:
        raise ctx.fail(f"auto_pad={auto_pad!r} with strides {stride} has no nnfast padding "
                       "(NOTSET, VALID, and SAME_UPPER at stride 1 have)")
    b = ctx.input(2, "bias B")
    layer = Conv2D(w.shape[1] * group, w.shape[0], kernel, stride=stride, padding=padding,
                   dilation=dilation, dtype=ctx.dtype, groups=group, bias=b is not None)
    layer.weight.value[...] = w
    if b is not None:
        layer.bias.value[...] = ctx.weight(b, "bias B").reshape(-1)
    return [layer]
