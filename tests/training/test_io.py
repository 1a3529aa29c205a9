"""model.save / nf.load: bit-for-bit round trips, atomic writes, and a clear
ValueError for every kind of bad file."""
import json
import os
import zipfile

import numpy as np
import pytest

import nnfast as nf
from nnfast.io import FORMAT_VERSION, HEADER_KEY
from train_doubles import PlainSGD, SoftmaxCE


def net(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return nf.Sequential([nf.layers.Linear(6, 5, dtype=dtype, rng=rng),
                          nf.layers.Linear(5, 3, dtype=dtype, rng=rng)])


def layer_zoo(rng):
    """Every registered layer kind that can be built with simple arguments."""
    L = nf.layers
    stack = [L.Linear(12, 12, rng=rng)]
    for name, kwargs in [("ReLU", {}), ("Sigmoid", {}), ("Tanh", {}), ("LeakyReLU", {"negative_slope": 0.05}),
                         ("PReLU", {}), ("Dropout", {"p": 0.3})]:
        if hasattr(L, name):
            stack.append(getattr(L, name)(**kwargs))
    stack.append(L.Linear(12, 4, rng=rng))
    if hasattr(L, "LogSoftmax"):
        stack.append(L.LogSoftmax())
    return nf.Sequential(stack)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bit_for_bit(tmp_path, dtype):
    model = net(dtype)
    x = np.random.default_rng(1).standard_normal((9, 6))
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = nf.load(path)
    assert isinstance(loaded, nf.Sequential) and len(loaded) == 2
    assert repr(loaded) == repr(model)
    for p, q in zip(model.parameters(), loaded.parameters()):
        assert q.value.dtype == dtype
        np.testing.assert_array_equal(p.value, q.value)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_round_trip_of_every_layer_kind(tmp_path):
    model = layer_zoo(np.random.default_rng(2))
    x = np.random.default_rng(3).standard_normal((5, 12))
    model.save(tmp_path / "zoo.npz")
    loaded = nf.load(tmp_path / "zoo.npz")
    assert [type(layer).__name__ for layer in loaded] == [type(layer).__name__ for layer in model]
    assert [layer.config() for layer in loaded] == [layer.config() for layer in model]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_nested_sequential_and_single_layer(tmp_path):
    rng = np.random.default_rng(4)
    inner = nf.Sequential([nf.layers.Linear(3, 3, rng=rng)])
    model = nf.Sequential([inner, nf.layers.Linear(3, 2, rng=rng)])
    nf.save(model, tmp_path / "nested")          # no suffix is added
    assert os.listdir(tmp_path) == ["nested"]
    loaded = nf.load(tmp_path / "nested")
    assert isinstance(loaded[0], nf.Sequential)
    x = rng.standard_normal((4, 3))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    single = nf.layers.Linear(3, 2, rng=rng)
    nf.save(single, tmp_path / "single.npz")
    np.testing.assert_array_equal(nf.load(tmp_path / "single.npz").forward(x), single.forward(x))


def test_load_keeps_the_global_random_stream():
    nf.seed(11)
    a = nf.init.uniform((3,))
    nf.seed(11)
    model = net()
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        model.save(os.path.join(d, "m.npz"))
        nf.seed(11)
        nf.load(os.path.join(d, "m.npz"))
        np.testing.assert_array_equal(nf.init.uniform((3,)), a)


def test_file_format_is_versioned_npz_without_pickle(tmp_path):
    net().save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        header = json.loads(str(z[HEADER_KEY]))
        assert sorted(z.files) == [HEADER_KEY, "param_0", "param_1", "param_2", "param_3"]
    assert header["format"] == "nnfast-model" and header["version"] == 1  # a model alone: version 1
    assert [d["class"] for d in header["model"]["layers"]] == ["Linear", "Linear"]
    assert header["parameters"][0] == {"shape": [5, 6], "dtype": "float32"}


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    net(seed=0).save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        net(seed=1).save(path)
    # the old file is untouched and no temporary file is left behind
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]


def test_save_rejects_what_load_could_not_rebuild(tmp_path):
    class Custom(nf.layers.Linear):
        pass
    with pytest.raises(TypeError, match="only nnfast's own layer"):
        nf.Sequential([Custom(2, 2)]).save(tmp_path / "m.npz")
    model = net()
    with pytest.raises(TypeError, match="optimizer must be an nnfast.optim"):
        model.save(tmp_path / "m.npz", optimizer=PlainSGD(model.parameters(), 0.1))
    with pytest.raises(TypeError, match="model must be"):
        nf.save("model", tmp_path / "m.npz")
    with pytest.raises(TypeError, match="path must be"):
        model.save(3)
    assert not os.listdir(tmp_path)


