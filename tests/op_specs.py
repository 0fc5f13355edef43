"""One spec per op: how to call it, on which inputs, and what it must compute.

Every primitive registered by tensorgrad (``tg.OPS``) and every public composite of
``tensorgrad.functional`` is covered by at least one :class:`OpSpec` in :data:`SPECS`; the
generic tests of ``tests/test_ops_generic.py`` run each spec through the same checks
(forward against a NumPy/SciPy reference, gradcheck, gradgradcheck, float32 in and out), and
a coverage test fails when a registered built-in op has no spec.

A spec's input strategy carries the op's domain: ``log`` and ``sqrt`` on (0.1, 3), ``relu``
and ``abs`` away from their kink at 0, ``clip`` away from its bounds, ``maximum`` and the
max/min reductions on lattices where ties cannot happen (finite differences at a tie
measure a one-sided mix, while the VJP follows a convention tested in ``test_cases.py``).
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Callable

import numpy as np
import scipy.signal
import scipy.special
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tensorgrad as tg
from tensorgrad.testing import Case, arrays, broadcastable_shapes, cases, floats, matmul_shapes

# ----------------------------------------------------------------------------------------
# Cases and specs
# ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """How to test one op.

    Attributes
    ----------
    name : str
        Test id (several specs may cover one op: ``getitem_basic``, ``getitem_bool``...).
    covers : str
        The registered op (``tg.OPS`` key) or ``tensorgrad.functional`` name it covers.
    fn : callable
        ``fn(*args, **params) -> Tensor``, the tensorgrad function under test.
    cases : SearchStrategy[Case]
        Inputs and parameters within the op's domain.
    reference : callable
        ``reference(*args, **params) -> ndarray``: the same computation in NumPy/SciPy.
    diff : tuple of int or None
        Argument positions differentiated; None: every floating-point ndarray argument.
    differentiable : bool
        False for ops whose result never requires grad (comparisons, ``sign``, logic).
    gradgrad : bool
        Whether second derivatives are checked.
    fwd_rtol, fwd_atol : float
        Forward tolerance against the reference in float64.
    eps, atol, rtol : float
        Passed to ``tg.gradcheck`` / ``tg.gradgradcheck``.
    keeps_dtype : bool
        float32 inputs give a float32 result (False for ``cast``, comparisons, logic).
    broadcast_cases : callable or None
        For ops that broadcast: ``shapes -> SearchStrategy[Case]`` with the array arguments
        of exactly those shapes, used by the fixed-shape broadcasting test.
    """

    name: str
    covers: str
    fn: Callable
    cases: st.SearchStrategy
    reference: Callable
    diff: tuple | None = None
    differentiable: bool = True
    gradgrad: bool = True
    fwd_rtol: float = 1e-12
    fwd_atol: float = 1e-12
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-3
    keeps_dtype: bool = True
    broadcast_cases: Callable | None = None

    def diff_positions(self, case):
        return case.float_positions() if self.diff is None else tuple(self.diff)

    def __repr__(self):  # the pytest id and hypothesis' report
        return self.name

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.name)


SPECS: list[OpSpec] = []


def spec(*args, **kwargs) -> OpSpec:
    s = OpSpec(*args, **kwargs)
    if any(t.name == s.name for t in SPECS):
        raise ValueError(f"duplicate spec name {s.name!r}")
    SPECS.append(s)
    return s


# ----------------------------------------------------------------------------------------
# Strategies used by the specs (small shapes: every example is gradgradchecked)
# ----------------------------------------------------------------------------------------

MAX_SIDE = 4
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
SHAPES_1D_UP = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
# Lattices with no ties between them (|x - y| >= 0.05 always) and within them (unique draws).
LATTICE_X = st.integers(-20, 20).map(lambda i: 0.1 * i + 0.05)
LATTICE_Y = st.integers(-20, 20).map(lambda i: 0.1 * i)
DISTINCT = st.integers(-60, 60).map(lambda i: i / 20)
SMALL_INTS = st.integers(-2, 2).map(float)  # comparisons: equality happens


def _broadcast_family(elements, n):
    """(cases strategy, broadcast_cases) for an n-input op with one domain per input."""
    def with_shapes(shapes):
        return cases(*(arrays(s, elements=e) for s, e in zip(shapes, elements)))

    return broadcastable_shapes(n, max_dims=3, max_side=3).flatmap(with_shapes), with_shapes


def unary(name, fn, reference, elements=(-2.0, 2.0), covers=None, shapes=SHAPES, **kw):
    return spec(name, covers or name, fn, cases(arrays(shapes, elements=elements)),
                reference, **kw)


def binary(name, fn, reference, elements=((-2.0, 2.0), (-2.0, 2.0)), covers=None, **kw):
    cases, with_shapes = _broadcast_family(elements, len(elements))
    return spec(name, covers or name, fn, cases, reference, broadcast_cases=with_shapes, **kw)


@st.composite
def axis_and_keepdims(draw, ndim, allow_tuple=True):
    """``axis`` (None, an int, possibly negative, or a tuple) valid for ``ndim`` axes, and
    ``keepdims``."""
    options = [st.none()]
    if ndim == 0:  # a 0-d input reduces over axis 0 or -1 too (PyTorch)
        options.append(st.sampled_from([0, -1]))
    if ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                    unique=True).map(tuple))
    axis = draw(st.one_of(*options))
    return {"axis": axis, "keepdims": draw(st.booleans())}


def reduction_cases(elements=(-2.0, 2.0), unique=False, allow_tuple=True):
    return arrays(SHAPES, elements=elements, unique=unique).flatmap(
        lambda x: axis_and_keepdims(x.ndim, allow_tuple).map(lambda p: Case((x,), p)))


# ----------------------------------------------------------------------------------------
# Elementwise arithmetic (broadcasting)
# ----------------------------------------------------------------------------------------

binary("add", tg.add, np.add)
binary("subtract", tg.subtract, np.subtract)
binary("multiply", tg.multiply, np.multiply)
binary("divide", tg.divide, np.divide,
       elements=((-2.0, 2.0), floats(-2.0, 2.0, avoid=[0.0], margin=0.5)))


# Quotients (0.1·i + 0.05) / y are odd multiples of 1/8, 1/16 or 1/40: never within 1/40 of
# an integer, where the rounded quotient jumps and finite differences would see the jump.
_DIV_DIVISORS = st.sampled_from([0.4, -0.4, 0.8, -2.0])


def _div_cases_for(shapes):
    return cases(arrays(shapes[0], elements=LATTICE_X), arrays(shapes[1], elements=_DIV_DIVISORS),
                 rounding_mode=st.sampled_from(["trunc", "floor"]))


def _div_reference(x, y, rounding_mode):
    return np.floor_divide(x, y) if rounding_mode == "floor" else np.trunc(x / y)


spec("div", "div", tg.div,
     broadcastable_shapes(2, max_dims=3, max_side=3).flatmap(_div_cases_for), _div_reference,
     broadcast_cases=_div_cases_for)
binary("power", tg.power, np.power, elements=((0.5, 2.0), (-2.0, 2.0)))
binary("maximum", tg.maximum, np.maximum, elements=(LATTICE_X, LATTICE_Y))
binary("minimum", tg.minimum, np.minimum, elements=(LATTICE_X, LATTICE_Y))


@st.composite
def _power_constant_exponent(draw):
    """Negative bases with a constant integer exponent: no NaN in the base's gradient."""
    exponent = draw(st.sampled_from([2, 3, -1, 2.0, -2]))
    base = draw(arrays(SHAPES, elements=floats(-2.0, 2.0, avoid=[0.0], margin=0.25)))
    return Case((base, exponent))


spec("power_constant_exponent", "power", tg.power, _power_constant_exponent(), np.power,
     diff=(0,))


@st.composite
def _power_constant_base(draw):
    base = draw(st.sampled_from([0.5, 2.0, np.e]))
    return Case((base, draw(arrays(SHAPES))))


spec("power_constant_base", "power", tg.power, _power_constant_base(), np.power, diff=(1,))


@st.composite
def _where_cases_for(draw, shapes):
    cond = draw(hnp.arrays(np.bool_, shapes[0]))
    return Case((cond, draw(arrays(shapes[1])), draw(arrays(shapes[2]))))


spec("where", "where", tg.where,
     broadcastable_shapes(3, max_dims=3, max_side=3).flatmap(_where_cases_for),
     np.where, diff=(1, 2), broadcast_cases=_where_cases_for)

# ----------------------------------------------------------------------------------------
# Unary functions
# ----------------------------------------------------------------------------------------

unary("negative", tg.negative, np.negative)
unary("exp", tg.exp, np.exp)
unary("log", tg.log, np.log, elements=(0.1, 3.0))
unary("log1p", tg.log1p, np.log1p, elements=(-0.9, 3.0))
unary("sqrt", tg.sqrt, np.sqrt, elements=(0.1, 3.0))
unary("abs", tg.abs, np.abs, elements=floats(-2.0, 2.0, avoid=[0.0]))
unary("tanh", tg.tanh, np.tanh, elements=(-3.0, 3.0))
unary("sigmoid", tg.sigmoid, scipy.special.expit, elements=(-6.0, 6.0))
unary("relu", tg.relu, lambda x: np.maximum(x, 0.0), elements=floats(-2.0, 2.0, avoid=[0.0]))


@st.composite
def _clip_cases(draw):
    lo, hi = draw(st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None), (0.0, 0.25)]))
    avoid = [b for b in (lo, hi) if b is not None]
    x = draw(arrays(SHAPES, elements=floats(-2.0, 2.0, avoid=avoid)))
    return Case((x,), {"lo": lo, "hi": hi})


spec("clip", "clip", tg.clip, _clip_cases(), lambda x, lo, hi: np.clip(x, lo, hi))


def _clip_array_bounds_for(shapes):
    """x, lo, hi of the given shapes, differentiated: lo < 0 <= hi on a 0.1 lattice and x
    between its points, so no tie and no kink."""
    lo = st.integers(-20, -1).map(lambda i: 0.1 * i)
    hi = st.integers(0, 20).map(lambda i: 0.1 * i)
    return cases(arrays(shapes[0], elements=LATTICE_X), arrays(shapes[1], elements=lo),
                  arrays(shapes[2], elements=hi))


spec("clip_array_bounds", "clip", tg.clip,
     broadcastable_shapes(3, max_dims=3, max_side=3).flatmap(_clip_array_bounds_for),
     np.clip, broadcast_cases=_clip_array_bounds_for)


