"""Rearranging arrays with NumPy's semantics: flipping, rolling, rotating, moving axes,
padding, splitting and joining.

``flip``, ``roll`` and ``pad`` are primitives (their VJPs are ``flip``, ``roll`` by the
opposite shift, and a crop or a scatter-add of the padded gradient; being linear, their
forward-mode rules are the op itself applied to the tangent). The others are
composites of primitives, so that their gradients come for free: ``ravel`` and
``atleast_1d/2d/3d`` reshape, ``fliplr``/``flipud``/``rot90`` flip and transpose,
``moveaxis`` transposes, the ``split`` family slices (:func:`~tensorgrad.ops.shape.getitem`)
and returns a list of Tensors, and ``vstack hstack dstack column_stack append`` concatenate.
Errors name the public function, also when a primitive underneath raised them.
"""
import contextlib
import operator

import numpy as np

from ..errors import ShapeError
from ..inputs import as_input, check_size
from ..registry import primitive
from ..tensor import shape_of
from .shape import _sequence, concatenate, getitem, index_add, reshape, transpose

__all__ = ["append", "array_split", "atleast_1d", "atleast_2d", "atleast_3d", "column_stack",
           "dsplit", "dstack", "flip", "fliplr", "flipud", "hsplit", "hstack", "moveaxis", "pad",
           "ravel", "roll", "rot90", "split", "vsplit", "vstack"]


@contextlib.contextmanager
def _named(name):
    """Re-raise a TypeError, ValueError or IndexError from the ops underneath as an error of
    the same type naming the public function ``name`` (unchanged when it does already)."""
    try:
        yield
    except (TypeError, ValueError, IndexError) as e:
        if str(e).startswith(f"{name}:"):
            raise
        raise type(e)(f"{name}: {e}") from e


def _axis_tuple(name, axis, ndim, arg="axis"):
    """``axis`` (an int or a sequence of ints) as a tuple of non-negative axes of an array of
    ``ndim`` dimensions; ShapeError naming ``name`` for an axis out of range or repeated,
    TypeError for a non-integer."""
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    try:
        axes = tuple(operator.index(a) for a in axes)
    except TypeError:
        raise TypeError(f"{name}: {arg} must be an int or a tuple of ints, got {axis!r}") from None
    if any(not -ndim <= a < ndim for a in axes):
        raise ShapeError(f"{name}: {arg} {axis!r} is out of range for an input of {ndim} "
                         f"dimension(s)")
    axes = tuple(a % ndim for a in axes)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{name}: {arg} {axis!r} repeats an axis")
    return axes


# ---- flip, roll, rotate, move axes ------------------------------------------------------------

@primitive
def flip(m, axis=None):
    """The elements of ``m`` in reverse order along ``axis`` (None: every axis; an int or a
    tuple), NumPy's ``flip``: out[..., i, ...] = m[..., n-1-i, ...]. The shape is kept. The
    gradient is g flipped along the same axes (flip is its own adjoint)."""
    if axis is not None:
        axis = _axis_tuple("flip", axis, np.ndim(m))
    return np.flip(m, axis)


flip.defvjp(lambda g, out, m, axis: flip(g, axis=axis))
flip.defjvp(lambda t, out, m, axis: flip(t, axis=axis))  # linear: the op on the tangent


def fliplr(m):
    """``m`` flipped along axis 1, its columns in reverse order (NumPy's ``fliplr``); ``m``
    needs at least 2 dimensions (ValueError otherwise). Via :func:`flip`."""
    m = as_input("fliplr", 0, m)
    if np.ndim(m) < 2:
        raise ValueError(f"fliplr: the input must have at least 2 dimensions, got shape "
                         f"{shape_of(m)}")
    return flip(m, axis=1)


def flipud(m):
    """``m`` flipped along axis 0, its rows in reverse order (NumPy's ``flipud``); ``m``
    needs at least 1 dimension (ValueError otherwise). Via :func:`flip`."""
    m = as_input("flipud", 0, m)
    if np.ndim(m) < 1:
        raise ValueError("flipud: the input must have at least 1 dimension, got a 0-d input")
    return flip(m, axis=0)


def _negated(shift):
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


@primitive
def roll(a, shift=0, axis=None):
    """``a`` rolled by ``shift`` along ``axis`` (NumPy's ``roll``): out[(i + shift) mod n] =
    a[i]; elements leaving one end come back at the other. ``axis=None`` rolls the flattened
    array and keeps the shape; ``shift`` and ``axis`` may be tuples of equal length (or an
    int shift for several axes). The gradient is g rolled back by ``-shift``."""
    if isinstance(shift, list):
        shift = tuple(shift)
    if axis is not None:
        axis = _axis_tuple("roll", axis, np.ndim(a))
    return np.roll(a, shift, axis)


