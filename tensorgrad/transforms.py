"""Function transforms: :func:`vjp`, :func:`jvp`, :func:`jacobian`, :func:`hessian` and
:func:`hvp` with ``torch.autograd.functional``'s signatures and return conventions, and
:func:`value_and_grad` (HIPS autograd, JAX).

Conventions (PyTorch's): ``inputs`` is a Tensor or a tuple of Tensors (a list is taken as a
tuple; PyTorch refuses one), and ``func(*inputs)`` returns a Tensor or a tuple of Tensors.
A result indexed by the inputs is a Tensor when ``inputs`` was a Tensor and a tuple when it
was a tuple, and likewise for the outputs; a Jacobian of a tuple of outputs by a tuple of
inputs is a tuple of tuples, ``J[i][j]`` of shape ``outputs[i].shape + inputs[j].shape``.
An input that the outputs do not depend on gets zeros (``strict=True``: an error). With
``create_graph=False`` every result is detached; with ``create_graph=True`` the results are
recorded and can be differentiated again, with respect to the inputs given.

Every function runs ``func`` under :class:`~tensorgrad.escapes.forbid_graph_escape`: a Tensor
converted to an ndarray inside it raises :class:`~tensorgrad.GraphEscapeError` naming the
line, since the derivative computed would silently treat it as a constant.

What each costs (a "pass" costs about one evaluation of ``func``; docs/transforms.md):
``vjp`` one forward and one backward pass; ``jvp`` one forward and one tangent sweep when
every op on the path declares a JVP (:meth:`Op.defjvp <tensorgrad.Op.defjvp>`), else one
forward and two backward passes (the double-VJP construction); ``jacobian`` one forward and
then one backward pass per output element (``strategy="reverse-mode"``) or one ``jvp`` per
input element (``"forward-mode"``, the forward run shared); ``hvp`` one forward and two
backward passes; ``hessian`` a gradient with its graph, then one backward pass through it
per input element.
"""
from __future__ import annotations

import functools
import numbers

import numpy as np

from .autograd import grad
from .errors import BackwardError, ShapeError
from .escapes import forbid_graph_escape
from .forward import push_tangents, tangent_plan
from .inputs import _describe, callable_name
from .ops.shape import reshape, stack
from .state import _state, enable_grad
from .tensor import Tensor, tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp"]

_STRATEGIES = ("reverse-mode", "forward-mode")


def _callable(what, func):
    if not callable(func):
        raise TypeError(f"{what}: func must be callable, got {_describe(func)}")


def _as_tuple(value, label, what):
    """(given as a tuple or list?, the Tensors); TypeError naming ``what`` and ``label``
    for anything but a Tensor or a non-empty tuple/list of Tensors."""
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    if is_tuple and not items:
        raise ValueError(f"{what}: {label} is empty; expected a Tensor or a non-empty tuple of "
                         "Tensors")
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"its entry {i}" if is_tuple else "it"
            shown = _describe(el) if isinstance(el, np.ndarray) else (
                f"{type(el).__name__} {_describe(el)}")
            raise TypeError(f"{what}: {label} must be a Tensor or a tuple of Tensors; {where} is "
                            f"{shown}")
    return is_tuple, items


def _inputs(what, inputs, create_graph):
    """The inputs as fresh Tensors that require grad, as PyTorch prepares them: a detached
    leaf sharing the data, or (``create_graph`` and the input requires grad) a recorded
    identity of it, so that results can be differentiated with respect to the input given
    while a Tensor that ``func`` captures from outside is not taken for the argument."""
    is_tuple, xs = _as_tuple(inputs, "inputs", what)
    for i, x in enumerate(xs):
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"{what}: input {i} has dtype {x.dtype}; only real floating-point "
                            "Tensors can be differentiated (convert it with .astype(float))")
    with enable_grad():
        return is_tuple, tuple(reshape(x, shape=x.shape) if create_graph and x.requires_grad
                               else x.detach().requires_grad_() for x in xs)


def _outputs(what, func, xs, strict):
    """``func(*xs)`` as (returned a tuple?, the output Tensors)."""
    with enable_grad():
        result = func(*xs)
    is_tuple, ys = _as_tuple(result, f"the result of {callable_name(func)}", what)
    if strict:
        for k, y in enumerate(ys):
            if not y.requires_grad:
                raise BackwardError(f"{what}: strict=True, and output {k} of {callable_name(func)} "
                                    "does not depend on the inputs (it does not require grad)")
    return is_tuple, ys


