"""``tg.lint``: numerical-stability findings over the recorded graph of some outputs.

:func:`lint` walks the ops recorded behind the outputs (``tensor.grad_fn`` and its parents)
and reads what recording keeps anyway: the op, its arguments, the arrays the forward
computed on (``node.inputs``), the result, the ``nn.Module`` path and, under
``tg.record_sites()``, the user's source line. Nothing is recomputed and nothing is
recorded; the graph must not have been released by a backward yet.

Rules (each finding names one of these ids):

=================  ==========================================================================
``sigmoid-bce``    ``log`` of ``sigmoid(z)`` or of ``1 - sigmoid(z)``, ``log1p(-sigmoid(z))``,
                   ``binary_cross_entropy`` of a sigmoid -> ``binary_cross_entropy_with_logits``
``logsumexp``      ``log(sum(exp(x)))`` (or ``mean``) with x not shifted by its maximum
``softmax-log``    ``log`` of a softmax (``tg.softmax`` or ``exp(x) / sum(exp(x))``)
                   -> ``log_softmax``
``zero-input``     ``log``, ``sqrt`` or a division whose input (the denominator) was 0 in
                   this run, or within 4 ulps of it
``exp-overflow``   ``exp`` whose input exceeded log(finfo(dtype).max) in this run
``lost-addends``   a float32 or float16 ``sum``/``mean`` whose total is so large that most
                   addends are below half an ulp of it
``saturated``      a ``sigmoid``/``tanh`` with at least a quarter of its outputs saturated
=================  ==========================================================================

Ops that only move values (reshape, getitem, transpose, stack, casts, the identity nodes of
module hooks, ...) are looked through, so ``log(p.reshape(...))`` is ``log`` of ``p``.
"""
from __future__ import annotations

import os
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import SITE
from ..errors import BackwardError
from ..tensor import Tensor

__all__ = ["Finding", "LintReport", "lint"]

# Ops whose result holds the values of their Tensor arguments, rearranged or copied.
_MOVES = frozenset({"reshape", "getitem", "transpose", "swapaxes", "flatten", "expand_dims",
                    "broadcast_to", "cast", "stack", "concatenate"})
ZERO_ULPS = 4  # an add/subtract result within this many ulps of its operands counts as 0
SATURATION = 1e-4  # an output is saturated where the derivative is below this × its maximum
SATURATED_SHARE = 0.25  # a sigmoid/tanh is flagged from this share of saturated outputs on
LOST_SHARE = 0.5  # a float32 sum is flagged when more than this share of its addends vanish
# |input| above which the derivative is below SATURATION × its maximum:
# sigmoid' / (1/4) = sech²(z/2), tanh' = sech²(z)
_SATURATED_AT = {"sigmoid": 2 * np.arccosh(SATURATION ** -0.5), "tanh": np.arccosh(SATURATION ** -0.5)}
_HOW_TO_SEE_LINES = "run the forward pass under `with tg.record_sites():` to see source lines"
_TRAILING_COMMENT = re.compile(r"\s{2,}#[^'\"]*$")  # "x = f(y)  # note" -> "x = f(y)"


