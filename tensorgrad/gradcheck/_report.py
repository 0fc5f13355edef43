"""The texts of gradcheck's reports: a mismatch, entry by entry or along a direction, the
kinks its finite differences stepped over, and the first recorded op whose own check fails.

Every number a report gives is printed beside what it is taken from: a Jacobian entry with
both Jacobians, an entry of u·J with the definition of u·J (and u when it is small).
"""
from __future__ import annotations

import numpy as np


class Failure(Exception):
    """One failed check, with the text of its report and the kinks (``_kinks.Kink``) that
    its finite differences stepped over at the elements it names."""

    def __init__(self, text, kinks=(), along_direction=False):
        super().__init__(text)
        self.kinks = list(kinks)
        self.along_direction = along_direction  # fast mode, where no subgradient is accepted


def indent(text, n) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def index_of(flat_index, shape) -> tuple:
    """A flat index as a tuple of plain ints."""
    return tuple(int(i) for i in np.unravel_index(int(flat_index), shape)) if shape else ()


def _header(p, j, k) -> str:
    i = p.diff_pos[j]
    return (f"input {i} (shape {p.inputs[i].shape}, {p.inputs[i].dtype}), output {k} (shape "
            f"{p.outs[k].shape}): reverse mode and finite differences disagree")


def _precision(p, j, k) -> list:
    """A line on float32 (or lower) precision when input ``j`` or output ``k`` has it."""
    dtype = np.result_type(p.diff[j].dtype, p.outs[k].dtype)
    if dtype == np.float64:
        return []
    return [f"  {dtype} input or output: reverse mode ran in {dtype} while finite differences "
            f"ran in float64, so agreement is limited by {dtype} precision (machine epsilon "
            f"{np.finfo(dtype).eps:.1e})"]


def _values(analytical, numerical, forward, backward, s, kinked, verdict=True) -> list:
    """The lines comparing one analytical value with its differences (and the one-sided
    ones where the step reached a kink; whether it lies between them if ``verdict``)."""
    error = abs(analytical - numerical)
    lines = [f"    analytical (reverse mode):      {analytical:.10g}",
             f"    numerical (central difference): {numerical:.10g}"]
    if kinked:
        lines.append(f"    one-sided differences:          forward {forward:.10g}, backward "
                     f"{backward:.10g}")
        if verdict:
            lines[-1] += ("; the analytical value " + (
                "lies between them (a subgradient)" if s.between(analytical, forward, backward)
                else "is not between them, so it is not a subgradient"))
    lines.append(f"    absolute error {error:.3e}, relative error "
                 f"{error / max(abs(numerical), 1e-300):.3e}; allowed atol + rtol·|numerical| = "
                 f"{s.allowed(numerical):.3e}")
    return lines


def _kink_lines(p, j, element, kinks) -> list:
    if not kinks:
        return []
    at = index_of(element, p.diff[j].shape) if element is not None else None
    what = (f"the step of input {p.diff_pos[j]} at index {at}" if at is not None
            else "the step along v")
    return [f"  {what} reaches a kink of a recorded op (within eps):"] + [
        f"    {k.describe()}" for k in kinks]


def _cotangent(p, k, s, how) -> list:
    """What u·J is (``how``: the sentence it ends), and u itself when it is short."""
    lines = [f"  {how[0]} u·J = u @ J, the gradient of sum(u * output {k}) by the input (what "
             f"tg.grad(output, input, grad_outputs=u) returns) for a random cotangent u (seed "
             f"{s.seed}){how[1]}"]
    if p.cots[k].size <= 16:
        lines.append(f"    u = {np.array2string(p.cots[k].ravel(), precision=6, max_line_width=10**6)}")
    return lines


def entries_report(p, j, k, d, failing, s) -> str:
    """Full mode: the worst entry that fails, how many fail, the kinks reached, and both
    Jacobians when they are small enough to print (``d`` a ``_modes.Differences``,
    ``failing`` where its u·J entries disagree)."""
    i, shape = p.diff_pos[j], p.diff[j].shape
    still = failing.copy()
    still[list(d.accepted)] = False
    over = np.where(still, s.excess(d.analytical, d.central), -np.inf)
    w = int(np.argmax(over))
    lines = [_header(p, j, k)]
    if d.jacobians is not None:
        lines += _jacobian_lines(p, j, k, d, s)
        lines += _cotangent(p, k, s, ("found by comparing", f": {int(still.sum())} of its "
                                      f"{still.size} entries disagree"))
    else:
        lines += _cotangent(p, k, s, ("compared:", ", entry by entry"))
        lines.append(f"  worst entry: input {i} at index {index_of(w, shape)}")
        lines += _values(d.analytical[w], d.central[w], d.forward[w], d.backward[w], s,
                         bool(d.kinks.get(w)))
        lines.append(f"  {int(still.sum())} of {still.size} entries fail ({s.describe()})")
    lines += _kink_lines(p, j, w, d.kinks.get(w))
    lines += [f"  {d.note}"] if d.note else []
    lines += _precision(p, j, k)
    return "\n".join(lines)


