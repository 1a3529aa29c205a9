"""ConvTranspose2D <-> ConvTranspose (2-D, group 1).

ONNX's weight layout is PyTorch's and nnfast's, (in_channels, out_channels,
kh, kw); ONNX pads per side, nnfast (as PyTorch) per axis plus an
output_padding at the bottom and right.
"""
from nnfast.layers import ConvTranspose2D
from nnfast.onnx.ops.conv import spatial_pair
from nnfast.onnx.registry import exports, imports


@exports(ConvTranspose2D)
def export_conv_transpose2d(layer, ctx, x, key):
    w = ctx.initializer(key + "weight", layer.weight.value)
    inputs = [x, w] if layer.bias is None else [x, w, ctx.initializer(key + "bias", layer.bias.value)]
    # ONNX Runtime takes output_padding < stride only (PyTorch: < stride or
    # dilation); what is beyond goes into a smaller end pad
    begin, end, extra = list(layer.padding), [], []
    for axis, p, op, s in zip(("height", "width"), layer.padding, layer.output_padding,
                              layer.stride):
        shift = max(0, op - (s - 1))
        if shift > p:
            raise ValueError(f"cannot export {layer!r} (at {key.rstrip('.') or 'the top'}) to "
                             f"ONNX: its output_padding {op} along the {axis} is not smaller "
                             f"than its stride {s} (ONNX Runtime needs that) and its padding "
                             f"{p} is too small to take the difference")
        end.append(p - shift)
        extra.append(op - shift)
    return ctx.node("ConvTranspose", inputs, key, dilations=list(layer.dilation), group=1,
                    kernel_shape=list(layer.kernel_size), pads=begin + end,
                    strides=list(layer.stride), output_padding=extra)


@imports("ConvTranspose")
def import_conv_transpose(node, ctx):
    w = ctx.weight(ctx.input(1, "weight W"), "weight W")
    if w.ndim != 4:
        raise ctx.fail(f"it is a {w.ndim - 2}-D transposed convolution (weight of shape {w.shape}); "
                       "nnfast has ConvTranspose2D")
    if ctx.attr("group", 1) != 1:
        raise ctx.fail(f"group={ctx.attr('group')} (a grouped transposed convolution) has no nnfast layer")
    kernel = spatial_pair(ctx, "kernel_shape", list(w.shape[2:]))
    if kernel != w.shape[2:]:
        raise ctx.fail(f"its kernel_shape {kernel} differs from its weight's {w.shape[2:]}")
    stride = spatial_pair(ctx, "strides", [1, 1])
    dilation = spatial_pair(ctx, "dilations", [1, 1])
    output_padding = spatial_pair(ctx, "output_padding", [0, 0])
    if ctx.attr("output_shape") is not None:
        raise ctx.fail("its output_shape attribute (padding worked out from the input size) has "
                       "no nnfast form; give pads and output_padding instead")
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        pads = [0, 0, 0, 0]
    elif auto_pad == "NOTSET":
        pads = ctx.attr("pads", [0, 0, 0, 0])
    else:
        raise ctx.fail(f"auto_pad={auto_pad!r} has no nnfast padding (NOTSET and VALID have)")
    # pads (begin, end) per axis: padding `begin`, and the rows that `end`
    # cuts less than `begin` as output_padding
    padding, extra = [], []
    for axis, begin, end, op in zip(("height", "width"), pads[:2], pads[2:], output_padding):
        if end > begin:
            raise ctx.fail(f"its pads {list(pads)} cut more at the end than at the beginning of the "
                           f"{axis}; nnfast's ConvTranspose2D cuts as much or less")
        padding.append(begin)
        extra.append(op + begin - end)
    b = ctx.input(2, "bias B")
    try:
        layer = ConvTranspose2D(w.shape[0], w.shape[1], kernel, stride=stride, padding=tuple(padding),
                                output_padding=tuple(extra), dilation=dilation, bias=b is not None,
                                dtype=ctx.dtype)
    except ValueError as e:
        raise ctx.fail(str(e)) from None
    layer.weight.value[...] = w
    if b is not None:
        layer.bias.value[...] = ctx.weight(b, "bias B").reshape(-1)
    return [layer]