@st.composite
def _cast_cases(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return Case((draw(arrays(SHAPES)),), {"dtype": np.dtype(dtype)})


# A float32 result rounds the finite differences: a wide step and tolerance (the derivative
# is exactly the identity, so nothing is hidden).
spec("cast", "cast", tg.cast, _cast_cases(), lambda x, dtype: x.astype(dtype),
     eps=1e-3, atol=1e-3, rtol=1e-3, keeps_dtype=False)

# ----------------------------------------------------------------------------------------
# Comparisons, sign and logic: exact forward, never a gradient
# ----------------------------------------------------------------------------------------

for _name, _ufunc in [("less", np.less), ("less_equal", np.less_equal),
                      ("greater", np.greater), ("greater_equal", np.greater_equal),
                      ("equal", np.equal), ("not_equal", np.not_equal)]:
    binary(_name, getattr(tg, _name), _ufunc, elements=(SMALL_INTS, SMALL_INTS),
           differentiable=False, keeps_dtype=False)

_TRUTHY = st.sampled_from([0.0, 1.0, -1.5])
binary("logical_and", tg.logical_and, np.logical_and, elements=(_TRUTHY, _TRUTHY),
       differentiable=False, keeps_dtype=False)
binary("logical_or", tg.logical_or, np.logical_or, elements=(_TRUTHY, _TRUTHY),
       differentiable=False, keeps_dtype=False)
unary("logical_not", tg.logical_not, np.logical_not, elements=_TRUTHY, differentiable=False,
      keeps_dtype=False)
unary("sign", tg.sign, np.sign, elements=SMALL_INTS, differentiable=False)

# ----------------------------------------------------------------------------------------
# NumPy's mathematical functions (tensorgrad/ops/math.py)
# ----------------------------------------------------------------------------------------
# Domains keep clear of poles (tan at ±π/2), of the ends of the inverse functions' domains
# and of the jumps of the modular and rounding ops, where finite differences measure the
# jump: the conventions there are tested in test_math_ops.py.

unary("sin", tg.sin, np.sin, elements=(-4.0, 4.0))
unary("cos", tg.cos, np.cos, elements=(-4.0, 4.0))
unary("tan", tg.tan, np.tan, elements=(-1.3, 1.3))
unary("arcsin", tg.arcsin, np.arcsin, elements=(-0.9, 0.9))
unary("arccos", tg.arccos, np.arccos, elements=(-0.9, 0.9))
unary("arctan", tg.arctan, np.arctan, elements=(-3.0, 3.0))
unary("sinh", tg.sinh, np.sinh, elements=(-3.0, 3.0))
unary("cosh", tg.cosh, np.cosh, elements=(-3.0, 3.0))
unary("arcsinh", tg.arcsinh, np.arcsinh, elements=(-3.0, 3.0))
unary("arccosh", tg.arccosh, np.arccosh, elements=(1.1, 4.0))
unary("arctanh", tg.arctanh, np.arctanh, elements=(-0.9, 0.9))
unary("sinc", tg.sinc, np.sinc, elements=(-3.0, 3.0))
# around 0, where the derivative switches from its Maclaurin series to the formula
unary("sinc_near_0", tg.sinc, np.sinc, covers="sinc",
      elements=st.one_of(st.just(0.0), st.floats(-0.1, 0.1)))
unary("expm1", tg.expm1, np.expm1, elements=(-3.0, 3.0))
unary("exp2", tg.exp2, np.exp2, elements=(-3.0, 3.0))
unary("log2", tg.log2, np.log2, elements=(0.1, 3.0))
unary("log10", tg.log10, np.log10, elements=(0.1, 3.0))
unary("square", tg.square, np.square)
unary("reciprocal", tg.reciprocal, np.reciprocal,
      elements=floats(-2.0, 2.0, avoid=[0.0], margin=0.3))

binary("hypot", tg.hypot, np.hypot,
       elements=(floats(-2.0, 2.0, avoid=[0.0], margin=0.1), (-2.0, 2.0)))
# y away from 0: arctan2 jumps by 2π across the negative x axis
binary("arctan2", tg.arctan2, np.arctan2,
       elements=(floats(-2.0, 2.0, avoid=[0.0], margin=0.1), (-2.0, 2.0)))
binary("logaddexp", tg.logaddexp, np.logaddexp, elements=((-3.0, 3.0), (-3.0, 3.0)))
binary("logaddexp2", tg.logaddexp2, np.logaddexp2, elements=((-3.0, 3.0), (-3.0, 3.0)))

# x on the lattice 0.1·i + 0.05 and y in ±{0.5, 1, 2, 4}: x/y stays at least 0.0125 from an
# integer, so the modular ops are at least 0.05 in x from a jump.
MOD_X = LATTICE_X
MOD_Y = st.sampled_from([0.5, 1.0, 2.0, 4.0, -0.5, -1.0, -2.0, -4.0])
binary("remainder", tg.remainder, np.remainder, elements=(MOD_X, MOD_Y))
binary("mod_operator", lambda x, y: x % y, np.mod, elements=(MOD_X, MOD_Y), covers="remainder")
binary("fmod", tg.fmod, np.fmod, elements=(MOD_X, MOD_Y))
binary("floor_divide", tg.floor_divide, np.floor_divide, elements=(MOD_X, MOD_Y))
binary("floor_divide_operator", lambda x, y: x // y, np.floor_divide, elements=(MOD_X, MOD_Y),
       covers="floor_divide")

# LATTICE_X keeps 0.05 from the integers (floor, ceil, trunc) and the halves (rint)
unary("floor", tg.floor, np.floor, elements=LATTICE_X)
unary("ceil", tg.ceil, np.ceil, elements=LATTICE_X)
unary("trunc", tg.trunc, np.trunc, elements=LATTICE_X)
unary("rint", tg.rint, np.rint, elements=LATTICE_X)


@st.composite
def _round_cases(draw):
    """round jumps at (k + 1/2)·10**-decimals: values 0.1·i + 0.0123 stay at least 0.0027
    from those of decimals -1, 0, 1 and 2."""
    x = draw(arrays(SHAPES, elements=st.integers(-20, 20).map(lambda i: 0.1 * i + 0.0123)))
    return Case((x,), {"decimals": draw(st.sampled_from([0, 1, 2, -1]))})


spec("round", "round", tg.round, _round_cases(), lambda x, decimals: np.round(x, decimals))


@st.composite
def _nan_to_num_cases(draw):
    """Finite values (gradcheck perturbs them) with the replacements given or not."""
    params = {}
    for key, value in (("nan", 1.5), ("posinf", 100.0), ("neginf", -100.0)):
        if draw(st.booleans()):
            params[key] = value
    return Case((draw(arrays(SHAPES)),), params)


spec("nan_to_num", "nan_to_num", tg.nan_to_num, _nan_to_num_cases(), np.nan_to_num)

# ----------------------------------------------------------------------------------------
# SciPy's special functions (tensorgrad/ops/special.py, public as tensorgrad.special)
# ----------------------------------------------------------------------------------------

# gammaln and digamma also for negative non-integers, 0.2 from their poles
_GAMMA_DOMAIN = floats(-2.8, 4.0, avoid=[0.0, -1.0, -2.0], margin=0.2)
_WITH_ZEROS = st.one_of(st.just(0.0), st.floats(-2.0, 2.0))  # xlogy(0, y) = 0

unary("erf", tg.special.erf, scipy.special.erf, elements=(-2.5, 2.5))
unary("erfc", tg.special.erfc, scipy.special.erfc, elements=(-2.5, 2.5))
unary("gammaln", tg.special.gammaln, scipy.special.gammaln, elements=_GAMMA_DOMAIN)
unary("digamma", tg.special.digamma, scipy.special.digamma, elements=_GAMMA_DOMAIN)
unary("logit", tg.special.logit, scipy.special.logit, elements=(0.05, 0.95))
unary("expit", tg.special.expit, scipy.special.expit, elements=(-6.0, 6.0), covers="sigmoid")
binary("xlogy", tg.special.xlogy, scipy.special.xlogy, elements=(_WITH_ZEROS, (0.1, 3.0)))
binary("xlog1py", tg.special.xlog1py, scipy.special.xlog1py,
       elements=(_WITH_ZEROS, (-0.9, 3.0)))


@st.composite
def _polygamma_cases(draw):
    return Case((draw(st.integers(0, 3)), draw(arrays(SHAPES, elements=(0.3, 4.0)))))


spec("polygamma", "polygamma", tg.special.polygamma, _polygamma_cases(),
     scipy.special.polygamma, diff=(1,))

# ----------------------------------------------------------------------------------------
# Linear algebra and signal processing
# ----------------------------------------------------------------------------------------

spec("linear", "linear", tg.linear,
     st.tuples(st.integers(1, 3), st.integers(1, 3), st.sampled_from([(), (2,), (2, 1)])).flatmap(
         lambda d: cases(arrays(d[2] + (d[0],)), arrays((d[1], d[0])))),
     lambda x, w: np.matmul(x, w.T), fwd_rtol=1e-12, fwd_atol=1e-12)

spec("matmul", "matmul", tg.matmul,
     matmul_shapes(max_batch_dims=2, max_side=3).flatmap(
         lambda shapes: cases(arrays(shapes[0]), arrays(shapes[1]))),
     np.matmul, fwd_rtol=1e-12, fwd_atol=1e-12)


# -- products (tensorgrad/ops/products.py) -------------------------------------------------

LETTER_SIDES = st.integers(1, 3)


@st.composite
def _dot_cases(draw, kind="dot"):
    """Operands of every number of axes up to 3 (0-d included) for dot or inner: the summed
    axes agree (dot: a's last with b's second-to-last, or b's only axis; inner: the last)."""
    na, nb = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    sa = tuple(draw(LETTER_SIDES) for _ in range(na))
    sb = list(draw(LETTER_SIDES) for _ in range(nb))
    if na and nb:
        sb[-1 if kind == "inner" or nb == 1 else -2] = sa[-1]
    return Case((draw(arrays(sa)), draw(arrays(tuple(sb)))))


spec("dot", "dot", tg.dot, _dot_cases(), np.dot)
spec("inner", "inner", tg.inner, _dot_cases("inner"), np.inner)
spec("outer", "outer", tg.outer, cases(arrays(max_side=3), arrays(max_side=3)), np.outer)


@st.composite
def _tensordot_cases(draw):
    na, nb = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    sa = [draw(LETTER_SIDES) for _ in range(na)]
    sb = [draw(LETTER_SIDES) for _ in range(nb)]
    if draw(st.booleans()):  # axes=n: a's last n with b's first n
        n = draw(st.integers(0, min(na, nb)))
        sb[:n] = sa[na - n:]
        axes = n
    else:  # pairs of axes, in any order, negative or not
        k = draw(st.integers(0, min(na, nb)))
        ia = draw(st.permutations(range(na)))[:k]
        ib = draw(st.permutations(range(nb)))[:k]
        for i, j in zip(ia, ib):
            sb[j] = sa[i]
        axes = ([i - na if draw(st.booleans()) else i for i in ia], list(ib))
    return Case((draw(arrays(tuple(sa))), draw(arrays(tuple(sb)))), {"axes": axes})


spec("tensordot", "tensordot", tg.tensordot, _tensordot_cases(),
     lambda a, b, axes: np.tensordot(a, b, axes))

EINSUM_TABLE = [  # (subscripts, operand shapes): explicit, implicit, ellipsis, repeated labels
    ("ij,jk->ik", [(2, 3), (3, 2)]), ("ij,jk", [(2, 3), (3, 1)]), ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]), ("ij->", [(2, 3)]), ("ij->j", [(2, 3)]), ("ji", [(2, 3)]),
    ("i,i", [(3,), (3,)]), ("i,j->ij", [(2,), (3,)]), ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("...ij,...jk", [(2, 1, 2, 3), (2, 3, 2)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("iij->j", [(3, 3, 2)]), ("iji->j", [(2, 3, 2)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ii,ij->j", [(3, 3), (3, 2)]), ("i...->...", [(3, 2, 2)]), ("...", [(2, 3)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]), ("a,b,c->abc", [(2,), (3,), (2,)]), ("iii->i", [(2, 2, 2)]),
    ("ij,ji->", [(3, 3), (3, 3)]), ("Ab,bA", [(2, 3), (3, 2)]), ("...ii->...i", [(2, 3, 3)]),
    ("i,i,i->", [(3,), (3,), (3,)]), ("ijk->kji", [(2, 3, 1)]),
]


@st.composite
def _einsum_cases(draw):
    subscripts, shapes = draw(st.sampled_from(EINSUM_TABLE))
    return Case((subscripts, *(draw(arrays(s)) for s in shapes)))


spec("einsum", "einsum", tg.einsum, _einsum_cases(), np.einsum)


@st.composite
def _kron_cases(draw):
    return Case((draw(arrays(max_dims=3, max_side=2)), draw(arrays(max_dims=3, max_side=2))))


spec("kron", "kron", tg.kron, _kron_cases(), np.kron)


@st.composite
def _cross_cases(draw):
    """Vectors of 3 (or 2) components along any axis of a and b, the other axes broadcast;
    the result's vectors along any axis."""
    na, nb = draw(st.sampled_from([3, 3, 2])), draw(st.sampled_from([3, 3, 2]))
    batch = draw(broadcastable_shapes(2, max_dims=2, max_side=3))
    ia, ib = draw(st.integers(0, len(batch[0]))), draw(st.integers(0, len(batch[1])))
    sa, sb = list(batch[0]), list(batch[1])
    sa.insert(ia, na)
    sb.insert(ib, nb)
    out_ndim = max(len(batch[0]), len(batch[1])) + (0 if na == nb == 2 else 1)
    params = {"axisa": ia - len(sa) if draw(st.booleans()) else ia, "axisb": ib}
    if out_ndim:
        params["axisc"] = draw(st.integers(-out_ndim, out_ndim - 1))
    return Case((draw(arrays(tuple(sa))), draw(arrays(tuple(sb)))), params)


def _cross_reference(a, b, **axes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2 deprecates 2-vectors
        return np.cross(a, b, **axes)


spec("cross", "cross", tg.cross, _cross_cases(), _cross_reference)

# -- linear algebra (tensorgrad/ops/linalg.py, public as tensorgrad.linalg) -----------------
# Inputs from well-conditioned domains: diagonally dominant matrices (entries in ±0.5 plus
# ±2 on the diagonal: invertible, condition number below 5 for n <= 3), symmetric matrices
# whose eigenvalues lie 0.3 apart, matrices whose singular values lie 0.3 apart and 0.3 from
# 0. The functions checked of eigh and svd depend on the vectors through their squares
# (invariant under LAPACK's choice of signs); of qr, through R's diagonal made positive.

BATCH = st.sampled_from([(), (), (2,), (2, 1)])


@st.composite
def _dominant(draw, batch=None, n=None):
    batch = draw(BATCH) if batch is None else batch
    n = draw(st.integers(1, 3)) if n is None else n
    a = draw(arrays(batch + (n, n), elements=(-0.5, 0.5)))
    signs = np.array(draw(st.lists(st.sampled_from([-2.0, 2.0]), min_size=n, max_size=n)))
    return a + np.diag(signs)


def _gapped(values, gap=0.3):
    v = np.sort(np.abs(values) if values.ndim else values, axis=-1)
    return values.shape[-1] < 2 or bool(np.all(np.diff(v, axis=-1) > gap))


spec("inv", "inv", tg.linalg.inv, _dominant().map(lambda a: Case((a,))), np.linalg.inv,
     fwd_rtol=1e-11)


@st.composite
def _solve_cases(draw):
    batch = draw(BATCH)
    n = draw(st.integers(1, 3))
    a = draw(_dominant(batch, n))
    if draw(st.booleans()):
        b = draw(arrays((n,)))
    else:
        b = draw(arrays(draw(st.sampled_from([batch, (), (1,)])) + (n, draw(st.integers(1, 2)))))
    return Case((a, b))


spec("solve", "solve", tg.linalg.solve, _solve_cases(), np.linalg.solve, fwd_rtol=1e-11)
spec("det", "det", tg.linalg.det, _dominant().map(lambda a: Case((a,))), np.linalg.det,
     fwd_rtol=1e-11)
spec("slogdet", "slogdet", lambda a: tg.linalg.slogdet(a).logabsdet,
     _dominant().map(lambda a: Case((a,))), lambda a: np.linalg.slogdet(a).logabsdet,
     fwd_atol=1e-12)


@st.composite
def _matrix_power_cases(draw):
    return Case((draw(_dominant()) / 2, draw(st.integers(-3, 4))))


spec("matrix_power", "matrix_power", tg.linalg.matrix_power, _matrix_power_cases(),
     np.linalg.matrix_power, diff=(0,), fwd_rtol=1e-11)


@st.composite
def _spd_cases(draw):
    """A symmetric positive-definite matrix B Bᵀ + I (LAPACK reads one triangle of it)."""
    batch, n = draw(BATCH), draw(st.integers(1, 3))
    b = draw(arrays(batch + (n, n), elements=(-1.0, 1.0)))
    return Case((b @ np.swapaxes(b, -1, -2) + np.eye(n),), {"upper": draw(st.booleans())})


spec("cholesky", "cholesky", tg.linalg.cholesky, _spd_cases(),
     lambda a, upper: np.linalg.cholesky(a, upper=upper), fwd_rtol=1e-11)


def _flat(batch, *parts):
    """The parts flattened after their ``batch`` axes and concatenated: one output."""
    xp = tg if isinstance(parts[0], tg.Tensor) else np
    return xp.concatenate([xp.reshape(p, batch + (-1,)) for p in parts], axis=-1)


@st.composite
def _eigh_cases(draw):
    """Any square matrix (LAPACK reads one triangle of it) whose symmetric matrix has
    eigenvalues 0.3 apart."""
    uplo = draw(st.sampled_from(["L", "U"]))
    a = draw(arrays(draw(BATCH) + (draw(st.integers(1, 3)),) * 2, elements=(-2.0, 2.0))
             .filter(lambda a: _gapped(np.linalg.eigvalsh(a, UPLO=uplo))))
    return Case((a,), {"UPLO": uplo})


def _eigh_invariants(a, UPLO, xp):  # noqa: N803
    w, v = xp.linalg.eigh(a, UPLO=UPLO)
    return _flat(a.shape[:-2], w, v * v)


spec("eigh", "eigh", lambda a, UPLO: _eigh_invariants(a, UPLO, tg), _eigh_cases(),
     lambda a, UPLO: _eigh_invariants(a, UPLO, np), fwd_rtol=1e-10, fwd_atol=1e-12)


@st.composite
def _svd_cases(draw):
    """(..., m, n) with singular values 0.3 apart and from 0; full_matrices=True only for
    square matrices (the completion's vectors have no gradient)."""
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    a = draw(arrays(draw(BATCH) + (m, n), elements=(-2.0, 2.0)).filter(
        lambda a: _gapped(np.concatenate([np.linalg.svd(a, compute_uv=False),
                                          np.zeros(a.shape[:-2] + (1,))], axis=-1))))
    return Case((a,), {"full_matrices": m == n and draw(st.booleans()),
                       "compute_uv": draw(st.sampled_from([True, True, False]))})


def _svd_invariants(a, full_matrices, compute_uv, xp):
    if not compute_uv:
        return xp.linalg.svd(a, compute_uv=False)
    u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
    return _flat(a.shape[:-2], s, u * u, vh * vh, u[..., :, :1] * vh[..., :1, :])


spec("svd", "svd", lambda a, **p: _svd_invariants(a, xp=tg, **p), _svd_cases(),
     lambda a, **p: _svd_invariants(a, xp=np, **p), fwd_rtol=1e-10, fwd_atol=1e-12)


@st.composite
def _qr_cases(draw):
    """(..., m, n) whose first min(m, n) columns have singular values 0.3 from 0 (R's
    leading block invertible)."""
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    a = draw(arrays(draw(BATCH) + (m, n), elements=(-2.0, 2.0)).filter(
        lambda a: np.all(np.linalg.svd(a[..., :min(m, n)], compute_uv=False) > 0.3)))
    mode = draw(st.sampled_from(["reduced", "r"] + (["complete"] if m <= n else [])))
    return Case((a,), {"mode": mode})


def _qr_positive(a, mode, xp):
    """Q and R with R's diagonal made positive (unique and smooth for a full-rank input)."""
    if mode == "r":
        r = xp.linalg.qr(a, mode="r")
        k = min(a.shape[-2:])
        signs = xp.sign(r[..., np.arange(k), np.arange(k)])
        return r * signs[..., :, None]
    q, r = xp.linalg.qr(a, mode=mode)
    k = min(a.shape[-2:])
    signs = xp.sign(r[..., np.arange(k), np.arange(k)])
    return _flat(a.shape[:-2], q * signs[..., None, :], r * signs[..., :, None])


spec("qr", "qr", lambda a, mode: _qr_positive(a, mode, tg), _qr_cases(),
     lambda a, mode: _qr_positive(a, mode, np), fwd_rtol=1e-10, fwd_atol=1e-12)


@st.composite
def _generic(draw, shape):
    """An array whose magnitudes are distinct powers of two (random signs): no two sums of
    disjoint sets of |x| are equal, so no max, min or row/column-sum norm has a tie, and no
    element is 0."""
    size = int(np.prod(shape, dtype=int))
    exponents = draw(st.permutations(range(-6, 6)))[:size]  # 12 at most
    signs = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=size, max_size=size))
    return (np.array(signs) * 2.0 ** np.array(exponents, dtype=float)).reshape(shape) / 8


GENERIC_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, max_side=3).filter(
    lambda s: np.prod(s) <= 12)
VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 0, 3, 0.5, -1.5]


