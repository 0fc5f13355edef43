"""NumPy's mathematical functions: trigonometric and hyperbolic, exponents and logarithms,
functions of two arguments, modular arithmetic and rounding. Each op is one block: forward,
docstring (formula, domain, the convention where the derivative is not the formula's), VJPs
written with tensorgrad's own ops, so that every op is twice differentiable.

Names, arguments and forward values are NumPy's (``np.sin(t)`` on a Tensor runs ``sin``).
Outside an op's domain the forward is NumPy's (NaN or ±inf, with NumPy's warnings), and the
gradient is the formula's value there: d/dx arccos(x) = -1/sqrt(1 - x²) is -inf at ±1. The
rounding ops (``floor``, ``round``, ``floor_divide``, ...) have a zero gradient, PyTorch's
convention: the result requires grad and every gradient through it is exactly 0.
"""
import numpy as np

from ..registry import primitive
from .elementwise import _times, _values, divide, exp, sigmoid, sqrt, where

__all__ = ["arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "ceil",
           "cos", "cosh", "exp2", "expm1", "floor", "floor_divide", "fmod", "hypot", "log10",
           "log2", "logaddexp", "logaddexp2", "mod", "nan_to_num", "reciprocal", "remainder",
           "rint", "round", "sin", "sinc", "sinh", "square", "tan", "trunc"]

_LN2 = float(np.log(2.0))  # Python floats: a float32 gradient stays float32
_LN10 = float(np.log(10.0))
_PI = float(np.pi)


def _zero_gradient(g, out, *inputs, **params):
    """The VJP of a piecewise-constant op: exactly 0 (also for a NaN or inf cotangent), a
    constant that needs no graph under ``create_graph``."""
    return np.zeros_like(_values(g))


# -- trigonometric -------------------------------------------------------------------------

@primitive
def sin(x):
    """Sine, elementwise (x in radians). d/dx = cos(x)."""
    return np.sin(x)


sin.defvjp(lambda g, out, x: g * cos(x))


@primitive
def cos(x):
    """Cosine, elementwise (x in radians). d/dx = -sin(x)."""
    return np.cos(x)


cos.defvjp(lambda g, out, x: -g * sin(x))


@primitive
def tan(x):
    """Tangent, elementwise (x in radians). d/dx = 1 + tan(x)², from the forward result; a
    zero cotangent gives 0 where tan(x)² overflowed."""
    return np.tan(x)


tan.defvjp(lambda g, out, x: _times(g, 1 + out * out))


@primitive
def arcsin(x):
    """Inverse sine, elementwise, on [-1, 1] (NaN outside, NumPy's). d/dx = 1/sqrt(1 - x²),
    computed as 1/sqrt((1 - x)(1 + x)) (no cancellation near ±1); inf at ±1."""
    return np.arcsin(x)


arcsin.defvjp(lambda g, out, x: g / sqrt((1 - x) * (1 + x)))


@primitive
def arccos(x):
    """Inverse cosine, elementwise, on [-1, 1] (NaN outside, NumPy's). d/dx =
    -1/sqrt(1 - x²), computed as -1/sqrt((1 - x)(1 + x)); -inf at ±1."""
    return np.arccos(x)


arccos.defvjp(lambda g, out, x: -g / sqrt((1 - x) * (1 + x)))


@primitive
def arctan(x):
    """Inverse tangent, elementwise, values in (-π/2, π/2). d/dx = 1/(1 + x²), computed as
    (1/h)/h with h = hypot(x, 1), so that x² does not overflow for |x| > 1e154."""
    return np.arctan(x)


def _arctan_vjp(g, out, x):
    h = hypot(x, 1.0)
    return g / h / h


arctan.defvjp(_arctan_vjp)


# -- hyperbolic ----------------------------------------------------------------------------

@primitive
def sinh(x):
    """Hyperbolic sine, elementwise. d/dx = cosh(x), computed as hypot(sinh(x), 1) from the
    forward result (no second overflow warning where the forward overflowed); a zero cotangent
    gives 0 where it overflowed."""
    return np.sinh(x)


sinh.defvjp(lambda g, out, x: _times(g, hypot(out, 1.0)))


