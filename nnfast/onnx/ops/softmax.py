"""Softmax, LogSoftmax <-> Softmax, LogSoftmax over axis 1."""
from nnfast.layers import LogSoftmax, Softmax
from nnfast.onnx.registry import exports, imports


@exports(Softmax)
def export_softmax(layer, ctx, x, key):
    return ctx.node("Softmax", [x], key, axis=1)


@exports(LogSoftmax)
def export_log_softmax(layer, ctx, x, key):
    return ctx.node("LogSoftmax", [x], key, axis=1)


@imports("Softmax", "LogSoftmax")
def import_softmax(node, ctx):
    # before opset 13 the input was flattened to 2-D from ``axis`` on (default 1)
    old = ctx.opset < 13
    given = ctx.attr("axis", 1 if old else -1)
    if ctx.axis(given) != 1 or (old and ctx.rank != 2):
        raise ctx.fail(f"axis={given} over a rank-{ctx.rank} input (opset {ctx.opset}) "
                       "is not a normalisation over axis 1, the only one nnfast has")
    return [Softmax() if node.op_type == "Softmax" else LogSoftmax()]
