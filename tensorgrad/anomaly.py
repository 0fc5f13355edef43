"""Anomaly mode: which op made a NaN or an infinity, on which line, and why.

Under :class:`detect_anomaly` (or ``set_detect_anomaly(True)``) every recorded op remembers
the user's source line, as under :class:`tensorgrad.record_sites`, and is checked as it is
recorded: an op whose result holds an infinity while its inputs are all finite, or a NaN
while no input holds one, is marked a *suspect* (``node.suspect``). Nothing is raised then:
an overflow that ``where`` masks away (``where(x < 50, exp(x), x)`` at x = 1000) is harmless.
The error comes when a non-finite value is used for a gradient:

- a reverse pass (``backward``, :func:`tensorgrad.grad`) starts from an output holding NaN
  or inf: :class:`AnomalyError` names the earliest suspect from which the non-finite values
  flow, through non-finite tensors only, to that output (``phase == "forward"``);
- a VJP returns a gradient holding NaN or inf for a finite cotangent: the error names that
  op, its line and the cause (``phase == "backward"``), and when the cotangent is 0 there
  because the value sits in the untaken branch of a ``where``, that ``where`` and the
  "double where" rewrite.

The causes are read from a table keyed by op name (:data:`CAUSES`), one small function per
op that looks at the values at the first bad element; an op missing from it gets a generic
explanation from the counts of NaN, inf and zeros. docs/anomaly.md shows a report and says
exactly what is and is not checked.

The switch is global, as PyTorch's ``set_detect_anomaly`` is: it applies to every thread.
Off, it costs each recorded op one test of a module variable in
:func:`tensorgrad.autograd.apply` and each VJP call one test of a local variable in the
reverse pass; the checks themselves live here and reach the engine through
:func:`tensorgrad.autograd.set_anomaly`.
"""
from __future__ import annotations

import functools
import inspect
import math
import os
import types

import numpy as np

from . import autograd
from .errors import AnomalyError
from .tensor import Tensor

_enabled = False