# ----------------------------------------------------------------------------------------
# Findings
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class Finding:
    """One numerical-stability problem found by :func:`lint`.

    Attributes
    ----------
    rule : str
        The rule's id: ``"sigmoid-bce"``, ``"logsumexp"``, ``"softmax-log"``,
        ``"zero-input"``, ``"exp-overflow"``, ``"lost-addends"`` or ``"saturated"``.
    op : str
        The name of the op the finding is about (``"log"``, ``"sigmoid"``, ...).
    site : str or None
        ``"file:line in function: source"`` of the user code that recorded the op, when the
        forward ran under ``tg.record_sites()``; None otherwise.
    summary : str
        A few words for the table (``"log of sigmoid and of 1 - sigmoid"``).
    message : str
        What is wrong, with this run's numbers and the criterion used.
    rewrite : str
        The stable form to write instead (``"binary_cross_entropy_with_logits(z, target)"``).
    module : str or None
        The ``nn.Module`` call the op was recorded in, as ``"path: Type"`` (``"8: Sigmoid"``).
    node : Node
        The recorded node itself (``tensor.grad_fn``).
    """

    rule: str
    op: str
    site: str | None
    summary: str
    message: str
    rewrite: str
    module: str | None = None
    node: Any = field(default=None, repr=False, compare=False)

    @property
    def filename(self) -> str | None:
        """The source file of :attr:`site` (None when sites were not recorded)."""
        m = SITE.match(self.site or "")
        return m["file"] if m else None

    @property
    def lineno(self) -> int | None:
        """The line number of :attr:`site` (None when sites were not recorded)."""
        m = SITE.match(self.site or "")
        return int(m["line"]) if m else None

    @property
    def source(self) -> str | None:
        """The text of the source line of :attr:`site`."""
        m = SITE.match(self.site or "")
        return m["source"] if m else None

    @property
    def location(self) -> str:
        """``"file.py:12"``, else ``"[path: Module]"``, else ``"?"``."""
        return _short_place(self.site, self.module) or "?"

    def __str__(self) -> str:
        where = f"{self.op} at {self.location}" if self.site or self.module else self.op
        code = _TRAILING_COMMENT.sub("", self.source) if self.site else None
        lines = [f"{self.rule}: {where}" + (f": {code}" if code else "")]
        if not self.site:
            lines.append(f"    (source line not recorded: {_HOW_TO_SEE_LINES})")
        lines += textwrap.wrap(self.message, 96, initial_indent="    ", subsequent_indent="    ")
        lines.append(f"    rewrite: {self.rewrite}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Finding({self.rule!r}, op={self.op!r}, line={self.location!r}, "
                f"summary={self.summary!r})")


class LintReport(list):
    """The findings of :func:`lint`: a list of :class:`Finding` in the order the flagged
    ops were recorded. ``str(report)`` (what ``print`` shows) is :meth:`table`;
    :meth:`details` gives every finding in full.

    Attributes
    ----------
    n_ops : int
        The number of recorded ops read (0: nothing was recorded behind the outputs).
    """

    def __init__(self, findings=(), n_ops: int = 0) -> None:
        super().__init__(findings)
        self.n_ops = n_ops

    def _nothing(self) -> str:
        if self.n_ops:
            return f"no findings in {self.n_ops} recorded ops"
        return ("no findings: no op was recorded behind the outputs (computed under no_grad, "
                "or from Tensors that do not require grad)")

    def table(self) -> str:
        """One row per finding: rule, op, line (``file:line``, else the module, else
        ``?``), what was found, the rewrite. Ends with how to record source lines when some
        finding has none."""
        if not self:
            return self._nothing()
        head = ("rule", "op", "line", "finding", "rewrite")
        rows = [head] + [(f.rule, f.op, f.location, f.summary, f.rewrite) for f in self]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
        text = ["  ".join([c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]).rstrip()
                for r in rows]
        if any(f.site is None for f in self):
            text.append(f"(lines not recorded: {_HOW_TO_SEE_LINES})")
        return "\n".join(text)

    def details(self) -> str:
        """Every finding as ``str(finding)``, separated by blank lines."""
        return "\n\n".join(str(f) for f in self) if self else self._nothing()

    def __str__(self) -> str:
        return self.table()


def _short_place(site, module) -> str | None:
    m = SITE.match(site or "")
    if m:
        return f"{os.path.basename(m['file'])}:{m['line']}"
    return f"[{module}]" if module else None


def _module_text(node) -> str | None:
    scope = node.module
    if scope is None:
        return None
    return f"{scope.path}: {scope.type}" if scope.path else scope.type


def _at(t) -> str:
    """" at file.py:12" or " at [5: Linear]": where tensor t's op was recorded, for a
    message ("" when neither is known)."""
    fn = t.grad_fn
    place = _short_place(fn.site, _module_text(fn))
    return f" at {place}" if place else ""


# ----------------------------------------------------------------------------------------
# Reading the graph
# ----------------------------------------------------------------------------------------

def _op_results(outputs) -> list:
    """Every op result behind ``outputs``, inputs before the ops that use them."""
    order, seen = [], set()
    stack = [(t, False) for t in reversed(outputs)]
    while stack:
        t, expanded = stack.pop()
        fn = t.grad_fn
        if fn is None:
            continue
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        if fn.released:
            raise BackwardError(
                f"lint: the graph through '{fn.name}' (result shape {t.shape}) was already "
                "released by a backward call without retain_graph=True; call tg.lint(...) "
                "before that backward, or pass retain_graph=True to it")
        stack.append((t, True))
        stack.extend((p, False) for p in reversed(fn.parents)
                     if isinstance(p, Tensor) and id(p) not in seen)
    return order


