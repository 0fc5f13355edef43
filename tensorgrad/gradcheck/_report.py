"""The texts of gradcheck's reports: a mismatch, entry by entry or along a direction, and the
first recorded op whose own check fails."""
from __future__ import annotations

import numpy as np


class Failure(Exception):
    """One failed check, with the text of its report."""


def indent(text, n) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def _index(flat_index, shape) -> tuple:
    """A flat index as a tuple of plain ints."""
    return tuple(int(i) for i in np.unravel_index(int(flat_index), shape)) if shape else ()


def _header(p, j, k) -> str:
    i = p.diff_pos[j]
    return (f"input {i} (shape {p.inputs[i].shape}, {p.inputs[i].dtype}), output {k} (shape "
            f"{p.outs[k].shape}): reverse mode and finite differences disagree")


def entries_report(p, j, k, a, n, excess, s, jacobians=None) -> str:
    """Full mode: the worst entry of u·J, how many fail, and both Jacobians when given.

    ``a`` and ``n`` are the analytical and numerical u·J of output ``k`` by input ``j``
    (flat), ``excess`` their error minus the allowed one, ``jacobians`` None or the pair
    (reverse mode, finite differences).
    """
    i, shape = p.diff_pos[j], p.inputs[p.diff_pos[j]].shape
    w = int(np.nanargmax(np.where(np.isnan(excess), np.inf, excess)))
    lines = [
        _header(p, j, k),
        f"  worst element: input {i} at index {_index(w, shape)}",
        f"    analytical (reverse mode):      {a[w]:.10g}",
        f"    numerical (central difference): {n[w]:.10g}",
        f"    absolute error {abs(a[w] - n[w]):.3e}, relative error "
        f"{abs(a[w] - n[w]) / max(abs(n[w]), 1e-300):.3e}; allowed "
        f"atol + rtol·|numerical| = {s.atol + s.rtol * abs(n[w]):.3e}",
        f"  {int(np.sum(~(excess <= 0)))} of {a.size} entries fail ({s.describe()})",
        f"  compared: u·J for a random cotangent u (seed {s.seed}) of output {k}",
    ]
    if jacobians is not None:
        analytical, numerical = jacobians
        lines += ["  Jacobian, reverse mode (rows: output elements, columns: input elements):",
                  indent(np.array2string(analytical, precision=6), 4),
                  "  Jacobian, finite differences:",
                  indent(np.array2string(numerical, precision=6), 4)]
    return "\n".join(lines)


def direction_report(p, j, k, a, n, s) -> str:
    """Fast mode: the analytical and numerical u·J·v of output ``k`` by input ``j``."""
    size = p.inputs[p.diff_pos[j]].size
    return (f"{_header(p, j, k)} along a random direction v (fast mode, {size} elements)\n"
            f"    analytical u·J·v: {a:.10g}\n    numerical  u·J·v: {n:.10g}\n"
            f"    absolute error {abs(a - n):.3e}; allowed {s.atol + s.rtol * abs(n):.3e} "
            f"({s.describe()})")


def faulty_op_report(node, position, count, failure) -> str:
    """The first recorded op (``position`` of ``count``, from 0) whose own check failed."""
    shapes = ", ".join(str(np.shape(x)) for x in node.inputs)
    site = node.site or "(source line unknown)"
    return (f"first op whose own check fails: '{node.op.name}' (op {position + 1} of {count} "
            f"in creation order), inputs of shapes {shapes}\n"
            f"  created at {site}\n" + indent(str(failure), 2))


def no_faulty_op_report(count) -> str:
    return (f"each of the {count} recorded ops passes its own check at these values; the "
            "mismatch comes from the function as a whole (a kink hit exactly, eps too large "
            "for its curvature, or a non-differentiable step between ops)")
