"""Running sums and products, the product reduction, and the logical reductions, with
NumPy's semantics: ``cumsum``, ``cumprod``, ``prod``, ``all``, ``any``.

Zeros are exact in the products' gradients, with no division anywhere:

- ``prod``: d prod(x)/dx_i is the product of the other elements, the exclusive running
  product from the left times the one from the right (both ``cumprod``).
- ``cumprod``: with y = cumprod(x) along an axis, dL/dx_i = Σ_{j>=i} g_j Π_{k<=j, k≠i} x_k
  = y_{i-1} · S_i, where S_i = g_i + x_{i+1} S_{i+1} (S past the end is 0). That linear
  recurrence is solved by a doubling scan (Hillis-Steele): after step s,
  S_i = B_i + A_i S_{i+2^s}, with B ← B + A·shift(B), A ← A·shift(A): ⌈log₂ n⌉ steps of
  products and sums, so the VJP is a polynomial in x and g, twice differentiable, exact
  with one zero or many (PyTorch divides by x where no zero is and special-cases the
  first zero).

``cumsum`` and ``prod`` declare forward-mode rules (``cumsum`` of the tangent; Σ t·(product
of the others)); ``cumprod`` declares none, so ``tensorgrad.jvp`` takes the double-VJP route
through it. ``all`` and ``any`` return bool arrays and carry no gradient.
"""
import builtins

import numpy as np

from ..registry import primitive
from ..tensor import shape_of
from .reduce import _axes, _axis_arg, _unreduce, sum
from .shape import concatenate, getitem, reshape, transpose

__all__ = ["all", "any", "cumprod", "cumsum", "prod"]


def _last(x, axis):
    """(x with ``axis`` moved last, the permutation that moves it back); axis is normal."""
    n = len(shape_of(x))
    if axis == n - 1:
        return x, None
    perm = [d for d in range(n) if d != axis] + [axis]
    return transpose(x, axes=tuple(perm)), tuple(np.argsort(perm).tolist())


def _back(y, inverse):
    return y if inverse is None else transpose(y, axes=inverse)


def _shift(y, s, fill):
    """y moved s places towards the start along the last axis (y[..., i + s]), the last s
    places filled with the constant ``fill``: ``shift(y, 1)[i] = y[i + 1]``."""
    shape = shape_of(y)
    s = builtins.min(s, shape[-1])
    tail = np.full(shape[:-1] + (s,), fill, dtype=np.result_type(y))
    return concatenate([getitem(y, index=(Ellipsis, slice(s, None))), tail], axis=-1)


def _unshift(y, fill):
    """y moved one place towards the end along the last axis, ``fill`` first:
    ``unshift(y)[i] = y[i - 1]``."""
    shape = shape_of(y)
    head = np.full(shape[:-1] + (1,), fill, dtype=np.result_type(y))
    return concatenate([head, getitem(y, index=(Ellipsis, slice(None, -1)))], axis=-1)


def _reverse(y):
    return getitem(y, index=(Ellipsis, slice(None, None, -1)))


# ---- cumsum --------------------------------------------------------------------------------

@primitive
def cumsum(a, axis=None):
    """The running sum along ``axis`` (NumPy's ``cumsum``; None: over the flattened array,
    a 1-D result): out_j = Σ_{i<=j} a_i. The gradient is the reversed running sum of g,
    dL/da_i = Σ_{j>=i} g_j."""
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"cumsum: axis must be None or an int, got {axis!r}")
    return np.cumsum(a, axis=axis)


def _cumsum_vjp(g, out, a, axis):
    if axis is None or np.ndim(a) == 0:
        return reshape(_reverse(cumsum(_reverse(g), axis=0)), shape=shape_of(a))
    gl, inverse = _last(g, axis % np.ndim(a))
    return _back(_reverse(cumsum(_reverse(gl), axis=-1)), inverse)


cumsum.defvjp(_cumsum_vjp)
cumsum.defjvp(lambda t, out, a, axis: cumsum(t, axis=axis))


# ---- cumprod -------------------------------------------------------------------------------

