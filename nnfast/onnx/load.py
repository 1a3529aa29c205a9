"""``nf.onnx.load``: an nnfast model built from an ONNX graph of the operators nnfast has.

The graph is read node by node in its (topological) order. Constant inputs
(initializers, ``Constant`` nodes) and the shape arithmetic that exporters
emit around a flatten (``Shape``, ``Gather``, ``Unsqueeze``, ``Concat``, ...)
are evaluated here. Every other node reads one computed tensor and becomes
nnfast layers through its importer (``nnfast.onnx.registry``), or joins
several (``Concat``, ``Add``). A graph whose output is a chain of layers from
its input loads as a ``Sequential``; one with joins (a skip connection, a
U-Net) as an ``nf.Graph`` whose nodes are those layers and joins. The first
operator without an importer is named in the error.
"""
import errno
import os

import numpy as np

from nnfast import _random
from nnfast.network import Sequential
from nnfast.onnx.export import _onnx
from nnfast.onnx.registry import FOLDERS, IMPORTERS

JOINS = ("Add", "Concat")  # the operators that join computed tensors (a Graph's Add and Concat)


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
    why = f"ONNX {node.op_type!r} is not an operator nnfast can build"
    return ctx.fail(f"{why}; nnfast builds layers from {', '.join(supported_operators())} "
                    f"(and evaluates {', '.join(folded_operators())} on constants and shapes)")


def supported_operators():
    """The ONNX operators ``load`` builds layers from (Add: a constant added
    to a Linear's or Conv's output, folded into its bias, or a join of
    computed tensors, as Concat), sorted."""
    return sorted(set(IMPORTERS) | set(JOINS))


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


class _Chain:
    """Layers applied in turn to a base tensor: the graph input or a join's output.

    A tensor is a prefix of a chain (``_TensorInfo``); a node reading a tensor
    that no other node reads goes on extending that tensor's chain, a node
    reading a tensor that several read (a fork) starts a chain of its own.
    """

    def __init__(self, base):
        self.base = base     # a tensor name
        self.layers = []
        self.handles = []    # the Graph nodes of layers[:len(handles)], once built


class _TensorInfo:
    """A data tensor: where it comes from, and its per-sample shape and rank."""

    __slots__ = ("chain", "length", "shape", "rank")

    def __init__(self, chain, length, shape, rank):
        self.chain, self.length, self.shape, self.rank = chain, length, shape, rank


def _readers(graph):
    """How many nodes (Shape apart: it reads no data) and graph outputs read each tensor."""
    count = {}
    for node in graph.node:
        if node.op_type != "Shape":
            for name in set(n for n in node.input if n):
                count[name] = count.get(name, 0) + 1
    for o in graph.output:
        count[o.name] = count.get(o.name, 0) + 1
    return count


def _select(ctx, tensors, name, readers, extend):
    """Make ``name`` the current tensor; return the chain that the layers built
    from the node reading it go on: its own chain where nothing else reads it
    and it is the chain's end, else (a fork) a new chain starting at it. An
    importer may change the layers before it (fold a bias into one, stack
    recurrent layers), so a tensor that others read is never extended."""
    info = tensors[name]
    ctx.current, ctx.shape, ctx.rank = name, info.shape, info.rank
    chain = info.chain
    if extend and not (readers.get(name, 0) == 1 and info.length == len(chain.layers)):
        chain = _Chain(name)
    ctx.layers = chain.layers
    return chain


