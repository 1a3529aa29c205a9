"""``nf.save`` and ``nf.load``: round trips of every layer and optimizer,
and loading corrupt and crafted files (truncated, bytes flipped, wrong
magic, empty, a bare .npy, a deeply nested JSON header or architecture,
huge declared shapes in the header and in the .npy members, missing
arrays, wrong dtypes and shapes, corrupt optimizer state) and bad paths
(missing: FileNotFoundError; a folder; None; numbers).

A round trip must give a model with bit-for-bit the same predictions; a
bad file must be refused with a ValueError (or OSError) naming the file."""
import io
import json
import os
import pathlib
import zipfile

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import seeds, threads
from nnfast.fuzz.outcome import Garbage, expect, expect_file_not_found
from nnfast.fuzz.targets import register
from nnfast.io import FORMAT_VERSION   # "version_new": the version a newer nnfast writes

MODELS = ("mlp", "cnn", "prelu", "single", "dropout")
OPTIMIZERS = (None, None, "SGD", "Adam", "Adagrad", "RMSProp")
HEADER_CRAFTS = ("deep_json", "deep_dict", "not_dict", "bad_json", "format", "version_bool",
                 "version_big", "version_str", "version_new", "version_float", "model_missing",
                 "params_not_list", "unknown_class", "deep_sequential", "config_bad",
                 "config_huge", "config_huge_mid", "config_extra_key", "config_not_dict",
                 "layers_not_list", "param_count", "header_bytes", "header_1d", "header_int",
                 "nan_config", "optimizer_class", "optimizer_deep", "optimizer_state",
                 "no_header", "huge_kernel_config", "deep_sequential_50",
                 "deep_sequential_500")
ARRAY_CRAFTS = ("missing_param", "param_float16", "param_int", "param_complex", "param_bool",
                "param_bytes", "param_shape", "param_object", "npy_bomb", "npy_bomb_mid",
                "npy_fortran", "extra_member")
BINARY_CRAFTS = ("truncate", "flip", "garbage", "empty", "npy_file", "text", "zip_not_npz",
                 "gzip")
LOAD_PATHS = ("same",) * 6 + ("missing", "dir", "none", "int", "bytes", "pathlike", "fifo")
SAVE_PATHS = ("good",) * 8 + ("pathlike", "dir", "missing_dir", "none", "int", "bytes")


@st.composite
def files_case(draw):
    group = draw(st.sampled_from(["roundtrip", "roundtrip", "header", "header", "array",
                                  "binary", "binary"]))
    craft = None
    if group == "header":
        craft = draw(st.sampled_from(HEADER_CRAFTS))
    elif group == "array":
        craft = draw(st.sampled_from(ARRAY_CRAFTS))
    elif group == "binary":
        craft = draw(st.sampled_from(BINARY_CRAFTS))
    return {"model": draw(st.sampled_from(MODELS)),
            "dtype": draw(st.sampled_from(["float32", "float64"])),
            "optimizer": draw(st.sampled_from(OPTIMIZERS)), "group": group, "craft": craft,
            "fraction": draw(st.floats(0, 1)), "save_path": draw(st.sampled_from(SAVE_PATHS)),
            "load_path": draw(st.sampled_from(LOAD_PATHS)),
            "with_optimizer": draw(st.booleans()), "seed": draw(seeds),
            "threads": draw(threads)}


