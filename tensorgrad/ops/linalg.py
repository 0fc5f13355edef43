"""NumPy's linear algebra (``numpy.linalg``), public as ``tensorgrad.linalg.<name>`` only:
``inv solve det slogdet cholesky eigh svd qr norm matrix_power``, batched over leading axes
as NumPy's are.

Each op is one block: the forward is NumPy's, and the VJPs are the standard formulas, cited
in each docstring, written with tensorgrad's ops so that they can be differentiated again.
The decompositions returning several arrays (``slogdet eigh svd qr``) are one primitive
each whose result packs its arrays along the last axis; the public function unpacks it with
``getitem``, so the graph shows the op once and its VJP sees every cotangent together.

Matrices read through one triangle (``cholesky``, ``eigh``, ``svd(hermitian=True)``: LAPACK
reads the lower one, or the upper for ``UPLO='U'``, ``upper=True``) get the gradient of what
the forward computes: the entries of the other triangle do not change the result, so their
gradient is 0, and an off-diagonal entry of the triangle read stands for itself and its
mirror image. For an input built symmetric (``A = B + B.T``, ``X @ X.T``) this is the same
gradient, through the construction, as PyTorch's symmetric one.

Where a gradient does not exist -- eigenvectors of a repeated eigenvalue, singular vectors of
a repeated singular value -- the terms of those pairs that depend on the basis chosen are
left out, which is exact for a loss that depends on the eigenspace only through its
projector (or the polar factor U Vh) and on the repeated values only through their sum, and
a :class:`DegenerateSpectrumWarning` names the op and the gap whenever the cotangent shows
otherwise. No NaN is returned silently. A loss smooth in the matrix but written through
each pair, such as V diag(f(w)) Vᵀ, is the one case a cotangent cannot reveal: its pair
terms have a finite limit that depends on the loss, not on the cotangent at the point, so
its gradient at a repeated eigenvalue is wrong -- with the warning when w̄ differs on the
pair, silently when it does not (the eigenvectors LAPACK returns for a diagonal matrix).
Write such a loss through A itself, or move off the repeated value.
"""
import collections
import warnings

import numpy as np

from ..errors import ShapeError
from ..inputs import as_input
from ..registry import primitive
from ..state import no_grad
from ..tensor import shape_of
from .elementwise import _values, abs, sign, where
from .products import matmul
from .shape import concatenate, getitem, reshape, swapaxes, transpose

NAMESPACE = "linalg"
"""The ops of this family are public as ``tensorgrad.linalg.<name>``, not at the top level."""

__all__ = ["cholesky", "det", "eigh", "inv", "matrix_power", "norm", "qr", "slogdet", "solve",
           "svd"]


class DegenerateSpectrumWarning(RuntimeWarning):
    """A gradient through eigenvectors (``eigh``) or singular vectors (``svd``, ``qr`` of a
    rank-deficient input) that is not defined: the vectors of a repeated eigenvalue or
    singular value are not unique, and the loss depends on which ones were returned. The
    message names the op and the gap; the terms of those pairs are left out of the gradient
    (exact when the loss does not depend on that choice)."""


SlogdetResult = collections.namedtuple("SlogdetResult", ["sign", "logabsdet"])
SlogdetResult.__doc__ = "``slogdet``'s result, as NumPy's: ``(sign, logabsdet)``, Tensors."
EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EighResult.__doc__ = "``eigh``'s result, as NumPy's: ``(eigenvalues, eigenvectors)``, Tensors."
SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])
SVDResult.__doc__ = "``svd``'s result, as NumPy's: ``(U, S, Vh)``, Tensors."
QRResult = collections.namedtuple("QRResult", ["Q", "R"])
QRResult.__doc__ = "``qr``'s result, as NumPy's: ``(Q, R)``, Tensors."


# -- helpers ---------------------------------------------------------------------------------

def _mT(x):
    """The matrix transpose of a stack of matrices (the last two axes swapped)."""
    return swapaxes(x, -1, -2)


def _square(name, a, what="a"):
    """``a`` as an input of ``name`` after checking it is a stack of square matrices."""
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ShapeError(f"{name}: {what} must be a square matrix or a stack of them, shape "
                         f"(..., n, n), got shape {shape}")
    return a


def _float_dtype(x):
    dtype = np.result_type(_values(x))
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _eye(n, x):
    return np.eye(n, dtype=_float_dtype(x))


def _lower_triangle_gradient(gradient, upper=False):
    """The gradient of a function of the symmetric matrix that the triangle ``upper`` (False:
    lower) of the input stands for, from ``gradient`` computed as if every entry counted on
    its own: an off-diagonal entry read counts for itself and its mirror image, the entries
    of the other triangle do not count (LAPACK never reads them)."""
    n = shape_of(gradient)[-1]
    both = gradient + _mT(gradient)
    mask = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
    mask = (mask.T if upper else mask).astype(_float_dtype(gradient))
    return both * mask