roll.defvjp(lambda g, out, a, shift, axis: roll(g, shift=_negated(shift), axis=axis))
roll.defjvp(lambda t, out, a, shift, axis: roll(t, shift=shift, axis=axis))


def rot90(m, k=1, axes=(0, 1)):
    """``m`` rotated by 90° ``k`` times in the plane of ``axes``, from the first axis towards
    the second (NumPy's ``rot90``; k may be negative). Made of :func:`flip` and
    :func:`~tensorgrad.ops.shape.transpose`, as NumPy makes it.

    Raises
    ------
    ValueError
        ``axes`` not two different axes of ``m`` (which needs at least 2 dimensions).
    """
    m = as_input("rot90", 0, m)
    try:
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"rot90: k must be an int, got {k!r}") from None
    if not isinstance(axes, (tuple, list)) or len(axes) != 2:
        raise ValueError(f"rot90: axes must be a pair of axes, got {axes!r}")
    a0, a1 = _axis_tuple("rot90", axes, np.ndim(m), "axes")
    k %= 4
    if k == 0:  # a flip over no axis: a copy
        return flip(m, axis=())
    if k == 2:
        return flip(m, axis=(a0, a1))
    perm = list(range(np.ndim(m)))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, axis=a1), axes=tuple(perm))
    return flip(transpose(m, axes=tuple(perm)), axis=a1)


def moveaxis(a, source, destination):
    """``a`` with the axes ``source`` moved to the positions ``destination`` (ints or
    sequences of equal length), the other axes keeping their order (NumPy's ``moveaxis``).
    Via :func:`~tensorgrad.ops.shape.transpose`; ShapeError for an axis out of range."""
    a = as_input("moveaxis", 0, a)
    n = np.ndim(a)
    src = _axis_tuple("moveaxis", source, n, "source")
    dst = _axis_tuple("moveaxis", destination, n, "destination")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} must "
                         "have the same number of elements")
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, axes=tuple(order))


# ---- reshaping: ravel, atleast_nd ---------------------------------------------------------------

def ravel(a):
    """``a`` as a 1-D Tensor in C order (NumPy's ``ravel``), via reshape."""
    return reshape(as_input("ravel", 0, a), shape=(-1,))


def _atleast(name, arys, shape_for):
    out = [reshape(x, shape=shape_for(shape_of(x)))
           for x in (as_input(name, i, a) for i, a in enumerate(arys))]
    if not out:
        raise TypeError(f"{name}: expected at least one array")
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys):
    """Each input with at least 1 dimension (NumPy's ``atleast_1d``): a 0-d input becomes
    shape (1,), others are unchanged. One input gives a Tensor, several a tuple (NumPy 2)."""
    return _atleast("atleast_1d", arys, lambda s: s if len(s) >= 1 else (1,))


def atleast_2d(*arys):
    """Each input with at least 2 dimensions (NumPy's ``atleast_2d``): () -> (1, 1), (N,) ->
    (1, N). One input gives a Tensor, several a tuple (NumPy 2)."""
    return _atleast("atleast_2d", arys, lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s)


def atleast_3d(*arys):
    """Each input with at least 3 dimensions (NumPy's ``atleast_3d``): () -> (1, 1, 1), (N,)
    -> (1, N, 1), (M, N) -> (M, N, 1). One input gives a Tensor, several a tuple (NumPy 2)."""
    def shape(s):
        return {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s)

    return _atleast("atleast_3d", arys, shape)


# ---- padding ----------------------------------------------------------------------------------

_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_pairs(pad_width, ndim):
    """NumPy's ``pad_width`` forms (an int, (n,), (before, after), ((before, after),) or one
    pair per axis) as a tuple of ``ndim`` (before, after) pairs of non-negative ints."""
    arr = np.asarray(pad_width)
    if arr.dtype.kind not in "iub" and not (arr.dtype.kind == "f" and arr.size == 0):
        raise TypeError(f"pad: pad_width must hold integers, got {pad_width!r}")
    if ndim == 0:  # nothing to pad: NumPy returns a 0-d input as it is
        return ()
    try:
        pairs = np.broadcast_to(arr.astype(np.int64), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} cannot be broadcast to one (before, "
                         f"after) pair for each of the {ndim} axes") from None
    if np.any(pairs < 0):
        raise ValueError(f"pad: pad_width must not be negative, got {pad_width!r}")
    return tuple((int(b), int(a)) for b, a in pairs)