def build_model(kind, dtype):
    dt = np.dtype(dtype).type
    L = nf.layers
    if kind == "mlp":
        return nf.Sequential([L.Linear(4, 3, dtype=dt), L.ReLU(), L.Linear(3, 2, dtype=dt),
                              L.LogSoftmax()])
    if kind == "cnn":
        return nf.Sequential([L.Conv2D(1, 2, 3, padding="same", dtype=dt), L.ReLU(),
                              L.MaxPool2D(2), L.AvgPool2D(1), L.Flatten(),
                              L.Linear(8, 2, dtype=dt), L.Softmax()])
    if kind == "prelu":
        return nf.Sequential([L.Linear(4, 3, dtype=dt), L.PReLU(3, dtype=dt),
                              L.LeakyReLU(0.2), L.Linear(3, 2, dtype=dt), L.Sigmoid(),
                              L.Tanh()])
    if kind == "single":
        return L.Linear(4, 2, dtype=dt)
    return nf.Sequential([L.Linear(4, 3, dtype=dt), L.Dropout(0.3), L.Linear(3, 2, dtype=dt)])


def model_input(kind, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, 1, 4, 4) if kind == "cnn" else (3, 4))


def _optimizer(name, model):
    if name is None:
        return None
    if name == "SGD":
        return nf.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return getattr(nf.optim, name)(model.parameters())


def _train_step(model, opt, x):
    """One step, so that the optimizer has state worth saving."""
    out = model.forward(x)
    model.backward(np.ones_like(out))
    opt.step()


def _save_target(ctx, kind):
    good = ctx.path("model.npz")
    if kind == "good":
        return good
    if kind == "pathlike":
        return pathlib.Path(good)
    if kind == "dir":
        os.mkdir(ctx.path("a_folder"))
        return ctx.path("a_folder")
    if kind == "missing_dir":
        return ctx.path(os.path.join("no_such_folder", "model.npz"))
    return {"none": None, "int": 3, "bytes": os.fsencode(good)}[kind]


@register("nf.save/nf.load", files_case(),
          ("path", "model", "optimizer", "with_optimizer", "model file"), paths=True, weight=4.0)
def run_files(spec, ctx):
    nf.seed(spec["seed"])
    model = build_model(spec["model"], spec["dtype"])
    opt = _optimizer(spec["optimizer"], model)
    x = model_input(spec["model"], spec["seed"]).astype(spec["dtype"])
    if opt is not None:
        _train_step(model, opt, x)
    model.eval()
    target = _save_target(ctx, spec["save_path"])
    save_valid = spec["save_path"] in ("good", "pathlike")
    expect(lambda: nf.save(model, target, optimizer=opt), save_valid,
           f"save to {spec['save_path']}")
    if not save_valid:
        return
    path = os.fspath(target)
    valid = True
    if spec["group"] != "roundtrip":
        valid = _craft(path, spec, model)
    load_path, load_kind = _load_target(ctx, path, spec["load_path"])
    with_opt = spec["with_optimizer"]
    if with_opt and opt is None and valid:
        valid = False     # no optimizer was saved
    if load_kind == "missing":
        expect_file_not_found(lambda: nf.load(load_path), "nf.load")
    if load_kind != "good":
        expect(lambda: nf.load(load_path, with_optimizer=with_opt), False,
               f"load from {spec['load_path']}")
        return
    loaded = expect(lambda: nf.load(load_path, with_optimizer=with_opt), valid,
                    f"load ({spec['group']}: {spec['craft']})")
    if not valid:
        return
    if spec["group"] != "roundtrip":
        return   # a harmless change (an extra member, a flipped unused byte)
    loaded_opt = None
    if with_opt:
        loaded, loaded_opt = loaded
    loaded.eval()
    a, b = model.forward(x), loaded.forward(x)
    if not np.array_equal(a, b, equal_nan=True) or a.dtype != b.dtype:
        raise Garbage("a loaded model's predictions differ from the saved model's")
    if loaded_opt is not None:
        sa, sb = opt.state_dict(), loaded_opt.state_dict()
        if sorted(sa) != sorted(sb) or any(
                not np.array_equal(np.asarray(sa[k]), np.asarray(sb[k])) for k in sa):
            raise Garbage("a loaded optimizer's state differs from the saved one's")