def _join(ctx, tensors, node, data, joins):
    """A Concat or Add of computed tensors: a join node of the Graph."""
    from nnfast.layers import Add, Concat
    infos = [tensors[n] for n in data]
    ranks = {i.rank for i in infos if i.rank is not None}
    if len(ranks) > 1:
        raise ctx.fail(f"it joins tensors of ranks {sorted(ranks)}")
    rank = ranks.pop() if ranks else None
    if node.op_type == "Concat":
        if len(data) != len([n for n in node.input if n]):
            raise ctx.fail("it concatenates a computed tensor with a constant one; nnfast's Concat "
                           "joins computed tensors only")
        axis = ctx.attr("axis")
        if axis is None:
            raise ctx.fail("Concat needs its axis attribute")
        if axis < 0 and rank is None:
            raise ctx.fail(f"axis={axis} of tensors whose rank is not known")
        given, axis = axis, axis + rank if axis < 0 else axis
        if axis < 0 or (rank is not None and axis >= rank):
            raise ctx.fail(f"axis={given} is out of range for tensors of rank {rank}")
        if axis == 0:
            raise ctx.fail("it concatenates along the batch axis; nnfast's Concat joins the "
                           "samples' own axes (axis >= 1)")
        layer = Concat(dim=axis)
    else:
        layer = Add()
    shapes = [i.shape for i in infos]
    shape = None
    if all(s is not None for s in shapes):
        if node.op_type == "Add":
            if len(set(shapes)) > 1:
                raise ctx.fail(f"Add joins tensors of one shape (no broadcasting), got per-sample "
                               f"shapes {[list(s) for s in shapes]}")
            shape = shapes[0]
        else:
            try:
                shape = layer.output_shape([(1,) + s for s in shapes])[1:]
            except ValueError as e:   # Concat's own check of the shapes
                raise ctx.fail(str(e)) from None
    name = node.output[0]
    joins[name] = (layer, list(data))
    tensors[name] = _TensorInfo(_Chain(name), 0, shape, rank)


def _handle(g, tensors, joins, made, name):
    """The Graph node computing tensor ``name``, built on first use (``made``
    holds the graph input's and the joins' nodes)."""
    info = tensors[name]
    chain = info.chain
    if info.length == 0:
        base = chain.base
        if base != name:    # a node that computes nothing (Identity) after a fork
            return _handle(g, tensors, joins, made, base)
        if name not in made:
            layer, srcs = joins[name]
            made[name] = g.add(layer, *[_handle(g, tensors, joins, made, s) for s in srcs])
        return made[name]
    if not chain.handles:
        chain.handles.append(g.add(chain.layers[0], _handle(g, tensors, joins, made, chain.base)))
    while len(chain.handles) < info.length:
        chain.handles.append(g.add(chain.layers[len(chain.handles)], chain.handles[-1]))
    return chain.handles[info.length - 1]


def _line(tensors, joins, graph_input, out):
    """The layers from the graph input to ``out`` if no join is on the way, else None."""
    layers, name = [], out
    while True:
        info = tensors[name]
        layers[0:0] = info.chain.layers[:info.length]
        base = info.chain.base
        if base == graph_input:
            return layers
        if base in joins:
            return None
        name = base


