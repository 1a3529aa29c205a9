"""``nf.onnx.export``: an nnfast model as an ONNX graph with a dynamic batch size."""
import numbers
import os

import numpy as np

from nnfast._inference import inference_mode
from nnfast._validation import check_allocation

from nnfast.layers.base import Layer
from nnfast.onnx.registry import EXPORTERS

MIN_OPSET = 13  # Softmax over one axis (13), Dropout's ratio as an input (12)


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("nf.onnx needs the onnx package: pip install nnfast[onnx] "
                          "(or pip install onnx)") from None
    return onnx


def _model_dtype(model):
    params = model.parameters()
    return params[0].value.dtype.type if params else np.float32


def check_input_shape(input_shape):
    """``input_shape`` (one sample's shape, without the batch axis) as a tuple of ints >= 1."""
    if isinstance(input_shape, numbers.Integral) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise TypeError(f"input_shape must be a tuple of ints (one sample's shape, without the "
                        f"batch axis, e.g. (1, 28, 28)), got {type(input_shape).__name__}") from None
    if not shape or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1
                            for d in shape):
        raise ValueError(f"input_shape must be a non-empty tuple of ints >= 1 (one sample's shape, "
                         f"without the batch axis, e.g. (1, 28, 28)), got {input_shape!r}")
    return tuple(int(d) for d in shape)


class ExportContext:
    """The graph being built: nodes, initializers, and each tensor's shape.

    Shapes are per sample (without the batch axis), worked out by running
    each layer on one sample of zeros: nnfast's own shape rules, so the
    exported graph cannot disagree with them.
    """

    def __init__(self, dtype, opset):
        onnx = _onnx()
        self.onnx = onnx
        self.dtype = np.dtype(dtype).type
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.shapes = {}
        self._names = set()

    def _unique(self, name):
        base, i = name, 0
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def initializer(self, name, array, dtype=None):
        """Add a constant tensor (cast to the model's dtype unless ``dtype``
        is given); returns its name."""
        array = np.array(array, dtype=self.dtype if dtype is None else dtype, order="C")  # 0-d stays 0-d
        name = self._unique(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op_type, inputs, key, **attributes):
        """Add one node reading ``inputs``; returns its (first) output's name,
        ``/<key path>/<op_type>_output_0`` as PyTorch's exporter names them."""
        scope = "/" + key.rstrip(".").replace(".", "/") if key else ""
        out = self._unique(f"{scope}/{op_type}_output_0")
        name = self._unique(f"{scope}/{op_type}")
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], name=name,
                                                     **attributes))
        return out

    def export(self, layer, x, key):
        """Add ``layer`` computed on tensor ``x``; returns the output's name."""
        exporter = EXPORTERS.get(type(layer))
        if exporter is None:
            known = sorted(cls.__name__ for cls in EXPORTERS)
            raise TypeError(f"model: cannot export {type(layer).__module__}.{type(layer).__name__} "
                            f"(at {key.rstrip('.') or 'the top'}) to ONNX: no converter for it "
                            f"(nnfast exports {', '.join(known)})")
        out = exporter(layer, self, x, key)
        if out not in self.shapes:
            # inference mode: a shape probe must not update running statistics
            # (nor trip BatchNorm's one-sample check in training)
            with inference_mode():
                probe = layer.forward(np.zeros((1,) + self.shapes[x], self.dtype))
            self.shapes[out] = tuple(probe.shape[1:])
        return out

    def rank(self, name):
        """The rank of tensor ``name``, batch axis included."""
        return len(self.shapes[name]) + 1


