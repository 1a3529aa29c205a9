"""``nf.onnx.load``: an nnfast model built from an ONNX graph of the operators nnfast has.

The graph is read node by node in its (topological) order. Constant inputs
(initializers, ``Constant`` nodes) and the shape arithmetic that exporters
emit around a flatten (``Shape``, ``Gather``, ``Unsqueeze``, ``Concat``, ...)
are evaluated here; every other node must read the output of the node before
it (a chain: what a ``Sequential`` is) and becomes nnfast layers through its
importer (``nnfast.onnx.registry``). The first operator without an importer
is named in the error.
"""
import errno
import os

import numpy as np

from nnfast import _random
from nnfast.network import Sequential
from nnfast.onnx.export import _onnx
from nnfast.onnx.registry import AWAITING_LAYERS, FOLDERS, IMPORTERS


class BatchDim:
    """The batch size in a shape being folded: known to be dynamic."""

    def __repr__(self):
        return "batch"


BATCH = BatchDim()
UNKNOWN = None  # a dimension not known when loading


class LoadContext:
    """What an importer or folder sees of the graph being read.

    Attributes
    ----------
    dtype : np.float32 or np.float64
        The graph input's type: the layers' dtype.
    opset : int
        The default domain's opset.
    shape : tuple of int or None
        The per-sample shape (without the batch axis) of the current tensor
        (the chain's output so far), None when the graph does not fix it.
    rank : int or None
        Its rank, batch axis included.
    layers : list of Layer
        The layers built so far.
    """

    def __init__(self, graph, opset, source, onnx):
        self.graph = graph
        self.opset = opset
        self.source = source
        self.onnx = onnx
        self.values = {}
        for t in graph.initializer:
            try:
                self.values[t.name] = onnx.numpy_helper.to_array(t)
            except Exception as e:   # data shorter than its dims, an unknown data type
                raise ValueError(f"{source}: cannot load the graph: its initializer {t.name!r} "
                                 f"(dims {list(t.dims)}) does not hold what its dims and data "
                                 f"type say: {e}") from None
        self.used = {name for node in graph.node for name in node.input if name}
        self.used.update(o.name for o in graph.output)
        self.layers = []
        self.node = None
        self.index = None
        self.current = None
        self.dtype = None
        self.shape = None
        self.rank = None
        self.batch_size = None  # the graph input's static batch size, if it has one

    # -- for importers and folders ---------------------------------------
    def fail(self, why):
        """A ValueError about the node being read."""
        node = self.node
        where = f"node {self.index} ({node.op_type} {node.name!r})" if node is not None else "the graph"
        return ValueError(f"{self.source}: cannot load {where}: {why}")

    def attr(self, name, default=None):
        """The node's attribute ``name`` as a Python value, or ``default``."""
        for a in self.node.attribute:
            if a.name == name:
                value = self.onnx.helper.get_attribute_value(a)
                if isinstance(value, bytes):
                    value = value.decode()
                if isinstance(value, list):
                    value = [v.decode() if isinstance(v, bytes) else v for v in value]
                return value
        return default

    def is_value(self, name):
        return name in self.values

    def value(self, name, what="input"):
        """The constant (or folded shape) named ``name``; a ValueError if it is computed
        from the data."""
        if name not in self.values:
            raise self.fail(f"its {what} {name!r} must be a constant (an initializer or a "
                            f"Constant node), but it is computed from the data")
        return self.values[name]

    def input(self, i, what="input"):
        """The node's i-th input as a constant, or None if it is absent."""
        names = self.node.input
        if i >= len(names) or not names[i]:
            return None
        return self.value(names[i], what)

    def is_used(self, name):
        """Whether any node or graph output reads the tensor ``name``."""
        return bool(name) and name in self.used

    def check_only_first_output_used(self):
        for extra in self.node.output[1:]:
            if self.is_used(extra):
                raise self.fail(f"its output {extra!r} is used, and nnfast computes only the first")

    def weight(self, array, what):
        """A float array for a layer's parameter, in the model's dtype."""
        array = np.asarray(array)
        if array.dtype.kind != "f":
            raise self.fail(f"its {what} must be a float tensor, got {array.dtype}")
        return np.ascontiguousarray(array, dtype=self.dtype)

    def axis(self, axis):
        """``axis`` made non-negative by the current rank (None if the rank is unknown
        and ``axis`` is negative)."""
        if axis >= 0:
            return axis
        return None if self.rank is None else axis + self.rank


