"""Elementwise primitives. Each op is one block: forward, docstring, VJPs.

Binary ops broadcast with NumPy's rules (``broadcast=True``): their VJPs return gradients of
the broadcast shape and the engine sums them back to each input's shape.

The conventions at kinks, at NaN and at overflow (``docs/conventions.md``) live here: ties
share evenly, relu'(0) = abs'(0) = 0, clip passes the gradient strictly inside its bounds,
gradients at NaN inputs are PyTorch's, and a zero cotangent times an overflowed local
derivative is 0 (:func:`_times`), so that an untaken ``where`` branch never poisons a gradient.
"""
import numpy as np
import scipy.special

from ..registry import primitive
from ..state import no_grad
from ..tensor import Tensor

__all__ = ["abs", "add", "cast", "clip", "divide", "equal", "exp", "greater", "greater_equal",
           "less", "less_equal", "log", "log1p", "logical_and", "logical_not", "logical_or", "maximum",
           "minimum", "multiply", "negative", "not_equal", "power", "relu", "sigmoid", "sign",
           "sqrt", "subtract", "tanh", "where"]


def _values(a):
    """The array behind a Tensor (a constant as it is): for masks, which carry no gradient."""
    return a.data if isinstance(a, Tensor) else a


def _times(g, factor, singular=None):
    """``g * factor`` for a VJP, with 0 · ±inf = 0 rather than NaN where the cotangent ``g``
    is exactly 0.

    An infinite ``factor`` (a forward value or local derivative) away from an op's
    singular points stands for a finite number that overflowed: exp(1000) in float32, or
    1e200 ** 2. Its exact product with a zero cotangent is 0, and a cotangent is exactly 0
    wherever ``where``, ``relu``, ``clip`` or a max did not select the element, so this is
    what keeps the gradient of ``where(x < 50, exp(x), x)`` finite at x = 1000 (PyTorch and
    JAX give NaN there). Where the local derivative is infinite for real -- ``singular()``,
    a bool mask, e.g. the base 0 of ``x ** 0.5`` -- 0 · inf is indeterminate and stays NaN,
    as do NaN factors and NaN cotangents.

    The common path is one multiplication under ``np.errstate(invalid="raise")``: 0 · inf
    is the only invalid operation of a product of non-NaN numbers, so no extra pass over
    the data is made unless it happened. Works on ndarrays and, under ``create_graph``, on
    Tensors (the fix-up is then a recorded ``where``).
    """
    try:
        with np.errstate(invalid="raise"):
            return g * factor
    except FloatingPointError:
        pass
    with np.errstate(invalid="ignore"):
        product = g * factor
    zero_times_inf = (_values(g) == 0) & np.isinf(_values(factor))
    if singular is not None:
        zero_times_inf &= ~np.asarray(singular(), dtype=bool)
    return where(zero_times_inf, 0, product)


# -- arithmetic ----------------------------------------------------------------------------

@primitive(broadcast=True)
def add(x, y):
    """x + y, elementwise with broadcasting. d/dx = 1, d/dy = 1."""
    return np.add(x, y)


add.defvjp(lambda g, out, x, y: g, lambda g, out, x, y: g)
add.defjvp(lambda t, out, x, y: t, lambda t, out, x, y: t)


@primitive(broadcast=True)
def subtract(x, y):
    """x - y, elementwise with broadcasting. d/dx = 1, d/dy = -1."""
    return np.subtract(x, y)


subtract.defvjp(lambda g, out, x, y: g, lambda g, out, x, y: -g)
subtract.defjvp(lambda t, out, x, y: t, lambda t, out, x, y: -t)


@primitive(broadcast=True)
def multiply(x, y):
    """x * y, elementwise with broadcasting. d/dx = y, d/dy = x."""
    return np.multiply(x, y)


multiply.defvjp(lambda g, out, x, y: _times(g, y), lambda g, out, x, y: _times(g, x))
multiply.defjvp(lambda t, out, x, y: _times(t, y), lambda t, out, x, y: _times(t, x))


@primitive(broadcast=True)
def divide(x, y):
    """x / y (true division), elementwise with broadcasting. d/dx = 1/y, d/dy = -x/y², so
    both are NaN for a zero cotangent at y = 0 (a true singularity) and 0 for a zero
    cotangent where x/y overflowed."""
    return np.true_divide(x, y)


divide.defvjp(lambda g, out, x, y: g / y, lambda g, out, x, y: _times(-g, out) / y)
divide.defjvp(lambda t, out, x, y: t / y, lambda t, out, x, y: _times(-t, out) / y)