@st.composite
def _norm_vector_cases(draw):
    shape = draw(GENERIC_SHAPES)
    x = draw(_generic(shape))
    axis = draw(st.integers(-len(shape), len(shape) - 1)) if len(shape) > 1 else draw(
        st.sampled_from([None, 0, -1]))
    return Case((x,), {"ord": draw(st.sampled_from(VECTOR_ORDS)), "axis": axis,
                       "keepdims": draw(st.booleans())})


def _singular_values_apart(x, axis):
    s = np.linalg.svd(np.moveaxis(x, axis or (0, 1), (-2, -1)), compute_uv=False)
    return _gapped(np.concatenate([s, np.zeros(s.shape[:-1] + (1,))], axis=-1))


@st.composite
def _norm_matrix_cases(draw, ords, gapped=False):
    """Matrix norms over any two axes (or axis None for a 2-D input). The norms of sums of
    |x| on arrays without ties (:func:`_generic`); the 2, -2 and nuclear norms on arrays
    whose singular values lie apart and from 0."""
    shape = draw(GENERIC_SHAPES.filter(lambda s: len(s) >= 2))
    axis = tuple(draw(st.permutations(range(len(shape))))[:2])
    if len(shape) == 2 and draw(st.booleans()):
        axis = None
    if gapped:
        x = draw(arrays(shape).filter(lambda x: _singular_values_apart(x, axis)))
    else:
        x = draw(_generic(shape))
    return Case((x,), {"ord": draw(st.sampled_from(ords)), "axis": axis,
                       "keepdims": draw(st.booleans())})


spec("norm_vector", "norm", tg.linalg.norm, _norm_vector_cases(), np.linalg.norm,
     fwd_rtol=1e-11)
