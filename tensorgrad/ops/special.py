"""SciPy's special functions (``scipy.special``), public as ``tensorgrad.special.<name>`` only,
as SciPy nests them: ``erf erfc gammaln digamma polygamma xlogy xlog1py logit expit``. Each
op is one block (forward with SciPy's values, docstring with the formula and the domain,
VJPs written with tensorgrad's ops, so each is twice differentiable: the derivatives of
``digamma`` and ``polygamma`` are ``polygamma`` of the next order). ``scipy.special.erf(t)``
on a Tensor runs ``erf`` (SciPy's special functions are NumPy ufuncs).
"""
import numpy as np
import scipy.special

from ..registry import primitive
from .elementwise import _values, exp, log, log1p, sigmoid, where

NAMESPACE = "special"
"""The ops of this family are public as ``tensorgrad.special.<name>``, not at the top level."""

__all__ = ["digamma", "erf", "erfc", "expit", "gammaln", "logit", "polygamma", "xlog1py",
           "xlogy"]

_TWO_OVER_SQRT_PI = float(2 / np.sqrt(np.pi))  # a Python float: float32 stays float32


@primitive
def erf(x):
    """The error function 2/√π ∫₀ˣ exp(-t²) dt, elementwise (SciPy's ``erf``). d/dx =
    2/√π·exp(-x²)."""
    return scipy.special.erf(x)


erf.defvjp(lambda g, out, x: g * (_TWO_OVER_SQRT_PI * exp(-(x * x))))


@primitive
def erfc(x):
    """The complementary error function 1 - erf(x), elementwise, accurate where erf(x) is
    near 1 (SciPy's ``erfc``). d/dx = -2/√π·exp(-x²)."""
    return scipy.special.erfc(x)


erfc.defvjp(lambda g, out, x: g * (-_TWO_OVER_SQRT_PI * exp(-(x * x))))


@primitive
def gammaln(x):
    """log|Γ(x)|, elementwise (SciPy's ``gammaln``): defined for x > 0 and for the negative
    non-integers; inf at 0, -1, -2, ... d/dx = digamma(x) (also for x < 0, where Γ is
    negative between some poles: the derivative of log|Γ| is ψ everywhere)."""
    return scipy.special.gammaln(x)


gammaln.defvjp(lambda g, out, x: g * digamma(x))


@primitive
def digamma(x):
    """The digamma function ψ(x) = Γ'(x)/Γ(x), elementwise (SciPy's ``digamma``, alias
    ``psi``): poles at 0, -1, -2, ... d/dx = polygamma(1, x), the trigamma function."""
    return scipy.special.digamma(x)


digamma.defvjp(lambda g, out, x: g * polygamma(1, x))


@primitive
def polygamma(x, n=0):
    """ψ⁽ⁿ⁾(x) (see the public ``polygamma(n, x)``)."""
    out = scipy.special.polygamma(n, x)  # computed in float64: keep a float input's dtype
    dtype = getattr(x, "dtype", None)
    return out.astype(dtype, copy=False) if dtype is not None and dtype.kind == "f" else out


polygamma.defvjp(lambda g, out, x, n: g * polygamma(n + 1, x))


@polygamma.defcall
def polygamma(n, x):
    """The polygamma function ψ⁽ⁿ⁾(x), the n-th derivative of digamma, elementwise (SciPy's
    ``polygamma``, with an integer order n; ψ⁽⁰⁾ = digamma, ψ⁽¹⁾ the trigamma function).
    Poles at 0, -1, -2, ... d/dx = polygamma(n + 1, x).

    Parameters
    ----------
    n : int
        The order, >= 0 (one order for the whole array; SciPy's also takes an array of
        orders).
    x : Tensor or array-like

    Raises
    ------
    TypeError or ValueError, naming ``polygamma``, for an order that is not an integer >= 0.
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma: the order n must be an integer >= 0, got {n!r}")
    if n < 0:
        raise ValueError(f"polygamma: the order n must be an integer >= 0, got {n}")
    return polygamma.bind(x, n=int(n))


@primitive(broadcast=True)
def xlogy(x, y):
    """x·log(y), elementwise with broadcasting, and 0 where x = 0 (also at y = 0, where
    x·log(y) would be NaN): SciPy's ``xlogy``, e.g. the terms of an entropy -Σ p log p.
    NaN where x != 0 and y < 0, and where y is NaN (SciPy's).

    Gradients: d/dx = log(y), also at x = 0: -inf at y = 0, where xlogy(x, 0) = -inf for
    every x > 0 (PyTorch gives 0 where x = 0 and y <= 0). d/dy = x/y, and exactly 0 where
    x = 0, y = 0 included, since xlogy(0, y) = 0 for every y (PyTorch gives NaN at
    x = y = 0). So the entropy term -xlogy(p, p) has the gradient -(log p + 1),
    +inf at p = 0, where PyTorch gives NaN. Second derivatives follow the same formulas, with
    the mixed one d²/dxdy = 1/y taken as 1 at x = y = 0.
    """
    return scipy.special.xlogy(x, y)


def _x_over(x, y):
    """x / y, and 0 where x = 0 (y = 0 included: y is replaced by 1 where both are 0)."""
    return x / where((_values(x) == 0) & (_values(y) == 0), 1.0, y)


xlogy.defvjp(lambda g, out, x, y: g * log(y),
             lambda g, out, x, y: g * _x_over(x, y))


@primitive(broadcast=True)
def xlog1py(x, y):
    """x·log(1 + y), elementwise with broadcasting, and 0 where x = 0 (also at y = -1):
    SciPy's ``xlog1py``, accurate for |y| much smaller than 1. NaN where x != 0 and y < -1.

    Gradients: d/dx = log1p(y) (-inf at y = -1); d/dy = x/(1 + y), exactly 0 where x = 0,
    y = -1 included (the conventions of ``xlogy``).
    """
    return scipy.special.xlog1py(x, y)


xlog1py.defvjp(lambda g, out, x, y: g * log1p(y),
               lambda g, out, x, y: g * _x_over(x, 1 + y))


@primitive
def logit(p):
    """log(p/(1 - p)), elementwise, the inverse of ``expit`` (SciPy's ``logit``): -inf at 0,
    inf at 1, NaN outside [0, 1]. d/dp = 1/(p(1 - p)), inf at 0 and 1."""
    return scipy.special.logit(p)


logit.defvjp(lambda g, out, p: g / (p * (1 - p)))


expit = sigmoid
"""SciPy's ``expit``, 1/(1 + exp(-x)): the op :func:`tensorgrad.sigmoid` (recorded as
``sigmoid``)."""