def _pad_index(n, before, after, mode):
    """The source index of each output position along one axis for the modes that copy
    input elements (edge, reflect, symmetric, wrap), as ``np.pad`` computes them."""
    i = np.arange(-before, n + after)
    if mode == "edge":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "symmetric":  # the edge element repeated: period 2n
        j = np.mod(i, 2 * n)
        return np.where(j < n, j, 2 * n - 1 - j)
    if n == 1:  # reflect about the edge element: period 2(n - 1)
        return np.zeros_like(i)
    j = np.mod(i, 2 * n - 2)
    return np.where(j < n, j, 2 * n - 2 - j)


@primitive
def pad(array, pad_width=None, mode="constant", constant_values=0):
    """Forward of :func:`pad`, with ``pad_width`` as (before, after) pairs, one per axis."""
    if not pad_width:  # a 0-d input
        return np.array(array)
    return np.pad(array, pad_width, mode=mode,
                  **({"constant_values": constant_values} if mode == "constant" else {}))


def _pad_vjp(g, out, x, pad_width, mode, constant_values):
    if mode == "constant":  # the padding is constant: the gradient is the inner block
        return getitem(g, index=tuple(slice(b, b + n) for (b, _), n in zip(pad_width, shape_of(x))))
    sources = [_pad_index(n, b, a, mode) for (b, a), n in zip(pad_width, shape_of(x))]
    return index_add(g, shape=shape_of(x), index=np.ix_(*sources))


pad.defvjp(_pad_vjp)
pad.defjvp(lambda t, out, x, pad_width, mode, constant_values:  # the constant has no tangent
           pad.bind(t, pad_width=pad_width, mode=mode, constant_values=0))


@pad.defcall
def pad(array, pad_width, mode="constant", *, constant_values=0):
    """``array`` padded (NumPy's ``pad``) in one of these modes:

    - ``"constant"`` (default): ``constant_values`` around the input (a number, or NumPy's
      per-axis (before, after) forms); the gradient is the inner block of g;
    - ``"edge"``: the edge values repeated; ``"reflect"``: mirrored about the edge element
      (``[1, 2, 3]`` padded by 2 gives ``[3, 2, 1, 2, 3, 2, 1]``); ``"symmetric"``: mirrored
      including the edge element; ``"wrap"``: periodic. Each output element is a copy of an
      input element, and the gradient adds g back onto it (``np.add.at``), so an input
      element copied k times receives the sum of its k cotangents.

    Parameters
    ----------
    array : Tensor or array-like
    pad_width : int or sequence
        NumPy's forms: ``n``, ``(n,)``, ``(before, after)``, or one (before, after) pair per
        axis; non-negative integers. Reflecting and wrapping may pad by more than the axis'
        length, as in NumPy.
    mode : str
    constant_values : number or sequence (``"constant"`` only; not differentiated)

    Raises
    ------
    ValueError
        An unknown mode, negative or ill-shaped ``pad_width``, or an empty axis padded by a
        mode other than "constant" (NumPy's rule).
    """
    array = as_input("pad", 0, array)
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    pairs = _pad_pairs(pad_width, np.ndim(array))
    if mode != "constant":
        empty = [i for i, ((b, a), n) in enumerate(zip(pairs, shape_of(array))) if n == 0 and b + a]
        if empty:
            raise ValueError(f"pad: cannot pad the empty axis {empty[0]} of shape "
                             f"{shape_of(array)} in mode {mode!r}; only mode 'constant' can")
    check_size("pad", "result", [n + b + a for n, (b, a) in zip(shape_of(array), pairs)],
               np.result_type(array), hint="check pad_width")
    if mode == "constant" and not np.isscalar(constant_values):
        constant_values = tuple(map(tuple, np.broadcast_to(
            np.asarray(constant_values, dtype=float), (np.ndim(array), 2)).tolist()))
    return pad.bind(array, pad_width=pairs, mode=mode, constant_values=constant_values)


# ---- splitting --------------------------------------------------------------------------------

