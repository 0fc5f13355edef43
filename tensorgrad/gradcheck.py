"""Checking reverse-mode gradients against finite differences, and saying where they are wrong.

``gradcheck`` compares u·J from reverse mode (one VJP with a random, non-uniform cotangent u)
with u·J from central differences evaluated in float64, whatever the inputs' dtype. It
also checks PyTorch's invariants of a VJP: zero for a zero cotangent, linear in the
cotangent, repeatable, of the input's shape and dtype. When a check of a whole function
fails, the function is run once more with source sites recorded, every recorded op of its
graph is checked on its own at the very values it saw, and the report names the first op
(in creation order) whose own check fails, with the line of user code that created it.
"""
from __future__ import annotations

import warnings

import numpy as np

from .autograd import _state, forbid_graph_escape, grad
from .errors import BackwardError, GradcheckError, GraphEscapeError, ShapeError
from .tensor import Tensor

_FULL_LIMIT = 1000  # inputs with more elements are checked along random directions
_JACOBIAN_PRINT_LIMIT = 64  # print both Jacobians when out_size * in_size is at most this


def _as_outputs(result, name):
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: {name} must return a Tensor or a tuple of Tensors; "
                            f"output {k} is {type(o).__name__}")
    return outs


def _fn_name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _index(flat_index, shape):
    return tuple(int(i) for i in np.unravel_index(int(flat_index), shape)) if shape else ()


class _Failure(Exception):
    """One failed check, with the text of its report."""


def _vjps(outs, o, diff, cot, retain=True):
    """Reverse-mode u·J of output ``o`` for every differentiable input (zeros when unused)."""
    y = outs[o]
    if not y.requires_grad:
        return [np.zeros(x.shape, dtype=x.dtype) for x in diff]
    gs = grad(y, diff, grad_outputs=cot, retain_graph=retain, allow_unused=True)
    return [np.zeros(x.shape, dtype=x.dtype) if g is None else g.data for x, g in zip(diff, gs)]