def _name(a) -> str | None:
    """The op that computed ``a`` (None for leaves and constants)."""
    fn = a.grad_fn if isinstance(a, Tensor) else None
    return None if fn is None else fn.name


def _sources(a) -> list:
    """The arguments whose values ``a`` holds, looking through ops that only move values."""
    found, stack, seen = [], [a], set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if _name(t) in _MOVES:
            stack.extend(p for p in t.grad_fn.parents if isinstance(p, Tensor))
        else:
            found.append(t)
    return found


def _from(a, *names) -> list:
    """The results of ops called ``names`` among the sources of ``a``."""
    return [s for s in _sources(a) if _name(s) in names]


def _is_one(a) -> bool:
    """Whether ``a`` is a constant (no op result, no leaf that requires grad) equal to 1
    everywhere."""
    if isinstance(a, Tensor) and a.requires_grad:
        return False
    v = a.data if isinstance(a, Tensor) else a
    try:
        return bool(np.size(v)) and bool(np.all(np.asarray(v) == 1))
    except TypeError:
        return False


def _interval(x) -> str:
    x = np.asarray(x)
    return f"[{np.min(x):.4g}, {np.max(x):.4g}]" if x.size else "[]"


def _first(mask) -> str:
    idx = np.argwhere(mask)[0]
    return "()" if not idx.size else "(" + ", ".join(str(int(i)) for i in idx) + ")"


def _finding(rule, t, summary, message, rewrite) -> Finding:
    fn = t.grad_fn
    return Finding(rule=rule, op=fn.name, site=fn.site, summary=summary, message=message,
                   rewrite=rewrite, module=_module_text(fn), node=fn)


# ----------------------------------------------------------------------------------------
# The rules: each takes an op result and yields Findings about its op
# ----------------------------------------------------------------------------------------

def _one_minus_sigmoids(a) -> list:
    """Sigmoid results s such that ``a`` is 1 - s (``1 - s``, ``1 + (-s)``, ``(-s) + 1``)."""
    found = []
    for d in _sources(a):
        fn, name = d.grad_fn, _name(d)
        if name == "subtract" and _is_one(fn.parents[0]):
            found += _from(fn.parents[1], "sigmoid")
        elif name == "add":
            for one, other in (fn.parents, fn.parents[::-1]):
                if _is_one(one):
                    for n in _from(other, "negative"):
                        found += _from(n.grad_fn.parents[0], "sigmoid")
    return found


def _sigmoid_consumers(t) -> list:
    """(sigmoid result, form) for each sigmoid whose probabilities t's op takes the log of."""
    fn, name = t.grad_fn, _name(t)
    if name == "log":
        return ([(s, "log(p)") for s in _from(fn.parents[0], "sigmoid")]
                + [(s, "log(1 - p)") for s in _one_minus_sigmoids(fn.parents[0])])
    if name == "log1p":
        return [(s, "log1p(-p)") for n in _from(fn.parents[0], "negative")
                for s in _from(n.grad_fn.parents[0], "sigmoid")]
    if name == "binary_cross_entropy":
        return [(s, "binary_cross_entropy(p, target)") for s in _from(fn.parents[0], "sigmoid")]
    return []


def _sigmoid_bce(results) -> list:
    """(op result, finding) pairs, one per sigmoid and line (per sigmoid when lines were not
    recorded): log(p) and log(1 - p) of one sigmoid on one line are one finding, reported
    on the first log."""
    groups = {}
    for t in results:
        for s, form in _sigmoid_consumers(t):
            key = (id(s), t.grad_fn.site)
            _, forms, _ = groups.setdefault(key, (t, [], s))
            if form not in forms:
                forms.append(form)
    findings = []
    for t, forms, s in groups.values():
        z, p = np.asarray(s.grad_fn.inputs[0]), s.data
        info = np.finfo(p.dtype)
        to_one = np.log(2 / info.eps)  # 1 - sigmoid(z) ≈ exp(-z) falls below half an ulp of 1
        to_zero = -np.log(info.max)  # tg.sigmoid is 1/(1 + exp(-z)): 0 once exp(-z) overflows
        exact = int(np.count_nonzero((p == 0) | (p == 1)))
        message = (
            f"{' and '.join(forms)} of the sigmoid{_at(s)}: in {p.dtype} sigmoid rounds "
            f"to 1 for logits above about {to_one:.1f} and to 0 below {to_zero:.1f}, where the "
            "log is -inf (binary_cross_entropy clamps it at -100 and its gradient vanishes); "
            f"the logits in this run lie in {_interval(z)} and {exact} of the {p.size} "
            "probabilities are exactly 0 or 1. binary_cross_entropy_with_logits computes the "
            "same loss from the logits, exactly for any magnitude (tg.nn: BCEWithLogitsLoss "
            "without the final Sigmoid).")
        findings.append((t, _finding("sigmoid-bce", t, f"sigmoid then {', '.join(forms)}",
                                     message, "binary_cross_entropy_with_logits(z, target)")))
    return findings