spec("norm_matrix", "norm", tg.linalg.norm,
     _norm_matrix_cases([None, "fro", 1, -1, np.inf, -np.inf]), np.linalg.norm,
     fwd_rtol=1e-11)
spec("norm_matrix_svd", "norm", tg.linalg.norm,
     _norm_matrix_cases(["nuc", 2, -2], gapped=True), np.linalg.norm, fwd_rtol=1e-10)
spec("norm_all", "norm", tg.linalg.norm,
     cases(arrays(SHAPES, elements=floats(-2.0, 2.0, avoid=[0.0], margin=0.1)),
           keepdims=st.booleans()), np.linalg.norm, fwd_rtol=1e-11)

@st.composite
def _signal_cases(draw):
    mode = draw(st.sampled_from([None, "full", "valid", "same"]))
    s1 = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    if mode == "valid":
        if draw(st.booleans()):  # the second input is the larger (SciPy swaps them)
            s2 = (s1[0] + draw(st.integers(0, 2)), s1[1] + draw(st.integers(0, 2)))
        else:
            s2 = (draw(st.integers(1, s1[0])), draw(st.integers(1, s1[1])))
    else:
        s2 = draw(st.tuples(st.integers(1, 5), st.integers(1, 5)))
    params = {} if mode is None else {"mode": mode}
    return Case((draw(arrays(s1)), draw(arrays(s2))), params)


spec("correlate2d", "correlate2d", tg.correlate2d, _signal_cases(),
     lambda a, b, mode="full": scipy.signal.correlate2d(a, b, mode=mode))
spec("convolve2d", "convolve2d", tg.convolve2d, _signal_cases(),
     lambda a, b, mode="full": scipy.signal.convolve2d(a, b, mode=mode))

# ----------------------------------------------------------------------------------------
# Reductions
# ----------------------------------------------------------------------------------------

spec("sum", "sum", tg.sum, reduction_cases(), np.sum)
spec("mean", "mean", tg.mean, reduction_cases(),
     lambda x, axis=None, keepdims=False:  # NumPy's mean refuses axis 0 on a 0-d input
     np.mean(x, axis=axis if x.ndim else None, keepdims=keepdims))
spec("max", "max", tg.max, reduction_cases(DISTINCT, unique=True), np.max)
spec("min", "min", tg.min, reduction_cases(DISTINCT, unique=True), np.min)
def _logsumexp_reference(x, axis=None, keepdims=False):
    """SciPy's logsumexp, in the shape NumPy's reductions give (SciPy returns (1,) rather
    than () for a 0-d input with keepdims)."""
    out = scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)
    return np.reshape(out, np.shape(np.sum(x, axis=axis, keepdims=keepdims)))


spec("logsumexp", "logsumexp", tg.logsumexp, reduction_cases((-3.0, 3.0)),
     _logsumexp_reference)


def _reduced_count(x, axis):
    """How many values each result of a reduction over ``axis`` reduces."""
    return x.size // max(np.sum(x, axis=axis if x.ndim else None, keepdims=True).size, 1)


@st.composite
def _spread_cases(draw, ddofs=(0, 1)):
    """var/std cases: distinct values (no zero deviation) and at least 2 values reduced."""
    case = draw(reduction_cases(DISTINCT, unique=True).filter(
        lambda c: _reduced_count(c.args[0], c.params["axis"]) >= 2))
    return Case(case.args, {**case.params, "ddof": draw(st.sampled_from(ddofs))})


def _spread_reference(f):
    return lambda x, axis=None, keepdims=False, ddof=0: f(
        x, axis=axis if x.ndim else None, keepdims=keepdims, ddof=ddof)


spec("var", "sum", tg.var, _spread_cases(), _spread_reference(np.var))
spec("std", "sqrt", tg.std, _spread_cases(), _spread_reference(np.std))


def _arg_reference(f):
    """NumPy's argmax/argmin; a 0-d input's axis 0 or -1 means its only element."""
    return lambda x, axis=None, keepdims=False: f(x, axis=axis if x.ndim else None,
                                                  keepdims=keepdims)


for _name, _f in [("argmax", np.argmax), ("argmin", np.argmin)]:
    spec(_name, _name, getattr(tg, _name), reduction_cases(DISTINCT, allow_tuple=False),
         _arg_reference(_f), differentiable=False, keeps_dtype=False)

# ----------------------------------------------------------------------------------------
# Shape ops
# ----------------------------------------------------------------------------------------


@st.composite
def _reshape_cases(draw):
    x = draw(arrays(SHAPES))
    shape, n = x.shape, x.size
    targets = [(n,), (-1,), shape[::-1], (1,) + shape, shape + (1,), ()]
    if n == 1:
        targets.append((1, 1, 1))
    if len(shape) >= 2:
        targets += [(shape[0], -1), (-1, shape[-1])]
    target = draw(st.sampled_from([t for t in targets if t == () and n == 1 or t != ()]))
    return Case((x,), {"shape": target})


spec("reshape", "reshape", tg.reshape, _reshape_cases(),
     lambda x, shape: np.reshape(x, shape))


@st.composite
def _transpose_cases(draw):
    x = draw(arrays(SHAPES))
    axes = draw(st.one_of(st.none(), st.permutations(range(x.ndim)).map(tuple)))
    if axes is not None and axes and draw(st.booleans()):
        axes = tuple(a - x.ndim for a in axes)  # negative axes
    return Case((x,), {"axes": axes})


spec("transpose", "transpose", tg.transpose, _transpose_cases(),
     lambda x, axes: np.transpose(x, axes))


@st.composite
def _squeeze_cases(draw):
    x = draw(arrays(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=2)))
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    if not ones or draw(st.booleans()):
        return Case((x,), {} if draw(st.booleans()) else {"axis": None})
    axes = draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
    axes = [a - x.ndim if draw(st.booleans()) else a for a in axes]
    return Case((x,), {"axis": axes[0] if len(axes) == 1 else tuple(axes)})


spec("squeeze", "reshape", tg.squeeze, _squeeze_cases(), np.squeeze)


@st.composite
def _flatten_cases(draw):
    x = draw(arrays(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3)))
    n = max(x.ndim, 1)
    start = draw(st.integers(0, n - 1))
    end = draw(st.integers(start, n - 1))
    return Case((x,), {"start_dim": start - n if draw(st.booleans()) else start,
                       "end_dim": end - n if draw(st.booleans()) else end})


def _flatten_reference(x, start_dim=0, end_dim=-1):
    """The shape PyTorch's flatten gives, by its definition."""
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])


spec("flatten", "reshape", tg.flatten, _flatten_cases(), _flatten_reference)


@st.composite
def _broadcast_pair(draw):
    """(source shape, target shape) with the source broadcastable to the target."""
    target = draw(SHAPES)
    lead = draw(st.integers(0, len(target)))
    source = tuple(1 if draw(st.booleans()) else n for n in target[lead:])
    return source, target


spec("broadcast_to", "broadcast_to", tg.broadcast_to,
     _broadcast_pair().flatmap(lambda p: cases(arrays(p[0]), shape=p[1])),
     lambda x, shape: np.broadcast_to(x, shape))


def _sum_to_shape_reference(x, shape):
    out = x
    while out.ndim > len(shape):
        out = out.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1:
            out = out.sum(axis=i, keepdims=True)
    return out


spec("sum_to_shape", "sum_to_shape", tg.sum_to_shape,
     _broadcast_pair().flatmap(lambda p: cases(arrays(p[1]), shape=p[0])),
     _sum_to_shape_reference)


@st.composite
def _basic_index(draw, shape):
    return draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))


@st.composite
def _integer_index(draw, shape):
    """Integer-array indices (repeats included), alone, on every axis or mixed with a slice."""
    kind = draw(st.sampled_from(["first_axis", "every_axis", "after_slice"]))
    if kind == "every_axis":
        return draw(hnp.integer_array_indices(
            shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)))
    axis_len = shape[0] if kind == "first_axis" else shape[-1]
    idx = np.array(draw(st.lists(st.integers(-axis_len, axis_len - 1), min_size=1,
                                 max_size=5)), dtype=np.intp)
    if kind == "first_axis":
        return idx
    return (Ellipsis, idx) if draw(st.booleans()) else (slice(None),) * (len(shape) - 1) + (idx,)


@st.composite
def _bool_index(draw, shape):
    """A boolean mask of the whole shape or of the leading axis."""
    if draw(st.booleans()):
        return draw(hnp.arrays(np.bool_, shape))
    return (draw(hnp.arrays(np.bool_, shape[:1])),)


def _getitem_cases(index_strategy):
    return arrays(SHAPES_1D_UP).flatmap(
        lambda x: index_strategy(x.shape).map(lambda i: Case((x,), {"index": i})))


spec("getitem_basic", "getitem", tg.getitem, _getitem_cases(_basic_index),
     lambda x, index: x[index])
spec("getitem_integer", "getitem", tg.getitem, _getitem_cases(_integer_index),
     lambda x, index: x[index])
spec("getitem_bool", "getitem", tg.getitem, _getitem_cases(_bool_index),
     lambda x, index: x[index])


def _index_add_reference(g, shape, index):
    """Zeros of ``shape`` with g added at ``index``: the transpose of gathering, computed by
    counting which flat position each element of ``x[index]`` came from."""
    size = int(np.prod(shape))
    positions = np.arange(size).reshape(shape)[index]
    out = np.bincount(np.ravel(positions), weights=np.ravel(g), minlength=size)
    return out.reshape(shape).astype(g.dtype)


@st.composite
def _index_add_cases(draw):
    shape = draw(SHAPES_1D_UP)
    index = draw(st.one_of(_basic_index(shape), _integer_index(shape)))
    g = draw(arrays(np.empty(shape)[index].shape))
    return Case((g,), {"shape": shape, "index": index})


spec("index_add", "index_add", tg.OPS["index_add"], _index_add_cases(), _index_add_reference)


@st.composite
def _concatenate_cases(draw):
    base = draw(SHAPES_1D_UP)
    axis = draw(st.integers(-len(base), len(base) - 1))
    count = draw(st.integers(1, 3))
    xs = []
    for _ in range(count):
        shape = list(base)
        shape[axis] = draw(st.integers(1, 3))
        xs.append(draw(arrays(tuple(shape))))
    return Case(xs, {"axis": axis})


spec("concatenate", "concatenate", lambda *xs, axis: tg.concatenate(xs, axis=axis),
     _concatenate_cases(), lambda *xs, axis: np.concatenate(xs, axis=axis))


