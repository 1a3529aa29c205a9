"""read_idx refuses what is not an open, seekable binary stream with a
TypeError or ValueError naming ``f`` (it was an AttributeError for None and
text streams, io.UnsupportedOperation for pipes); load_idx's missing files
are FileNotFoundError."""
import io
import struct

import numpy as np
import pytest

from nnfast.datasets import load_idx, read_idx
from nnfast.fuzz.doubles import Unseekable

GOOD = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 3) + bytes([1, 2, 3])


@pytest.mark.parametrize("f, error, match", [
    (None, TypeError, "f must be a seekable binary file object"),
    (object(), TypeError, "f must be a seekable binary file object"),
    (b"\x00\x00\x08\x01", TypeError, "f must be a seekable binary file object"),
    (io.StringIO(GOOD.decode("latin-1")), TypeError, "f must be opened in binary mode"),
    (Unseekable(GOOD), ValueError, "f must be seekable"),
])
def test_read_idx_of_what_is_not_a_binary_stream(f, error, match):
    with pytest.raises(error, match=match):
        read_idx(f)


def test_read_idx_of_a_closed_stream():
    f = io.BytesIO(GOOD)
    f.close()
    with pytest.raises(ValueError, match="f must be an open file object"):
        read_idx(f)


def test_read_idx_of_a_text_file(tmp_path):
    (tmp_path / "t.idx").write_bytes(GOOD)
    with open(tmp_path / "t.idx", "r", encoding="latin-1") as f:
        with pytest.raises(TypeError, match="binary mode"):
            read_idx(f)


@pytest.mark.parametrize("max_bytes, error", [(-1, ValueError), ("10", TypeError),
                                              (1.5, TypeError)])
def test_read_idx_checks_max_bytes(max_bytes, error):
    with pytest.raises(error, match="max_bytes"):
        read_idx(io.BytesIO(GOOD), max_bytes=max_bytes)


def test_good_streams_still_read():
    np.testing.assert_array_equal(read_idx(io.BytesIO(GOOD)), [1, 2, 3])


def test_load_idx_of_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        load_idx(tmp_path / "nope.idx")
