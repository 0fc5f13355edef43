"""Forward mode on a recorded graph: tangents pushed from inputs to outputs through the ops'
forward-mode rules (:meth:`Op.defjvp <tensorgrad.Op.defjvp>`).

The function runs once, recording as usual; :func:`tangent_plan` then lists the recorded
tensors that depend on the inputs, in topological order, and :func:`push_tangents` computes
each one's tangent J·v as the sum of its op's JVPs applied to its inputs' tangents. A plan
serves any number of tangents (one sweep each, no new forward run), which is what a
forward-mode Jacobian needs. With ``create_graph=True`` the JVPs run on the Tensors with
recording on, so the tangents can be differentiated again (as VJPs do under create_graph).

:func:`local_jvp` is the forward-mode counterpart of :func:`tensorgrad.autograd.local_vjp`:
one op's JVP at its recorded inputs, for the consistency check of ``gradcheck``.
"""
from __future__ import annotations

import numpy as np

from .autograd import _broadcastable_to, rule_mode
from .errors import BackwardError, ShapeError
from .ops.shape import broadcast_to
from .tensor import Tensor


class TangentPlan:
    """The recorded tensors between ``inputs`` and ``outputs`` that carry a tangent, in
    topological order (:func:`tangent_plan`).

    Attributes
    ----------
    order : list of Tensor
        Non-input tensors that depend on an input, each after the tensors it is computed from.
    carries : set of int
        ``id`` of every tensor (inputs included) whose tangent may be non-zero.
    """

    def __init__(self, inputs, order, carries):
        self.inputs, self.order, self.carries = list(inputs), order, carries

    def missing(self) -> list:
        """(op name, input index) of each recorded op on the path without a JVP for an input
        that carries a tangent; empty when forward mode can run."""
        found = []
        for t in self.order:
            fn = t.grad_fn
            for idx, p in enumerate(fn.parents):
                if isinstance(p, Tensor) and id(p) in self.carries and fn.op.jvp_for(idx) is None:
                    found.append((fn.op.name, idx))
        return found


def tangent_plan(outputs, inputs) -> TangentPlan:
    """The recorded tensors reachable backwards from ``outputs`` that depend on one of
    ``inputs``, in topological order (an iterative depth-first search, no recursion).

    Raises
    ------
    BackwardError
        Part of the graph was released by a ``backward`` without ``retain_graph=True``.
    """
    carries, done = {id(x) for x in inputs}, {id(x) for x in inputs}
    order = []
    stack = [(o, False) for o in outputs]
    while stack:
        t, expanded = stack.pop()
        fn = t.grad_fn
        if expanded:
            if any(isinstance(p, Tensor) and id(p) in carries for p in fn.parents):
                carries.add(id(t))
                order.append(t)
            done.add(id(t))
            continue
        if id(t) in done:
            continue
        if fn is None:
            done.add(id(t))
            continue
        if fn.parents is None:
            raise BackwardError(f"jvp: the graph through '{fn.name}' was already released by a "
                                "backward call without retain_graph=True")
        stack.append((t, True))
        stack.extend((p, False) for p in fn.parents if isinstance(p, Tensor) and id(p) not in done)
    return TangentPlan(inputs, order, carries)


def _call_jvp(op, idx, tangent, out, ins, params):
    """Input ``idx``'s contribution to the output's tangent: the op's JVP, broadcast to the
    output's shape (a ``broadcast`` op) and cast to its dtype."""
    rule = op.jvp_for(idx)
    try:
        r = rule(tangent, out, *ins, **params)
    except (BackwardError, ShapeError):
        raise
    except Exception as e:
        raise BackwardError(f"jvp: the JVP of '{op.name}' for input {idx} raised "
                            f"{type(e).__name__}: {e}") from e
    if r is None:
        raise BackwardError(f"jvp: the JVP of '{op.name}' for input {idx} returned None")
    if isinstance(out, Tensor):
        r = r if isinstance(r, Tensor) else Tensor._make(np.asarray(r))
    else:
        r = r.data if isinstance(r, Tensor) else np.asarray(r)
    if r.shape != out.shape:
        if not (op.broadcast and _broadcastable_to(r.shape, out.shape)):
            raise ShapeError(f"{op.name}: the JVP for input {idx} returned a tangent of shape "
                             f"{r.shape}, expected the output's shape {out.shape}")
        r = broadcast_to(r, shape=out.shape)
    if r.dtype != out.dtype:
        r = r.astype(out.dtype)
    return r


def push_tangents(plan, tangents, outputs, create_graph=False) -> list:
    """The tangent of each of ``outputs`` (None where it is zero) for the ``tangents`` of
    the plan's inputs (None for a zero tangent; ndarrays, or Tensors under ``create_graph``).

    Raises
    ------
    BackwardError
        An op on the path declares no JVP for an input carrying a tangent, or a JVP raised
        or returned None.
    ShapeError
        A JVP returned a tangent that is not of (or, broadcasting, to) the output's shape.
    """
    missing = plan.missing()
    if missing:
        name, idx = missing[0]
        raise BackwardError(f"jvp: '{name}' declares no JVP for its input {idx} (Op.defjvp)")
    found = {id(x): v for x, v in zip(plan.inputs, tangents) if v is not None}
    with rule_mode(create_graph):
        for t in plan.order:
            fn = t.grad_fn
            ins = fn.parents if create_graph else fn.inputs
            out = t if create_graph else t.data
            total = None
            for idx, p in enumerate(fn.parents):
                v = found.get(id(p)) if isinstance(p, Tensor) else None
                if v is None:
                    continue
                r = _call_jvp(fn.op, idx, v, out, ins, fn.params)
                total = r if total is None else total + r
            if total is not None:
                found[id(t)] = total
    return [found.get(id(y)) for y in outputs]


def local_jvp(t, idx, tangent):
    """The tangent that the node producing ``t`` gives its output for the tangent
    ``tangent`` of its input ``idx`` (an ndarray of that input's shape): the op's JVP at the
    recorded inputs, of ``t``'s shape, on ndarrays with nothing recorded.

    Raises
    ------
    BackwardError
        ``t`` has no recorded op or a released one, or its op declares no JVP for ``idx``.
    """
    fn = t.grad_fn
    if fn is None or fn.parents is None:
        raise BackwardError("local_jvp: " + ("this tensor has no recorded op (a leaf)"
                                             if fn is None else
                                             f"the graph through '{fn.name}' was released"))
    if fn.op.jvp_for(idx) is None:
        raise BackwardError(f"local_jvp: '{fn.name}' declares no JVP for its input {idx}")
    with rule_mode():
        return _call_jvp(fn.op, idx, tangent, t.data, fn.inputs, fn.params)
