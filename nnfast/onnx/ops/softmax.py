"""Softmax, LogSoftmax <-> Softmax, LogSoftmax over one axis (opset 13's
meaning of ``axis``: that axis alone, as the layers' ``dim``)."""
from nnfast.layers import LogSoftmax, Softmax
from nnfast.onnx.registry import exports, imports


@exports(Softmax)
def export_softmax(layer, ctx, x, key):
    return ctx.node("Softmax", [x], key, axis=layer.dim)


@exports(LogSoftmax)
def export_log_softmax(layer, ctx, x, key):
    return ctx.node("LogSoftmax", [x], key, axis=layer.dim)


@imports("Softmax", "LogSoftmax")
def import_softmax(node, ctx):
    # before opset 13 the input was flattened to 2-D from ``axis`` on (default
    # 1): one axis only when that leaves the last axis alone
    old = ctx.opset < 13
    given = ctx.attr("axis", 1 if old else -1)
    if old and (ctx.rank is None or ctx.axis(given) != ctx.rank - 1):
        raise ctx.fail(f"axis={given} over a rank-{ctx.rank} input (opset {ctx.opset}) "
                       "normalises over several axes flattened together; nnfast's Softmax "
                       "normalises over one")
    cls = Softmax if node.op_type == "Softmax" else LogSoftmax
    return [cls(dim=int(given))]