@forbid_graph_escape()  # fn converting an input that requires grad to an ndarray: an error
def _check(fn, inputs, eps, atol, rtol, seed, fast_mode, name):
    """Raise _Failure with a report when a check fails; return None when all pass."""
    diff_pos = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    diff = [inputs[i] for i in diff_pos]
    rng = np.random.default_rng(seed)
    outs = _as_outputs(fn(*inputs), name)
    outs_f = [k for k, o in enumerate(outs) if np.issubdtype(o.dtype, np.floating)]
    if not outs_f:
        raise ValueError(f"gradcheck: {name} returns no floating-point output (dtypes "
                         f"{[str(o.dtype) for o in outs]}), so there is no gradient to check")
    cots = {k: rng.standard_normal(outs[k].shape).astype(outs[k].dtype) for k in outs_f}

    # ---- reverse mode and its invariants -----------------------------------------------------
    analytic = {}
    for k in outs_f:
        try:
            a = _vjps(outs, k, diff, cots[k])
            again = _vjps(outs, k, diff, cots[k])
            zero = _vjps(outs, k, diff, np.zeros_like(cots[k]))
            double = _vjps(outs, k, diff, 2 * cots[k])
        except (ShapeError, BackwardError) as e:
            raise _Failure(f"reverse mode raised {type(e).__name__} for output {k}: {e}") from None
        for j, x in enumerate(diff):
            where_ = f"input {diff_pos[j]} (shape {x.shape}), output {k} (shape {outs[k].shape})"
            if a[j].shape != x.shape or a[j].dtype != x.dtype:
                raise _Failure(f"the gradient of {where_} has shape {a[j].shape} and dtype "
                               f"{a[j].dtype}, expected the input's {x.shape} and {x.dtype}")
            if not np.array_equal(a[j], again[j], equal_nan=True):
                raise _Failure(f"reverse mode is not repeatable for {where_}: two backward "
                               f"passes with the same cotangent differ by up to "
                               f"{np.max(np.abs(a[j] - again[j])):.3e}")
            if np.any(zero[j] != 0):
                raise _Failure(f"the VJP is not zero for a zero cotangent at {where_}: "
                               f"max |vjp(0)| = {np.max(np.abs(zero[j])):.3e}")
            scale = np.max(np.abs(a[j]), initial=0.0)
            tol = 1e-5 if x.dtype == np.float32 else 1e-10
            if np.max(np.abs(double[j] - 2 * a[j]), initial=0.0) > tol * max(scale, 1e-300) * 2 + 1e-300:
                raise _Failure(f"the VJP is not linear in the cotangent at {where_}: "
                               f"vjp(2u) differs from 2·vjp(u) by up to "
                               f"{np.max(np.abs(double[j] - 2 * a[j])):.3e} (does it ignore g?)")
        analytic[k] = [np.asarray(v, dtype=np.float64) for v in a]

    # ---- finite differences in float64 -------------------------------------------------------
    base = [np.array(x.data, dtype=np.float64) if isinstance(x, Tensor) else x for x in inputs]

    def evaluate():
        args = [Tensor(b) if i in diff_pos else inputs[i] for i, b in enumerate(base)]
        res = _as_outputs(fn(*args), name)
        return [np.array(r.data, dtype=np.float64, copy=True) for r in res]  # never a view

    for j, i in enumerate(diff_pos):
        x = base[i]
        flat = x.reshape(-1)
        full = (x.size <= _FULL_LIMIT) if fast_mode is None else not fast_mode
        if full:
            num = {k: np.zeros(x.size) for k in outs_f}
            cols = {k: [] for k in outs_f}
            for e in range(x.size):
                orig = flat[e]
                flat[e] = orig + eps
                fp = evaluate()
                flat[e] = orig - eps
                fm = evaluate()
                flat[e] = orig
                for k in outs_f:
                    d = (fp[k] - fm[k]) / (2 * eps)
                    num[k][e] = np.sum(cots[k].astype(np.float64) * d)
                    if d.size * x.size <= _JACOBIAN_PRINT_LIMIT:
                        cols[k].append(d.ravel())
            for k in outs_f:
                a = analytic[k][j].ravel()
                n = num[k]
                excess = np.abs(a - n) - (atol + rtol * np.abs(n))
                bad = ~(excess <= 0)
                if np.any(bad):
                    w = int(np.nanargmax(np.where(np.isnan(excess), np.inf, excess)))
                    report = [
                        f"input {i} (shape {x.shape}, {inputs[i].dtype}), output {k} "
                        f"(shape {outs[k].shape}): reverse mode and finite differences disagree",
                        f"  worst element: input {i} at index {_index(w, x.shape)}",
                        f"    analytical (reverse mode):      {a[w]:.10g}",
                        f"    numerical (central difference): {n[w]:.10g}",
                        f"    absolute error {abs(a[w] - n[w]):.3e}, relative error "
                        f"{abs(a[w] - n[w]) / max(abs(n[w]), 1e-300):.3e}; allowed "
                        f"atol + rtol·|numerical| = {atol + rtol * abs(n[w]):.3e}",
                        f"  {int(np.sum(bad))} of {x.size} entries fail "
                        f"(atol={atol}, rtol={rtol}, eps={eps}; numerical side in float64)",
                        f"  compared: u·J for a random cotangent u (seed {seed}) of output {k}",
                    ]
                    if cols[k] and len(cols[k]) == x.size:
                        jn = np.stack(cols[k], axis=1)
                        ja = _analytic_jacobian(outs, k, diff, j)
                        report.append("  Jacobian, reverse mode (rows: output elements, "
                                      "columns: input elements):")
                        report.append(_indent(np.array2string(ja, precision=6), 4))
                        report.append("  Jacobian, finite differences:")
                        report.append(_indent(np.array2string(jn, precision=6), 4))
                    raise _Failure("\n".join(report))
        else:
            v = rng.standard_normal(x.shape)
            orig = x.copy()
            x += eps * v
            fp = evaluate()
            x[...] = orig - eps * v
            fm = evaluate()
            x[...] = orig
            for k in outs_f:
                n = float(np.sum(cots[k].astype(np.float64) * (fp[k] - fm[k]) / (2 * eps)))
                a = float(np.sum(analytic[k][j] * v))
                if not abs(a - n) <= atol + rtol * abs(n):
                    raise _Failure(
                        f"input {i} (shape {x.shape}, {inputs[i].dtype}), output {k} (shape "
                        f"{outs[k].shape}): reverse mode and finite differences disagree along "
                        f"a random direction v (fast mode, {x.size} elements)\n"
                        f"    analytical u·J·v: {a:.10g}\n    numerical  u·J·v: {n:.10g}\n"
                        f"    absolute error {abs(a - n):.3e}; allowed {atol + rtol * abs(n):.3e} "
                        f"(atol={atol}, rtol={rtol}, eps={eps}; numerical side in float64)")
    return None


