"""IDX reading (every type code, gzip or not, every kind of damage) and MNIST loading."""
import gzip
import os
import shutil
import struct

import numpy as np
import pytest

import nnfast as nf
from nnfast.datasets import load_idx, load_mnist
from nnfast.datasets.mnist import MNIST_FILES

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
         np.float32: 0x0D, np.float64: 0x0E}
FASHION = "/usr/share/datasets/fashion-mnist"


def idx_bytes(arr, code=None, ndim=None, dims=None):
    arr = np.asarray(arr)
    code = CODES[arr.dtype.type] if code is None else code
    dims = arr.shape if dims is None else dims
    ndim = len(dims) if ndim is None else ndim
    head = bytes([0, 0, code, ndim]) + struct.pack(f">{len(dims)}I", *dims)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data, gz=False):
    if gz:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("dt", list(CODES), ids=[np.dtype(d).name for d in CODES])
def test_load_idx_every_type_code(tmp_path, dt, gz):
    rng = np.random.default_rng(CODES[dt])
    if np.dtype(dt).kind == "f":
        arr = rng.standard_normal((3, 4, 5)).astype(dt)
    else:
        info = np.iinfo(dt)
        arr = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dt)
    # the name does not say gzip: detection is by content
    out = load_idx(write(tmp_path / "data.idx", idx_bytes(arr), gz))
    assert out.dtype == np.dtype(dt) and out.dtype.isnative
    assert out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 0  # the caller owns a writable array


@pytest.mark.parametrize("shape", [(7,), (2, 3), (1, 2, 3, 4), (0,), (3, 0, 2)])
def test_load_idx_shapes(tmp_path, shape):
    arr = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    np.testing.assert_array_equal(load_idx(write(tmp_path / "a", idx_bytes(arr))), arr)


def test_load_idx_accepts_pathlike_and_str(tmp_path):
    p = write(tmp_path / "a.gz", idx_bytes(np.arange(4, dtype=np.int32)), gz=True)
    np.testing.assert_array_equal(load_idx(str(p)), np.arange(4))
    np.testing.assert_array_equal(load_idx(p), np.arange(4))


GOOD = idx_bytes(np.arange(24, dtype=np.int16).reshape(2, 3, 4))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\x00\x00", "truncated"),
    (b"\x01\x00\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", "bad magic"),
    (b"\x00\x07\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", "bad magic"),
    (b"\x00\x00\x0a\x01" + b"\x00\x00\x00\x01" + b"\x05", "unknown type code 0x0A"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03" + b"\x00\x00\x00\x01", "declares 3 dimensions"),  # header cut short
    (GOOD[:-1], "truncated"),                                # payload one byte short
    (GOOD[:12], "truncated"),                                # header only
    (GOOD + b"\x00", "past the end"),                        # trailing data
    # oversized claims: checked against the payload before allocating
    (b"\x00\x00\x0e\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\x00" * 8, "max_bytes"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 2**32 - 1) + b"abc", "truncated"),
    # wrong ndim: the header claims 2 dimensions for data laid out as 3
    (idx_bytes(np.zeros((2, 3, 4), np.uint8), ndim=2, dims=(2, 3, 4)), "past the end"),
], ids=["empty", "short-magic", "magic-byte0", "magic-byte1", "type-code", "ndim-0", "short-header",
        "short-payload", "header-only", "trailing", "oversized-3d", "oversized-1d", "wrong-ndim"])
def test_load_idx_rejects_damaged_files(tmp_path, data, message, gz):
    with pytest.raises(ValueError, match=message):
        load_idx(write(tmp_path / "bad", data, gz))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_load_idx_max_bytes(tmp_path, gz):
    """A claim above max_bytes is refused before reading: a gzip stream of
    zeros can decompress to far more than it occupies."""
    data = idx_bytes(np.zeros((64, 64), np.float64))
    path = write(tmp_path / "big", data, gz)
    with pytest.raises(ValueError, match="more than max_bytes=1000"):
        load_idx(path, max_bytes=1000)
    assert load_idx(path, max_bytes=64 * 64 * 8).shape == (64, 64)