@primitive
def cosh(x):
    """Hyperbolic cosine, elementwise. d/dx = sinh(x) (overflowing, without a second warning,
    where the forward did); a zero cotangent gives 0 where it overflowed."""
    return np.cosh(x)


def _cosh_vjp(g, out, x):
    with np.errstate(over="ignore"):  # |sinh(x)| < cosh(x): overflows only where out did
        return _times(g, sinh(x))


cosh.defvjp(_cosh_vjp)


@primitive
def arcsinh(x):
    """Inverse hyperbolic sine, elementwise. d/dx = 1/sqrt(1 + x²), computed as
    1/hypot(x, 1), which neither overflows nor underflows for large |x|."""
    return np.arcsinh(x)


arcsinh.defvjp(lambda g, out, x: g / hypot(x, 1.0))


@primitive
def arccosh(x):
    """Inverse hyperbolic cosine, elementwise, on [1, inf) (NaN below, NumPy's). d/dx =
    1/sqrt(x² - 1), computed as 1/(sqrt(x - 1)·sqrt(x + 1)) (no cancellation near 1, no
    overflow for large x); inf at 1."""
    return np.arccosh(x)


arccosh.defvjp(lambda g, out, x: g / (sqrt(x - 1) * sqrt(x + 1)))


@primitive
def arctanh(x):
    """Inverse hyperbolic tangent, elementwise, on (-1, 1) (±inf at ±1, NaN outside, NumPy's).
    d/dx = 1/(1 - x²), computed as 1/((1 - x)(1 + x)); inf at ±1."""
    return np.arctanh(x)


arctanh.defvjp(lambda g, out, x: g / ((1 - x) * (1 + x)))


# -- sinc ----------------------------------------------------------------------------------

@primitive
def sinc(x):
    """The normalised sinc function sin(πx)/(πx), elementwise, with sinc(0) = 1 (NumPy's
    ``sinc``).

    d/dx = (cos(πx) - sinc(x))/x, which loses its digits to cancellation as x -> 0 (PyTorch
    evaluates it so, with 0 at x = 0 exactly). Below a threshold t, |x| < t, the
    derivative is its Maclaurin series -π²x/3 + π⁴x³/30 - π⁶x⁵/840 + π⁸x⁷/45360 instead; t is
    where the two errors meet, (43·eps)^(1/10): 0.040 in float64, 0.30 in float32. So d/dx is
    0 at 0, accurate to about 1e-13 relative everywhere, and twice differentiable (the second
    derivative, -π²/3 at 0, comes from the series).
    """
    return np.sinc(x)


def _sinc_derivative(x):
    values = _values(x)
    threshold = (43 * np.finfo(values.dtype if values.dtype.kind == "f" else np.float64).eps) ** 0.1
    small = np.abs(values) < threshold
    u = _PI * x
    u2 = u * u
    series = (-_PI * u) * (1 / 3 - u2 * (1 / 30 - u2 * (1 / 840 - u2 * (1 / 45360))))
    if not small.any():
        return (cos(u) - sinc(x)) / x
    xs = where(small, 1.0, x)  # keeps the untaken formula finite at x = 0
    return where(small, series, (cos(_PI * xs) - sinc(xs)) / xs)


sinc.defvjp(lambda g, out, x: g * _sinc_derivative(x))


# -- exponents and logarithms --------------------------------------------------------------

@primitive
def expm1(x):
    """exp(x) - 1, elementwise, accurate for |x| much smaller than 1 (NumPy's ``expm1``).
    d/dx = exp(x) (not out + 1, which cancels for x << 0; overflowing, without a second
    warning, where the forward did); a zero cotangent gives 0 where it overflowed."""
    return np.expm1(x)


def _expm1_vjp(g, out, x):
    with np.errstate(over="ignore"):  # exp(x) overflows where expm1(x) did
        return _times(g, exp(x))


expm1.defvjp(_expm1_vjp)


@primitive
def exp2(x):
    """2**x, elementwise. d/dx = 2**x·ln 2 (from the forward result); a zero cotangent gives
    0 where 2**x overflowed."""
    return np.exp2(x)