def build(model, input_shape, opset=17, input_name="input", output_name="output"):
    """The ONNX ModelProto of ``model`` (see ``export``), checked."""
    onnx = _onnx()
    if not isinstance(model, Layer):
        raise TypeError(f"model must be an nnfast Sequential or Layer, got {type(model).__name__}")
    shape = check_input_shape(input_shape)
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, numbers.Integral) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be an int from {MIN_OPSET} to {newest} (this onnx package's newest), "
                         f"got {opset!r}")
    for arg, value in (("input_name", input_name), ("output_name", output_name)):
        if not isinstance(value, str) or not value:
            raise TypeError(f"{arg} must be a non-empty str, got {value!r}")
    if input_name == output_name:
        raise ValueError(f"input_name and output_name must differ, both are {input_name!r}")
    dtype = _model_dtype(model)
    check_allocation((1,) + shape, dtype, "input_shape")
    was_training = model.training
    model.eval()
    try:
        try:
            model.forward(np.zeros((1,) + shape, dtype))
        except ValueError as e:
            raise ValueError(f"input_shape {shape} does not fit the model (one sample of that "
                             f"shape, without the batch axis, is what it must take): {e}") from None
        ctx = ExportContext(dtype, int(opset))
        ctx._names.add(input_name)
        ctx.shapes[input_name] = shape
        out = ctx.export(model, input_name, "")
    finally:
        model.train(was_training)
    out_shape = ctx.shapes[out]
    if out == input_name:  # a model that computes nothing
        out = ctx.node("Identity", [input_name], "")
    for node in ctx.nodes:  # name the result as the caller asked
        node.output[:] = [output_name if o == out else o for o in node.output]
        node.input[:] = [output_name if i == out else i for i in node.input]
    in_dims, out_dims = ["batch", *shape], ["batch", *out_shape]
    from nnfast.onnx.ops.recurrent import dynamic_sequence_axes
    in_seq, out_seq = dynamic_sequence_axes(model)
    if in_seq:  # (batch, seq_len, features) through recurrent layers: any seq_len
        in_dims[1] = "sequence"
    if out_seq:
        out_dims[1] = "sequence"
    helper = onnx.helper
    graph = helper.make_graph(
        ctx.nodes, type(model).__name__,
        [helper.make_tensor_value_info(input_name, ctx.elem_type, in_dims)],
        [helper.make_tensor_value_info(output_name, ctx.elem_type, out_dims)],
        initializer=ctx.initializers)
    opset_id = helper.make_opsetid("", int(opset))
    proto = helper.make_model(graph, opset_imports=[opset_id], producer_name="nnfast")
    # the oldest IR version that knows the opset: readable by older runtimes
    proto.ir_version = helper.find_min_ir_version_for([opset_id])
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(model, path, input_shape, opset=17, input_name="input", output_name="output"):
    """Write ``model`` to ``path`` as an ONNX model with a dynamic batch size.

    Parameters
    ----------
    model : Sequential or Layer
        Evaluated as in eval mode (Dropout the identity); its train/eval mode
        is left as it was.
    path : str or os.PathLike
    input_shape : tuple of int
        One sample's shape, without the batch axis: ``(784,)``, ``(1, 28, 28)``,
        ``(seq_len, features)``. The batch axis is exported as the dynamic
        dimension ``"batch"``; the seq_len of a model that starts with a
        recurrent layer (RNN, LSTM, GRU, followed by activations and more
        recurrent layers up to a LastStep or the end) as ``"sequence"``.
        A recurrent layer's graph reads ``x`` only: it starts from a zero
        state and runs every sequence to its full length (``forward``'s
        ``h0`` and ``lengths`` are arguments of a call, not of the model).
    opset : int, default 17
        The ONNX opset (13 or newer).
    input_name, output_name : str
        The graph's input and output names.

    Returns
    -------
    onnx.ModelProto
        The model written (checked by ``onnx.checker`` with shape inference).
        Weights are named by their state-dict keys (``"0.weight"``), as
        ``torch.onnx.export`` names them.

    Raises
    ------
    TypeError
        For a layer without an ONNX converter (the message lists those that have one).
    ValueError
        If ``input_shape`` does not fit the model, or for a bad ``opset``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    proto = build(model, input_shape, opset, input_name, output_name)
    _onnx().save_model(proto, os.fspath(path))
    return proto
