"""Linear <-> Gemm (weight transposed: transB=1), and MatMul (weight (in, out))."""
import numpy as np

from nnfast.layers import Linear
from nnfast.onnx.registry import exports, imports


@exports(Linear)
def export_linear(layer, ctx, x, key):
    w = ctx.initializer(key + "weight", layer.weight.value)
    # bias=False: ONNX's bias input is optional
    inputs = [x, w] if layer.bias is None else [x, w, ctx.initializer(key + "bias", layer.bias.value)]
    return ctx.node("Gemm", inputs, key, alpha=1.0, beta=1.0, transB=1)


def linear_from(ctx, weight, bias):
    """A Linear holding ``weight`` (out_features, in_features) and ``bias`` (out_features,)."""
    out_features, in_features = weight.shape
    layer = Linear(in_features, out_features, dtype=ctx.dtype)
    layer.weight.value[...] = weight
    layer.bias.value[...] = bias
    return layer


def _check_2d_input(ctx):
    if ctx.rank is not None and ctx.rank != 2:
        raise ctx.fail(f"its input has rank {ctx.rank}; nnfast's Linear takes (batch, features): "
                       "flatten first")


@imports("Gemm")
def import_gemm(node, ctx):
    if ctx.attr("transA", 0):
        raise ctx.fail("transA=1 (the data transposed) has no nnfast layer")
    _check_2d_input(ctx)
    b = ctx.weight(ctx.input(1, "weight B"), "weight B")
    if b.ndim != 2:
        raise ctx.fail(f"its weight B must be 2-D, got shape {b.shape}")
    weight = (b if ctx.attr("transB", 0) else b.T) * ctx.attr("alpha", 1.0)
    bias = np.zeros(weight.shape[0], ctx.dtype)
    c = ctx.input(2, "bias C")
    if c is not None:
        c = ctx.weight(c, "bias C") * ctx.attr("beta", 1.0)
        if c.ndim > 2 or (c.ndim == 2 and c.shape[0] != 1) or c.size not in (1, weight.shape[0]):
            raise ctx.fail(f"its bias C has shape {c.shape}; nnfast's Linear adds one bias per output, "
                           f"shape ({weight.shape[0]},)")
        bias[...] = c.reshape(-1)
    return [linear_from(ctx, weight, bias)]


@imports("MatMul")
def import_matmul(node, ctx):
    if node.input[0] != ctx.current:
        raise ctx.fail("the data must be MatMul's first input (x @ W)")
    _check_2d_input(ctx)
    b = ctx.weight(ctx.input(1, "weight"), "weight")
    if b.ndim != 2:
        raise ctx.fail(f"its weight must be 2-D (in_features, out_features), got shape {b.shape}")
    # a following Add of a constant becomes the bias (nnfast.onnx.ops.arithmetic)
    return [linear_from(ctx, b.T, np.zeros(b.shape[1], ctx.dtype))]
