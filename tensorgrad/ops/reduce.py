"""Reductions: sum, mean, max, min, logsumexp (with SciPy's weights ``b``), var, std,
argmax, argmin. NumPy's ``axis``/``keepdims`` semantics.

Edge cases follow PyTorch (docs/conventions.md): a 0-d input reduces over axis 0 or -1 (or
None) to a 0-d result whose gradient passes through; over a zero-length axis ``sum`` gives
0, ``mean`` NaN (no warning), ``logsumexp`` -inf, and ``max``/``min`` raise ShapeError.
"""
import builtins
import collections
import math

import numpy as np

from ..errors import ShapeError
from ..inputs import as_input
from ..registry import primitive
from ..tensor import Tensor, shape_of
from .elementwise import _values, exp, sqrt, where
from .shape import broadcast_to, expand_dims, getitem, reshape, sum_to_shape

__all__ = ["argmax", "argmin", "logsumexp", "max", "mean", "min", "std", "sum", "var"]


def _axes(axis, ndim, op):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes.

    A 0-d input takes axis 0 or -1 (PyTorch's rule) and has no axes to reduce: ``()``."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if not isinstance(axes, (tuple, list)) or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    n = builtins.max(ndim, 1)
    if any(not -n <= a < n for a in axes):
        raise ShapeError(f"{op}: axis {axis} is out of range for an input of {ndim} dimension(s)")
    normal = tuple(sorted(a % n for a in axes))
    if len(set(normal)) != len(normal):
        raise ShapeError(f"{op}: axis {axis} repeats an axis")
    return normal if ndim else ()


def _axis_arg(axis, ndim, op):
    """``axis`` checked (``_axes``) and in a form NumPy takes: a list becomes a tuple, and
    a 0-d input's axis None (NumPy's ``mean`` refuses axis 0 there)."""
    _axes(axis, ndim, op)
    if ndim == 0:
        return None
    return tuple(axis) if isinstance(axis, list) else axis


def _reduces_empty(x, axis):
    """Whether some reduced axis of x has length 0 (then every result element reduces
    nothing). Costs one size check for a non-empty x."""
    if np.size(x):
        return False
    shape = shape_of(x)
    return any(shape[a] == 0 for a in _axes(axis, len(shape), "reduce"))


def _unreduce(g, x, axis, keepdims):
    """Broadcast a reduced cotangent (or result) back to x's shape."""
    shape = shape_of(x)
    if not keepdims:
        kept = list(shape)
        for a in _axes(axis, len(shape), "reduce"):
            kept[a] = 1
        g = reshape(g, shape=tuple(kept))
    return broadcast_to(g, shape=shape)


def _count(x, axis):
    shape = shape_of(x)
    return math.prod(shape[a] for a in _axes(axis, len(shape), "mean"))


@primitive
def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all; int or tuple), NumPy's ``sum``.
    The gradient is g broadcast back over the summed axes."""
    axis = _axis_arg(axis, np.ndim(x), "sum")
    return np.sum(x, axis=axis, keepdims=keepdims)


sum.defvjp(lambda g, out, x, axis, keepdims: _unreduce(g, x, axis, keepdims))
sum.defjvp(lambda t, out, x, axis, keepdims: sum(t, axis=axis, keepdims=keepdims))


@primitive
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``, NumPy's ``mean``. The gradient is g/n spread evenly,
    n the number of elements averaged. Over a zero-length axis the mean is NaN with no
    warning (PyTorch; NumPy warns), and the gradient is empty."""
    axis = _axis_arg(axis, np.ndim(x), "mean")
    if _reduces_empty(x, axis):
        with np.errstate(invalid="ignore"):
            return np.true_divide(np.sum(x, axis=axis, keepdims=keepdims), 0)
    return np.mean(x, axis=axis, keepdims=keepdims)


mean.defvjp(lambda g, out, x, axis, keepdims:
            _unreduce(g, x, axis, keepdims) / _count(x, axis))


