"""Property-based gradient checking for tensorgrad ops, built on hypothesis.

One call, :func:`check_op`, checks an op's VJPs against central finite differences (and, by
default, its second derivatives too) over many generated shapes and values, and on failure
reports the smallest failing case that hypothesis could find. The strategies it uses are
public, for writing property tests of your own:

- :func:`floats`: float elements in ``[lo, hi]``, optionally kept away from kinks;
- :func:`arrays`: float arrays with drawn (or given) shapes and elements in a domain;
- :func:`broadcastable_shapes`: tuples of NumPy-broadcastable shapes (0-d and size-1 axes);
- :func:`matmul_shapes`: operand shapes for ``matmul`` (1-D, 2-D and batched).

For linear ops, :func:`check_adjoint` is the sharper dot-product test
⟨A x, y⟩ = ⟨x, Aᵀ y⟩, exact up to rounding.

This module needs `hypothesis <https://hypothesis.readthedocs.io>`_, an optional dependency
of tensorgrad (``pip install hypothesis``); the rest of the library never imports it.

Examples
--------
A user-defined softplus, checked in one line:

>>> import numpy as np
>>> import tensorgrad as tg
>>> from tensorgrad.testing import check_op
>>> @tg.primitive
... def softplus(x):
...     "log(1 + exp(x)), elementwise."
...     return np.logaddexp(0.0, x)
>>> _ = softplus.defvjp(lambda g, out, x: g * tg.sigmoid(x))
>>> check_op(softplus, domain=(-5, 5), max_examples=10)

Had the VJP been wrong (say ``g * tg.exp(x)``), ``check_op`` would raise
:class:`tensorgrad.GradcheckError` whose message starts with the smallest failing case::

    check_op(softplus): gradcheck failed; smallest failing case found:
      input 0: shape (), float64
        0.0
    <the gradcheck report: input, output, worst element, analytical vs numerical>
"""
from __future__ import annotations

import inspect

import numpy as np

try:
    import hypothesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as exc:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "tensorgrad.testing needs the optional dependency hypothesis; install it with "
        "`pip install hypothesis` (or `pip install tensorgrad[dev]`)") from exc

from ..errors import GradcheckError
from ..gradcheck import gradcheck, gradgradcheck
from ..tensor import tensor
from ._adjoint import check_adjoint

__all__ = [
    "arrays", "broadcastable_shapes", "check_adjoint", "check_op", "floats", "matmul_shapes",
]

SearchStrategy = st.SearchStrategy


# ----------------------------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------------------------

def floats(lo: float = -2.0, hi: float = 2.0, *, avoid=(), margin: float = 1e-2) -> SearchStrategy:
    """Finite floats in ``[lo, hi]``, at least ``margin`` away from every point in ``avoid``.

    Parameters
    ----------
    lo, hi : float
        The closed interval the values lie in (``lo < hi``).
    avoid : sequence of float
        Points to stay away from, typically an op's kinks (0 for ``relu`` and ``abs``, the
        bounds for ``clip``), where finite differences and a VJP's convention disagree.
    margin : float
        Half-width of the excluded interval around each point of ``avoid``; much larger than
        the finite-difference step.

    Returns
    -------
    SearchStrategy[float]
        Python floats (float64 precision). No NaN, no infinities.

    Raises
    ------
    ValueError
        ``lo >= hi``, or nothing of ``[lo, hi]`` left after excluding ``avoid``.
    """
    lo, hi = float(lo), float(hi)
    if not lo < hi:
        raise ValueError(f"floats: expected lo < hi, got lo={lo}, hi={hi}")
    pieces = [(lo, hi)]
    for a in sorted(float(a) for a in avoid):
        nxt = []
        for p, q in pieces:
            if a - margin > p:
                nxt.append((p, min(q, a - margin)))
            if a + margin < q:
                nxt.append((max(p, a + margin), q))
        pieces = [(p, q) for p, q in nxt if p < q]
    if not pieces:
        raise ValueError(f"floats: no values left in [{lo}, {hi}] away from {tuple(avoid)} "
                         f"by margin {margin}")
    parts = [st.floats(p, q, allow_nan=False, allow_infinity=False) for p, q in pieces]
    return parts[0] if len(parts) == 1 else st.one_of(*parts)


def _elements(elements) -> SearchStrategy:
    """A float strategy from a ``(lo, hi)`` pair or a strategy."""
    if isinstance(elements, SearchStrategy):
        return elements
    try:
        lo, hi = elements
    except (TypeError, ValueError):
        raise TypeError(f"expected a (lo, hi) domain or a hypothesis strategy of floats, "
                        f"got {elements!r}") from None
    return floats(lo, hi)


