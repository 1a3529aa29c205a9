"""GlobalAvgPool2D <-> GlobalAveragePool (rank-4 input: (batch, channels, height, width))."""
from nnfast.layers import GlobalAvgPool2D
from nnfast.onnx.registry import exports, imports


@exports(GlobalAvgPool2D)
def export_global_avgpool2d(layer, ctx, x, key):
    return ctx.node("GlobalAveragePool", [x], key)


@imports("GlobalAveragePool")
def import_global_averagepool(node, ctx):
    # ONNX's operator pools every axis after the channels; GlobalAvgPool2D
    # pools two. A graph that does not fix the rank meets the layer's own
    # check (4 dimensions) at its first forward.
    if ctx.rank is not None and ctx.rank != 4:
        raise ctx.fail(f"it pools a rank-{ctx.rank} tensor; GlobalAvgPool2D takes rank 4 "
                       "(batch, channels, height, width)")
    return [GlobalAvgPool2D()]