def _scalar_output(what, func, xs, strict):
    """``func(*xs)``, which must be one Tensor with one element."""
    is_tuple, ys = _outputs(what, func, xs, strict)
    if is_tuple or ys[0].size != 1:
        got = (f"a tuple of {len(ys)}" if is_tuple else f"a Tensor of shape {ys[0].shape}")
        raise ValueError(f"{what}: {callable_name(func)} must return a single Tensor with one "
                         f"element, got {got}")
    return ys[0]


def _vectors(what, v, refs, refs_tuple, kind, create_graph):
    """``v`` as one cotangent or tangent per ref (``kind``: "output" or "input"), each of
    the ref's shape and dtype: an ndarray, or a Tensor that requires grad kept as it is
    under ``create_graph``. None stands for ones when there is a single one-element ref."""
    if v is None:
        if len(refs) != 1 or refs[0].size != 1:
            shapes = ", ".join(str(r.shape) for r in refs)
            raise ValueError(f"{what}: v can be None only when the {kind} is a single Tensor "
                             f"with one element; the {kind}s have shapes {shapes}")
        return [np.ones(refs[0].shape, dtype=refs[0].dtype)]
    many = isinstance(v, (tuple, list)) and (refs_tuple or all(
        isinstance(a, (Tensor, np.ndarray)) for a in v))
    vs = list(v) if many else [v]
    if len(vs) != len(refs):
        raise ValueError(f"{what}: v has {len(vs)} entries, expected {len(refs)}: one per {kind}")
    found = []
    for i, (a, r) in enumerate(zip(vs, refs)):
        label = f"v[{i}]" if many else "v"
        if isinstance(a, Tensor):
            value = a if create_graph and a.requires_grad else a.data
        else:
            try:
                value = np.asarray(a)
            except (TypeError, ValueError):
                value = np.asarray(None)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{what}: {label} must be a Tensor or an array-like of real numbers, "
                            f"got {_describe(a)}")
        if value.shape != r.shape:
            raise ShapeError(f"{what}: {label} has shape {value.shape}, expected the shape of "
                             f"{kind} {i}, {r.shape}")
        found.append(value if isinstance(value, Tensor) else value.astype(r.dtype))  # a copy
    return found


def _grads(ys, xs, cots, create_graph) -> list:
    """cot·J of the outputs that require grad, by each input (None where none depends on it)."""
    live = [(y, u) for y, u in zip(ys, cots) if y.requires_grad and u is not None]
    if not live:
        return [None] * len(xs)
    return list(grad([y for y, _ in live], list(xs), grad_outputs=[u for _, u in live],
                     retain_graph=True, create_graph=create_graph, allow_unused=True))


def _zeros_for_unused(what, gs, xs, strict) -> list:
    found = []
    for i, (g, x) in enumerate(zip(gs, xs)):
        if g is None:
            if strict:
                raise BackwardError(f"{what}: strict=True, and the outputs do not depend on "
                                    f"input {i}")
            g = Tensor._make(np.zeros(x.shape, dtype=x.dtype))
        found.append(g)
    return found


def _result(values, is_tuple, create_graph):
    """Detached unless ``create_graph``; a tuple only if the structure was one."""
    values = tuple(v if create_graph else v.detach() for v in values)
    return values if is_tuple else values[0]


