"""``check_forward_ad``: each recorded op's forward-mode rule against its reverse-mode rule,
exactly, with no finite differences.

For an op with output y = f(x), a JVP gives J·v and a VJP gives Jᵀ·u for the same Jacobian J,
so ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩ for every u and v. For every recorded op of the function and every
input that requires grad and has both rules, the two numbers are computed at the op's
recorded inputs (cast to float64, as the finite differences are) for a random tangent v
and a random cotangent u, and must agree to round-off: within 64·eps·√n·Σ|terms|, eps the
machine epsilon of the rules' results, n the larger of the two vectors' sizes and Σ|terms|
the sum of the absolute values of the products summed in both numbers. PyTorch's
``check_forward_ad`` compares forward mode with finite differences instead, which holds it
to finite differences' precision.

The check says that the two rules disagree, not which is wrong. A report adds the number
finite differences give along v, ⟨u, (f(x + h·v) − f(x − h·v)) / 2h⟩, and names the rule it
agrees with (gradcheck's tolerances) as the right one.
"""
from __future__ import annotations

import numpy as np

from .._random import as_generator
from ..autograd import local_vjp
from ..errors import BackwardError, ShapeError
from ..forward import local_jvp
from ..state import enable_grad
from ..tensor import Tensor
from ._problem import recorded_run
from ._report import Failure, indent

ROUND_OFF = 64  # allowed: ROUND_OFF · eps · √n · Σ|terms|


def check_forward_ad(fn, inputs, name, s) -> int:
    """Compare the JVP and the VJP of every recorded op of ``fn`` at ``inputs`` for every
    input that requires grad and has both; return how many pairs were compared. Raises
    :class:`Failure` with the report of the first pair (in creation order) that disagrees."""
    nodes, _ = recorded_run(fn, inputs, name)
    rng = as_generator(s.seed, "gradcheck", "seed")
    compared = 0
    for position, node in enumerate(nodes):
        op = node.op
        idxs = [i for i, p in enumerate(node.parents)
                if isinstance(p, Tensor) and p.requires_grad
                and op.jvp_for(i) is not None and op.vjp_for(i) is not None]
        if not idxs:
            continue
        y, args = _at_float64(node)
        for idx in idxs:
            v = rng.standard_normal(np.shape(args[idx]))
            u = rng.standard_normal(y.shape)
            try:
                jv, vu = local_jvp(y, idx, v), local_vjp(y, idx, u)
            except (BackwardError, ShapeError) as e:
                raise Failure(f"check_forward_ad: a rule of '{op.name}' for its input {idx} "
                              f"failed: {e}\n" + _where(node, position, len(nodes))) from None
            pair = _Pair(u, v, jv, vu)
            if not pair.agrees():
                raise Failure(_report(node, position, len(nodes), idx, args, pair, s))
            compared += 1
    return compared


class _Pair:
    """⟨u, J·v⟩ from the JVP and ⟨Jᵀ·u, v⟩ from the VJP, and the round-off allowed."""

    def __init__(self, u, v, jv, vu):
        self.u, self.v = u, v
        self.jvp = float(np.sum(u * jv))
        self.vjp = float(np.sum(vu * v))
        terms = float(np.sum(np.abs(u * jv)) + np.sum(np.abs(vu * v)))
        self.dtype = np.result_type(jv.dtype, vu.dtype)
        self.n = max(np.size(jv), np.size(vu), 1)
        self.allowed = ROUND_OFF * np.finfo(self.dtype).eps * np.sqrt(self.n) * terms

    def agrees(self) -> bool:
        if np.isnan(self.jvp) and np.isnan(self.vjp):
            return True  # both rules undefined there (a singular point)
        return bool(abs(self.jvp - self.vjp) <= self.allowed)


