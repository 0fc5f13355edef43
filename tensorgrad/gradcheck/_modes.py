"""Finite differences in float64, compared with reverse mode in the full or the fast mode.

Full mode perturbs one element at a time and compares u·J entry by entry (two evaluations
of the function per element); fast mode perturbs along one random direction v and compares
the number u·J·v (two evaluations in all), as ``torch.autograd.gradcheck(fast_mode=True)``.

Both also keep the one-sided differences (f(x + h) - f(x))/eps and (f(x) - f(x - h))/eps
(one more evaluation, at x). In full mode, where the central difference disagrees with
reverse mode, the step of that element reached a kink of a recorded op (:mod:`._kinks`) and
every entry of reverse mode's Jacobian column lies between the two one-sided differences,
that column is a subgradient and is accepted.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ._kinks import kinks_reached
from ._report import Failure, direction_report, entries_report

FULL_LIMIT = 1000  # inputs with more elements are checked along random directions
JACOBIAN_PRINT_LIMIT = 64  # print both Jacobians when out_size * in_size is at most this
SUBGRADIENT_LIMIT = 4096  # accept subgradients at kinks for outputs of at most this size


@dataclasses.dataclass
class Differences:
    """u·J of one output by one input: reverse mode, and central and one-sided differences
    (flat, one entry per input element in full mode; one number each in fast mode).

    The one-sided differences are NaN where they were not needed (elements that pass).
    ``kinks`` maps an input element (or 0 in fast mode) to the kinks its step reached, for
    the elements looked at; ``accepted`` maps the elements accepted as subgradients to their
    Jacobian columns (reverse mode, forward and backward differences).
    ``jacobians`` is None or, for a Jacobian small enough to print, the dict of the
    reverse-mode and central Jacobians (rows: output elements) and, under "one-sided", by
    input element whose step reached a kink, its columns of forward and backward differences;
    under "kinked", those of these elements whose kinks are not only switches (a boolean
    input that changes), where a subgradient may be accepted.
    """

    analytical: np.ndarray
    central: np.ndarray
    forward: np.ndarray
    backward: np.ndarray
    kinks: dict = dataclasses.field(default_factory=dict)
    accepted: dict = dataclasses.field(default_factory=dict)
    jacobians: dict | None = None
    note: str = ""


def compare(p, j, analytic, s, fast_mode) -> list:
    """Check input ``j`` against finite differences; raise :class:`Failure` on a mismatch.

    ``fast_mode`` None chooses the full mode for inputs of up to ``FULL_LIMIT`` elements.
    Returns the subgradients accepted at kinks, as (input j, output k, :class:`Differences`).
    """
    x = p.base[p.diff_pos[j]]
    full = x.size <= FULL_LIMIT if fast_mode is None else not fast_mode
    return (_full_mode if full else _fast_mode)(p, j, analytic, s)


def _around(p, x, at, step) -> tuple:
    """Every checked output at x + step and x - step, moving ``x.flat[at]`` (``x``, a
    contiguous float64 array of ``p.base``, is restored afterwards)."""
    flat = x.reshape(-1)
    orig = flat[at].copy()
    flat[at] = orig + step
    plus = p.evaluate()
    flat[at] = orig - step
    minus = p.evaluate()
    flat[at] = orig
    return plus, minus


def _one_sided(plus, minus, centre, eps):
    """Forward and backward differences of one output."""
    return (plus - centre) / eps, (centre - minus) / eps


def _full_mode(p, j, analytic, s):
    """u·J entry by entry, and the Jacobians when they are small enough to print. The
    one-sided differences are taken again, for the failing elements only."""
    x = p.base[p.diff_pos[j]]
    us = {k: p.cots[k].astype(np.float64) for k in p.checked}
    numerical = {k: np.zeros(x.size) for k in p.checked}
    columns = {k: [] for k in p.checked}
    for e in range(x.size):
        plus, minus = _around(p, x, e, s.eps)
        for k in p.checked:
            d = (plus[k] - minus[k]) / (2 * s.eps)
            numerical[k][e] = np.sum(us[k] * d)
            if d.size * x.size <= JACOBIAN_PRINT_LIMIT:
                columns[k].append(d.ravel())
    sides, reached = {}, {}  # by input element: one-sided differences, kinks its step reached

    def one_sided(e, k):
        if e not in sides:
            plus, minus = _around(p, x, e, s.eps)
            sides[e] = {q: _one_sided(plus[q], minus[q], p.centre()[q], s.eps)
                        for q in p.checked}
        return sides[e][k]

    def kinks_at(e):
        if e not in reached:
            step = np.zeros(x.shape)
            step.flat[e] = s.eps
            reached[e] = kinks_reached(p, j, step)
        return reached[e]

    accepted = []
    for k in p.checked:
        a, n = analytic[k][j].ravel(), numerical[k]
        over = s.excess(a, n)
        failing = over > 0
        if not failing.any():
            continue
        d = Differences(a, n, np.full(x.size, np.nan), np.full(x.size, np.nan))
        # u·J of a Jacobian column lying between the one-sided columns lies in [low, high]:
        # not between u·forward and u·backward when u has mixed signs and the column has
        # several nonzero entries (overlapping pooling windows)
        low, high = np.full(x.size, np.nan), np.full(x.size, np.nan)
        for e in np.flatnonzero(failing):
            forward, backward = (us[k] * side for side in one_sided(int(e), k))
            d.forward[e], d.backward[e] = np.sum(forward), np.sum(backward)
            low[e] = np.sum(np.minimum(forward, backward))
            high[e] = np.sum(np.maximum(forward, backward))
        outside = failing & ~s.between(d.analytical, low, high)
        reverse = None
        if outside.any() or p.outs[k].size > SUBGRADIENT_LIMIT:  # no subgradient: the worst
            worst = int(np.argmax(np.where(outside if outside.any() else failing, over, -np.inf)))
            d.kinks = {worst: kinks_at(worst)}
            if not outside.any():
                d.note = (f"output {k} has more than {SUBGRADIENT_LIMIT} elements: no "
                          "subgradient is accepted at kinks (its Jacobian would be needed)")
        else:  # each column of the Jacobian between the one-sided differences?
            reverse = p.jacobian(k, j)
            for e in (int(e) for e in np.flatnonzero(failing)):
                d.kinks[e] = kinks_at(e)
                forward, backward = (side.ravel() for side in one_sided(e, k))
                kink = any(not kk.switch for kk in d.kinks[e])  # a switch may be a jump
                if kink and np.all(s.between(reverse[:, e], forward, backward)):
                    d.accepted[e] = (reverse[:, e], forward, backward)
        if len(d.accepted) < int(failing.sum()):
            if columns[k]:
                d.jacobians = {"reverse": p.jacobian(k, j) if reverse is None else reverse,
                               "central": np.stack(columns[k], axis=1),
                               "one-sided": {e: tuple(side.ravel() for side in one_sided(e, k))
                                             for e, found in d.kinks.items() if found},
                               "kinked": {e for e, found in d.kinks.items()
                                          if any(not kk.switch for kk in found)}}
            raise Failure(entries_report(p, j, k, d, failing, s),
                          kinks=[kk for found in d.kinks.values() for kk in found])
        accepted.append((j, k, d))
    return accepted


def _fast_mode(p, j, analytic, s):
    """u·J·v for one random direction v (drawn from the check's generator). A step along v
    may cross many kinks at once, where one number cannot tell a subgradient: no value is
    accepted there, and the report names the kinks."""
    x = p.base[p.diff_pos[j]]
    v = p.rng.standard_normal(x.shape)
    plus, minus = _around(p, x, slice(None), s.eps * v.ravel())
    for k in p.checked:
        u = p.cots[k].astype(np.float64)
        a = np.float64(np.sum(analytic[k][j] * v))
        n = np.float64(np.sum(u * ((plus[k] - minus[k]) / (2 * s.eps))))
        if s.excess(a, n) > 0:
            forward, backward = _one_sided(plus[k], minus[k], p.centre()[k], s.eps)
            d = Differences(a, n, np.float64(np.sum(u * forward)), np.float64(np.sum(u * backward)),
                            kinks={0: kinks_reached(p, j, s.eps * v)})
            raise Failure(direction_report(p, j, k, d, s), kinks=d.kinks[0],
                          along_direction=True)
    return []