exp2.defvjp(lambda g, out, x: _times(g, out) * _LN2)


@primitive
def log2(x):
    """Base-2 logarithm, elementwise (-inf at 0, NaN below, NumPy's). d/dx = 1/(x·ln 2)."""
    return np.log2(x)


log2.defvjp(lambda g, out, x: g / (x * _LN2))


@primitive
def log10(x):
    """Base-10 logarithm, elementwise (-inf at 0, NaN below, NumPy's). d/dx = 1/(x·ln 10)."""
    return np.log10(x)


log10.defvjp(lambda g, out, x: g / (x * _LN10))


@primitive
def square(x):
    """x², elementwise (NumPy's ``square``). d/dx = 2x."""
    return np.square(x)


square.defvjp(lambda g, out, x: g * (2 * x))


@primitive
def reciprocal(x):
    """1/x, elementwise (NumPy's ``reciprocal``: inf at 0 with a warning; on an integer
    array NumPy's integer result, 0 for |x| > 1). d/dx = -1/x², computed as -out/x, so a
    zero cotangent gives 0 where 1/x overflowed and NaN at x = 0."""
    return np.reciprocal(x)


reciprocal.defvjp(lambda g, out, x: _times(-g, out) / x)


# -- functions of two arguments (broadcast) ------------------------------------------------

@primitive(broadcast=True)
def hypot(x, y):
    """sqrt(x² + y²), elementwise with broadcasting, without overflow or underflow in x²
    (NumPy's ``hypot``).

    d/dx = x/hypot(x, y), d/dy = y/hypot(x, y); both are 0 at the origin, where hypot has a
    kink like |x| (the subgradient 0, as abs'(0) = 0; PyTorch gives NaN there).
    """
    return np.hypot(x, y)


def _over_hypot(z, out):
    """z / out, with 0 where out = 0 (then z = 0 too)."""
    return z / where(_values(out) == 0, 1.0, out)


hypot.defvjp(lambda g, out, x, y: g * _over_hypot(x, out),
             lambda g, out, x, y: g * _over_hypot(y, out))


@primitive(broadcast=True)
def arctan2(y, x):
    """The angle of the point (x, y) in (-π, π], elementwise with broadcasting: NumPy's
    ``arctan2(x1, x2)`` with x1 = y, x2 = x (arctan2(±0, ±0) by IEEE's signed-zero rules).

    d/dy = x/(x² + y²), d/dx = -y/(x² + y²), computed as (x/r)/r with r = hypot(x, y), which
    neither overflows nor underflows; both are 0 at the origin, where arctan2 is
    discontinuous (PyTorch's values there too).
    """
    return np.arctan2(y, x)


def _arctan2_vjp(g, z, y, x):
    r = hypot(y, x)
    return g * _over_hypot(_over_hypot(z, r), r)


arctan2.defvjp(lambda g, out, y, x: _arctan2_vjp(g, x, y, x),
               lambda g, out, y, x: _arctan2_vjp(-g, y, y, x))


@primitive(broadcast=True)
def logaddexp(x, y):
    """log(exp(x) + exp(y)), elementwise with broadcasting, without overflow (NumPy's
    ``logaddexp``). d/dx = sigmoid(x - y), d/dy = sigmoid(y - x): accurate to rounding for
    any finite x and y (exp(x - out) would carry out's rounding error, about eps·|out|); NaN
    where x = y = ±inf."""
    return np.logaddexp(x, y)


logaddexp.defvjp(lambda g, out, x, y: g * sigmoid(x - y),
                 lambda g, out, x, y: g * sigmoid(y - x))


@primitive(broadcast=True)
def logaddexp2(x, y):
    """log2(2**x + 2**y), elementwise with broadcasting, without overflow (NumPy's
    ``logaddexp2``). d/dx = sigmoid((x - y)·ln 2), d/dy = sigmoid((y - x)·ln 2); NaN where
    x = y = ±inf."""
    return np.logaddexp2(x, y)


logaddexp2.defvjp(lambda g, out, x, y: g * sigmoid((x - y) * _LN2),
                  lambda g, out, x, y: g * sigmoid((y - x) * _LN2))


