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
:func:`in_place`, which applies PyTorch's rules and advances the array's version; the reverse
pass refuses a node whose inputs or output changed after it was recorded, and after a
backward that retains the graph the leaves it saved are read-only until it is released
(docs/inplace_and_versions.md says what is and is not detected).
"""
from __future__ import annotations

import functools
import itertools
import linecache
import os
import sys
import threading

import numpy as np

from .errors import BackwardError, ShapeError
from .tensor import Tensor, version_counter


class _State(threading.local):
    """Per-thread engine switches."""

    def __init__(self) -> None:
        self.enabled = True  # record ops on Tensors that require grad
        self.raw = False  # ops on plain ndarrays return ndarrays (inside a non-recording backward)
        self.record_sites = False  # remember the user's source line of every recorded op


_state = _State()
_FLOAT64, _FLOAT32 = np.dtype(np.float64), np.dtype(np.float32)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def is_grad_enabled() -> bool:
    """Whether ops on Tensors that require grad are recorded in this thread."""
    return _state.enabled


class _GradMode:
    _mode = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager (or decorator) under which no op is recorded, in this thread only.

    Results computed inside have ``requires_grad=False`` and no ``grad_fn``; use it for
    evaluation and for parameter updates. Same as ``torch.no_grad``.

    Examples
    --------
    >>> w = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> with tg.no_grad():
    ...     y = w * 3
    >>> y.requires_grad, y.grad_fn
    (False, None)
    """

    _mode = False


class enable_grad(_GradMode):
    """Context manager (or decorator) that switches recording back on inside ``no_grad``.
    Same as ``torch.enable_grad``."""

    _mode = True


# ---- graph escapes: where converting a recording Tensor to an ndarray is an error ---------

class _EscapeState(threading.local):
    def __init__(self) -> None:
        self.depth = 0  # nesting of grad / gradcheck / function transforms in this thread


_escape = _EscapeState()


def graph_escape_is_error() -> bool:
    """Whether converting a Tensor that requires grad to an ndarray while recording raises
    :class:`GraphEscapeError` in this thread (inside :func:`forbid_graph_escape`) rather than
    warning."""
    return _escape.depth > 0


class forbid_graph_escape:
    """Context manager (or decorator) under which a Tensor that requires grad converted to an
    ndarray while recording raises :class:`GraphEscapeError` instead of a warning: used by
    :func:`grad`, :func:`tensorgrad.gradcheck` and function transforms, whose result such a
    conversion always makes wrong. Nests; this thread only."""

    def __enter__(self):
        _escape.depth += 1
        return self

    def __exit__(self, *exc):
        _escape.depth -= 1
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with forbid_graph_escape():
                return fn(*args, **kwargs)

        return wrapper

