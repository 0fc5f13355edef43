"""Loss primitives with PyTorch's formulas and signatures (``reduction="mean" | "sum" |
"none"``): the forward computes the elementwise loss, the public call applies the weights and
the reduction. The helpers here (reductions, PyTorch's deprecated ``size_average``/``reduce``
flags, constant weights) serve the composite losses of :mod:`tensorgrad.functional` too."""
import numpy as np

from ..errors import ShapeError
from ..inputs import as_input
from ..registry import primitive
from ..tensor import Tensor, shape_of
from .elementwise import add, log, maximum, multiply, sigmoid
from .reduce import mean, sum

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits"]

_REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, op, allowed=_REDUCTIONS):
    """Raise ValueError naming ``op`` unless ``reduction`` is one of ``allowed``."""
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")


def legacy_reduction(op, size_average, reduce, reduction, allowed=_REDUCTIONS):
    """The checked reduction of a PyTorch loss call: ``reduction``, unless one of the
    deprecated flags ``size_average``/``reduce`` is given (not None), which then decide as
    PyTorch's ``_Reduction.legacy_get_string`` does (each defaults to True; reduce=False
    gives "none", else size_average picks "mean" or "sum")."""
    if size_average is not None or reduce is not None:
        for name, flag in (("size_average", size_average), ("reduce", reduce)):
            if flag is not None and not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{op}: {name} must be None, True or False (PyTorch's "
                                f"deprecated flag; prefer reduction=), got {flag!r}")
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
    check_reduction(reduction, op, allowed)
    return reduction


def reduce_loss(loss, reduction):
    """The elementwise ``loss`` reduced as PyTorch's losses do (checked reduction)."""
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def same_shape(op, a, b):
    if shape_of(a) != shape_of(b):
        raise ShapeError(f"{op}: target shape {shape_of(b)} must equal the input shape "
                         f"{shape_of(a)} (no silent broadcasting)")


def constant_weight(op, name, weight, shape, dtype, exact=False):
    """``weight`` (None, a Tensor or an array of real numbers) as an ndarray of ``dtype``
    (the floating dtype of the loss, so that float32 stays float32) that broadcasts to
    ``shape`` without changing it (``exact``: of exactly ``shape``). A weight carries no
    gradient in PyTorch's losses: one that requires grad is refused (ValueError), as are
    other shapes (ShapeError) and non-numbers (TypeError), each naming ``op`` and ``name``."""
    if weight is None:
        return None
    if isinstance(weight, Tensor) and weight.requires_grad:
        raise ValueError(f"{op}: {name} requires grad, but the loss computes no gradient for "
                         f"it (as in PyTorch); pass {name}.detach()")
    w = as_input(op, name, weight)
    w = np.asarray(w.data if isinstance(w, Tensor) else w)
    ws = w.shape
    fits = ws == tuple(shape) if exact else _broadcasts_to(ws, shape)
    if not fits:
        want = f"shape {tuple(shape)}" if exact else f"a shape that broadcasts to {tuple(shape)}"
        raise ShapeError(f"{op}: {name} of shape {ws} must have {want}")
    return w.astype(dtype, copy=False)


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _float_dtype(*arrays):
    """The floating dtype a loss of these inputs computes in (float64 for integers)."""
    dtype = np.result_type(*(a.dtype if isinstance(a, Tensor) else np.asarray(a).dtype
                             for a in arrays))
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


@primitive
def binary_cross_entropy(p, target):
    """Forward: -(t·log p + (1-t)·log(1-p)) elementwise, each log clamped at -100 (PyTorch's
    ``binary_cross_entropy`` with ``reduction="none"``): p = 0 or 1 gives finite values.

    d/dp = (p - t) / max(p(1-p), 1e-12) (PyTorch's formula);
    d/dt = log(1-p) - log(p), with the same clamping.
    Raises ShapeError if the shapes differ, ValueError for p outside [0, 1]."""
    same_shape("binary_cross_entropy", p, target)
    return bce_values(np.asarray(p), target)


def bce_values(p, target):
    """binary_cross_entropy's forward on an array ``p`` and a ``target`` of its shape (the
    shapes checked): ValueError for p outside [0, 1]."""
    if p.size and not (np.minimum.reduce(p, axis=None) >= 0
                       and np.maximum.reduce(p, axis=None) <= 1):  # NaN fails too
        raise ValueError(f"binary_cross_entropy: every input element must lie in [0, 1] (they "
                         f"are probabilities, as in PyTorch), got values from {p.min()} to "
                         f"{p.max()}; use binary_cross_entropy_with_logits for logits")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_1mp = np.maximum(np.log1p(-p), -100.0)
    return -(target * log_p + (1 - target) * log_1mp)