# -- modular arithmetic (broadcast) --------------------------------------------------------

@primitive(broadcast=True)
def remainder(x, y):
    """x mod y = x - floor(x/y)·y, elementwise with broadcasting, with the sign of the
    divisor y (NumPy's ``remainder``, also ``np.mod``, ``tensorgrad.mod`` and the ``%``
    operator; Python's ``%``). NaN for y = 0 (NumPy's, with a warning).

    d/dx = 1 and d/dy = -floor(x/y) (the integer quotient, ``floor_divide(x, y)``, which
    NumPy computes consistently with the remainder), as in HIPS autograd and PyTorch; at the
    jumps, where x/y is an integer, these are the one-sided derivatives from the right in x.
    """
    return np.remainder(x, y)


remainder.defvjp(lambda g, out, x, y: g,
                 lambda g, out, x, y: -g * floor_divide(x, y))

mod = remainder  # NumPy's alias: np.mod is np.remainder


@primitive(broadcast=True)
def fmod(x, y):
    """x - trunc(x/y)·y, elementwise with broadcasting, with the sign of the dividend x (C's
    ``fmod``, NumPy's ``fmod``). NaN for y = 0 (NumPy's, with a warning).

    d/dx = 1 and d/dy = -trunc(x/y), the integer quotient read from the forward result,
    rint((x - fmod(x, y))/y), so that it matches the remainder computed even where x/y rounds
    across an integer.
    """
    return np.fmod(x, y)


fmod.defvjp(lambda g, out, x, y: g,
            lambda g, out, x, y: -g * rint(divide(x - out, y)))


@primitive(broadcast=True)
def floor_divide(x, y):
    """floor(x/y), elementwise with broadcasting (NumPy's ``floor_divide``, the ``//``
    operator; Python's ``//``): the quotient that goes with ``remainder``, x = (x // y)·y +
    x % y. ±inf or NaN for y = 0 (NumPy's). Piecewise constant: zero gradient."""
    return np.floor_divide(x, y)


floor_divide.defvjp(_zero_gradient, _zero_gradient)


# -- rounding: piecewise constant, zero gradient -------------------------------------------

@primitive
def floor(x):
    """The largest integer <= x, elementwise, as a float (NumPy's ``floor``). Zero
    gradient."""
    return np.floor(x)


floor.defvjp(_zero_gradient)


@primitive
def ceil(x):
    """The smallest integer >= x, elementwise, as a float (NumPy's ``ceil``). Zero
    gradient."""
    return np.ceil(x)


ceil.defvjp(_zero_gradient)


@primitive
def trunc(x):
    """x rounded towards zero, elementwise (NumPy's ``trunc``). Zero gradient."""
    return np.trunc(x)


trunc.defvjp(_zero_gradient)


@primitive
def rint(x):
    """x rounded to the nearest integer, halves to even, elementwise (NumPy's ``rint``).
    Zero gradient."""
    return np.rint(x)


rint.defvjp(_zero_gradient)


@primitive
def round(x, decimals=0):  # noqa: A001 (NumPy's name)
    """x rounded to ``decimals`` decimal places (an int; negative rounds to tens, hundreds...),
    halves to even, elementwise: NumPy's ``round``, which scales by 10**decimals, rounds
    and scales back (so 2.675 rounds to 2.67, as its double is below 2.675; and decimals
    beyond the float's range give NaN, as NumPy's do). Zero gradient (PyTorch's ``round``).

    Raises TypeError naming ``round`` for a ``decimals`` that is not an integer.
    """
    return np.round(x, decimals)


round.defvjp(_zero_gradient)


# -- nan_to_num ----------------------------------------------------------------------------

@primitive
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """x with NaN replaced by ``nan``, +inf by ``posinf`` and -inf by ``neginf`` (None: the
    largest and smallest finite number of x's dtype), elementwise (NumPy's ``nan_to_num``;
    a new Tensor, never in place). The gradient is g where x is finite and 0 where it was
    replaced: a constant there (PyTorch's and HIPS autograd's convention)."""
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


nan_to_num.defvjp(lambda g, out, x, nan, posinf, neginf: where(np.isfinite(_values(x)), g, 0))
