"""``tg.save`` and ``tg.load``: state dicts in an ``.npz`` file, without pickle.

A state dict is a dict (nested or not) whose leaves are Tensors, ndarrays, NumPy scalars,
Python numbers, bools, strings and None, possibly inside lists and tuples: what
``Module.state_dict()`` and an optimiser's ``state_dict()`` return. :func:`save` writes each
array under a flat key, its path of dict keys and list positions joined by ``"/"`` (a model's
``"fc.weight"`` stays ``"fc.weight"``; an optimiser's ``state[0]["exp_avg"]`` is
``"state/0/exp_avg"``), so ``np.load(path)`` reads the arrays too; the structure and the
other leaves are written as JSON in one more entry, ``"__tensorgrad__"``. :func:`load` reads
with ``allow_pickle=False`` and rebuilds the same structure and types: int and str dict keys,
lists and tuples, Tensors and ndarrays, NumPy scalars and Python numbers (floats exactly,
nan and inf included). A plain ``np.savez`` file loads as a dict of its arrays.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load"]

_SCHEMA = "__tensorgrad__"
_FORMAT = 1
_ARRAY_KINDS = "biufcUS"  # no object arrays: they would need pickle


def _encode(obj, path, arrays):
    """The JSON node of ``obj`` (at key path ``path``); arrays are added to ``arrays``."""
    if isinstance(obj, (Tensor, np.ndarray, np.generic)):
        data = obj.data if isinstance(obj, Tensor) else np.asarray(obj)
        if data.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"save: the array at {_where(path)} has dtype {data.dtype}; only "
                            "numbers, bools and strings can be saved without pickle")
        key = "/".join(path)
        if key in arrays or key == _SCHEMA:
            raise ValueError(f"save: two entries share the flat key {key!r} (keys joined by "
                             "'/'); rename one so that the paths differ")
        arrays[key] = data
        kind = "tensor" if isinstance(obj, Tensor) else \
            "scalar" if isinstance(obj, np.generic) else "array"
        return {kind: key}
    if obj is None or isinstance(obj, (bool, str)):
        return {"value": obj}
    if isinstance(obj, Integral):
        return {"value": int(obj)}
    if isinstance(obj, Real):
        return {"value": float(obj)}
    if isinstance(obj, Mapping):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, Integral)):
                raise TypeError(f"save: dict keys must be str or int, got {k!r} "
                                f"({type(k).__name__}) at {_where(path)}")
            k = k if isinstance(k, str) else int(k)
            items.append([k, _encode(v, (*path, str(k)), arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, (*path, str(i)), arrays) for i, v in enumerate(obj)]}
    raise TypeError(f"save: cannot save a {type(obj).__name__} at {_where(path)}; a state dict "
                    "holds Tensors, arrays, numbers, bools, strings and None, in dicts, lists "
                    "and tuples (tensorgrad saves no pickled objects)")


def _where(path):
    return "the top level" if not path else "key " + "/".join(path)


def save(obj: Mapping, f) -> None:
    """Save a state dict to ``f`` as an ``.npz`` file, ``torch.save``'s role for state dicts.

    Parameters
    ----------
    obj : dict
        ``model.state_dict()``, an optimiser's ``state_dict()``, or any dict (nested
        dicts, lists, tuples) of Tensors, ndarrays, NumPy scalars, numbers, bools, strings and
        None. Keys are str or int.
    f : str, os.PathLike or binary file object
        Written exactly there (no ``.npz`` is appended); a path is written through a
        temporary file in the same folder and renamed, so an interrupted save leaves any
        previous file whole.

    Raises
    ------
    TypeError
        ``obj`` is not a dict, or holds something else (the message names its key path):
        arbitrary objects would need pickle, which tensorgrad neither writes nor reads.
        ``f`` is neither a path nor a file object.
    ValueError
        Two arrays whose key paths join to the same flat key (``{"a/b": x, "a": {"b": y}}``).
    FileNotFoundError
        The folder of ``f`` does not exist.

    Examples
    --------
    >>> import tempfile, os
    >>> import tensorgrad as tg
    >>> from tensorgrad import nn
    >>> model = nn.Linear(3, 2, rng=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> tg.save(model.state_dict(), path)
    >>> nn.Linear(3, 2, rng=1).load_state_dict(tg.load(path))
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: expected a state dict (a dict of arrays, numbers, ...), got "
                        f"{type(obj).__name__}")
    arrays = {}
    schema = {"format": _FORMAT, "tree": _encode(obj, (), arrays)}
    arrays[_SCHEMA] = np.array(json.dumps(schema))
    if hasattr(f, "write"):
        _write_npz(f, arrays)
        return
    _check_file("save", f)
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} of {path!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tg-save-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as out:
            _write_npz(out, arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _check_file(where, f):
    """Refuse an ``f`` that is neither a path nor a file object, naming ``where``."""
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"{where}: f must be a path (str or os.PathLike) or a binary file "
                        f"object, got {type(f).__name__} {f!r}")


def _write_npz(out, arrays):
    """Write ``arrays`` as ``np.savez`` does (one ``<key>.npy`` member each, uncompressed),
    never pickling; keys are not passed as keyword arguments, so any string is a key."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, a in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(a), allow_pickle=False)


def _decode(node, arrays, name):
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"load: {name} is damaged (unexpected structure entry {node!r})")
    (kind, v), = node.items()
    if kind == "value":
        return v
    if kind in ("array", "tensor", "scalar"):
        if v not in arrays:
            raise ValueError(f"load: {name} is damaged (the array {v!r} is missing)")
        a = arrays[v]
        return Tensor(a) if kind == "tensor" else a[()] if kind == "scalar" else a
    if kind == "dict":
        return {k: _decode(c, arrays, name) for k, c in v}
    if kind == "list":
        return [_decode(c, arrays, name) for c in v]
    if kind == "tuple":
        return tuple(_decode(c, arrays, name) for c in v)
    raise ValueError(f"load: {name} is damaged (unknown entry kind {kind!r})")


def load(f, map_location=None, weights_only=None) -> dict:
    """Load a state dict written by :func:`save` (``torch.load``'s role for state dicts).

    Parameters
    ----------
    f : str, os.PathLike or binary file object
    map_location : None or "cpu"
        Accepted for PyTorch's signature; everything loads as NumPy data.
    weights_only : bool or None
        Accepted for PyTorch's signature: only data is ever loaded (``allow_pickle=False``).

    Returns
    -------
    dict
        The saved structure, the same types (Tensors come back as Tensors that do not
        require grad, ndarrays as ndarrays). A plain ``np.savez`` file gives a dict of its
        arrays; ``model.load_state_dict`` accepts either.

    Raises
    ------
    TypeError
        ``f`` is neither a path nor a file object.
    FileNotFoundError
        ``f`` does not exist.
    IsADirectoryError
        ``f`` is a folder.
    ValueError
        ``f`` is not an ``.npz`` file (not a zip archive, or pickled data), or its structure
        entry is damaged; ``map_location`` other than None or "cpu".
    """
    if map_location not in (None, "cpu"):
        raise ValueError(f"load: map_location must be None or 'cpu' (tensorgrad runs on the CPU "
                         f"with NumPy), got {map_location!r}")
    if not hasattr(f, "read"):
        _check_file("load", f)
    name = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file"
    if isinstance(f, (str, os.PathLike)):
        if os.path.isdir(f):
            raise IsADirectoryError(f"load: {name} is a folder, not a file written by tg.save")
        if not os.path.exists(f):
            raise FileNotFoundError(f"load: no such file: {name}")
    if not zipfile.is_zipfile(f):
        raise ValueError(f"load: {name} is not an .npz file (a file written by tg.save or "
                         "np.savez)")
    if hasattr(f, "seek"):
        f.seek(0)
    try:
        with np.load(f, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"load: {name} cannot be read as an .npz file of arrays without "
                         f"pickle: {e}") from None
    if _SCHEMA not in arrays:
        return arrays
    try:
        schema = json.loads(str(arrays.pop(_SCHEMA)[()]))
        tree = schema["tree"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"load: {name} is damaged (its structure entry cannot be read: "
                         f"{e})") from None
    if schema.get("format") != _FORMAT:
        raise ValueError(f"load: {name} has format {schema.get('format')!r}; this tensorgrad "
                         f"reads format {_FORMAT}")
    return _decode(tree, arrays, name)