class _Tangents:
    """J·v of the outputs ``ys`` by the inputs ``xs`` for any number of tangents v, after
    one forward run: the forward sweep when every op on the path declares a JVP (one pass
    per tangent), else the double-VJP construction: g(u) = uᵀJ recorded once for a leaf u,
    whose derivative along v, d⟨g(u), v⟩/du = J·v, is one backward pass per tangent."""

    def __init__(self, ys, xs, create_graph):
        self.ys, self.create_graph = ys, create_graph
        self.plan = tangent_plan(ys, xs)
        self.forward_mode = not self.plan.missing()
        if self.forward_mode:
            return
        self.live = [k for k, y in enumerate(ys) if y.requires_grad]
        # any u would do (uᵀJ is linear in u); ones keep a VJP's 0·inf guard (a zero
        # cotangent times an overflowed factor) from zeroing the derivative in u
        self.us = [Tensor(np.ones(ys[k].shape, dtype=ys[k].dtype), requires_grad=True)
                   for k in self.live]
        gs = _grads([ys[k] for k in self.live], xs, self.us, True) if self.live else []
        self.gs = [(j, g) for j, g in enumerate(gs) if g is not None and g.requires_grad]

    def __call__(self, vs) -> list:
        """The tangent of each output (None where it is zero) for input tangents ``vs``
        (None for a zero tangent)."""
        if self.forward_mode:
            if self.create_graph:
                vs = [v if v is None or isinstance(v, Tensor) else Tensor._make(v) for v in vs]
            return push_tangents(self.plan, vs, self.ys, self.create_graph)
        pairs = [(g, vs[j]) for j, g in self.gs if vs[j] is not None]
        found = [None] * len(self.ys)
        if pairs:
            jv = grad([g for g, _ in pairs], self.us, grad_outputs=[v for _, v in pairs],
                      retain_graph=True, create_graph=self.create_graph, allow_unused=True)
            for k, t in zip(self.live, jv):
                found[k] = t
        return found


def _tensor(value, create_graph):
    """A tangent or gradient as a Tensor (recorded ones kept under ``create_graph``)."""
    if isinstance(value, Tensor):
        return value if create_graph else value.detach()
    return Tensor._make(np.asarray(value))


def _assemble(pieces, shape, axis, create_graph):
    """Rows (``axis`` 0) or columns (``axis`` -1) stacked and reshaped to ``shape``."""
    if create_graph:
        return reshape(stack(pieces, axis=axis), shape=shape)
    data = np.stack([p.data for p in pieces], axis=axis)
    return Tensor._make(data.reshape(shape))


def _unit(shape, dtype, e):
    u = np.zeros(int(np.prod(shape)), dtype=dtype)
    u[e] = 1
    return u.reshape(shape)


def _jacobian_blocks(what, ys, xs, create_graph, strict, strategy) -> list:
    """J[k][j] = d ys[k] / d xs[j], of shape ``ys[k].shape + xs[j].shape``."""
    blocks = [[None] * len(xs) for _ in ys]
    used = [[False] * len(xs) for _ in ys]
    if strategy == "reverse-mode":
        for k, y in enumerate(ys):
            rows = [[] for _ in xs]
            for e in range(y.size if y.requires_grad else 0):
                gs = _grads([y], xs, [_unit(y.shape, y.dtype, e)], create_graph)
                for j, g in enumerate(gs):
                    used[k][j] |= g is not None
                    rows[j].append(_tensor(np.zeros(xs[j].shape, xs[j].dtype) if g is None
                                           else g, create_graph))
            for j, x in enumerate(xs):
                blocks[k][j] = (_assemble(rows[j], y.shape + x.shape, 0, create_graph)
                                if rows[j] else None)
    else:
        tangents = _Tangents(ys, xs, create_graph)
        for j, x in enumerate(xs):
            columns = [[] for _ in ys]
            for e in range(x.size):
                vs = [None] * len(xs)
                vs[j] = _unit(x.shape, x.dtype, e)
                for k, t in enumerate(tangents(vs)):
                    used[k][j] |= t is not None
                    columns[k].append(_tensor(np.zeros(ys[k].shape, ys[k].dtype) if t is None
                                              else t, create_graph))
            for k, y in enumerate(ys):
                blocks[k][j] = (_assemble(columns[k], y.shape + x.shape, -1, create_graph)
                                if columns[k] else None)
    for k, y in enumerate(ys):
        for j, x in enumerate(xs):
            if strict and not used[k][j]:
                raise BackwardError(f"{what}: strict=True, and output {k} does not depend on "
                                    f"input {j}")
            if blocks[k][j] is None:
                blocks[k][j] = Tensor._make(np.zeros(y.shape + x.shape, dtype=x.dtype))
    return blocks


def _check_strategy(what, label, strategy):
    if strategy not in _STRATEGIES:
        raise ValueError(f"{what}: {label} must be 'reverse-mode' or 'forward-mode', got "
                         f"{strategy!r}")


def _nested(blocks, outs_tuple, ins_tuple, create_graph):
    rows = tuple(_result(row, ins_tuple, create_graph) for row in blocks)
    return rows if outs_tuple else rows[0]


