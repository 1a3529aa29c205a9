"""One module per layer family, each registering its exporter and importer
(and the folders of the shape arithmetic) in ``nnfast.onnx.registry``."""
from nnfast.onnx.ops import (activations, arithmetic, conv, dropout, linear, pooling,  # noqa: F401
                             sequential, shape, softmax)