@primitive(broadcast=True)
def power(x, y):
    """x ** y, elementwise with broadcasting.

    d/dx = y·x^(y-1), 0 where y = 0 (so x**0 has gradient 0 even at x = 0) and ±inf at
    x = 0 for y < 1 (d(x**-0.3)/dx = -inf there). d/dy = x^y·log(x) with PyTorch's values at
    x = 0: 0 where y >= 0 (the limit for y > 0; a convention at y = 0) and -inf·sign(g)
    where y < 0 (x^y = inf, log x = -inf), never NaN. The exponent's VJP runs only when
    the exponent is a Tensor that requires grad: with a constant exponent a negative base
    gives no NaN and no warning, and d(x**2)/dx at 0 is 0. A zero cotangent gives a zero
    gradient where x^(y-1) or x^y overflowed, NaN where x = 0 makes them infinite for real
    (docs/conventions.md).
    """
    return np.power(x, y)


def _power_vjp_base(g, out, x, y):
    if isinstance(y, Tensor):  # a recorded exponent (create_graph): keep y's own gradient
        exponent = y - 1
    elif np.ndim(y) == 0:  # kept a Python scalar so that float32 stays float32
        if y == 0:
            return g * 0
        exponent = y - 1
    else:
        exponent = np.where(y == 0, 1, y - 1)  # d(x**0)/dx = 0, even at x = 0
    if isinstance(exponent, (int, float)) and exponent >= 0:  # x**2, x**3: no 0 ** negative
        factor = x ** exponent
    else:
        with np.errstate(divide="ignore"):  # 0 ** negative: the forward has warned already
            factor = x ** exponent
    return _times(g * y, factor, lambda: _values(x) == 0)


def _power_vjp_exponent(g, out, x, y):
    base = where((_values(x) == 0) & (_values(y) >= 0), 1, x)  # log 1 = 0 there
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 = -inf; 0·inf at x = 0, y < 0
        return _times(g, out) * log(base)


power.defvjp(_power_vjp_base, _power_vjp_exponent)
power.defjvp(_power_vjp_base, _power_vjp_exponent)  # elementwise: the VJPs' formulas


@primitive
def negative(x):
    """-x, elementwise. d/dx = -1."""
    return np.negative(x)


negative.defvjp(lambda g, out, x: -g)
negative.defjvp(lambda t, out, x: -t)


@primitive
def cast(x, dtype=None):
    """Forward: x converted to ``dtype`` (NumPy's ``astype``)."""
    return np.asarray(x).astype(dtype)


cast.defvjp(lambda g, out, x, dtype: cast(g, dtype=x.dtype))


@cast.defcall
def cast(x, dtype=None):
    """x converted to ``dtype`` (NumPy's ``astype``, any shape).

    Between floating dtypes the gradient flows, cast back to x's dtype. Casting to an
    integer or bool dtype ends the graph, as in PyTorch: the result does not require grad.

    Raises
    ------
    TypeError
        ``dtype`` is not a NumPy dtype, or is complex, object or string (tensorgrad supports
        real numbers only).
    """
    try:
        dtype = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"cast: dtype {dtype!r} is not a NumPy dtype ({e})") from None
    if dtype.kind not in "biuf":
        raise TypeError(f"cast: dtype must be a bool, integer or floating dtype, got {dtype} "
                        "(tensorgrad supports real numbers only)")
    if dtype.kind in "biu":
        with no_grad():
            return cast.bind(x, dtype=dtype)
    return cast.bind(x, dtype=dtype)


# -- unary functions -----------------------------------------------------------------------

@primitive
def exp(x):
    """e**x, elementwise. d/dx = exp(x) (the forward result); a zero cotangent gives 0
    where exp(x) overflowed to inf (so an untaken ``where`` branch gives no NaN)."""
    return np.exp(x)


exp.defvjp(lambda g, out, x: _times(g, out))
exp.defjvp(lambda t, out, x: _times(t, out))


@primitive
def log(x):
    """Natural logarithm, elementwise (NumPy: -inf at 0, NaN below). d/dx = 1/x."""
    return np.log(x)


log.defvjp(lambda g, out, x: g / x)


@primitive
def log1p(x):
    """log(1 + x), elementwise, accurate for |x| much smaller than 1 (NumPy's ``log1p``;
    -inf at -1, NaN below). d/dx = 1/(1 + x)."""
    return np.log1p(x)


log1p.defvjp(lambda g, out, x: g / (1 + x))


@primitive
def sqrt(x):
    """Square root, elementwise. d/dx = 1/(2·sqrt(x)) (inf at 0, as PyTorch)."""
    return np.sqrt(x)


sqrt.defvjp(lambda g, out, x: g / (2 * out))


@primitive
def abs(x):
    """|x|, elementwise. d/dx = sign(x), with abs'(0) = 0 and abs'(NaN) = 0 (PyTorch's)."""
    return np.abs(x)


