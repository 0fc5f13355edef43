"""Loss primitives with PyTorch's formulas. Reductions are applied in :mod:`tensorgrad.functional`."""
import numpy as np

from ..errors import ShapeError
from ..registry import primitive
from .elementwise import log, maximum, sigmoid


def _same_shape(op, a, b):
    if np.shape(a) != np.shape(b):
        raise ShapeError(f"{op}: target shape {np.shape(b)} must equal the input shape "
                         f"{np.shape(a)} (no silent broadcasting)")


@primitive
def binary_cross_entropy_elementwise(p, target):
    """-(t·log p + (1-t)·log(1-p)) elementwise, each log clamped at -100 (PyTorch's
    ``binary_cross_entropy`` with ``reduction="none"``): p = 0 or 1 gives finite values.

    d/dp = (p - t) / max(p(1-p), 1e-12) (PyTorch's formula);
    d/dt = log(1-p) - log(p), with the same clamping.
    Raises ShapeError if the shapes differ, ValueError for p outside [0, 1]."""
    _same_shape("binary_cross_entropy", p, target)
    pa = np.asarray(p)
    if pa.size and not (pa.min() >= 0 and pa.max() <= 1):  # NaN fails too
        raise ValueError(f"binary_cross_entropy: every input element must lie in [0, 1] (they "
                         f"are probabilities, as in PyTorch), got values from {pa.min()} to "
                         f"{pa.max()}; use binary_cross_entropy_with_logits for logits")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_1mp = np.maximum(np.log1p(-np.asarray(p)), -100.0)
    return -(target * log_p + (1 - target) * log_1mp)


binary_cross_entropy_elementwise.defvjp(
    lambda g, out, p, t: g * (p - t) / maximum(p * (1 - p), 1e-12),
    lambda g, out, p, t: g * (maximum(log(1 - p), -100.0) - maximum(log(p), -100.0)),
)


@primitive
def binary_cross_entropy_with_logits_elementwise(z, target):
    """BCE on logits z: max(z, 0) - z·t + log(1 + exp(-|z|)), stable for any |z| (PyTorch's
    ``binary_cross_entropy_with_logits``, ``reduction="none"``).
    d/dz = σ(z) - t; d/dt = -z. Raises ShapeError if the shapes differ."""
    _same_shape("binary_cross_entropy_with_logits", z, target)
    return np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z)))


binary_cross_entropy_with_logits_elementwise.defvjp(
    lambda g, out, z, t: g * (sigmoid(z) - t),
    lambda g, out, z, t: -g * z,
)

