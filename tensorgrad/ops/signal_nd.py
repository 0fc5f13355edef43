"""N-dimensional convolution and correlation with SciPy's semantics (``scipy.signal.convolve``
and ``scipy.signal.correlate``), public as ``tensorgrad.signal.convolve`` and
``tensorgrad.signal.correlate``.

The forward passes call SciPy, which picks the direct sum or the FFT (``method="auto"``) as
it does for NumPy arrays. Every mode's output is a window of the full result, starting at
r = 0 ("full"), min(n1, n2) - 1 ("valid") or (n2 - 1) // 2 ("same") along each axis
(n1, n2 the inputs' lengths). The VJPs are windows of full products of the same family, so
they are differentiable again: for correlation,

    d in1 = convolve(g, in2, "full")[n2-1-r : n2-1-r+n1]
    d in2 = correlate(in1, g, "full")[m+r-n2 : m+r]          (m the output's length)

and for convolution the same with ``correlate``/``convolve`` exchanged in the first and
``in2`` reversed in the second. A window that is exactly the "valid" part is computed in
"valid" mode. Both ops are bilinear: the forward-mode rule of each input is the op with that
input replaced by its tangent.
"""
import scipy.signal

from ..errors import ShapeError
from ..registry import primitive
from ..tensor import shape_of
from .shape import getitem, index_add

NAMESPACE = "signal"
"""The ops of this family are public as ``tensorgrad.signal.<name>``, as SciPy nests them."""

__all__ = ["convolve", "correlate"]

_MODES = ("full", "valid", "same")
_METHODS = ("auto", "direct", "fft")


def _check(op, in1, in2, mode, method):
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {_MODES}, got {mode!r}")
    if method not in _METHODS:
        raise ValueError(f"{op}: method must be one of {_METHODS}, got {method!r}")
    s1, s2 = shape_of(in1), shape_of(in2)
    if len(s1) != len(s2):
        raise ShapeError(f"{op}: the inputs must have the same number of dimensions, got shapes "
                         f"{s1} and {s2}")
    if 0 in s1 or 0 in s2:
        raise ShapeError(f"{op}: empty inputs (shapes {s1} and {s2}) have no {op}")
    if mode == "valid" and not _contains(s1, s2):
        raise ShapeError(f"{op}: in 'valid' mode one input must be at least as large as the "
                         f"other along every axis, got shapes {s1} and {s2}")


def _contains(s1, s2):
    return (all(p >= q for p, q in zip(s1, s2))
            or all(p <= q for p, q in zip(s1, s2)))


def _starts(mode, s1, s2):
    """Where each mode's output starts inside the full result, along each axis."""
    if mode == "full":
        return (0,) * len(s1)
    if mode == "valid":
        return tuple(min(p, q) - 1 for p, q in zip(s1, s2))
    return tuple((q - 1) // 2 for q in s2)  # "same": centred on in1


def _window(fn, a, b, start, size, method):
    """``fn(a, b, "full")[start : start + size]`` along every axis, in "valid" mode when
    that is the window, and with zeros where the window reaches past the full result."""
    sa, sb = shape_of(a), shape_of(b)
    start, size = tuple(start), tuple(size)
    if _contains(sa, sb) and start == _starts("valid", sa, sb) and size == tuple(
            abs(p - q) + 1 for p, q in zip(sa, sb)):
        return fn(a, b, mode="valid", method=method)
    full = fn(a, b, mode="full", method=method)
    fs = shape_of(full)
    if all(s == 0 for s in start) and size == fs:
        return full
    lo = [max(s, 0) for s in start]
    hi = [max(min(s + n, f), a) for s, n, f, a in zip(start, size, fs, lo)]
    part = getitem(full, index=tuple(slice(a, b) for a, b in zip(lo, hi)))
    if shape_of(part) == size:
        return part
    return index_add(part, shape=size,
                     index=tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start)))


def _reverse(k):
    return getitem(k, index=(slice(None, None, -1),) * len(shape_of(k)))


def _grad_windows(g, x, k, mode):
    """(start of d in1 inside the full product of g and in2, start of d in2 inside the full
    correlation of in1 with g)."""
    r = _starts(mode, shape_of(x), shape_of(k))
    dx = tuple(q - 1 - s for q, s in zip(shape_of(k), r))
    dk = tuple(m + s - q for m, s, q in zip(shape_of(g), r, shape_of(k)))
    return dx, dk


@primitive
def correlate(in1, in2, mode="full", method="auto"):
    """Cross-correlate two N-d arrays: ``scipy.signal.correlate``.

    out[i] = Σ_m in1[m] · in2[m - i + r] summed over the overlap (zero outside the
    inputs), along every axis, r the offset of the mode (see below).

    Parameters
    ----------
    in1, in2 : Tensor or array of the same number of dimensions (not empty)
    mode : {"full", "valid", "same"}
        "full" (default): shape n1 + n2 - 1; "valid": |n1 - n2| + 1, where one input must
        be at least as large as the other along every axis; "same": in1's shape, centred on
        the full output as SciPy centres it ((n2 - 1) // 2 from its start; for an even
        ``in2`` this differs from ``correlate2d``'s "same", which follows
        ``scipy.signal.correlate2d``).
    method : {"auto", "direct", "fft"}
        SciPy's choice of algorithm (the FFT rounds at about 1e-16 of the largest terms).

    Raises
    ------
    ShapeError (a ValueError)
        Inputs of different numbers of dimensions, empty inputs, or in "valid" mode
        neither containing the other.
    ValueError
        An unknown mode or method.
    """
    _check("correlate", in1, in2, mode, method)
    return scipy.signal.correlate(in1, in2, mode=mode, method=method)


def _correlate_vjp_in1(g, out, x, k, mode, method):
    start, _ = _grad_windows(g, x, k, mode)
    return _window(convolve, g, k, start, shape_of(x), method)


def _correlate_vjp_in2(g, out, x, k, mode, method):
    _, start = _grad_windows(g, x, k, mode)
    return _window(correlate, x, g, start, shape_of(k), method)


correlate.defvjp(_correlate_vjp_in1, _correlate_vjp_in2)
correlate.defjvp(lambda t, out, x, k, mode, method: correlate(t, k, mode=mode, method=method),
                 lambda t, out, x, k, mode, method: correlate(x, t, mode=mode, method=method))


@primitive
def convolve(in1, in2, mode="full", method="auto"):
    """Convolve two N-d arrays: ``scipy.signal.convolve``.

    out[i] = Σ_m in1[m] · in2[i - m + r]: correlation with ``in2`` reversed along every
    axis. Shapes, modes, methods and errors as :func:`correlate` ("same" is centred the
    same way, as SciPy does)."""
    _check("convolve", in1, in2, mode, method)
    return scipy.signal.convolve(in1, in2, mode=mode, method=method)


def _convolve_vjp_in1(g, out, x, k, mode, method):
    start, _ = _grad_windows(g, x, k, mode)
    return _window(correlate, g, k, start, shape_of(x), method)


def _convolve_vjp_in2(g, out, x, k, mode, method):
    _, start = _grad_windows(g, x, k, mode)
    return _reverse(_window(correlate, x, g, start, shape_of(k), method))


convolve.defvjp(_convolve_vjp_in1, _convolve_vjp_in2)
convolve.defjvp(lambda t, out, x, k, mode, method: convolve(t, k, mode=mode, method=method),
                lambda t, out, x, k, mode, method: convolve(x, t, mode=mode, method=method))
