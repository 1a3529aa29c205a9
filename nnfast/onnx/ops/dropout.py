"""Dropout <-> Dropout (the identity at inference)."""
import numpy as np

from nnfast.layers import Dropout
from nnfast.onnx.ops.activations import shortest
from nnfast.onnx.registry import exports, imports


@exports(Dropout)
def export_dropout(layer, ctx, x, key):
    ratio = ctx.initializer(key + "ratio", np.array(layer.p), dtype=np.float32)
    return ctx.node("Dropout", [x, ratio], key)


@imports("Dropout")
def import_dropout(node, ctx):
    ctx.check_only_first_output_used()
    ratio = ctx.input(1, "ratio")
    ratio = ctx.attr("ratio", 0.5) if ratio is None else float(np.asarray(ratio))
    training = ctx.input(2, "training_mode")
    if training is not None and bool(np.asarray(training)):
        raise ctx.fail("training_mode=True (dropout at inference) has no nnfast layer")
    return [Dropout(shortest(ratio))]
