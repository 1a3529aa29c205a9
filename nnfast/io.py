"""Saving and loading models: a versioned ``.npz`` (no pickle).

The file holds one JSON header (the format name and version, the
architecture as each layer's class name and ``config()``, the parameters'
shapes and dtypes, optionally the optimizer's class, ``lr`` and state, and
in a training checkpoint the training state ``fit(..., resume_from=...)``
reads) and one array per parameter, per buffer (BatchNorm's running
statistics) and per state array. Layer and
optimizer classes are looked up by name among nnfast's own classes only:
loading a file never imports or calls anything else.

Format versions: 1 is a model (and optimizer); 2 adds the ``training``
entry of checkpoints. A file is written with the lowest version that holds
it, so models stay readable by an nnfast that knows version 1 only.
"""
import json
import numbers
import os
import zipfile
import zlib

import numpy as np

from nnfast import _random
from nnfast._atomic import write_atomically
from nnfast._validation import allocation_budget, check_npz_members, check_readable_file
from nnfast.layers.base import Layer

FORMAT = "nnfast-model"
FORMAT_VERSION = 2           # the highest version this nnfast reads
TRAINING_VERSION = 2         # the first version with a training state
HEADER_KEY = "header"
# Sequentials inside Sequentials: deeper than this is a crafted file
MAX_NESTING = 100
# what np.load and reading a damaged archive can raise
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error,
                UnicodeDecodeError)


# -- registries: nnfast's own classes, by name ---------------------------
def _own_classes(module, base):
    return {name: obj for name, obj in vars(module).items()
            if isinstance(obj, type) and issubclass(obj, base)
            and obj.__module__.startswith("nnfast.")}


def layer_registry():
    """Layer classes that ``load`` may construct: nnfast.layers' and Sequential."""
    from nnfast import layers
    from nnfast.network import Sequential
    registry = _own_classes(layers, Layer)
    registry.pop("Layer", None)
    registry["Sequential"] = Sequential
    from nnfast.graph import Graph
    registry["Graph"] = Graph
    return registry


def optimizer_registry():
    """Optimizer classes that ``load`` may construct (those in nnfast.optim)."""
    try:
        from nnfast import optim
    except ImportError:
        return {}
    return {name: obj for name, obj in vars(optim).items()
            if isinstance(obj, type) and obj.__module__.startswith("nnfast.")
            and callable(getattr(obj, "load_state_dict", None))}


# -- saving ----------------------------------------------------------------
def save(model, path, optimizer=None, training=None):
    """Write ``model`` (and optionally ``optimizer``'s state) to ``path``.

    Parameters
    ----------
    model : Sequential or Layer
        Its layers must be nnfast's own classes with JSON-friendly
        ``config()``.
    path : str or os.PathLike
        Written as given (no suffix is added), atomically: a temporary file
        in the same directory is written, flushed to disk and renamed over
        ``path``, so a crash never leaves a half-written model there.
    optimizer : nnfast optimizer or None
        Saved with its class name, ``lr`` and ``state_dict()``; read back
        with ``load(path, with_optimizer=True)``.
    training : dict or None
        A training checkpoint's state (numbers, strings, lists, dicts,
        arrays), as ``nnfast.training.checkpoint`` writes it; read back with
        ``read_training_state``.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be an nnfast Sequential or Layer, got {type(model).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    params = model.parameters()
    buffers = model.named_buffers()
    arrays = {f"param_{i}": np.ascontiguousarray(p.value) for i, p in enumerate(params)}
    # copies (not ascontiguousarray, which turns a 0-d count into shape (1,))
    arrays.update({f"buffer_{i}": np.array(b, order="C") for i, (_, b) in enumerate(buffers)})
    header = {
        "format": FORMAT,
        "version": 1 if training is None else TRAINING_VERSION,
        "model": _describe(model, layer_registry()),
        "parameters": [{"shape": list(p.value.shape), "dtype": p.value.dtype.name} for p in params],
        # added within format version 1: files without it (written before
        # any layer had buffers) load with the layers' initial buffers
        "buffers": [{"name": name, "shape": list(b.shape), "dtype": b.dtype.name}
                    for name, b in buffers],
        "optimizer": None,
    }
    if optimizer is not None:
        header["optimizer"] = _describe_optimizer(optimizer, arrays, params)
    if training is not None:
        header["training"] = _encode(training, arrays)
    arrays[HEADER_KEY] = np.array(json.dumps(header, allow_nan=True))
    _write_atomically(os.fspath(path), arrays)


def _describe(layer, registry):
    name = type(layer).__name__
    if registry.get(name) is not type(layer):
        raise TypeError(f"cannot save a {type(layer).__module__}.{name}: only nnfast's own layer "
                        "classes can be saved (load looks classes up by name)")
    if name == "Sequential":
        return {"class": name, "layers": [_describe(sub, registry) for sub in layer.layers]}
    if name == "SkipConnection":
        return {"class": name, "config": layer.config(), "inner": _describe(layer.inner, registry)}
    if name == "Graph":
        return {"class": name, "inputs": [n.name for n in layer.input_nodes],
                "nodes": [{"name": n.name, "layer": _describe(n.layer, registry),
                           "inputs": [s.name for s in n.inputs]} for n in layer.layer_nodes],
                "outputs": [n.name for n in layer.output_nodes]}
    config = layer.config()
    try:
        json.dumps(config)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}.config() must be JSON-friendly to be saved, got {config!r} ({e})") from None
    return {"class": name, "config": config}


def _param_order(optimizer, model_params):
    """For each of the optimizer's parameters (in its ``params`` order, group
    after group), its index in ``model.parameters()``; None when one is not
    the model's."""
    index = {id(p): i for i, p in enumerate(model_params)}
    order = [index.get(id(p)) for p in getattr(optimizer, "params", None) or []]
    return None if not order or None in order else order


