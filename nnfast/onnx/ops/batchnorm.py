"""BatchNorm1D / BatchNorm2D <-> BatchNormalization (inference form: the
running statistics; ONNX's momentum is 1 - torch's)."""
import numpy as np

from nnfast.layers import BatchNorm1D, BatchNorm2D
from nnfast.onnx.registry import exports, imports


def export_batchnorm(layer, ctx, x, key):
    if not layer.track_running_stats:
        raise TypeError(f"cannot export {type(layer).__name__} (at {key.rstrip('.')}) with "
                        "track_running_stats=False to ONNX: its inference uses batch statistics, "
                        "which ONNX's BatchNormalization has no form for")
    c = layer.num_features
    scale = layer.weight.value if layer.affine else np.ones(c)
    bias = layer.bias.value if layer.affine else np.zeros(c)
    inputs = [x, ctx.initializer(key + "weight", scale), ctx.initializer(key + "bias", bias),
              ctx.initializer(key + "running_mean", layer.running_mean),
              ctx.initializer(key + "running_var", layer.running_var)]
    momentum = 0.9 if layer.momentum is None else 1.0 - layer.momentum
    return ctx.node("BatchNormalization", inputs, key, epsilon=float(layer.eps),
                    momentum=float(momentum))


exports(BatchNorm1D)(export_batchnorm)
exports(BatchNorm2D)(export_batchnorm)


@imports("BatchNormalization")
def import_batchnorm(node, ctx):
    ctx.check_only_first_output_used()
    if ctx.attr("training_mode", 0):
        raise ctx.fail("training_mode=1 has no nnfast inference layer")
    scale = ctx.weight(ctx.input(1, "scale"), "scale")
    bias = ctx.weight(ctx.input(2, "bias B"), "bias B")
    mean = ctx.weight(ctx.input(3, "input_mean"), "input_mean")
    var = ctx.weight(ctx.input(4, "input_var"), "input_var")
    if ctx.shape is None:
        raise ctx.fail("the input's rank is unknown (BatchNorm1D or BatchNorm2D?)")
    rank = len(ctx.shape) + 1
    if rank not in (2, 3, 4):
        raise ctx.fail(f"its input has rank {rank}; nnfast has BatchNorm1D (rank 2, 3) and "
                       "BatchNorm2D (rank 4)")
    cls = BatchNorm2D if rank == 4 else BatchNorm1D
    layer = cls(scale.shape[0], eps=float(ctx.attr("epsilon", 1e-5)),
                momentum=1.0 - float(ctx.attr("momentum", 0.9)), dtype=ctx.dtype)
    layer.weight.value[...] = scale
    layer.bias.value[...] = bias
    layer.running_mean = mean
    layer.running_var = var
    return [layer]
