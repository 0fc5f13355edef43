"""Composite ops built only from primitives: no VJP code here, gradients come for free.

The layer above :mod:`tensorgrad.ops`; the package exports ``__all__`` from here as well."""
import numpy as np

from .errors import ShapeError
from .inputs import as_input
from .ops.elementwise import cast, exp, negative
from .ops.loss import check_reduction, reduce_loss, same_shape
from .ops.reduce import logsumexp
from .ops.shape import getitem
from .tensor import Tensor, shape_of

__all__ = ["cross_entropy", "log_softmax", "mse_loss", "softmax"]

def log_softmax(x, axis=-1):
    """log(softmax(x)) = (x - m) - logsumexp(x - m) along ``axis``, with m the maximum taken
    as a constant (the result does not depend on it): stable for logits of any magnitude and
    accurate in float32 at |x| of 1e4 (PyTorch's ``log_softmax``). Same shape as x.

    A 0-d x takes axis 0 or -1 (result 0, as PyTorch); a zero-length axis gives an empty
    result. Integer and bool inputs are promoted to float64 (SciPy's ``softmax``).

    Raises ShapeError for an axis out of range, TypeError for an axis that is not an int or
    an input that is not an array of real numbers."""
    return _log_softmax(as_input("log_softmax", 0, x), axis, "log_softmax")


def _log_softmax(x, axis, name):
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")
    if np.result_type(x).kind in "biu":  # SciPy's softmax promotes to float64
        x = cast(x, dtype=np.dtype(np.float64))
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not -max(data.ndim, 1) <= axis < max(data.ndim, 1):
        raise ShapeError(f"{name}: axis {axis} is out of range for an input of shape "
                         f"{data.shape}")
    m = np.max(data, axis=axis, keepdims=True) if data.size else 0
    shifted = x - np.where(np.isfinite(m), m, 0).astype(data.dtype, copy=False)
    return shifted - logsumexp(shifted, axis=axis, keepdims=True)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, computed as exp(log_softmax(x)): no overflow for
    logits of magnitude 1000 (PyTorch's ``softmax``). Same shape as x; sums to 1 on ``axis``
    (a 0-d x gives 1; a zero-length axis an empty result). Dtypes and errors as
    :func:`log_softmax`."""
    return exp(_log_softmax(as_input("softmax", 0, x), axis, "softmax"))


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (input - target)², PyTorch's ``mse_loss``.

    input and target share one shape (ShapeError otherwise); ``reduction`` as above."""
    check_reduction(reduction, "mse_loss")
    input, target = as_input("mse_loss", 0, input), as_input("mse_loss", 1, target)
    same_shape("mse_loss", input, target)
    diff = input - target
    return reduce_loss(diff * diff, reduction)


def cross_entropy(input, target, reduction="mean"):
    """Softmax cross-entropy with integer class targets (PyTorch's ``cross_entropy``).

    Parameters
    ----------
    input : Tensor, shape (N, C)
        Logits; stable for magnitudes of 1000 (via :func:`log_softmax`).
    target : Tensor or array of ints, shape (N,), values in [0, C)
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: a scalar, or shape (N,) for ``"none"``: -log_softmax(input)[n, target[n]].

    Raises
    ------
    ShapeError for shapes other than (N, C) and (N,); ValueError for classes outside [0, C)
    or a non-integer target.
    """
    check_reduction(reduction, "cross_entropy")
    input = as_input("cross_entropy", 0, input)
    t = np.asarray(getattr(target, "data", target))
    shape = shape_of(input)
    if len(shape) != 2 or t.shape != shape[:1]:
        raise ShapeError(f"cross_entropy: expected input (N, C) and target (N,), "
                         f"got {shape} and {t.shape}")
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"cross_entropy: target must hold integer class indices, got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= shape[1]):
        raise ValueError(f"cross_entropy: target classes must lie in [0, {shape[1]}), "
                         f"got values from {t.min()} to {t.max()}")
    picked = getitem(log_softmax(input, axis=1), index=(np.arange(shape[0]), t))
    return reduce_loss(negative(picked), reduction)