@st.composite
def _repeat_cases(draw):
    x = draw(arrays(SHAPES))
    axis = draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1))) if x.ndim else None
    n = x.size if axis is None else x.shape[axis]
    repeats = draw(st.one_of(st.integers(0, 3),
                             st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    return Case((x,), {"repeats": repeats, "axis": axis})


spec("repeat", "getitem", tg.repeat, _repeat_cases(), np.repeat)


@st.composite
def _tile_cases(draw):
    x = draw(arrays(SHAPES))
    reps = draw(st.one_of(st.integers(1, 3), st.lists(st.integers(1, 2), max_size=4).map(tuple)))
    return Case((x,), {"reps": reps})


spec("tile", "broadcast_to", tg.tile, _tile_cases(), np.tile)
spec("cat", "concatenate", lambda *xs, axis: tg.cat(xs, dim=axis),
     _concatenate_cases(), lambda *xs, axis: np.concatenate(xs, axis=axis))


@st.composite
def _stack_cases(draw):
    shape = draw(SHAPES)
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    xs = [draw(arrays(shape)) for _ in range(draw(st.integers(1, 3)))]
    return Case(xs, {"axis": axis})


spec("stack", "stack", lambda *xs, axis: tg.stack(xs, axis=axis), _stack_cases(),
     lambda *xs, axis: np.stack(xs, axis=axis))

# ----------------------------------------------------------------------------------------
# Losses (PyTorch's formulas) and composites of tensorgrad.functional
# ----------------------------------------------------------------------------------------


def _bce_reference(p, t):
    """PyTorch's binary_cross_entropy, reduction="none": each log clamped at -100."""
    with np.errstate(divide="ignore"):
        return -(t * np.maximum(np.log(p), -100.0) + (1 - t) * np.maximum(np.log(1 - p), -100.0))


def _bce_logits_reference(z, t):
    """-(t log σ(z) + (1 - t) log(1 - σ(z))), with log σ from SciPy's log_expit."""
    return -(t * scipy.special.log_expit(z) + (1 - t) * scipy.special.log_expit(-z))


def _reduce(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": np.asarray}[reduction](loss)


def _same_shape_pair(first, second, reductions=False):
    """Two arrays of one drawn shape, and a reduction when the op takes one."""
    def make(shape):
        params = {"reduction": st.sampled_from(["mean", "sum", "none"])} if reductions else {}
        return cases(arrays(shape, elements=first), arrays(shape, elements=second), **params)

    return SHAPES.flatmap(make)


PROBABILITIES = (0.05, 0.95)
TARGETS = (0.0, 1.0)

spec("binary_cross_entropy_primitive", "binary_cross_entropy",
     tg.OPS["binary_cross_entropy"].bind, _same_shape_pair(PROBABILITIES, TARGETS),
     _bce_reference)
spec("binary_cross_entropy_with_logits_primitive", "binary_cross_entropy_with_logits",
     tg.OPS["binary_cross_entropy_with_logits"].bind,
     _same_shape_pair((-5.0, 5.0), TARGETS), _bce_logits_reference)


def _weight_shapes(shape):
    """Shapes that broadcast to ``shape`` without changing it: (), the last axis, the whole."""
    return st.sampled_from([(), shape[-1:], shape])


def _weighted_pair(first, second, pos_weight=False):
    """Two arrays of one drawn shape, a reduction, and weights (or None) that broadcast."""
    def make(shape):
        weight = st.one_of(st.none(), _weight_shapes(shape).flatmap(
            lambda s: arrays(s, elements=(0.1, 2.0))))
        params = {"reduction": st.sampled_from(["mean", "sum", "none"]), "weight": weight}
        if pos_weight:
            params["pos_weight"] = st.one_of(st.none(), _weight_shapes(shape).flatmap(
                lambda s: arrays(s, elements=(0.1, 3.0))))
        return cases(arrays(shape, elements=first), arrays(shape, elements=second), **params)

    return SHAPES.flatmap(make)


def _weighted(loss, weight):
    return loss if weight is None else loss * weight


spec("binary_cross_entropy", "binary_cross_entropy", tg.binary_cross_entropy,
     _weighted_pair(PROBABILITIES, TARGETS),
     lambda p, t, reduction, weight: _reduce(_weighted(_bce_reference(p, t), weight), reduction))


def _bce_logits_pos_weight_reference(z, t, reduction, weight, pos_weight):
    """-(pw·t·log σ(z) + (1 - t)·log(1 - σ(z)))·w, the logs from SciPy's log_expit."""
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * t * scipy.special.log_expit(z) + (1 - t) * scipy.special.log_expit(-z))
    return _reduce(_weighted(loss, weight), reduction)


spec("binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits",
     tg.binary_cross_entropy_with_logits, _weighted_pair((-5.0, 5.0), TARGETS, pos_weight=True),
     _bce_logits_pos_weight_reference)
spec("mse_loss", "mse_loss", tg.mse_loss,
     _same_shape_pair((-2.0, 2.0), (-2.0, 2.0), reductions=True),
     lambda x, t, reduction: _reduce((x - t) ** 2, reduction))
# input and target on two lattices 0.05 apart: |input - target| never at the kinks (0, beta)
spec("l1_loss", "l1_loss", tg.l1_loss, _same_shape_pair(LATTICE_X, LATTICE_Y, reductions=True),
     lambda x, t, reduction: _reduce(np.abs(x - t), reduction))


def _smooth_l1_reference(x, t, reduction, beta):
    d = np.abs(x - t)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(loss, reduction)


spec("smooth_l1_loss", "smooth_l1_loss", tg.smooth_l1_loss,
     SHAPES.flatmap(lambda s: cases(arrays(s, elements=LATTICE_X), arrays(s, elements=LATTICE_Y),
                                    reduction=st.sampled_from(["mean", "sum", "none"]),
                                    beta=st.sampled_from([0.0, 0.5, 1.0, 2.0]))),
     _smooth_l1_reference)
spec("huber_loss", "huber_loss", tg.huber_loss,
     SHAPES.flatmap(lambda s: cases(arrays(s, elements=LATTICE_X), arrays(s, elements=LATTICE_Y),
                                    reduction=st.sampled_from(["mean", "sum", "none"]),
                                    delta=st.sampled_from([0.5, 1.0, 2.0]))),
     lambda x, t, reduction, delta: delta * _smooth_l1_reference(x, t, reduction, delta))


def _kl_div_reference(x, t, reduction, log_target):
    loss = np.exp(t) * (t - x) if log_target else scipy.special.xlogy(t, t) - t * x
    if reduction == "batchmean":
        return np.sum(loss) / (x.shape[0] if x.ndim else 1)
    return _reduce(loss, reduction)


@st.composite
def _kl_div_cases(draw):
    shape = draw(SHAPES)
    log_target = draw(st.booleans())
    # probabilities away from 0, where the target's derivative log(t) + 1 - x is singular
    target = draw(arrays(shape, elements=(-2.0, 0.5) if log_target else (0.05, 1.0)))
    return Case((draw(arrays(shape, elements=(-3.0, 0.0))), target),
                {"reduction": draw(st.sampled_from(["mean", "batchmean", "sum", "none"])),
                 "log_target": log_target})


spec("kl_div", "kl_div", tg.kl_div, _kl_div_cases(), _kl_div_reference)


@st.composite
def _class_index_cases(draw, smoothing=True):
    """Logits (C,), (N, C) or (N, C, d1[, d2]) and class indices, some ignored (never all,
    whose mean is NaN), with PyTorch's options."""
    c = draw(st.integers(1, 4))
    layout = draw(st.sampled_from(["unbatched", "2d", "2d", "nd"]))
    if layout == "unbatched":
        shape, t_shape = (c,), ()
    else:
        n = draw(st.integers(1, 3))
        extra = () if layout == "2d" else tuple(draw(st.lists(st.integers(1, 2), min_size=1,
                                                              max_size=2)))
        shape, t_shape = (n, c) + extra, (n,) + extra
    ignore_index = draw(st.sampled_from([-100, -100, 0]))
    count = int(np.prod(t_shape))
    target = np.array(draw(st.lists(st.integers(0, c - 1), min_size=count, max_size=count)),
                      dtype=np.int64).reshape(t_shape)
    if count and draw(st.booleans()):  # ignore some targets, keeping the first
        drop = np.array(draw(st.lists(st.booleans(), min_size=count, max_size=count)))
        drop.reshape(-1)[0] = False
        target = np.where(drop.reshape(t_shape), ignore_index, target).astype(np.int64)
    if ignore_index == 0 and count and (target == 0).all():
        ignore_index = -100
    params = {"reduction": draw(st.sampled_from(["mean", "sum", "none"])),
              "ignore_index": ignore_index,
              "weight": draw(st.one_of(st.none(), arrays((c,), elements=(0.1, 2.0))))}
    if smoothing:
        params["label_smoothing"] = draw(st.sampled_from([0.0, 0.0, 0.1, 1.0]))
    return Case((draw(arrays(shape, elements=(-4.0, 4.0))), target), params)


def _nll_reference(logp, target, reduction, ignore_index, weight, label_smoothing=0.0):
    """PyTorch's nll_loss (and cross_entropy's label smoothing) on log-probabilities, the
    class axis moved last: -w[t]·logp[..., t], 0 where ignored, the mean over Σ w[t]."""
    axis = 0 if logp.ndim == 1 else 1
    lp = np.moveaxis(logp, axis, -1)
    c = lp.shape[-1]
    w = np.ones(c) if weight is None else weight
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    picked = np.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
    wt = np.where(valid, w[safe], 0.0)
    loss = -wt * picked
    if label_smoothing:
        smooth = np.where(valid, -(lp * w).sum(axis=-1), 0.0)
        loss = (1 - label_smoothing) * loss + label_smoothing / c * smooth
    loss = loss.astype(logp.dtype)
    return np.sum(loss) / np.sum(wt) if reduction == "mean" else _reduce(loss, reduction)


spec("cross_entropy", "cross_entropy", tg.cross_entropy, _class_index_cases(),
     lambda x, t, **p: _nll_reference(
         scipy.special.log_softmax(x, axis=0 if x.ndim == 1 else 1), t, **p), diff=(0,))
spec("nll_loss", "nll_loss", tg.nll_loss, _class_index_cases(smoothing=False), _nll_reference,
     diff=(0,))


@st.composite
def _class_probability_cases(draw):
    c = draw(st.integers(1, 4))
    shape = draw(st.sampled_from([(c,), (2, c), (1, c, 2), (2, c, 1, 2)]))
    axis = 0 if len(shape) == 1 else 1
    p = draw(arrays(shape, elements=(0.05, 1.0)))
    p = p / p.sum(axis=axis, keepdims=True)
    return Case((draw(arrays(shape, elements=(-4.0, 4.0))), p),
                {"reduction": draw(st.sampled_from(["mean", "sum", "none"])),
                 "weight": draw(st.one_of(st.none(), arrays((c,), elements=(0.1, 2.0)))),
                 "label_smoothing": draw(st.sampled_from([0.0, 0.2]))})


def _cross_entropy_probability_reference(x, p, reduction, weight, label_smoothing):
    """-Σ_c w[c]·p'[c]·log_softmax(x)[c], p' = (1 - ε)p + ε/C; the mean over the samples."""
    axis = 0 if x.ndim == 1 else 1
    c = x.shape[axis]
    p = p * (1 - label_smoothing) + label_smoothing / c
    w = 1.0 if weight is None else (weight if x.ndim == 1 else
                                    weight.reshape((-1,) + (1,) * (x.ndim - 2)))
    loss = -np.sum(scipy.special.log_softmax(x, axis=axis) * p * w, axis=axis)
    return np.sum(loss) / (x.size // c) if reduction == "mean" else _reduce(loss, reduction)


spec("cross_entropy_probabilities", "cross_entropy", tg.cross_entropy,
     _class_probability_cases(), _cross_entropy_probability_reference)


def _softmax_cases(elements=(-4.0, 4.0)):
    return arrays(SHAPES_1D_UP, elements=elements).flatmap(
        lambda x: st.integers(-x.ndim, x.ndim - 1).map(lambda a: Case((x,), {"axis": a})))


spec("softmax", "softmax", tg.softmax, _softmax_cases(), scipy.special.softmax)
spec("log_softmax", "log_softmax", tg.log_softmax, _softmax_cases(), scipy.special.log_softmax)
# dtype=: computed in float64 whatever the input's dtype (so float32 in gives float64 out)
spec("softmax_dtype", "softmax", lambda x, axis: tg.softmax(x, axis, dtype=np.float64),
     _softmax_cases(), lambda x, axis: scipy.special.softmax(x.astype(np.float64), axis),
     keeps_dtype=False)
spec("log_softmax_dtype", "log_softmax",
     lambda x, axis: tg.log_softmax(x, axis, dtype=np.float64), _softmax_cases(),
     lambda x, axis: scipy.special.log_softmax(x.astype(np.float64), axis), keeps_dtype=False)

# ----------------------------------------------------------------------------------------
# Convolution layers and pooling (tensorgrad/ops/conv.py, pool.py), PyTorch's NCHW semantics
# ----------------------------------------------------------------------------------------
# "conv2d", "conv_transpose2d", "avg_pool2d" and "max_pool2d" are called with their public
# (PyTorch) signatures, which their registered ops declare. "conv2d_weight_grad",
# "avg_pool2d_adjoint", "max_pool2d_gather" and "max_pool2d_scatter" (the adjoints used by the
# VJPs) take canonical arguments.


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def _taps(xp, o_count, groups, kernel_size, stride, dilation, out_size):
    """``(o, a, q, window)`` for every output channel o and kernel tap (a, q), the window
    being ``xp[:, channels of o's group, s·i + d·a, s·j + d·q]`` over the outputs (i, j)."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel_size, stride, dilation, out_size
    cg, og = xp.shape[1] // groups, o_count // groups
    for o in range(o_count):
        g = o // og
        for a in range(kh):
            for q in range(kw):
                yield o, a, q, xp[:, g * cg:(g + 1) * cg, dh * a:dh * a + sh * (ho - 1) + 1:sh,
                                  dw * q:dw * q + sw * (wo - 1) + 1:sw]


def _conv2d_reference(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """A plain loop over kernel taps and output channels: y[n, o, i, j] = b[o] +
    Σ_{c,a,q} xp[n, g·Cg + c, s·i + d·a, s·j + d·q] w[o, c, a, q]."""
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    kh, kw = w.shape[2:]
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    else:
        ph, pw = _pair(padding)
        pads = ((ph, ph), (pw, pw))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    n, _, hp, wp = xp.shape
    o_count = w.shape[0]
    ho, wo = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o_count, ho, wo), dtype=np.result_type(x, w))
    for o, a, q, window in _taps(xp, o_count, groups, (kh, kw), (sh, sw), (dh, dw), (ho, wo)):
        y[:, o] += np.einsum("nchw,c->nhw", window, w[o, :, a, q])
    if b is not None:
        y += b[None, :, None, None]
    return y[0] if unbatched else y


def _conv_transpose2d_reference(x, w, b=None, stride=1, padding=0, output_padding=0,
                                dilation=1, groups=1):
    """A plain scatter loop: x[n, c, i, j]·w[c, o, a, q] added at row s·i + d·a - p and
    column s·j + d·q - p of output channel g·Og + o."""
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    (ph, pw), (oph, opw) = _pair(padding), _pair(output_padding)
    n, c_in, h, wd = x.shape
    og, kh, kw = w.shape[1:]
    cg = c_in // groups
    full = np.zeros((n, og * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (wd - 1) * sw + dw * (kw - 1) + 1 + opw), dtype=np.result_type(x, w))
    for g in range(groups):
        xs = x[:, g * cg:(g + 1) * cg]
        for a in range(kh):
            for q in range(kw):
                full[:, g * og:(g + 1) * og, dh * a:dh * a + sh * (h - 1) + 1:sh,
                     dw * q:dw * q + sw * (wd - 1) + 1:sw] += np.einsum(
                    "nchw,co->nohw", xs, w[g * cg:(g + 1) * cg, :, a, q])
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    y = full[:, :, ph:ph + ho, pw:pw + wo]
    if b is not None:
        y = y + b[None, :, None, None]
    return y[0] if unbatched else y


def _conv2d_weight_grad_reference(x, y, kernel_size, stride, padding, dilation, groups):
    """dw[o, c, a, q] = Σ_{n,i,j} y[n, o, i, j] xp[n, g·Cg + c, s·i + d·a, s·j + d·q]."""
    top, bottom, left, right = padding
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    o_count = y.shape[1]
    out = np.zeros((o_count, x.shape[1] // groups) + tuple(kernel_size),
                   dtype=np.result_type(x, y))
    for o, a, q, window in _taps(xp, o_count, groups, kernel_size, stride, dilation,
                                 y.shape[2:]):
        out[o, :, a, q] = np.einsum("nchw,nhw->c", window, y[:, o])
    return out


def _pooled_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape, as its C++ writes it."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_reference(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                    count_include_pad=True, divisor_override=None, kind="max"):
    """PyTorch's CPU pooling loops: window (i, j) starts at (s0·i - p0, s1·j - p1); max over
    its cells s·i - p + d·a inside the input; avg: the sum over its cells inside the input
    divided by divisor_override, or the window's extent clipped to the padded input
    (count_include_pad) or to the input."""
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel_size), _pair(padding), _pair(dilation)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    h, w = x.shape[2:]
    ho = _pooled_size(h, kh, sh, ph, dh, ceil_mode)
    wo = _pooled_size(w, kw, sw, pw, dw, ceil_mode)
    y = np.empty(x.shape[:2] + (ho, wo), dtype=x.dtype if kind == "max" else np.float64)
    for i in range(ho):
        for j in range(wo):
            r0, c0 = sh * i - ph, sw * j - pw
            if kind == "max":
                rows = [r0 + dh * a for a in range(kh) if 0 <= r0 + dh * a < h]
                cols = [c0 + dw * b for b in range(kw) if 0 <= c0 + dw * b < w]
                y[:, :, i, j] = x[:, :, rows][:, :, :, cols].max(axis=(2, 3))
                continue
            r1, c1 = min(r0 + kh, h + ph), min(c0 + kw, w + pw)
            pool = (r1 - r0) * (c1 - c0)
            r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, h), min(c1, w)
            total = x[:, :, r0:r1, c0:c1].sum(axis=(2, 3))
            divisor = (divisor_override if divisor_override is not None
                       else pool if count_include_pad else (r1 - r0) * (c1 - c0))
            y[:, :, i, j] = total / divisor
    if kind == "avg" and x.dtype.kind == "f":
        y = y.astype(x.dtype)
    return y[0] if unbatched else y


def _avg_pool2d_adjoint_reference(g, input_size, kernel_size, stride, padding, ceil_mode=False,
                                  count_include_pad=True, divisor_override=None):
    """g[n, c, i, j] / D[i, j] added over each window of the padded input, then cropped; D
    as :func:`_pool_reference` counts it."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    h, w = input_size
    big = (g.shape[2] - 1) * sh + kh, (g.shape[3] - 1) * sw + kw
    out = np.zeros(g.shape[:2] + (max(h + 2 * ph, big[0]), max(w + 2 * pw, big[1])),
                   dtype=g.dtype)
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            r0, c0 = sh * i - ph, sw * j - pw
            r1, c1 = min(r0 + kh, h + ph), min(c0 + kw, w + pw)
            inside = (min(r1, h) - max(r0, 0)) * (min(c1, w) - max(c0, 0))
            divisor = (divisor_override if divisor_override is not None
                       else (r1 - r0) * (c1 - c0) if count_include_pad else inside)
            out[:, :, sh * i:sh * i + kh, sw * j:sw * j + kw] += \
                g[:, :, i, j, None, None] / divisor
    return out[:, :, ph:ph + h, pw:pw + w]


@st.composite
def conv_case(draw):
    """Parameters of one grouped, strided, dilated, padded convolution for the tests that
    compare against plain loops and check adjoints: (groups, C/G, O/G, kernel, stride,
    dilation, padding, (H, W), N, seed)."""
    groups = draw(st.integers(1, 3))
    # channel counts reaching both routes of the weight and input gradients
    cg, og = draw(st.sampled_from([1, 2, 4, 5])), draw(st.sampled_from([1, 2, 4, 5]))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = tuple(max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i] + draw(st.integers(0, 4)))
                 for i in range(2))
    n = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**32 - 1))
    return groups, cg, og, k, s, d, p, size, n, seed


