"""nf.load of missing, special and crafted files: the errors are
FileNotFoundError / IsADirectoryError for paths, ValueError naming the file
for contents, never RecursionError or MemoryError, and nothing the header
or a .npy member claims is allocated before it is checked against the bytes
the file holds."""
import json
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

import nnfast as nf


def model():
    return nf.Sequential([nf.layers.Linear(4, 3), nf.layers.ReLU(), nf.layers.Linear(3, 2)])


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.npz"
    nf.save(model(), path)
    return path


def rewrite(path, change):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def header_text(path, text):
    rewrite(path, lambda a: a.__setitem__("header", np.array(text)))


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        nf.load(tmp_path / "missing.npz")


def test_a_folder_is_a_directory_error(tmp_path):
    with pytest.raises(IsADirectoryError, match="directory"):
        nf.load(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "m.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        nf.load(fifo)          # opening it would wait for a writer for ever


@pytest.mark.parametrize("text", ["[" * 100000 + "]" * 100000,
                                  '{"a": ' * 50000 + "1" + "}" * 50000])
def test_a_deeply_nested_json_header_is_a_value_error(saved, text):
    header_text(saved, text)
    with pytest.raises(ValueError, match="nested too deeply"):
        nf.load(saved)


@pytest.mark.parametrize("depth, match", [(200, "nested more than 100"),
                                          (400, "nested (more than 100|too deeply)")])
def test_an_architecture_nested_too_deep_is_a_value_error(saved, depth, match):
    # 400 levels overflowed the stack building the layers, or parsing them
    with np.load(saved) as z:
        header = json.loads(str(z["header"]))
    leaf = json.dumps(header["model"])
    header["model"] = "@"
    deep = '{"class": "Sequential", "layers": [' * depth + leaf + "]}" * depth
    header_text(saved, json.dumps(header).replace('"@"', deep))
    with pytest.raises(ValueError, match=match):
        nf.load(saved)


@pytest.mark.parametrize("depth", [480, 5000])
def test_a_deeply_nested_optimizer_state_is_a_value_error(tmp_path, depth):
    m = model()
    opt = nf.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    path = tmp_path / "m.npz"
    nf.save(m, path, optimizer=opt)
    with np.load(path) as z:
        header = json.loads(str(z["header"]))
    header["optimizer"]["state"] = "@"
    deep = '{"l": [' * depth + "1" + "]}" * depth
    header_text(path, json.dumps(header).replace('"@"', deep))
    with pytest.raises(ValueError, match="(optimizer|nested too deeply)"):
        nf.load(path, with_optimizer=True)


def test_huge_layers_in_the_header_are_refused_before_allocating(saved):
    # 576 MB of weights claimed, a few bytes of parameters in the file
    with np.load(saved) as z:
        header = json.loads(str(z["header"]))
    header["model"]["layers"][0]["config"].update(in_features=12000, out_features=12000)
    header_text(saved, json.dumps(header))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"cannot build Linear.*weight"):
            nf.load(saved)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 25


def npy_claiming(shape, dtype):
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
              "shape": shape}
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + b"\0" * 16


@pytest.mark.parametrize("count", [2**40, 2**26])
def test_a_npy_member_claiming_more_than_it_holds_is_refused_before_allocating(saved, count):
    with zipfile.ZipFile(saved) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["param_0.npy"] = npy_claiming((count,), np.float32)
    with zipfile.ZipFile(saved, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="param_0.npy.*declares shape"):
            nf.load(saved)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 25


def test_round_trips_still_work(saved):
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    a = nf.load(saved)
    np.testing.assert_array_equal(a.forward(x), nf.load(saved).forward(x))
