"""Finite differences in float64, compared with reverse mode in the full or the fast mode.

Full mode perturbs one element at a time and compares u·J entry by entry (two evaluations
of the function per element); fast mode perturbs along one random direction v and compares
the number u·J·v (two evaluations in all), as ``torch.autograd.gradcheck(fast_mode=True)``.
"""
from __future__ import annotations

import numpy as np

from ._report import Failure, direction_report, entries_report

FULL_LIMIT = 1000  # inputs with more elements are checked along random directions
JACOBIAN_PRINT_LIMIT = 64  # print both Jacobians when out_size * in_size is at most this


def compare(p, j, analytic, s, fast_mode):
    """Check input ``j`` against finite differences; raise :class:`Failure` on a mismatch.

    ``fast_mode`` None chooses the full mode for inputs of up to ``FULL_LIMIT`` elements.
    """
    x = p.base[p.diff_pos[j]]
    full = x.size <= FULL_LIMIT if fast_mode is None else not fast_mode
    (_full_mode if full else _fast_mode)(p, j, analytic, s)


def _central_difference(p, x, at, step, eps) -> dict:
    """(f(x + step) - f(x - step)) / (2 eps) of every checked output, moving ``x.flat[at]``.

    ``x`` (a contiguous float64 array of ``p.base``) is restored afterwards.
    """
    flat = x.reshape(-1)
    orig = flat[at].copy()
    flat[at] = orig + step
    plus = p.evaluate()
    flat[at] = orig - step
    minus = p.evaluate()
    flat[at] = orig
    return {k: (plus[k] - minus[k]) / (2 * eps) for k in p.checked}


def _full_mode(p, j, analytic, s):
    """u·J entry by entry, and the Jacobian's columns when it is small enough to print."""
    x = p.base[p.diff_pos[j]]
    numerical = {k: np.zeros(x.size) for k in p.checked}
    columns = {k: [] for k in p.checked}
    for e in range(x.size):
        d = _central_difference(p, x, e, s.eps, s.eps)
        for k in p.checked:
            numerical[k][e] = np.sum(p.cots[k].astype(np.float64) * d[k])
            if d[k].size * x.size <= JACOBIAN_PRINT_LIMIT:
                columns[k].append(d[k].ravel())
    for k in p.checked:
        a, n = analytic[k][j].ravel(), numerical[k]
        excess = np.abs(a - n) - (s.atol + s.rtol * np.abs(n))
        if not np.all(excess <= 0):
            jacobians = (p.jacobian(k, j), np.stack(columns[k], axis=1)) if columns[k] else None
            raise Failure(entries_report(p, j, k, a, n, excess, s, jacobians))


def _fast_mode(p, j, analytic, s):
    """u·J·v for one random direction v (drawn from the check's generator)."""
    x = p.base[p.diff_pos[j]]
    v = p.rng.standard_normal(x.shape)
    d = _central_difference(p, x, slice(None), s.eps * v.ravel(), s.eps)
    for k in p.checked:
        n = float(np.sum(p.cots[k].astype(np.float64) * d[k]))
        a = float(np.sum(analytic[k][j] * v))
        if not abs(a - n) <= s.atol + s.rtol * abs(n):
            raise Failure(direction_report(p, j, k, a, n, s))