def _jacobian_lines(p, j, k, d, s) -> list:
    """The worst Jacobian entry and both Jacobians (and the one-sided columns at kinks)."""
    jac = d.jacobians
    reverse, central, one_sided = jac["reverse"], jac["central"], jac["one-sided"]
    kinked = jac["kinked"]  # the columns at a kink (not only a switch) of a recorded op
    over = s.excess(reverse, central)
    for c in kinked:  # a kink: a subgradient passes
        over[:, c] = np.where(s.between(reverse[:, c], *one_sided[c]), -np.inf, over[:, c])
    fails = over > 0
    lines = []
    if fails.any():
        r, c = (int(v) for v in np.unravel_index(int(np.argmax(over)), over.shape))
        lines += [f"  worst Jacobian entry: row {r}, column {c} of the Jacobians below (output "
                  f"{k} at index {index_of(r, p.outs[k].shape)} by input {p.diff_pos[j]} at "
                  f"index {index_of(c, p.diff[j].shape)})"]
        forward, backward = one_sided.get(c, (np.full(reverse.shape[0], np.nan),) * 2)
        lines += _values(reverse[r, c], central[r, c], forward[r], backward[r], s,
                         c in one_sided, verdict=c in kinked)
        lines.append(f"  {int(fails.sum())} of {fails.size} Jacobian entries fail "
                     f"({s.describe()})")
    else:
        lines.append(f"  no Jacobian entry is off by more than atol + rtol·|numerical| "
                     f"({s.describe()}); their sums u·J below are")
    lines += ["  Jacobian, reverse mode (rows: output elements, columns: input elements):",
              indent(np.array2string(reverse, precision=6), 4),
              "  Jacobian, finite differences (central):",
              indent(np.array2string(central, precision=6), 4)]
    for c, (forward, backward) in sorted(one_sided.items()):
        lines.append(f"  column {c}, one-sided differences (a kink within eps): forward "
                     f"{np.array2string(forward, precision=6)}, backward "
                     f"{np.array2string(backward, precision=6)}")
    return lines


def direction_report(p, j, k, d, s) -> str:
    """Fast mode: the analytical and numerical u·J·v of output ``k`` by input ``j``."""
    size = p.diff[j].size
    lines = [f"{_header(p, j, k)} along a random direction v (fast mode, {size} elements)",
             f"  compared: u·J·v, the derivative of sum(u * output {k}) along v, for random u "
             f"and v (seed {s.seed})"]
    lines += _values(float(d.analytical), float(d.central), float(d.forward),
                     float(d.backward), s, bool(d.kinks.get(0)), verdict=False)
    lines.append(f"  ({s.describe()})")
    lines += _kink_lines(p, j, None, d.kinks.get(0))
    if d.kinks.get(0):
        lines.append("  along a direction no subgradient is accepted: pass fast_mode=False to "
                     "compare entry by entry, or move the input off the kinks")
    lines += _precision(p, j, k)
    return "\n".join(lines)


def accepted_report(p, accepted) -> str:
    """The subgradients a passing check accepted at kinks: the element, the kink and, for
    short outputs, the three Jacobian columns."""
    parts = []
    for j, k, d in accepted:
        for e, (reverse, forward, backward) in d.accepted.items():
            text = (f"input {p.diff_pos[j]} at index {index_of(e, p.diff[j].shape)}, output {k}: "
                    f"{d.kinks[e][0].describe()}")
            if reverse.size <= 8:
                text += (f"\n    Jacobian column, reverse mode {np.array2string(reverse, precision=6)}"
                         f", one-sided differences forward {np.array2string(forward, precision=6)}"
                         f" and backward {np.array2string(backward, precision=6)}")
            parts.append(text)
    shown = parts[:3] + ([f"... and {len(parts) - 3} more"] if len(parts) > 3 else [])
    return ("gradcheck passed, accepting reverse mode's Jacobian column as a subgradient (each "
            "entry between the two one-sided differences) where a finite-difference step "
            "reached a kink and the central difference disagrees:\n"
            + "\n".join("  " + x for x in shown))


def faulty_op_report(node, position, count, failure) -> str:
    """The first recorded op (``position`` of ``count``, from 0) whose own check failed."""
    shapes = ", ".join(str(np.shape(x)) for x in node.inputs)
    site = node.site or "(source line unknown)"
    return (f"first op whose own check fails: '{node.op.name}' (op {position + 1} of {count} "
            f"in creation order), inputs of shapes {shapes}\n"
            f"  created at {site}\n" + indent(str(failure), 2))


def no_faulty_op_report(count, failure, escapes) -> str:
    """Every recorded op passes its own check: a kink of the whole function (``failure``
    stepped over one) or a part of it that is not recorded (``escapes``: the texts of the
    GraphEscapeWarnings seen)."""
    passes = f"each of the {count} recorded ops passes its own check at these values"
    if failure.kinks and failure.along_direction and not escapes:
        return (f"{passes}; the function's own check ran along a random direction v whose "
                "step crosses kinks, where no subgradient is accepted: pass fast_mode=False "
                "to compare the function entry by entry")
    if failure.kinks and all(k.switch for k in failure.kinks) and not escapes:
        k = failure.kinks[0]
        return (f"{passes}, yet the function as a whole fails where a boolean input of a "
                f"recorded op changes within the step ('{k.op}', op {k.position + 1} of "
                f"{k.count}, its input {k.argument} at index {k.index}). A where "
                "or a mask whose condition flips there joins two branches: the function has a "
                "kink or a jump at that point, which no recorded op declares (leaky_relu at 0; "
                "x * (x > 1) at 1); move the input off it to check the gradient elsewhere")
    if failure.kinks and not escapes:
        return (f"{passes}, yet the function as a whole fails at a kink: the ops' choices of "
                "subgradient need not add up to a subgradient of the whole (relu(x) - "
                "relu(-x) = x has derivative 1 at 0, reverse mode gives 0); move the input "
                "off the kink to check the gradient elsewhere")
    text = (f"{passes}, yet the function as a whole fails: part of the function is not "
            "recorded (a graph escape). Reverse mode sees values read off the graph as "
            "constants while finite differences see them change: look for .data, .detach(), "
            ".numpy(), np.asarray or a SciPy call on a Tensor, or the result of an op without "
            "a gradient (sign, a comparison) used as a value")
    if escapes:
        text += "\n  GraphEscapeWarning seen: " + escapes[0]
    return text