def _load_target(ctx, path, kind):
    if kind == "same":
        return path, "good"
    if kind == "pathlike":
        return pathlib.Path(path), "good"
    if kind == "missing":
        return ctx.path("missing.npz"), "missing"
    if kind == "dir":
        return ctx.tmpdir, "bad"
    if kind == "fifo":
        # not a regular file: opening it would wait for a writer for ever
        fifo = ctx.path("fifo.npz")
        os.mkfifo(fifo)
        return fifo, "bad"
    return {"none": None, "int": 3, "bytes": os.fsencode(path)}[kind], "bad"


def _read(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _write(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _craft(path, spec, model):
    """Damage or craft the file at ``path``; whether it must still load
    (True), must not (False) or either (None)."""
    group, craft = spec["group"], spec["craft"]
    if group == "binary":
        return _craft_binary(path, craft, spec)
    arrays = _read(path)
    if group == "array":
        return _craft_array(path, arrays, craft)
    header = json.loads(str(arrays["header"]))
    if craft in ("header_bytes", "header_1d", "header_int", "no_header"):
        raw = arrays.pop("header")
        if craft == "header_bytes":
            arrays["header"] = np.array(str(raw).encode())
        elif craft == "header_1d":
            arrays["header"] = np.array([str(raw)])
        elif craft == "header_int":
            arrays["header"] = np.array(7)
        _write(path, arrays)
        return False
    text = _craft_header(header, craft)
    arrays["header"] = np.array(text)
    _write(path, arrays)
    if craft in ("optimizer_class", "optimizer_state"):
        # read only when the optimizer is asked for
        return not spec["with_optimizer"]
    if craft == "deep_sequential_50":
        return True
    return False


DEEP = "@@deep@@"
# how many Sequentials deep: 50 is deep but not absurd and must load (see
# _craft), the others must be refused
DEEP_SEQUENTIALS = {"deep_sequential_50": 50, "deep_sequential_500": 500,
                    "deep_sequential": 20000}


def _nested_text(depth, leaf_json):
    """JSON text of ``depth`` Sequentials, each the only layer of the one
    around it (built as text: json.dumps itself would recurse too deep)."""
    return '{"class": "Sequential", "layers": [' * depth + leaf_json + "]}" * depth


def _craft_header(h, craft):
    if craft == "deep_json":
        return "[" * 100000 + "]" * 100000
    if craft == "deep_dict":
        return '{"a": ' * 50000 + "1" + "}" * 50000
    if craft == "not_dict":
        return "[1, 2]"
    if craft == "bad_json":
        return '{"format": "nnfast-model", '
    first = _first_layer(h["model"])
    if craft == "format":
        h["format"] = "keras"
    elif craft.startswith("version"):
        h["version"] = {"version_bool": True, "version_big": 10**30, "version_str": "1",
                        "version_new": FORMAT_VERSION + 1, "version_float": 1.0}[craft]
    elif craft == "model_missing":
        del h["model"]
    elif craft == "params_not_list":
        h["parameters"] = {}
    elif craft == "unknown_class":
        first["class"] = "os.system"
    elif craft in DEEP_SEQUENTIALS:
        leaf = json.dumps(h["model"])
        h["model"] = DEEP
        return json.dumps(h).replace(json.dumps(DEEP),
                                     _nested_text(DEEP_SEQUENTIALS[craft], leaf))
    elif craft == "config_bad":
        first["config"]["in_features"] = -1
    elif craft == "config_huge":
        first["config"]["in_features"] = 2**31 - 1
        first["config"]["out_features"] = 2**31 - 1
    elif craft == "config_huge_mid":
        first["config"]["in_features"] = 60000
        first["config"]["out_features"] = 60000
    elif craft == "huge_kernel_config":
        h["model"] = {"class": "Conv2D", "config": {"in_channels": 1, "out_channels": 4096,
                                                    "kernel_size": [4096, 4096]}}
    elif craft == "config_extra_key":
        first["config"]["bogus"] = 1
    elif craft == "config_not_dict":
        first["config"] = [1, 2]
    elif craft == "layers_not_list":
        h["model"] = {"class": "Sequential", "layers": {"0": first}}
    elif craft == "param_count":
        h["parameters"] = h["parameters"][:-1]
    elif craft == "nan_config":
        h["model"] = {"class": "LeakyReLU", "config": {"negative_slope": float("nan")}}
        h["parameters"] = []
    elif craft == "optimizer_class":
        h["optimizer"] = {"class": "Nope", "lr": 0.1, "config": None, "state": None}
    elif craft == "optimizer_deep":
        h["optimizer"] = {"class": "SGD", "lr": 0.1, "config": None, "state": DEEP}
        return json.dumps(h).replace(json.dumps(DEEP), '{"l": [' * 20000 + "1" + "]}" * 20000)
    elif craft == "optimizer_state":
        h["optimizer"] = {"class": "SGD", "lr": 0.1, "config": None,
                          "state": {"d": [["optimizer", "SGD"], ["n_params", -3]]}}
    return json.dumps(h)


def _first_layer(desc):
    while desc.get("class") == "Sequential":
        desc = desc["layers"][0]
    return desc


def _craft_array(path, arrays, craft):
    if craft == "missing_param":
        arrays.pop("param_0")
    elif craft.startswith("param_") and craft != "param_shape" and craft != "param_object":
        dt = {"param_float16": np.float16, "param_int": np.int64, "param_complex": np.complex128,
              "param_bool": np.bool_, "param_bytes": "S4"}[craft]
        arrays["param_0"] = arrays["param_0"].astype(dt)
    elif craft == "param_shape":
        a = arrays["param_0"]
        arrays["param_0"] = a.reshape(-1)[:-1] if a.size > 1 else np.ones(3, a.dtype)
    elif craft == "param_object":
        a = np.empty(2, dtype=object)
        a[:] = [1.0, "evil"]
        arrays["param_0"] = a
        _write(path, arrays)
        return False
    elif craft in ("npy_bomb", "npy_bomb_mid"):
        _write(path, arrays)
        count = 2**40 if craft == "npy_bomb" else 2**29
        _replace_member(path, "param_0.npy", _npy_claiming((count,), arrays["param_0"].dtype))
        return False
    elif craft == "npy_fortran":
        arrays["param_0"] = np.asfortranarray(arrays["param_0"])
        _write(path, arrays)
        return True
    elif craft == "extra_member":
        arrays["zzz_extra"] = np.ones(3)
        _write(path, arrays)
        return True
    _write(path, arrays)
    return False


def _npy_claiming(shape, dtype):
    """A .npy whose header claims ``shape`` but that holds 16 bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(
        np.dtype(dtype)), "fortran_order": False, "shape": shape})
    buf.write(b"\0" * 16)
    return buf.getvalue()


def _replace_member(path, member, data):
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)


def _craft_binary(path, craft, spec):
    with open(path, "rb") as f:
        data = f.read()
    rng = np.random.default_rng(spec["seed"])
    if craft == "flip":
        # three bytes flipped may land where nothing reads them
        b = bytearray(data)
        for i in rng.integers(0, len(b), 3):
            b[i] ^= 0xFF
        data = bytes(b)
    elif craft == "truncate":
        data = data[:int(spec["fraction"] * (len(data) - 1))]
    elif craft == "garbage":
        data = rng.integers(0, 256, 200, dtype=np.uint8).tobytes()
    elif craft == "empty":
        data = b""
    elif craft == "npy_file":
        buf = io.BytesIO()
        np.save(buf, np.ones(3))
        data = buf.getvalue()
    elif craft == "text":
        data = b"this is not a model\n"
    elif craft == "zip_not_npz":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("header.txt", "{}")
        data = buf.getvalue()
    else:  # gzip of the file: another format
        import gzip
        data = gzip.compress(data)
    with open(path, "wb") as f:
        f.write(data)
    return None if craft == "flip" else False