abs.defvjp(lambda g, out, x: where(x > 0, g, where(x < 0, -g, 0)))
abs.defkinks(np.abs)  # a kink at 0


@primitive(differentiable=False)
def sign(x):
    """-1, 0 or 1 by the sign of x, NaN for NaN (NumPy's ``sign``; PyTorch gives 0 for
    NaN). Carries no gradient (zero almost everywhere): the result never requires grad."""
    return np.sign(x)


@primitive
def tanh(x):
    """Hyperbolic tangent, elementwise; saturates without overflow. d/dx = 1 - tanh(x)²."""
    return np.tanh(x)


tanh.defvjp(lambda g, out, x: g * (1 - out * out))
tanh.defjvp(lambda t, out, x: t * (1 - out * out))


_HALF = np.dtype(np.float16)


@primitive
def sigmoid(x):
    """Logistic function 1/(1+exp(-x)), elementwise: ``scipy.special.expit`` for small
    inputs and, from 512 elements on, 1/(1+exp(-x)) with NumPy's vectorised exp (several
    times faster there, within an ulp of expit). exp(-x) overflowing to inf for x below
    about -709 (-88 in float32) gives exactly 0, with the overflow warning suppressed; so
    sigmoid is 0, 0.5, 1 at -1000, 0, 1000 with no warning. d/dx = σ(x)(1-σ(x)), computed
    from the forward result, so it is about 3.72e-44 at x = -100 and never NaN. The
    result keeps a floating input's dtype, float16 included."""
    if np.size(x) < 512 and getattr(x, "dtype", None) is not _HALF:  # expit has no half loop
        return scipy.special.expit(x)  # measured crossover: its lower call overhead wins
    return sigmoid_of_negated(np.negative(x))


def sigmoid_of_negated(e):
    """1/(1 + exp(e)) for e = -x: sigmoid's vectorised path, written into ``e`` when it is a
    float array (exp(e) overflowing to inf gives exactly 0, with no warning)."""
    with np.errstate(over="ignore"):
        e = np.exp(e, out=e) if _float_array(e) else np.exp(e)
    e += 1
    return np.reciprocal(e, out=e)


def _float_array(a):
    """Whether ``a`` is a NumPy array of a floating dtype."""
    return type(a) is np.ndarray and a.dtype.kind == "f"


def _sigmoid_vjp(g, out, x):
    """g·σ(1-σ) from the forward result; on arrays of one float dtype and shape (a backward
    pass that builds no graph) in one array written in place, with the same values."""
    if (_float_array(g) and _float_array(out) and g.dtype == out.dtype and g.shape == out.shape
            and out.ndim):
        s = np.subtract(1, out)
        np.multiply(out, s, out=s)
        return np.multiply(g, s, out=s)
    return g * (out * (1 - out))


sigmoid.defvjp(_sigmoid_vjp)


@primitive
def relu(x):
    """max(x, 0), elementwise (NaN stays NaN). d/dx = 0 where x <= 0, else 1: relu'(0) = 0
    and relu'(NaN) = 1 (PyTorch's ``relu``)."""
    return np.maximum(x, 0)


relu.defvjp(lambda g, out, x: where(x <= 0, 0, g))
relu.defkinks(np.abs)  # a kink at 0


@primitive(broadcast=True, optional=(1, 2))
def clip(x, lo, hi):
    """x limited to [lo, hi], NumPy's ``clip``, broadcast (see the public ``clip``)."""
    return np.clip(x, lo, hi)


def _clip_vjp_x(g, out, x, lo, hi):  # strictly inside: 0 at the bounds and at NaN
    if lo is None:
        inside = x < hi
    elif hi is None:
        inside = x > lo
    else:
        inside = (x > lo) & (x < hi)
    return where(inside, g, 0)


def _clip_vjp_lo(g, out, x, lo, hi):  # where the result is lo: x <= lo < hi
    return where((x <= lo) if hi is None else (x <= lo) & (lo < hi), g, 0)


def _clip_vjp_hi(g, out, x, lo, hi):  # where the result is hi: x >= hi, or hi <= lo
    return where((x >= hi) if lo is None else (x >= hi) | (hi <= lo), g, 0)


clip.defvjp(_clip_vjp_x, _clip_vjp_lo, _clip_vjp_hi)


def _clip_kinks(x, lo, hi):  # kinks at x = lo, x = hi, and lo = hi (where hi takes over)
    pairs = [(a, b) for a, b in ((x, lo), (x, hi), (lo, hi)) if a is not None and b is not None]
    distance = np.abs(np.subtract(*pairs[0]))
    for a, b in pairs[1:]:
        distance = np.minimum(distance, np.abs(np.subtract(a, b)))
    return distance


