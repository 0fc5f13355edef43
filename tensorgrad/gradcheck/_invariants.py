"""Reverse mode, and the invariants of a VJP that ``torch.autograd.gradcheck`` checks too.

For every output and differentiable input, the VJP with a random cotangent u must have the
input's shape and dtype, be repeatable (two backward passes agree bit for bit), be zero for
a zero cotangent and be linear in the cotangent (vjp(2u) = 2·vjp(u)). A VJP that ignores
its cotangent passes a check with an all-ones cotangent; these invariants catch it.
"""
from __future__ import annotations

import numpy as np

from ..errors import BackwardError, ShapeError
from ._report import Failure


def reverse_mode(p) -> dict:
    """u·J in float64 of every checked output ``k`` by every differentiable input ``j``.

    Returns ``{k: [u·J by input j, ...]}`` after checking the invariants; raises
    :class:`Failure` when a VJP raises or breaks one.
    """
    analytic = {}
    for k in p.checked:
        a, again, zero, double = _four_vjps(p, k)
        for j, x in enumerate(p.diff):
            where = p.where(j, k)
            _check_shape_and_dtype(a[j], x, where)
            _check_repeatable(a[j], again[j], where)
            _check_zero_for_zero(zero[j], where)
            _check_linear(a[j], double[j], x.dtype, where)
        analytic[k] = [np.asarray(v, dtype=np.float64) for v in a]
    return analytic


def _four_vjps(p, k):
    """The VJPs of output ``k`` with u, u again, 0 and 2u."""
    u = p.cots[k]
    try:
        return p.vjps(k, u), p.vjps(k, u), p.vjps(k, np.zeros_like(u)), p.vjps(k, 2 * u)
    except (ShapeError, BackwardError) as e:
        raise Failure(f"reverse mode raised {type(e).__name__} for output {k}: {e}") from None


def _check_shape_and_dtype(g, x, where):
    if g.shape != x.shape or g.dtype != x.dtype:
        raise Failure(f"the gradient of {where} has shape {g.shape} and dtype {g.dtype}, "
                      f"expected the input's {x.shape} and {x.dtype}")


def _check_repeatable(g, again, where):
    if not np.array_equal(g, again, equal_nan=True):
        raise Failure(f"reverse mode is not repeatable for {where}: two backward passes with "
                      f"the same cotangent differ by up to {np.max(np.abs(g - again)):.3e}")


def _check_zero_for_zero(zero, where):
    if np.any(zero != 0):
        raise Failure(f"the VJP is not zero for a zero cotangent at {where}: "
                      f"max |vjp(0)| = {np.max(np.abs(zero)):.3e}")


def _check_linear(g, double, dtype, where):
    """vjp(2u) = 2·vjp(u) up to a rounding error relative to the largest entry."""
    error = np.max(np.abs(double - 2 * g), initial=0.0)
    scale = np.max(np.abs(g), initial=0.0)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    if error > tol * max(scale, 1e-300) * 2 + 1e-300:
        raise Failure(f"the VJP is not linear in the cotangent at {where}: vjp(2u) differs "
                      f"from 2·vjp(u) by up to {error:.3e} (does it ignore g?)")