def _shifted(x, axis) -> bool:
    """Whether x was shifted by its maximum: every slice reduced over ``axis`` peaks at 0."""
    x = np.asarray(x)
    return x.size > 0 and bool(np.all(np.max(x, axis=axis) == 0))


def _logsumexp(t) -> list:
    if _name(t) != "log":
        return []
    findings = []
    for s in _from(t.grad_fn.parents[0], "sum", "mean"):
        axis = s.grad_fn.params["axis"]
        for e in _from(s.grad_fn.parents[0], "exp"):
            x = np.asarray(e.grad_fn.inputs[0])
            if x.size == 0 or _shifted(x, axis):
                continue
            limit = np.log(np.finfo(e.dtype).max)
            reduced = _name(s)
            fix = f"logsumexp(x, axis={axis!r})" + (" - log(n)" if reduced == "mean" else "")
            message = (
                f"log({reduced}(exp(x))) with x not shifted by its maximum (exp{_at(e)}): "
                f"exp overflows to inf for x above {limit:.2f} ({e.dtype}) and the {reduced} "
                "underflows to 0 (log -inf) when every x is very negative; in this run x lies in "
                f"{_interval(x)}. logsumexp subtracts the maximum first.")
            findings.append(_finding("logsumexp", t, f"log({reduced}(exp(x))) unshifted",
                                     message, fix))
    return findings


def _softmax_axis(a) -> tuple:
    """(True, axis) if ``a`` is a softmax: tg.softmax's exp(x - logsumexp(x)), or a
    written-out exp(x) / sum(exp(x)); else (False, None)."""
    fn, name = a.grad_fn, _name(a)
    if name == "exp":
        d = fn.parents[0]
        if _name(d) == "subtract":
            x, lse = d.grad_fn.parents
            if _name(lse) == "logsumexp" and lse.grad_fn.parents[0] is x:
                return True, lse.grad_fn.params["axis"]
    elif name == "divide" and _from(fn.parents[0], "exp"):
        for s in _from(fn.parents[1], "sum"):
            if _from(s.grad_fn.parents[0], "exp"):
                return True, s.grad_fn.params["axis"]
    return False, None


def _softmax_log(t) -> list:
    if _name(t) != "log":
        return []
    findings = []
    for s in _from(t.grad_fn.parents[0], "exp", "divide"):
        is_softmax, axis = _softmax_axis(s)
        if not is_softmax:
            continue
        p = s.data
        lowest = np.log(np.finfo(p.dtype).smallest_subnormal) - np.log(2)  # exp rounds to 0
        message = (
            f"log of the softmax{_at(s)}: softmax rounds to 0 where a log-probability is "
            f"below {lowest:.1f} ({p.dtype}), and log(0) = -inf with a NaN gradient; in this "
            f"run the smallest probability is {np.min(p):.4g} ({int(np.count_nonzero(p == 0))} "
            "exactly 0). log_softmax computes x - logsumexp(x) directly (cross_entropy for "
            "class targets).")
        findings.append(_finding("softmax-log", t, "log of softmax", message,
                                 f"log_softmax(x, axis={axis!r})"))
    return findings


_ZERO_INPUT = {  # op: (index of the input checked, what it is, the result there, the rewrite)
    "log": (0, "input", "log is -inf and its gradient 1/x infinite",
            "log(maximum(x, tiny)), or a log-space form"),
    "sqrt": (0, "input", "the gradient 1/(2 sqrt(x)) is infinite",
             "sqrt(x + eps), or where(x > 0, sqrt(where(x > 0, x, 1)), 0)"),
    "divide": (1, "denominator", "the quotient and both gradients are infinite or NaN",
               "a denominator kept from 0 (maximum(y, eps)), or the double where"),
}


