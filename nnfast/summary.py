"""``model.summary(input_shape)``: each layer's output shape and parameter count."""
import numpy as np

from nnfast._validation import check_allocation, check_int


class ModelSummary:
    """What ``summarize`` found; ``str()`` is the table ``model.summary`` prints.

    Attributes
    ----------
    input_shape : tuple of int
        One sample's shape (no batch axis).
    rows : list of (name, output_shape, n_parameters)
        ``name`` is "<index> <ClassName>" (indices joined by "." inside
        nested Sequentials); ``output_shape`` one sample's, no batch axis
        (after a layer that merges the batch axis into others, as
        ``Flatten(start_dim=0)``, the whole shape, its first entry the
        string "N*<size>").
    total : int
        Parameters of the whole model (every one is trainable).
    dtype : numpy dtype or None
        The parameters' dtype (None without parameters).
    """

    def __init__(self, input_shape, rows, total, dtype):
        self.input_shape = tuple(input_shape)
        self.rows = rows
        self.total = total
        self.dtype = dtype

    def __str__(self):
        header = ("Layer", "Output shape", "Parameters")
        body = [(name, _shape(shape), f"{n:,}") for name, shape, n in self.rows]
        widths = [max(len(r[i]) for r in [header] + body) for i in range(3)]
        rule = "-" * (sum(widths) + 4)

        def line(r):
            return f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"
        lines = [f"Input shape: {_shape(self.input_shape)}", line(header), rule]
        lines += [line(r) for r in body] + [rule]
        total = f"Total parameters: {self.total:,}"
        if self.dtype is not None:
            total += f" ({np.dtype(self.dtype).name}, {_size(self.total * np.dtype(self.dtype).itemsize)})"
        return "\n".join(lines + [total])

    __repr__ = __str__


def _shape(shape):
    if shape and isinstance(shape[0], str):   # the batch axis merged into the first
        return "(" + ", ".join(str(d) for d in shape) + ")"
    return "(" + ", ".join(["N"] + [str(d) for d in shape]) + ")"


def _merges_batch_axis(layer, x):
    """True for a layer whose output's axis 0 is not the batch axis alone:
    a Flatten from axis 0 over more than one axis."""
    from nnfast.layers.flatten import Flatten
    return (isinstance(layer, Flatten) and layer.start_dim in (0, -x.ndim)
            and layer.end_dim % x.ndim > 0)


def _size(n_bytes):
    for unit in ("B", "KiB", "MiB"):
        if n_bytes < 1024 or unit == "MiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024


def count_params(model):
    """Number of parameter elements (every Parameter's ``value.size``)."""
    return int(sum(p.value.size for p in model.parameters()))


def summarize(model, input_shape):
    """Run one zero sample of ``input_shape`` through ``model`` (in eval mode,
    the previous mode restored) and record each layer's output shape.

    Parameters
    ----------
    model : Sequential or Layer
        A Sequential is listed layer by layer (nested ones too); any other
        layer is one row.
    input_shape : tuple of int
        One sample's shape, without the batch axis: (1, 28, 28) for MNIST
        images, (784,) for flat ones.

    Returns
    -------
    ModelSummary
    """
    from nnfast.layers.base import Layer
    from nnfast.training.evaluate import eval_mode

    if not isinstance(model, Layer):
        raise TypeError(f"model must be an nnfast Sequential or Layer, got {type(model).__name__}")
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise TypeError(f"input_shape must be a tuple of ints (one sample's shape, no batch axis), "
                        f"got {input_shape!r}")
    input_shape = tuple(check_int(d, "input_shape", 1) for d in input_shape)
    params = model.parameters()
    dtype = params[0].value.dtype if params else None
    check_allocation((1,) + input_shape, dtype or np.float32, "input_shape")
    x = np.zeros((1,) + input_shape, dtype=dtype or np.float32)
    rows = []
    with eval_mode(model):
        _walk(model, x, "", rows, [False])
    return ModelSummary(input_shape, rows, count_params(model), dtype)


def _walk(layer, x, prefix, rows, batch_merged):
    """Append ``layer``'s rows; ``batch_merged[0]`` becomes True once a layer
    has merged the batch axis (of size 1 here) into others."""
    from nnfast.network import Sequential

    if isinstance(layer, Sequential) and type(layer).forward is Sequential.forward:
        for i, sub in enumerate(layer.layers):
            x = _walk(sub, x, f"{prefix}{i}" if not prefix else f"{prefix}.{i}", rows, batch_merged)
        return x
    name = f"{prefix} {type(layer).__name__}" if prefix else type(layer).__name__
    try:
        out = np.asarray(layer.forward(x))
    except (ValueError, TypeError) as e:
        raise ValueError(f"input_shape {_shape(x.shape[1:])} does not fit layer {name}: {e}") from None
    if not batch_merged[0] and x.ndim and _merges_batch_axis(layer, x):
        batch_merged[0] = True
    if batch_merged[0] and out.ndim:
        shape = (f"N*{out.shape[0]}",) + tuple(out.shape[1:])
    else:
        shape = tuple(out.shape[1:])
    rows.append((name, shape, count_params(layer)))
    return out