def set_key(*keys, value):
    def mutate(header, arrays):
        d = header
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return mutate


@pytest.mark.parametrize("mutate, message", [
    (set_key("version", value=FORMAT_VERSION + 1), "newer nnfast"),
    (set_key("version", value="1"), "bad format version"),
    (set_key("format", value="keras"), "not an nnfast model"),
    (set_key("model", "layers", 0, "class", value="os.system"), "unknown layer class 'os.system'"),
    (set_key("model", "layers", 0, "class", value="Layer"), "unknown layer class 'Layer'"),
    (set_key("model", "layers", 0, "config", value={"in_features": -1, "out_features": 5}), "cannot build Linear"),
    (set_key("model", "layers", 0, "config", value={"bogus": 1}), "cannot build Linear"),
    (set_key("model", "layers", value="nope"), "corrupt architecture"),
    (set_key("model", value=None), "corrupt model header"),
    (set_key("parameters", value=[]), "lists 0"),
    (lambda h, a: a.pop("param_2"), "parameter 2 is missing"),
    (lambda h, a: a.__setitem__("param_0", a["param_0"].astype(np.float64)), "parameter 0 must be float32"),
    (lambda h, a: a.__setitem__("param_1", a["param_1"][:2]), r"parameter 1 must be float32 of shape \(5,\)"),
    (lambda h, a: a.__setitem__(HEADER_KEY, None), "no 'header' entry"),
], ids=["future-version", "bad-version", "format", "foreign-class", "base-class", "bad-config",
        "unknown-arg", "layers-not-list", "no-model", "param-count", "missing-param", "param-dtype",
        "param-shape", "no-header"])
def test_load_rejects_bad_contents(tmp_path, mutate, message):
    path = tmp_path / "m.npz"
    net().save(path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays[HEADER_KEY]))
    mutate(header, arrays)
    if arrays[HEADER_KEY] is None:
        del arrays[HEADER_KEY]
    else:
        arrays[HEADER_KEY] = np.array(json.dumps(header))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message):
        nf.load(path)


def test_load_rejects_damaged_or_foreign_files(tmp_path):
    path = tmp_path / "m.npz"
    net().save(path)
    blob = path.read_bytes()
    cases = {
        "truncated": blob[: len(blob) // 2],
        "truncated-tail": blob[:-10],
        "empty": b"",
        "text": b"hello, not a model",
        "flipped": blob[:200] + bytes(b ^ 0xFF for b in blob[200:260]) + blob[260:],
    }
    for name, data in cases.items():
        bad = tmp_path / name
        bad.write_bytes(data)
        with pytest.raises(ValueError):
            nf.load(bad)
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz"):
        nf.load(tmp_path / "array.npy")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="no 'header' entry"):
        nf.load(tmp_path / "other.npz")
    # pickled content is refused, never unpickled
    np.savez(tmp_path / "pickled.npz", header=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        nf.load(tmp_path / "pickled.npz")
    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as z:
        z.writestr("header.npy", b"garbage")
    with pytest.raises(ValueError):
        nf.load(tmp_path / "zip.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nf.load(tmp_path / "missing.npz")
    with pytest.raises(TypeError, match="path must be"):
        nf.load(None)


def test_load_with_optimizer_when_none_saved(tmp_path):
    net().save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="no optimizer state"):
        nf.load(tmp_path / "m.npz", with_optimizer=True)


def optimizers():
    if not hasattr(nf, "optim"):
        return []
    found = []
    for name, kwargs in [("SGD", {"lr": 0.05, "momentum": 0.9}), ("Adam", {"lr": 0.01}),
                         ("Adagrad", {"lr": 0.05}), ("RMSProp", {"lr": 0.01})]:
        if hasattr(nf.optim, name):
            found.append((name, kwargs))
    return found


def test_optimizer_state_round_trip_continues_training_identically(tmp_path):
    if not optimizers():
        pytest.skip("nf.optim not available")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 8, 6)), rng.integers(0, 3, (3, 8))
    loss = SoftmaxCE()
    for name, kwargs in optimizers():
        model = net(np.float64)
        opt = getattr(nf.optim, name)(model.parameters(), **kwargs)

        def step(m, o, i):
            loss.forward(m.forward(X[i]), y[i])
            m.backward(loss.backward())
            o.step()
            o.zero_grad()
        step(model, opt, 0)
        model.save(tmp_path / "m.npz", optimizer=opt)
        model2, opt2 = nf.load(tmp_path / "m.npz", with_optimizer=True)
        assert type(opt2) is type(opt) and opt2.lr == opt.lr
        for i in (1, 2):
            step(model, opt, i)
            step(model2, opt2, i)
        for p, q in zip(model.parameters(), model2.parameters()):
            np.testing.assert_array_equal(p.value, q.value, err_msg=name)