def _describe_optimizer(optimizer, arrays, model_params):
    name = type(optimizer).__name__
    if optimizer_registry().get(name) is not type(optimizer):
        raise TypeError(f"optimizer must be an nnfast.optim optimizer to be saved, got {type(optimizer).__name__}")
    # the state refers to parameters by their place in the optimizer's
    # groups: where each sits in the model lets ``load`` put it back there
    desc = {"class": name, "lr": _jsonable_scalar(getattr(optimizer, "lr", None)),
            "param_order": _param_order(optimizer, model_params),
            "config": None, "state": None}
    if callable(getattr(optimizer, "config", None)):
        desc["config"] = _encode(optimizer.config(), arrays)
    desc["state"] = _encode(optimizer.state_dict(), arrays)
    return desc


def _jsonable_scalar(x):
    if isinstance(x, np.generic):
        return x.item()
    return x if x is None or isinstance(x, (numbers.Real, str)) else None


def _encode(obj, arrays):
    """Optimizer state as JSON, its arrays moved to ``arrays`` (tagged lists:
    JSON alone cannot tell a tuple from a list or keep non-string keys)."""
    if isinstance(obj, np.ndarray):
        key = f"state_{sum(k.startswith('state_') for k in arrays)}"
        arrays[key] = np.ascontiguousarray(obj)
        return {"a": key}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        return {"d": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"t": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return {"l": [_encode(v, arrays) for v in obj]}
    raise TypeError(f"cannot save optimizer state holding a {type(obj).__name__}")


def _write_atomically(path, arrays):
    """np.savez(path, **arrays) through nnfast._atomic (temporary file, fsync,
    rename; links, modes, non-regular paths and stale temporaries handled)."""
    write_atomically(path, lambda f: np.savez(f, **arrays))


# -- loading -----------------------------------------------------------------
def load(path, with_optimizer=False):
    """Read a model written by ``save`` (``model.save``).

    Parameters
    ----------
    path : str or os.PathLike
    with_optimizer : bool
        Also rebuild the optimizer saved with the model, over the loaded
        model's parameters.

    Returns
    -------
    model, or (model, optimizer) when ``with_optimizer`` is True
        The model gives bit-for-bit the predictions of the saved one.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        If ``path`` does not exist, or is a folder.
    ValueError
        If the file is not a regular file, is truncated, corrupt, not an
        nnfast model, from a newer nnfast (a higher format version), names a
        class that is not nnfast's, declares sizes its data does not hold,
        or holds parameters of the wrong shape or dtype; and with
        ``with_optimizer=True``, if no optimizer was saved.
    """
    arrays, header, name = _read(path)
    # the layers the header describes may allocate no more than the file's
    # arrays could fill (their initial weights are drawn in float64 and
    # cast: up to 4 times a float32 array's bytes)
    stored_bytes = sum(a.nbytes for a in arrays.values())
    with allocation_budget(4 * stored_bytes + (1 << 20)):
        model = _build_with_rng_kept(header["model"], layer_registry(), name)
    _set_parameters(model, header, arrays, name)
    _set_buffers(model, header, arrays, name)
    if not with_optimizer:
        return model
    if header.get("optimizer") is None:
        raise ValueError(f"{name!r} holds no optimizer state (save it with model.save(path, optimizer=opt))")
    return model, _build_optimizer(model, header["optimizer"], arrays, name)


def _read(path):
    """(arrays, checked header, file name) of an nnfast file."""
    name = check_readable_file(path, "path", what="model file")
    # every array's declared size checked against the bytes there before
    # NumPy allocates it
    check_npz_members(name, name)
    try:
        z = np.load(name, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("a bare .npy array, not an .npz archive")
        with z:
            arrays = {k: z[k] for k in z.files}
        if not all(isinstance(a, np.ndarray) for a in arrays.values()):
            raise ValueError("an entry is not a .npy array")
    except _READ_ERRORS as e:
        raise ValueError(f"{name!r} is not a readable nnfast model file (truncated, corrupt or "
                         f"another format): {e}") from None
    return arrays, _read_header(arrays, name), name


def _read_header(arrays, name):
    raw = arrays.get(HEADER_KEY)
    if raw is None or raw.shape != () or raw.dtype.kind != "U":
        raise ValueError(f"{name!r} is not an nnfast model file (no {HEADER_KEY!r} entry)")
    try:
        header = json.loads(str(raw))
    except ValueError as e:
        raise ValueError(f"{name!r}: corrupt model header ({e})") from None
    except RecursionError:
        raise ValueError(f"{name!r}: corrupt model header (nested too deeply to be a model)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{name!r} is not an nnfast model file (format {header.get('format') if isinstance(header, dict) else None!r})")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{name!r}: bad format version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{name!r} was written by a newer nnfast (format version {version}); "
                         f"this nnfast reads format versions up to {FORMAT_VERSION}: upgrade nnfast")
    if not isinstance(header.get("model"), dict) or not isinstance(header.get("parameters"), list):
        raise ValueError(f"{name!r}: corrupt model header (no architecture or parameter list)")
    return header


def _build_with_rng_kept(desc, registry, name):
    # constructing layers draws initial weights that are overwritten at once:
    # keep nf.seed's random stream as it was, so loading changes nothing else
    state = _random.get_rng().bit_generator.state
    try:
        return _build(desc, registry, name, "model")
    finally:
        _random.get_rng().bit_generator.state = state


def _build(desc, registry, name, where, depth=0):
    if not isinstance(desc, dict) or not isinstance(desc.get("class"), str):
        raise ValueError(f"{name!r}: corrupt architecture at {where}")
    if depth > MAX_NESTING:
        raise ValueError(f"{name!r}: corrupt architecture: Sequentials nested more than "
                         f"{MAX_NESTING} deep")
    cls_name = desc["class"]
    cls = registry.get(cls_name)
    if cls is None:
        raise ValueError(f"{name!r}: unknown layer class {cls_name!r} at {where} "
                         "(only nnfast's own layers can be loaded)")
    if cls_name == "Sequential":
        layers = desc.get("layers")
        if not isinstance(layers, list):
            raise ValueError(f"{name!r}: corrupt architecture at {where} (Sequential without layers)")
        return cls([_build(d, registry, name, f"{where}[{i}]", depth + 1)
                    for i, d in enumerate(layers)])
    if cls_name == "SkipConnection":
        inner = _build(desc.get("inner"), registry, name, f"{where}.inner", depth + 1)
        config = desc.get("config")
        if not isinstance(config, dict):
            raise ValueError(f"{name!r}: corrupt architecture at {where} (SkipConnection without a config)")
        try:
            return cls(inner, **config)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{name!r}: cannot build SkipConnection at {where} from {config!r}: {e}") from None
    if cls_name == "Graph":
        return _build_graph(cls, desc, registry, name, where, depth)
    config = desc.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"{name!r}: corrupt architecture at {where} ({cls_name} without a config)")
    try:
        return cls(**{k: _tuples(v) for k, v in config.items()})
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name!r}: cannot build {cls_name} at {where} from {config!r}: {e}") from None