class record_sites:
    """Context manager under which every recorded op remembers the user's source line
    (``node.site``), in this thread only. Errors about a node (an input changed in place
    after it was recorded) then name that line. Costs a stack walk per op: use it to find
    a problem, not in training."""

    def __enter__(self):
        self._prev = _state.record_sites
        _state.record_sites = True
        return self

    def __exit__(self, *exc):
        _state.record_sites = self._prev
        return False


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
    stamp : int
        The write clock when the op was recorded: an input or output whose version counter
        has a later stamp was changed in place since (checked by the reverse pass).
    guard : list, optional
        The leaf arrays this node keeps read-only after a backward that retained the graph,
        until the node is released or collected.
    """

    __slots__ = ("op", "parents", "inputs", "params", "site", "seq", "stamp", "guard")

    def __init__(self, op, parents, inputs, params):
        self.op = op
        self.parents = parents
        self.inputs = inputs
        self.params = params
        if _state.record_sites:
            self.site = _user_site()
            self.seq = next(_creation_order)
        else:
            self.site = None
        self.stamp = _writes  # the write clock now (in-place changes: see in_place)

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


def _user_site():
    """The innermost stack frame outside tensorgrad (and the test machinery that drives it),
    as readable text."""
    frame = sys._getframe(2)
    while frame is not None and (
            os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR)
            or frame.f_globals.get("__name__", "").startswith(_LIBRARY_MODULES)):
        frame = frame.f_back
    if frame is None:
        return None
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    source = linecache.getline(filename, lineno).strip()
    return f"{filename}:{lineno} in {frame.f_code.co_name}: {source}"


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
    return t


# ---- arguments that are neither Tensors nor plain numbers, and errors of a forward ---------

_NUMBERS = (float, int, bool)


def as_input(name, i, a):
    """Array argument ``i`` of the op or composite ``name`` as apply takes it: a Tensor as is,
    a list or tuple as an array of its numbers or the stack of the Tensors it holds, anything
    else checked to be an array of real numbers (TypeError naming ``name`` otherwise). For
    composites that look at their input before calling ops."""
    if isinstance(a, Tensor):
        return a
    if isinstance(a, (list, tuple)):
        a = _sequence_input(name, a)
        return a if isinstance(a, Tensor) else _plain_input(name, i, a)
    return _plain_input(name, i, a)


def _plain_input(name, i, a):
    """Array input ``i`` of op ``name`` that is not a Tensor, list or plain number: an array
    of real numbers (NumPy scalars, arrays of another layout or byte order), else TypeError
    naming the op, the input and what it got."""
    if type(a) in _NUMBERS:
        return a
    kind = getattr(getattr(a, "dtype", None), "kind", None)
    if kind is None and not isinstance(a, (np.ndarray, np.generic)):
        raise TypeError(f"{name}: input {i} must be a Tensor, an array or a number, got "
                        f"{type(a).__name__}")
    if kind == "c":
        raise TypeError(f"{name}: input {i} is complex ({a.dtype}); tensorgrad supports "
                        "real numbers only (bool, int, float)")
    if kind not in ("b", "i", "u", "f"):
        raise TypeError(f"{name}: input {i} must hold numbers (bool, int or float), got "
                        f"dtype {a.dtype}")
    return a


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _named_error(op, e, arrays, params):
    """``e`` raised by ``op``'s forward, as an error of the same kind that names the op, the
    inputs' shapes and the static parameters (unchanged when it names the op already)."""
    message = str(e)
    if message.startswith(op.name + ":") or message.startswith(op.name + " "):
        return e
    if op.broadcast and isinstance(e, ValueError):
        shapes = [np.shape(a) for a in arrays]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            return ShapeError(f"{op.name}: shapes {', '.join(map(str, shapes))} cannot be "
                              "broadcast together (NumPy broadcasting rules)")
    kind = next(k for k in type(e).__mro__ if k in (TypeError, ValueError, IndexError))
    inputs = ", ".join(f"{np.shape(a)} {np.result_type(a)}" for a in arrays)
    given = ", ".join(f"{k}={_describe(v)}" for k, v in params.items())
    return kind(f"{op.name}: {message} (inputs {inputs}" + (f"; {given})" if given else ")"))


# ---- list and tuple arguments holding Tensors --------------------------------------------

_stack = [None]  # the op stack, handed down by the layer that defines it


def set_stack(op) -> None:
    """Give the engine the op that stacks a list of Tensors (``stack``), through which a list
    or tuple argument holding Tensors is recorded. Called once, by
    :mod:`tensorgrad.tensor_methods`."""
    _stack[0] = op


def holds_tensor(seq) -> bool:
    """Whether a list or tuple holds a Tensor at any depth."""
    return any(isinstance(a, Tensor) or (isinstance(a, (list, tuple)) and holds_tensor(a))
               for a in seq)


def _sequence_input(name, seq):
    """A list or tuple passed to ``op`` as an array input: an ndarray of its numbers or, when
    it holds Tensors (at any depth), the Tensor that ``stack`` makes of its items (nested
    lists stacked first), recorded like any op, so that gradients reach those Tensors."""
    if not holds_tensor(seq):
        return np.asarray(seq)
    items = [_sequence_input(name, a) if isinstance(a, (list, tuple)) else a for a in seq]
    try:
        return _stack[0](items)
    except ShapeError as e:
        raise ShapeError(f"{name}: a list argument holding Tensors is stacked (tensorgrad."
                         f"stack) to record it, and its items do not stack: {e}") from None


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


