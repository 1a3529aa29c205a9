"""ReLU, LeakyReLU, PReLU, Sigmoid, Tanh <-> Relu, LeakyRelu, PRelu, Sigmoid, Tanh."""
import numpy as np

from nnfast.layers import LeakyReLU, PReLU, ReLU, Sigmoid, Tanh
from nnfast.onnx.registry import exports, imports

_PLAIN = {ReLU: "Relu", Sigmoid: "Sigmoid", Tanh: "Tanh"}


def _export_plain(layer, ctx, x, key):
    return ctx.node(_PLAIN[type(layer)], [x], key)


for _cls in _PLAIN:
    exports(_cls)(_export_plain)


@imports("Relu", "Sigmoid", "Tanh")
def import_plain(node, ctx):
    return [{"Relu": ReLU, "Sigmoid": Sigmoid, "Tanh": Tanh}[node.op_type]()]


@exports(LeakyReLU)
def export_leaky_relu(layer, ctx, x, key):
    return ctx.node("LeakyRelu", [x], key, alpha=float(layer.negative_slope))


def shortest(x):
    """A float32 number (what ONNX float attributes hold) as the shortest
    decimal that rounds to it: 0.1f back as 0.1, not 0.10000000149011612."""
    return float(str(np.float32(x)))


@imports("LeakyRelu")
def import_leaky_relu(node, ctx):
    return [LeakyReLU(shortest(ctx.attr("alpha", 0.01)))]


@exports(PReLU)
def export_prelu(layer, ctx, x, key):
    # ONNX broadcasts the slope against the input's trailing axes: a
    # per-channel slope is laid out (C, 1, ..., 1) to land on axis 1
    slope = layer.weight.value
    if layer.num_parameters > 1:
        slope = slope.reshape((-1,) + (1,) * (ctx.rank(x) - 2))
    return ctx.node("PRelu", [x, ctx.initializer(key + "weight", slope)], key)


@imports("PRelu")
def import_prelu(node, ctx):
    slope = ctx.weight(ctx.input(1, "slope"), "slope")
    if slope.size == 1:
        layer = PReLU(1, dtype=ctx.dtype)
    else:
        if ctx.rank is None:
            raise ctx.fail("a per-channel slope needs the input's rank, which the graph does not give")
        channels = slope.shape[0] if slope.ndim else 1
        if slope.ndim != ctx.rank - 1 or any(d != 1 for d in slope.shape[1:]):
            raise ctx.fail(f"its slope of shape {slope.shape} is not one per channel (axis 1) of its "
                           f"rank-{ctx.rank} input; nnfast's PReLU has one slope, or one per channel")
        layer = PReLU(channels, dtype=ctx.dtype)
    layer.weight.value[...] = np.reshape(slope, -1)
    return [layer]