def _pack(*parts, batch):
    """Arrays of a common batch shape packed along one last axis (a decomposition's result)."""
    return np.concatenate([np.reshape(p, batch + (-1,)) for p in parts], axis=-1)


def _unpack(packed, *shapes):
    """The arrays of the given (trailing) shapes packed by :func:`_pack`, as ``getitem`` and
    ``reshape`` of ``packed`` (recorded on Tensors)."""
    batch = shape_of(packed)[:-1]
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=np.int64))
        piece = getitem(packed, index=(Ellipsis, slice(start, start + size)))
        out.append(reshape(piece, shape=batch + tuple(shape)))
        start += size
    return out


def _take(x, *index):
    """``x[..., *index]`` (a recorded getitem on Tensors)."""
    return getitem(x, index=(Ellipsis, *index))


def _row(v):
    """A stack of vectors (..., k) as rows (..., 1, k)."""
    return reshape(v, shape=shape_of(v)[:-1] + (1, shape_of(v)[-1]))


def _col(v):
    """A stack of vectors (..., k) as columns (..., k, 1)."""
    return reshape(v, shape=shape_of(v) + (1,))


def _pair_gaps(values):
    """(bool mask of the pairs i != j whose values are equal to within rounding, the
    tolerance): the degenerate pairs of a spectrum. The tolerance is 10·n·eps·max|value|
    per matrix."""
    v = _values(values)
    n = v.shape[-1]
    eps = np.finfo(_float_dtype(v)).eps
    tol = 10 * n * eps * np.max(np.abs(v), axis=-1, initial=0.0)[..., None, None]
    degenerate = (np.abs(v[..., None, :] - v[..., :, None]) <= tol) & ~np.eye(n, dtype=bool)
    return degenerate, tol


def _safe_reciprocal(d, skip):
    """1/d, and 0 where ``skip`` (a constant mask), with no division by 0 recorded: a
    differentiable-again F of the spectral gradient formulas."""
    return where(skip, 0, 1 / where(skip, 1, d))


def _warn_degenerate(op, values, degenerate, tol, dependence, scale):
    """Warn when a degenerate pair (i, j) has a cotangent that depends on the basis chosen
    in its eigenspace: |dependence_ij| above rounding relative to ``scale``, the size of the
    terms it is made of. Names the op, the values and the gap."""
    if not degenerate.any():
        return
    dep = np.broadcast_to(np.abs(_values(dependence)), degenerate.shape)
    limit = np.sqrt(np.finfo(dep.dtype).eps) * scale
    hit = degenerate & (dep > limit)
    if not hit.any():
        return
    where_hit = tuple(int(i) for i in np.argwhere(hit)[0])
    v = _values(values)[where_hit[:-2]]
    i, j = where_hit[-2:]
    batch = f" of matrix {where_hit[:-2]}" if len(where_hit) > 2 else ""
    warnings.warn(
        f"{op}: values {i} and {j}{batch} are equal to within rounding ({v[i]:.6g} and "
        f"{v[j]:.6g}, gap {abs(v[j] - v[i]):.2g} <= {float(np.ravel(tol[where_hit[:-2]])[0]):.2g}): "
        "their vectors are not unique, and the loss depends on the vectors chosen (or weights "
        "the equal values differently), so its gradient is not computed there. The terms of "
        "those pairs are left out (exact for a loss that depends only on the eigenspace, e.g. "
        "its projector, and on the sum of the equal values)",
        DegenerateSpectrumWarning, stacklevel=2)


# -- inverse, solve, determinants --------------------------------------------------------------

@primitive
def inv(a):
    """The inverse of a square matrix, or of each in a stack ``(..., n, n)`` (NumPy's
    ``linalg.inv``).

    VJP (Giles 2008, "An extended collection of matrix derivative results", 2.2.3):
    Ā = -A⁻ᵀ Ḡ A⁻ᵀ, written with the forward result, so differentiable again.

    Raises
    ------
    ValueError
        Not a stack of square matrices; a singular matrix (NumPy's LinAlgError, naming inv).
    """
    return np.linalg.inv(_square("inv", a))


inv.defvjp(lambda g, out, a: -matmul(_mT(out), matmul(g, _mT(out))))


@primitive(broadcast=True)
def solve(a, b):
    """x with a @ x = b (see the public ``solve``)."""
    return np.linalg.solve(a, b)


def _solve_transposed(g, a, b):
    """Aᵀ⁻¹ g: the gradient of b, of x's shape (a vector b's solved as one column)."""
    if np.ndim(_values(b)) == 1:
        return reshape(solve(_mT(a), reshape(g, shape=shape_of(g) + (1,))), shape=shape_of(g))
    return solve(_mT(a), g)


def _solve_vjp_a(g, out, a, b):
    gb = _solve_transposed(g, a, b)
    if np.ndim(_values(b)) == 1:  # x is a vector (..., n): Ā = -b̄ xᵀ, an outer product
        n = shape_of(out)[-1]
        return -(reshape(gb, shape=shape_of(gb) + (1,))
                 * reshape(out, shape=shape_of(out)[:-1] + (1, n)))
    return -matmul(gb, _mT(out))


