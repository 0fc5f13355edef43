"""Checking reverse-mode gradients against finite differences, and saying where they are wrong.

``gradcheck`` compares u·J from reverse mode (one VJP with a random, non-uniform cotangent u)
with u·J from central differences evaluated in float64, whatever the inputs' dtype. It
also checks PyTorch's invariants of a VJP: zero for a zero cotangent, linear in the
cotangent, repeatable, of the input's shape and dtype. When a check of a whole function
fails, the function is run once more with source sites recorded, every recorded op of its
graph is checked on its own at the very values it saw, and the report names the first op
(in creation order) whose own check fails, with the line of user code that created it.

Where a finite-difference step reaches a kink of a recorded op (relu or abs at 0, a tie of
max, min, maximum, minimum or max_pool2d, a bound of clip; :meth:`Op.defkinks
<tensorgrad.Op.defkinks>` declares them), the report names the op, its input and the line,
and an analytical value between the two one-sided differences is accepted as a subgradient.
When every recorded op passes while the function fails, the report names the cause: part of
the function is not recorded (a graph escape), or a kink of the function as a whole.

The parts, as in ``torch/autograd/gradcheck.py``:

- ``_problem``: the function at its inputs, its outputs, the random cotangents;
- ``_invariants``: reverse mode and the invariants of each VJP;
- ``_modes``: finite differences, compared in the full or the fast mode;
- ``_kinks``: the kinks of recorded ops that a finite-difference step reaches;
- ``_forward_ad``: ``check_forward_ad``, each op's JVP against its VJP, exactly;
- ``_report``: the texts of the reports;
- here: :func:`gradcheck`, :func:`gradgradcheck` and locating the faulty op.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._random import as_generator
from ..autograd import grad
from ..errors import GradcheckError, GraphEscapeError
from ..escapes import forbid_graph_escape
from ..inputs import callable_name
from ..tensor import Tensor
from ._forward_ad import check_forward_ad as _check_forward_ad
from ._invariants import reverse_mode
from ._modes import compare
from ._problem import Problem, Settings, as_outputs, differentiable_positions, recorded_run
from ._report import Failure, accepted_report, faulty_op_report, no_faulty_op_report

__all__ = ["gradcheck", "gradgradcheck"]


@forbid_graph_escape()  # fn converting an input that requires grad to an ndarray: an error
def _check(fn, inputs, s, fast_mode, name):
    """Raise :class:`Failure` with a report when a check fails; when all pass, return the
    text on the subgradients accepted at kinks ("" if none)."""
    p = Problem(fn, inputs, name, s.seed)
    analytic = reverse_mode(p)
    accepted = [a for j in range(len(p.diff)) for a in compare(p, j, analytic, s, fast_mode)]
    return accepted_report(p, accepted) if accepted else ""


def _node_call(node):
    """The node's op as a function of its inputs (fresh leaves where they required grad)."""
    args = [Tensor(np.array(x, copy=True), requires_grad=True)
            if isinstance(p, Tensor) and p.requires_grad else x
            for p, x in zip(node.parents, node.inputs)]

    def single(*a, _op=node.op, _params=node.params):
        return _op.bind(*a, **_params)

    return single, args


def _localize(fn, inputs, s, name, failure) -> str:
    """Check each recorded op of fn's graph on its own; describe the first that fails, or
    why the function fails (``failure``, its own report) when none does."""
    nodes, escapes = recorded_run(fn, inputs, name)
    for position, node in enumerate(nodes):
        single, args = _node_call(node)
        try:
            try:
                _check(single, args, s, None, node.op.name)
            except Failure as f:
                if not (f.kinks and f.along_direction):
                    raise
                _check(single, args, s, False, node.op.name)  # at kinks: entry by entry
        except Failure as f:
            return faulty_op_report(node, position, len(nodes), f)
    return no_faulty_op_report(len(nodes), failure, escapes)


