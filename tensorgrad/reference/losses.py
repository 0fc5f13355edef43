r"""Binary cross-entropy and its hand-derived gradient, PyTorch's conventions at p = 0 and 1."""
from __future__ import annotations

import numpy as np

from ._checks import real_array

__all__ = ["binary_cross_entropy", "binary_cross_entropy_prime", "LOG_CLAMP", "BCE_PRIME_EPS"]

#: Lower bound of every log in :func:`binary_cross_entropy` (PyTorch's): a finite loss at
#: p = 0 or 1.
LOG_CLAMP = -100.0

#: Lower bound of ``p * (1 - p)`` in :func:`binary_cross_entropy_prime` (PyTorch's): a finite
#: gradient at p = 0 or 1.
BCE_PRIME_EPS = 1e-12


def _targets_and_probabilities(y_true, y_pred, owner: str):
    y = real_array(y_true, "y_true", owner)
    p = real_array(y_pred, "y_pred", owner)
    if y.shape != p.shape:
        raise ValueError(f"{owner}: expected y_true and y_pred of the same shape, "
                         f"got y_true {y.shape} and y_pred {p.shape}")
    if p.size == 0:
        raise ValueError(f"{owner}: y_pred is empty")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"{owner}: y_pred must hold probabilities in [0, 1], "
                         f"got values in [{np.nanmin(p)}, {np.nanmax(p)}]")
    return y, p


def binary_cross_entropy(y_true, y_pred) -> float:
    r"""Mean binary cross-entropy, each log clamped at -100 (PyTorch's ``binary_cross_entropy``).

    .. math::
        L = \frac{1}{N} \sum_k -\big(y_k \max(\log p_k, -100)
            + (1 - y_k) \max(\log(1 - p_k), -100)\big), \qquad N = \text{y\_true.size}

    ``p = y`` in {0, 1} costs 0, a completely wrong confident prediction 100 per element; no
    warnings.

    Parameters
    ----------
    y_true : array_like
        Targets, usually 0 or 1, e.g. a one-hot column ``(2, 1)``.
    y_pred : array_like, same shape as ``y_true``
        Probabilities in ``[0, 1]``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ, ``y_pred`` is empty or holds a value outside ``[0, 1]``.
    """
    y, p = _targets_and_probabilities(y_true, y_pred, "binary_cross_entropy")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), LOG_CLAMP)
        log_1mp = np.maximum(np.log1p(-p), LOG_CLAMP)
    return float(np.mean(-(y * log_p + (1 - y) * log_1mp)))


def binary_cross_entropy_prime(y_true, y_pred):
    r"""dL/dp of :func:`binary_cross_entropy`, as PyTorch computes it.

    .. math::
        \frac{\partial L}{\partial p_k} = \frac{1}{N}\left(\frac{1 - y_k}{1 - p_k}
        - \frac{y_k}{p_k}\right) = \frac{1}{N} \frac{p_k - y_k}{\max(p_k (1 - p_k), 10^{-12})}

    Exact wherever ``p (1 - p) >= 1e-12`` (:data:`BCE_PRIME_EPS`). At p exactly 0 or 1 it
    stays finite: 0 where ``p == y``; ``-1e12 / N`` for ``p = 0, y = 1`` and ``+1e12 / N`` for
    ``p = 1, y = 0`` (the clamped loss is flat there; PyTorch's push is kept instead).

    Parameters
    ----------
    y_true, y_pred : array_like
        As for :func:`binary_cross_entropy`.

    Returns
    -------
    numpy.ndarray, same shape as ``y_pred``
        dtype: NumPy's promotion of the inputs (float64 for ints).

    Raises
    ------
    ValueError
        As :func:`binary_cross_entropy`.
    """
    y, p = _targets_and_probabilities(y_true, y_pred, "binary_cross_entropy_prime")
    return (p - y) / np.maximum(p * (1 - p), BCE_PRIME_EPS) / y.size
