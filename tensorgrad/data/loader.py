"""Mini-batches: :func:`minibatches` over aligned arrays, and PyTorch's
:class:`Dataset`, :class:`TensorDataset` and :class:`DataLoader`.

Both loaders are re-iterable and have ``len`` (the number of batches); each pass (epoch)
over a shuffling loader draws a new permutation from its generator, as PyTorch's
``DataLoader`` does, so that ``for epoch in range(n): for xb, yb in loader: ...`` works.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .. import defaults
from .._random import as_generator
from ..inputs import flag
from ..tensor import Tensor

__all__ = ["minibatches", "Minibatches", "Dataset", "TensorDataset", "DataLoader"]


def _batch_size(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{where}: batch_size must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{where}: batch_size must be >= 1, got {value}")
    return int(value)


class _Batches:
    """The order of one pass: ``len`` and the index of each batch (a slice in order, rows
    of a permutation drawn at the start of each pass when shuffling)."""

    def __init__(self, n, batch_size, shuffle, drop_last, rng, where):
        self._n, self.batch_size, self.drop_last = n, batch_size, drop_last
        self.shuffle = shuffle
        # an int seed makes one generator now, so that the sequence of epochs is reproducible;
        # None reads tg's default generator at each pass (tg.manual_seed may replace it)
        self._generator = None if rng is None else as_generator(rng, where)

    def __len__(self) -> int:
        n, b = self._n, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def _indices(self):
        n, b = self._n, self.batch_size
        stop = n - n % b if self.drop_last else n
        if not self.shuffle:
            return (slice(start, start + b) for start in range(0, stop, b))
        order = (self._generator or defaults.default_generator()).permutation(n)
        return (order[start:start + b] for start in range(0, stop, b))


class Minibatches(_Batches):
    """What :func:`minibatches` returns: re-iterable, with ``len``."""

    def __init__(self, arrays, batch_size, shuffle, drop_last, rng):
        super().__init__(len(arrays[0]), batch_size, shuffle, drop_last, rng, "minibatches")
        self._arrays = arrays

    def __iter__(self):
        arrays = self._arrays
        for idx in self._indices():
            out = tuple(a[idx] for a in arrays)
            yield out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        return (f"minibatches({len(self)} batches of {self.batch_size} from {self._n} rows, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")


def minibatches(x, *arrays, batch_size, shuffle=True, rng=None, drop_last=False):
    """Aligned mini-batches of one or several arrays, for as many passes as wanted.

    Parameters
    ----------
    x, *arrays : array_like
        Arrays (or anything with ``len`` and NumPy-style integer-array indexing, such as
        Tensors) of the same length ``N`` along the first axis; lists and tuples are
        converted with ``numpy.asarray``.
    batch_size : int
        Rows per batch (keyword only), >= 1.  The last batch is smaller when
        ``batch_size`` does not divide ``N``, unless ``drop_last``.
    shuffle : bool, default True
        Visit the rows in a random order, a new permutation (shared by all arrays) at the
        start of every pass.  False: in order, and the batches of NumPy arrays are views.
    rng : numpy.random.Generator, int or None, default None
        Source of the permutations.  A Generator is used and advanced as is; an int seeds a
        new one here, so the same seed gives the same sequence of epochs; None draws from
        tensorgrad's default generator (``tg.manual_seed``).  NumPy's global random state is
        never used.
    drop_last : bool, default False
        Drop the last batch if it has fewer than ``batch_size`` rows.

    Returns
    -------
    Minibatches
        Re-iterable: each ``for`` loop over it is one pass (epoch).  ``len`` is the number
        of batches per pass, ``ceil(N / batch_size)`` (``floor`` with ``drop_last``).  Each
        batch is ``x[idx]`` with one array, the tuple ``(x[idx], a1[idx], ...)`` with
        several; every row appears exactly once per pass (except those dropped by
        ``drop_last``).

    Raises
    ------
    ValueError
        If the arrays differ in length, one is 0-dimensional, or ``batch_size`` < 1
        (raised at the call, not at the first batch).
    TypeError
        If ``batch_size`` is not an int, ``shuffle`` or ``drop_last`` not a bool, or ``rng``
        has the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> loader = minibatches(x, y, batch_size=2, rng=0)
    >>> len(loader), [len(yb) for _, yb in loader]
    (3, [2, 2, 1])
    >>> np.sort(np.concatenate([yb for _, yb in loader]))  # the second pass: all rows again
    array([0, 1, 2, 3, 4])
    """
    batch_size = _batch_size(batch_size, "minibatches")
    shuffle = flag(shuffle, "shuffle", "minibatches")
    drop_last = flag(drop_last, "drop_last", "minibatches")
    data = []
    for a in (x, *arrays):
        if isinstance(a, (list, tuple)) or not hasattr(a, "__getitem__"):
            a = np.asarray(a)
        if getattr(a, "ndim", 1) == 0:
            raise ValueError("minibatches: got a 0-dimensional array; need a first axis")
        data.append(a)
    lengths = [len(a) for a in data]
    if any(m != lengths[0] for m in lengths):
        raise ValueError(f"minibatches: arrays must have the same length, got {lengths}")
    return Minibatches(data, batch_size, shuffle, drop_last, rng)


class Dataset:
    """Base class of map-style datasets, as ``torch.utils.data.Dataset``: subclasses give
    ``__getitem__(i)`` (one sample) and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: __getitem__ is not implemented")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__}: __len__ is not implemented")