@forbid_graph_escape()
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """The vector-Jacobian product vᵀ·J of ``func`` at ``inputs`` (reverse mode).

    Parameters
    ----------
    func : callable
        ``func(*inputs)`` returns a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple of Tensor
        Real floating-point Tensors (a list is taken as a tuple).
    v : Tensor, array-like or tuple of them, optional
        One cotangent per output, of its shape. May be None when ``func`` returns a single
        one-element Tensor (then 1).
    create_graph : bool
        Record the computation so that the results can be differentiated again.
    strict : bool
        Raise :class:`~tensorgrad.BackwardError` when an output does not depend on the
        inputs or an input is unused, rather than returning zeros for it.

    Returns
    -------
    (func_output, vjp)
        ``func``'s result (a Tensor or tuple, as ``func`` returned it) and vᵀ·J with the
        inputs' structure and shapes. One forward and one backward pass.

    Raises
    ------
    TypeError
        ``func`` is not callable, ``inputs`` or ``func``'s result is not a Tensor or tuple
        of Tensors, an input is not floating-point, or ``v`` holds no real numbers.
    ValueError
        ``v`` is None for an output of more than one element, or has the wrong number of
        entries. :class:`~tensorgrad.ShapeError` when an entry has the wrong shape.

    Same as ``torch.autograd.functional.vjp``.
    """
    _callable("vjp", func)
    is_tuple, xs = _inputs("vjp", inputs, create_graph)
    out_tuple, ys = _outputs("vjp", func, xs, strict)
    us = _vectors("vjp", v, ys, out_tuple, "output", create_graph)
    gs = _zeros_for_unused("vjp", _grads(ys, xs, us, create_graph), xs, strict)
    return _result(ys, out_tuple, create_graph), _result(gs, is_tuple, create_graph)


@forbid_graph_escape()
def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """The Jacobian-vector product J·v of ``func`` at ``inputs`` (forward mode).

    Computed by the forward sweep when every recorded op between the inputs and the
    outputs declares a JVP for the inputs on the path (:meth:`Op.defjvp
    <tensorgrad.Op.defjvp>`): one forward run and one tangent sweep, no backward pass.
    Otherwise by the double-VJP construction (PyTorch's): uᵀJ is recorded for a dummy
    cotangent u, and J·v is the gradient of ⟨uᵀJ, v⟩ by u, one forward and two backward
    passes. Both give the same numbers up to round-off.

    Parameters
    ----------
    func, inputs, create_graph, strict
        As :func:`vjp`.
    v : Tensor, array-like or tuple of them, optional
        One tangent per input, of its shape. May be None when ``inputs`` is a single
        one-element Tensor (then 1).

    Returns
    -------
    (func_output, jvp)
        ``func``'s result, and J·v with the outputs' structure and shapes.

    Raises
    ------
    TypeError, ValueError, ShapeError
        As :func:`vjp`, with ``v`` checked against the inputs.

    Same as ``torch.autograd.functional.jvp``.
    """
    _callable("jvp", func)
    is_tuple, xs = _inputs("jvp", inputs, create_graph)
    vs = _vectors("jvp", v, xs, is_tuple, "input", create_graph)
    out_tuple, ys = _outputs("jvp", func, xs, strict)
    with enable_grad():
        found = _Tangents(ys, xs, create_graph)(vs)
    if strict and any(t is None for t in found):
        k = found.index(None)
        raise BackwardError(f"jvp: strict=True, and output {k} does not depend on the inputs "
                            "along v")
    ts = [_tensor(np.zeros(y.shape, dtype=y.dtype) if t is None else t, create_graph)
          for y, t in zip(ys, found)]
    return _result(ys, out_tuple, create_graph), _result(ts, out_tuple, create_graph)