def _split(name, ary, indices_or_sections, axis, equal):
    ary = as_input(name, 0, ary)
    if np.ndim(ary) == 0:
        raise ValueError(f"{name}: cannot split a 0-d input")
    (axis,) = _axis_tuple(name, axis, np.ndim(ary))
    n = shape_of(ary)[axis]
    if isinstance(indices_or_sections, (int, np.integer)) and not isinstance(
            indices_or_sections, (bool, np.bool_)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"{name}: the number of sections must be > 0, got {sections}")
        if equal and n % sections:
            raise ValueError(f"{name}: an axis of length {n} does not split into {sections} "
                             "equal sections (array_split allows unequal ones)")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    else:
        try:
            points = [operator.index(i) for i in indices_or_sections]
        except TypeError:
            raise TypeError(f"{name}: indices_or_sections must be an int or a sequence of ints, "
                            f"got {indices_or_sections!r}") from None
        bounds = [0] + points + [n]
    lead = (slice(None),) * axis
    return [getitem(ary, index=lead + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def split(ary, indices_or_sections, axis=0):
    """Split ``ary`` into a list of Tensors along ``axis`` (NumPy's ``split``): an int N
    gives N equal parts (ValueError if the length is not divisible), a sequence of indices
    the parts between them (``[2, 3]`` gives ``ary[:2], ary[2:3], ary[3:]``; out-of-range
    indices give empty parts, as slicing does). Each part is a slice (``getitem``) whose
    gradient reaches its own elements only."""
    return _split("split", ary, indices_or_sections, axis, equal=True)


def array_split(ary, indices_or_sections, axis=0):
    """As :func:`split`, but an int N need not divide the length n: the first n mod N parts
    get one element more (NumPy's ``array_split``)."""
    return _split("array_split", ary, indices_or_sections, axis, equal=False)


def hsplit(ary, indices_or_sections):
    """:func:`split` along axis 1 (axis 0 for a 1-D input), NumPy's ``hsplit``."""
    axis = 1 if np.ndim(as_input("hsplit", 0, ary)) > 1 else 0
    return _split("hsplit", ary, indices_or_sections, axis, equal=True)


def vsplit(ary, indices_or_sections):
    """:func:`split` along axis 0 of an input of at least 2 dimensions (NumPy's ``vsplit``)."""
    if np.ndim(as_input("vsplit", 0, ary)) < 2:
        raise ValueError("vsplit: the input must have at least 2 dimensions")
    return _split("vsplit", ary, indices_or_sections, 0, equal=True)


def dsplit(ary, indices_or_sections):
    """:func:`split` along axis 2 of an input of at least 3 dimensions (NumPy's ``dsplit``)."""
    if np.ndim(as_input("dsplit", 0, ary)) < 3:
        raise ValueError("dsplit: the input must have at least 3 dimensions")
    return _split("dsplit", ary, indices_or_sections, 2, equal=True)


# ---- joining ----------------------------------------------------------------------------------

def _arrays(name, tup):
    return [as_input(name, i, a) for i, a in enumerate(_sequence(name, tup))]


def vstack(tup):
    """Stack arrays vertically (NumPy's ``vstack``): each made at least 2-D (a 1-D (N,) is
    a row (1, N)), then concatenated along axis 0. Via concatenate."""
    with _named("vstack"):
        return concatenate([atleast_2d(a) for a in _arrays("vstack", tup)], axis=0)


def hstack(tup):
    """Stack arrays horizontally (NumPy's ``hstack``): along axis 1, or axis 0 when the
    inputs are 1-D; 0-d inputs become (1,)."""
    with _named("hstack"):
        arrs = [atleast_1d(a) for a in _arrays("hstack", tup)]
        return concatenate(arrs, axis=0 if np.ndim(arrs[0]) == 1 else 1)


def dstack(tup):
    """Stack arrays along the third axis (NumPy's ``dstack``): each made at least 3-D ((N,)
    -> (1, N, 1), (M, N) -> (M, N, 1)), then concatenated along axis 2."""
    with _named("dstack"):
        return concatenate([atleast_3d(a) for a in _arrays("dstack", tup)], axis=2)


def column_stack(tup):
    """Stack 1-D arrays as the columns of a 2-D array (NumPy's ``column_stack``): a 1-D
    (N,) becomes (N, 1), a 0-d () (1, 1); 2-D inputs are joined as they are, along axis 1."""
    def column(a):
        n = np.ndim(a)
        return reshape(a, shape=(-1, 1)) if n < 2 else a

    with _named("column_stack"):
        return concatenate([column(a) for a in _arrays("column_stack", tup)], axis=1)


def append(arr, values, axis=None):
    """``values`` appended to ``arr`` (NumPy's ``append``): with ``axis=None`` both are
    flattened first and the result is 1-D; otherwise they are concatenated along ``axis``
    (same shapes elsewhere, ShapeError otherwise)."""
    arr, values = as_input("append", 0, arr), as_input("append", 1, values)
    with _named("append"):
        if axis is None:
            return concatenate([ravel(arr), ravel(values)], axis=0)
        return concatenate([arr, values], axis=axis)