def run_backward(roots, root_grads, *, retain_graph, create_graph, wanted=None):
    """Reverse-mode sweep from ``roots`` seeded with ``root_grads``.

    With ``wanted`` (a dict id -> Tensor) the gradients of those tensors are returned and no
    ``.grad`` is touched (``tg.grad``); otherwise leaves and ``retain_grad`` tensors
    accumulate into ``.grad`` (``Tensor.backward``).
    """
    deps = _count_consumers(roots)
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
    prev_enabled, prev_raw = _state.enabled, _state.raw
    _state.enabled, _state.raw = create_graph, not create_graph
    try:
        while ready:
            t = ready.pop()
            g = grads.pop(id(t))
            fn = t.grad_fn
            if wanted is not None:
                if id(t) in wanted:
                    results[id(t)] = g
            elif fn is None or t._retains_grad:
                _accumulate_grad(t, g, create_graph, handed_out)
            if fn is None:
                continue
            if fn.stamp < _writes:  # something changed in place since fn was recorded
                _check_unchanged(t, fn)
            if retain_graph and getattr(fn, "guard", None) is None:
                _protect_leaves(fn)  # the graph stays alive: its saved leaves read-only
            out = t if create_graph else t.data
            for idx, p in enumerate(fn.parents):
                if not (isinstance(p, Tensor) and p.requires_grad):
                    continue
                gp = _call_vjp(fn, idx, p, g, out, create_graph)
                pid = id(p)
                prev = grads.get(pid)
                grads[pid] = gp if prev is None else prev + gp
                deps[pid] -= 1
                if deps[pid] == 0:
                    ready.append(p)
            if not retain_graph:
                fn.release()
    finally:
        _state.enabled, _state.raw = prev_enabled, prev_raw
    return results


_grad_lock = threading.Lock()  # .grad's read-modify-write is atomic across threads (PyTorch's is)


def _accumulate_grad(t, g, create_graph, handed_out):
    with _grad_lock:
        if create_graph:
            t.grad = g if t.grad is None else t.grad + g
            return
        if t.grad is None:
            base = g if g.base is None else g.base
            if not g.flags.writeable or id(base) in handed_out:
                g = base = g.copy()  # never let two .grad attributes share memory
            handed_out.add(id(base))
            t.grad = Tensor._make(g)
        else:
            t.grad = Tensor._make(t.grad.data + g)


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



# ----------------------------------------------------------------------------------------
# In-place changes: PyTorch's rules, version counters, read-only saved leaves
# ----------------------------------------------------------------------------------------
# Every in-place change made through tensorgrad advances the write clock ``_writes`` and
# stamps the VersionCounter of the array's base with it. A node remembers the clock when it
# was recorded (``node.stamp``): the reverse pass refuses a node whose output or any array it
# saved carries a later stamp, so only a clock comparison per node is paid when nothing
# changed.
#
# Direct writes into ``.data`` cannot be seen. One case is caught where it is cheap: after a
# backward that retains the graph (retain_graph=True, create_graph=True), the arrays of the
# leaves that require grad which the graph saved are read-only until the node that guards
# them is released by a later backward or collected (its guard dies). The reverse pass walks
# those nodes anyway, so recording pays nothing. Doing the same from the moment an op is
# recorded would catch a direct write between the forward and the first backward too, but
# costs two flag flips and a guard per leaf and graph, and a loop per op (measured in
# docs/inplace_and_versions.md): too much for recording. in_place lifts the protection for
# the length of its own write, so optimisers work with a retained graph.
#
# The protection takes no lock and is safe under threads by its order of steps: a guard
# makes an array read-only *before* publishing it in ``counter.protected``; a dying guard
# unpublishes it *before* making it writeable; a lifted write makes it read-only again and
# then checks that it is still published. So the last step on an array whose guard is gone
# is always "writeable" (a race may only leave an array unprotected while a graph lives: a
# missed detection, never a refused write).

_writes = 0  # the write clock: in-place changes made through tensorgrad so far
_write_lock = threading.Lock()  # the clock, the version counts and lifted writes


def _set_writeable(array):
    try:
        array.setflags(write=True)
    except ValueError:  # its base was made read-only by someone else meanwhile: leave it
        pass