def _at_float64(node):
    """The node's op run again on its recorded inputs, those that required grad as float64
    leaves: (the output Tensor, its arguments)."""
    args = [Tensor(np.array(x, dtype=np.float64), requires_grad=True)
            if isinstance(p, Tensor) and p.requires_grad else x
            for p, x in zip(node.parents, node.inputs)]
    with enable_grad():
        return node.op.bind(*args, **node.params), args


def _directional_difference(node, args, idx, pair, eps) -> float:
    """⟨u, (f(x + h·v) − f(x − h·v)) / 2h⟩, moving input ``idx`` along v by h = eps."""
    arrays = [a.data if isinstance(a, Tensor) else a for a in args]
    x = arrays[idx]
    ends = []
    for sign in (1, -1):
        arrays[idx] = x + sign * eps * pair.v
        ends.append(np.asarray(node.op.forward(*arrays, **node.params), dtype=np.float64))
    return float(np.sum(pair.u * (ends[0] - ends[1]) / (2 * eps)))


def _where(node, position, count) -> str:
    shapes = ", ".join(str(np.shape(x)) for x in node.inputs)
    site = node.site or "(source line unknown)"
    return (f"  '{node.op.name}' is op {position + 1} of {count} in creation order, inputs of "
            f"shapes {shapes}\n  created at {site}")


def _verdict(node, args, idx, pair, s) -> str:
    """What finite differences along v say about which rule is wrong."""
    try:
        with np.errstate(all="ignore"):
            numerical = _directional_difference(node, args, idx, pair, s.eps)
    except Exception as e:  # the forward refuses x ± h·v (outside its domain)
        return (f"  finite differences, which would decide which rule is wrong, could not be "
                f"taken along v: '{node.op.name}' raised {type(e).__name__}: {e}")
    near_jvp = abs(pair.jvp - numerical) <= s.allowed(numerical)
    near_vjp = abs(pair.vjp - numerical) <= s.allowed(numerical)
    if near_jvp and not near_vjp:
        verdict = "it agrees with the JVP, so the VJP is the wrong rule"
    elif near_vjp and not near_jvp:
        verdict = "it agrees with the VJP, so the JVP is the wrong rule"
    elif near_jvp:
        verdict = ("both numbers are within gradcheck's tolerance of it: the rules differ by "
                   "less than finite differences resolve")
    else:
        verdict = ("it agrees with neither: both rules may be wrong, or the step crosses a kink "
                   "of the op")
    return (f"  finite differences decide which rule is wrong: ⟨u, ({node.op.name}(x + h·v) - "
            f"{node.op.name}(x - h·v)) / 2h⟩ = {numerical:.10g} (h = eps = {s.eps}, tolerance "
            f"atol={s.atol}, rtol={s.rtol}); {verdict}")


def _report(node, position, count, idx, args, pair, s) -> str:
    text = [f"check_forward_ad: the JVP and the VJP of '{node.op.name}' for its input {idx} "
            "disagree",
            _where(node, position, count),
            f"  compared at the op's recorded inputs (in float64) for a random tangent v of input "
            f"{idx} (shape {np.shape(args[idx])}) and a random cotangent u of the output (shape "
            f"{pair.u.shape}), seed {s.seed}:",
            f"    ⟨u, J·v⟩ from the JVP:  {pair.jvp:.10g}",
            f"    ⟨Jᵀ·u, v⟩ from the VJP: {pair.vjp:.10g}",
            f"    difference {abs(pair.jvp - pair.vjp):.3e}; allowed {pair.allowed:.3e} "
            f"(round-off: {ROUND_OFF}·eps·√n·Σ|terms|, eps of {pair.dtype}, n = {pair.n})",
            _verdict(node, args, idx, pair, s)]
    if pair.u.size <= 8 and pair.v.size <= 8:
        text.append(indent(f"u = {np.array2string(pair.u.ravel(), precision=6)}\n"
                           f"v = {np.array2string(np.ravel(pair.v), precision=6)}", 4))
    return "\n".join(text)
