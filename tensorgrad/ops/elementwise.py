"""Elementwise primitives. Each op is one block: forward, docstring, VJPs.

Binary ops broadcast with NumPy's rules (``broadcast=True``): their VJPs return gradients of
the broadcast shape and the engine sums them back to each input's shape.
"""
import numpy as np
import scipy.special

from ..autograd import no_grad
from ..registry import primitive
from ..tensor import Tensor

__all__ = ["abs", "add", "cast", "clip", "divide", "equal", "exp", "greater", "greater_equal",
           "less", "less_equal", "log", "logical_and", "logical_not", "logical_or", "maximum",
           "minimum", "multiply", "negative", "not_equal", "power", "relu", "sigmoid", "sign",
           "sqrt", "subtract", "tanh", "where"]

# -- arithmetic ----------------------------------------------------------------------------

@primitive(broadcast=True)
def add(x, y):
    """x + y, elementwise with broadcasting. d/dx = 1, d/dy = 1."""
    return np.add(x, y)


add.defvjp(lambda g, out, x, y: g, lambda g, out, x, y: g)


@primitive(broadcast=True)
def subtract(x, y):
    """x - y, elementwise with broadcasting. d/dx = 1, d/dy = -1."""
    return np.subtract(x, y)


subtract.defvjp(lambda g, out, x, y: g, lambda g, out, x, y: -g)


@primitive(broadcast=True)
def multiply(x, y):
    """x * y, elementwise with broadcasting. d/dx = y, d/dy = x."""
    return np.multiply(x, y)


multiply.defvjp(lambda g, out, x, y: g * y, lambda g, out, x, y: g * x)


@primitive(broadcast=True)
def divide(x, y):
    """x / y (true division), elementwise with broadcasting. d/dx = 1/y, d/dy = -x/y²."""
    return np.true_divide(x, y)


divide.defvjp(lambda g, out, x, y: g / y, lambda g, out, x, y: -g * out / y)


@primitive(broadcast=True)
def power(x, y):
    """x ** y, elementwise with broadcasting.

    d/dx = y·x^(y-1) (0 where y = 0, so x**0 has gradient 0 even at x = 0); d/dy =
    x^y·log(x), taken as 0 where x == 0 (as PyTorch does). The exponent's VJP runs only when
    the exponent is a Tensor that requires grad: with a constant exponent a negative base
    gives no NaN and no warning, and d(x**2)/dx at 0 is 0.
    """
    return np.power(x, y)


def _power_vjp_base(g, out, x, y):
    if isinstance(y, Tensor):  # a recorded exponent (create_graph): keep y's own gradient
        return g * y * x ** (y - 1)
    if np.ndim(y) == 0:  # kept a Python scalar so that float32 stays float32
        return g * 0 if y == 0 else g * y * x ** (y - 1)
    return g * y * x ** np.where(y == 0, 1, y - 1)  # d(x**0)/dx = 0, even at x = 0


power.defvjp(
    _power_vjp_base,
    lambda g, out, x, y: g * out * log(where(x == 0, 1, x)),
)


@primitive
def negative(x):
    """-x, elementwise. d/dx = -1."""
    return np.negative(x)


negative.defvjp(lambda g, out, x: -g)


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
        A complex ``dtype`` for a Tensor that requires grad while recording (complex numbers
        are not supported for gradients).
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        with no_grad():
            return cast.bind(x, dtype=dtype)
    return cast.bind(x, dtype=dtype)


# -- unary functions -----------------------------------------------------------------------

@primitive
def exp(x):
    """e**x, elementwise. d/dx = exp(x) (the forward result)."""
    return np.exp(x)


exp.defvjp(lambda g, out, x: g * out)


@primitive
def log(x):
    """Natural logarithm, elementwise (NumPy: -inf at 0, NaN below). d/dx = 1/x."""
    return np.log(x)


log.defvjp(lambda g, out, x: g / x)


@primitive
def sqrt(x):
    """Square root, elementwise. d/dx = 1/(2·sqrt(x)) (inf at 0, as PyTorch)."""
    return np.sqrt(x)


