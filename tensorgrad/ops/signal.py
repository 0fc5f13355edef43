"""2-D correlation and convolution with SciPy's exact semantics (``scipy.signal``).

Forward passes call ``scipy.signal.correlate2d`` / ``convolve2d`` (compiled, no Python loop
over pixels). The VJPs are written with the family itself, so they are differentiable again:
for an output that is the window starting at ``r`` of the full correlation,

    dx = (g full-convolved with k)[kh-1-r : kh-1-r+xh]
    dk = (x full-correlated with g)[oh+r-kh : oh+r]

(and likewise along columns). In "valid" mode these are the notebook's
dX = dY *full k and dK = X ⋆ dY; the window helper calls "valid" mode whenever the window
is exactly the valid part, so no full product is computed for nothing.
"""
import scipy.signal

from ..errors import ShapeError
from ..registry import primitive
from ..tensor import shape_of
from .shape import getitem, index_add

__all__ = ["convolve2d", "correlate2d"]

_MODES = ("full", "valid", "same")


def _check(op, in1, in2, mode, boundary, fillvalue):
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {_MODES}, got {mode!r}")
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{op}: only boundary='fill' with fillvalue=0 is supported, "
                                  f"got boundary={boundary!r}, fillvalue={fillvalue!r}")
    s1, s2 = shape_of(in1), shape_of(in2)
    if len(s1) != 2 or len(s2) != 2:
        raise ShapeError(f"{op}: expected two 2-D inputs, got shapes {s1} and {s2}")
    if mode == "valid":
        one_contains = all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))
        if not one_contains:
            raise ShapeError(f"{op}: in 'valid' mode one input must be at least as large as the "
                             f"other in every dimension, got shapes {s1} and {s2}")


def _offset(mode, n_x, n_k, convolve):
    """Where the output starts inside the full result, along one axis (SciPy's layout)."""
    if mode == "full":
        return 0
    if mode == "valid":
        return min(n_x, n_k) - 1
    return (n_k - 1) // 2 if convolve else n_k // 2  # "same"


def _window(fn, a, b, start, size):
    """``fn(a, b, "full")[start : start + size]`` on both axes, computed in "valid" or "full"
    mode directly when the window is exactly one of them."""
    sa, sb = shape_of(a), shape_of(b)
    valid_start = tuple(min(p, q) - 1 for p, q in zip(sa, sb))
    valid_size = tuple(abs(p - q) + 1 for p, q in zip(sa, sb))
    contains = all(p >= q for p, q in zip(sa, sb)) or all(p <= q for p, q in zip(sa, sb))
    if contains and tuple(start) == valid_start and tuple(size) == valid_size:
        return fn(a, b, mode="valid")
    full = fn(a, b, mode="full")
    if tuple(start) == (0, 0) and tuple(size) == shape_of(full):
        return full
    # The window may reach past the full result ("same" mode with in2 much larger than in1):
    # take the overlapping part and place it into zeros of the window's size.
    lo = [max(s, 0) for s in start]
    hi = [min(s + n, f) for s, n, f in zip(start, size, shape_of(full))]
    part = getitem(full, index=(slice(lo[0], hi[0]), slice(lo[1], hi[1])))
    if tuple(hi[i] - lo[i] for i in (0, 1)) == tuple(size):
        return part
    return index_add(part, shape=tuple(size),
                     index=(slice(lo[0] - start[0], hi[0] - start[0]),
                            slice(lo[1] - start[1], hi[1] - start[1])))


def _flip(k):
    return getitem(k, index=(slice(None, None, -1), slice(None, None, -1)))


def _grads(g, x, k, mode, convolve):
    """(dx, dk) of the full-correlation window (with k flipped first when convolving)."""
    (xh, xw), (kh, kw), (oh, ow) = shape_of(x), shape_of(k), shape_of(g)
    r = (_offset(mode, xh, kh, convolve), _offset(mode, xw, kw, convolve))
    dx_start = (kh - 1 - r[0], kw - 1 - r[1])
    dk_start = (oh + r[0] - kh, ow + r[1] - kw)
    return dx_start, dk_start


@primitive
def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Cross-correlate two 2-D arrays: exactly ``scipy.signal.correlate2d``.

    out[i, j] = Σ_{m,n} in1[m, n] · in2[m - i + r0, n - j + r1] (zero outside in1), with the
    offsets r set by ``mode``.

    Parameters
    ----------
    in1 : Tensor or array, shape (H1, W1)
    in2 : Tensor or array, shape (H2, W2)
    mode : {"full", "valid", "same"}
        "full" (SciPy's default): (H1+H2-1, W1+W2-1); "valid": (|H1-H2|+1, |W1-W2|+1), where
        one input must contain the other (SciPy swaps the inputs when ``in2`` is the larger);
        "same": (H1, W1), centred on the full output as SciPy does.
    boundary, fillvalue
        Only ``"fill"`` with 0 (SciPy's default) is supported.

    Raises
    ------
    ShapeError (a ValueError)
        Inputs that are not 2-D, or in "valid" mode neither containing the other.
    NotImplementedError
        Another boundary or fill value.

    Examples
    --------
    >>> tg.correlate2d([[1, 6, 2], [5, 3, 1], [7, 0, 4]], [[0, -1], [2, 1]], "valid")
    tensor([[ 7,  5],
            [11,  3]], dtype=int64)
    """
    _check("correlate2d", in1, in2, mode, boundary, fillvalue)
    return scipy.signal.correlate2d(in1, in2, mode=mode)


def _correlate2d_vjp_in1(g, out, x, k, mode, boundary, fillvalue):
    dx_start, _ = _grads(g, x, k, mode, convolve=False)
    return _window(convolve2d, g, k, dx_start, shape_of(x))


def _correlate2d_vjp_in2(g, out, x, k, mode, boundary, fillvalue):
    _, dk_start = _grads(g, x, k, mode, convolve=False)
    return _window(correlate2d, x, g, dk_start, shape_of(k))


correlate2d.defvjp(_correlate2d_vjp_in1, _correlate2d_vjp_in2)


@primitive
def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Convolve two 2-D arrays: exactly ``scipy.signal.convolve2d``.

    out[i, j] = Σ_{m,n} in1[m, n] · in2[i - m + r0, j - n + r1]: correlation with ``in2``
    rotated by 180°. Shapes, modes and errors as :func:`correlate2d` ("same" centres the
    output as SciPy's convolve2d does, which differs from correlate2d for even kernels).

    Examples
    --------
    >>> tg.convolve2d([[1, 6, 2], [5, 3, 1], [7, 0, 4]], [[2, 0], [1, -1]], "valid")
    tensor([[11, -2],
            [-2,  6]], dtype=int64)
    """
    _check("convolve2d", in1, in2, mode, boundary, fillvalue)
    return scipy.signal.convolve2d(in1, in2, mode=mode)


def _convolve2d_vjp_in1(g, out, x, k, mode, boundary, fillvalue):
    dx_start, _ = _grads(g, x, k, mode, convolve=True)
    return _window(correlate2d, g, k, dx_start, shape_of(x))


def _convolve2d_vjp_in2(g, out, x, k, mode, boundary, fillvalue):
    _, dk_start = _grads(g, x, k, mode, convolve=True)
    return _flip(_window(correlate2d, x, g, dk_start, shape_of(k)))


convolve2d.defvjp(_convolve2d_vjp_in1, _convolve2d_vjp_in2)