def _arguments(what, fn, inputs, eps, atol, rtol) -> tuple:
    """``inputs`` as a tuple, after checking every argument of a check; TypeError or
    ValueError naming ``what`` and the argument."""
    if not callable(fn):
        raise TypeError(f"{what}: fn must be callable, got {type(fn).__name__}")
    if isinstance(inputs, Tensor):
        return (inputs,)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{what}: inputs must be a Tensor or a list/tuple of Tensors and "
                        f"constants, got {type(inputs).__name__}")
    for label, value, least in (("eps", eps, None), ("atol", atol, 0.0), ("rtol", rtol, 0.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise TypeError(f"{what}: {label} must be a number, got {value!r}")
        if not np.isfinite(value) or (value <= 0 if least is None else value < least):
            expected = "a finite number > 0" if least is None else "a finite number >= 0"
            raise ValueError(f"{what}: {label} must be {expected}, got {value!r}")
    return tuple(inputs)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, *, seed=0,
              fast_mode=None, localize=True, check_forward_ad=False):
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
    check_forward_ad : bool
        First check, for every recorded op and input that requires grad with both a JVP
        (:meth:`Op.defjvp <tensorgrad.Op.defjvp>`) and a VJP, that ⟨u, J·v⟩ from the JVP
        equals ⟨Jᵀ·u, v⟩ from the VJP to round-off, for random u and v (an exact test, no
        finite differences); a report names the op, the input, both numbers, and which
        rule the finite difference along v agrees with.

    Returns
    -------
    bool
        True when every check passes.

    Warns
    -----
    UserWarning
        Once, when the check passes only because, at input elements whose finite-difference
        step reached a kink of a recorded op (:meth:`Op.defkinks <tensorgrad.Op.defkinks>`),
        reverse mode's Jacobian column lies between the one-sided differences (a subgradient):
        the elements, the ops, their inputs and lines. A passing float32 check does not warn.
        With ``check_forward_ad``, when no recorded op has both a JVP and a VJP (nothing
        was compared).

    Raises
    ------
    GradcheckError (an AssertionError)
        The report (``docs/gradcheck_reports.md``): function, input index and shape, output
        index; for small cases the worst Jacobian entry (row and column of both Jacobians,
        printed), else the worst entry of u·J (plain ints, u·J defined beside it); analytical
        and numerical values, both errors, how many entries fail, the tolerances; the
        one-sided differences and the kink where a step reached one; float32 precision
        where it applies; and the first faulty op, or, when every recorded op passes, a kink
        of the whole function or a graph escape. Also raised when a VJP breaks an invariant
        (not zero for a zero cotangent, not linear in the cotangent, not repeatable, wrong
        shape or dtype), and when ``fn`` converts a Tensor that requires grad to an array
        (a graph escape, with the line).
    ValueError
        No input requires grad, ``fn`` returns no floating-point output, ``eps`` is not a
        finite number > 0, or ``atol``/``rtol`` is negative or not finite.
    TypeError
        ``fn`` is not callable, ``inputs`` is neither a Tensor nor a list/tuple, ``fn``
        returns something other than Tensors, or ``seed`` is not an int.

    The comparison follows ``torch.autograd.gradcheck`` (including its invariants); unlike it,
    the cotangent is random rather than all ones and the faulty op is located.
    """
    inputs = _arguments("gradcheck", fn, inputs, eps, atol, rtol)
    name = callable_name(fn)
    if not differentiable_positions(inputs):
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    s = Settings(eps, atol, rtol, seed)
    text = None
    try:
        if check_forward_ad:
            text = _forward_ad(fn, inputs, s, name)
        if text is None:
            accepted = _check(fn, inputs, s, fast_mode, name)
    except GraphEscapeError as e:  # fn's gradient is wrong, and the error says where
        text = (f"gradcheck failed for {name}: {e}\n  part of the function is not recorded "
                "(a graph escape): reverse mode sees the converted values as constants")
    except Failure as f:
        text = f"gradcheck failed for {name}: {f}"
        if localize:
            text += "\n" + _localize(fn, inputs, s, name, f)
    else:
        if text is None:
            if accepted:
                warnings.warn(accepted, UserWarning, stacklevel=2)
            return True
    if raise_exception:
        raise GradcheckError(text) from None
    return False


@forbid_graph_escape()
def _forward_ad(fn, inputs, s, name):
    """``check_forward_ad``: the report of the first op whose rules disagree, or None (with
    a warning when no op had both rules)."""
    try:
        compared = _check_forward_ad(fn, inputs, name, s)
    except Failure as f:
        return f"gradcheck failed for {name}: {f}"
    if compared == 0:
        warnings.warn(f"gradcheck(check_forward_ad=True): no recorded op of {name} declares both "
                      "a JVP (Op.defjvp) and a VJP for an input that requires grad, so no "
                      "forward-mode rule was compared", UserWarning, stacklevel=3)
    return None


def _cotangent_leaves(outs, grad_outputs, seed) -> list:
    """Leaf Tensors v (one per output) that require grad: ``grad_outputs`` or random ones."""
    if grad_outputs is None:
        rng = as_generator(seed + 1, "gradgradcheck", "seed")
        return [Tensor(rng.standard_normal(o.shape).astype(o.dtype), requires_grad=True)
                for o in outs]
    given = grad_outputs if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
    return [Tensor(np.asarray(getattr(g, "data", g)), requires_grad=True) for g in given]


def _vjp_function(fn, n, diff_pos):
    """(x_1..x_n, v_1..v_m) -> v·J(x) by the inputs at ``diff_pos``, built with create_graph."""
    def first_derivative(*args):
        xs = list(args[:n])
        for i in diff_pos:
            if not xs[i].requires_grad:  # finite-difference evaluations pass plain tensors
                xs[i] = xs[i].detach().requires_grad_()
        ys = as_outputs(fn(*xs), callable_name(fn))
        live = [(y, v) for y, v in zip(ys, args[n:]) if y.requires_grad]
        gs = grad([y for y, _ in live], [xs[i] for i in diff_pos],
                  grad_outputs=[v for _, v in live], create_graph=True, allow_unused=True)
        return tuple(g if g is not None else Tensor(np.zeros(xs[i].shape, dtype=xs[i].dtype))
                     for g, i in zip(gs, diff_pos))

    first_derivative.__qualname__ = f"vjp of {callable_name(fn)}"
    return first_derivative


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, *, seed=0, fast_mode=None, localize=True,
                  check_forward_ad=False):
    """Check second derivatives: :func:`gradcheck` of the map (inputs, v) -> v·J(inputs).

    The VJP is computed with ``create_graph=True`` and differentiated again with respect to
    both the inputs and the cotangent v (random, seeded, unless ``grad_outputs`` is given).
    ``check_forward_ad`` checks the JVPs of the ops recorded by the function and by its
    backward pass against their VJPs.
    Parameters, returns and raises as :func:`gradcheck`; same as
    ``torch.autograd.gradgradcheck``.
    """
    inputs = _arguments("gradgradcheck", fn, inputs, eps, atol, rtol)
    diff_pos = differentiable_positions(inputs)
    if not diff_pos:
        raise ValueError("gradgradcheck: no input has requires_grad=True")
    outs = as_outputs(fn(*inputs), callable_name(fn))
    vs = _cotangent_leaves(outs, grad_outputs, seed)
    return gradcheck(_vjp_function(fn, len(inputs), diff_pos), inputs + tuple(vs), eps=eps,
                     atol=atol, rtol=rtol, raise_exception=raise_exception, seed=seed,
                     fast_mode=fast_mode, localize=localize, check_forward_ad=check_forward_ad)
