"""Loss primitives with PyTorch's formulas and signatures (``reduction="mean" | "sum" |
"none"``): the forward computes the elementwise loss, the public call applies the reduction."""
import numpy as np

from ..errors import ShapeError
from ..registry import primitive
from ..tensor import shape_of
from .elementwise import log, maximum, sigmoid
from .reduce import mean, sum

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits"]

_REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, op):
    """Raise ValueError naming ``op`` unless ``reduction`` is one of mean, sum, none."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


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


@primitive
def binary_cross_entropy(p, target):
    """Forward: -(t·log p + (1-t)·log(1-p)) elementwise, each log clamped at -100 (PyTorch's
    ``binary_cross_entropy`` with ``reduction="none"``): p = 0 or 1 gives finite values.

    d/dp = (p - t) / max(p(1-p), 1e-12) (PyTorch's formula);
    d/dt = log(1-p) - log(p), with the same clamping.
    Raises ShapeError if the shapes differ, ValueError for p outside [0, 1]."""
    same_shape("binary_cross_entropy", p, target)
    pa = np.asarray(p)
    if pa.size and not (pa.min() >= 0 and pa.max() <= 1):  # NaN fails too
        raise ValueError(f"binary_cross_entropy: every input element must lie in [0, 1] (they "
                         f"are probabilities, as in PyTorch), got values from {pa.min()} to "
                         f"{pa.max()}; use binary_cross_entropy_with_logits for logits")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_1mp = np.maximum(np.log1p(-np.asarray(p)), -100.0)
    return -(target * log_p + (1 - target) * log_1mp)


binary_cross_entropy.defvjp(
    lambda g, out, p, t: g * (p - t) / maximum(p * (1 - p), 1e-12),
    lambda g, out, p, t: g * (maximum(log(1 - p), -100.0) - maximum(log(p), -100.0)),
)


@binary_cross_entropy.defcall
def binary_cross_entropy(input, target, reduction="mean"):
    """Binary cross-entropy between probabilities and targets (PyTorch's
    ``binary_cross_entropy``).

    Parameters
    ----------
    input : Tensor, any shape, values in [0, 1]
    target : Tensor or array of the same shape (values in [0, 1])
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor: a scalar, or the elementwise losses for ``"none"``.
    Each log is clamped at -100 as PyTorch does, so p = 0 or 1 gives a finite loss (0 when
    the target agrees) and never NaN.

    Raises
    ------
    ShapeError if the shapes differ; ValueError for an unknown reduction.
    """
    check_reduction(reduction, "binary_cross_entropy")
    return reduce_loss(binary_cross_entropy.bind(input, target), reduction)


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
def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """Binary cross-entropy on logits, stable for any magnitude (PyTorch's
    ``binary_cross_entropy_with_logits``): max(z,0) - z·t + log1p(exp(-|z|)).

    input and target share one shape; ``reduction`` as :func:`binary_cross_entropy`."""
    check_reduction(reduction, "binary_cross_entropy_with_logits")
    return reduce_loss(binary_cross_entropy_with_logits.bind(input, target), reduction)

