"""Indexing, diagonals and orderings with NumPy's semantics: ``take``, ``take_along_axis``,
``diag``, ``diagonal``, ``trace``, ``tril``, ``triu``, ``sort``, ``partition``.

Each gathering op's VJP scatters g back where its elements came from
(:func:`~tensorgrad.ops.shape.index_add`, whose own VJP gathers again, so every op here is
twice differentiable). ``sort`` and ``partition`` gather through the permutation that
orders the input: the permutation is piecewise constant in the input, so the gradient is
g sent back through it (at a tie the function has a kink and the gradient follows NumPy's
order of the tied elements, a valid subgradient; :meth:`~tensorgrad.Op.defkinks` tells
gradcheck where the ties are). Every op here is linear in its input, and declares the op
itself on the tangent as its forward-mode rule (sort and partition: the tangent read through
the permutation).
"""
import numpy as np

from ..inputs import as_input
from ..registry import primitive
from ..tensor import shape_of
from .elementwise import _values
from .reduce import sum
from .shape import _plain_index, index_add, reshape, sum_to_shape, transpose

__all__ = ["diag", "diagonal", "partition", "sort", "take", "take_along_axis", "trace", "tril",
           "triu"]


def _int_indices(name, indices):
    """Index values as an integer ndarray (Tensors give their values), else IndexError."""
    idx = np.asarray(_plain_index(indices))
    if idx.dtype.kind not in "iu" and not (idx.dtype.kind == "f" and idx.size == 0):
        raise IndexError(f"{name}: indices must be integers, got dtype {idx.dtype}")
    return idx.astype(np.intp)


def _along_axis(indices, axis, shape):
    """The integer-array index that reads ``indices`` along ``axis`` of an array of
    ``shape`` (``a[index] == np.take_along_axis(a, indices, axis)``): ``indices`` on that
    axis and a broadcast ``arange`` on each other one."""
    n = len(shape)
    return tuple(indices if d == axis else
                 np.arange(shape[d]).reshape((1,) * d + (-1,) + (1,) * (n - d - 1))
                 for d in range(n))


# ---- take ----------------------------------------------------------------------------------

@primitive
def take(a, indices=None, axis=None, mode="raise"):
    """Forward of :func:`take` (``indices`` an integer ndarray)."""
    return np.take(a, indices, axis=axis, mode=mode)


def _take_vjp(g, out, a, indices, axis, mode):
    shape = shape_of(a)
    n = int(np.prod(shape)) if axis is None else shape[axis % len(shape)]
    idx = (np.mod(indices, n) if mode == "wrap" else np.clip(indices, 0, n - 1)
           if mode == "clip" else indices)
    if axis is None:
        return reshape(index_add(g, shape=(n,), index=idx), shape=shape)
    return index_add(g, shape=shape, index=(slice(None),) * (axis % len(shape)) + (idx,))


take.defvjp(_take_vjp)
take.defjvp(lambda t, out, a, indices, axis, mode: take.bind(t, indices=indices, axis=axis,
                                                           mode=mode))


@take.defcall
def take(a, indices, axis=None, mode="raise"):
    """Elements of ``a`` at ``indices`` along ``axis`` (NumPy's ``take``): with ``axis=None``
    from the flattened ``a``; otherwise the result has shape ``a.shape[:axis] +
    indices.shape + a.shape[axis+1:]``. ``mode``: "raise" (IndexError out of range;
    negative indices count from the end), "wrap" or "clip". The gradient adds g at the
    indices taken (repeated indices accumulate). ``indices`` carry no gradient."""
    return take.bind(a, indices=_int_indices("take", indices), axis=axis, mode=mode)


@primitive
def take_along_axis(arr, indices=None, axis=-1):
    """Forward of :func:`take_along_axis`."""
    return np.take_along_axis(arr, indices, axis=axis)


def _take_along_axis_vjp(g, out, arr, indices, axis):
    shape = shape_of(arr)
    if axis is None:
        return reshape(index_add(g, shape=(int(np.prod(shape)),), index=indices), shape=shape)
    return index_add(g, shape=shape, index=_along_axis(indices, axis % len(shape), shape))


take_along_axis.defvjp(_take_along_axis_vjp)
take_along_axis.defjvp(lambda t, out, arr, indices, axis:
                       take_along_axis.bind(t, indices=indices, axis=axis))


@take_along_axis.defcall
def take_along_axis(arr, indices, axis=-1):
    """``arr`` read at ``indices`` along ``axis`` (NumPy's ``take_along_axis``), as the
    index arrays of ``argsort``/``argpartition``/``argmax(keepdims=True)`` give: ``indices``
    has ``arr``'s number of dimensions, and broadcasts with it on the other axes. With
    ``axis=None`` ``arr`` is flattened and ``indices`` is 1-D. The gradient adds g where
    each element came from."""
    return take_along_axis.bind(arr, indices=_int_indices("take_along_axis", indices),
                                axis=axis)