@st.composite
def _conv2d_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    # 4+ input channels per group take the flat weight-gradient route, fewer the im2col one
    cg, og = draw(st.sampled_from([1, 2, 4])), draw(st.sampled_from([1, 2, 5]))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.sampled_from([1, 2, (1, 2), (2, 1)]))
    dilation = draw(st.sampled_from([1, 1, 2, (1, 2)]))
    padding = draw(st.sampled_from([0, 1, (0, 1), (2, 0), "valid"]
                                   + (["same"] if stride == 1 else [])))
    (dh, dw), (ph, pw) = _pair(dilation), (_pair(padding) if not isinstance(padding, str)
                                           else (0, 0))
    if padding == "same":
        ph = pw = 0  # "same" keeps the size: any input is large enough
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, 2))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, 2))
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    x = draw(arrays(batch + (groups * cg, h, w)))
    weight = draw(arrays((groups * og, cg, kh, kw)))
    bias = draw(st.one_of(st.none(), arrays((groups * og,))))
    return Case((x, weight, bias), {"stride": stride, "padding": padding,
                                    "dilation": dilation, "groups": groups})


spec("conv2d", "conv2d", tg.conv2d, _conv2d_cases(), _conv2d_reference)


@st.composite
def _conv_transpose2d_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    # fewer output than input channels per group take the fold route, others the dilated one
    cg, og = draw(st.sampled_from([1, 2, 5])), draw(st.sampled_from([1, 2, 4]))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = _pair(draw(st.sampled_from([1, 2, (1, 2)])))
    dilation = _pair(draw(st.sampled_from([1, 2])))
    padding = _pair(draw(st.sampled_from([0, 1, (1, 0)])))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation))
    size = []
    for s, d, k, p, op in zip(stride, dilation, (kh, kw), padding, output_padding):
        n = 1
        while (n - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
            n += 1
        size.append(n + draw(st.integers(0, 1)))
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    x = draw(arrays(batch + (groups * cg,) + tuple(size)))
    weight = draw(arrays((groups * cg, og, kh, kw)))
    bias = draw(st.one_of(st.none(), arrays((groups * og,))))
    return Case((x, weight, bias), {"stride": stride, "padding": padding,
                                    "output_padding": output_padding, "dilation": dilation,
                                    "groups": groups})


spec("conv_transpose2d", "conv_transpose2d", tg.conv_transpose2d, _conv_transpose2d_cases(),
     _conv_transpose2d_reference)


@st.composite
def _conv2d_weight_grad_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    cg, og = draw(st.sampled_from([1, 2, 4])), draw(st.sampled_from([1, 2, 5]))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, 1)) for _ in range(4))
    hp = [d * (k - 1) + 1 + draw(st.integers(0, 2)) for d, k in zip(dilation, kernel)]
    h = max(1, hp[0] - padding[0] - padding[1])
    w = max(1, hp[1] - padding[2] - padding[3])
    ho = (h + padding[0] + padding[1] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    wo = (w + padding[2] + padding[3] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    n = draw(st.integers(1, 2))
    x = draw(arrays((n, groups * cg, h, w)))
    y = draw(arrays((n, groups * og, ho, wo)))
    return Case((x, y), {"kernel_size": kernel, "stride": stride, "padding": padding,
                         "dilation": dilation, "groups": groups})


spec("conv2d_weight_grad", "conv2d_weight_grad", tg.OPS["conv2d_weight_grad"],
     _conv2d_weight_grad_cases(), _conv2d_weight_grad_reference)


def _windows_hold_input(n, k, s, p, d, ceil_mode):
    """Whether every pooling window of an axis holds an input cell (a dilated window may lie
    entirely in the padding: max_pool2d refuses that)."""
    out = _pooled_size(n, k, s, p, d, ceil_mode)
    return out >= 1 and all(any(0 <= s * i - p + d * a < n for a in range(k)) for i in range(out))


@st.composite
def _pool_cases(draw, kind, elements=(-2.0, 2.0), unique=False):
    """Inputs and PyTorch's options: padding, ceil_mode, dilation (max) or count_include_pad
    and divisor_override (avg); sizes from the smallest valid one up."""
    kernel = draw(st.sampled_from([1, 2, 3, (2, 1), (1, 3), (3, 2)]))
    kh, kw = _pair(kernel)
    stride = draw(st.sampled_from([None, 1, 2, (1, 2), (3, 1)]))
    padding = draw(st.sampled_from([0, 1, (0, 1), (1, 0)]))
    ph, pw = _pair(padding)
    if ph > kh // 2 or pw > kw // 2:
        padding, ph, pw = 0, 0, 0
    params = {"kernel_size": kernel, "stride": stride, "padding": padding,
              "ceil_mode": draw(st.booleans())}
    dh, dw = 1, 1
    if kind == "max":
        params["dilation"] = draw(st.sampled_from([1, 1, 2, (1, 2)]))
        dh, dw = _pair(params["dilation"])
    else:
        params["count_include_pad"] = draw(st.booleans())
        params["divisor_override"] = draw(st.sampled_from([None, None, 3]))
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, 2))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, 2))
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    if not (_windows_hold_input(h, kh, sh, ph, dh, params["ceil_mode"])
            and _windows_hold_input(w, kw, sw, pw, dw, params["ceil_mode"])):
        params["padding"] = 0
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    x = draw(arrays(batch + (draw(st.integers(1, 2)), h, w), elements=elements, unique=unique))
    return Case((x,), params)


