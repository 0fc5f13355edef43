"""check_op: gradcheck and gradgradcheck of an op over the cases hypothesis draws, with the
smallest failing case reported."""
from __future__ import annotations

import inspect

import hypothesis
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..errors import GradcheckError
from ..gradcheck import gradcheck, gradgradcheck
from ._strategies import SearchStrategy, arrays, as_elements, broadcastable_shapes, cases


def _op_name(op) -> str:
    return getattr(op, "name", None) or getattr(op, "__name__", None) or repr(op)


def _required_positionals(op):
    """How many positional parameters without a default ``op`` has; None if variadic."""
    n = 0
    for p in inspect.signature(op).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            n += 1
    return n


def _count_inputs(op, num_inputs):
    """The number of array inputs: ``num_inputs``, the op's own count, or its signature's."""
    if num_inputs is not None:
        if int(num_inputs) < 1:
            raise ValueError(f"check_op: num_inputs must be at least 1, got {num_inputs}")
        return int(num_inputs)
    n = getattr(op, "n_inputs", "unknown")
    if n == "unknown":
        n = _required_positionals(op)
    if n is None:
        raise ValueError(f"check_op: {_op_name(op)} takes a variable number of inputs; "
                         "pass num_inputs=")
    if n < 1:
        raise ValueError(f"check_op: {_op_name(op)} has no array input to differentiate")
    return n


def _is_domain(d) -> bool:
    if isinstance(d, SearchStrategy):
        return True
    return (isinstance(d, (tuple, list)) and len(d) == 2
            and all(isinstance(v, (int, float, np.integer, np.floating)) for v in d))


def _domains(domain, n):
    if _is_domain(domain):
        return [as_elements(domain)] * n
    domain = list(domain)
    if len(domain) != n or not all(_is_domain(d) for d in domain):
        raise ValueError(f"check_op: domain must be one (lo, hi) pair or strategy, or one per "
                         f"input ({n}), got {domain!r}")
    return [as_elements(d) for d in domain]


def _is_shape(s) -> bool:
    return isinstance(s, (tuple, list)) and all(isinstance(v, (int, np.integer)) for v in s)


def _as_shapes(value, n):
    """A drawn or given shape spec as a tuple of ``n`` shapes."""
    if _is_shape(value):
        return (tuple(int(v) for v in value),) * n
    shapes = tuple(tuple(int(v) for v in s) for s in value)
    if len(shapes) != n:
        raise ValueError(f"check_op: expected {n} shapes (one per input), got {shapes}")
    return shapes


def _shapes(shapes, n, broadcast) -> SearchStrategy:
    if shapes is None:
        if n > 1 and broadcast:
            return broadcastable_shapes(n, max_side=3)
        return hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4).map(
            lambda s: (s,) * n)
    if isinstance(shapes, SearchStrategy):
        return shapes.map(lambda s: _as_shapes(s, n))
    return st.just(_as_shapes(shapes, n))