@forbid_graph_escape()
def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``.

    Parameters
    ----------
    func, inputs, create_graph, strict
        As :func:`vjp`.
    vectorize : bool
        Accepted for PyTorch's signature; there is no vmap here, so it changes nothing.
    strategy : {"reverse-mode", "forward-mode"}
        Reverse mode builds the Jacobian row by row, one backward pass per output element;
        forward mode column by column, one :func:`jvp` per input element (all on one
        forward run). Prefer forward mode when the inputs have fewer elements than the
        outputs (PyTorch requires ``vectorize=True`` for it; here it always runs).

    Returns
    -------
    Tensor, tuple of Tensor or tuple of tuples
        ``J[i][j]`` of shape ``outputs[i].shape + inputs[j].shape``,
        ``J[i][j][a, b] = d outputs[i][a] / d inputs[j][b]``; a single Tensor when both
        the inputs and ``func``'s result are single Tensors, a tuple over whichever of them
        is a tuple, a tuple (over outputs) of tuples (over inputs) when both are.

    Raises
    ------
    TypeError, ValueError
        As :func:`vjp`; ValueError for an unknown ``strategy``.

    Same as ``torch.autograd.functional.jacobian``.
    """
    _callable("jacobian", func)
    _check_strategy("jacobian", "strategy", strategy)
    is_tuple, xs = _inputs("jacobian", inputs, create_graph)
    out_tuple, ys = _outputs("jacobian", func, xs, strict)
    with enable_grad():
        blocks = _jacobian_blocks("jacobian", ys, xs, create_graph, strict, strategy)
    return _nested(blocks, out_tuple, is_tuple, create_graph)


@forbid_graph_escape()
def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of the scalar function ``func`` at ``inputs``.

    The gradient is computed once with its graph; the Hessian is its Jacobian, row by row
    (one backward pass through the gradient's graph per input element) or, with
    ``outer_jacobian_strategy="forward-mode"``, column by column (:func:`jacobian`).

    Parameters
    ----------
    func : callable
        ``func(*inputs)`` returns a single Tensor with one element.
    inputs, create_graph, strict, vectorize
        As :func:`jacobian`.
    outer_jacobian_strategy : {"reverse-mode", "forward-mode"}
        How the Jacobian of the gradient is built.

    Returns
    -------
    Tensor or tuple of tuples
        ``H[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``,
        ``H[i][j][a, b] = d² func / d inputs[i][a] d inputs[j][b]``; a single Tensor when
        ``inputs`` is one.

    Raises
    ------
    ValueError
        ``func`` does not return a single one-element Tensor; others as :func:`jacobian`.

    Same as ``torch.autograd.functional.hessian``.
    """
    _callable("hessian", func)
    _check_strategy("hessian", "outer_jacobian_strategy", outer_jacobian_strategy)
    is_tuple, xs = _inputs("hessian", inputs, create_graph)
    y = _scalar_output("hessian", func, xs, strict)
    with enable_grad():
        gs = _zeros_for_unused("hessian", _grads([y], xs, [np.ones(y.shape, y.dtype)], True),
                               xs, strict)
        blocks = _jacobian_blocks("hessian", gs, xs, create_graph, strict,
                                  outer_jacobian_strategy)
    return _nested(blocks, is_tuple, is_tuple, create_graph)


@forbid_graph_escape()
def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """The Hessian-vector product H·v of the scalar function ``func`` at ``inputs``.

    Reverse over reverse: the gradient is recorded, and H·v is the gradient of ⟨∇func, v⟩;
    one forward and two backward passes, never the Hessian itself. That is vᵀH, equal to
    H·v because the Hessian of a twice continuously differentiable function is symmetric
    (PyTorch's ``hvp`` spends one more backward pass to get H·v without that assumption).

    Parameters
    ----------
    func : callable
        ``func(*inputs)`` returns a single Tensor with one element.
    inputs, create_graph, strict
        As :func:`vjp`.
    v : Tensor, array-like or tuple of them, optional
        One vector per input, of its shape; None for a single one-element input (then 1).

    Returns
    -------
    (func_output, hvp)
        ``func``'s result, and H·v with the inputs' structure and shapes.

    Raises
    ------
    TypeError, ValueError, ShapeError
        As :func:`jvp`; ValueError when ``func`` does not return one one-element Tensor.

    Same as ``torch.autograd.functional.hvp``.
    """
    _callable("hvp", func)
    is_tuple, xs = _inputs("hvp", inputs, create_graph)
    vs = _vectors("hvp", v, xs, is_tuple, "input", create_graph)
    y = _scalar_output("hvp", func, xs, strict)
    with enable_grad():
        gs = _grads([y], xs, [np.ones(y.shape, y.dtype)], True)
        hv = _grads([g for g in gs if g is not None], xs,
                    [v for g, v in zip(gs, vs) if g is not None], create_graph)
    hv = _zeros_for_unused("hvp", hv, xs, strict)
    return _result([y], False, create_graph), _result(hv, is_tuple, create_graph)