def _analytic_jacobian(outs, k, diff, j):
    y = outs[k]
    rows = []
    for e in range(y.size):
        u = np.zeros(y.size, dtype=y.dtype)
        u[e] = 1
        rows.append(_vjps(outs, k, diff, u.reshape(y.shape))[j].ravel().astype(np.float64))
    return np.stack(rows)


def _indent(text, n):
    return "\n".join(" " * n + line for line in text.splitlines())


def _forward_order(outs):
    """Recorded nodes reachable from ``outs``, in the order they were created."""
    nodes, seen = [], set()
    stack = [o for o in outs if o.grad_fn is not None]
    while stack:
        node = stack.pop().grad_fn
        if id(node) in seen or not hasattr(node, "seq"):  # no seq: recorded before fn ran
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(p for p in node.parents if isinstance(p, Tensor) and p.grad_fn is not None)
    return sorted(nodes, key=lambda n: n.seq)


def _localize(fn, inputs, eps, atol, rtol, seed, name):
    """Check each recorded op of fn's graph on its own; describe the first that fails."""
    prev = _state.record_sites
    _state.record_sites = True
    try:
        outs = _as_outputs(fn(*inputs), name)
    finally:
        _state.record_sites = prev
    nodes = _forward_order(outs)
    for pos, node in enumerate(nodes):
        args = []
        for p, x in zip(node.parents, node.inputs):
            if isinstance(p, Tensor) and p.requires_grad:
                args.append(Tensor(np.array(x, copy=True), requires_grad=True))
            else:
                args.append(x)
        op, params = node.op, node.params

        def single(*a, _op=op, _params=params):
            return _op.bind(*a, **_params)

        try:
            _check(single, args, eps, atol, rtol, seed, None, op.name)
        except _Failure as f:
            shapes = ", ".join(str(np.shape(x)) for x in node.inputs)
            site = node.site or "(source line unknown)"
            return (f"first op whose own check fails: '{op.name}' (op {pos + 1} of {len(nodes)} "
                    f"in creation order), inputs of shapes {shapes}\n"
                    f"  created at {site}\n" + _indent(str(f), 2))
    return (f"each of the {len(nodes)} recorded ops passes its own check at these values; the "
            "mismatch comes from the function as a whole (a kink hit exactly, eps too large "
            "for its curvature, or a non-differentiable step between ops)")


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, *, seed=0,
              fast_mode=None, localize=True):
    """Check reverse-mode gradients of ``fn`` against central finite differences.

    Parameters
    ----------
    fn : callable
        ``fn(*inputs)`` returns a Tensor or a tuple of Tensors (any shapes).
    inputs : Tensor or sequence
        Tensors with ``requires_grad=True`` are checked; other entries are passed unchanged.
    eps : float
        Finite-difference step; the numerical side is evaluated in float64 whatever the
        inputs' dtype (a float32 function is checked at float64 precision).
    atol, rtol : float
        An entry passes when |analytical - numerical| <= atol + rtol·|numerical|.
    raise_exception : bool
        Raise :class:`GradcheckError` on failure (else return False).
    seed : int
        Seed of the random cotangent u (and of the directions in fast mode).
    fast_mode : bool or None
        None: full comparison of u·J for inputs of up to 1000 elements, a random direction
        (u·J·v) for larger ones; True/False forces one of them.
    localize : bool
        On failure, check every recorded op of the graph on its own and name the first
        faulty op and the user source line that created it.

    Returns
    -------
    bool
        True when every check passes.

    Raises
    ------
    GradcheckError (an AssertionError)
        The report: function, input index and shape, output index, worst element (plain
        ints), analytical and numerical values, both errors, how many entries fail, the
        tolerances, both Jacobians for small cases, and the first faulty op. Also raised
        when a VJP breaks an invariant (not zero for a zero cotangent, not linear in the
        cotangent, not repeatable, wrong shape or dtype).
    ValueError
        No input requires grad.

    The comparison follows ``torch.autograd.gradcheck`` (including its invariants); unlike it,
    the cotangent is random rather than all ones and the faulty op is located.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    name = _fn_name(fn)
    if not any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x.dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} is {x.dtype}; reverse mode runs in {x.dtype} "
                          "while finite differences run in float64, so agreement is limited "
                          f"by {x.dtype} precision", UserWarning, stacklevel=2)
    try:
        _check(fn, inputs, eps, atol, rtol, seed, fast_mode, name)
        return True
    except (_Failure, GraphEscapeError) as f:  # an escape: fn's gradient is wrong, and why
        text = f"gradcheck failed for {name}: {f}"
        if localize and isinstance(f, _Failure):
            text += "\n" + _localize(fn, inputs, eps, atol, rtol, seed, name)
        if raise_exception:
            raise GradcheckError(text) from None
        return False


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, *, seed=0, fast_mode=None, localize=True):
    """Check second derivatives: :func:`gradcheck` of the map (inputs, v) -> v·J(inputs).

    The VJP is computed with ``create_graph=True`` and differentiated again with respect to
    both the inputs and the cotangent v (random, seeded, unless ``grad_outputs`` is given).
    Parameters, returns and raises as :func:`gradcheck`; same as
    ``torch.autograd.gradgradcheck``.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_pos = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff_pos:
        raise ValueError("gradgradcheck: no input has requires_grad=True")
    outs = _as_outputs(fn(*inputs), _fn_name(fn))
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = [Tensor(rng.standard_normal(o.shape).astype(o.dtype), requires_grad=True)
                        for o in outs]
    else:
        grad_outputs = [Tensor(np.asarray(getattr(g, "data", g)), requires_grad=True)
                        for g in (grad_outputs if isinstance(grad_outputs, (list, tuple))
                                  else [grad_outputs])]
    n = len(inputs)

    def first_derivative(*args):
        xs = list(args[:n])
        for i in diff_pos:
            if not xs[i].requires_grad:  # finite-difference evaluations pass plain tensors
                xs[i] = xs[i].detach().requires_grad_()
        ys = _as_outputs(fn(*xs), _fn_name(fn))
        live = [(y, v) for y, v in zip(ys, args[n:]) if y.requires_grad]
        gs = grad([y for y, _ in live], [xs[i] for i in diff_pos],
                  grad_outputs=[v for _, v in live], create_graph=True, allow_unused=True)
        return tuple(g if g is not None else Tensor(np.zeros(xs[i].shape, dtype=xs[i].dtype))
                     for g, i in zip(gs, diff_pos))

    first_derivative.__qualname__ = f"vjp of {_fn_name(fn)}"
    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, seed=seed, fast_mode=fast_mode,
                     localize=localize)