_DTYPES = {"FLOAT": np.float32, "DOUBLE": np.float64}


def _read(source, onnx):
    """(ModelProto, a name for messages) from a path, bytes or a ModelProto."""
    if isinstance(source, onnx.ModelProto):
        return source, "the ONNX model"
    if isinstance(source, (bytes, bytearray)):
        try:
            return onnx.load_from_string(bytes(source)), "the ONNX model"
        except Exception as e:  # protobuf's DecodeError and friends
            raise ValueError(f"the bytes given are not an ONNX model: {e}") from None
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"path must be a str, os.PathLike, bytes or onnx.ModelProto, "
                        f"got {type(source).__name__}")
    name = os.fspath(source)
    if not os.path.exists(name):
        raise FileNotFoundError(errno.ENOENT, f"ONNX file {name!r} does not exist", name)
    if not os.path.isfile(name):
        raise ValueError(f"path {name!r} is not a regular file (an ONNX model file)")
    try:
        return onnx.load(name), repr(name)
    except Exception as e:
        raise ValueError(f"{name!r} is not a readable ONNX model: {e}") from None


def _default_opset(proto):
    for op in proto.opset_import:
        if op.domain in ("", "ai.onnx"):
            return op.version
    return 1


def _data_input(ctx, graph, onnx):
    """The graph's one data input (not an initializer): sets dtype, shape, rank."""
    inputs = [i for i in graph.input if i.name not in ctx.values]
    if len(inputs) != 1:
        raise ctx.fail(f"an nnfast model has one input, the graph has {len(inputs)}: "
                       f"{[i.name for i in inputs]}")
    value = inputs[0]
    tensor = value.type.tensor_type
    elem = onnx.TensorProto.DataType.Name(tensor.elem_type)
    if elem not in _DTYPES:
        raise ctx.fail(f"its input {value.name!r} is {elem}; nnfast loads FLOAT or DOUBLE models")
    ctx.dtype = _DTYPES[elem]
    ctx.current = value.name
    if tensor.HasField("shape"):
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        ctx.rank = len(dims)
        if dims and all(d is not None for d in dims[1:]):
            ctx.shape = tuple(dims[1:])
        if dims and dims[0] is not None:
            ctx.batch_size = dims[0]


def _fold(ctx, node):
    outputs = FOLDERS[node.op_type](node, ctx)
    for name, value in zip(node.output, outputs):
        if name:
            ctx.values[name] = value


def _unsupported(ctx, node):
    awaiting = AWAITING_LAYERS.get(node.op_type)
    if awaiting is not None:
        why = f"nnfast has no layer for ONNX {node.op_type!r} yet (it needs {awaiting})"
    else:
        why = f"ONNX {node.op_type!r} is not an operator nnfast can build"
    return ctx.fail(f"{why}; nnfast builds layers from {', '.join(supported_operators())} "
                    f"(and evaluates {', '.join(folded_operators())} on constants and shapes)")


def supported_operators():
    """The ONNX operators ``load`` builds layers from (Add: a constant added
    to a Linear's or Conv's output, folded into its bias), sorted."""
    return sorted(IMPORTERS)


def folded_operators():
    """The ONNX operators ``load`` evaluates when their inputs are constants
    or the current tensor's shape (Shape), sorted."""
    return sorted(set(FOLDERS) - set(IMPORTERS))


def _advance(ctx, layers):
    """Append ``layers`` and work out the new current shape (running them on
    one sample of zeros: any mismatch is the layers' own error)."""
    ctx.layers.extend(layers)
    if not layers:
        return
    if ctx.shape is not None:
        x = np.zeros((1,) + ctx.shape, ctx.dtype)
        try:
            for layer in layers:
                layer.eval()
                x = layer.forward(x)
        except ValueError as e:
            raise ctx.fail(f"the layers built from it do not take its input of shape "
                           f"(batch, {', '.join(map(str, ctx.shape))}): {e}") from None
        ctx.shape = tuple(x.shape[1:])
        ctx.rank = x.ndim
    elif ctx.rank is not None:
        from nnfast.layers import Flatten, Linear
        if any(isinstance(layer, (Flatten, Linear)) for layer in layers):
            ctx.rank = 2