def _build_graph(cls, desc, registry, name, where, depth):
    """A Graph from its description: inputs, nodes (each a layer and the
    names of its inputs) and outputs, all by name."""
    inputs, nodes, outputs = desc.get("inputs"), desc.get("nodes"), desc.get("outputs")
    if not (isinstance(inputs, list) and isinstance(nodes, list) and isinstance(outputs, list)):
        raise ValueError(f"{name!r}: corrupt architecture at {where} (Graph without inputs, "
                         "nodes and outputs)")
    graph = cls()
    by_name = {}
    try:
        for input_name in inputs:
            by_name[input_name] = graph.input(input_name)
        for i, node in enumerate(nodes):
            if not isinstance(node, dict) or not isinstance(node.get("inputs"), list):
                raise ValueError(f"node {i} is not a dict with inputs")
            layer = _build(node.get("layer"), registry, name, f"{where}.nodes[{i}]", depth + 1)
            srcs = []
            for src in node["inputs"]:
                if not isinstance(src, str) or src not in by_name:
                    raise ValueError(f"node {i} reads an unknown node {src!r}")
                srcs.append(by_name[src])
            by_name[node.get("name")] = graph.add(layer, *srcs, name=node.get("name"))
        for out in outputs:
            if not isinstance(out, str) or out not in by_name:
                raise ValueError(f"the output {out!r} is an unknown node")
        graph.output(*[by_name[out] for out in outputs])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name!r}: corrupt Graph at {where}: {e}") from None
    return graph


