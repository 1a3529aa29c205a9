"""Sequential: its layers' nodes, one after the other."""
from nnfast.network import Sequential
from nnfast.onnx.registry import exports


@exports(Sequential)
def export_sequential(layer, ctx, x, key):
    for i, sub in enumerate(layer.layers):
        x = ctx.export(sub, x, f"{key}{i}.")
    return x