def _zero_input(t) -> list:
    """log, sqrt, divide whose input (denominator) is 0, subnormal, or the result of an add
    or subtract within ``ZERO_ULPS`` ulps of 0 at the scale of its operands (cancellation)."""
    spec = _ZERO_INPUT.get(_name(t))
    if spec is None:
        return []
    i, what, effect, fix = spec
    fn = t.grad_fn
    x = np.asarray(fn.inputs[i])
    if x.size == 0 or x.dtype.kind not in "biuf":
        return []
    dtype = x.dtype if x.dtype.kind == "f" else t.dtype
    ax = np.abs(x)
    near = ax < np.finfo(dtype).tiny  # 0 or subnormal
    arg = fn.parents[i]
    cancelled = 0
    if _name(arg) in ("add", "subtract"):
        a, b = (np.abs(np.asarray(v, dtype=dtype)) for v in arg.grad_fn.inputs)
        scale = np.broadcast_to(np.maximum(a, b), x.shape)
        rounded = ax <= ZERO_ULPS * np.spacing(scale)
        cancelled = int(np.count_nonzero(rounded & ~near))
        near = near | rounded
    if not near.any():
        return []
    n_zero = int(np.count_nonzero(x == 0))
    parts = [f"{n_zero} of the {x.size} elements are 0"]
    if cancelled:
        parts.append(f"{cancelled} more are within {ZERO_ULPS} ulps of 0 at the scale of the "
                     f"{_name(arg)}{_at(arg)} that produced them (rounding left of a "
                     "difference of nearly equal numbers)")
    if int(np.count_nonzero(near)) > n_zero + cancelled:
        parts.append(f"{int(np.count_nonzero(near)) - n_zero - cancelled} are subnormal")
    if _name(t) != "divide" and (x < 0).any():
        parts.append(f"{int(np.count_nonzero(x < 0))} are negative (NaN)")
    message = (f"{fn.name}'s {what} reached 0 in this run: {'; '.join(parts)}; first at index "
               f"{_first(near)}. There {effect}.")
    return [_finding("zero-input", t, f"{what} at 0 ({int(np.count_nonzero(near))} of {x.size})",
                     message, fix)]


def _exp_overflow(t) -> list:
    if _name(t) != "exp":
        return []
    x = np.asarray(t.grad_fn.inputs[0])
    limit = np.log(np.finfo(t.dtype).max)
    over = x > limit
    if not over.any():
        return []
    k = int(np.count_nonzero(over))
    message = (
        f"exp's input exceeded log(max {t.dtype}) = {limit:.2f} in this run: {k} of the {x.size} "
        f"elements (largest {np.max(x):.4g}, first at index {_first(over)}) overflowed to inf, "
        "and so does their gradient wherever they are used (where a where discards them, exp's "
        "VJP gives 0 for the zero cotangent; a VJP written as g * out gives 0 * inf = NaN). "
        "Shift by the maximum (logsumexp, "
        "softmax and log_softmax do), use the stable composite (binary_cross_entropy_with_logits, "
        "log_softmax), or mask the input of an untaken where branch.")
    return [_finding("exp-overflow", t, f"exp overflow ({k} of {x.size})", message,
                     "exp(x - max(x)), or a stable composite")]


def _lost_addends(t) -> list:
    """float32/float16 sum or mean: the share of nonzero addends smaller than half an ulp
    of their slice's total; flagged above ``LOST_SHARE`` (the median addend vanishes)."""
    name = _name(t)
    if name not in ("sum", "mean"):
        return []
    x = np.asarray(t.grad_fn.inputs[0])
    if x.dtype.kind != "f" or x.dtype.itemsize > 4 or x.size < 2:
        return []
    axis = t.grad_fn.params["axis"]
    with np.errstate(invalid="ignore", over="ignore"):
        total = np.sum(x, axis=axis, keepdims=True, dtype=np.float64)
        half_ulp = np.broadcast_to(np.spacing(np.abs(total).astype(x.dtype)) / 2, x.shape)
        nonzero = (x != 0) & np.isfinite(x)
        lost = nonzero & (np.abs(x) < half_ulp)
    n, k = int(np.count_nonzero(nonzero)), int(np.count_nonzero(lost))
    if not n or k <= LOST_SHARE * n:
        return []
    big = float(np.max(np.abs(total)))
    message = (
        f"{name} of {x.size} {x.dtype} addends whose total reaches {big:.4g}: {k} of the {n} nonzero "
        f"addends ({k / n:.0%}; flagged above {LOST_SHARE:.0%}) are smaller than half an ulp of "
        f"their total ({np.spacing(x.dtype.type(big)) / 2:.3g} at {big:.4g}), so each of them is "
        "rounded away when added to a running total of that size (NumPy's pairwise summation "
        "loses less; a sequential or other order can lose them all).")
    return [_finding("lost-addends", t, f"{k / n:.0%} of addends below half an ulp", message,
                     f"{name}(cast(x, float64)) cast back, or subtract a reference value first")]


