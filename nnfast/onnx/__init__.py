"""ONNX in and out: ``nf.onnx.export(model, path, input_shape)`` and
``nf.onnx.load(path)``.

Needs the ``onnx`` package (``pip install nnfast[onnx]``), imported only when
a function here runs. Each layer kind has one exporter and one importer in
``nnfast/onnx/ops/`` (see ``nnfast.onnx.registry``).

``SUPPORTED_OPERATORS`` lists the ONNX operators ``load`` builds layers from
(RNN, LSTM and GRU among them, with the Transpose, Squeeze, Reshape and the
Gather/Slice of the last time step around them: ``nnfast.onnx.ops.recurrent``),
``FOLDED_OPERATORS`` those it evaluates on constants and shapes only, and
``EXPORTED_LAYERS`` the nnfast layers ``export`` writes.
"""
from nnfast.onnx import ops  # noqa: F401  (registers the converters)
from nnfast.onnx.export import build, export
from nnfast.onnx.load import folded_operators, load, supported_operators
from nnfast.onnx.registry import EXPORTERS, IMPORTERS

SUPPORTED_OPERATORS = tuple(supported_operators())
FOLDED_OPERATORS = tuple(folded_operators())
EXPORTED_LAYERS = tuple(sorted(cls.__name__ for cls in EXPORTERS))

__all__ = ["export", "load", "build", "SUPPORTED_OPERATORS", "FOLDED_OPERATORS", "EXPORTED_LAYERS"]