def _shape_strategy(shape, min_dims, max_dims, min_side, max_side) -> SearchStrategy:
    if shape is None:
        return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                max_side=max_side)
    if isinstance(shape, SearchStrategy):
        return shape
    if isinstance(shape, (int, np.integer)):
        return st.just((int(shape),))
    return st.just(tuple(int(n) for n in shape))


def arrays(shape=None, dtype=np.float64, elements=(-2.0, 2.0), *, min_dims: int = 0,
           max_dims: int = 3, min_side: int = 1, max_side: int = 4,
           unique: bool = False) -> SearchStrategy:
    """Float arrays with values in a domain, for property tests of ops.

    Parameters
    ----------
    shape : tuple of int, int, SearchStrategy or None
        A fixed shape, or a strategy of shapes; ``None`` draws one with
        ``hypothesis.extra.numpy.array_shapes(min_dims, max_dims, min_side, max_side)``
        (0-d included by default).
    dtype : numpy floating dtype
        Values are drawn in float64 and cast, so float32 arrays hold the nearest float32.
    elements : (lo, hi) or SearchStrategy[float]
        The domain: a closed interval, or a strategy such as :func:`floats` with ``avoid``.
    min_dims, max_dims, min_side, max_side : int
        Bounds on the drawn shape when ``shape`` is None.
    unique : bool
        All elements distinct (use a strategy with well-separated values for ops with ties).

    Returns
    -------
    SearchStrategy[np.ndarray]
        Arrays of ``dtype``.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(arrays(elements=(0.1, 3.0)))
    ... def test_log_positive(x):
    ...     assert (x >= 0.1).all()
    >>> test_log_positive()
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"arrays: expected a floating dtype, got {dtype}")
    strategy = hnp.arrays(np.float64, _shape_strategy(shape, min_dims, max_dims, min_side,
                                                      max_side),
                          elements=_elements(elements), unique=unique)
    if dtype == np.float64:
        return strategy
    return strategy.map(lambda a: a.astype(dtype))


def broadcastable_shapes(num_shapes: int = 2, *, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 4,
                         base_shape: tuple = ()) -> SearchStrategy:
    """Tuples of ``num_shapes`` shapes that broadcast together under NumPy's rules.

    A thin wrapper of ``hypothesis.extra.numpy.mutually_broadcastable_shapes`` returning only
    the input shapes. Draws include 0-d shapes, size-1 axes and differing numbers of axes.

    Parameters
    ----------
    num_shapes : int
    min_dims, max_dims, min_side, max_side : int
        Bounds on every shape (as in ``mutually_broadcastable_shapes``).
    base_shape : tuple of int
        Shapes broadcast with this one as well.

    Returns
    -------
    SearchStrategy[tuple[tuple[int, ...], ...]]

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(broadcastable_shapes(2))
    ... def test_broadcast(shapes):
    ...     np.broadcast_shapes(*shapes)
    >>> test_broadcast()
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, base_shape=tuple(base_shape), min_dims=min_dims,
        max_dims=max_dims, min_side=min_side, max_side=max_side).map(lambda s: s.input_shapes)


def matmul_shapes(*, max_batch_dims: int = 2, min_side: int = 1,
                  max_side: int = 4) -> SearchStrategy:
    """Pairs of operand shapes valid for ``matmul`` (NumPy's signature
    ``(n?,k),(k,m?)->(n?,m?)``).

    Each of the core signatures 1-D @ 1-D, 2-D @ 1-D, 1-D @ 2-D and 2-D @ 2-D is drawn
    often, as are batched operands whose batch dimensions broadcast (up to
    ``max_batch_dims`` of them, size-1 batch axes included).

    Returns
    -------
    SearchStrategy[tuple[tuple[int, ...], tuple[int, ...]]]

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(matmul_shapes())
    ... def test_matmul_shapes(shapes):
    ...     np.matmul(np.ones(shapes[0]), np.ones(shapes[1]))
    >>> test_matmul_shapes()
    """
    side = st.integers(min_side, max_side)
    core = st.tuples(side, side, side).flatmap(lambda nkm: st.sampled_from([
        ((nkm[1],), (nkm[1],)),
        ((nkm[0], nkm[1]), (nkm[1],)),
        ((nkm[1],), (nkm[1], nkm[2])),
        ((nkm[0], nkm[1]), (nkm[1], nkm[2])),
    ]))
    batched = hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, min_dims=0, max_dims=max_batch_dims, min_side=min_side,
        max_side=max_side).map(lambda s: s.input_shapes)
    return st.one_of(core, batched)