def test_load_idx_rejects_corrupt_gzip(tmp_path):
    blob = gzip.compress(GOOD)
    with pytest.raises(ValueError, match="gzip"):
        load_idx(write(tmp_path / "cut.gz", blob[: len(blob) // 2]))
    damaged = bytearray(blob)
    damaged[12:20] = b"\xff" * 8
    with pytest.raises(ValueError):
        load_idx(write(tmp_path / "bad.gz", bytes(damaged)))


def test_load_idx_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_idx(tmp_path / "nope")
    with pytest.raises(IsADirectoryError, match="directory"):
        load_idx(tmp_path)
    with pytest.raises(TypeError, match="path"):
        load_idx(3)
    with pytest.raises(ValueError, match="max_bytes"):
        load_idx(tmp_path / "nope", max_bytes=-1)


def test_load_mnist_bundled():
    (X, y), (Xt, yt) = nf.datasets.load_mnist()
    assert X.shape == (4000, 1, 28, 28) and Xt.shape == (1000, 1, 28, 28)
    assert X.dtype == np.float32 and Xt.dtype == np.float32
    assert y.shape == (4000,) and yt.shape == (1000,)
    assert y.dtype == np.int64 and yt.dtype == np.int64
    for images in (X, Xt):
        assert images.min() == 0.0 and images.max() == 1.0
    assert set(np.unique(y)) == set(range(10)) and set(np.unique(yt)) <= set(range(10))
    # the sample is balanced: 500 per class over the 5,000
    np.testing.assert_array_equal(np.bincount(np.concatenate([y, yt]), minlength=10), [500] * 10)


def bundled_dir():
    return os.path.join(os.path.dirname(nf.datasets.__file__), "data", "mnist5k")


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_load_mnist_from_directory_matches_bundled(tmp_path, gz):
    for base in MNIST_FILES:
        src = os.path.join(bundled_dir(), base + ".gz")
        if gz:
            shutil.copy(src, tmp_path / (base + ".gz"))
        else:
            with gzip.open(src) as f:
                (tmp_path / base).write_bytes(f.read())
    (X, y), (Xt, yt) = load_mnist(tmp_path)
    (Xb, yb), (Xtb, ytb) = load_mnist()
    np.testing.assert_array_equal(X, Xb)
    np.testing.assert_array_equal(yt, ytb)
    np.testing.assert_array_equal(load_mnist(str(tmp_path))[0][1], yb)


def test_load_mnist_fashion_if_present():
    if not os.path.isdir(FASHION):
        pytest.skip(f"{FASHION} not present")
    (X, y), (Xt, yt) = load_mnist(FASHION)
    assert X.shape == (60000, 1, 28, 28) and Xt.shape == (10000, 1, 28, 28)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert set(np.unique(yt)) == set(range(10))


def make_mnist_dir(path, n_train=5, n_test=3, images=None, labels=None):
    rng = np.random.default_rng(0)
    arrays = {
        MNIST_FILES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        MNIST_FILES[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
        MNIST_FILES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        MNIST_FILES[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    if images is not None:
        arrays[MNIST_FILES[0]] = images
    if labels is not None:
        arrays[MNIST_FILES[1]] = labels
    for name, arr in arrays.items():
        (path / name).write_bytes(idx_bytes(arr))
    return arrays


def test_load_mnist_small_directory(tmp_path):
    arrays = make_mnist_dir(tmp_path)
    (X, y), (Xt, yt) = load_mnist(tmp_path)
    np.testing.assert_allclose(X[:, 0] * 255, arrays[MNIST_FILES[0]], atol=1e-4)
    np.testing.assert_array_equal(yt, arrays[MNIST_FILES[3]])


def test_load_mnist_errors(tmp_path):
    with pytest.raises(ValueError, match="no such directory"):
        load_mnist(tmp_path / "missing")
    with pytest.raises(TypeError, match="path"):
        load_mnist(5)
    make_mnist_dir(tmp_path)
    os.remove(tmp_path / MNIST_FILES[2])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("kw, message", [
    ({"labels": np.zeros(4, np.uint8)}, "same count"),
    ({"images": np.zeros((5, 28, 28), np.int16)}, "uint8"),
    ({"images": np.zeros((5, 784), np.uint8)}, "shape"),
    ({"labels": np.zeros((5, 1), np.uint8)}, "labels must be uint8 of shape"),
])
def test_load_mnist_rejects_mismatched_files(tmp_path, kw, message):
    make_mnist_dir(tmp_path, **kw)
    with pytest.raises(ValueError, match=message):
        load_mnist(tmp_path)
