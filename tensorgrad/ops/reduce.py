"""Reductions: sum, mean, max, min, logsumexp. NumPy's ``axis``/``keepdims`` semantics."""
import builtins

import numpy as np

from ..errors import ShapeError
from ..registry import primitive
from .elementwise import exp, where
from .shape import broadcast_to, reshape

__all__ = ["logsumexp", "max", "mean", "min", "sum"]


def _axes(axis, ndim, op):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes."""
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
    return normal


def _axis_arg(axis, ndim, op):
    """``axis`` checked (``_axes``) and in a form NumPy takes (a list becomes a tuple)."""
    _axes(axis, ndim, op)
    return tuple(axis) if isinstance(axis, list) else axis


def _unreduce(g, x, axis, keepdims):
    """Broadcast a reduced cotangent (or result) back to x's shape."""
    shape = np.shape(x)
    if not keepdims:
        kept = list(shape)
        for a in _axes(axis, len(shape), "reduce"):
            kept[a] = 1
        g = reshape(g, shape=tuple(kept))
    return broadcast_to(g, shape=shape)


def _count(x, axis):
    shape = np.shape(x)
    return int(np.prod([shape[a] for a in _axes(axis, len(shape), "mean")]))


@primitive
def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all; int or tuple), NumPy's ``sum``.
    The gradient is g broadcast back over the summed axes."""
    axis = _axis_arg(axis, np.ndim(x), "sum")
    return np.sum(x, axis=axis, keepdims=keepdims)


sum.defvjp(lambda g, out, x, axis, keepdims: _unreduce(g, x, axis, keepdims))


@primitive
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``, NumPy's ``mean``. The gradient is g/n spread evenly,
    n the number of elements averaged."""
    axis = _axis_arg(axis, np.ndim(x), "mean")
    if np.size(x) == 0:
        raise ShapeError(f"mean: cannot average an empty input of shape {np.shape(x)}")
    return np.mean(x, axis=axis, keepdims=keepdims)


mean.defvjp(lambda g, out, x, axis, keepdims:
            _unreduce(g, x, axis, keepdims) / _count(x, axis))


def _extremum_vjp(g, out, x, axis, keepdims):
    """Gradient of max/min: to the elements equal to the result, shared evenly among ties
    (PyTorch's ``amax``/``amin``)."""
    hit = x == _unreduce(out, x, axis, keepdims)
    share = where(hit, 1.0, 0.0)
    ties = _unreduce(sum(share, axis=axis, keepdims=keepdims), x, axis, keepdims)
    return where(hit, _unreduce(g, x, axis, keepdims) / ties, 0)


@primitive
def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``, NumPy's ``max`` (ValueError on an empty input). The gradient is
    shared evenly among the elements equal to the maximum (PyTorch's ``amax``)."""
    axis = _axis_arg(axis, np.ndim(x), "max")
    return np.max(x, axis=axis, keepdims=keepdims)


max.defvjp(_extremum_vjp)


@primitive
def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``, NumPy's ``min``; gradient shared evenly among ties
    (PyTorch's ``amin``)."""
    axis = _axis_arg(axis, np.ndim(x), "min")
    return np.min(x, axis=axis, keepdims=keepdims)


min.defvjp(_extremum_vjp)


@primitive
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, computed as m + log(sum(exp(x - m))) with m the
    maximum, so logits of magnitude 1000 give no overflow (``scipy.special.logsumexp``).
    The gradient is g·softmax(x)."""
    axis = _axis_arg(axis, np.ndim(x), "logsumexp")
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=axis)


logsumexp.defvjp(lambda g, out, x, axis, keepdims:
                 _unreduce(g, x, axis, keepdims) * exp(x - _unreduce(out, x, axis, keepdims)))