def set_detect_anomaly(mode: bool) -> None:
    """Switch anomaly mode on or off, for every thread (PyTorch's ``set_detect_anomaly``).

    Parameters
    ----------
    mode : bool

    Raises
    ------
    TypeError
        ``mode`` is not a bool.

    See :class:`detect_anomaly` for what the mode checks.
    """
    global _enabled
    if not isinstance(mode, (bool, np.bool_)):
        raise TypeError(f"set_detect_anomaly: mode must be True or False, got {mode!r}")
    _enabled = bool(mode)
    autograd.set_anomaly(_CHECKS if _enabled else None)


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on (PyTorch's ``is_anomaly_enabled``)."""
    return _enabled


class detect_anomaly:
    """Context manager (or decorator) that switches anomaly mode on, for every thread, and
    restores the previous setting on exit (PyTorch's ``detect_anomaly``).

    Inside, every recorded op records the user's source line, and

    - ``backward()`` or :func:`tensorgrad.grad` on an output holding NaN or ±inf raises
      :class:`~tensorgrad.AnomalyError` naming the first recorded op that turned finite
      values into non-finite ones on the way to that output, its line, its inputs and the
      probable cause (log or division at 0, sqrt or log of a negative number, exp or power
      overflowing the dtype, inf − inf, 0 · inf);
    - a VJP that returns NaN or ±inf for a finite cotangent raises it too, naming that op,
      the line that recorded it and the cause (sqrt'(0) = inf, log'(0), a division by 0 in
      the VJP, the untaken branch of a ``where``).

    A non-finite value that never reaches an output or a gradient (an overflow masked by
    ``where``) raises nothing. Recording costs a stack walk per op inside (see
    docs/anomaly.md for figures): use it to find a problem, not in training.

    Examples
    --------
    >>> x = tg.tensor([1.0, 0.0], requires_grad=True)
    >>> with tg.detect_anomaly(), np.errstate(divide="ignore"):
    ...     try:
    ...         tg.log(x).sum().backward()
    ...     except tg.AnomalyError as e:
    ...         print(e.op, "|", e.cause)
    log | log at 0: log(0) = -inf
    """

    def __enter__(self):
        # a stack: the same instance may be entered again inside itself
        self.__dict__.setdefault("_prev", []).append(_enabled)
        set_detect_anomaly(True)
        return self

    def __exit__(self, *exc):
        set_detect_anomaly(self._prev.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper


# ----------------------------------------------------------------------------------------
# The checks the engine calls (autograd.set_anomaly)
# ----------------------------------------------------------------------------------------

def _finite(a) -> bool:
    """Whether the array (or number) ``a`` holds no NaN and no inf."""
    if type(a) is not np.ndarray:
        a = np.asarray(a)
    return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


def _recorded(t) -> None:
    """Called on each Tensor as its op is recorded: note the user's line, and mark the
    node a suspect if it made infinities from finite inputs or NaN from inputs without."""
    node = t.grad_fn
    if node.site is None:
        node.note_site()
    if not _finite(t.data):
        kind = _new_kind(t.data, node.inputs)
        if kind:
            node.suspect = (kind, t.data)


def _new_kind(out, inputs) -> str:
    """``"inf"``, ``"nan"``, ``"nan and inf"`` or ``""``: what ``out`` holds that its
    ``inputs`` did not (an inf among finite inputs, a NaN among inputs without NaN)."""
    arrays = [np.asarray(a) for a in inputs if a is not None]
    arrays = [a for a in arrays if a.dtype.kind in "fc"]
    kinds = []
    if np.isnan(out).any() and not any(np.isnan(a).any() for a in arrays):
        kinds.append("nan")
    if np.isinf(out).any() and all(np.isfinite(a).all() for a in arrays):
        kinds.append("inf")
    return " and ".join(kinds)


def _backward_pass(roots, root_grads):
    """Called as a reverse pass starts: raise if an output or a cotangent is non-finite;
    return the check run on every gradient a VJP returns."""
    for r, g in zip(roots, root_grads):
        if not _finite(r.data):
            raise _forward_error(r)
        if not _finite(_array(g)):
            raise AnomalyError(
                "anomaly (backward): the cotangent given for an output of shape "
                f"{r.shape} holds NaN or inf:\n{_row('cotangent', _stats(_array(g)))}",
                phase="backward", cause="a non-finite cotangent was passed")
    consumers = _consumers(roots)

    def check(t, fn, idx, g, gp):
        if _finite(_array(gp)):
            return
        if not _finite(_array(g)):
            raise AnomalyError(
                f"anomaly (backward): the cotangent reaching '{fn.name}' (recorded at "
                f"{_line(fn.site)}) already holds NaN or inf: a hook registered on its output "
                "returned it, or gradients from several uses summed to an overflow\n"
                + _row("cotangent", _stats(_array(g))),
                phase="backward", op=fn.name, site=fn.site,
                cause="a non-finite cotangent from a hook or an overflowing sum")
        raise _backward_error(t, fn, idx, _array(g), _array(gp), consumers)

    return check


_CHECKS = types.SimpleNamespace(recorded=_recorded, backward_pass=_backward_pass)


def _array(a):
    return a.data if isinstance(a, Tensor) else np.asarray(a)


def _consumers(roots):
    """id(tensor) -> [(where node, branch position 1 or 2, its input arrays)] for the
    branches of every ``where`` in the graph of ``roots``, taken before the pass releases
    any node."""
    found, seen, stack = {}, set(), list(roots)
    while stack:
        fn = stack.pop().grad_fn
        if fn is None or fn.parents is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        parents = fn.parents
        if fn.op.name == "where":
            for pos in (1, 2):
                if isinstance(parents[pos], Tensor):
                    found.setdefault(id(parents[pos]), []).append((fn, pos, fn.inputs))
        stack.extend(p for p in parents if isinstance(p, Tensor) and p.grad_fn is not None)
    return found


# ----------------------------------------------------------------------------------------
# The forward report: which suspect the non-finite output comes from
# ----------------------------------------------------------------------------------------

def _forward_error(root):
    """The AnomalyError for an output ``root`` holding NaN or inf."""
    suspects, unchecked, sources, seen, stack = [], [], [], set(), [root]
    while stack:  # through non-finite tensors only: a masked overflow is not followed
        t = stack.pop()
        fn = t.grad_fn
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        if getattr(fn, "suspect", None):
            suspects.append((fn,) + fn.suspect)
        fed = False  # whether a non-finite value came in
        for pos, p in enumerate(fn.parents):
            value = p.data if isinstance(p, Tensor) else p
            if p is None or _finite(value):
                continue
            fed = True
            if isinstance(p, Tensor) and p.grad_fn is not None:
                stack.append(p)
            else:
                sources.append((fn, pos))
        if not fed and getattr(fn, "seq", None) is None:  # recorded with the mode off
            unchecked.append((fn, _new_kind(t.data, fn.inputs) or "nan and inf", t.data))
    reaches = f"the output given to backward ({_stats(root.data)})"
    if root.grad_fn is not None:
        reaches += f", made by '{root.grad_fn.name}' at {_line(root.grad_fn.site)}"
    if not suspects and not unchecked:
        return _source_error(sources, reaches)
    suspects.sort(key=lambda s: _order(s[0]))
    fn, kind, out = (unchecked + suspects)[0]
    index = _first_bad(out, kind)
    cause = _cause(fn, _Element("forward", fn, index, out))
    what = _fmt(out[index]) if index is not None else kind
    source = "finite inputs" if "inf" in kind else "inputs without NaN"
    lines = [f"anomaly (forward): '{fn.name}' produced {what} from {source}, and it reaches "
             "the output given to backward",
             _row("op", fn.name),
             _row("line", _short(fn.site)),
             _row("cause", cause),
             _row("output", _stats(out) + _at(out, index))]
    lines += _input_lines(fn, out.shape, index)
    for later, k, o in [s for s in suspects if s[0] is not fn][:3]:
        i = _first_bad(o, k)
        lines.append(_row("then", f"'{later.name}' at {_line(later.site)}: "
                                  f"{_cause(later, _Element('forward', later, i, o))}"))
    lines.append(_row("reaches", reaches))
    return AnomalyError("\n".join(lines), phase="forward", op=fn.name, site=fn.site,
                        cause=cause)


def _source_error(sources, reaches):
    """No recorded op made the non-finite values: name the op that took them in."""
    if not sources:
        return AnomalyError(f"anomaly (forward): {reaches} holds NaN or inf",
                            phase="forward", cause="the output itself is non-finite")
    fn, pos = min(sources, key=lambda s: _order(s[0]))
    value = np.asarray(fn.inputs[pos])
    kind = "a leaf Tensor" if isinstance(fn.parents[pos], Tensor) else "a constant"
    cause = (f"{_input_name(fn, pos)} of '{fn.name}' is {kind} that already holds NaN or inf "
             "(no recorded op produced it)")
    lines = [f"anomaly (forward): {reaches} holds NaN or inf that no recorded op produced",
             _row("op", fn.name),
             _row("line", _short(fn.site)),
             _row("cause", cause),
             _row(_input_name(fn, pos), _stats(value))]
    return AnomalyError("\n".join(lines), phase="forward", op=fn.name, site=fn.site,
                        cause=cause)


def _order(fn):
    seq = getattr(fn, "seq", None)
    return -1 if seq is None else seq


def _first_bad(a, kind="nan and inf"):
    """The index of the first element of ``a`` that is NaN (for ``kind`` "nan") or inf
    (for "inf"), or non-finite (both); None if there is none."""
    if "nan" in kind and "inf" in kind:
        bad = ~np.isfinite(a)
    elif "nan" in kind:
        bad = np.isnan(a)
    else:
        bad = np.isinf(a)
    flat = np.flatnonzero(bad)
    if flat.size == 0:
        return None
    return tuple(int(i) for i in np.unravel_index(flat[0], np.shape(a)))


# ----------------------------------------------------------------------------------------
# The backward report
# ----------------------------------------------------------------------------------------

def _backward_error(t, fn, idx, g, gp, consumers):
    """The AnomalyError for the VJP of ``fn``'s input ``idx`` returning the non-finite
    ``gp`` for the finite cotangent ``g``."""
    out = t.data
    raw = _raw_gradient(fn, idx, g, out, gp)
    index = _first_bad(raw)
    at = index if raw.shape == out.shape and _values_at(fn, out.shape, index) else None
    elem = _Element("backward", fn, at, out, g, raw, idx)  # at: None unless elementwise
    cause = _cause(fn, elem)
    if elem.x is not None and not _finite(elem.out) and not _known(fn.name, elem):
        cause = f"{_cause(fn, elem.as_forward())}; its gradient is {_fmt(elem.grad)}"
    lines = [f"anomaly (backward): the VJP of '{fn.name}' for its {_input_name(fn, idx)} "
             f"produced {_fmt(raw[index])} from a finite cotangent",
             _row("op", fn.name),
             _row("line", _short(fn.site)),
             _row("cause", cause)]
    trap = _where_trap(t, fn, elem, consumers) if elem.g is not None and elem.g == 0 else None
    if trap:
        lines += [_row("where", trap[0]), _row("fix", trap[1])]
    lines.append(_row("cotangent", _stats(g) + _at(g, at)))
    lines.append(_row("gradient", _stats(gp) + _at(gp, _first_bad(gp))))
    lines.append(_row("output", _stats(out) + _at(out, at)))
    lines += _input_lines(fn, out.shape, at)
    if getattr(fn, "suspect", None):
        lines.append(_row("forward", f"'{fn.name}' had already produced {fn.suspect[0]} in the "
                                     "forward pass"))
    return AnomalyError("\n".join(lines), phase="backward", op=fn.name, site=fn.site,
                        cause=cause if trap is None else f"{cause}; {trap[0]}")


def _raw_gradient(fn, idx, g, out, gp):
    """The gradient of input ``idx`` as the VJP gives it, before it is summed back to a
    broadcast input's shape (so that its elements line up with the output's)."""
    if gp.shape == out.shape or not fn.op.broadcast:
        return gp
    with autograd.rule_mode(), np.errstate(all="ignore"):
        raw = np.asarray(_array(fn.op.vjp_for(idx)(g, out, *fn.inputs, **fn.params)))
    return raw if raw.shape == out.shape and not _finite(raw) else gp


def _where_trap(t, fn, elem, consumers):
    """(what, fix) when the zero cotangent at the bad element comes from the untaken
    branch of a ``where`` that consumes ``t`` directly; otherwise a general note."""
    for node, pos, inputs in consumers.get(id(t), ()) if elem.index is not None else ():
        taken = np.broadcast_to(np.asarray(inputs[0], dtype=bool),
                                np.broadcast_shapes(*(np.shape(a) for a in inputs)))
        if pos == 2:
            taken = ~taken
        if _any_to(taken, t.shape)[elem.index]:
            continue
        value = elem.out
        line = _line(node.site)
        if np.isnan(value):
            what = (f"the untaken branch of where at {line} produced NaN; its gradient is NaN "
                    f"whatever the cotangent ('{fn.name}' is that branch)")
        elif np.isinf(value):
            what = (f"the untaken branch of where at {line} produced inf; its gradient "
                    f"0 · inf = NaN ('{fn.name}' is that branch)")
        else:
            what = (f"the untaken branch of where at {line} is singular here; its gradient "
                    f"0 · inf = NaN ('{fn.name}' is that branch, with an infinite derivative)")
        names = [_input_name(fn, pos)[len("input "):] for pos in range(len(fn.inputs))]
        masked = [f"where(c, {n}, 1)" if pos == elem.idx else n for pos, n in enumerate(names)]
        fix = (f"mask the input so that the untaken branch stays where '{fn.name}' and its "
               f"derivative are finite (\"double where\"): where(c, {fn.name}({', '.join(masked)}), "
               f"other) instead of where(c, {fn.name}({', '.join(names)}), other)")
        if not fn.op.builtin and np.isinf(value):
            fix += ("; or make the VJP return 0 where the cotangent is 0 (an overflowed "
                    "value times a zero cotangent is 0, as tensorgrad's own exp does)")
        return what, fix
    if elem.out is not None and np.isnan(elem.out):
        what = (f"the cotangent is 0 here, but '{fn.name}' already produced NaN here in the "
                "forward pass: its gradient is NaN whatever the cotangent")
    else:
        what = ("the cotangent is 0 here (an untaken where branch, or an element that relu, "
                "clip or a max did not select) and the local derivative is infinite: "
                "0 · inf = NaN")
    return what, ("keep the input of that op where it and its derivative are finite (\"double "
                  "where\": where(c, f(where(c, x, 1)), other))")


def _any_to(a, shape):
    """``a`` (a bool array of a broadcast shape) reduced with ``any`` to ``shape``."""
    lead = a.ndim - len(shape)
    if lead:
        a = a.any(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1)
    return a.any(axis=axes, keepdims=True) if axes else a


# ----------------------------------------------------------------------------------------
# Causes: one small function per op, reading the values at the first bad element
# ----------------------------------------------------------------------------------------

class _Element:
    """What a cause looks at: ``phase`` ("forward"/"backward"), the node ``fn``, the bad
    ``index`` (in the output's shape; None when the op is not elementwise), ``x`` (each
    input's value there, or None), ``out`` (the output's value there), and for a backward
    ``g``, ``grad`` (the cotangent and the gradient there) and ``idx`` (the input the
    gradient is for)."""

    def __init__(self, phase, fn, index, out, g=None, grad=None, idx=None):
        self.phase, self.fn, self.index, self.idx = phase, fn, index, idx
        self.forward = phase == "forward"
        self.x = None if index is None else _values_at(fn, np.shape(out), index)
        pick = (lambda a: None if a is None else np.asarray(a)[index]) if index is not None \
            else (lambda a: None)
        self.out, self.g, self.grad = pick(out), pick(g), pick(grad)
        self.dtype = np.asarray(out).dtype

    def as_forward(self):
        """The same element seen as the forward saw it."""
        e = object.__new__(_Element)
        e.__dict__.update(self.__dict__, phase="forward", forward=True)
        return e


def _values_at(fn, shape, index):
    """Each input's value at ``index`` of the output (None for an input that does not
    broadcast to the output's shape), or None unless the op is elementwise: an op of
    :data:`CAUSES`, or of one input whose result has that input's shape (``sin``)."""
    arrays = [np.asarray(a) if a is not None else None for a in fn.inputs]
    unary = len(arrays) == 1 and arrays[0] is not None and arrays[0].shape == tuple(shape)
    if not (fn.name in CAUSES or unary):  # matmul's, a sum's inputs do not line up
        return None
    values = []
    for a in arrays:
        try:
            values.append(None if a is None else np.broadcast_to(a, shape)[index])
        except ValueError:
            values.append(None)
    return tuple(values)


def _max(e):
    return f"the largest {np.dtype(e.dtype).name} ({np.finfo(e.dtype).max:.4g})" \
        if np.dtype(e.dtype).kind == "f" else "the dtype's range"


def _overflow(e, text):
    return f"overflow: {text} = {_fmt(e.out)} exceeds {_max(e)}"


def _log_cause(e, shift=0, name="log"):
    x = e.x[0] + shift
    arg = "x" if not shift else "(1 + x)"
    if e.forward:
        if x == 0:
            return f"{name} at {-shift}: {name}({_fmt(e.x[0])}) = -inf"
        if x < 0:
            return f"{name} of {'a negative number' if not shift else 'a number below -1'}: " \
                   f"{name}({_fmt(e.x[0])}) = NaN"
        return None
    if x == 0:
        return (f"{name}'(x) = 1/{arg} is infinite at x = {-shift}: the gradient "
                f"g/{arg} = {_fmt(e.g)}/0 = {_fmt(e.grad)}")
    return None


def _sqrt_cause(e):
    x = e.x[0]
    if x < 0:
        text = f"sqrt of a negative number: sqrt({_fmt(x)}) = NaN"
        return text if e.forward else text + ", and so is its gradient g/(2·sqrt(x))"
    if x == 0 and not e.forward:
        return (f"sqrt'(0) = 1/(2·sqrt(0)) = inf: the gradient g/(2·sqrt(x)) = "
                f"{_fmt(e.g)}/0 = {_fmt(e.grad)}")
    return None


def _divide_cause(e):
    x, y = e.x
    if e.forward:
        if y == 0:
            return "division 0/0 = NaN" if x == 0 else f"division by 0: {_fmt(x)}/0 = {_fmt(e.out)}"
        if np.isinf(x) and np.isinf(y):
            return f"inf/inf: {_fmt(x)}/{_fmt(y)} = NaN"
        if np.isfinite(x) and np.isfinite(y):
            return _overflow(e, f"{_fmt(x)}/{_fmt(y)}")
        return None
    if y == 0:
        which = "d(x/y)/dx = 1/y" if e.idx == 0 else "d(x/y)/dy = -x/y²"
        return f"division by 0 in the VJP: {which} at y = 0 gives {_fmt(e.grad)}"
    return f"the VJP overflowed: d(x/y)/d{'xy'[e.idx]} at x = {_fmt(x)}, y = {_fmt(y)} " \
           f"exceeds {_max(e)}"


def _power_cause(e):
    x, y = e.x
    if e.forward:
        if x == 0 and y < 0:
            return f"0 raised to a negative power: 0**{_fmt(y)} = inf"
        if x < 0 and y != np.floor(y):
            return f"a negative base to a non-integer power: ({_fmt(x)})**{_fmt(y)} = NaN"
        if np.isfinite(x) and np.isfinite(y):
            return _overflow(e, f"{_fmt(x)}**{_fmt(y)}")
        return None
    if x == 0 and e.idx == 0 and y < 1:
        return f"d(x**y)/dx = y·x^(y-1) is infinite at x = 0 for y = {_fmt(y)} < 1"
    if x == 0 and e.idx == 1 and y < 0:
        return f"d(x**y)/dy = x^y·log(x) is infinite at x = 0 for y = {_fmt(y)} < 0"
    if x < 0 and e.idx == 1:
        return f"d(x**y)/dy = x^y·log(x) takes the log of the negative base {_fmt(x)}"
    return f"the VJP overflowed: the derivative of {_fmt(x)}**{_fmt(y)} exceeds {_max(e)}"


def _exp_cause(e):
    x = e.x[0]
    limit = math.log(np.finfo(e.dtype).max) if np.dtype(e.dtype).kind == "f" else math.inf
    text = (f"exp overflow: exp({_fmt(x)}) exceeds {_max(e)} (exp overflows for "
            f"x > {limit:.4g})")
    return text if e.forward else f"exp'(x) = exp(x) and {text}: the gradient is " \
                                  f"{_fmt(e.g)} · inf = {_fmt(e.grad)}"


def _sum_cause(op):
    def cause(e):
        x, y = e.x
        if e.forward and np.isinf(x) and np.isinf(y):
            return f"inf − inf: {_fmt(x)} {op} {_fmt(y)} = NaN"
        if e.forward and np.isfinite(x) and np.isfinite(y):
            return _overflow(e, f"{_fmt(x)} {op} {_fmt(y)}")
        return None
    return cause


def _multiply_cause(e):
    x, y = e.x
    if e.forward:
        if (x == 0 and np.isinf(y)) or (y == 0 and np.isinf(x)):
            return f"0 · inf: {_fmt(x)} · {_fmt(y)} = NaN"
        if np.isfinite(x) and np.isfinite(y):
            return _overflow(e, f"{_fmt(x)} · {_fmt(y)}")
        return None
    other = e.x[1 - e.idx]
    if np.isinf(other):
        return f"the other factor is {_fmt(other)}: the gradient g · {_fmt(other)} = " \
               f"{_fmt(e.g)} · {_fmt(other)} = {_fmt(e.grad)}"
    return None


CAUSES = {
    "log": _log_cause,
    "log1p": lambda e: _log_cause(e, shift=1, name="log1p"),
    "sqrt": _sqrt_cause,
    "divide": _divide_cause,
    "power": _power_cause,
    "exp": _exp_cause,
    "add": _sum_cause("+"),
    "subtract": _sum_cause("−"),
    "multiply": _multiply_cause,
}
"""The cause analysis of each elementwise op: ``CAUSES[name](element)`` returns the cause in
words, or None to fall back on the generic explanation (any op not in the table gets it)."""


def _known(name, e) -> bool:
    return name in CAUSES and e.x is not None and CAUSES[name](e) is not None


def _cause(fn, e) -> str:
    """The probable cause for the bad element ``e`` of node ``fn``, in words."""
    if e.x is not None and fn.name in CAUSES:
        try:
            with np.errstate(all="ignore"):
                text = CAUSES[fn.name](e)
        except TypeError:  # an input that did not line up with the output (None there)
            text = None
        if text:
            return text
    return _generic_cause(fn, e)


def _generic_cause(fn, e) -> str:
    """The cause of an op missing from :data:`CAUSES` (or that its entry cannot explain),
    from what the bad element and the inputs hold."""
    name = fn.name
    inputs_finite = all(_finite(a) for a in fn.inputs if a is not None)
    if e.forward:
        if e.out is not None and np.isinf(e.out):
            return (f"'{name}' produced inf from finite inputs: its result overflowed "
                    f"{_max(e)}, or it divided by 0 or took a log of 0 inside")
        if inputs_finite:
            return (f"'{name}' produced NaN from finite inputs: an argument outside its domain "
                    "(e.g. arcsin(2), 0/0 inside)")
        return (f"'{name}' met an infinite input in an undefined operation (inf − inf, 0 · inf "
                "or inf/inf inside)")
    text = (f"the derivative of '{name}' is infinite or undefined at these inputs (a singular "
            "point), or the VJP's arithmetic overflowed")
    if e.g is not None and e.g == 0 and e.grad is not None and np.isnan(e.grad):
        text += "; the cotangent is 0 there, so this is 0 · inf = NaN"
    return text


# ----------------------------------------------------------------------------------------
# Text
# ----------------------------------------------------------------------------------------

def _fmt(v) -> str:
    """A number as the report prints it: 4 significant digits, ``nan``, ``inf``."""
    if v is None:
        return "?"
    v = np.asarray(v)
    if v.dtype.kind == "b":
        return str(bool(v))
    if v.dtype.kind in "iu":
        return str(int(v))
    return f"{float(v):.4g}"


def _stats(a) -> str:
    """``(2, 3) float64: min 0, max 2.5, 0 NaN, 1 inf, 1 zero`` for an array (a number's
    value for a number)."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        return f"{a.shape} {a.dtype}"
    if a.size == 1 and a.ndim == 0:
        return f"() {a.dtype}: {_fmt(a)}"
    if a.size == 0:
        return f"{a.shape} {a.dtype}: empty"
    nan = int(np.isnan(a).sum()) if a.dtype.kind == "f" else 0
    inf = int(np.isinf(a).sum()) if a.dtype.kind == "f" else 0
    zero = int((a == 0).sum())
    if nan == a.size:
        span = "all NaN"
    else:
        with np.errstate(all="ignore"):
            span = f"min {_fmt(np.nanmin(a))}, max {_fmt(np.nanmax(a))}"
    return f"{a.shape} {a.dtype}: {span}, {nan} NaN, {inf} inf, {zero} zero"


def _at(a, index) -> str:
    if index is None or np.ndim(a) == 0:
        return ""
    try:
        return f"; at {list(index)}: {_fmt(np.asarray(a)[index])}"
    except IndexError:
        return ""


def _input_lines(fn, shape, index):
    """A row per input: its counts, and its value at the bad element when the op is
    elementwise."""
    values = None if index is None else _values_at(fn, shape, index)
    lines = []
    for pos, a in enumerate(fn.inputs):
        if a is None:
            continue
        at = "" if values is None or values[pos] is None else \
            f"; at {list(index)}: {_fmt(values[pos])}"
        lines.append(_row(_input_name(fn, pos), _stats(a) + at))
    return lines


def _input_name(fn, pos) -> str:
    """``input x`` (the forward's parameter name) or ``input 2``."""
    try:
        params = [p for p in inspect.signature(fn.op.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    except (TypeError, ValueError):
        params = []
    return f"input {params[pos].name}" if pos < len(params) else f"input {pos}"


def _row(label, text) -> str:
    """One line of a report: the label in a column of its own."""
    label += ":"
    return f"  {label:<{max(11, len(label) + 1)}}{text}"


def _short(site) -> str:
    """A recorded site with the file relative to the working directory when it lies
    inside it: ``tests/test_anomaly.py:41 in test_log: y = tg.log(x)``."""
    if site is None:
        return "(line not recorded: the op was recorded before anomaly mode was switched on)"
    m = autograd.SITE.match(site)
    if not m:
        return site
    path = m["file"]
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive
        rel = path
    if not rel.startswith(".."):
        path = rel
    return f"{path}:{m['line']} in {m['func']}: {m['source']}"


def _line(site) -> str:
    """``file:line`` of a recorded site (the file shortened as by :func:`_short`)."""
    short = _short(site)
    m = autograd.SITE.match(short) if site is not None else None
    return f"{m['file']}:{m['line']}" if m else short