def _tuples(v):
    """JSON lists back to tuples: configs hold (h, w) pairs, not lists."""
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _set_parameters(model, header, arrays, name):
    params = model.parameters()
    specs = header["parameters"]
    if len(specs) != len(params):
        raise ValueError(f"{name!r}: the architecture has {len(params)} parameters, the file lists {len(specs)}")
    for i, p in enumerate(params):
        arr = arrays.get(f"param_{i}")
        if arr is None:
            raise ValueError(f"{name!r}: parameter {i} is missing")
        if arr.shape != p.value.shape or arr.dtype != p.value.dtype:
            raise ValueError(f"{name!r}: parameter {i} must be {p.value.dtype} of shape {p.value.shape}, "
                             f"got {arr.dtype} of shape {arr.shape}")
        p.value[...] = arr


def _set_buffers(model, header, arrays, name):
    """Running statistics and the like, as saved; a file from before
    buffers were saved (no "buffers" entry) leaves the initial ones."""
    specs = header.get("buffers")
    if specs is None:
        return
    buffers = model.named_buffers()
    if not isinstance(specs, list) or len(specs) != len(buffers):
        raise ValueError(f"{name!r}: the architecture has {len(buffers)} buffers, the file lists "
                         f"{len(specs) if isinstance(specs, list) else specs!r}")
    for i, (key, b) in enumerate(buffers):
        arr = arrays.get(f"buffer_{i}")
        if arr is None:
            raise ValueError(f"{name!r}: buffer {i} ({key}) is missing")
        if arr.shape != b.shape or arr.dtype != b.dtype:
            raise ValueError(f"{name!r}: buffer {i} ({key}) must be {b.dtype} of shape {b.shape}, "
                             f"got {arr.dtype} of shape {arr.shape}")
        b[...] = arr


def _decode(obj, arrays, name):
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict) and len(obj) == 1:
        (tag, v), = obj.items()
        if tag == "a" and isinstance(v, str) and v.startswith("state_") and v in arrays:
            return arrays[v].copy()
        if tag in ("l", "t", "d") and isinstance(v, list):
            if tag == "l":
                return [_decode(x, arrays, name) for x in v]
            if tag == "t":
                return tuple(_decode(x, arrays, name) for x in v)
            if all(isinstance(kv, list) and len(kv) == 2 for kv in v):
                try:
                    return {_decode(k, arrays, name): _decode(x, arrays, name) for k, x in v}
                except TypeError:  # an unhashable key
                    pass
    raise ValueError(f"{name!r}: corrupt optimizer state")


