"""One module per layer family, each registering its exporter and importer
(and the folders of the shape arithmetic) in ``nnfast.onnx.registry``."""
from nnfast.onnx.ops import (activations, arithmetic, batchnorm, conv, dropout, linear,  # noqa: F401
                             pooling, sequential, shape, softmax)
from nnfast.onnx.ops import conv_transpose  # noqa: F401
from nnfast.onnx.ops import upsample  # noqa: F401
from nnfast.onnx.ops import global_pool  # noqa: F401
from nnfast.onnx.ops import graph  # noqa: F401
from nnfast.onnx.ops import recurrent  # noqa: F401,E402  (after shape: it wraps shape's Slice folder)
