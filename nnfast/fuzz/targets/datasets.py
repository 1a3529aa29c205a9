"""``nf.datasets.load_idx`` and ``read_idx``: IDX files of every type code,
gzip-compressed or not, and corrupt ones (truncated header or data, a bad
magic number or type code, no dimensions, huge declared dimensions, bytes
past the data, a corrupt or truncated gzip stream, a gzip "bomb"), bad
``max_bytes``, bad paths (missing: FileNotFoundError; a folder; None) and
bad file objects (None, text streams, objects without read or seek).

A valid file must read back as the array written, in native byte order."""
import gzip
import io
import os
import pathlib
import struct

import numpy as np
from hypothesis import strategies as st

import nnfast as nf
from nnfast.fuzz.inputs import seeds, valid_int
from nnfast.fuzz.outcome import Garbage, check_array, expect, expect_file_not_found
from nnfast.fuzz.doubles import Unseekable
from nnfast.fuzz.targets import register

CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
CORRUPTIONS = (None,) * 6 + ("truncate_header", "truncate_data", "bad_magic", "bad_code",
                             "zero_dims", "huge_dims", "trailing", "gzip_corrupt",
                             "gzip_truncated", "bomb", "empty", "three_bytes", "max_bytes_small")
PATHS = ("good",) * 6 + ("pathlike", "bytes", "missing", "dir", "none", "int", "fileobj")
FILE_OBJECTS = ("bytesio", "bytesio", "none", "stringio", "no_read", "unseekable",
                "text_file", "closed")


@st.composite
def idx_case(draw):
    code = draw(st.sampled_from(sorted(CODES)))
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    max_bytes = draw(st.one_of(st.just(None), st.just(None), st.integers(0, 10**10),
                               st.sampled_from([-1, 1.5, True, None, "10", 2**70])))
    return {"code": code, "shape": shape, "gzip": draw(st.booleans()),
            "corruption": draw(st.sampled_from(CORRUPTIONS)), "max_bytes": max_bytes,
            "entry": draw(st.sampled_from(["load_idx", "load_idx", "read_idx"])),
            "path": draw(st.sampled_from(PATHS)), "file": draw(st.sampled_from(FILE_OBJECTS)),
            "seed": draw(seeds)}