spec("max_pool2d", "max_pool2d", tg.max_pool2d, _pool_cases("max", DISTINCT, unique=True),
     lambda x, **p: _pool_reference(x, kind="max", **p))
spec("avg_pool2d", "avg_pool2d", tg.avg_pool2d, _pool_cases("avg"),
     lambda x, **p: _pool_reference(x, kind="avg", **p))


@st.composite
def _avg_pool2d_adjoint_cases(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    ceil_mode = draw(st.booleans())
    size = tuple(max(1, k - 2 * p) + draw(st.integers(0, 2)) for k, p in zip(kernel, padding))
    out = tuple(_pooled_size(n, k, s, p, 1, ceil_mode)
                for n, p, k, s in zip(size, padding, kernel, stride))
    g = draw(arrays((draw(st.integers(1, 2)), draw(st.integers(1, 2))) + out))
    return Case((g,), {"input_size": size, "kernel_size": kernel, "stride": stride,
                       "padding": padding, "ceil_mode": ceil_mode,
                       "count_include_pad": draw(st.booleans()),
                       "divisor_override": draw(st.sampled_from([None, None, 3]))})


spec("avg_pool2d_adjoint", "avg_pool2d_adjoint", tg.OPS["avg_pool2d_adjoint"],
     _avg_pool2d_adjoint_cases(), _avg_pool2d_adjoint_reference)


@st.composite
def _gather_layout(draw, unique=False):
    """(N, C, H, W) and flat indices (N, C, Ho, Wo) into the array; each index stays inside
    its own (n, c) plane, as max pooling's do."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    plane = h * w
    ho = draw(st.integers(1, min(2, plane) if unique else 2))
    wo = draw(st.integers(1, max(1, min(2, plane // ho)) if unique else 2))
    if unique:
        local = np.stack([np.array(draw(st.permutations(range(plane)))[:ho * wo])
                          for _ in range(n * c)])
    else:
        local = np.array(draw(st.lists(st.integers(0, plane - 1), min_size=n * c * ho * wo,
                                       max_size=n * c * ho * wo)))
    local = local.reshape(n, c, ho, wo)
    offsets = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * plane
    return (n, c, h, w), (offsets[:, :, None, None] + local).astype(np.intp)


@st.composite
def _gather_cases(draw):
    shape, index = draw(_gather_layout())
    return Case((draw(arrays(shape)),), {"index": index})


spec("max_pool2d_gather", "max_pool2d_gather", tg.OPS["max_pool2d_gather"], _gather_cases(),
     lambda x, index: x.reshape(-1)[index])


@st.composite
def _scatter_cases(draw):
    overlapping = draw(st.booleans())
    shape, index = draw(_gather_layout(unique=not overlapping))
    g = draw(arrays(index.shape))
    return Case((g,), {"index": index, "input_size": shape[2:], "overlapping": overlapping})


def _scatter_reference(g, index, input_size, overlapping):
    flat = np.zeros(g.shape[0] * g.shape[1] * input_size[0] * input_size[1], dtype=g.dtype)
    np.add.at(flat, index.reshape(-1), g.reshape(-1))
    return flat.reshape(g.shape[:2] + tuple(input_size))


spec("max_pool2d_scatter", "max_pool2d_scatter", tg.OPS["max_pool2d_scatter"],
     _scatter_cases(), _scatter_reference)


@st.composite
def _max_unpool2d_cases(draw):
    """Values and indices into the output plane, distinct or repeated, with PyTorch's
    kernel/stride/padding and an output_size within a stride of the default."""
    k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    default = ((h - 1) * s - 2 * p + k, (w - 1) * s - 2 * p + k)
    output_size = None
    if draw(st.booleans()):
        output_size = tuple(max(1, m + draw(st.integers(-s + 1, s - 1))) for m in default)
        if not all(m - s < o < m + s for o, m in zip(output_size, default)):
            output_size = None
    ho, wo = output_size or default
    if min(ho, wo) < 1:
        k, p, default, output_size = 2, 0, ((h - 1) * s + 2, (w - 1) * s + 2), None
        ho, wo = default
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    repeated = draw(st.booleans()) or ho * wo < h * w
    planes = []
    for _ in range(n * c):
        if repeated:
            planes.append(draw(st.lists(st.integers(0, ho * wo - 1), min_size=h * w,
                                        max_size=h * w)))
        else:
            planes.append(draw(st.permutations(range(ho * wo)))[:h * w])
    indices = np.array(planes, dtype=np.int64).reshape(n, c, h, w)
    batch = draw(st.booleans())
    x = draw(arrays((n, c, h, w)))
    if not batch:
        x, indices = x[0], indices[0]
    return Case((x, indices), {"kernel_size": k, "stride": s, "padding": p,
                               "output_size": output_size})


def _max_unpool2d_reference(x, indices, kernel_size, stride, padding, output_size):
    """PyTorch's CPU loop: each value written at its index in turn (the last one stays)."""
    unbatched = x.ndim == 3
    if unbatched:
        x, indices = x[None], indices[None]
    size = output_size or tuple((n - 1) * stride - 2 * padding + kernel_size
                                for n in x.shape[2:])
    out = np.zeros(x.shape[:2] + tuple(size), dtype=x.dtype)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            plane = out[n, c].reshape(-1)
            for value, i in zip(x[n, c].reshape(-1), indices[n, c].reshape(-1)):
                plane[i] = value
    return out[0] if unbatched else out


spec("max_unpool2d", "max_unpool2d", tg.max_unpool2d, _max_unpool2d_cases(),
     _max_unpool2d_reference, diff=(0,))

# ----------------------------------------------------------------------------------------
# Scans, products and logical reductions (tensorgrad/ops/scan.py), logsumexp's weights
# ----------------------------------------------------------------------------------------
# Zeros are drawn often: the products' gradients must stay exact there (polynomials, so
# finite differences are exact up to rounding).


def _scan_cases(elements=(-2.0, 2.0)):
    """x and axis None or an int of x (NumPy's scans flatten for None)."""
    return arrays(SHAPES, elements=elements).flatmap(
        lambda x: st.one_of(st.none(), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)).map(
            lambda a: Case((x,), {"axis": a})))


# |x| <= 1.3: products of up to 27 factors stay below 1.3**27 ~ 1200, where finite
# differences with eps = 1e-6 are still accurate to rtol 1e-3 (2**27 is not)
PRODUCT_FACTORS = st.one_of(st.just(0.0), st.floats(-1.3, 1.3))
spec("prod", "prod", tg.prod, reduction_cases((-1.3, 1.3)), np.prod)
spec("prod_with_zeros", "prod", tg.prod, reduction_cases(PRODUCT_FACTORS), np.prod)
spec("cumsum", "cumsum", tg.cumsum, _scan_cases(), np.cumsum)
spec("cumprod", "cumprod", tg.cumprod, _scan_cases((-1.3, 1.3)), np.cumprod)
spec("cumprod_with_zeros", "cumprod", tg.cumprod, _scan_cases(PRODUCT_FACTORS), np.cumprod)
spec("all", "all", tg.all, reduction_cases(_TRUTHY), np.all, differentiable=False,
     keeps_dtype=False)
spec("any", "any", tg.any, reduction_cases(_TRUTHY), np.any, differentiable=False,
     keeps_dtype=False)


@st.composite
def _logsumexp_b_cases(draw, signed):
    """x and weights b of broadcastable shapes (positive, or of any sign with return_sign),
    reduced over an axis of the broadcast shape."""
    sx, sb = draw(broadcastable_shapes(2, max_dims=3, max_side=3))
    ndim = len(np.broadcast_shapes(sx, sb))
    weights = floats(-2.0, 2.0, avoid=[0.0], margin=0.2) if signed else (0.1, 2.0)
    x, b = draw(arrays(sx, elements=(-3.0, 3.0))), draw(arrays(sb, elements=weights))
    params = draw(axis_and_keepdims(ndim))
    if signed:  # keep the sum's sign constant near the case: |Σ b·exp(x)| not near 0
        shape = np.broadcast_shapes(sx, sb)
        terms = np.broadcast_to(b, shape) * np.exp(np.broadcast_to(x, shape))
        if np.any(np.abs(np.sum(terms, axis=params["axis"] if ndim else None)) < 0.1):
            b = np.asarray(np.abs(b))  # a 0-d array stays an array
        params["return_sign"] = True
    return Case((x, b), params)


def _lse_b(x, b, axis=None, keepdims=False, return_sign=False):
    out = tg.logsumexp(x, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    return out[0] if return_sign else out


def _lse_b_reference(x, b, axis=None, keepdims=False, return_sign=False):
    out = scipy.special.logsumexp(x, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    out = out[0] if return_sign else out
    shape = np.broadcast_shapes(x.shape, b.shape)
    return np.reshape(out, np.shape(np.sum(np.zeros(shape), axis=axis, keepdims=keepdims)))


spec("logsumexp_b", "logsumexp", _lse_b, _logsumexp_b_cases(False), _lse_b_reference)
spec("logsumexp_b_signed", "logsumexp", _lse_b, _logsumexp_b_cases(True), _lse_b_reference)

# ----------------------------------------------------------------------------------------
# Rearranging (tensorgrad/ops/arrange.py): composites name the primitive they are made of
# ----------------------------------------------------------------------------------------


def _axes_of(draw, ndim, allow_none=True, allow_tuple=True):
    options = [st.none()] if allow_none else []
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                    unique=True).map(tuple))
    return draw(st.one_of(*options)) if options else None