def _extremum_vjp(g, out, x, axis, keepdims):
    """Gradient of max/min: to the elements equal to the result, shared evenly among ties;
    NaN over a slice whose result is NaN (PyTorch's ``amax``/``amin``: no element equals
    it, and g/0·0 is NaN)."""
    share = where(x == _unreduce(out, x, axis, keepdims), 1.0, 0.0)
    ties = _unreduce(sum(share, axis=axis, keepdims=keepdims), x, axis, keepdims)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _unreduce(g, x, axis, keepdims) / ties * share


def tie_distance(x, axis, extreme):
    """How far each element of x is from a tie for the extremum (``extreme``: np.max or
    np.min) of its slice along ``axis``: a non-extreme element's gap to it, an extreme one's
    gap to the runner-up (0 when tied, inf when alone): where max and min have their kinks."""
    gap = np.abs(x - extreme(x, axis=axis, keepdims=True))
    tied = np.sum(gap == 0, axis=axis, keepdims=True) > 1
    runner_up = np.min(np.where(gap > 0, gap, np.inf), axis=axis, keepdims=True)
    return np.where(gap > 0, gap, np.where(tied, 0.0, runner_up))


def _check_not_empty(x, axis, op, what):
    if _reduces_empty(x, axis):
        raise ShapeError(
            f"{op}: cannot take the {what} over a zero-length axis (input of shape "
            f"{shape_of(x)}, axis={axis!r}); an empty reduction has no {what} (NumPy and "
            f"PyTorch raise too)")


