"""SkipConnection, Graph and their joins (Concat, Add): ONNX ``Concat`` and
``Add`` nodes reading two or more tensors."""
import numpy as np

from nnfast._inference import inference_mode
from nnfast.graph import Graph
from nnfast.layers import Add, Concat, SkipConnection
from nnfast.onnx.registry import EXPORTERS, exports


@exports(Concat)
def export_concat(layer, ctx, inputs, key):
    """``inputs``: the names of the tensors joined (a list: called by the
    Graph exporter, not by ``ctx.export``, which passes one tensor)."""
    return ctx.node("Concat", list(inputs), key, axis=layer.dim)


@exports(Add)
def export_add(layer, ctx, inputs, key):
    out = ctx.node("Add", list(inputs[:2]), key)
    for name in inputs[2:]:
        out = ctx.node("Add", [out, name], key)
    return out


@exports(SkipConnection)
def export_skip_connection(layer, ctx, x, key):
    y = ctx.export(layer.inner, x, f"{key}submodule.")
    if layer.mode == "add":
        return ctx.node("Add", [x, y], key)
    return ctx.node("Concat", [x, y], key, axis=layer.dim)


@exports(Graph)
def export_graph(layer, ctx, x, key):
    if len(layer.input_nodes) != 1 or len(layer.output_nodes) != 1:
        raise TypeError(f"model: a Graph of {len(layer.input_nodes)} inputs and "
                        f"{len(layer.output_nodes)} outputs cannot be exported (nnfast exports "
                        "graphs of one input and one output)")
    names = {layer.input_nodes[0].index: x}
    for node in layer.layer_nodes:
        sub_key = f"{key}{node.name}."
        srcs = [names[s.index] for s in node.inputs]
        if getattr(node.layer, "n_inputs", 1) is None:
            out = EXPORTERS[type(node.layer)](node.layer, ctx, srcs, sub_key)
            with inference_mode():
                probe = node.layer.forward(*[np.zeros((1,) + ctx.shapes[s], ctx.dtype) for s in srcs])
            ctx.shapes[out] = tuple(probe.shape[1:])
        else:
            out = ctx.export(node.layer, srcs[0], sub_key)
        names[node.index] = out
    return names[layer.output_nodes[0].index]
