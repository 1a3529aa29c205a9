"""Flatten <-> Flatten (the default start_dim=1, end_dim=-1) or Reshape (any
other start_dim, end_dim: ONNX's Flatten always makes 2-D); Reshape to
(batch, -1), to (batch, ..., merged, ...) and Identity on the way in; and
the folders of the shape arithmetic around them (``Shape``, ``Gather``,
``Unsqueeze``, ``Squeeze``, ``Concat``, ``Slice``, ``Cast``, ``Constant``,
``Identity``), evaluated on constants and on the current tensor's shape
(whose batch axis is the symbol ``BATCH``)."""
import math

import numpy as np

from nnfast.layers import Flatten
from nnfast.onnx.load import BATCH
from nnfast.onnx.registry import exports, folds, imports


@exports(Flatten)
def export_flatten(layer, ctx, x, key):
    merged = layer.output_shape((1,) + tuple(ctx.shapes[x]))   # checks the dims
    rank = ctx.rank(x)
    start, end = layer.start_dim % rank, layer.end_dim % rank
    if start == 1 and end == rank - 1:
        return ctx.node("Flatten", [x], key, axis=1)
    if start == end:
        return ctx.node("Identity", [x], key)
    # 0 copies the batch size from the input (a dynamic one); -1 is the
    # merged axis when it takes in the batch axis
    target = [-1 if start == 0 else 0] + list(merged[1:])
    shape = ctx.initializer(f"{key.rstrip('.') or 'flatten'}.shape", target, dtype=np.int64)
    return ctx.node("Reshape", [x, shape], key)


@imports("Flatten")
def import_flatten(node, ctx):
    axis = ctx.axis(ctx.attr("axis", 1))
    if axis != 1:
        raise ctx.fail(f"axis={ctx.attr('axis', 1)} keeps other than the batch axis; nnfast's "
                       "Flatten keeps axis 0 and merges the rest")
    return [Flatten()]


def _is_batch(ctx, d, allowzero):
    return d is BATCH or (not allowzero and d == 0) or (
        ctx.batch_size is not None and d == ctx.batch_size)


@imports("Reshape")
def import_reshape(node, ctx):
    target = [int(d) if isinstance(d, (int, np.integer)) else d
              for d in np.asarray(ctx.value(node.input[1], "shape")).reshape(-1)]
    allowzero = ctx.attr("allowzero", 0)
    features = None if ctx.shape is None else math.prod(ctx.shape)
    if len(target) == 2:
        first, second = target
        if _is_batch(ctx, first, allowzero) and (second == -1 or (features is not None and second == features)):
            return [Flatten()]
        if first == -1 and second is not BATCH and second not in (None, -1) and (
                features is None or second == features):
            return [Flatten()]
    merge = _as_flatten(ctx, target, allowzero)
    if merge is not None:
        return [Flatten(*merge)]
    flat = "(batch, features)" + ("" if features is None else f" = (batch, {features})")
    raise ctx.fail(f"a Reshape to {target} is not a flatten to {flat}, nor a merge of adjacent "
                   "axes after the batch axis (Flatten(start_dim, end_dim)), the only reshapes "
                   "nnfast has")


def _as_flatten(ctx, target, allowzero):
    """(start_dim, end_dim) of the Flatten that is the Reshape to ``target``
    of the current tensor, batch axis kept; None if it is none (or the
    per-sample shape is not known)."""
    if ctx.shape is None or not target or not _is_batch(ctx, target[0], allowzero):
        return None
    dims = list(ctx.shape)
    rest = []
    for i, d in enumerate(target[1:]):
        if d == 0 and not allowzero:
            if i >= len(dims):
                return None
            d = dims[i]
        if d is not BATCH and not isinstance(d, int):
            return None
        rest.append(d)
    if any(d is BATCH or d < -1 for d in rest) or rest.count(-1) > 1:
        return None
    if -1 in rest:
        known = math.prod(d for d in rest if d != -1)
        if known == 0 or math.prod(dims) % known:
            return None
        rest[rest.index(-1)] = math.prod(dims) // known
    if math.prod(rest) != math.prod(dims) or not rest or len(rest) > len(dims):
        return None
    head = 0
    while head < len(rest) - 1 and rest[head] == dims[head]:
        head += 1
    tail = len(rest) - 1 - head            # entries after the merged one
    if tail and rest[-tail:] != dims[-tail:]:
        return None
    end = len(dims) - tail                  # merged: dims[head:end]
    if end - head < 1 or rest[head] != math.prod(dims[head:end]):
        return None
    return head + 1, end


