"""RNN, LSTM, GRU <-> ONNX RNN, LSTM, GRU; LastStep <-> Gather of the last time step.

nnfast's recurrent layers are batch-first and PyTorch's: gates i, f, g, o
(LSTM) and r, z, n (GRU), two biases per layer. ONNX's take the time axis
first (``layout=0``, the form every runtime implements), gates i, o, f, c and
z, r, h, and one bias input ``B = concat(W_b, R_b)``. So a layer exports as

    Transpose(perm=[1, 0, 2])                     (N, T, I) -> (T, N, I)
    LSTM(hidden_size=H) -> Squeeze(axes=[1])      per layer: Y (T, 1, N, H) -> (T, N, H)
    ...                                           num_layers > 1: one op per layer
    Transpose(perm=[1, 0, 2])                     (T, N, H) -> (N, T, H)

with the weight blocks reordered, GRU with ``linear_before_reset=1`` (what
PyTorch's and nnfast's GRU compute), no initial state input (zeros) and no
``sequence_lens``: the graph takes ``x`` only. ``forward``'s ``h0`` and
``lengths`` are arguments of a call, not part of the model.

``load`` reads that form, PyTorch's (``torch.onnx.export`` of a batch-first
``nn.LSTM``/``nn.GRU``/``nn.RNN``: the same ops, plus a zero initial state
built as ``ConstantOfShape`` of the batch size, sliced per layer), and
``layout=1`` nodes (batch first, no Transposes). Consecutive ONNX layers of
one kind become one nnfast layer with ``num_layers`` > 1. What nnfast cannot
compute is refused, naming the attribute or input: ``direction`` other than
forward, ``clip``, activations other than the defaults (RNN: Tanh or Relu),
``activation_alpha``/``_beta``, LSTM's ``input_forget`` and peepholes ``P``,
GRU's ``linear_before_reset=0``, a ``sequence_lens`` input, a non-zero
initial state, and a use of the outputs ``Y_h``/``Y_c``.
"""
import numpy as np

from nnfast.layers import GRU, LSTM, RNN, LastStep
from nnfast.layers import Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from nnfast.onnx.load import BATCH
from nnfast.onnx.ops import shape as shape_ops
from nnfast.onnx.registry import exports, folds, imports

# ONNX's gate blocks, each as the index of nnfast's (PyTorch's) block
_TO_ONNX = {LSTM: (0, 3, 1, 2),   # i, o, f, c from i, f, g, o
            GRU: (1, 0, 2),       # z, r, h from r, z, n
            RNN: (0,)}
_FROM_ONNX = {LSTM: (0, 2, 3, 1), GRU: (1, 0, 2), RNN: (0,)}
_OP = {RNN: "RNN", LSTM: "LSTM", GRU: "GRU"}
_CLASS = {op: cls for cls, op in _OP.items()}
_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}
_RNN_ACTIVATIONS = {"Tanh": "tanh", "Relu": "relu"}
_SWAP = [1, 0, 2]  # (N, T, F) <-> (T, N, F)


def _blocks(array, order, hidden):
    """``array``'s gate blocks of ``hidden`` rows along axis 0, in ``order``."""
    return np.concatenate([array[k * hidden:(k + 1) * hidden] for k in order], axis=0)