solve.defvjp(_solve_vjp_a, lambda g, out, a, b: _solve_transposed(g, a, b))


@solve.defcall
def solve(a, b):
    """The solution x of ``a @ x = b`` (NumPy 2's ``linalg.solve``): a ``(..., n, n)``; b a
    vector ``(n,)`` or a stack of matrices ``(..., n, k)``; the batch axes broadcast.

    VJPs (Giles 2008, 2.3.1): b̄ = A⁻ᵀ X̄ (a solve with Aᵀ), Ā = -b̄ Xᵀ; solves and products,
    so differentiable again.

    Raises
    ------
    ShapeError
        a not a stack of square matrices, or b's rows not a's size.
    ValueError
        A singular matrix (NumPy's LinAlgError, naming solve).
    """
    a, b = as_input("solve", 0, a), as_input("solve", 1, b)
    _square("solve", a)
    sa, sb = shape_of(a), shape_of(b)
    rows = sb[0] if len(sb) == 1 else (sb[-2] if len(sb) >= 2 else None)
    if rows != sa[-1]:
        raise ShapeError(f"solve: b must have shape ({sa[-1]},) or (..., {sa[-1]}, k) for a of "
                         f"shape {sa}, got {sb}")
    return solve.bind(a, b)


@primitive
def det(a):
    """The determinant of a square matrix, or of each in a stack (NumPy's ``linalg.det``).

    VJP (Giles 2008, 2.2.4): Ā = Ḡ·det(A)·A⁻ᵀ. At a singular matrix the inverse does not
    exist and the backward raises a BackwardError naming det (the gradient there, the
    adjugate, is not computed).

    Raises
    ------
    ShapeError
        Not a stack of square matrices.
    """
    return np.linalg.det(_square("det", a))


det.defvjp(lambda g, out, a: reshape(g * out, shape=shape_of(out) + (1, 1)) * _mT(inv(a)))


@primitive
def slogdet(a):
    """Sign and log|det| packed along a last axis of 2 (see the public ``slogdet``)."""
    sign_, logabsdet = np.linalg.slogdet(_square("slogdet", a))
    return np.stack([sign_, logabsdet], axis=-1)


def _slogdet_vjp(g, out, a):
    g_log = getitem(g, index=(Ellipsis, 1))  # the sign carries no gradient
    return reshape(g_log, shape=shape_of(g_log) + (1, 1)) * _mT(inv(a))


slogdet.defvjp(_slogdet_vjp)


@slogdet.defcall
def slogdet(a):
    """The sign and the natural log of the absolute value of the determinant (NumPy's
    ``linalg.slogdet``), for a square matrix or a stack: ``(sign, logabsdet)``, a named
    tuple as NumPy's, stable where ``det`` would overflow or underflow.

    ``sign`` (±1, 0 for a singular matrix) is a constant: it never requires grad.
    VJP of logabsdet (Giles 2008, 2.2.4): Ā = Ḡ·A⁻ᵀ (an inverse, differentiable again);
    at a singular matrix the backward raises a BackwardError naming slogdet.

    Raises
    ------
    ShapeError
        Not a stack of square matrices.
    """
    packed = slogdet.bind(as_input("slogdet", 0, a))
    with no_grad():
        sign_ = getitem(packed, index=(Ellipsis, 0))
    return SlogdetResult(sign_, getitem(packed, index=(Ellipsis, 1)))


@primitive
def matrix_power(a, n=1):
    """The integer power a**n of a square matrix (see the public ``matrix_power``)."""
    return np.linalg.matrix_power(a, n)