def _saturated(t) -> list:
    name = _name(t)
    if name not in _SATURATED_AT or t.size == 0:
        return []
    y = t.data.astype(np.float64)
    slope = 4 * y * (1 - y) if name == "sigmoid" else 1 - y * y  # derivative / its maximum
    share = float(np.mean(slope < SATURATION))
    if share < SATURATED_SHARE:
        return []
    z = np.asarray(t.grad_fn.inputs[0])
    message = (
        f"{share:.0%} of the {t.size} outputs of this {name} are saturated (its derivative below "
        f"{SATURATION:g} of its maximum, |input| above {_SATURATED_AT[name]:.1f}; flagged from "
        f"{SATURATED_SHARE:.0%} on): almost no gradient flows back through them to the loss. "
        f"Its input lies in {_interval(z)} (std {np.std(z):.3g}). Keep the pre-activations of "
        "order one: scale the initialisation (Glorot's for sigmoid/tanh) or normalise the "
        "layer's input; at the output, pass the logits to a loss that takes logits.")
    return [_finding("saturated", t, f"{share:.0%} saturated", message,
                     "inputs of order one (initialisation scale, normalisation)")]


_RULES = (_logsumexp, _softmax_log, _zero_input, _exp_overflow, _lost_addends, _saturated)


def lint(*outputs) -> LintReport:
    """Numerical-stability findings over the recorded graph of ``outputs``.

    Reads the ops recorded behind the outputs and the values the forward pass computed on
    (nothing is recomputed), and reports, for each problem, the rule, the op, the user's
    source line (when the forward ran under ``tg.record_sites()``; else the ``nn.Module``
    path, and the report says how to get lines), a message with this run's numbers and the
    criterion, and the stable rewrite. The rules are listed in the module docstring and in
    docs/lint.md.

    Parameters
    ----------
    *outputs : Tensor
        One or more results, typically the loss, before ``backward`` (which releases the
        graph).

    Returns
    -------
    LintReport
        A list of :class:`Finding`, in the order the flagged ops were recorded (empty when
        nothing is found); ``print`` shows it as a table.

    Raises
    ------
    TypeError
        No outputs, or an output that is not a Tensor.
    BackwardError
        Part of the graph was released by a backward without ``retain_graph=True``.

    Examples
    --------
    >>> z = tg.tensor([[-3.0], [2.0]], requires_grad=True)
    >>> p = tg.sigmoid(z)
    >>> loss = -tg.mean(tg.log(1 - p))
    >>> [(f.rule, f.op) for f in tg.lint(loss)]
    [('sigmoid-bce', 'log')]
    >>> print(tg.lint(loss))  # doctest: +NORMALIZE_WHITESPACE
    rule         op   line  finding                  rewrite
    sigmoid-bce  log  ?     sigmoid then log(1 - p)  binary_cross_entropy_with_logits(z, target)
    (lines not recorded: run the forward pass under `with tg.record_sites():` to see source lines)
    """
    if not outputs:
        raise TypeError("lint: expected at least one output Tensor")
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"lint: output {i} must be a Tensor, got {type(t).__name__}")
    results = _op_results(outputs)
    found = {}  # id of an op result -> its findings (sigmoid-bce grouped over all logs first)
    with np.errstate(all="ignore"):
        for t, f in _sigmoid_bce(results):
            found.setdefault(id(t), []).append(f)
        for t in results:
            for rule in _RULES:
                found.setdefault(id(t), []).extend(rule(t))
    return LintReport((f for t in results for f in found[id(t)]), n_ops=len(results))
