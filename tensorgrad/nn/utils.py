"""Gradient clipping, ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``: both change
the parameters' ``.grad`` in place (versioned writes under ``tg.no_grad()``)."""
from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

import numpy as np

from ..state import no_grad
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters, name):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    elif not isinstance(parameters, Iterable):
        raise TypeError(f"{name}: parameters must be a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}")
    grads = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameters[{i}] must be a Tensor, got {type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def _number(value, what, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name}: {what} must be a number, got {value!r}")
    return float(value)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    r"""Scale the gradients so that their joint norm is at most ``max_norm``,
    ``torch.nn.utils.clip_grad_norm_``.

    The total norm is the ``norm_type``-norm of all gradients taken together,
    :math:`\|g\| = (\sum_i \sum_j |g_{ij}|^p)^{1/p}` (the largest :math:`|g_{ij}|` for
    ``inf``); every gradient is then multiplied in place by
    ``min(1, max_norm / (total_norm + 1e-6))`` (PyTorch's formula, the multiplication done
    even when the factor is 1).

    Parameters
    ----------
    parameters : Tensor or iterable of Tensors
        Those without a ``.grad`` are skipped (a generator is consumed once).
    max_norm : float
    norm_type : float, default 2.0
        Positive, or ``float("inf")``.
    error_if_nonfinite : bool, default False
        Raise instead of scaling when the total norm is nan or inf.

    Returns
    -------
    Tensor
        The total norm before clipping, 0-d, in the gradients' dtype (0.0 without
        gradients).

    Raises
    ------
    TypeError
        Parameters that are not Tensors; ``max_norm`` or ``norm_type`` not numbers.
    ValueError
        ``norm_type`` not positive.
    RuntimeError
        ``error_if_nonfinite`` and a total norm that is nan or inf.
    """
    name = "clip_grad_norm_"
    grads = _grads(parameters, name)
    max_norm = _number(max_norm, "max_norm", name)
    p = _number(norm_type, "norm_type", name)
    if not p > 0:
        raise ValueError(f"{name}: norm_type must be positive or inf, got {norm_type!r}")
    if not grads:
        return Tensor(np.array(0.0))
    dt = np.result_type(*(g.data for g in grads))
    if math.isinf(p):
        total = max(np.max(np.abs(g.data), initial=0) for g in grads)
    else:
        norms = np.array([np.linalg.norm(g.data.ravel(), ord=p) for g in grads], dtype=dt)
        total = np.linalg.norm(norms, ord=p)
    total = np.asarray(total, dtype=dt)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"{name}: the total norm of order {norm_type} of the gradients is "
                           f"{float(total)}, so they cannot be clipped; set "
                           "error_if_nonfinite=False to scale them anyway")
    coef = np.minimum(max_norm / (total + 1e-6), 1.0).astype(dt)
    with no_grad():
        for g in grads:
            g.mul_(coef.astype(g.dtype))
    return Tensor(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient elementwise to ``[-clip_value, clip_value]`` in place,
    ``torch.nn.utils.clip_grad_value_``.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensors
        Those without a ``.grad`` are skipped.
    clip_value : float

    Raises
    ------
    TypeError
        Parameters that are not Tensors, or a ``clip_value`` that is not a number.
    """
    name = "clip_grad_value_"
    grads = _grads(parameters, name)
    v = _number(clip_value, "clip_value", name)
    with no_grad():
        for g in grads:
            g.clamp_(-v, v)
