"""Softmax, LogSoftmax <-> Softmax, LogSoftmax over one axis (opset 13's
meaning of ``axis``: that axis alone, as the layers' ``dim``);
CumulativeSoftmax <-> Softmax then CumSum over the same axis."""
import numpy as np

from nnfast.layers import CumulativeSoftmax, LogSoftmax, Softmax
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


@exports(CumulativeSoftmax)
def export_cumulative_softmax(layer, ctx, x, key):
    probs = ctx.node("Softmax", [x], key, axis=layer.dim)
    axis = ctx.initializer(key + "cumsum_axis", layer.dim, dtype=np.int64)
    return ctx.node("CumSum", [probs, axis], key)


@imports("CumSum")
def import_cumulative_sum(node, ctx):
    # nnfast has a running sum only as the second half of CumulativeSoftmax:
    # a CumSum loads when it directly follows a Softmax over the same axis
    axis = ctx.input(1, "axis")
    if axis is None or np.ndim(axis) > 1 or np.size(axis) != 1 or np.asarray(axis).dtype.kind not in "iu":
        raise ctx.fail(f"its axis must be one constant integer, got {axis!r}")
    axis = int(np.asarray(axis).reshape(()))
    if ctx.attr("exclusive", 0) or ctx.attr("reverse", 0):
        raise ctx.fail("an exclusive or reverse running sum has no nnfast layer (CumulativeSoftmax "
                       "sums forwards, inclusively)")
    last = ctx.layers[-1] if ctx.layers else None
    if type(last) is not Softmax or ctx.axis(last.dim) is None or ctx.axis(last.dim) != ctx.axis(axis):
        raise ctx.fail(f"a CumSum over axis {axis} loads only straight after a Softmax over the "
                       "same axis (as nnfast's CumulativeSoftmax exports); here it follows "
                       f"{type(last).__name__ if last is not None else 'the graph input'}")
    ctx.layers[-1] = CumulativeSoftmax(dim=last.dim)
    return []