def _build(proto, source, onnx):
    graph = proto.graph
    ctx = LoadContext(graph, _default_opset(proto), source, onnx)
    for op in proto.opset_import:
        if op.domain not in ("", "ai.onnx"):
            if any(n.domain == op.domain for n in graph.node):
                raise ctx.fail(f"it uses operators of the domain {op.domain!r}; nnfast loads the "
                               "default ONNX domain only")
    _data_input(ctx, graph, onnx)
    if len(graph.output) != 1:
        raise ctx.fail(f"an nnfast model has one output, the graph has {len(graph.output)}")
    for index, node in enumerate(graph.node):
        ctx.node, ctx.index = node, index
        names = [n for n in node.input if n]
        data = [n for n in names if not ctx.is_value(n)]
        if node.op_type in FOLDERS and (not data or node.op_type == "Shape"):
            _fold(ctx, node)
            continue
        importer = IMPORTERS.get(node.op_type)
        if importer is None:
            raise _unsupported(ctx, node)
        if not data:
            raise ctx.fail("all its inputs are constants, and nnfast does not evaluate "
                           f"{node.op_type!r} on constants")
        if data != [ctx.current]:
            if len(data) > 1 and node.op_type in AWAITING_LAYERS:
                raise _unsupported(ctx, node)
            raise ctx.fail(f"it reads {data}, not just the output of the layers before it "
                           f"({ctx.current!r}): the graph is not a chain of layers, and nnfast "
                           "loads chains (a Sequential) only")
        try:
            layers = importer(node, ctx)
        except (ValueError, TypeError) as e:  # a layer's own check of what the node holds
            if str(e).startswith(f"{ctx.source}: cannot load"):
                raise
            raise ctx.fail(str(e)) from None
        _advance(ctx, layers)
        ctx.current = node.output[0]
    ctx.node = ctx.index = None
    out = graph.output[0].name
    if out != ctx.current:
        raise ctx.fail(f"its output {out!r} is not the end of the chain of layers ({ctx.current!r})")
    if not ctx.layers:
        from nnfast.layers import Dropout
        ctx.layers.append(Dropout(0.0))  # the identity, as a layer
    return Sequential(ctx.layers).train()  # the shape runs left the layers in eval mode


def load(path):
    """Build an nnfast ``Sequential`` from an ONNX model.

    Parameters
    ----------
    path : str, os.PathLike, bytes or onnx.ModelProto
        A graph whose nodes form a chain (each reading the previous one's
        output, plus constants) of the operators in
        ``nf.onnx.SUPPORTED_OPERATORS`` (and shape arithmetic on constants,
        ``nf.onnx.FOLDED_OPERATORS``): what ``torch.onnx.export`` writes
        for an ``nn.Sequential`` of nnfast's layer kinds, or a forward that
        calls them in turn (``x.view(x.size(0), -1)`` included), and what
        ``nf.onnx.export`` writes. Recurrent models too: ONNX's RNN, LSTM
        and GRU nodes with the Transposes, Squeezes and zero initial states
        that nnfast and PyTorch write around them, and the Gather of the last
        time step (``nnfast.onnx.ops.recurrent`` says which forms and what is
        refused).

    Returns
    -------
    Sequential
        In training mode, with the graph's weights, in the graph input's
        dtype (float32 or float64). ``nf.seed``'s random stream is left as
        it was.

    Raises
    ------
    ValueError
        For a file that is not ONNX, and for the first node nnfast cannot
        build, naming its operator and why (an operator without a layer yet,
        an attribute value nnfast lacks, a branching graph).
    """
    onnx = _onnx()
    proto, source = _read(path, onnx)
    state = _random.get_rng().bit_generator.state
    try:  # new layers draw initial weights that the graph's replace
        return _build(proto, source, onnx)
    finally:
        _random.get_rng().bit_generator.state = state
