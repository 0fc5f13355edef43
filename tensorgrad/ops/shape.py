"""Shape primitives: reshape, transpose, broadcasting and its adjoint, indexing, joining."""
import math

import numpy as np

from ..errors import ShapeError
from ..inputs import as_input
from ..registry import primitive
from ..tensor import Tensor, shape_of

__all__ = ["broadcast_to", "cat", "concatenate", "expand_dims", "flatten", "getitem", "index_add",
           "repeat", "reshape", "squeeze", "stack", "sum_to_shape", "swapaxes", "tile", "transpose"]


@primitive
def reshape(x, shape=None):
    """x with a new shape of the same size (NumPy's ``reshape``; one ``-1`` allowed).

    Raises ShapeError when the sizes differ. The gradient is reshaped back."""
    try:
        return np.reshape(x, shape)
    except ValueError:
        raise ShapeError(f"reshape: cannot reshape an array of shape {shape_of(x)} "
                         f"(size {np.size(x)}) into shape {shape}") from None


reshape.defvjp(lambda g, out, x, shape: reshape(g, shape=shape_of(x)))


@primitive
def transpose(x, axes=None):
    """x with its axes permuted (NumPy's ``transpose``: ``axes=None`` reverses them).
    The gradient is permuted by the inverse permutation."""
    n = np.ndim(x)
    if axes is not None and (len(axes) != n or any(not -n <= a < n for a in axes)
                             or sorted(a % n for a in axes) != list(range(n))):
        raise ShapeError(f"transpose: axes {tuple(axes)} are not a permutation of the "
                         f"{np.ndim(x)} axes of shape {shape_of(x)}")
    return np.transpose(x, axes)


def _transpose_vjp(g, out, x, axes):
    if axes is None:
        return transpose(g)
    return transpose(g, axes=tuple(np.argsort([a % np.ndim(x) for a in axes])))


transpose.defvjp(_transpose_vjp)


def swapaxes(x, axis1, axis2):
    """x with two axes interchanged (NumPy's ``swapaxes``), via :func:`transpose`."""
    x = as_input("swapaxes", 0, x)
    n = np.ndim(x)
    if not (-n <= axis1 < n and -n <= axis2 < n):
        raise ShapeError(f"swapaxes: axes ({axis1}, {axis2}) are out of range for an input of "
                         f"shape {shape_of(x)}")
    axes = list(range(n))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes=tuple(axes))


@primitive
def broadcast_to(x, shape=None):
    """x broadcast to ``shape`` (NumPy's ``broadcast_to``, a read-only view).
    Its VJP is :func:`sum_to_shape`."""
    try:
        return np.broadcast_to(x, shape)
    except ValueError:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {shape_of(x)} to {shape}") from None


broadcast_to.defvjp(lambda g, out, x, shape: sum_to_shape(g, shape=shape_of(x)))


@primitive
def sum_to_shape(x, shape=None):
    """Sum x down to ``shape``, the adjoint of broadcasting: leading axes are summed away and
    axes where ``shape`` has 1 are summed with keepdims. Its VJP is :func:`broadcast_to`."""
    shape = tuple(shape)
    lead = np.ndim(x) - len(shape)
    if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, shape_of(x)[lead:])):
        raise ShapeError(f"sum_to_shape: shape {shape} does not broadcast to the input's shape "
                         f"{shape_of(x)}, so the input cannot be summed down to it")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and shape_of(x)[lead + i] != 1)
    out = np.sum(x, axis=axes, keepdims=True) if axes else np.asarray(x)
    return out.reshape(shape)


sum_to_shape.defvjp(lambda g, out, x, shape: broadcast_to(g, shape=shape_of(x)))


def _plain_index(index):
    """Tensors inside an index become their arrays (indices carry no gradient)."""
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


def _has_advanced(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
               for i in items)


@primitive
def getitem(x, index=None):
    """``x[index]`` with NumPy's indexing: basic slicing (negative steps, ``...``, ``None``),
    integer arrays (repeated indices accumulate their gradients) and boolean masks.

    Raises IndexError like NumPy. The VJP scatters g into zeros of x's shape
    (:func:`index_add`)."""
    return np.asarray(x)[_plain_index(index)]


getitem.defvjp(lambda g, out, x, index: index_add(g, shape=shape_of(x), index=index))


@primitive
def index_add(g, shape=None, index=None):
    """Zeros of ``shape`` with g added at ``index`` (``np.add.at``: repeated indices
    accumulate), the adjoint of :func:`getitem`. Basic slices use plain assignment."""
    index = _plain_index(index)
    out = np.zeros(shape, dtype=np.result_type(g))
    if _has_advanced(index):
        np.add.at(out, index, g)
    else:
        out[index] = g
    return out


index_add.defvjp(lambda g, out, x, shape, index: getitem(g, index=index))