clip.defkinks(_clip_kinks)


@clip.defcall
def clip(x, lo=None, hi=None):
    """x limited to [lo, hi] elementwise, NumPy's ``clip`` (PyTorch's ``clamp``).

    Parameters
    ----------
    x : Tensor or array-like
    lo, hi : scalar, array-like or Tensor, optional
        The bounds (either may be None, not both). Arrays broadcast with x by NumPy's
        rules: the result has the broadcast shape and each gradient is summed back to its
        input's shape. Bounds that are Tensors requiring grad get gradients too.

    Returns
    -------
    Tensor: minimum(maximum(x, lo), hi), so hi wins where lo > hi; NaN stays NaN.

    Gradients: x gets g strictly inside, lo < x < hi, and 0 at and beyond the bounds and
    at NaN (tensorgrad's convention, so that ``clip(x, lo=0)`` has relu's gradient;
    PyTorch's ``clamp`` passes it at the bounds too). A bound gets g where the result is
    that bound: lo where x <= lo < hi, hi where x >= hi or hi <= lo.

    Raises
    ------
    ValueError if both bounds are None; ShapeError if the shapes do not broadcast.
    """
    if lo is None and hi is None:
        raise ValueError("clip: at least one of lo and hi must be given")
    return clip.bind(x, lo, hi)


@primitive(broadcast=True)
def maximum(x, y):
    """Elementwise maximum with broadcasting (NumPy's ``maximum``: NaN wins). The gradient
    goes to the larger input, half to each at ties, and g to both where a NaN makes the
    comparison fail (PyTorch's ``maximum``)."""
    return np.maximum(x, y)


maximum.defvjp(
    lambda g, out, x, y: where(x < y, 0, where(x == y, g * 0.5, g)),
    lambda g, out, x, y: where(y < x, 0, where(x == y, g * 0.5, g)),
)
maximum.defkinks(lambda x, y: np.abs(np.subtract(x, y)))  # kinks at ties


@primitive(broadcast=True)
def minimum(x, y):
    """Elementwise minimum with broadcasting (NumPy's ``minimum``: NaN wins). The gradient
    goes to the smaller input, half to each at ties, and g to both where a NaN makes the
    comparison fail (PyTorch's ``minimum``)."""
    return np.minimum(x, y)


minimum.defvjp(
    lambda g, out, x, y: where(x > y, 0, where(x == y, g * 0.5, g)),
    lambda g, out, x, y: where(y > x, 0, where(x == y, g * 0.5, g)),
)
minimum.defkinks(lambda x, y: np.abs(np.subtract(x, y)))  # kinks at ties


@primitive(broadcast=True)
def where(condition, x, y):
    """Elements of x where ``condition`` is true, else of y (NumPy's ``where``), broadcast.

    ``condition`` is a bool array or Tensor and carries no gradient; the gradient of x is g
    where the condition holds and 0 elsewhere, and the reverse for y. That 0 stays 0
    through the overflows of ``exp``, ``multiply``, ``divide`` and ``power`` in a branch:
    ``where(x < 50, exp(x), x)`` has gradient 1 at x = 1000 in float32 (PyTorch and JAX
    give NaN). A branch that is NaN or truly singular
    where it is not taken (``where(x > 0, sqrt(x), 0)`` at x <= 0) still gives NaN, as in
    PyTorch and JAX: keep its input in the domain, ``sqrt(where(x > 0, x, 1))`` (see
    docs/conventions.md)."""
    return np.where(condition, x, y)


where.defvjp(
    None,
    lambda g, out, c, x, y: where(c, g, 0),
    lambda g, out, c, x, y: where(c, 0, g),
)


# -- comparisons and logic: bool results, never a gradient ---------------------------------

def _comparison(ufunc, name, text):
    def forward(x, y):
        return ufunc(x, y)

    forward.__name__ = name
    forward.__doc__ = f"x {text} y elementwise with broadcasting, a bool result that never requires grad."
    return primitive(forward, broadcast=True, differentiable=False)


less = _comparison(np.less, "less", "<")
less_equal = _comparison(np.less_equal, "less_equal", "<=")
greater = _comparison(np.greater, "greater", ">")
greater_equal = _comparison(np.greater_equal, "greater_equal", ">=")
equal = _comparison(np.equal, "equal", "==")
not_equal = _comparison(np.not_equal, "not_equal", "!=")
logical_and = _comparison(np.logical_and, "logical_and", "and")
logical_or = _comparison(np.logical_or, "logical_or", "or")


@primitive(differentiable=False)
def logical_not(x):
    """Elementwise logical not (``~`` on bool Tensors); no gradient."""
    return np.logical_not(x)