def _build_optimizer(model, desc, arrays, name):
    if not isinstance(desc, dict):
        raise ValueError(f"{name!r}: corrupt optimizer description")
    cls = optimizer_registry().get(desc.get("class"))
    if cls is None:
        raise ValueError(f"{name!r}: unknown optimizer class {desc.get('class')!r}")
    lr = desc.get("lr")
    params = model.parameters()
    order = desc.get("param_order")
    if order is not None:
        if (not isinstance(order, list) or not order
                or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(params)
                           for i in order) or len(set(order)) != len(order)):
            raise ValueError(f"{name!r}: corrupt optimizer description (param_order)")
        params = [params[i] for i in order]
    try:
        config = _decode(desc.get("config"), arrays, name)
        if isinstance(config, dict):
            opt = cls(params, **config)
        elif lr is not None:
            opt = cls(params, lr=lr)
        else:
            opt = cls(params)
        opt.load_state_dict(_decode(desc.get("state"), arrays, name))
    except (TypeError, ValueError, KeyError, IndexError, RecursionError) as e:
        raise ValueError(f"{name!r}: cannot rebuild the {desc.get('class')} optimizer: {e}") from None
    # (the saved groups keep their own rates; "lr" is the first one's)
    if lr is not None and hasattr(opt, "lr") and len(getattr(opt, "param_groups", ())) <= 1:
        opt.lr = lr
    return opt


# -- training checkpoints ----------------------------------------------------
def read_training_state(path, model, optimizer=None):
    """Load a checkpoint's parameters into ``model`` (and its optimizer state
    into ``optimizer``) and return its training state.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by ``save(..., training=...)`` (``ModelCheckpoint``).
    model : Sequential or Layer
        Must have the architecture saved in the file.
    optimizer : optimizer or None
        Given the saved optimizer state with ``load_state_dict`` when the
        file holds one (it must then be of the saved class).

    Returns
    -------
    training : dict
        The training state; ``training["optimizer_restored"]`` says whether
        an optimizer state was loaded.

    Raises
    ------
    ValueError
        Everything ``load`` rejects; a file without a training state (a
        plain model); another architecture; another optimizer class.
    """
    arrays, header, name = _read(path)
    if header.get("training") is None:
        raise ValueError(f"{name!r} is a model without a training state: resume from a checkpoint "
                         "written by nf.callbacks.ModelCheckpoint")
    saved = header["model"]
    ours = json.loads(json.dumps(_describe(model, layer_registry())))
    if saved != ours:
        raise ValueError(f"{name!r} holds another architecture than this model: saved "
                         f"{json.dumps(saved)}, this model {json.dumps(ours)}")
    training = _decode(header["training"], arrays, name)
    if not isinstance(training, dict):
        raise ValueError(f"{name!r}: corrupt training state")
    desc = header.get("optimizer")
    restored = False
    if desc is not None and optimizer is not None:
        if not isinstance(desc, dict) or desc.get("class") != type(optimizer).__name__:
            raise ValueError(f"{name!r} holds the state of a {desc.get('class') if isinstance(desc, dict) else None} "
                             f"optimizer, not of this {type(optimizer).__name__}")
        state = _decode(desc.get("state"), arrays, name)
        saved_order = desc.get("param_order")
        if saved_order is not None and saved_order != _param_order(optimizer, model.parameters()):
            raise ValueError(f"{name!r}: cannot restore the {type(optimizer).__name__} state: it was "
                             f"saved for the model's parameters {saved_order} in the optimizer's "
                             f"order (group after group), this optimizer holds "
                             f"{_param_order(optimizer, model.parameters())}: build its parameter "
                             "groups as they were")
        try:
            optimizer.load_state_dict(state)
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(f"{name!r}: cannot restore the {type(optimizer).__name__} state: {e}") from None
        restored = True
    # the parameters last, once everything else was accepted
    _set_parameters(model, header, arrays, name)
    _set_buffers(model, header, arrays, name)
    training["optimizer_restored"] = restored
    return training