def _argnums(argnums):
    if isinstance(argnums, numbers.Integral) and not isinstance(argnums, bool):
        return (int(argnums),), False
    if (isinstance(argnums, (tuple, list)) and argnums
            and all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in argnums)):
        return tuple(int(a) for a in argnums), True
    raise TypeError(f"value_and_grad: argnums must be an int or a non-empty tuple of ints, got "
                    f"{_describe(argnums)}")


def _differentiable_argument(name, i, a):
    """Argument ``i`` as a Tensor that requires grad, and whether the result must keep its
    graph (a Tensor that requires grad while recording: an outer transform's variable)."""
    if isinstance(a, Tensor):
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"{name}: argument {i} has dtype {a.dtype}; only real floating-point "
                            "arguments can be differentiated")
        if a.requires_grad and _state.enabled:
            return a, True
        return a.detach().requires_grad_(), False
    try:
        x = tensor(a)  # Python floats take the default dtype, as everywhere
    except (TypeError, ValueError):
        x = None
    if x is None or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: argument {i} must be a floating-point Tensor, ndarray, float "
                        f"or list of floats to be differentiated, got {_describe(a)}")
    return x.requires_grad_(), False


def value_and_grad(func, argnums=0, has_aux=False):
    """A function that returns ``func``'s value and its gradient (HIPS autograd's and JAX's
    ``value_and_grad``).

    Parameters
    ----------
    func : callable
        Returns a Tensor with one element (with ``has_aux``, a pair ``(value, aux)``).
    argnums : int or tuple of int
        The positional arguments to differentiate by: floating-point Tensors, ndarrays,
        floats or lists of floats (Python floats take the default dtype).
    has_aux : bool
        ``func`` returns ``(value, aux)``; ``aux`` is passed through unchanged.

    Returns
    -------
    callable
        ``f(*args, **kwargs) -> (value, grad)`` (``((value, aux), grad)`` with ``has_aux``):
        the value as a Tensor, the gradient a Tensor of the argument's shape for an int
        ``argnums`` and a tuple of them for a tuple (zeros for an argument the value does
        not depend on). One forward and one backward pass. The results are detached,
        unless an argument is a Tensor that requires grad while recording: then they are
        recorded, so value_and_grad nests (the gradient of a gradient).

    Raises
    ------
    TypeError
        ``func`` is not callable or ``argnums`` is not an int or tuple of ints (at once);
        when ``f`` is called: a differentiated argument that is not floating-point, or a
        value that is not a Tensor. ValueError: a value with more than one element, or
        ``has_aux`` and ``func`` not returning a pair. IndexError: ``argnums`` beyond the
        arguments given.
    """
    _callable("value_and_grad", func)
    positions, as_tuple = _argnums(argnums)
    name = f"value_and_grad({callable_name(func)})"

    @functools.wraps(func)
    def value_and_grad_of(*args, **kwargs):
        args = list(args)
        for i in positions:
            if not -len(args) <= i < len(args):
                raise IndexError(f"{name}: argnums holds {i}, but {len(args)} positional "
                                 "argument(s) were given")
        xs, keep = [], False
        for i in positions:
            x, outer = _differentiable_argument(name, i, args[i])
            args[i] = x
            xs.append(x)
            keep |= outer
        with enable_grad(), forbid_graph_escape():
            result = func(*args, **kwargs)
            if has_aux:
                if not (isinstance(result, (tuple, list)) and len(result) == 2):
                    raise ValueError(f"{name}: has_aux=True, so func must return a pair (value, "
                                     f"aux), got {_describe(result)}")
                result, aux = result
            if not isinstance(result, Tensor):
                raise TypeError(f"{name}: func must return a Tensor with one element, got "
                                f"{_describe(result)}")
            if result.size != 1:
                raise ValueError(f"{name}: func must return a Tensor with one element (a "
                                 f"scalar loss), got shape {result.shape}")
            gs = _zeros_for_unused(name, _grads([result], xs, [np.ones(result.shape,
                                                                       result.dtype)], keep),
                                   xs, False)
        value, gs = _result([result], False, keep), _result(gs, as_tuple, keep)
        return ((value, aux), gs) if has_aux else (value, gs)

    value_and_grad_of.__qualname__ = value_and_grad_of.__name__ = name
    return value_and_grad_of
