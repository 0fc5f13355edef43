"""The IDX file format MNIST is distributed in: writing (:func:`save_idx`) and streaming reads
that check every header field before anything is allocated."""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["save_idx"]

# --------------------------------------------------------------------------
# IDX format
# --------------------------------------------------------------------------
# Each IDX file starts with a 4-byte magic number: two zero bytes, a byte
# giving the element type, and a byte giving the number of dimensions. Then
# one big-endian uint32 per dimension, then the data in C order, big-endian.
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_TYPES.items()}

_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension

def save_idx(path, array):
    """Write an array to a file in the IDX format (gzipped if the name ends in ``.gz``).

    The IDX format is the one the MNIST files are distributed in: a 4-byte
    magic number (two zero bytes, a type code, the number of dimensions), one
    big-endian unsigned 32-bit integer per dimension, then the elements in C
    order, big-endian.  MNIST image files are ``uint8`` with 3 dimensions
    (magic 2051), label files ``uint8`` with 1 dimension (magic 2049).

    Parameters
    ----------
    path : str or os.PathLike
        File to write (overwritten if it exists).  If the name ends in
        ``.gz`` the file is gzip-compressed (level 6, the ``gzip`` tool's
        default, with a zero timestamp so the output is byte-for-byte
        reproducible).
    array : array_like
        Data of any shape with 1 to 255 dimensions, each smaller than 2**32,
        and one of the IDX element types: ``uint8`` (code 0x08), ``int8``
        (0x09), ``int16`` (0x0B), ``int32`` (0x0C), ``float32`` (0x0D) or
        ``float64`` (0x0E).  No conversion is made: cast first, e.g.
        ``labels.astype(np.uint8)`` for MNIST label files.

    Raises
    ------
    ValueError
        If the dtype has no IDX type code, or the shape cannot be written.

    Examples
    --------
    >>> save_idx("train-images-idx3-ubyte.gz", x_train)  # doctest: +SKIP
    >>> save_idx("train-labels-idx1-ubyte.gz", y_train.astype(np.uint8))  # doctest: +SKIP
    """
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=")
    if native not in _IDX_CODES:
        raise ValueError(
            f"save_idx: dtype {arr.dtype} has no IDX type code; expected one of "
            "uint8, int8, int16, int32, float32, float64 (cast the array first)"
        )
    if not 1 <= arr.ndim <= 255:
        raise ValueError(
            f"save_idx: expected an array with 1 to 255 dimensions, got {arr.ndim}"
        )
    if any(d >= 2**32 for d in arr.shape):
        raise ValueError(
            f"save_idx: every dimension must be < 2**32, got shape {arr.shape}"
        )
    code = _IDX_CODES[native]
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(
        f">{arr.ndim}I", *arr.shape
    )
    body = np.ascontiguousarray(arr, dtype=_IDX_TYPES[code]).tobytes()
    path = os.fspath(path)
    if path.endswith(".gz"):
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0
            ) as f,
        ):
            f.write(header)
            f.write(body)
    else:
        with open(path, "wb") as f:
            f.write(header)
            f.write(body)


_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data by more than about 1032:1
_CHUNK = 1 << 20


def _open_idx(path: Path):
    """``(stream, most)``: the file opened for reading, gunzipped if it is gzip data (sniffed,
    not by name), and for gzip the most bytes its content can hold (deflate's maximum ratio),
    so that a header can be checked before anything is decompressed; None for a plain file,
    whose reads stop at its end."""
    raw = open(path, "rb")
    if raw.read(2) == b"\x1f\x8b":  # gzip magic; an IDX file starts with two zero bytes
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb"), path.stat().st_size * _DEFLATE_MAX_RATIO
    raw.seek(0)
    return raw, None


def _read_exactly(stream, n: int, path: Path) -> bytes:
    """Up to ``n`` bytes from ``stream``, read in chunks (fewer only at the end of the data)."""
    parts, left = [], n
    try:
        while left > 0:
            chunk = stream.read(min(left, _CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({err})") from err
    return b"".join(parts)


def _read_idx(path: Path, expected_magic: int, what: str) -> np.ndarray:
    """Parse one IDX file, streaming: the header is checked against the file's possible
    size before the data is read, and reading stops one byte after the declared size."""
    stream, most = _open_idx(path)
    with stream:
        head = _read_exactly(stream, 4, path)
        if len(head) < 4:
            raise ValueError(
                f"{path}: file too short for an IDX header: expected at least 4 bytes, "
                f"got {len(head)}"
            )
        (magic,) = struct.unpack(">I", head)
        if magic != expected_magic:
            raise ValueError(
                f"{path}: wrong magic number for an IDX {what} file: expected "
                f"{expected_magic} (0x{expected_magic:08X}), got {magic} (0x{magic:08X})"
            )
        code, ndim = head[2], head[3]
        dtype = _IDX_TYPES[code]  # the magic check guarantees a known code
        header_len = 4 + 4 * ndim
        dim_bytes = _read_exactly(stream, 4 * ndim, path)
        if len(dim_bytes) < 4 * ndim:
            raise ValueError(
                f"{path}: truncated IDX header: {ndim} dimensions need {header_len} "
                f"header bytes, got {4 + len(dim_bytes)}"
            )
        dims = struct.unpack(f">{ndim}I", dim_bytes)
        expected = dtype.itemsize
        for d in dims:  # Python ints: no overflow, whatever the header says
            expected *= d
        shape = " x ".join(str(d) for d in dims)
        if most is not None and expected > most:
            raise ValueError(
                f"{path}: header says {shape} items = {expected} data bytes, more than "
                f"{path.stat().st_size} bytes of gzip data can hold"
            )
        data = _read_exactly(stream, expected + 1, path)
    got = len(data)
    if got != expected:
        kind = "truncated" if got < expected else "trailing bytes"
        detail = f"file has {got}" if got < expected else "file has more"
        raise ValueError(
            f"{path}: {kind}: header says {shape} items = {expected} data bytes, {detail}"
        )
    arr = np.frombuffer(data, dtype=dtype).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)  # writable, native order