@primitive
def concatenate(*xs, axis=0):
    """Forward: join arrays along an existing axis (NumPy's ``concatenate``)."""
    try:
        return np.concatenate(xs, axis=axis)
    except ValueError as e:
        shapes = ", ".join(str(shape_of(x)) for x in xs)
        raise ShapeError(f"concatenate: cannot join shapes {shapes} along axis {axis}: {e}") from None


def _concatenate_vjp(argnum, g, out, *xs, axis):
    start = sum(shape_of(x)[axis] for x in xs[:argnum])
    index = [slice(None)] * np.ndim(out)
    index[axis] = slice(start, start + shape_of(xs[argnum])[axis])
    return getitem(g, index=tuple(index))


concatenate.defvjp_argnum(_concatenate_vjp)


@primitive
def stack(*xs, axis=0):
    """Forward: join same-shaped arrays along a new axis (NumPy's ``stack``)."""
    try:
        return np.stack(xs, axis=axis)
    except ValueError as e:
        shapes = ", ".join(str(shape_of(x)) for x in xs)
        raise ShapeError(f"stack: cannot stack shapes {shapes} along axis {axis}: {e}") from None


def _stack_vjp(argnum, g, out, *xs, axis):
    index = [slice(None)] * np.ndim(out)
    index[axis] = argnum
    return getitem(g, index=tuple(index))


stack.defvjp_argnum(_stack_vjp)


def _sequence(name, seq):
    """``seq`` as a tuple of array arguments; TypeError naming ``name`` unless it is a
    non-empty list, tuple, Tensor or array (those are sequences along their first axis, as
    in NumPy)."""
    if isinstance(seq, (Tensor, np.ndarray)) and np.ndim(seq) > 0:
        return tuple(seq)
    if not isinstance(seq, (list, tuple)):
        raise TypeError(f"{name}: seq must be a list or tuple of Tensors or arrays, got "
                        f"{type(seq).__name__}")
    if not seq:
        raise ValueError(f"{name}: seq is empty; expected at least one array")
    return tuple(seq)


@concatenate.defcall
def concatenate(seq, axis=0):
    """Join a sequence of Tensors/arrays of equal shape except along ``axis``.

    Parameters
    ----------
    seq : sequence of Tensor or array-like
    axis : int

    Returns
    -------
    Tensor whose size along ``axis`` is the sum of the inputs'.

    Raises
    ------
    ShapeError
        Shapes that differ elsewhere than along ``axis``.

    Same as ``numpy.concatenate`` / ``torch.cat``; each input's gradient is its slice of g.
    """
    return concatenate.bind(*_sequence("concatenate", seq), axis=axis)


@stack.defcall
def stack(seq, axis=0):
    """Join a sequence of same-shaped Tensors/arrays along a new ``axis``.

    Returns a Tensor of shape ``shape[:axis] + (len(seq),) + shape[axis:]``; ShapeError for
    differing shapes. Same as ``numpy.stack`` / ``torch.stack``."""
    return stack.bind(*_sequence("stack", seq), axis=axis)


def cat(tensors, dim=0):
    """PyTorch's name for :func:`concatenate`: join ``tensors`` along the existing axis
    ``dim``. Same result, gradient and errors (recorded as ``concatenate``)."""
    return concatenate.bind(*_sequence("cat", tensors), axis=dim)