class _Guard(list):
    """The (VersionCounter, ndarray) pairs one node made read-only. Only the node refers to
    it, so it dies, and makes them writeable again, when the node is released by backward
    or collected."""

    __slots__ = ()

    def __del__(self, _set_writeable=_set_writeable):  # bound now: usable at exit
        for counter, array in self:
            if counter.protected is array:
                counter.protected = None
                _set_writeable(array)


def _protect_leaves(node):
    """Make the arrays of ``node``'s leaf inputs that require grad read-only until ``node``
    is released or collected (those no other live guard protects yet). The node gets a
    guard, empty or not: the next retained backward passes it by."""
    guard = node.guard = _Guard()
    for p in node.parents:
        if not (isinstance(p, Tensor) and p.grad_fn is None and p.requires_grad):
            continue
        array = p.data
        counter = version_counter(array)
        if counter.protected is not None or not array.flags.writeable:
            continue  # already guarded, or read-only for its own reasons: not ours
        array.setflags(write=False)  # first read-only, then published (see above)
        counter.protected = array
        guard.append((counter, array))


def _refuse_result_dtype(op, out):
    if out.dtype.kind == "c":
        raise TypeError(f"{op.name}: the result has dtype {out.dtype}, computed from a Tensor "
                        "that requires grad, but complex numbers are not supported for "
                        "gradients; compute on .detach() (or under tg.no_grad()) if no "
                        "gradient is needed")
    raise TypeError(f"{op.name}: the result has dtype {out.dtype}, computed from a Tensor that "
                    "requires grad, but only real floating-point results can carry gradients; "
                    "declare the op with differentiable=False, or compute on .detach()")


def _check_unchanged(t, fn):
    """Raise if ``fn``'s output ``t`` or one of the arrays it saved (its inputs) changed in
    place after ``fn`` was recorded (its base's counter has a later stamp than the node)."""
    for idx, a in enumerate((t.data, *fn.inputs)):
        if not isinstance(a, np.ndarray):
            continue
        counter = version_counter(a, create=False)
        if counter is None or counter.stamp <= fn.stamp:
            continue
        x = t if idx == 0 else fn.parents[idx - 1]
        if idx == 0:
            what = f"the output of '{fn.name}'"
        else:
            kind = ("a constant array" if not isinstance(x, Tensor) else
                    "a leaf that requires grad" if x.grad_fn is None and x.requires_grad else
                    "a leaf that does not require grad" if x.grad_fn is None else
                    f"the output of '{x.grad_fn.name}'")
            what = f"input {idx - 1} of '{fn.name}' ({kind})"
        where = (f"'{fn.name}' was recorded at {fn.site}" if fn.site is not None else
                 "to see the line that recorded it, run the forward pass inside "
                 "`with tg.record_sites():`")
        raise BackwardError(
            f"backward: {what}, of shape {a.shape} and dtype {a.dtype}, was modified by an "
            f"in-place operation after '{fn.name}' was recorded (it is now at version "
            f"{counter.version}), so its gradient would use the new values; {where}. "
            "tensorgrad checks every input and the output of a recorded op, since its VJP may "
            "read any of them. Change the tensor after backward (or before the forward), or "
            "compute out of place (x = x + 1).")


def in_place(t, name, write, operands=()):
    """Change Tensor ``t``'s array in place with ``write(array)``, under PyTorch's rules.

    Parameters
    ----------
    t : Tensor
    name : str
        The method, for messages (``"add_"``; ``+=`` is ``add_``).
    write : callable
        ``write(array)`` updates the ndarray in place with NumPy's ``same_kind`` casting
        (ufuncs with ``out=``, ``np.copyto``, assignment).
    operands : tuple
        The values written from (Tensors, arrays or scalars), for the checks and messages.

    Returns
    -------
    Tensor
        ``t``, with its version (shared with its views) advanced by one.

    Raises
    ------
    RuntimeError
        While recording (grad mode on): ``t`` is a leaf that requires grad (PyTorch's
        message), ``t`` is a recorded non-leaf, or an operand requires grad; tensorgrad
        records values, not mutations. Under ``no_grad`` every change is allowed.
    TypeError
        The result's dtype cannot be stored in ``t``'s dtype (NumPy's ``same_kind`` rule).
    ShapeError
        The operands broadcast to a shape other than ``t``'s.
    ValueError
        ``t``'s array is read-only (and not by a live graph's protection).
    """
    global _writes
    if _state.enabled:
        _check_may_change(t, name, operands)
    if t.data.flags.writeable:
        _write(t, name, write, operands)
    else:
        with _write_lock:
            _write_protected(t, name, write, operands)
    with _write_lock:
        counter = version_counter(t.data)
        _writes += 1
        counter.version += 1
        counter.stamp = _writes
    return t