@primitive
def cumprod(a, axis=None):
    """The running product along ``axis`` (NumPy's ``cumprod``; None: over the flattened
    array): out_j = Π_{i<=j} a_i.

    The gradient is exact with zeros and computes no quotient: dL/da_i = out_{i-1}·S_i with
    S_i = Σ_{j>=i} g_j Π_{i<k<=j} a_k, found by a doubling scan of ⌈log₂ n⌉ steps (see the
    module's docstring); it is twice differentiable."""
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"cumprod: axis must be None or an int, got {axis!r}")
    return np.cumprod(a, axis=axis)


def _cumprod_vjp(g, out, a, axis):
    flat = axis is None or np.ndim(a) == 0  # the forward scanned the flattened input
    inverse = None
    if flat:
        x = reshape(a, shape=(-1,))
    else:
        x, inverse = _last(a, axis % np.ndim(a))
        g, _ = _last(g, axis % np.ndim(a))
        out, _ = _last(out, axis % np.ndim(a))
    n = shape_of(x)[-1]
    if n == 0:
        grad = g
    else:
        coef, acc = _shift(x, 1, 0), g  # S_i = acc_i + coef_i · S_{i+s}, with s = 1
        s = 1
        while s < n:
            acc = acc + coef * _shift(acc, s, 0)
            coef = coef * _shift(coef, s, 0)
            s *= 2
        grad = _unshift(out, 1) * acc
    return reshape(grad, shape=shape_of(a)) if flat else _back(grad, inverse)


cumprod.defvjp(_cumprod_vjp)


# ---- prod ----------------------------------------------------------------------------------

def _others(x, axes):
    """For each element of x, the product of the other elements of its slice over
    ``axes``: the exclusive running products from both ends, multiplied (no division)."""
    shape = shape_of(x)
    kept = [d for d in range(len(shape)) if d not in axes]
    perm = kept + list(axes)
    n = int(np.prod([shape[d] for d in axes]))
    moved = reshape(transpose(x, axes=tuple(perm)), shape=tuple(shape[d] for d in kept) + (n,))
    left = cumprod(_unshift(moved, 1), axis=-1)
    right = _reverse(cumprod(_reverse(_shift(moved, 1, 1)), axis=-1))
    both = reshape(left * right, shape=tuple(shape[d] for d in perm))
    return transpose(both, axes=tuple(np.argsort(perm).tolist()))


@primitive
def prod(a, axis=None, keepdims=False):
    """The product over ``axis`` (None: all; an int or a tuple), NumPy's ``prod``; 1 over a
    zero-length axis.

    The gradient of each element is g times the product of the other elements of its
    slice, computed as exclusive running products from both ends: exact with zeros (one
    zero: only that element's gradient is nonzero; two: all are 0), no division."""
    axis = _axis_arg(axis, np.ndim(a), "prod")
    return np.prod(a, axis=axis, keepdims=keepdims)


def _prod_vjp(g, out, a, axis, keepdims):
    axes = _axes(axis, np.ndim(a), "prod")
    gx = _unreduce(g, a, axis, keepdims)
    if not axes or 0 in shape_of(a):  # one element per slice, or nothing to multiply
        return gx
    return gx * _others(a, axes)


prod.defvjp(_prod_vjp)


def _prod_jvp(t, out, a, axis, keepdims):
    axes = _axes(axis, np.ndim(a), "prod")
    if axes and 0 not in shape_of(a):
        t = t * _others(a, axes)
    return sum(t, axis=axis, keepdims=keepdims)


prod.defjvp(_prod_jvp)


# ---- all, any ------------------------------------------------------------------------------

@primitive(differentiable=False)
def all(a, axis=None, keepdims=False):  # noqa: A001 (NumPy's name)
    """Whether every element over ``axis`` is nonzero (NumPy's ``all``): a bool Tensor,
    True over a zero-length axis, never requiring grad."""
    axis = _axis_arg(axis, np.ndim(a), "all")
    return np.all(a, axis=axis, keepdims=keepdims)


@primitive(differentiable=False)
def any(a, axis=None, keepdims=False):  # noqa: A001 (NumPy's name)
    """Whether some element over ``axis`` is nonzero (NumPy's ``any``): a bool Tensor,
    False over a zero-length axis, never requiring grad."""
    axis = _axis_arg(axis, np.ndim(a), "any")
    return np.any(a, axis=axis, keepdims=keepdims)