@st.composite
def _flip_cases(draw):
    x = draw(arrays(SHAPES))
    return Case((x,), {"axis": _axes_of(draw, x.ndim)})


@st.composite
def _roll_cases(draw):
    x = draw(arrays(SHAPES))
    axis = _axes_of(draw, x.ndim)
    if isinstance(axis, tuple) and draw(st.booleans()):
        shift = tuple(draw(st.integers(-4, 4)) for _ in axis)
    else:
        shift = draw(st.integers(-4, 4))
    return Case((x,), {"shift": shift, "axis": axis})


@st.composite
def _rot90_cases(draw):
    x = draw(arrays(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3)))
    axes = tuple(draw(st.permutations(range(x.ndim)))[:2])
    return Case((x,), {"k": draw(st.integers(-2, 5)), "axes": axes})


@st.composite
def _moveaxis_cases(draw):
    x = draw(arrays(SHAPES_1D_UP))
    n = draw(st.integers(1, x.ndim))
    source = tuple(draw(st.permutations(range(x.ndim)))[:n])
    destination = tuple(draw(st.permutations(range(-x.ndim, 0)))[:n])
    if n == 1 and draw(st.booleans()):
        source, destination = source[0], destination[0]
    return Case((x, source, destination))


spec("flip", "flip", tg.flip, _flip_cases(), lambda x, axis: np.flip(x, axis))
spec("fliplr", "flip", tg.fliplr,
     cases(arrays(hnp.array_shapes(min_dims=2, max_dims=3, max_side=3))), np.fliplr)
spec("flipud", "flip", tg.flipud, cases(arrays(SHAPES_1D_UP)), np.flipud)
spec("roll", "roll", tg.roll, _roll_cases(), np.roll)
spec("rot90", "flip", tg.rot90, _rot90_cases(), np.rot90)
spec("moveaxis", "transpose", tg.moveaxis, _moveaxis_cases(), np.moveaxis)
spec("ravel", "reshape", tg.ravel, cases(arrays(SHAPES)), np.ravel)
spec("atleast_1d", "reshape", tg.atleast_1d, cases(arrays(SHAPES)), np.atleast_1d)
spec("atleast_2d", "reshape", tg.atleast_2d, cases(arrays(SHAPES)), np.atleast_2d)
spec("atleast_3d", "reshape", tg.atleast_3d, cases(arrays(SHAPES)), np.atleast_3d)


@st.composite
def _pad_cases(draw):
    """Each mode with NumPy's pad_width forms; widths beyond the axis' length for the
    modes that mirror or wrap (NumPy repeats them)."""
    mode = draw(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
    x = draw(arrays(SHAPES))
    width = st.integers(0, 4)
    form = draw(st.sampled_from(["int", "pair", "per_axis"])) if x.ndim else "int"
    if form == "int":
        pad_width = draw(width)
    elif form == "pair":
        pad_width = (draw(width), draw(width))
    else:
        pad_width = tuple((draw(width), draw(width)) for _ in range(x.ndim))
    params = {"mode": mode}
    if mode == "constant" and draw(st.booleans()):
        params["constant_values"] = draw(st.sampled_from([1.5, -2.0]))
    return Case((x, pad_width), params)


spec("pad", "pad", tg.pad, _pad_cases(), np.pad)


def _pieces(split):
    """The parts of a split, each times its position + 1 (so that a part sent to the wrong
    place shows), raveled and concatenated: one Tensor to check."""
    def run(*args, **params):
        parts = split(*args, **params)
        join = tg.concatenate if isinstance(parts[0], tg.Tensor) else np.concatenate
        return join([(i + 1) * p.reshape(-1) for i, p in enumerate(parts)])
    run.__name__ = split.__name__
    return run


@st.composite
def _split_cases(draw, name):
    min_dims = {"vsplit": 2, "dsplit": 3}.get(name, 1)
    x = draw(arrays(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4)))
    axis = {"hsplit": 1 if x.ndim > 1 else 0, "vsplit": 0, "dsplit": 2}.get(
        name, draw(st.integers(-x.ndim, x.ndim - 1)))
    n = x.shape[axis]
    if draw(st.booleans()):  # sections: equal ones for split, any for array_split
        sections = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0])
                        if name != "array_split" else st.integers(1, n + 2))
    else:
        sections = sorted(draw(st.lists(st.integers(0, n + 1), max_size=3)))
    args = (x, sections) if name in ("hsplit", "vsplit", "dsplit") else (x, sections, axis)
    return Case(args)


for _name in ("split", "array_split", "hsplit", "vsplit", "dsplit"):
    spec(_name, "getitem", _pieces(getattr(tg, _name)), _split_cases(_name),
         _pieces(getattr(np, _name)))


@st.composite
def _join_cases(draw, name):
    """Two arrays that the stacking function joins."""
    if name == "append":
        x = draw(arrays(SHAPES))
        if x.ndim and draw(st.booleans()):
            axis = draw(st.integers(-x.ndim, x.ndim - 1))
            other = list(x.shape)
            other[axis] = draw(st.integers(1, 3))
            return Case((x, draw(arrays(tuple(other)))), {"axis": axis})
        return Case((x, draw(arrays(SHAPES))))
    ndim = draw(st.integers(1 if name == "column_stack" else 0, 3))
    axis = {"vstack": 0, "hstack": 0 if ndim <= 1 else 1, "dstack": 2, "column_stack": 1}[name]
    # the joined axis may differ between the inputs when it is one of theirs (a 1-D input
    # becomes a row for vstack, a column for column_stack, and (1, N, 1) for dstack)
    varies = axis < ndim and (ndim >= 2 or name == "hstack")
    base = [draw(st.integers(1, 3)) for _ in range(ndim)]
    shapes = []
    for _ in range(2):
        if varies:
            base[axis] = draw(st.integers(1, 3))
        shapes.append(tuple(base))
    return Case(tuple(draw(arrays(s)) for s in shapes))


for _name in ("vstack", "hstack", "dstack", "column_stack"):
    spec(_name, "concatenate", (lambda f: lambda a, b: f([a, b]))(getattr(tg, _name)),
         _join_cases(_name), (lambda f: lambda a, b: f([a, b]))(getattr(np, _name)))
spec("append", "concatenate", tg.append, _join_cases("append"), np.append)

# ----------------------------------------------------------------------------------------
# Indexing, diagonals and orderings (tensorgrad/ops/indexing.py)
# ----------------------------------------------------------------------------------------


@st.composite
def _take_cases(draw):
    x = draw(arrays(SHAPES_1D_UP))
    axis = draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    mode = draw(st.sampled_from(["raise", "wrap", "clip"]))
    n = x.size if axis is None else x.shape[axis]
    lo, hi = (-n, n - 1) if mode == "raise" else (-2 * n - 1, 2 * n + 1)
    indices = draw(st.one_of(
        st.integers(lo, hi),
        hnp.arrays(np.intp, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3),
                   elements=st.integers(lo, hi))))
    return Case((x, indices), {"axis": axis, "mode": mode})


@st.composite
def _take_along_axis_cases(draw):
    x = draw(arrays(SHAPES_1D_UP))
    if draw(st.booleans()):
        idx = draw(hnp.arrays(np.intp, st.integers(1, 5), elements=st.integers(-x.size, x.size - 1)))
        return Case((x, idx), {"axis": None})
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    shape = [1 if draw(st.booleans()) else n for n in x.shape]  # broadcasting on the others
    shape[axis] = draw(st.integers(1, 4))
    idx = draw(hnp.arrays(np.intp, tuple(shape), elements=st.integers(0, x.shape[axis] - 1)))
    return Case((x, idx), {"axis": axis})


@st.composite
def _order_cases(draw, kth):
    x = draw(arrays(SHAPES_1D_UP, elements=DISTINCT, unique=True))
    axis = draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    if not kth:
        return Case((x,), {"axis": axis})
    n = x.size if axis is None else x.shape[axis]
    k = draw(st.one_of(st.integers(-n, n - 1), st.lists(st.integers(0, n - 1), min_size=1,
                                                        max_size=3, unique=True)))
    return Case((x, k), {"axis": axis})


@st.composite
def _diagonal_cases(draw):
    x = draw(arrays(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4)))
    axis1, axis2 = draw(st.permutations(range(x.ndim)))[:2]
    if draw(st.booleans()):
        axis1 -= x.ndim
    offset = draw(st.integers(-x.shape[axis1] - 1, x.shape[axis2] + 1))
    return Case((x,), {"offset": offset, "axis1": axis1, "axis2": axis2})


@st.composite
def _diag_cases(draw):
    x = draw(arrays(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4)))
    return Case((x,), {"k": draw(st.integers(-3, 3))})


@st.composite
def _triangle_cases(draw):
    x = draw(arrays(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)))
    return Case((x,), {"k": draw(st.integers(-3, 3))})


spec("take", "take", tg.take, _take_cases(), np.take)
spec("take_along_axis", "take_along_axis", tg.take_along_axis, _take_along_axis_cases(),
     np.take_along_axis)
spec("sort", "sort", tg.sort, _order_cases(kth=False), np.sort)
spec("partition", "partition", tg.partition, _order_cases(kth=True), np.partition)
spec("diagonal", "diagonal", tg.diagonal, _diagonal_cases(), np.diagonal)
spec("trace", "diagonal", tg.trace, _diagonal_cases(), np.trace)
spec("diag", "diag", tg.diag, _diag_cases(), np.diag)
spec("tril", "tril", tg.tril, _triangle_cases(), np.tril)
spec("triu", "triu", tg.triu, _triangle_cases(), np.triu)

# ----------------------------------------------------------------------------------------
# N-d convolution and correlation (tensorgrad.signal, tensorgrad/ops/signal_nd.py)
# ----------------------------------------------------------------------------------------


@st.composite
def _signal_nd_cases(draw):
    ndim = draw(st.integers(0, 3))
    mode = draw(st.sampled_from([None, "full", "valid", "same"]))
    s1 = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    if mode == "valid" and draw(st.booleans()):  # in2 the larger one
        s2 = tuple(n + draw(st.integers(0, 2)) for n in s1)
    elif mode == "valid":
        s2 = tuple(draw(st.integers(1, n)) for n in s1)
    else:
        s2 = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    params = {} if mode is None else {"mode": mode}
    if draw(st.booleans()):
        params["method"] = draw(st.sampled_from(["direct", "fft"]))
    return Case((draw(arrays(s1)), draw(arrays(s2))), params)


# the FFT rounds at about 1e-16 of the sum of |terms| (at most 64 terms of |x| <= 2 here)
spec("signal_correlate", "correlate", tg.signal.correlate, _signal_nd_cases(),
     scipy.signal.correlate, fwd_rtol=1e-10, fwd_atol=1e-12)
spec("signal_convolve", "convolve", tg.signal.convolve, _signal_nd_cases(),
     scipy.signal.convolve, fwd_rtol=1e-10, fwd_atol=1e-12)


SPECS_BY_NAME = {s.name: s for s in SPECS}