binary_cross_entropy.defvjp(
    lambda g, out, p, t: g * (p - t) / maximum(p * (1 - p), 1e-12),
    lambda g, out, p, t: g * (maximum(log(1 - p), -100.0) - maximum(log(p), -100.0)),
)


@binary_cross_entropy.defcall
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    """Binary cross-entropy between probabilities and targets (PyTorch's
    ``binary_cross_entropy``).

    ``loss = -w·(t·log p + (1 - t)·log(1 - p))`` elementwise, each log clamped at -100 as
    PyTorch does, so p = 0 or 1 gives a finite loss (0 when the target agrees), never NaN.

    Parameters
    ----------
    input : Tensor, any shape, values in [0, 1]
    target : Tensor or array of the same shape (values in [0, 1])
    weight : Tensor or array, optional
        Rescales each element's loss; broadcasts to the input's shape. A constant (no
        gradient, as in PyTorch).
    size_average, reduce : bool, optional
        PyTorch's deprecated flags (see :func:`legacy_reduction`); prefer ``reduction``.
    reduction : {"mean", "sum", "none"}
        The mean is over the elements (the weights are not normalised, as in PyTorch).

    Returns
    -------
    Tensor: a scalar, or the elementwise losses for ``"none"``.

    Raises
    ------
    ShapeError if the shapes differ or the weight does not broadcast to the input;
    ValueError for an unknown reduction, probabilities outside [0, 1] or a weight that
    requires grad.
    """
    if isinstance(weight, str):  # tensorgrad's earlier (input, target, reduction) order
        weight, reduction = None, weight
    op = "binary_cross_entropy"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    input, target = as_input(op, 0, input), as_input(op, 1, target)
    w = constant_weight(op, "weight", weight, shape_of(input), _float_dtype(input, target))
    loss = binary_cross_entropy.bind(input, target)
    return reduce_loss(loss if w is None else multiply(loss, w), reduction)


@primitive
def binary_cross_entropy_with_logits(z, target):
    """Forward: BCE on logits z: max(z, 0) - z·t + log(1 + exp(-|z|)), stable for any |z| (PyTorch's
    ``binary_cross_entropy_with_logits``, ``reduction="none"``).
    d/dz = σ(z) - t; d/dt = -z. Raises ShapeError if the shapes differ."""
    same_shape("binary_cross_entropy_with_logits", z, target)
    return np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z)))


binary_cross_entropy_with_logits.defvjp(
    lambda g, out, z, t: g * (sigmoid(z) - t),
    lambda g, out, z, t: -g * z,
)


@binary_cross_entropy_with_logits.defcall
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,  # noqa: A002
                                     reduce=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy on logits, stable for any magnitude (PyTorch's
    ``binary_cross_entropy_with_logits``).

    ``loss = w·(pw·t·softplus(-z) + (1 - t)·softplus(z))`` elementwise, that is
    ``max(z, 0) - z·t + log1p(exp(-|z|))`` when ``pw = 1``, plus ``(pw - 1)·t·softplus(-z)``
    (softplus(-z) is the loss at target 1): no overflow, no NaN.

    Parameters
    ----------
    input : Tensor, any shape
        Logits z.
    target : Tensor or array of the same shape
    weight : Tensor or array, optional
        Rescales each element's loss; broadcasts to the input's shape. A constant.
    size_average, reduce : bool, optional
        PyTorch's deprecated flags; prefer ``reduction``.
    reduction : {"mean", "sum", "none"}
    pos_weight : Tensor or array, optional
        Weight of the positive term, broadcast against the input (one per class, the last
        axis); values above 1 raise recall. A constant, as in PyTorch.

    Returns
    -------
    Tensor: a scalar, or the elementwise losses for ``"none"``.

    Raises
    ------
    ShapeError if the shapes differ or a weight does not broadcast to the input;
    ValueError for an unknown reduction or a weight that requires grad.

    Examples
    --------
    >>> tg.binary_cross_entropy_with_logits(tg.tensor([0.0]), [1.0], pos_weight=[3.0])
    tensor(2.07944154, dtype=float64)
    """
    if isinstance(weight, str):  # tensorgrad's earlier (input, target, reduction) order
        weight, reduction = None, weight
    op = "binary_cross_entropy_with_logits"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    input, target = as_input(op, 0, input), as_input(op, 1, target)
    dtype = _float_dtype(input, target)
    w = constant_weight(op, "weight", weight, shape_of(input), dtype)
    pw = constant_weight(op, "pos_weight", pos_weight, shape_of(input), dtype)
    loss = binary_cross_entropy_with_logits.bind(input, target)
    if pw is not None:
        at_one = binary_cross_entropy_with_logits.bind(input, np.ones(shape_of(input), dtype))
        loss = add(loss, multiply(multiply(pw - 1, target), at_one))
    return reduce_loss(loss if w is None else multiply(loss, w), reduction)