def _power_sum(b, g, p):
    """(Σ_{k<p} bᵏ g bᵖ⁻¹⁻ᵏ, bᵖ) by halving p: S(2q) = S(q)·bᑫ + bᑫ·S(q) and S(q+1) =
    b·S(q) + g·bᑫ, so O(log p) products."""
    if p == 1:
        return g, b
    s, power = _power_sum(b, g, p // 2)
    s, power = matmul(s, power) + matmul(power, s), matmul(power, power)
    if p % 2:
        s, power = matmul(b, s) + matmul(g, power), matmul(b, power)
    return s, power


def _matrix_power_vjp(g, out, a, n):
    if n == 0:
        return np.zeros(shape_of(a), dtype=_float_dtype(a))
    b = _mT(a if n > 0 else inv(a))
    grad, _ = _power_sum(b, g, int(np.abs(n)))
    return grad if n > 0 else -matmul(b, matmul(grad, b))


matrix_power.defvjp(_matrix_power_vjp)


@matrix_power.defcall
def matrix_power(a, n):
    """a raised to the integer power n (NumPy's ``linalg.matrix_power``), for a square
    matrix or a stack: the identity for n = 0, the inverse's power for n < 0.

    VJP: Ā = Σ_{k<n} (Aᵀ)ᵏ Ḡ (Aᵀ)ⁿ⁻¹⁻ᵏ, computed in O(log n) products by halving n; for n < 0
    with B = A⁻¹, the same sum in B, then B̄ ↦ -Bᵀ B̄ Bᵀ (Giles 2008, 2.2.3).

    Raises
    ------
    TypeError
        n not an integer. ShapeError: not a stack of square matrices. ValueError: a
        singular matrix with n < 0.
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: the exponent n must be an integer, got {n!r}")
    return matrix_power.bind(_square("matrix_power", as_input("matrix_power", 0, a)), n=int(n))


# -- Cholesky, eigh, SVD, QR -------------------------------------------------------------------

@primitive
def cholesky(a, upper=False):
    """The Cholesky factor of a symmetric positive-definite matrix, or of each in a stack
    (NumPy's ``linalg.cholesky``): L lower triangular with A = L Lᵀ, or U = Lᵀ with
    ``upper=True``. LAPACK reads the lower triangle of A (the upper with ``upper=True``).

    VJP (Murray 2016, "Differentiation of the Cholesky decomposition", eq. 10; PyTorch's
    form): P = Φ(Lᵀ L̄) with Φ keeping the lower triangle and halving the diagonal,
    S = L⁻ᵀ ½(P + Pᵀ) L⁻¹ the symmetric gradient, given to the triangle read (2 S off the
    diagonal, S on it, 0 in the other triangle: see the module's docstring).

    Raises
    ------
    ShapeError
        Not a stack of square matrices. ValueError: not positive definite (NumPy's
        LinAlgError, naming cholesky).
    """
    return np.linalg.cholesky(_square("cholesky", a), upper=upper)


def _cholesky_vjp(g, out, a, upper):
    lower, g_lower = (_mT(out), _mT(g)) if upper else (out, g)
    n = shape_of(out)[-1]
    dtype = _float_dtype(out)
    tril = np.tril(np.ones((n, n), dtype=dtype))
    p = matmul(_mT(lower), g_lower) * tril
    p = p - 0.5 * p * np.eye(n, dtype=dtype)  # Φ: the diagonal halved
    l_inv = inv(lower)
    sym = matmul(_mT(l_inv), matmul(0.5 * (p + _mT(p)), l_inv))
    return _lower_triangle_gradient(sym, upper=upper)


cholesky.defvjp(_cholesky_vjp)


@primitive
def eigh(a, UPLO="L"):  # noqa: N803 (NumPy's name)
    """Eigenvalues and eigenvectors packed as (..., n + 1, n) (see the public ``eigh``)."""
    w, v = np.linalg.eigh(_square("eigh", a), UPLO=UPLO)
    return np.concatenate([w[..., None, :], v], axis=-2)


def _eigh_vjp(g, out, a, UPLO):  # noqa: N803
    w, v = _take(out, 0, slice(None)), _take(out, slice(1, None), slice(None))
    gw, gv = _take(g, 0, slice(None)), _take(g, slice(1, None), slice(None))
    n = shape_of(w)[-1]
    degenerate, tol = _pair_gaps(w)
    f = _safe_reciprocal(_row(w) - _col(w), degenerate | np.eye(n, dtype=bool))
    vt_gv = matmul(_mT(v), gv)
    vt_gv_values, gw_values = _values(vt_gv), _values(gw)
    # the basis-dependent part of a pair (i, j): the skew part of Vᵀ V̄, and the difference of
    # w̄_i and w̄_j (a loss that weights the two equal eigenvalues differently, such as
    # V diag(w) Vᵀ, whose gradient needs the pair term's limit, not known from the cotangent)
    dependence = np.maximum(np.abs(vt_gv_values - np.swapaxes(vt_gv_values, -1, -2)),
                            np.abs(gw_values[..., None, :] - gw_values[..., :, None]))
    _warn_degenerate("eigh", w, degenerate, tol, dependence,
                     np.abs(vt_gv_values).max(initial=0.0) + np.abs(gw_values).max(initial=0.0))
    inner = f * vt_gv + _eye(n, out) * _row(gw)
    full = matmul(v, matmul(inner, _mT(v)))
    return _lower_triangle_gradient(full, upper=UPLO == "U")


eigh.defvjp(_eigh_vjp)


@eigh.defcall
def eigh(a, UPLO="L"):  # noqa: N803
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix, or of
    each in a stack (NumPy's ``linalg.eigh``): ``(eigenvalues (..., n), eigenvectors
    (..., n, n))`` as a named tuple, ``a = V diag(w) Vᵀ``. LAPACK reads the lower triangle
    (``UPLO='U'``: the upper); each eigenvector's sign is LAPACK's.

    VJP (Giles 2008, 3.1; Seeger et al. 2017, "Auto-differentiating linear algebra"):
    Ā = V (diag(w̄) + F ∘ (Vᵀ V̄)) Vᵀ with F_ij = 1/(w_j - w_i) off the diagonal, given to the
    triangle read (see the module's docstring).

    Degenerate spectrum: where w_i = w_j to within 10·n·eps·max|w|, the eigenvectors are
    not unique and F_ij does not exist. Those terms are left out -- exact for a loss that
    depends on the eigenspace only through its projector and the sum of its eigenvalues (a
    single one of a repeated eigenvalue has no derivative) -- and when the cotangent shows
    otherwise (the antisymmetric part of Vᵀ V̄ is not zero on those pairs, or w̄_i != w̄_j)
    a :class:`DegenerateSpectrumWarning` names the values and the gap. A loss smooth in A
    but written through each eigenpair, such as V diag(f(w)) Vᵀ, is of the second kind: its
    pair terms have a finite limit the cotangent alone does not give, so its gradient there
    is wrong, with the warning when w̄_i != w̄_j (silently when they happen to be equal: see
    the module's docstring). Nearly equal eigenvalues give large, accurate gradients.

    Raises
    ------
    ShapeError
        Not a stack of square matrices. ValueError: UPLO other than 'L' or 'U'.
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    a = _square("eigh", as_input("eigh", 0, a))
    n = shape_of(a)[-1]
    packed = eigh.bind(a, UPLO=UPLO)
    return EighResult(_take(packed, 0, slice(None)), _take(packed, slice(1, n + 1), slice(None)))


def _svd_shapes(m, n, full_matrices):
    k = min(m, n)
    return ((m, m) if full_matrices else (m, k)), (k,), ((n, n) if full_matrices else (k, n))


@primitive
def svd(a, full_matrices=True, hermitian=False):
    """U, S and Vh packed along one last axis (see the public ``svd``)."""
    shape = shape_of(a)
    if len(shape) < 2:
        raise ShapeError(f"svd: a must be a matrix or a stack of them, shape (..., m, n), got "
                         f"shape {shape}")
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices, hermitian=hermitian)
    return _pack(u, s, vh, batch=shape[:-2])


def _svd_vjp(g, out, a, full_matrices, hermitian):
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    shapes = _svd_shapes(m, n, full_matrices)
    (u, s, vh), (gu, gs, gvh) = _unpack(out, *shapes), _unpack(g, *shapes)
    if full_matrices and m != n:  # the columns beyond k complete a basis: any completion does
        extra = (np.abs(_values(gu)[..., :, k:]).max(initial=0.0)
                 + np.abs(_values(gvh)[..., k:, :]).max(initial=0.0))
        if extra > 0:
            warnings.warn("svd: the loss depends on the singular vectors beyond min(m, n) of "
                          "full_matrices=True, which are any orthonormal completion: their "
                          "gradient is not defined and is left out (use full_matrices=False)",
                          DegenerateSpectrumWarning, stacklevel=2)
        u, gu = _take(u, slice(None), slice(0, k)), _take(gu, slice(None), slice(0, k))
        vh, gvh = _take(vh, slice(0, k), slice(None)), _take(gvh, slice(0, k), slice(None))
    v, gv = _mT(vh), _mT(gvh)
    degenerate, tol = _pair_gaps(s)
    s_values, off = _values(s), ~np.eye(k, dtype=bool)
    both_zero = (s_values[..., None, :] + s_values[..., :, None] <= tol) & off
    row, col = _row(s), _col(s)
    ut_gu, vt_gv = matmul(_mT(u), gu), matmul(_mT(v), gv)
    skew_u, skew_v = ut_gu - _mT(ut_gu), vt_gv - _mT(vt_gv)
    # F ∘ (skew_u S + S skew_v) with F_ij = 1/(s_j² - s_i²), split as
    # ½ (skew_u + skew_v) / (s_j - s_i) + ½ (skew_u - skew_v) / (s_j + s_i): the first part
    # vanishes on a repeated singular value for a loss that does not depend on the basis
    # there, the second has the finite limit 1/(2s) (the polar factor's derivative).
    # As in eigh, S̄_i != S̄_j on a repeated pair (U diag(S) Vh weights them differently)
    # is a dependence whose pair term the cotangent does not give.
    plus, minus = skew_u + skew_v, skew_u - skew_v
    gs_values = _values(gs)
    dependence = (np.where(degenerate, np.abs(_values(plus))
                           + np.abs(gs_values[..., None, :] - gs_values[..., :, None]), 0)
                  + np.where(both_zero, np.abs(_values(minus)), 0))
    scale = (np.abs(_values(ut_gu)).max(initial=0.0) + np.abs(_values(vt_gv)).max(initial=0.0)
             + np.abs(gs_values).max(initial=0.0))
    _warn_degenerate("svd", s, degenerate | both_zero, tol, dependence, scale)
    inner = (0.5 * (plus * _safe_reciprocal(row - col, degenerate | ~off)
                    + minus * _safe_reciprocal(row + col, both_zero | ~off))
             + _eye(k, out) * _row(gs))
    grad = matmul(u, matmul(inner, vh))
    if m != n:  # the components of Ū and V̄ outside the spans of U and V
        small = s_values <= 10 * max(m, n) * np.finfo(_float_dtype(s_values)).eps * np.max(
            s_values, axis=-1, initial=0.0)[..., None]
        s_inv = _safe_reciprocal(s, small)
        cotangent = np.abs(_values(gu)).max(initial=0.0) + np.abs(_values(gv)).max(initial=0.0)
        if small.any() and cotangent > 0:
            warnings.warn("svd: a singular value is 0 to within rounding for a non-square "
                          "matrix, so the singular vectors beyond the rank are not unique and "
                          "their gradient (the terms in 1/s) is not defined; those terms are "
                          "left out", DegenerateSpectrumWarning, stacklevel=2)
        if m > k:  # S⁻¹ Vᵀ: the rows of Vᵀ scaled
            grad = grad + matmul(gu - matmul(u, ut_gu), _col(s_inv) * vh)
        if n > k:  # U S⁻¹: the columns of U scaled
            grad = grad + matmul(u * _row(s_inv), _mT(gv) - matmul(_mT(vt_gv), vh))
    return _lower_triangle_gradient(grad) if hermitian else grad


svd.defvjp(_svd_vjp)


@svd.defcall
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition ``a = U @ diag(S) @ Vh`` of a matrix or of each in a
    stack (NumPy's ``linalg.svd``): a named tuple ``(U, S, Vh)``, S descending; with
    ``compute_uv=False``, S alone. ``hermitian=True`` is NumPy's: a symmetric input, of
    which LAPACK reads the lower triangle (the gradient follows, see the module's docstring).
    Each pair of singular vectors' sign is LAPACK's.

    VJP (Townsend 2016, "Differentiating the singular value decomposition"; the real case of
    Seeger et al. 2017), with F_ij = 1/(s_j² - s_i²) off the diagonal::

        Ā = U [F ∘ (UᵀŪ - ŪᵀU) S + S F ∘ (VᵀV̄ - V̄ᵀV) + diag(S̄)] Vᵀ
            + (I - UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - VVᵀ)

    (the last two terms for non-square inputs), all with recorded ops, so differentiable
    again. With ``full_matrices=True`` and m != n the vectors beyond min(m, n) are any
    orthonormal completion: their cotangent is left out (PyTorch's convention), with a
    warning when it is not zero.

    Degenerate spectrum: the pair terms are computed as ½ (P / (s_j - s_i) + M / (s_j + s_i))
    with P = skew(UᵀŪ) + skew(VᵀV̄) and M = skew(UᵀŪ) - skew(VᵀV̄) (the same F ∘ (...)).
    Where s_i = s_j to within 10·k·eps·max(s) the singular vectors are not unique: the P
    term of the pair, which depends on the basis chosen, is left out, while the M term keeps
    its finite 1/(2s) (so the polar factor U Vh has its true gradient there); the M term of
    two singular values 0, and for non-square inputs the 1/s terms of a singular value 0, are
    left out likewise. That is exact for a loss that depends on the repeated values only
    through their sum and on the vectors only through the projectors or U Vh, and a
    :class:`DegenerateSpectrumWarning` names the values and the gap when the cotangent shows
    otherwise (P is not zero on the pair, or S̄_i != S̄_j): a loss such as U diag(f(S)) Vh,
    smooth in A, has a pair term whose limit the cotangent does not give, so its gradient
    there is wrong, with the warning when S̄_i != S̄_j (see the module's docstring).

    Raises
    ------
    ShapeError
        a with fewer than 2 axes. ValueError: NumPy's LinAlgError (no convergence).
    """
    a = as_input("svd", 0, a)
    shape = shape_of(a)
    if len(shape) < 2:
        raise ShapeError(f"svd: a must be a matrix or a stack of them, shape (..., m, n), got "
                         f"shape {shape}")
    for name, value in (("full_matrices", full_matrices), ("compute_uv", compute_uv),
                        ("hermitian", hermitian)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"svd: {name} must be a bool, got {value!r}")
    if hermitian:
        _square("svd", a)
    full = bool(full_matrices) and bool(compute_uv)
    packed = svd.bind(a, full_matrices=full, hermitian=bool(hermitian))
    u, s, vh = _unpack(packed, *_svd_shapes(*shape[-2:], full))
    return SVDResult(u, s, vh) if compute_uv else s


@primitive
def qr(a, mode="reduced"):
    """Q and R packed along one last axis (see the public ``qr``)."""
    shape = shape_of(a)
    q, r = np.linalg.qr(a, mode=mode)
    return _pack(q, r, batch=shape[:-2])


def _qr_shapes(m, n, mode):
    k = m if mode == "complete" else min(m, n)
    return (m, k), (k, n)


def _qr_square_or_tall(q, r, gq, gr):
    """Ā for A = QR with m >= n (Walter & Lehmann 2018, "Algorithmic differentiation of
    linear algebra functions with application in optimum experimental design"; TensorFlow's
    form): M = tril(QᵀQ̄ - Q̄ᵀQ + R R̄ᵀ - R̄ Rᵀ), Ā = Q (R̄ + M R⁻ᵀ) + (Q̄ - Q QᵀQ̄) R⁻ᵀ."""
    n = shape_of(r)[-1]
    qt_gq, r_grt = matmul(_mT(q), gq), matmul(r, _mT(gr))
    tril = np.tril(np.ones((n, n), dtype=_float_dtype(r)))
    m = (qt_gq - _mT(qt_gq) + r_grt - _mT(r_grt)) * tril
    r_inv_t = _mT(inv(r))
    return matmul(q, gr + matmul(m, r_inv_t)) + matmul(gq - matmul(q, qt_gq), r_inv_t)


def _qr_vjp(g, out, a, mode):
    m, n = shape_of(a)[-2:]
    q, r = _unpack(out, *_qr_shapes(m, n, mode))
    gq, gr = _unpack(g, *_qr_shapes(m, n, mode))
    if mode == "complete" and m > n:
        if np.abs(_values(gq)[..., :, n:]).max(initial=0.0) > 0:
            raise ValueError("the columns of Q beyond n of mode='complete' (m > n) are any "
                             "orthonormal completion: their gradient is not defined (use "
                             "mode='reduced')")
        q, gq = (_take(x, slice(None), slice(0, n)) for x in (q, gq))
        r, gr = (_take(x, slice(0, n), slice(None)) for x in (r, gr))
    if m >= n:
        return _qr_square_or_tall(q, r, gq, gr)
    # wide: A = [X | Y], X = Q U, R = [U | V] (TensorFlow's QrGrad)
    y = _take(a, slice(None), slice(m, None))
    u, gu, gv = _take(r, slice(None), slice(0, m)), _take(gr, slice(None), slice(0, m)), \
        _take(gr, slice(None), slice(m, None))
    dx = _qr_square_or_tall(q, u, gq + matmul(y, _mT(gv)), gu)
    return concatenate([dx, matmul(q, gv)], axis=-1)


qr.defvjp(_qr_vjp)


@qr.defcall
def qr(a, mode="reduced"):
    """QR decomposition ``a = Q @ R`` of a matrix or of each in a stack (NumPy's
    ``linalg.qr``): Q with orthonormal columns, R upper triangular, as a named tuple
    ``(Q, R)``; ``mode='reduced'`` (k = min(m, n) columns of Q), ``'complete'`` (Q m×m),
    ``'r'`` (R alone). The signs of R's diagonal are LAPACK's (Householder).

    VJP (Walter & Lehmann 2018; Seeger et al. 2017), for m >= n:
    M = tril(QᵀQ̄ - Q̄ᵀQ + R R̄ᵀ - R̄ Rᵀ), Ā = Q (R̄ + M R⁻ᵀ) + (Q̄ - Q QᵀQ̄) R⁻ᵀ; for m < n,
    A = [X | Y] with X = Q U, R = [U | V]: the same for X with Q̄ + Y V̄ᵀ, and Ȳ = Q V̄.
    Needs R's leading k×k block invertible (full rank). The columns of Q beyond n of
    ``mode='complete'`` with m > n have no gradient (any completion does): a backward
    through them raises a BackwardError naming qr.

    Raises
    ------
    ShapeError
        a with fewer than 2 axes. ValueError: a mode other than 'reduced', 'complete', 'r'
        ('raw' returns LAPACK's Householder reflectors, which carry no gradient here).
    """
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    a = as_input("qr", 0, a)
    shape = shape_of(a)
    if len(shape) < 2:
        raise ShapeError(f"qr: a must be a matrix or a stack of them, shape (..., m, n), got "
                         f"shape {shape}")
    inner = "reduced" if mode == "r" else mode
    q, r = _unpack(qr.bind(a, mode=inner), *_qr_shapes(*shape[-2:], inner))
    return r if mode == "r" else QRResult(q, r)


# -- norm --------------------------------------------------------------------------------------

def _is_matrix_ord(ord):  # noqa: A002
    if ord is None or isinstance(ord, str):
        return ord in (None, "fro", "nuc")
    return isinstance(ord, (int, float, np.integer, np.floating)) and ord in (1, -1, 2, -2, np.inf, -np.inf)


@primitive
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (NumPy's name)
    """NumPy's ``linalg.norm`` on normalised arguments (see the public ``norm``)."""
    with np.errstate(divide="ignore"):  # 0 ** p for p < 0: the norm is 0, as NumPy's
        return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def _moved(x, axes):
    """x with ``axes`` (a pair) moved last, and the permutation that undoes it."""
    nd = len(shape_of(x))
    perm = tuple(i for i in range(nd) if i not in axes) + tuple(axes)
    return transpose(x, axes=perm), tuple(int(i) for i in np.argsort(perm))


def _shared(hit, x, axes):
    """The indicator of the elements attaining an extreme, divided by their number along
    ``axes`` (ties share the gradient evenly, as ``max`` does)."""
    hit = np.asarray(hit)
    count = np.sum(hit, axis=axes, keepdims=True)
    return (hit / np.maximum(count, 1)).astype(_float_dtype(x))


def _norm_vjp(g, out, x, ord, axis, keepdims):  # noqa: A002
    shape = shape_of(x)
    axes = tuple(range(len(shape))) if axis is None else axis
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    g, out = reshape(g, shape=kept), reshape(out, shape=kept)
    positive = _values(out) > 0
    safe_out = where(positive, out, 1)
    xv = _values(x)
    if len(axes) != 2 or axis is None:  # a vector norm (or the 2-norm of everything)
        if ord is None or ord == 2:
            return where(positive, g * x / safe_out, 0)
        if ord == 0:
            return np.zeros(shape, dtype=_float_dtype(x))
        if ord == 1:
            return g * sign(x)
        if ord in (np.inf, -np.inf):
            return g * sign(x) * _shared(np.abs(xv) == _values(out), x, axes)
        a = abs(x)
        used = (np.abs(xv) > 0) & positive
        ratio = where(used, a, 1) / safe_out
        return where(used, g * sign(x) * ratio ** (ord - 1), 0)
    r, c = axes
    if ord is None or ord == "fro":
        return where(positive, g * x / safe_out, 0)
    if ord in (1, -1, np.inf, -np.inf):  # max/min over columns (1) or rows (inf) of the sums
        summed = r if ord in (1, -1) else c
        sums = np.sum(np.abs(xv), axis=summed, keepdims=True)
        other = c if summed == r else r
        return g * sign(x) * _shared(sums == _values(out), x, (other,))
    moved, back = _moved(x, axes)
    u, s, vh = svd(moved, full_matrices=False)
    if ord == "nuc":
        grad = matmul(u, vh)
    else:
        i = 0 if ord == 2 else -1
        grad = _col(_take(u, slice(None), i)) * _row(_take(vh, i, slice(None)))
    return where(positive, g * transpose(grad, axes=back), 0)


norm.defvjp(_norm_vjp)


def _norm_axes(axis, nd):
    """``axis`` as a tuple of 1 or 2 distinct non-negative axes."""
    items = (axis,) if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) else axis
    if not isinstance(items, (tuple, list)) or not 1 <= len(items) <= 2 or any(
            isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in items):
        raise TypeError(f"norm: axis must be None, an int or a pair of ints, got {axis!r}")
    for i in items:
        if not -nd <= i < nd:
            raise ValueError(f"norm: axis {i} is out of range for an input of {nd} axes")
    out = tuple(int(i) % nd for i in items)
    if len(set(out)) != len(out):
        raise ValueError(f"norm: axis {axis!r} names one axis twice")
    return out


@norm.defcall
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector and matrix norms with NumPy's ``linalg.norm`` semantics.

    ``axis`` None: the 2-norm of all elements when ``ord`` is None, else x must be 1-D
    (a vector norm) or 2-D (a matrix norm); an int: vector norms along it; a pair: matrix
    norms over those axes. Vector ``ord``: None or 2 (Euclidean), inf / -inf (max / min
    |x|), 0 (the number of nonzeros), 1, any other p ((Σ|x|ᵖ)^(1/p)). Matrix ``ord``: None or
    'fro' (Frobenius), 'nuc' (sum of singular values), 2 / -2 (largest / smallest singular
    value), 1 / -1 (max / min column sum of |x|), inf / -inf (max / min row sum).

    Gradients: x/‖x‖ (2-norm, Frobenius); sign(x) (1-norm); sign(x)·(|x|/‖x‖)^(p-1) (p-norm);
    sign(x) on the elements, rows or columns attaining a max or min (ties share evenly);
    U Vᵀ ('nuc'), u₁v₁ᵀ (2), u_k v_kᵀ (-2) from the SVD (differentiable again through
    ``svd``); 0 for ord=0. At a zero norm the gradient is 0 (a subgradient), as it is for
    an element 0 where |x|^(p-1) would be infinite (p < 1): never NaN.

    Raises
    ------
    ValueError
        An ``ord`` not valid for the number of axes (naming norm), an axis out of range or
        repeated, or axis None with ord given for an input of more than 2 axes.
    TypeError
        An axis that is not an int or a pair of ints.
    """
    x = as_input("norm", 0, x)
    nd = len(shape_of(x))
    if axis is None:
        if ord is None:
            return norm.bind(x, ord=None, axis=None, keepdims=bool(keepdims))
        if nd not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D input, got "
                             f"shape {shape_of(x)}")
        axis = tuple(range(nd))
    axes = _norm_axes(axis, nd)
    if len(axes) == 1:
        number = isinstance(ord, (int, float, np.integer, np.floating))
        if not (ord is None or number):
            raise ValueError(f"norm: invalid norm order {ord!r} for vectors (None or a number)")
    elif not _is_matrix_ord(ord):
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices (None, 'fro', 'nuc', "
                         "1, -1, 2, -2, inf or -inf)")
    return norm.bind(x, ord=ord, axis=axes, keepdims=bool(keepdims))