def _check_may_change(t, name, operands):
    if t.requires_grad:
        if t.grad_fn is None:
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad is being used in an in-place "
                "operation. Change parameters under `with tg.no_grad():` (as optimisers do), "
                "or compute out of place (w = w - lr * g makes a new, non-leaf tensor).")
        raise RuntimeError(
            f"{name}: this tensor requires grad (it is the output of '{t.grad_fn.name}') and "
            "grad mode is on; tensorgrad records values, not mutations, so the graph cannot "
            "follow an in-place change. Compute out of place (y = y + 1), or change it under "
            "tg.no_grad() (a later backward through it then raises).")
    for o in operands:
        if isinstance(o, Tensor) and o.requires_grad:
            raise RuntimeError(
                f"{name}: an operand requires grad and grad mode is on; tensorgrad records "
                "values, not mutations, so the change could not be differentiated. Compute "
                "out of place (x = x + w), or use tg.no_grad() to change values only.")


def _write(t, name, write, operands):
    """``write(t.data)``, NumPy's casting and broadcasting errors explained."""
    try:
        write(t.data)
    except TypeError as e:
        values = [o.data if isinstance(o, Tensor) else
                  np.asarray(o) if isinstance(o, (list, tuple)) else o for o in operands]
        result = getattr(e, "from_", None)  # a ufunc's casting error knows its result dtype
        try:
            result = result or np.result_type(t.data, *values)
        except (TypeError, ValueError):
            raise TypeError(f"{name}: {e}") from None
        raise TypeError(
            f"{name}: the result has dtype {result}, which cannot be stored in place in this "
            f"tensor's {t.dtype} data (NumPy's same_kind casting, as for ndarray +=); "
            "compute out of place or cast first") from None
    except ValueError as e:
        shapes = [np.shape(o) for o in operands]
        try:
            fits = np.broadcast_shapes(t.shape, *shapes) == t.shape
        except ValueError:
            fits = False
        if fits:  # not a question of shapes (integers to negative powers, ...)
            raise ValueError(f"{name}: {e}") from None
        shapes = ", ".join(map(str, shapes))
        raise ShapeError(
            f"{name}: cannot write a result computed from operands of shape {shapes} in place "
            f"into this tensor of shape {t.shape} (the operands must broadcast to the "
            f"tensor's own shape): {e}") from None


def _write_protected(t, name, write, operands):
    """``_write`` into a read-only array made read-only by a live graph's guard (``t``'s
    own array or the base of its view): writeable for the write, then read-only again.
    ValueError when the array is read-only for another reason."""
    counter = version_counter(t.data, create=False)
    protected = None if counter is None else counter.protected
    if protected is None:
        _refuse_read_only(name)
    array = t.data
    view = array is not protected
    protected.setflags(write=True)
    try:
        if view:
            _make_writeable(array, name)
        _write(t, name, write, operands)
    finally:
        if view:
            array.setflags(write=False)
        protected.setflags(write=False)
        if counter.protected is not protected:  # its guard died meanwhile
            _set_writeable(protected)


def _make_writeable(array, name):
    try:
        array.setflags(write=True)
    except ValueError:  # a view of memory that is read-only for another reason
        _refuse_read_only(name)


def _refuse_read_only(name):
    raise ValueError(f"{name}: this tensor's data is a read-only array (for example a "
                     "broadcast view, or a read-only array given to Tensor), so it cannot be "
                     "changed in place; copy it first (tg.tensor(x))")
