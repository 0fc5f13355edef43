"""Hypothesis strategies for property tests of ops: values in a domain, arrays, shapes that
broadcast or multiply, and whole :class:`Case` draws."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._case import Case

SearchStrategy = st.SearchStrategy


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


def as_elements(elements) -> SearchStrategy:
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
                          elements=as_elements(elements), unique=unique)
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



def _as_strategy(value) -> SearchStrategy:
    return value if isinstance(value, SearchStrategy) else st.just(value)


def cases(*args, **params) -> SearchStrategy:
    """Cases ``Case(args, params)`` of independently drawn arguments and parameters.

    Parameters
    ----------
    *args : SearchStrategy or value
        One per positional argument: a strategy is drawn from, any other value is used as is.
    **params : SearchStrategy or value
        The static parameters, likewise (``axis=st.integers(0, 1)``, ``mode="valid"``).

    Returns
    -------
    SearchStrategy[Case]
        Draws the arguments in order, then the parameters.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(cases(arrays((2, 3)), axis=st.sampled_from([0, 1])))
    ... def test_sum_shape(case):
    ...     assert tg.sum(*case.args, **case.params).shape in {(2,), (3,)}
    >>> test_sum_shape()
    """
    drawn_args = st.tuples(*(_as_strategy(a) for a in args))
    drawn_params = st.fixed_dictionaries({k: _as_strategy(v) for k, v in params.items()})
    return st.tuples(drawn_args, drawn_params).map(lambda t: Case(*t))
