"""The engine: recording ops on a tape, the reverse pass, ``grad`` and ``no_grad``.

A recorded op is a :class:`Node` hanging off the Tensor it produced (``tensor.grad_fn``). It
keeps the op, its arguments in call order (``parents``: Tensors or constants), the arrays the
forward saw, and the op's static parameters. The reverse pass sorts the graph iteratively
(child counts, no recursion), hands each VJP the cotangent, the forward result and the
inputs, and accumulates gradients in a dict keyed by tensor identity.

With ``create_graph=False`` the VJPs run on plain ndarrays with recording switched off (the
fast path). With ``create_graph=True`` they run on the Tensors themselves with recording on,
so the backward pass is itself a graph that can be differentiated again. The same VJP code
serves both, because every primitive computes directly on ndarrays and records on Tensors.

In-place changes (``+=``, ``add_``, ..., the optimisers' updates) go through
:func:`tensorgrad.versions.in_place`, which applies PyTorch's rules and advances the array's
version; the reverse pass refuses a node whose inputs or output changed after it was recorded,
and after a backward that retains the graph the leaves it saved are read-only until it is
released (docs/inplace_and_versions.md says what is and is not detected). An op's arguments
other than Tensors and plain numbers are taken by :mod:`tensorgrad.inputs`.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import linecache
import os
import re
import sys
import threading

import numpy as np

from . import versions
from .errors import BackwardError, ShapeError
from .escapes import forbid_graph_escape
from .inputs import _NUMBERS, _describe, _named_error, _plain_input, _sequence_input
from .state import _state
from .tensor import Tensor
from .versions import _check_unchanged, _protect_leaves, _refuse_result_dtype

_FLOAT64, _FLOAT32 = np.dtype(np.float64), np.dtype(np.float32)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class Node:
    """One recorded op: what ``tensor.grad_fn`` holds.

    Attributes
    ----------
    op : Op
        The primitive that ran (``node.name`` is its name, e.g. ``"matmul"``).
    parents : tuple
        The op's array arguments in call order: Tensors, or constants (arrays, scalars).
        ``None`` once the graph has been released by ``backward``.
    inputs : tuple
        The arrays the forward computed on (``parent.data`` for Tensors).
    params : dict
        The op's complete static parameters (axis, mode, ...): its defaults merged with the
        values the caller passed.
    site : str or None
        ``"file:line in function: source"`` of the user code that created the op, recorded
        under :class:`record_sites` and while :func:`tensorgrad.gradcheck` localises a
        failure (with ``seq``, the node's creation number).
    module : ModuleScope or None
        The :class:`~tensorgrad.nn.Module` call the op was recorded in: ``module.path`` is
        its dotted path from the outermost module called (``"features.0"``; ``""`` for that
        module itself), ``module.type`` its class name. None outside any module call.
    stamp : int
        The write clock when the op was recorded: an input or output whose version counter
        has a later stamp was changed in place since (checked by the reverse pass).
    guard : list, optional
        The leaf arrays this node keeps read-only after a backward that retained the graph,
        until the node is released or collected.
    suspect : tuple, optional
        Set under :func:`tensorgrad.detect_anomaly` on a node whose forward turned finite
        inputs into infinities or inputs without NaN into NaN: ``(kind, output array)``,
        kind ``"inf"``, ``"nan"`` or ``"nan and inf"``.
    """

    __slots__ = ("op", "parents", "inputs", "params", "site", "seq", "stamp", "guard", "module",
                 "suspect")

    def __init__(self, op, parents, inputs, params):
        self.op = op
        self.parents = parents
        self.inputs = inputs
        self.params = params
        self.module = _state.module  # None unless an nn.Module is being called
        if _state.record_sites:
            self.note_site()
        else:
            self.site = None
        self.stamp = versions._writes  # the write clock now (see versions.in_place)

    def note_site(self) -> None:
        """Record the user's source line that is creating this node (``site``) and its
        creation number (``seq``)."""
        self.site = _user_site()
        self.seq = next(_creation_order)

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def released(self) -> bool:
        return self.parents is None

    def release(self) -> None:
        self.parents = None
        self.inputs = None
        self.guard = None  # the leaves it kept read-only become writeable again

    def __repr__(self) -> str:
        return f"<{self.op.name}Backward>"


_creation_order = itertools.count()
_LIBRARY_MODULES = ("tensorgrad.", "hypothesis", "_pytest", "pluggy")


@functools.lru_cache(maxsize=1024)
def _in_package(filename) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _user_site():
    """The innermost stack frame outside tensorgrad (and the test machinery that drives it),
    as readable text."""
    frame = sys._getframe(1)
    while frame is not None and (
            _in_package(frame.f_code.co_filename)
            or frame.f_globals.get("__name__", "").startswith(_LIBRARY_MODULES)):
        frame = frame.f_back
    if frame is None:
        return None
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    source = linecache.getline(filename, lineno).strip()
    return f"{filename}:{lineno} in {frame.f_code.co_name}: {source}"


SITE = re.compile(r"^(?P<file>.*):(?P<line>\d+) in (?P<func>[^:]*): (?P<source>.*)$", re.S)
"""The parts of a recorded ``node.site``, as :func:`_user_site` writes it: ``file``,
``line``, ``func`` and ``source``."""


def apply(op, args, params):
    """Run primitive ``op`` on ``args`` (Tensors, arrays or scalars) with static ``params``.

    Returns a Tensor, recorded when grad mode is on and any Tensor argument requires grad.
    Inside a non-recording backward pass (``_state.raw``), arguments that are all plain
    arrays give a plain ndarray back: that is what lets one VJP serve both passes. A list or
    tuple argument is an array of its numbers, or, when it holds Tensors, their stack
    (:func:`_sequence_input`).
    """
    arrays = []
    has_tensor = needs_grad = False
    converted = None  # what each list/tuple argument became, in order (rare: not a fast path)
    for a in args:
        if isinstance(a, Tensor):
            has_tensor = True
            arrays.append(a.data)
            if a.requires_grad:
                needs_grad = True
        elif isinstance(a, (list, tuple)):
            a = _sequence_input(op.name, a)
            converted = [a] if converted is None else converted + [a]
            if isinstance(a, Tensor):
                has_tensor = True
                arrays.append(a.data)
                if a.requires_grad:
                    needs_grad = True
            else:
                arrays.append(a)
        elif (type(a) is np.ndarray and a.dtype.kind in "biuf") or type(a) in _NUMBERS:
            arrays.append(a)  # ndarrays and Python scalars (kept weak for NumPy's dtype rules)
        elif a is None and len(arrays) in op.optional:
            arrays.append(None)  # an absent optional input, e.g. clip's bound
        else:
            arrays.append(_plain_input(op.name, len(arrays), a))
    try:
        out = op.forward(*arrays, **params)
    except (TypeError, ValueError, IndexError) as e:
        raise _named_error(op, e, arrays, params) from e
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if not has_tensor and _state.raw:
        return out
    t = Tensor._make(out)
    if needs_grad and _state.enabled and op.differentiable:
        dt = out.dtype
        if dt is not _FLOAT64 and dt is not _FLOAT32 and dt.kind != "f":
            _refuse_result_dtype(op, out)  # only real floating results carry gradients
        t.requires_grad = True
        if converted is not None:  # record what the lists became: stacked Tensors or arrays
            done = iter(converted)
            args = tuple(next(done) if isinstance(a, (list, tuple)) else a for a in args)
        t.grad_fn = Node(op, args, tuple(arrays), params)
        if _anomaly is not None:  # the one test anomaly mode costs a recorded op when off
            _anomaly.recorded(t)
    return t


_anomaly = None  # anomaly mode's checks while it is on (tensorgrad.anomaly), else None


def set_anomaly(checks) -> None:
    """Switch anomaly mode's checks on (``checks``) or off (None), for every thread. Called
    by :func:`tensorgrad.set_detect_anomaly`. ``checks.recorded(tensor)`` sees each op as
    it is recorded; ``checks.backward_pass(roots, root_grads)`` is called as a reverse pass
    starts and returns ``check(tensor, node, idx, g, gradient)``, called on every
    gradient a VJP hands input ``idx`` of ``node`` (which produced ``tensor``) for the
    cotangent ``g``."""
    global _anomaly
    _anomaly = checks


# ----------------------------------------------------------------------------------------
# The reverse pass
# ----------------------------------------------------------------------------------------

def _count_consumers(roots):
    """Number of recorded uses of each tensor reachable from ``roots`` (iterative DFS)."""
    deps = {}
    stack = list(roots)
    seen = {id(r) for r in roots}
    while stack:
        t = stack.pop()
        fn = t.grad_fn
        if fn is None:
            continue
        if fn.parents is None:
            raise BackwardError(
                f"backward: the graph through '{fn.name}' was already released by an earlier "
                "backward call; pass retain_graph=True to the first call to backward twice")
        for p in fn.parents:
            if isinstance(p, Tensor) and p.requires_grad:
                i = id(p)
                deps[i] = deps.get(i, 0) + 1
                if i not in seen:
                    seen.add(i)
                    stack.append(p)
    return deps


def _call_vjp(fn, idx, parent, g, out, create_graph):
    """The gradient of ``fn``'s input ``idx``, reduced to that input's shape and dtype."""
    op = fn.op
    vjp = op.vjp_for(idx)
    if vjp is None:
        raise BackwardError(
            f"backward: input {idx} of '{op.name}' (shape {parent.shape}) requires grad, but "
            f"'{op.name}' declares no VJP for it (it takes no gradient there, like the "
            "condition of where): pass it as a constant, e.g. .detach(); for an op of your "
            "own, declare that VJP with defvjp")
    ins = fn.parents if create_graph else fn.inputs
    try:
        gp = vjp(g, out, *ins, **fn.params)
    except (BackwardError, ShapeError):
        raise
    except Exception as e:
        raise BackwardError(f"backward: the VJP of '{op.name}' for input {idx} raised "
                            f"{type(e).__name__}: {e}") from e
    if gp is None:
        raise BackwardError(f"backward: the VJP of '{op.name}' for input {idx} returned None")
    if create_graph:
        if not isinstance(gp, Tensor):
            gp = Tensor._make(np.asarray(gp))
    elif type(gp) is not np.ndarray:
        if isinstance(gp, Tensor):
            gp = gp.data
        gp = np.asarray(gp)
    if gp.shape != parent.shape:
        if op.broadcast and _broadcastable_to(parent.shape, gp.shape):
            gp = _unbroadcast[0](gp, shape=parent.shape)
        else:
            raise ShapeError(
                f"{op.name}: the VJP for input {idx} returned a gradient of shape {gp.shape}, "
                f"expected the input's shape {parent.shape}")
    if gp.dtype != parent.dtype:
        if gp.dtype.kind not in "biuf":
            raise BackwardError(
                f"backward: the VJP of '{op.name}' for input {idx} returned a gradient of "
                f"dtype {gp.dtype}, expected real numbers ({parent.dtype}, the input's dtype); "
                "complex numbers are not supported for gradients")
        gp = gp.astype(parent.dtype)
    return gp


_unbroadcast = [None]  # the op sum_to_shape, handed down by the layer that defines it


def set_unbroadcast(op) -> None:
    """Give the engine the op that sums a broadcast gradient back to its input's shape
    (``sum_to_shape``; recorded under ``create_graph``). Called once, by
    :mod:`tensorgrad.tensor_methods`."""
    _unbroadcast[0] = op


def _broadcastable_to(shape, target):
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(shape[::-1], target[::-1]))


def run_backward(roots, root_grads, *, retain_graph, create_graph, wanted=None, record=None):
    """Reverse-mode sweep from ``roots`` seeded with ``root_grads``: each tensor is taken
    once its gradient is complete (all its consumers done), and its node's VJPs hand each
    parent its share.

    With ``wanted`` (a dict id -> Tensor) the gradients of those tensors are returned and no
    ``.grad`` is touched (``tg.grad``); otherwise leaves and ``retain_grad`` tensors
    accumulate into ``.grad`` (``Tensor.backward``). A tensor's hooks
    (:meth:`Tensor.register_hook`) see its complete gradient first and may replace it.

    With ``record`` (a list) the sweep only looks (:func:`tensorgrad.backward_steps`): it
    appends ``(tensor, incoming gradient, [(input index, outgoing gradient), ...])`` for
    each node in the order it runs them, and runs no hook, touches no ``.grad``, protects
    and releases nothing.
    """
    deps = _count_consumers(roots)
    check = None if _anomaly is None or record is not None else \
        _anomaly.backward_pass(roots, root_grads)
    grads = {}
    for r, g in zip(roots, root_grads):
        prev = grads.get(id(r))
        grads[id(r)] = g if prev is None else prev + g
    ready = []
    queued = set()
    for r in roots:
        if deps.get(id(r), 0) == 0 and id(r) not in queued:
            queued.add(id(r))
            ready.append(r)
    results = {}
    handed_out = {id(g if g.base is None else g.base) for g in  # memory a .grad must not alias
                  (r.data if isinstance(r, Tensor) else r for r in root_grads)}
    release = not retain_graph and record is None
    clock = versions  # the write clock is read per node: advanced by in-place changes
    prev_enabled, prev_raw = _state.enabled, _state.raw
    _state.enabled, _state.raw = create_graph, not create_graph
    try:
        while ready:
            t = ready.pop()
            g = grads.pop(id(t))
            fn = t.grad_fn
            if record is None:
                if t._hooks is not None:  # the one test a hook-free pass pays per tensor
                    g = _run_hooks(t, g, create_graph)
                if wanted is not None:
                    if id(t) in wanted:
                        results[id(t)] = g
                elif fn is None or t._retains_grad:
                    _accumulate_grad(t, g, create_graph, handed_out)
                if fn is None:
                    continue
                if retain_graph and getattr(fn, "guard", None) is None:
                    _protect_leaves(fn)  # the graph stays alive: its saved leaves read-only
            elif fn is None:
                continue
            else:
                outgoing = []
                record.append((t, g, outgoing))
            if fn.stamp < clock._writes:  # something changed in place since fn was recorded
                _check_unchanged(t, fn)
            out = t if create_graph else t.data
            for idx, p in enumerate(fn.parents):
                if not (isinstance(p, Tensor) and p.requires_grad):
                    continue
                gp = _call_vjp(fn, idx, p, g, out, create_graph)
                if check is not None:
                    check(t, fn, idx, g, gp)
                if record is not None:
                    outgoing.append((idx, gp))
                pid = id(p)
                prev = grads.get(pid)
                grads[pid] = gp if prev is None else prev + gp
                deps[pid] -= 1
                if deps[pid] == 0:
                    ready.append(p)
            if release:
                fn.release()
    finally:
        _state.enabled, _state.raw = prev_enabled, prev_raw
    return results


def _run_hooks(t, g, create_graph):
    """Call ``t``'s hooks in order on its gradient ``g`` (handed to them as a Tensor); each
    one's non-None result, checked, replaces it. Returns the gradient in ``g``'s form."""
    hooks = t._hooks
    if not hooks:
        return g
    _state.raw = False  # a hook's own computations return Tensors, as anywhere else
    try:
        for hook in list(hooks.values()):
            arg = g if create_graph else Tensor._make(g)
            r = hook(arg)
            if r is None:
                continue
            if isinstance(r, Tensor):
                r = r if create_graph else r.data
            else:
                r = np.asarray(r)
                if create_graph:
                    r = Tensor._make(r)
            if r.shape != t.shape or r.dtype.kind not in "biuf":
                raise BackwardError(
                    f"backward: a hook registered on a tensor of shape {t.shape} "
                    f"({_hook_name(hook)}) returned a gradient of shape {r.shape} and dtype "
                    f"{r.dtype}; expected real numbers of the tensor's shape {t.shape}")
            if create_graph:
                g = r if r.dtype == t.dtype else r.astype(t.dtype)
            else:  # a fresh array: .grad never aliases what the hook returned
                g = np.array(r, dtype=t.dtype, copy=True)
    finally:
        _state.raw = not create_graph
    return g


def _hook_name(hook):
    return getattr(hook, "__qualname__", None) or type(hook).__name__


@contextlib.contextmanager
def rule_mode(create_graph=False):
    """Run ops as the reverse pass runs VJPs (and forward mode JVPs), in this thread: recorded
    on Tensors under ``create_graph``, else on ndarrays with nothing recorded. The previous
    mode is restored on exit."""
    prev_enabled, prev_raw = _state.enabled, _state.raw
    _state.enabled, _state.raw = create_graph, not create_graph
    try:
        yield
    finally:
        _state.enabled, _state.raw = prev_enabled, prev_raw


def local_vjp(t, idx, g):
    """The gradient that the node producing ``t`` hands its input ``idx`` for the cotangent
    ``g`` (an ndarray of ``t``'s shape): the op's VJP at the recorded inputs, summed back to
    the input's shape, computed on ndarrays with nothing recorded and nothing stored.

    Raises
    ------
    BackwardError
        ``t`` has no recorded op, or its graph was released by a ``backward``.
    """
    fn = t.grad_fn
    if fn is None or fn.parents is None:
        raise BackwardError("local_vjp: " + ("this tensor has no recorded op (a leaf)"
                                             if fn is None else
                                             f"the graph through '{fn.name}' was released by a "
                                             "backward without retain_graph=True"))
    with rule_mode():
        return _call_vjp(fn, idx, fn.parents[idx], g, t.data, False)


_grad_lock = threading.Lock()  # .grad's read-modify-write is atomic across threads (PyTorch's is)


def _accumulate_grad(t, g, create_graph, handed_out):
    with _grad_lock:
        if create_graph:
            t._grad = g if t._grad is None else t._grad + g
            return
        if t._grad is None:
            base = g if g.base is None else g.base
            if not g.flags.writeable or id(base) in handed_out:
                g = base = g.copy()  # never let two .grad attributes share memory
            handed_out.add(id(base))
            t._grad = Tensor._make(g)
        else:
            t._grad = Tensor._make(t._grad.data + g)


def _seed(t, grad, what):
    """The cotangent for output ``t``: ``grad`` checked, or ones for a one-element output."""
    if grad is None:
        if t.size != 1:
            raise BackwardError(
                f"{what}: grad can be implicitly created only for outputs with one element; "
                f"this output has shape {t.shape}, so pass a grad of that shape")
        return np.ones(t.shape, dtype=t.dtype)
    if isinstance(grad, Tensor):
        data = grad.data
    else:
        try:
            data = np.asarray(grad)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{what}: grad must be an array-like of real numbers of the "
                             f"output's shape {t.shape}; NumPy cannot make an array of it: "
                             f"{e}") from None
    if data.dtype.kind not in "biuf":
        extra = " (complex numbers are not supported for gradients)" if data.dtype.kind == "c" else ""
        raise TypeError(f"{what}: grad must hold real numbers (a Tensor or array-like of float, "
                        f"int or bool of the output's shape {t.shape}), got dtype "
                        f"{data.dtype}{extra}")
    if data.shape != t.shape:
        raise ShapeError(f"{what}: grad has shape {data.shape}, expected the output's shape {t.shape}")
    if data.dtype != t.dtype:
        data = data.astype(t.dtype)
    return data


def backward(tensor, grad=None, retain_graph=False, create_graph=False):
    """Accumulate d tensor / d leaf into every leaf's ``.grad``. See :meth:`Tensor.backward`."""
    if not tensor.requires_grad:
        raise BackwardError(
            "backward: this tensor does not require grad and has no grad_fn (was it computed "
            "under no_grad, or from inputs none of which has requires_grad=True?)")
    seed = _seed(tensor, grad, "backward")
    if create_graph:
        seed = grad if isinstance(grad, Tensor) else Tensor._make(seed)
    run_backward([tensor], [seed], retain_graph=retain_graph or create_graph,
                 create_graph=create_graph)


def _is_sequence_of_cotangents(grad_outputs, n_outputs):
    """A list/tuple holding one cotangent per output (rather than one nested array-like)."""
    if not isinstance(grad_outputs, (list, tuple)):
        return False
    if n_outputs > 1:
        return True
    return len(grad_outputs) == 1 and (grad_outputs[0] is None
                                       or isinstance(grad_outputs[0], (Tensor, np.ndarray)))


def _tensor_list(what, value):
    """``grad``'s ``outputs`` or ``inputs`` as a non-empty list of Tensors; TypeError naming
    the argument otherwise."""
    if isinstance(value, Tensor):
        return [value]
    items = list(value) if isinstance(value, (list, tuple)) else None
    if not items or not all(isinstance(t, Tensor) for t in items):
        raise TypeError(f"grad: {what} must be a Tensor or a non-empty list/tuple of Tensors, "
                        f"got {_describe(value)}")
    return items


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than stored.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor
        Differentiated outputs (any shapes).
    inputs : Tensor or sequence of Tensor
        Tensors that require grad (leaves or intermediates).
    grad_outputs : array-like, Tensor, or sequence of them, optional
        Cotangents, one per output with its shape; ``None`` allowed for one-element outputs.
    retain_graph : bool, optional
        Keep the graph for another pass; defaults to ``create_graph``.
    create_graph : bool
        Record the backward pass so the results can be differentiated again.
    allow_unused : bool
        Return ``None`` for an input the outputs do not depend on instead of raising.

    Returns
    -------
    tuple of Tensor
        One gradient per input, each with the input's shape and dtype. No ``.grad`` is touched.

    Raises
    ------
    BackwardError
        An input does not require grad, an output needs an explicit cotangent, or an input
        is unused and ``allow_unused`` is False.
    TypeError
        ``outputs`` or ``inputs`` is neither a Tensor nor a non-empty list/tuple of Tensors.

    Same semantics as ``torch.autograd.grad``.
    """
    outputs, inputs = _tensor_list("outputs", outputs), _tensor_list("inputs", inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not _is_sequence_of_cotangents(grad_outputs, len(outputs)):
        grad_outputs = [grad_outputs]  # one cotangent for the single output
    else:
        grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise BackwardError(f"grad: input {i} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    roots, seeds = [], []
    for i, (y, gy) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(y, Tensor) or not y.requires_grad:
            raise BackwardError(f"grad: output {i} does not require grad (it does not depend on "
                                "any input that requires grad)")
        seed = _seed(y, gy, f"grad (output {i})")
        if create_graph:
            seed = gy if isinstance(gy, Tensor) else Tensor._make(seed)
        roots.append(y)
        seeds.append(seed)
    wanted = {id(x): x for x in inputs}
    with forbid_graph_escape():  # a VJP converting a Tensor under create_graph: an error
        found = run_backward(roots, seeds, retain_graph=retain_graph,
                             create_graph=create_graph, wanted=wanted)
    result = []
    for i, x in enumerate(inputs):
        g = found.get(id(x))
        if g is None:
            if not allow_unused:
                raise BackwardError(f"grad: input {i} (shape {x.shape}) was not used to compute "
                                    "the outputs; pass allow_unused=True to get None for it")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else Tensor._make(g))
    return tuple(result)