def check_op(op, *, num_inputs: int | None = None, domain=(-2.0, 2.0), shapes=None,
             dtype=np.float64, max_examples: int = 30, gradgrad: bool = True,
             reference=None, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
             **params) -> None:
    """Gradcheck (and gradgradcheck) an op over generated shapes and values, with shrinking.

    For each example hypothesis draws, the op is called on Tensors that require grad and
    :func:`tensorgrad.gradcheck` compares its reverse-mode derivatives with central finite
    differences; with ``gradgrad`` :func:`tensorgrad.gradgradcheck` does the same for second
    derivatives (the backward pass differentiated again under ``create_graph=True``). On a
    failure hypothesis shrinks the example to the smallest one that still fails, and that
    one is reported.

    Parameters
    ----------
    op : tensorgrad Op or callable
        A primitive (built in or declared with :func:`tensorgrad.primitive`) or any function
        of Tensors returning a Tensor (or a tuple of Tensors).
    num_inputs : int, optional
        Number of array inputs; read from the op's signature when omitted (positional
        parameters without defaults). Required for variadic ops.
    domain : (lo, hi), SearchStrategy[float], or a sequence of them (one per input)
        Where the input values are drawn: e.g. ``(0.1, 3)`` for ``log``, or
        ``tensorgrad.testing.floats(-2, 2, avoid=[0])`` to stay away from a kink.
    shapes : shape, sequence of shapes, or SearchStrategy, optional
        A fixed shape for every input, one shape per input, or a strategy of either.
        Default: one drawn shape (0 to 3 axes of 1 to 4) shared by every input, or for an op
        declared with ``broadcast=True`` a tuple of broadcastable shapes
        (:func:`broadcastable_shapes`).
    dtype : numpy floating dtype
        Of the generated inputs; float64 (the default) is what finite differences need.
    max_examples : int
        Number of examples hypothesis runs (derandomised: the same examples every run).
    gradgrad : bool
        Also check second derivatives.
    reference : callable, optional
        ``reference(*arrays, **params) -> ndarray``, a NumPy/SciPy forward the op's result
        must match (``rtol=1e-12`` relative, ``1e-12`` absolute in float64).
    eps, atol, rtol : float
        Finite-difference step and tolerances, passed to ``gradcheck``/``gradgradcheck``.
    **params
        Static parameters passed to the op as keywords (``axis=0``, ``mode="valid"``); a
        hypothesis strategy as a value is drawn afresh for every example.

    Returns
    -------
    None
        When every example passes.

    Raises
    ------
    tensorgrad.GradcheckError
        Derivatives (or the reference forward) disagree. The message starts with the
        smallest failing case found (every input's shape, dtype and exact values, and the
        parameters), followed by the report of ``gradcheck``/``gradgradcheck``.
    ValueError
        A ``domain`` or ``shapes`` that does not match the number of inputs.

    Examples
    --------
    A user's primitive is checked the same way (see :mod:`tensorgrad.testing`); a built-in
    one, with its forward against NumPy's:

    >>> check_op(tg.tanh, domain=(-3, 3), max_examples=10, reference=np.tanh)

    Binary ops declared with ``broadcast=True`` get broadcastable shapes; keep a divisor
    away from 0 with a per-input domain:

    >>> from tensorgrad.testing import floats
    >>> check_op(tg.divide, domain=[(-2, 2), floats(0.5, 2)], max_examples=10)
    """
    n = _count_inputs(op, num_inputs)
    elements = _domains(domain, n)
    dtype = np.dtype(dtype)
    shape_strategy = _shapes(shapes, n, getattr(op, "broadcast", False))
    name = _op_name(op)

    def cases_of_shapes(drawn):
        return cases(*(arrays(s, dtype, el) for s, el in zip(drawn, elements)), **params)

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
              report_multiple_bugs=False, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much],
              phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate,
                      hypothesis.Phase.shrink])
    @given(shape_strategy.flatmap(cases_of_shapes))
    def run(case):
        _check_case(op, name, case, gradgrad=gradgrad, reference=reference, eps=eps,
                    atol=atol, rtol=rtol)

    run()


def _check_case(op, name, case, *, gradgrad, reference, eps, atol, rtol):
    fn, inputs = case.closure(op, name=name)
    what = "forward"
    try:
        if reference is not None:
            _check_forward(fn(*inputs), reference(*case.args, **case.params))
        what = "gradcheck"
        gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)
        if gradgrad:
            what = "gradgradcheck"
            gradgradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)
    except GradcheckError as e:
        raise GradcheckError(f"check_op({name}): {what} failed; smallest failing case found:\n"
                             f"{case.describe()}\n{e}") from None


def _check_forward(result, expected):
    got, want = np.asarray(getattr(result, "data", result)), np.asarray(expected)
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-12, atol=1e-12):
        raise GradcheckError(f"the forward differs from the reference:\n"
                             f"  result {got!r}\n  reference {want!r}")