# ----------------------------------------------------------------------------------------
# check_op
# ----------------------------------------------------------------------------------------

class _Case:
    """One drawn example: the input arrays and the static parameters."""

    def __init__(self, arrays, params):
        self.arrays = arrays
        self.params = params

    def describe(self) -> str:
        lines = []
        for i, a in enumerate(self.arrays):
            body = np.array2string(a, separator=", ", max_line_width=100, threshold=10**6,
                                   formatter={"float_kind": lambda v: repr(float(v))})
            body = body.replace("\n", "\n    ")
            lines.append(f"  input {i}: shape {a.shape}, {a.dtype}\n    {body}")
        if self.params:
            lines.append("  params: " + ", ".join(f"{k}={v!r}" for k, v in self.params.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "case:\n" + self.describe()

    def _repr_pretty_(self, printer, cycle):  # how hypothesis prints a falsifying example
        printer.text(repr(self))


def _op_name(op) -> str:
    return getattr(op, "name", None) or getattr(op, "__name__", None) or repr(op)


def _count_inputs(op, num_inputs):
    if num_inputs is not None:
        if int(num_inputs) < 1:
            raise ValueError(f"check_op: num_inputs must be at least 1, got {num_inputs}")
        return int(num_inputs)
    n = getattr(op, "n_inputs", "unknown")
    if n == "unknown":
        n, variadic = 0, False
        for p in inspect.signature(op).parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                variadic = True
            elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
                n += 1
        n = None if variadic else n
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
        return [_elements(domain)] * n
    domain = list(domain)
    if len(domain) != n or not all(_is_domain(d) for d in domain):
        raise ValueError(f"check_op: domain must be one (lo, hi) pair or strategy, or one per "
                         f"input ({n}), got {domain!r}")
    return [_elements(d) for d in domain]


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
    >>> import numpy as np
    >>> import tensorgrad as tg
    >>> @tg.primitive
    ... def softplus(x):
    ...     "log(1 + exp(x)), elementwise."
    ...     return np.logaddexp(0.0, x)
    >>> _ = softplus.defvjp(lambda g, out, x: g * tg.sigmoid(x))
    >>> check_op(softplus, domain=(-5, 5), max_examples=10,
    ...          reference=lambda x: np.log1p(np.exp(x)))

    Binary ops declared with ``broadcast=True`` get broadcastable shapes; keep a divisor
    away from 0 with a per-input domain:

    >>> check_op(tg.divide, domain=[(-2, 2), floats(0.5, 2)], max_examples=10)
    """
    n = _count_inputs(op, num_inputs)
    elements = _domains(domain, n)
    dtype = np.dtype(dtype)
    shape_strategy = _shapes(shapes, n, getattr(op, "broadcast", False))
    param_strategy = st.fixed_dictionaries(
        {k: v if isinstance(v, SearchStrategy) else st.just(v) for k, v in params.items()})
    name = _op_name(op)

    @st.composite
    def cases(draw):
        drawn = draw(shape_strategy)
        values = tuple(draw(arrays(s, dtype, el)) for s, el in zip(drawn, elements))
        return _Case(values, draw(param_strategy))

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
              report_multiple_bugs=False, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much],
              phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate,
                      hypothesis.Phase.shrink])
    @given(cases())
    def run(case):
        _check_case(op, name, case, gradgrad=gradgrad, reference=reference, eps=eps,
                    atol=atol, rtol=rtol)

    run()


def _check_case(op, name, case, *, gradgrad, reference, eps, atol, rtol):
    params = case.params

    def fn(*xs):
        return op(*xs, **params)

    fn.__qualname__ = fn.__name__ = name

    what = "forward"
    try:
        inputs = tuple(tensor(a, requires_grad=True) for a in case.arrays)
        if reference is not None:
            got = np.asarray(fn(*inputs).data)
            want = np.asarray(reference(*case.arrays, **params))
            if got.shape != want.shape or not np.allclose(got, want, rtol=1e-12, atol=1e-12):
                raise GradcheckError(f"the forward differs from the reference:\n"
                                     f"  result {got!r}\n  reference {want!r}")
        what = "gradcheck"
        gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)
        if gradgrad:
            what = "gradgradcheck"
            gradgradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol)
    except GradcheckError as e:
        raise GradcheckError(f"check_op({name}): {what} failed; smallest failing case found:\n"
                             f"{case.describe()}\n{e}") from None