# ---- sort and partition --------------------------------------------------------------------

def _permuted_back(g, x, perm, axis):
    """g placed back through the permutation ``perm`` along ``axis`` (flattened x when
    axis is None): the adjoint of ``take_along_axis(x, perm, axis)``."""
    shape = shape_of(x)
    if axis is None:
        return reshape(index_add(g, shape=(int(np.prod(shape)),), index=perm), shape=shape)
    return index_add(g, shape=shape, index=_along_axis(perm, axis % len(shape), shape))


def _tie_gap(x, axis, **_):
    """How far each element is from another element of its slice along ``axis`` (0 at a
    tie): where sort and partition have their kinks."""
    x = np.asarray(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.ndim == 0 or x.shape[axis] < 2:
        return np.full(x.shape, np.inf)
    perm = np.argsort(x, axis=axis, kind="stable")
    gaps = np.diff(np.take_along_axis(x, perm, axis), axis=axis)
    pad = np.full_like(np.take(gaps, [0], axis=axis), np.inf)
    nearest = np.minimum(np.concatenate([pad, gaps], axis), np.concatenate([gaps, pad], axis))
    out = np.empty_like(nearest)
    np.put_along_axis(out, perm, nearest, axis)
    return out


@primitive
def sort(a, axis=-1, kind=None):
    """The elements of ``a`` in ascending order along ``axis`` (NumPy's ``sort``; None:
    the flattened array; NaN last). ``kind`` is NumPy's algorithm choice, which changes
    nothing in the result.

    The gradient is g sent back through the sorting permutation: an element receives the
    cotangent of the position it was sorted to. Tied elements (a kink) receive them in
    their original order (a stable argsort), so ``sort([1., 1.])`` passes g unchanged.
    """
    if np.ndim(a) == 0 and axis is not None:
        raise ValueError("sort: a 0-d input can only be sorted with axis=None")
    return np.sort(a, axis=axis, kind=kind)


def _sort_perm(a, axis):
    """The stable sorting permutation of a's values along ``axis`` (None: flattened)."""
    x = _values(a)
    return np.argsort(x.reshape(-1) if axis is None else x, axis=-1 if axis is None else axis,
                      kind="stable")


def _permuted(t, perm, axis):
    """t read through the permutation (flattened when axis is None): forward mode."""
    if axis is None:
        return take_along_axis.bind(reshape(t, shape=(-1,)), indices=perm, axis=-1)
    return take_along_axis.bind(t, indices=perm, axis=axis)


def _sort_vjp(g, out, a, axis, kind):
    return _permuted_back(g, a, _sort_perm(a, axis), axis)


sort.defvjp(_sort_vjp)
sort.defjvp(lambda t, out, a, axis, kind: _permuted(t, _sort_perm(a, axis), axis))
sort.defkinks(_tie_gap)


@primitive
def partition(a, kth=None, axis=-1, kind="introselect"):
    """Forward of :func:`partition`: the input read through ``np.argpartition``, so that the
    gradient goes back through the very permutation of the forward."""
    x = np.asarray(a)
    if axis is None:
        x, axis = x.reshape(-1), -1
    return np.take_along_axis(x, np.argpartition(x, kth, axis=axis, kind=kind), axis)


def _partition_perm(a, kth, axis, kind):
    """The permutation of the forward's ``np.argpartition`` (None: flattened)."""
    x = _values(a)
    flat = axis is None
    return np.argpartition(x.reshape(-1) if flat else x, kth, axis=-1 if flat else axis,
                           kind=kind)


def _partition_vjp(g, out, a, kth, axis, kind):
    return _permuted_back(g, a, _partition_perm(a, kth, axis, kind), axis)


partition.defvjp(_partition_vjp)
partition.defjvp(lambda t, out, a, kth, axis, kind:
                 _permuted(t, _partition_perm(a, kth, axis, kind), axis))
partition.defkinks(_tie_gap)


@partition.defcall
def partition(a, kth, axis=-1, kind="introselect"):
    """``a`` partially sorted along ``axis`` (NumPy's ``partition``): the element at
    position ``kth`` (an int or a sequence of ints) is the one a full sort puts there,
    smaller ones come before it and the others after, in NumPy's order (the result equals
    ``np.partition``'s). ``axis=None`` partitions the flattened array. The gradient goes
    back through the permutation, as for :func:`sort`; ties are a kink."""
    a = as_input("partition", 0, a)
    if np.ndim(a) == 0:
        raise ValueError("partition: cannot partition a 0-d input")
    if isinstance(kth, list):
        kth = tuple(kth)
    return partition.bind(a, kth=kth, axis=axis, kind=kind)


# ---- diagonals and triangles ---------------------------------------------------------------

def _diagonal_adjoint(g, shape, offset, axis1, axis2):
    """Zeros of ``shape`` with g (..., k) written on the diagonal ``offset`` of the axes
    (axis1, axis2): the adjoint of :func:`diagonal`."""
    n = len(shape)
    a1, a2 = axis1 % n, axis2 % n
    perm = [d for d in range(n) if d not in (a1, a2)] + [a1, a2]
    k = shape_of(g)[-1]
    rows, cols = np.arange(k) - min(offset, 0), np.arange(k) + max(offset, 0)
    moved = index_add(g, shape=tuple(shape[d] for d in perm), index=(Ellipsis, rows, cols))
    return transpose(moved, axes=tuple(np.argsort(perm).tolist()))


@primitive
def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal ``offset`` (>0 above the main one) of the 2-D slices along ``axis1``
    and ``axis2``, as a new last axis (NumPy's ``diagonal``): out[..., i] =
    a[..., i - min(offset, 0), ..., i + max(offset, 0), ...]. A copy, not NumPy's read-only
    view. The gradient writes g back on that diagonal, zeros elsewhere."""
    return np.diagonal(a, offset, axis1, axis2).copy()


diagonal.defvjp(lambda g, out, a, offset, axis1, axis2:
                _diagonal_adjoint(g, shape_of(a), offset, axis1, axis2))
diagonal.defjvp(lambda t, out, a, offset, axis1, axis2:
                diagonal(t, offset=offset, axis1=axis1, axis2=axis2))


def trace(a, offset=0, axis1=0, axis2=1):
    """The sum along the diagonal ``offset`` of the 2-D slices (``axis1``, ``axis2``)
    (NumPy's ``trace``): ``sum(diagonal(a, offset, axis1, axis2), axis=-1)``; the gradient
    is g on that diagonal."""
    a = as_input("trace", 0, a)
    if np.ndim(a) < 2:
        raise ValueError(f"trace: the input must have at least 2 dimensions, got shape "
                         f"{shape_of(a)}")
    try:
        d = diagonal(a, offset=offset, axis1=axis1, axis2=axis2)
    except (TypeError, ValueError, IndexError) as e:
        raise type(e)(f"trace: {e}") from e
    return sum(d, axis=-1)


@primitive
def diag(v, k=0):
    """NumPy's ``diag``: for a 1-D ``v`` (n,), the square matrix of side n + |k| with v on
    its diagonal ``k`` (zeros elsewhere); for a 2-D ``v``, its diagonal ``k`` (a copy).
    ValueError for another number of dimensions. The gradient of the first is the diagonal
    ``k`` of g, of the second g written back on that diagonal."""
    if np.ndim(v) not in (1, 2):
        raise ValueError(f"diag: the input must be 1-D or 2-D, got shape {shape_of(v)}")
    return np.diag(v, k).copy()


diag.defvjp(lambda g, out, v, k: diagonal(g, offset=k) if np.ndim(v) == 1 else
            _diagonal_adjoint(g, shape_of(v), k, 0, 1))
diag.defjvp(lambda t, out, v, k: diag(t, k=k))


def _triangle_vjp(triangle):
    def vjp(g, out, m, k):
        dm = triangle(g, k=k)
        return sum_to_shape(dm, shape=shape_of(m)) if np.ndim(m) < 2 else dm
    return vjp


@primitive
def tril(m, k=0):
    """The lower triangle of the last two axes: elements with column - row <= k kept, the
    others 0 (NumPy's ``tril``; a 1-D input is taken as the rows of a square matrix). The
    gradient is tril(g, k)."""
    if np.ndim(m) == 0:
        raise ValueError("tril: the input must have at least 1 dimension")
    return np.tril(m, k)


@primitive
def triu(m, k=0):
    """The upper triangle of the last two axes: elements with column - row >= k kept, the
    others 0 (NumPy's ``triu``). The gradient is triu(g, k)."""
    if np.ndim(m) == 0:
        raise ValueError("triu: the input must have at least 1 dimension")
    return np.triu(m, k)


tril.defvjp(_triangle_vjp(tril))
triu.defvjp(_triangle_vjp(triu))
tril.defjvp(lambda t, out, m, k: tril(t, k=k))
triu.defjvp(lambda t, out, m, k: triu(t, k=k))