def _axis_index(name, argument, axis, n, shape):
    """``axis`` as a non-negative index into ``n`` axes (negative ones count from the end);
    TypeError unless it is an int, ShapeError when it is out of range. ``shape`` is for the
    message."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: {argument} must be an int, got {axis!r}")
    if not -n <= axis < n:
        raise ShapeError(f"{name}: {argument} {axis} is out of range for an input of shape "
                         f"{shape} (expected -{n} <= {argument} < {n})")
    return int(axis) % n


def flatten(x, start_dim=0, end_dim=-1):
    """x with the axes ``start_dim`` to ``end_dim`` (both included) merged into one, via
    :func:`reshape` (PyTorch's ``flatten``). The defaults flatten everything into a 1-D
    tensor, as NumPy's ``ravel`` and ``ndarray.flatten()`` do; a 0-d x becomes shape (1,).

    Raises
    ------
    TypeError
        ``start_dim`` or ``end_dim`` is not an int.
    ShapeError
        Either is out of range, or ``start_dim`` comes after ``end_dim``.
    """
    x = as_input("flatten", 0, x)
    if start_dim == 0 and end_dim == -1 and type(start_dim) is int and type(end_dim) is int:
        return reshape(x, shape=(-1,))  # everything (also a 0-d x, to (1,)): the common call
    shape = shape_of(x)
    n = max(len(shape), 1)  # a 0-d input takes dims 0 and -1 (PyTorch's rule)
    start = _axis_index("flatten", "start_dim", start_dim, n, shape)
    end = _axis_index("flatten", "end_dim", end_dim, n, shape)
    if start > end:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for an "
                         f"input of shape {shape}")
    if not shape:
        return reshape(x, shape=(1,))
    return reshape(x, shape=shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def squeeze(x, axis=None):
    """x without axes of length 1 (NumPy's ``squeeze``), via :func:`reshape`.

    Parameters
    ----------
    x : Tensor or array-like
    axis : None, int or tuple of ints
        None removes every axis of length 1; otherwise exactly the axes named, each of
        which must have length 1 (NumPy's rule; PyTorch's ``squeeze(dim)`` skips them
        instead, which ``Tensor.squeeze(dim=...)`` does).

    Raises
    ------
    TypeError
        ``axis`` is not None, an int or a tuple of ints.
    ShapeError
        An axis is out of range, repeated, or of a length other than 1.
    """
    x = as_input("squeeze", 0, x)
    shape = shape_of(x)
    if axis is None:
        return reshape(x, shape=tuple(s for s in shape if s != 1))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    n = max(len(shape), 1)  # NumPy lets a 0-d array squeeze axis 0 or -1
    picked = {_axis_index("squeeze", "axis", a, n, shape) for a in axes}
    if len(picked) != len(axes):
        raise ShapeError(f"squeeze: axis {axis} repeats an axis")
    wide = [a for a in sorted(picked) if shape and shape[a] != 1]
    if wide:
        raise ShapeError(f"squeeze: cannot remove axis {wide[0]} of length {shape[wide[0]]} "
                         f"from an input of shape {shape}; only axes of length 1 can be "
                         "squeezed")
    return reshape(x, shape=tuple(s for i, s in enumerate(shape) if i not in picked))


def expand_dims(x, axis):
    """x with a new axis of length 1 at ``axis`` (NumPy's ``expand_dims``), via reshape."""
    x = as_input("expand_dims", 0, x)
    shape = list(shape_of(x))
    axis = _axis_index("expand_dims", "axis", axis, len(shape) + 1, shape_of(x))
    shape.insert(axis, 1)
    return reshape(x, shape=tuple(shape))


def repeat(x, repeats, axis=None):
    """Each element repeated ``repeats`` times along ``axis`` (NumPy's ``repeat``; ``axis``
    None repeats the elements of the flattened x), via :func:`getitem` with repeated
    indices, so each input element's gradient sums its copies'.

    ``repeats`` is an int or one int per element along the axis. PyTorch's
    ``x.repeat(*sizes)`` tiles the whole tensor instead: that is :func:`tile`.

    Raises
    ------
    ShapeError
        ``axis`` out of range.
    ValueError
        Negative repeats, or a sequence of repeats of the wrong length.
    """
    x = as_input("repeat", 0, x)
    if axis is None:
        x, axis = flatten(x), 0
    shape = shape_of(x)
    axis = _axis_index("repeat", "axis", axis, len(shape), shape) if shape else 0
    if not shape:
        x, shape = reshape(x, shape=(1,)), (1,)
    try:
        index = np.repeat(np.arange(shape[axis]), repeats)
    except (TypeError, ValueError) as e:
        raise ValueError(f"repeat: cannot repeat the {shape[axis]} elements along axis {axis} "
                         f"by repeats={repeats!r}: {e}") from None
    return getitem(x, index=(slice(None),) * axis + (index,))


def tile(x, reps):
    """x repeated as a whole ``reps[i]`` times along each axis (NumPy's ``tile``, and
    PyTorch's ``tile``; PyTorch's ``x.repeat(*sizes)`` for ``len(sizes) >= x.ndim``).

    ``reps`` is an int or a tuple; when shorter than x's dimensions it is padded with 1s in
    front, when longer x gets new leading axes. Built from :func:`broadcast_to` (each copy
    a view) and :func:`reshape`: the gradient sums the copies.

    Raises TypeError for reps that are not ints, ValueError for negative ones."""
    x = as_input("tile", 0, x)
    reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
    if not all(isinstance(r, (int, np.integer)) and not isinstance(r, bool) for r in reps):
        raise TypeError(f"tile: reps must be an int or a tuple of ints, got {reps!r}")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be >= 0, got {reps}")
    shape = shape_of(x)
    n = max(len(shape), len(reps))
    shape = (1,) * (n - len(shape)) + shape
    reps = (1,) * (n - len(reps)) + reps
    interleaved = tuple(v for pair in zip((1,) * n, shape) for v in pair)
    spread = tuple(v for pair in zip(reps, shape) for v in pair)
    tiled = broadcast_to(reshape(x, shape=interleaved), shape=spread)
    return reshape(tiled, shape=tuple(r * s for r, s in zip(reps, shape)))
