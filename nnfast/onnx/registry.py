"""The converters between nnfast layers and ONNX operators: one small function each way.

An *exporter* ``f(layer, ctx, x, key) -> str`` adds to the graph being built
(``ctx``, an ``nnfast.onnx.export.ExportContext``) the nodes that compute
``layer`` on the tensor named ``x``, and returns the name of their output;
``key`` is the layer's state-dict prefix (``"3."``), used to name its weights
as PyTorch's exporter does (``"3.weight"``).

An *importer* ``f(node, ctx) -> list of Layer`` turns one ONNX node, whose
first input is the output of the layers built so far, into nnfast layers
(``ctx``, an ``nnfast.onnx.load.LoadContext``, gives its attributes and
constant inputs); it returns ``[]`` for a node that computes nothing at
inference (Identity).

A *folder* ``f(node, ctx) -> list of values`` evaluates a node whose inputs are
all constants or shapes (the ``Shape -> Gather -> Concat -> Reshape`` chain
that ``x.view(x.size(0), -1)`` exports), so that no layer is needed for it.

A new layer kind adds one exporter and one importer (in ``nnfast/onnx/ops/``).
"""
EXPORTERS = {}   # layer class -> exporter
IMPORTERS = {}   # ONNX op_type -> importer
FOLDERS = {}     # ONNX op_type -> folder

def exports(layer_class):
    """Register ``f`` as the exporter of ``layer_class`` (exactly that class:
    a subclass may compute something else)."""
    def register(f):
        EXPORTERS[layer_class] = f
        return f
    return register


def _by_op_types(table, role):
    """A decorator factory: ``@decorator(*op_types)`` puts ``f`` in ``table``
    under each ONNX operator in op_types."""
    def decorator(*op_types):
        def register(f):
            for op in op_types:
                table[op] = f
            return f
        return register
    decorator.__doc__ = f"Register ``f`` as the {role} of the ONNX operators ``op_types``."
    return decorator


imports = _by_op_types(IMPORTERS, "importer")
folds = _by_op_types(FOLDERS, "folder")