# -- export ---------------------------------------------------------------------
def _export_recurrent(layer, ctx, x, key):
    """The recurrent ``layer`` on the batch-first tensor ``x``: the graph reads
    ``x`` only (zero initial state, every sequence its full length)."""
    cls, H = type(layer), layer.hidden_size
    order = _TO_ONNX[cls]
    attributes = {"hidden_size": H}
    if cls is RNN:
        attributes["activations"] = ["Relu" if layer.nonlinearity == "relu" else "Tanh"]
    elif cls is GRU:
        attributes["linear_before_reset"] = 1
    squeeze_axes = ctx.initializer(key + "num_directions_axis", [1], dtype=np.int64)
    seq = ctx.node("Transpose", [x], key, perm=_SWAP)
    for k in range(layer.num_layers):
        w_ih, w_hh, b_ih, b_hh = (getattr(layer, f"{name}_l{k}").value
                                  for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        # ONNX's (num_directions, gates*hidden, .) with its gate order
        W = ctx.initializer(f"{key}W_l{k}", _blocks(w_ih, order, H)[None])
        R = ctx.initializer(f"{key}R_l{k}", _blocks(w_hh, order, H)[None])
        B = ctx.initializer(f"{key}B_l{k}", np.concatenate([_blocks(b_ih, order, H),
                                                           _blocks(b_hh, order, H)])[None])
        y = ctx.node(_OP[cls], [seq, W, R, B], key, **attributes)   # (T, 1, N, H)
        seq = ctx.node("Squeeze", [y, squeeze_axes], key)            # (T, N, H)
    return ctx.node("Transpose", [seq], key, perm=_SWAP)


for _cls in _OP:
    exports(_cls)(_export_recurrent)


@exports(LastStep)
def export_last_step(layer, ctx, x, key):
    """``x[:, -1]``: a Gather of index -1 (a scalar: the axis goes) along axis 1."""
    return ctx.node("Gather", [x, ctx.initializer(key + "last_index", -1, dtype=np.int64)], key,
                    axis=1)


# Layers that take (batch, seq_len, features) of any seq_len and keep the axis:
# a model made of them (up to a LastStep) exports with a dynamic seq_len.
_ANY_LENGTH = (RNN, LSTM, GRU, ReLU, Sigmoid, Tanh, LeakyReLU, Dropout)


def dynamic_sequence_axes(model):
    """(input's seq_len axis is dynamic, output's is) for ``model``: True when
    the model starts with a recurrent layer and every layer up to the first
    LastStep (or the end) takes any seq_len."""
    from nnfast.network import Sequential
    layers = list(model.layers) if type(model) is Sequential else [model]
    if not layers or type(layers[0]) not in _OP:
        return False, False
    for layer in layers:
        if type(layer) is LastStep:
            return True, False
        if type(layer) not in _ANY_LENGTH:
            return False, False
    return True, True


# -- load: the state between the ONNX nodes of one recurrent stack ---------------
class _SequenceLayout:
    """Where the loaded chain's tensor differs from nnfast's batch-first view
    of it: time-major (between the two Transposes), and an axis of size 1
    still to be squeezed (num_directions after a recurrent node, the time
    axis after a Slice of the last step)."""

    def __init__(self):
        self.time_major = False
        self.squeeze_axis = None   # in the ONNX tensor's axes, non-negative
        self.squeeze_rank = None   # that tensor's rank
        self.squeezed_what = None  # what it is, for messages
        # torch's dynamo exporter: Y (T, 1, N, H) -> Transpose(perm=[0, 2, 1, 3])
        # (T, N, 1, H) -> Reshape to (T, N, H); True between the two
        self.merge_pending = False
        self.stack = None          # the recurrent layer the chain ends with, to stack onto


def _layout(ctx):
    return ctx.__dict__.setdefault("_sequence_layout", _SequenceLayout())


def _consumers(ctx, name):
    """The nodes after the current one that read ``name``."""
    return [n for n in ctx.graph.node[ctx.index + 1:] if name in n.input]


def _is_graph_output(ctx, name):
    return any(o.name == name for o in ctx.graph.output)


def _check_squeezed_next(ctx, name, axis, rank, what):
    """The one reader of ``name`` must be a Squeeze (whose axes ``import_squeeze`` checks)."""
    layout = _layout(ctx)
    layout.squeeze_axis, layout.squeeze_rank, layout.squeezed_what = axis, rank, what
    readers = [n for n in _consumers(ctx, name) if n.op_type != "Shape"]
    ok = len(readers) == 1 and not _is_graph_output(ctx, name) and (
        readers[0].op_type == "Squeeze" or (rank == 4 and axis == 1 and _is_merge_transpose(readers[0])))
    if not ok:
        raise ctx.fail(f"its output {name!r} ({what}) must be read by one Squeeze of axis {axis} "
                       "alone (as nf.onnx.export and torch.onnx.export write it; or a "
                       "Transpose(perm=[0, 2, 1, 3]) then a Reshape to (seq_len, batch, hidden), "
                       "as torch.onnx.export(dynamo=True) writes it)")


_MERGE_PERM = [0, 2, 1, 3]  # (T, 1, N, H) -> (T, N, 1, H)


def _is_merge_transpose(node):
    perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
    return node.op_type == "Transpose" and perm == _MERGE_PERM


_UNROLLED_RNN = ("torch.onnx.export(dynamo=True) writes nn.RNN unrolled into MatMul, Add and "
                 "Tanh nodes per time step, which nnfast does not load: export it with dynamo=False")


class _Filled:
    """A constant tensor of one value whose shape holds the batch size
    (PyTorch's zero initial state: ConstantOfShape of [layers, batch, hidden])."""

    def __init__(self, shape, value, ctx):
        self.shape = list(shape)
        self.value = value
        self._ctx = ctx

    def __array__(self, dtype=None, copy=None):
        raise self._ctx.fail(f"a constant of shape {self.shape} (holding the batch size) is used "
                             "other than as a recurrent node's initial state (sliced or not), the "
                             f"one use nnfast loads ({_UNROLLED_RNN})")


@folds("ConstantOfShape")
def fold_constant_of_shape(node, ctx):
    shape = np.asarray(ctx.value(node.input[0], "shape")).reshape(-1)
    value = np.zeros(1, np.float32)
    for a in node.attribute:
        if a.name == "value":
            value = ctx.onnx.numpy_helper.to_array(a.t).reshape(-1)
    if shape.dtype != object:
        return [np.full(tuple(int(d) for d in shape), value[0], value.dtype)]
    if any(d is not BATCH and not isinstance(d, (int, np.integer)) for d in shape):
        raise ctx.fail(f"a ConstantOfShape of shape {list(shape)}: a size unknown when loading")
    return [_Filled(shape, value[0], ctx)]


@folds("Expand")
def fold_expand(node, ctx):
    """A constant broadcast to a shape: PyTorch's zero initial state when the
    batch size is fixed at export (zeros (layers, batch, hidden) expanded to
    [layers, batch size read from the data, hidden])."""
    data = np.asarray(ctx.value(node.input[0]))
    shape = np.asarray(ctx.value(node.input[1], "shape")).reshape(-1)
    if shape.dtype != object:
        shape = tuple(int(d) for d in shape)
        return [np.broadcast_to(data, np.broadcast_shapes(data.shape, shape)).copy()]
    if data.size == 0 or np.any(data != data.reshape(-1)[0]):
        raise ctx.fail(f"an Expand to the shape {list(shape)} (holding the batch size) of a "
                       "constant that is not one value")
    return [_Filled(shape, data.reshape(-1)[0], ctx)]


@folds("Slice")
def fold_slice(node, ctx):
    """A slice of a ``_Filled`` (one layer's initial state) is filled with the
    same value; anything else is shape arithmetic (``nnfast.onnx.ops.shape``)."""
    data = ctx.values.get(node.input[0])
    if isinstance(data, _Filled):
        return [_Filled(data.shape, data.value, ctx)]
    return shape_ops.fold_slice(node, ctx)


@folds("Shape")
def fold_shape(node, ctx):
    """The shape of a time-major tensor is (seq_len, batch, ...), PyTorch's
    exporter reading the batch size there; the rest is ``nnfast.onnx.ops.shape``'s."""
    layout = _layout(ctx)
    if node.input[0] == ctx.current and (layout.time_major or layout.squeeze_axis is not None):
        if layout.squeeze_axis is not None:
            raise ctx.fail(f"the shape of {layout.squeezed_what} before its Squeeze is not "
                           "known when loading")
        dims = [shape_ops.UNKNOWN_DIM] * 2 if ctx.shape is None else list(ctx.shape)
        if layout.merge_pending:   # (T, N, 1, H)
            dims = [dims[0], 1, layout.stack.hidden_size]
        shape = np.array([dims[0], BATCH] + dims[1:], dtype=object)
        return [shape[ctx.attr("start", 0):ctx.attr("end", None)]]
    return shape_ops.fold_shape(node, ctx)


def _zero_state(ctx, i, what):
    """Refuse the node's input ``i`` (an initial state) unless absent or zero."""
    names = ctx.node.input
    if i >= len(names) or not names[i]:
        return
    value = ctx.value(names[i], what)
    zero = value.value == 0 if isinstance(value, _Filled) else not np.any(np.asarray(value))
    if not zero:
        raise ctx.fail(f"its {what} is not zero: nnfast's layers start from a zero state inside a "
                       "model (a non-zero h0 is an argument of forward, not part of the model)")


def _check_attributes(ctx, op):
    direction = ctx.attr("direction", "forward")
    if direction != "forward":
        raise ctx.fail(f"direction={direction!r}: nnfast's {op} runs forward only "
                       "(no bidirectional or reverse layer)")
    for name in ("clip", "activation_alpha", "activation_beta"):
        if ctx.attr(name) is not None:
            raise ctx.fail(f"the attribute {name}={ctx.attr(name)!r}: nnfast's {op} has no "
                           f"{'cell clipping' if name == 'clip' else 'activation parameters'}")
    activations = ctx.attr("activations")
    if op == "RNN":
        activations = activations or ["Tanh"]
        if len(activations) != 1 or activations[0] not in _RNN_ACTIVATIONS:
            raise ctx.fail(f"activations={activations}: nnfast's RNN has Tanh or Relu")
        return _RNN_ACTIVATIONS[activations[0]]
    if activations is not None and list(activations) != _DEFAULT_ACTIVATIONS[op]:
        raise ctx.fail(f"activations={activations}: nnfast's {op} has the default "
                       f"{_DEFAULT_ACTIVATIONS[op]} only")
    if op == "LSTM" and ctx.attr("input_forget", 0):
        raise ctx.fail("input_forget=1 (coupled input and forget gates): nnfast's LSTM has "
                       "independent gates")
    if op == "GRU" and ctx.attr("linear_before_reset", 0) != 1:
        raise ctx.fail("linear_before_reset=0: nnfast's GRU (as PyTorch's) applies the reset "
                       "gate after the recurrent projection, linear_before_reset=1")
    return None


@imports("RNN", "LSTM", "GRU")
def import_recurrent(node, ctx):
    op, cls = node.op_type, _CLASS[node.op_type]
    layout = _layout(ctx)
    for extra, what in zip(node.output[1:], ("Y_h", "Y_c")):
        if ctx.is_used(extra):
            raise ctx.fail(f"its output {what} ({extra!r}, the final state) is used: nnfast's {op} "
                           "gives the output sequence Y (take its last step with LastStep)")
    if node.input[0] != ctx.current:
        raise ctx.fail("the data must be its first input X")
    if layout.squeeze_axis is not None or layout.merge_pending:
        raise ctx.fail("it reads a tensor whose axis of size 1 is not squeezed yet")
    nonlinearity = _check_attributes(ctx, op)
    batch_first = ctx.attr("layout", 0)
    if batch_first not in (0, 1):
        raise ctx.fail(f"layout={batch_first}: ONNX has layout 0 and 1")
    if batch_first == 0 and not layout.time_major:
        raise ctx.fail("layout=0 reads (seq_len, batch, input_size), and its input is nnfast's "
                       "batch-first (batch, seq_len, input_size): a Transpose(perm=[1, 0, 2]) "
                       "must come before it")
    if batch_first == 1 and layout.time_major:
        raise ctx.fail("layout=1 reads (batch, seq_len, input_size), and its input is time-major")
    if len(node.input) > 4 and node.input[4]:
        raise ctx.fail("it has a sequence_lens input: nnfast's lengths is an argument of forward "
                       "(lengths=), not part of the model")
    if op == "LSTM" and len(node.input) > 7 and node.input[7]:
        raise ctx.fail("it has peepholes (input P): nnfast's LSTM has none")
    _zero_state(ctx, 5, "initial state initial_h")
    if op == "LSTM":
        _zero_state(ctx, 6, "initial state initial_c")
    W = ctx.weight(ctx.input(1, "weight W"), "weight W")
    R = ctx.weight(ctx.input(2, "weight R"), "weight R")
    n_gates = len(_FROM_ONNX[cls])
    H = ctx.attr("hidden_size", R.shape[-1] if R.ndim == 3 else None)
    if W.ndim != 3 or W.shape[0] != 1 or H is None or W.shape[1] != n_gates * H:
        raise ctx.fail(f"its weight W has shape {W.shape}, not (1, {n_gates}*hidden_size, "
                       "input_size)")
    if R.shape != (1, n_gates * H, H):
        raise ctx.fail(f"its weight R has shape {R.shape}, not (1, {n_gates * H}, {H})")
    B = ctx.input(3, "bias B")
    B = np.zeros((1, 2 * n_gates * H), ctx.dtype) if B is None else ctx.weight(B, "bias B")
    if B.shape != (1, 2 * n_gates * H):
        raise ctx.fail(f"its bias B has shape {B.shape}, not (1, {2 * n_gates * H})")
    order, I = _FROM_ONNX[cls], W.shape[2]
    weights = [_blocks(W[0], order, H), _blocks(R[0], order, H),
               _blocks(B[0, :n_gates * H], order, H), _blocks(B[0, n_gates * H:], order, H)]
    kwargs = {} if nonlinearity is None else {"nonlinearity": nonlinearity}
    below = layout.stack
    stacks = (below is not None and ctx.layers and ctx.layers[-1] is below and type(below) is cls
              and below.hidden_size == I == H and getattr(below, "nonlinearity", None) == nonlinearity)
    # the output Y, (T, 1, N, H) or (N, T, 1, H), loses its num_directions axis next
    _check_squeezed_next(ctx, node.output[0], 1 if batch_first == 0 else 2, 4,
                         "Y, with its num_directions axis")
    if stacks:  # one more layer of the stack: the nnfast layer below grows by one
        layer = cls(below.input_size, H, num_layers=below.num_layers + 1, dtype=ctx.dtype, **kwargs)
        for old, new in zip(below.parameters(), layer.parameters()):
            new.value[...] = old.value
        for new, value in zip(layer.parameters()[-4:], weights):
            new.value[...] = value
        ctx.layers[-1] = layout.stack = layer
        return []
    layer = cls(I, H, dtype=ctx.dtype, **kwargs)
    for p, value in zip(layer.parameters(), weights):
        p.value[...] = value
    layout.stack = layer
    return [layer]


@imports("Squeeze")
def import_squeeze(node, ctx):
    layout = _layout(ctx)
    if layout.squeeze_axis is None:
        raise ctx.fail("a Squeeze of the data has no nnfast layer: nnfast loads the Squeeze of a "
                       "recurrent layer's num_directions axis (and of a sliced last time step)")
    axes = shape_ops._axes(ctx, node)
    if axes is None or [a % layout.squeeze_rank for a in axes] != [layout.squeeze_axis]:
        raise ctx.fail(f"a Squeeze of axes {axes} of {layout.squeezed_what}: nnfast loads the "
                       f"Squeeze of its axis {layout.squeeze_axis} (of size 1) alone")
    layout.squeeze_axis = layout.squeeze_rank = None
    return []


def _check_time_major_region(ctx, name):
    """From the Transpose to time-major on: recurrent nodes and their Squeezes
    only, up to the Transpose back or the last step's Gather/Slice."""
    recurrent = False
    for node in ctx.graph.node[ctx.index + 1:]:
        if name not in node.input:
            continue
        op = node.op_type
        if op == "Shape":  # a side branch: shape arithmetic (fold_shape)
            continue
        if op in ("Transpose", "Gather", "Slice") and recurrent and not _is_merge_transpose(node):
            return
        if op in ("RNN", "LSTM", "GRU"):
            if any(ctx.is_used(extra) for extra in node.output[1:]):
                return  # import_recurrent names the final state's use
            recurrent = True
        elif not recurrent or not (op in ("Squeeze", "Reshape") or _is_merge_transpose(node)):
            why = f"{op} {node.name!r} reads it" + (f" ({_UNROLLED_RNN})" if op == "MatMul" else "")
            break
        name = node.output[0]
    else:
        why = "the graph ends with it"
    raise ctx.fail("it makes the data time-major (seq_len, batch, ...), and nnfast loads "
                   "time-major tensors only between the Transposes around recurrent layers "
                   "(RNN, LSTM, GRU and their Squeezes, then a Transpose back or the last time "
                   f"step's Gather); {why}")


@imports("Transpose")
def import_transpose(node, ctx):
    layout = _layout(ctx)
    perm = ctx.attr("perm")
    if perm is not None and list(perm) == _MERGE_PERM and layout.squeeze_rank == 4 \
            and layout.squeeze_axis == 1:
        layout.squeeze_axis = layout.squeeze_rank = None
        layout.merge_pending = True   # checked when the recurrent node was read
        return []
    if perm is None or list(perm) != _SWAP or (ctx.rank is not None and ctx.rank != 3):
        raise ctx.fail(f"a Transpose with perm={perm} of a rank-{ctx.rank} tensor has no nnfast "
                       "layer: nnfast loads the Transposes perm=[1, 0, 2] around recurrent layers")
    if layout.squeeze_axis is not None or layout.merge_pending:
        raise ctx.fail("it reads a tensor whose axis of size 1 is not squeezed yet")
    if layout.time_major:
        layout.time_major = False
        return []
    _check_time_major_region(ctx, node.output[0])
    layout.time_major = True
    return []


@imports("Reshape")
def import_reshape(node, ctx):
    """The dynamo exporter's Reshape of (T, N, 1, H) to (T, N, H); any other
    Reshape is a flatten (``nnfast.onnx.ops.shape``)."""
    layout = _layout(ctx)
    if not layout.merge_pending:
        if layout.time_major or layout.squeeze_axis is not None:
            raise ctx.fail("a Reshape of a recurrent layer's time-major output other than the "
                           "merge of its (num_directions, hidden) axes")
        return shape_ops.import_reshape(node, ctx)
    target = list(np.asarray(ctx.value(node.input[1], "shape")).reshape(-1))
    steps = None if ctx.shape is None else ctx.shape[0]
    H = layout.stack.hidden_size
    batch = target[1] if len(target) == 3 else None
    ok = (len(target) == 3 and target[0] in (None, -1, 0, steps) and target[2] in (-1, H)
          and (batch is BATCH or (not ctx.attr("allowzero", 0) and batch == 0)
               or (ctx.batch_size is not None and batch == ctx.batch_size)))
    if not ok:
        raise ctx.fail(f"a Reshape of the recurrent layer's (seq_len, batch, 1, {H}) output to "
                       f"{target}, not to (seq_len, batch, {H})")
    layout.merge_pending = False
    return []


@folds("Reshape")
def fold_reshape(node, ctx):
    """A Reshape of a constant (the dynamo exporter's shape arithmetic)."""
    data = np.asarray(ctx.value(node.input[0]))
    target = [int(d) for d in np.asarray(ctx.value(node.input[1], "shape")).reshape(-1)]
    if not ctx.attr("allowzero", 0):
        target = [data.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return [data.reshape(target)]


@folds("Mul")
def fold_mul(node, ctx):
    """A product of constants (sizes: an unknown size times anything is unknown)."""
    a, b = (np.asarray(ctx.value(n)) for n in node.input[:2])
    if a.dtype != object and b.dtype != object:
        return [a * b]
    a, b = np.broadcast_arrays(a.astype(object), b.astype(object))
    if any(v is BATCH for v in list(a.flat) + list(b.flat)):
        raise ctx.fail("a Mul of the batch size: shape arithmetic nnfast does not follow")
    out = [None if x is None or y is None else x * y for x, y in zip(a.flat, b.flat)]
    return [np.array(out, dtype=object).reshape(a.shape)]


def _time_axis(ctx, what):
    layout = _layout(ctx)
    if layout.squeeze_axis is not None or layout.merge_pending:
        raise ctx.fail("it reads a tensor whose axis of size 1 is not squeezed yet")
    if ctx.rank is not None and ctx.rank != 3:
        raise ctx.fail(f"{what} of a rank-{ctx.rank} tensor has no nnfast layer: nnfast has "
                       "LastStep, the last time step of (batch, seq_len, features)")
    return 0 if layout.time_major else 1


def _is_last(ctx, index):
    steps = None if ctx.shape is None else ctx.shape[0]
    return index == -1 or (steps is not None and index == steps - 1)


def _last_step(ctx):
    _layout(ctx).time_major = False
    _layout(ctx).stack = None
    ctx.rank = 2  # what _advance keeps when the shape is not known
    return [LastStep()]


@imports("Gather")
def import_gather(node, ctx):
    time_axis = _time_axis(ctx, "a Gather")
    if node.input[0] != ctx.current:
        raise ctx.fail("the data must be Gather's first input")
    index = np.asarray(ctx.value(node.input[1], "indices"))
    axis = ctx.attr("axis", 0)
    if ctx.rank is not None:
        axis %= 3
    if index.ndim != 0 or axis != time_axis or not _is_last(ctx, int(index)):
        raise ctx.fail(f"a Gather of indices {index.tolist()} along axis {ctx.attr('axis', 0)} "
                       "has no nnfast layer: nnfast has LastStep, the Gather of the scalar index "
                       f"-1 along the time axis ({time_axis}) of (batch, seq_len, features)")
    return _last_step(ctx)


@imports("Slice")
def import_slice(node, ctx):
    """``x[:, -1:]``: the last time step kept as an axis of size 1 (squeezed next)."""
    time_axis = _time_axis(ctx, "a Slice")
    if len(node.input) < 3:
        raise ctx.fail("a Slice with starts/ends attributes (opset < 10) of the data")
    starts = np.asarray(ctx.input(1, "starts")).reshape(-1)
    ends = np.asarray(ctx.input(2, "ends")).reshape(-1)
    axes = ctx.input(3, "axes")
    axes = np.arange(len(starts)) if axes is None else np.asarray(axes).reshape(-1)
    steps = ctx.input(4, "steps")
    steps = np.ones(len(starts), np.int64) if steps is None else np.asarray(steps).reshape(-1)
    big = np.iinfo(np.int64).max // 2
    last = (len(starts) == 1 and int(axes[0]) % 3 == time_axis and int(steps[0]) == 1
            and _is_last(ctx, int(starts[0]))
            and (int(ends[0]) >= big or (ctx.shape is not None and int(ends[0]) >= ctx.shape[0])))
    if not last:
        raise ctx.fail(f"a Slice of the data (starts {starts.tolist()}, ends {ends.tolist()}, "
                       f"axes {axes.tolist()}) has no nnfast layer: nnfast has LastStep, the "
                       "last time step (x[:, -1:] then a Squeeze of that axis)")
    layout = _layout(ctx)
    layers = _last_step(ctx)
    _check_squeezed_next(ctx, node.output[0], time_axis, 3, "the last time step, kept as an axis")
    return layers
