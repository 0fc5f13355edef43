"""Matrix products."""
import math

import numpy as np

from ..errors import ShapeError
from ..registry import primitive
from ..tensor import shape_of
from .shape import expand_dims, reshape, swapaxes

__all__ = ["linear", "matmul"]


@primitive(broadcast=True)
def matmul(a, b):
    """Matrix product with NumPy's ``matmul`` rules (BLAS-backed).

    Shapes: ``(n,) @ (n,) -> ()``, ``(m, n) @ (n,) -> (m,)``, ``(n,) @ (n, p) -> (p,)``,
    ``(..., m, n) @ (..., n, p) -> (..., m, p)`` with the batch dimensions broadcast.
    VJPs: dA = g·Bᵀ, dB = Aᵀ·g (the batch broadcast summed back by the engine).

    Raises
    ------
    ShapeError
        A 0-d operand, or inner dimensions that differ (``a.shape[-1] != b.shape[-2]``).
    """
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ShapeError(f"matmul: operands must have at least 1 dimension, got shapes {sa} and {sb}")
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != inner_b:
        raise ShapeError(f"matmul: shapes {sa} and {sb} are not aligned: expected a.shape[-1] "
                         f"({sa[-1]}) to equal b.shape[{-1 if len(sb) == 1 else -2}] ({inner_b})")
    if len(sa) >= 2 and len(sb) >= 2 and sa[-1] == 1:
        # An outer product: broadcasting is ~5x faster than NumPy's matmul with K = 1, and
        # faster still with the longer factor innermost (then the result is a transposed view).
        if sa[-2] > sb[-1]:
            return np.multiply(np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
        return np.multiply(a, b)
    try:
        return np.matmul(a, b)
    except ValueError:
        raise ShapeError(f"matmul: batch dimensions of shapes {sa} and {sb} cannot be broadcast") from None


def _matmul_vjp_a(g, out, a, b):
    if np.ndim(b) == 1:
        return expand_dims(g, -1) * b  # (..., m, n)
    if np.ndim(a) == 1:
        return reshape(matmul(b, expand_dims(g, -1)), shape=shape_of(g)[:-1] + (shape_of(b)[-2],))
    return matmul(g, swapaxes(b, -1, -2))


def _matmul_vjp_b(g, out, a, b):
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        return g * a  # g is 0-d
    if np.ndim(a) == 1:
        return expand_dims(a, -1) * expand_dims(g, -2)  # (..., n, p)
    if np.ndim(b) == 1:
        return reshape(matmul(expand_dims(g, -2), a), shape=shape_of(g)[:-1] + (shape_of(a)[-1],))
    return matmul(swapaxes(a, -1, -2), g)


matmul.defvjp(_matmul_vjp_a, _matmul_vjp_b)
matmul.defjvp(lambda t, out, a, b: matmul(t, b), lambda t, out, a, b: matmul(a, t))


@primitive
def linear(x, weight):
    """``x @ weight.T``: a dense layer's product, PyTorch's ``F.linear`` without the bias.

    Shapes: x ``(..., in_features)``, weight ``(out_features, in_features)`` ->
    ``(..., out_features)``. VJPs: dx = g @ weight; dweight = gᵀ x summed over the batch
    dimensions, computed directly in weight's layout (no transposed copy of the largest
    gradient). Add a bias with ``+``.

    Raises
    ------
    ShapeError
        weight not 2-D, x 0-d, or ``x.shape[-1] != weight.shape[1]``.
    """
    sx, sw = shape_of(x), shape_of(weight)
    if len(sw) != 2 or len(sx) == 0 or sx[-1] != sw[1]:
        raise ShapeError(f"linear: expected x of shape (..., {sw[-1] if sw else 'in'}) and weight "
                         f"of shape (out_features, in_features), got {sx} and {sw}")
    return np.matmul(x, np.transpose(weight))


def _linear_vjp_weight(g, out, x, weight):
    n_out, n_in = shape_of(weight)
    if np.ndim(x) == 1:
        return expand_dims(g, -1) * x  # (out, in)
    rows = math.prod(shape_of(x)[:-1])  # explicit: -1 is ambiguous when a size is 0
    g2 = reshape(g, shape=(rows, n_out))
    x2 = reshape(x, shape=(rows, n_in))
    return matmul(swapaxes(g2, 0, 1), x2)


linear.defvjp(lambda g, out, x, weight: matmul(g, weight), _linear_vjp_weight)