sqrt.defvjp(lambda g, out, x: g / (2 * out))


@primitive
def abs(x):
    """|x|, elementwise. d/dx = sign(x), so abs'(0) = 0 (PyTorch's convention)."""
    return np.abs(x)


abs.defvjp(lambda g, out, x: g * sign(x))


@primitive(differentiable=False)
def sign(x):
    """-1, 0 or 1 by the sign of x (NumPy's ``sign``); carries no gradient (zero a.e.)."""
    return np.sign(x)


@primitive
def tanh(x):
    """Hyperbolic tangent, elementwise; saturates without overflow. d/dx = 1 - tanh(x)²."""
    return np.tanh(x)


tanh.defvjp(lambda g, out, x: g * (1 - out * out))


@primitive
def sigmoid(x):
    """Logistic function 1/(1+exp(-x)), elementwise: ``scipy.special.expit`` for small
    inputs and, from 512 elements on, 1/(1+exp(-x)) with NumPy's vectorised exp (several
    times faster there, within an ulp of expit). exp(-x) overflowing to inf for x below
    about -709 (-88 in float32) gives exactly 0, with the overflow warning suppressed; so
    sigmoid is 0, 0.5, 1 at -1000, 0, 1000 with no warning. d/dx = σ(x)(1-σ(x)), computed
    from the forward result, so it is about 3.72e-44 at x = -100 and never NaN."""
    if np.size(x) < 512:  # measured crossover: expit's lower call overhead wins below
        return scipy.special.expit(x)
    with np.errstate(over="ignore"):
        e = np.exp(np.negative(x))
    e += 1
    return np.reciprocal(e, out=e)


sigmoid.defvjp(lambda g, out, x: g * (out * (1 - out)))


@primitive
def relu(x):
    """max(x, 0), elementwise. d/dx = 1 where x > 0 else 0, so relu'(0) = 0 (PyTorch)."""
    return np.maximum(x, 0)


relu.defvjp(lambda g, out, x: where(x > 0, g, 0))


@primitive
def clip(x, lo=None, hi=None):
    """x limited to [lo, hi] (either bound may be None), NumPy's ``clip``.

    The gradient passes where lo < x < hi strictly and is 0 elsewhere, at the bounds too
    (tensorgrad's convention; PyTorch's ``clamp`` passes it at the bounds)."""
    if lo is None and hi is None:
        raise ValueError("clip: at least one of lo and hi must be given")
    return np.clip(x, lo, hi)


def _clip_vjp(g, out, x, lo, hi):
    inside = True
    if lo is not None:
        inside = x > lo
    if hi is not None:
        inside = (x < hi) if lo is None else inside & (x < hi)
    return where(inside, g, 0)


clip.defvjp(_clip_vjp)


@primitive(broadcast=True)
def maximum(x, y):
    """Elementwise maximum with broadcasting (NumPy's ``maximum``). The gradient goes to the
    larger input; at ties each input gets half (PyTorch's ``maximum``)."""
    return np.maximum(x, y)


maximum.defvjp(
    lambda g, out, x, y: where(x > y, g, where(x == y, g * 0.5, 0)),
    lambda g, out, x, y: where(y > x, g, where(x == y, g * 0.5, 0)),
)


@primitive(broadcast=True)
def minimum(x, y):
    """Elementwise minimum with broadcasting (NumPy's ``minimum``). The gradient goes to the
    smaller input; at ties each input gets half (PyTorch's ``minimum``)."""
    return np.minimum(x, y)


minimum.defvjp(
    lambda g, out, x, y: where(x < y, g, where(x == y, g * 0.5, 0)),
    lambda g, out, x, y: where(y < x, g, where(x == y, g * 0.5, 0)),
)


@primitive(broadcast=True)
def where(condition, x, y):
    """Elements of x where ``condition`` is true, else of y (NumPy's ``where``), broadcast.

    ``condition`` is a bool array or Tensor and carries no gradient; the gradient of x is g
    where the condition holds and 0 elsewhere, and the reverse for y."""
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