def _model(tensors, joins, graph_input, out):
    """A Sequential where the output is a chain of layers from the input, else a Graph."""
    from nnfast.graph import Graph
    from nnfast.layers import Dropout
    layers = _line(tensors, joins, graph_input, out)
    if layers is not None:
        return Sequential(layers or [Dropout(0.0)])  # no layer: the identity, as a layer
    g = Graph()
    made = {graph_input: g.input("input")}
    return g.output(_handle(g, tensors, joins, made, out))


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
    graph_input = ctx.current
    tensors = {graph_input: _TensorInfo(_Chain(graph_input), 0, ctx.shape, ctx.rank)}
    joins = {}   # a join's output -> (its Concat or Add layer, the tensors it reads)
    readers = _readers(graph)
    for index, node in enumerate(graph.node):
        ctx.node, ctx.index = node, index
        names = [n for n in node.input if n]
        joined = [n for n in names if not ctx.is_value(n)]   # the computed inputs, in order
        data = list(dict.fromkeys(joined))                    # ... each once
        if node.op_type in FOLDERS and (not data or node.op_type == "Shape"):
            if data and data[0] in tensors:
                _select(ctx, tensors, data[0], readers, extend=False)
            _fold(ctx, node)
            continue
        unknown = [n for n in data if n not in tensors]
        if unknown:
            raise ctx.fail(f"it reads {unknown!r}, which no node before it computes")
        if node.op_type in JOINS and (len(joined) >= 2 or node.op_type == "Concat"):
            if len(names) == 1:   # a Concat of one tensor: that tensor
                tensors[node.output[0]] = tensors[names[0]]
            else:
                _join(ctx, tensors, node, joined, joins)
            continue
        importer = IMPORTERS.get(node.op_type)
        if importer is None:
            raise _unsupported(ctx, node)
        if not data:
            raise ctx.fail("all its inputs are constants, and nnfast does not evaluate "
                           f"{node.op_type!r} on constants")
        if len(data) > 1:
            raise ctx.fail(f"it reads {len(data)} computed tensors {data}; nnfast joins computed "
                           f"tensors with {' and '.join(sorted(JOINS))} only")
        chain = _select(ctx, tensors, data[0], readers, extend=True)
        try:
            layers = importer(node, ctx)
        except (ValueError, TypeError) as e:  # a layer's own check of what the node holds
            if str(e).startswith(f"{ctx.source}: cannot load"):
                raise
            raise ctx.fail(str(e)) from None
        _advance(ctx, layers)
        tensors[node.output[0]] = _TensorInfo(chain, len(chain.layers), ctx.shape, ctx.rank)
        ctx.current = node.output[0]
    ctx.node = ctx.index = None
    out = graph.output[0].name
    if out not in tensors:
        raise ctx.fail(f"its output {out!r} is not computed from its input")
    return _model(tensors, joins, graph_input, out).train()  # the shape runs left eval mode


def load(path):
    """Build an nnfast ``Sequential`` or ``Graph`` from an ONNX model.

    Parameters
    ----------
    path : str, os.PathLike, bytes or onnx.ModelProto
        A graph of one input and one output whose nodes each read one
        computed tensor (plus constants), or join several with ``Concat``
        or ``Add`` (of one shape: no broadcasting), of the operators in
        ``nf.onnx.SUPPORTED_OPERATORS`` (and shape arithmetic on constants,
        ``nf.onnx.FOLDED_OPERATORS``): what ``torch.onnx.export`` writes
        for an ``nn.Sequential`` of nnfast's layer kinds, or a forward that
        calls them in turn (``x.view(x.size(0), -1)`` included), and what
        ``nf.onnx.export`` writes. Recurrent models too: ONNX's RNN, LSTM
        and GRU nodes with the Transposes, Squeezes and zero initial states
        that nnfast and PyTorch write around them, and the Gather of the last
        time step (``nnfast.onnx.ops.recurrent`` says which forms and what is
        refused). Branches and joins: what ``torch.onnx.export`` writes for
        a residual block or a U-Net, and ``nf.onnx.export`` for a
        ``SkipConnection`` or ``Graph``.

    Returns
    -------
    Sequential or Graph
        A ``Sequential`` when the output is a chain of layers from the
        input, else a ``Graph`` with one input (named ``"input"``) and one
        output; a SkipConnection loads as the Graph it computes. In training mode, with the graph's weights, in the graph input's
        dtype (float32 or float64). ``nf.seed``'s random stream is left as
        it was.

    Raises
    ------
    ValueError
        For a file that is not ONNX, and for the first node nnfast cannot
        build, naming its operator and why (an operator without a layer yet,
        an attribute value nnfast lacks, a join nnfast has no layer for).
    """
    onnx = _onnx()
    proto, source = _read(path, onnx)
    state = _random.get_rng().bit_generator.state
    try:  # new layers draw initial weights that the graph's replace
        return _build(proto, source, onnx)
    finally:
        _random.get_rng().bit_generator.state = state