class TensorDataset(Dataset):
    """Samples that are rows of Tensors of the same length, as
    ``torch.utils.data.TensorDataset``.

    Parameters
    ----------
    *tensors : Tensor or array_like
        Each of shape ``(N, ...)``; arrays are wrapped as Tensors with their dtype (no copy
        of an ndarray).

    Attributes
    ----------
    tensors : tuple of Tensor

    Raises
    ------
    ValueError
        No tensors, a 0-d one, or lengths that differ.

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((4, 3)), np.arange(4))
    >>> len(ds), [t.shape for t in ds[1]]
    (4, [(3,), ()])
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in tensors)
        if any(t.ndim == 0 for t in tensors):
            raise ValueError("TensorDataset: got a 0-dimensional tensor; need a first axis")
        sizes = [t.shape[0] for t in tensors]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(f"TensorDataset: the tensors must have the same size along axis "
                             f"0, got shapes {[t.shape for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


def default_collate(samples):
    """Join a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors and ndarrays are stacked along a new first axis into a Tensor (their dtype;
    the values, not a graph); Python ints become an int64 Tensor and floats a float64 one
    (PyTorch's dtypes), NumPy scalars a Tensor of their dtype; tuples and lists are collated
    field by field into a list, dicts key by key; strings stay a list.

    Parameters
    ----------
    samples : list
        The samples of one batch, as the dataset's ``__getitem__`` returns them.

    Returns
    -------
    Tensor, list or dict
        The batch, with the batch along the first axis of every Tensor.

    Raises
    ------
    TypeError
        A sample of another type.
    ValueError
        Tuple or list samples of different lengths.
    """
    first = samples[0]
    if isinstance(first, Tensor):
        return Tensor(np.stack([s.data for s in samples]))
    if isinstance(first, (np.ndarray, np.generic)):
        return Tensor(np.stack([np.asarray(s) for s in samples]))
    if isinstance(first, (bool, Integral)):
        return Tensor(np.array(samples, dtype=np.int64))
    if isinstance(first, Real):
        return Tensor(np.array(samples, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError(f"default_collate: samples of different lengths "
                             f"{sorted({len(s) for s in samples})} in one batch")
        return [default_collate(list(field)) for field in zip(*samples)]
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "expected Tensors, ndarrays, numbers, strings, tuples, lists or dicts "
                    "(or pass collate_fn)")


class DataLoader(_Batches):
    """Batches of a dataset, as ``torch.utils.data.DataLoader`` (in the calling process).

    Parameters
    ----------
    dataset : Dataset
        Anything with ``__getitem__(i)`` and ``__len__`` (a :class:`TensorDataset`, a
        subclass of :class:`Dataset`, a list of samples).
    batch_size : int, default 1
    shuffle : bool, default False
        A new permutation of the samples at the start of every pass (epoch).
    drop_last : bool, default False
        Drop the last batch if it is smaller than ``batch_size``.
    rng : numpy.random.Generator, int or None, default None
        Source of the permutations (PyTorch's ``generator``): a Generator is used as is, an
        int seeds one here (the same seed gives the same sequence of epochs), None draws from
        tensorgrad's default generator (``tg.manual_seed``) at each pass.
    collate_fn : callable, optional
        Joins a list of samples into a batch; default :func:`default_collate`.

    Attributes
    ----------
    dataset, batch_size, shuffle, drop_last

    Yields
    ------
    Each batch, for a :class:`TensorDataset` (or samples that are tuples), is a list of
    Tensors ``[x_batch, y_batch, ...]`` with the batch along the first axis, as PyTorch
    yields it (``for xb, yb in loader`` unpacks it). ``len(loader)`` is the number of
    batches per pass.

    Raises
    ------
    TypeError
        ``dataset`` without ``__getitem__`` and ``__len__``; ``batch_size`` not an int;
        ``shuffle`` or ``drop_last`` not a bool; ``rng`` of the wrong type; ``collate_fn``
        not callable.
    ValueError
        ``batch_size`` < 1.

    Examples
    --------
    >>> import numpy as np
    >>> loader = DataLoader(TensorDataset(np.zeros((5, 2)), np.arange(5)), batch_size=2,
    ...                     shuffle=True, rng=0)
    >>> len(loader), [xb.shape for xb, yb in loader]
    (3, [(2, 2), (2, 2), (1, 2)])
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, rng=None, collate_fn=None) -> None:
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: dataset must have __getitem__ and __len__ (a "
                            f"map-style dataset), got {type(dataset).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
        super().__init__(len(dataset), _batch_size(batch_size, "DataLoader"),
                         flag(shuffle, "shuffle", "DataLoader"),
                         flag(drop_last, "drop_last", "DataLoader"), rng, "DataLoader")
        self.dataset = dataset
        self.collate_fn = collate_fn

    def __iter__(self):
        dataset, collate = self.dataset, self.collate_fn
        fast = collate is None and type(dataset) is TensorDataset
        arrays = [t.data for t in dataset.tensors] if fast else None
        collate = collate or default_collate
        for idx in self._indices():
            if fast:  # rows gathered at once: what collating each sample would give
                yield [Tensor(a[idx]) for a in arrays]
            else:
                rows = range(*idx.indices(self._n)) if isinstance(idx, slice) else idx
                yield collate([dataset[int(i)] for i in rows])

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {self._n} samples, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}; {len(self)} batches)")