@primitive
def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``, NumPy's ``max`` (NaN wins). The gradient is shared evenly
    among the elements equal to the maximum, and NaN over a slice whose maximum is NaN
    (PyTorch's ``amax``). Raises ShapeError (a ValueError) over a zero-length axis."""
    axis = _axis_arg(axis, np.ndim(x), "max")
    _check_not_empty(x, axis, "max", "maximum")
    return np.max(x, axis=axis, keepdims=keepdims)


max.defvjp(_extremum_vjp)
max.defkinks(lambda x, axis, keepdims: tie_distance(x, _axis_arg(axis, np.ndim(x), "max"), np.max))


@primitive
def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``, NumPy's ``min``; gradient shared evenly among ties, NaN over
    a slice whose minimum is NaN (PyTorch's ``amin``). ShapeError over a zero-length axis."""
    axis = _axis_arg(axis, np.ndim(x), "min")
    _check_not_empty(x, axis, "min", "minimum")
    return np.min(x, axis=axis, keepdims=keepdims)


min.defvjp(_extremum_vjp)
min.defkinks(lambda x, axis, keepdims: tie_distance(x, _axis_arg(axis, np.ndim(x), "min"), np.min))


def _lse_terms(x, b):
    """(x, b) broadcast together, x set to -inf where b is 0 (those terms are dropped, as
    SciPy drops them, so that they do not set the maximum)."""
    x, b = np.broadcast_arrays(x, b)
    return np.where(b != 0, x, -np.inf), b


def _lse_sign(x, b, axis, keepdims):
    """The sign (-1, 0 or 1) of Σ b·exp(x) over ``axis``, on values (piecewise constant)."""
    x, b = _lse_terms(_values(x), _values(b))
    axis = _axis_arg(axis, x.ndim, "logsumexp")
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0)
    total = np.sum(b * np.exp(x - m), axis=axis, keepdims=keepdims)
    return np.sign(total).astype(np.result_type(x, b))


@primitive(optional=(1,))
def logsumexp(x, b, axis=None, keepdims=False, return_sign=False):
    """Forward of :func:`logsumexp` (``b`` None or an array broadcasting with x); with
    ``return_sign`` the log of the absolute value of the sum."""
    if b is not None:
        x, b = _lse_terms(x, b)
    axis = _axis_arg(axis, np.ndim(x), "logsumexp")
    if _reduces_empty(x, axis):
        with np.errstate(divide="ignore"):  # log(0) = -inf: the sum of no terms is 0
            s = np.log(np.sum(np.exp(x), axis=axis, keepdims=True))
    else:
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        if b is None:
            s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        else:
            total = np.sum(b * np.exp(x - m), axis=axis, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):  # a sum <= 0: -inf or NaN
                s = np.log(np.abs(total) if return_sign else total) + m
    return s if keepdims else np.squeeze(s, axis=axis)


def _lse_weights(g, out, x, b, axis, keepdims, return_sign):
    """g·exp(x - out) spread over the reduced axes (and the sign of the sum with
    ``return_sign``): d out/d b_i, and d out/d x_i divided by b_i."""
    shape = shape_of(x) if b is None else np.broadcast_shapes(shape_of(x), shape_of(b))
    spread = np.empty(shape, dtype=np.int8)  # the shape the terms have
    w = _unreduce(g, spread, axis, keepdims) * exp(x - _unreduce(out, spread, axis, keepdims))
    if b is not None and return_sign:
        w = w * _unreduce(_lse_sign(x, b, axis, keepdims), spread, axis, keepdims)
    return w


def _logsumexp_vjp_x(g, out, x, b, axis, keepdims, return_sign):
    shape = shape_of(x)
    if b is not None:
        xv, bv = np.broadcast_arrays(_values(x), _values(b))
        dropped = (bv == 0) & np.isinf(xv)
        if dropped.any():  # a dropped term at x = inf has gradient 0 (not 0·inf)
            x = where(dropped, 0.0, x)
    w = _lse_weights(g, out, x, b, axis, keepdims, return_sign)
    return w if b is None else sum_to_shape(w * b, shape=shape)


def _logsumexp_vjp_b(g, out, x, b, axis, keepdims, return_sign):
    return sum_to_shape(_lse_weights(g, out, x, b, axis, keepdims, return_sign),
                        shape=shape_of(b))


logsumexp.defvjp(_logsumexp_vjp_x, _logsumexp_vjp_b)


@logsumexp.defcall
def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(Σ b·exp(a)) over ``axis`` (None: all; an int or a tuple), as
    ``scipy.special.logsumexp`` computes it: m + log(Σ b·exp(a - m)) with m the maximum, so
    logits of magnitude 1000 give no overflow.

    Parameters
    ----------
    a : Tensor or array-like
    axis : None, int or tuple of ints
    b : Tensor or array-like, optional
        Weights broadcasting with ``a`` (SciPy's ``b``); terms with b = 0 are dropped.
        Differentiable: d/db_i = exp(a_i - out).
    keepdims : bool
    return_sign : bool
        Return (log|Σ b·exp(a)|, sign) -- the sign a Tensor without gradient -- so that a
        negative sum (possible with negative weights) is not NaN.

    Returns
    -------
    Tensor, or (Tensor, Tensor) with ``return_sign``.

    Over a zero-length axis the result is -inf, with no warning (PyTorch); a sum <= 0
    without ``return_sign`` gives -inf or NaN, as in SciPy. The gradient in ``a`` is
    g·b·exp(a - out) (g·softmax(a) without ``b``), times the sign with ``return_sign``.
    """
    out = logsumexp.bind(a, b, axis=axis, keepdims=keepdims, return_sign=return_sign)
    if not return_sign:
        return out
    if b is None:
        return out, Tensor._make(np.ones_like(out.data))
    ndim = len(np.broadcast_shapes(shape_of(a), shape_of(b)))
    return out, Tensor._make(_lse_sign(a, b, _axis_arg(axis, ndim, "logsumexp"), keepdims))


# -- spread: composites of the reductions above ------------------------------------------------

def var(x, axis=None, ddof=0, keepdims=False):
    """Variance over ``axis``: sum((x - mean)²) / (n - ddof), NumPy's ``var`` (``ddof=0`` by
    default, the population variance; PyTorch's default is the sample variance, ``ddof=1``,
    which ``Tensor.var(correction=1)`` spells). Built from :func:`mean` and :func:`sum`.

    n - ddof <= 0 gives inf or NaN (NumPy warns; here without a warning, as PyTorch).
    Raises TypeError for a ``ddof`` that is not a number, and the errors of :func:`sum`."""
    return _variance("var", x, axis, ddof, keepdims)


def std(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation sqrt(:func:`var`), NumPy's ``std`` (``ddof=0`` by default;
    PyTorch's default is ``ddof=1``).

    Where the variance is 0 (all values equal) std is a cone in x, not differentiable; the
    gradient there is 0, a subgradient, as PyTorch's (``masked_fill`` of its ``std``
    backward) and as :func:`tensorgrad.linalg.norm` at 0: never NaN. To all orders, since
    the square root only sees the variance where it is nonzero."""
    v = _variance("std", x, axis, ddof, keepdims)
    zero = v == 0
    return where(zero, 0.0, sqrt(where(zero, 1.0, v)))


def _variance(name, x, axis, ddof, keepdims):
    x = as_input(name, 0, x)
    _axes(axis, len(shape_of(x)), name)
    if isinstance(ddof, bool) or not isinstance(ddof, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: ddof must be a number, got {ddof!r}")
    deviation = x - mean(x, axis=axis, keepdims=True)
    n = _count(x, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sum(deviation * deviation, axis=axis, keepdims=keepdims) / builtins.max(
            n - ddof, 0)


# -- indices of extrema: integer results, no gradient -------------------------------------------

def _arg_axis(x, axis, op):
    """``axis`` for argmax/argmin: None or one int (NumPy takes no tuple), checked; a 0-d
    input takes axis 0 or -1 (PyTorch's rule) and gives index 0."""
    if axis is not None and (isinstance(axis, (bool, np.bool_))
                             or not isinstance(axis, (int, np.integer))):
        raise TypeError(f"{op}: axis must be None or an int, got {axis!r}")
    _check_not_empty(x, axis, op, "maximum" if op == "argmax" else "minimum")
    return None if np.ndim(x) == 0 else axis


@primitive(differentiable=False)
def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along ``axis`` (NumPy's ``argmax``): the first one among ties,
    NaN counting as the maximum (PyTorch's too); ``axis=None`` indexes the flattened array.
    An integer result (``np.intp``, int64 on 64-bit platforms) that never requires grad.

    Raises TypeError for an axis that is not None or an int, ShapeError (a ValueError) for
    an axis out of range or of length 0."""
    _axes(axis, np.ndim(x), "argmax")
    return np.argmax(x, axis=_arg_axis(x, axis, "argmax"), keepdims=keepdims)


@primitive(differentiable=False)
def argmin(x, axis=None, keepdims=False):
    """Index of the minimum along ``axis`` (NumPy's ``argmin``); as :func:`argmax`."""
    _axes(axis, np.ndim(x), "argmin")
    return np.argmin(x, axis=_arg_axis(x, axis, "argmin"), keepdims=keepdims)


MaxResult = collections.namedtuple("max", ["values", "indices"])
MinResult = collections.namedtuple("min", ["values", "indices"])


def extremum_with_indices(x, dim, keepdim, op):
    """PyTorch's ``x.max(dim)`` / ``x.min(dim)`` (``op`` "max" or "min"): a named tuple
    ``(values, indices)`` along the one axis ``dim``.

    ``indices`` is :func:`argmax` (:func:`argmin`); ``values`` gathers x at them, so the
    gradient goes to that one element (the first among ties), as PyTorch's does, where
    :func:`max` shares it among ties. Used by :meth:`Tensor.max` and :meth:`Tensor.min`."""
    arg = argmax if op == "max" else argmin
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}: dim must be one int for (values, indices), got {dim!r}; "
                        f"use axis= for NumPy's {op} over several axes")
    indices = arg(x, axis=dim)
    if np.ndim(x) == 0:
        values = reshape(x, shape=())
    else:
        axis = int(dim) % np.ndim(x)
        index = list(np.indices(indices.shape, sparse=True))
        index.insert(axis, indices.data)
        values = getitem(x, index=tuple(index))
    if keepdim and np.ndim(x):
        values, indices = expand_dims(values, dim), expand_dims(indices, dim)
    return (MaxResult if op == "max" else MinResult)(values, indices)