def idx_bytes(array, code):
    """The IDX encoding of ``array`` with type code ``code``."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(CODES[code]).tobytes()


def _content(spec):
    """(file bytes, the array they must read back as or None, valid)."""
    rng = np.random.default_rng(spec["seed"])
    code, shape = spec["code"], spec["shape"]
    dt = np.dtype(CODES[code])
    if dt.kind == "f":
        array = rng.standard_normal(shape).astype(dt.newbyteorder("="))
    else:
        info = np.iinfo(dt)
        array = rng.integers(info.min, int(info.max) + 1, shape).astype(dt.newbyteorder("="))
    raw = idx_bytes(array, code)
    valid = True
    c = spec["corruption"]
    if c == "truncate_header":
        raw, valid = raw[:4 + 4 * array.ndim - 1], False
    elif c == "truncate_data":
        if array.size:
            raw, valid = raw[:-1], False
    elif c == "bad_magic":
        raw, valid = b"\x01" + raw[1:], False
    elif c == "bad_code":
        raw, valid = raw[:2] + b"\x0a" + raw[3:], False
    elif c == "zero_dims":
        raw, valid = bytes([0, 0, code, 0]) + raw[4 + 4 * array.ndim:], False
    elif c == "huge_dims":
        raw, valid = bytes([0, 0, code, 2]) + struct.pack(">2I", 2**32 - 1, 2**32 - 1), False
    elif c == "trailing":
        raw, valid = raw + b"\x00", False
    elif c == "empty":
        raw, valid = b"", False
    elif c == "three_bytes":
        raw, valid = b"\x00\x00\x08", False
    elif c == "bomb":
        # 3 GiB of zeros claimed and present, compressed to a few MB: more than
        # max_bytes below, refused before decompressing
        raw, valid = None, False
    if spec["gzip"] or c in ("gzip_corrupt", "gzip_truncated", "bomb"):
        if c == "bomb":
            raw = _bomb()
        else:
            raw = gzip.compress(raw, compresslevel=1, mtime=0)
        if c == "gzip_corrupt":
            b = bytearray(raw)
            b[len(b) // 2] ^= 0xFF
            b[-5] ^= 0xFF
            raw, valid = bytes(b), False
        elif c == "gzip_truncated":
            raw, valid = raw[:max(3, len(raw) // 2)], False
    return raw, (array if valid else None), valid


def _bomb():
    """A gzip stream of an IDX header claiming (2**30, 3) uint8 and its first
    megabyte of zeros: a header far beyond a small max_bytes."""
    header = bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 2**30, 3)
    return gzip.compress(header + b"\0" * (1 << 20), compresslevel=9, mtime=0)


def _file_object(kind, raw, ctx):
    if kind == "bytesio":
        return io.BytesIO(raw), True
    if kind == "none":
        return None, False
    if kind == "stringio":
        return io.StringIO(raw.decode("latin-1")), False
    if kind == "no_read":
        return object(), False
    if kind == "unseekable":
        return Unseekable(raw), False
    if kind == "closed":
        f = io.BytesIO(raw)
        f.close()
        return f, False
    path = ctx.path("text.idx")
    with open(path, "wb") as f:
        f.write(raw)
    return open(path, "r", encoding="latin-1"), False


@register("nf.datasets.load_idx/read_idx", idx_case(),
          ("path", "f", "max_bytes", "IDX file"), paths=True, weight=2.0)
def run_idx(spec, ctx):
    raw, expected, valid = _content(spec)
    max_bytes = spec["max_bytes"]
    kwargs = {}
    if max_bytes is not None or spec["corruption"] in ("bomb", "max_bytes_small"):
        mb = max_bytes
        if spec["corruption"] in ("bomb", "max_bytes_small"):
            mb = 1000 if spec["corruption"] == "bomb" else 0
            if spec["corruption"] == "max_bytes_small" and expected is not None:
                valid = expected.nbytes == 0
                expected = expected if valid else None
        kwargs["max_bytes"] = mb
        mb_ok = isinstance(mb, int) and not isinstance(mb, bool) and mb >= 0
        if not mb_ok:
            valid = False
        elif expected is not None and expected.nbytes > mb:
            valid = False
    if spec["entry"] == "read_idx":
        f, f_ok = _file_object(spec["file"], raw, ctx)
        try:
            result = expect(lambda: nf.datasets.read_idx(f, **kwargs), valid and f_ok,
                            f"read_idx({spec['file']})")
        finally:
            if hasattr(f, "close"):
                f.close()
    else:
        path = ctx.path("data.idx" + (".gz" if spec["gzip"] else ""))
        with open(path, "wb") as fh:
            fh.write(raw)
        kind = spec["path"]
        arg = {"good": path, "pathlike": pathlib.Path(path), "bytes": os.fsencode(path),
               "missing": ctx.path("missing.idx"), "dir": ctx.tmpdir, "none": None, "int": 3,
               "fileobj": io.BytesIO(raw)}[kind]
        if kind == "missing" and "max_bytes" not in kwargs or (
                kind == "missing" and valid_int(kwargs["max_bytes"], 0)):
            expect_file_not_found(lambda: nf.datasets.load_idx(arg, **kwargs), "load_idx")
        ok = kind in ("good", "pathlike", "bytes")    # a missing path with a bad max_bytes: either error
        result = expect(lambda: nf.datasets.load_idx(arg, **kwargs), valid and ok,
                        f"load_idx({kind})")
    if result is None or expected is None:
        return
    check_array(result, "IDX array", expected.shape, expected.dtype)
    if not np.array_equal(result, expected):
        raise Garbage("the IDX array read back differs from the one written")
    if not result.flags.writeable:
        raise Garbage("load_idx returned a read-only array")
