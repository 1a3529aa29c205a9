"""IDX files (the MNIST format): a 4-byte magic number, the dimensions, the data.

The magic number is two zero bytes, a type code and the number of dimensions;
each dimension is a big-endian uint32; the data follows, big-endian, C order.
Files may be gzip-compressed (recognised by the gzip magic bytes, not by the
name). Every size claimed by the header is checked against the bytes actually
there before anything of that size is allocated, so a corrupt or hostile file
gives a ValueError, never a huge allocation or a read past the data.
"""
import gzip
import os
import struct
import zlib

import numpy as np

from nnfast._validation import check_int, check_readable_file

# type code -> big-endian dtype of the data
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
# gzip payloads are read in chunks, so that memory grows with the bytes that
# really decompress, not with what the header claims
_CHUNK = 1 << 20
# a header claiming more than this is refused before reading: a gzip stream
# can decompress to far more than its own size (a "zip bomb")
MAX_BYTES = 1 << 32


def load_idx(path, max_bytes=MAX_BYTES):
    """Read an IDX file, gzip-compressed or not.

    Parameters
    ----------
    path : str or os.PathLike
    max_bytes : int
        Largest data size accepted (default 4 GiB); a header claiming more
        is refused before anything is read or allocated.

    Returns
    -------
    ndarray of shape given by the header's dimensions
        In native byte order, dtype uint8, int8, int16, int32, float32 or
        float64 according to the type code (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E).

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        If ``path`` does not exist, or is a folder.
    ValueError
        On a bad magic number or type code, no dimensions, a truncated
        header or payload, data past the end of the payload, a claimed size
        above ``max_bytes``, a corrupt gzip stream, or a path that is not a
        regular file (a FIFO, a device).
    TypeError
        If ``path`` is not a path.
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    max_bytes = check_int(max_bytes, "max_bytes", 0)
    name = check_readable_file(path, "path", allow_bytes=True, what="IDX file")
    with open(name, "rb") as f:
        return read_idx(f, name, max_bytes)


def read_idx(f, name="<stream>", max_bytes=MAX_BYTES):
    """Read an IDX array from the seekable binary file object ``f`` (gzip or not).

    ``name`` is used in error messages. See ``load_idx``.
    """
    _check_binary_file(f)
    max_bytes = check_int(max_bytes, "max_bytes", 0)
    head = f.read(2)
    if head == GZIP_MAGIC:
        f.seek(0)
        with gzip.GzipFile(fileobj=f, mode="rb") as gz:
            try:
                return _read_idx_stream(gz, name, None, max_bytes)
            except (OSError, EOFError, zlib.error) as e:
                # gzip.BadGzipFile is an OSError; a cut-off stream is an EOFError
                raise ValueError(f"IDX file {name!r}: corrupt or truncated gzip data ({e})") from None
    f.seek(0)
    payload_size = None
    try:
        payload_size = os.fstat(f.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        pass  # not a real file (e.g. a package resource): read in chunks instead
    return _read_idx_stream(f, name, payload_size, max_bytes)


def _check_binary_file(f):
    """``f`` must be an open, seekable file object that reads bytes."""
    if not (callable(getattr(f, "read", None)) and callable(getattr(f, "seek", None))):
        raise TypeError(f"f must be a seekable binary file object (open(path, 'rb'), "
                        f"io.BytesIO), got {type(f).__name__}")
    if getattr(f, "closed", False):
        raise ValueError("f must be an open file object, got a closed one")
    seekable = getattr(f, "seekable", None)
    if callable(seekable) and not seekable():
        raise ValueError(f"f must be seekable (a file or io.BytesIO), got a "
                         f"{type(f).__name__} that cannot seek: read it into io.BytesIO first")
    if not isinstance(f.read(0), bytes):
        raise TypeError(f"f must be opened in binary mode (open(path, 'rb')), got a text "
                        f"stream {type(f).__name__}")


def _read_exact(f, n):
    """Up to ``n`` bytes from ``f``, read in bounded chunks."""
    chunks = []
    remaining = n
    while remaining > 0:
        chunk = f.read(min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_idx_stream(f, name, payload_size, max_bytes):
    """Parse an uncompressed IDX stream; ``payload_size`` is the file size if known."""
    magic = f.read(4)
    if len(magic) == 0:
        raise ValueError(f"IDX file {name!r} is empty")
    if len(magic) < 4:
        raise ValueError(f"IDX file {name!r} is truncated: {len(magic)} bytes, "
                         "shorter than the 4-byte magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(f"IDX file {name!r} has a bad magic number 0x{magic.hex()}: "
                         "expected two zero bytes, a type code and the number of dimensions")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"IDX file {name!r} has an unknown type code 0x{code:02X}: expected one of {known}")
    if ndim == 0:
        raise ValueError(f"IDX file {name!r} declares 0 dimensions: expected at least 1")
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise ValueError(f"IDX file {name!r} is truncated: the header declares {ndim} dimensions "
                         f"({4 * ndim} bytes) but only {len(raw_dims)} bytes follow the magic number")
    shape = struct.unpack(f">{ndim}I", raw_dims)
    dtype = IDX_DTYPES[code]
    # Python ints: no overflow however large the claimed dimensions are
    n_bytes = dtype.itemsize
    for d in shape:
        n_bytes *= d
    header = 4 + 4 * ndim
    if n_bytes > max_bytes:
        raise ValueError(f"IDX file {name!r} claims shape {shape} of {dtype.name} ({n_bytes} bytes), "
                         f"more than max_bytes={max_bytes}")
    if payload_size is not None:
        actual = payload_size - header
        if actual < n_bytes:
            raise ValueError(f"IDX file {name!r} is truncated or its header is wrong: shape {shape} of "
                             f"{dtype.name} needs {n_bytes} data bytes, the file holds {actual}")
        if actual > n_bytes:
            raise ValueError(f"IDX file {name!r} has {actual - n_bytes} bytes past the end of the data "
                             f"(shape {shape} of {dtype.name} needs {n_bytes})")
    data = _read_exact(f, n_bytes)
    if len(data) < n_bytes:
        raise ValueError(f"IDX file {name!r} is truncated or its header is wrong: shape {shape} of "
                         f"{dtype.name} needs {n_bytes} data bytes, the file holds {len(data)}")
    if f.read(1):
        raise ValueError(f"IDX file {name!r} has bytes past the end of the data "
                         f"(shape {shape} of {dtype.name} needs {n_bytes})")
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    # native byte order, and a writable array the caller owns
    return arr.astype(dtype.newbyteorder("="), copy=True)