@imports("Identity")
def import_identity(node, ctx):
    return []


# -- folders -------------------------------------------------------------
def _objects(values):
    """The arrays as one dtype: object as soon as one holds a symbol."""
    if any(v.dtype == object for v in values):
        return [v.astype(object) for v in values]
    return values


@folds("Constant")
def fold_constant(node, ctx):
    for a in node.attribute:
        if a.name == "value":
            return [ctx.onnx.numpy_helper.to_array(a.t)]
        if a.name in ("value_float", "value_floats", "value_int", "value_ints"):
            return [np.asarray(ctx.onnx.helper.get_attribute_value(a),
                               np.float32 if "float" in a.name else np.int64)]
    raise ctx.fail("a Constant without a numeric value (value, value_float(s), value_int(s))")


@folds("Shape")
def fold_shape(node, ctx):
    name = node.input[0]
    if ctx.is_value(name):
        shape = np.array(np.shape(ctx.values[name]), dtype=np.int64)
    elif name == ctx.current and ctx.rank is not None:
        dims = [UNKNOWN_DIM] * (ctx.rank - 1) if ctx.shape is None else list(ctx.shape)
        shape = np.array([BATCH] + dims, dtype=object)
    else:
        raise ctx.fail(f"the shape of {name!r} is not known when loading")
    start, end = ctx.attr("start", 0), ctx.attr("end", None)
    return [shape[start:end]]


UNKNOWN_DIM = None


@folds("Gather")
def fold_gather(node, ctx):
    data, indices = ctx.value(node.input[0]), ctx.value(node.input[1])
    return [np.take(data, np.asarray(indices, dtype=np.int64), axis=ctx.attr("axis", 0))]


def _axes(ctx, node):
    axes = ctx.input(1, "axes") if len(node.input) > 1 else None
    axes = ctx.attr("axes", None) if axes is None else axes
    return None if axes is None else tuple(int(a) for a in np.asarray(axes).reshape(-1))


@folds("Unsqueeze")
def fold_unsqueeze(node, ctx):
    data = np.asarray(ctx.value(node.input[0]))
    axes = _axes(ctx, node)
    if axes is None:
        raise ctx.fail("an Unsqueeze without axes")
    return [np.expand_dims(data, axes)]


@folds("Squeeze")
def fold_squeeze(node, ctx):
    data = np.asarray(ctx.value(node.input[0]))
    return [np.squeeze(data, _axes(ctx, node))]


@folds("Concat")
def fold_concat(node, ctx):
    values = _objects([np.asarray(ctx.value(n)) for n in node.input if n])
    return [np.concatenate(values, axis=ctx.attr("axis", 0))]


@folds("Slice")
def fold_slice(node, ctx):
    data = np.asarray(ctx.value(node.input[0]))
    if len(node.input) < 3:  # opset < 10: attributes
        starts, ends = ctx.attr("starts"), ctx.attr("ends")
        axes, steps = ctx.attr("axes"), None
    else:
        starts, ends = ctx.input(1, "starts"), ctx.input(2, "ends")
        axes, steps = ctx.input(3, "axes"), ctx.input(4, "steps")
    starts = np.asarray(starts).reshape(-1)
    ends = np.asarray(ends).reshape(-1)
    axes = range(len(starts)) if axes is None else np.asarray(axes).reshape(-1)
    steps = np.ones(len(starts), np.int64) if steps is None else np.asarray(steps).reshape(-1)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        index[int(axis)] = slice(int(start), int(end), int(step))
    return [data[tuple(index)]]


@folds("Cast")
def fold_cast(node, ctx):
    data = np.asarray(ctx.value(node.input[0]))
    if data.dtype == object:  # a shape holding the batch symbol stays as it is
        return [data]
    return [data.astype(ctx.onnx.helper.tensor_dtype_to_np_dtype(ctx.attr("to")))]


@folds("Identity")
def fold_identity(node, ctx):
    return [ctx.value(node.input[0])]
