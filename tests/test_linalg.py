"""Products and linear algebra beyond the generic property test: einsum's subscripts one by
one, batched decompositions against a loop over their matrices, degenerate spectra of eigh
and svd (a warning, never a silent NaN), norms at 0, the triangle conventions, and the
gradients of the decompositions against PyTorch's where its conventions matter."""
import warnings

import numpy as np
import pytest
from op_specs import EINSUM_TABLE

import tensorgrad as tg
from tensorgrad.linalg import DegenerateSpectrumWarning

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)


def _t(*shape, requires_grad=True):
    return tg.tensor(RNG.standard_normal(shape), requires_grad=requires_grad)


def _grads(fn, *xs, weights=None):
    """tensorgrad's gradients of sum(fn(*xs) * weights), random weights unless given."""
    xs = [tg.tensor(x, requires_grad=True) for x in xs]
    out = fn(*xs)
    if weights is None:
        weights = np.random.default_rng(3).standard_normal(out.shape)
    (out * weights).sum().backward()
    return [x.grad.data for x in xs], weights


def _torch_grads(fn, weights, *xs):
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    (fn(*ts) * torch.tensor(weights)).sum().backward()
    return [t.grad.numpy() for t in ts]


def _close(actual, expected, rtol=1e-9):
    np.testing.assert_allclose(actual, expected, rtol=rtol,
                               atol=rtol * max(1.0, float(np.max(np.abs(expected), initial=0))))


# -- einsum ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("subscripts", "shapes"), EINSUM_TABLE, ids=[s for s, _ in EINSUM_TABLE])
def test_einsum_subscripts_match_numpy_and_check_twice(subscripts, shapes):
    ops = [_t(*s) for s in shapes]
    out = tg.einsum(subscripts, *ops)
    expected = np.einsum(subscripts, *(o.data for o in ops))
    assert out.shape == expected.shape
    _close(out.data, expected, 1e-13)
    assert out.grad_fn.name == "einsum" and "->" in out.grad_fn.params["subscripts"]
    fn = lambda *xs: tg.einsum(subscripts, *xs)  # noqa: E731
    assert tg.gradcheck(fn, ops) and tg.gradgradcheck(fn, ops)


def test_einsum_gradients_of_repeated_labels_are_diagonal_scatters():
    x = _t(3, 3)
    tg.einsum("ii->i", x).backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad.data, np.diag([1.0, 2.0, 3.0]))
    x.grad = None
    tg.einsum("ii", x).backward()  # the trace
    np.testing.assert_array_equal(x.grad.data, np.eye(3))


@pytest.mark.parametrize("subscripts,shapes", [
    ("ij->", [(0, 3)]), ("ij,jk->ik", [(0, 3), (3, 2)]), ("ij,jk->ik", [(2, 0), (0, 2)]),
    ("ii->i", [(0, 0)]), ("ij,ij->ij", [(0, 1), (0, 3)]),
])
def test_einsum_gradients_of_empty_operands_are_empty(subscripts, shapes):
    # a label of length 0 stays 0 against a broadcast length 1 (the gradient was (1, 3))
    ops = [tg.tensor(np.ones(s), requires_grad=True) for s in shapes]
    tg.einsum(subscripts, *ops).sum().backward()
    for op, shape in zip(ops, shapes):
        assert op.grad.shape == shape


def test_einsum_records_explicit_subscripts_and_the_sublist_form():
    a, b = _t(2, 3), _t(5, 3, 4)
    assert tg.einsum("...ij,...jk", a, b).grad_fn.params["subscripts"] == "ij,Ajk->Aik"
    assert tg.einsum("ba", a).grad_fn.params["subscripts"] == "ba->ab"
    out = tg.einsum(a, [0, 1], b, [Ellipsis, 1, 2], [Ellipsis, 0, 2])
    _close(out.data, np.einsum(a.data, [0, 1], b.data, [Ellipsis, 1, 2], [Ellipsis, 0, 2]), 1e-13)


@pytest.mark.parametrize(("args", "error", "match"), [
    (("ij,jk->ik", np.ones((2, 3))), ValueError, r"einsum: subscripts 'ij,jk->ik' name 2"),
    (("ijk", np.ones((2, 3))), ValueError, r"einsum: operand 0 has shape \(2, 3\) \(2 axes\), "
                                            r"but its subscripts 'ijk' label 3 axes"),
    (("i1", np.ones((2, 3))), ValueError, r"einsum: .* the character '1'"),
    (("ij->k", np.ones((2, 3))), ValueError, r"the output label 'k' is in no operand"),
    (("ij->ii", np.ones((2, 3))), ValueError, r"the output label 'i' is repeated"),
    (("ij,jk", np.ones((2, 3)), np.ones((4, 2))), ValueError, r"^einsum: "),
    ((3, np.ones(2)), TypeError, r"einsum: in the sublist form"),
])
def test_einsum_bad_subscripts_raise_naming_einsum(args, error, match):
    with pytest.raises(error, match=match):
        tg.einsum(*args)


# -- the other products ----------------------------------------------------------------------

@pytest.mark.parametrize(("sa", "sb"), [((), (2, 3)), ((3,), (3,)), ((2, 3), (3,)),
                                        ((3,), (2, 3, 4)), ((2, 2, 3), (4, 3, 2))])
def test_dot_has_numpys_n_d_semantics(sa, sb):
    a, b = _t(*sa), _t(*sb)
    _close(tg.dot(a, b).data, np.dot(a.data, b.data), 1e-13)
    assert np.dot(a, b).grad_fn.name == "dot"  # np.dot on Tensors runs it
    assert tg.gradcheck(tg.dot, [a, b]) and tg.gradgradcheck(tg.dot, [a, b])


def test_cross_of_2_vectors_and_axes_match_numpy():
    a, b = _t(4, 2), _t(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2 deprecates 2-vectors
        _close(tg.cross(a, b).data, np.cross(a.data, b.data), 1e-14)
        c, d = _t(3, 2), _t(2, 3)
        _close(tg.cross(c, d, axisa=0, axisc=0).data,
               np.cross(c.data, d.data, axisa=0, axisc=0), 1e-14)
    assert tg.gradcheck(lambda x, y: tg.cross(x, y, axisa=0, axisc=0), [c, d])
    with pytest.raises(ValueError, match=r"cross: incompatible dimensions .* 4 and 3"):
        tg.cross(np.ones(4), np.ones(3))


def test_tensordot_pairs_and_errors():
    a, b = _t(2, 3, 4), _t(4, 3, 5)
    out = tg.tensordot(a, b, axes=([1, -1], [1, 0]))
    _close(out.data, np.tensordot(a.data, b.data, axes=([1, -1], [1, 0])), 1e-13)
    with pytest.raises(ValueError, match=r"tensordot: shapes \(2, 3, 4\) and \(4, 3, 5\) are not "
                                         r"aligned: axis 2 of a \(size 4\) is paired with axis 1"):
        tg.tensordot(a, b, axes=([2], [1]))


# -- batched shapes: a stack of matrices is each matrix on its own ----------------------------

def _per_matrix(fn, x):
    """fn on each matrix of a (2, 3, m, n) stack, stacked back."""
    return np.stack([np.stack([np.asarray(fn(x[i, j])) for j in range(3)]) for i in range(2)])


BATCHED = {
    "inv": lambda a: tg.linalg.inv(a + 4 * np.eye(3)),
    "det": lambda a: tg.linalg.det(a),
    "slogdet": lambda a: tg.linalg.slogdet(a).logabsdet,
    "matrix_power": lambda a: tg.linalg.matrix_power(a, 3),
    "cholesky": lambda a: tg.linalg.cholesky(tg.matmul(a, tg.swapaxes(a, -1, -2)) + np.eye(3)),
    "eigh": lambda a: tg.linalg.eigh(a + tg.swapaxes(a, -1, -2))[0],
    "svd": lambda a: tg.linalg.svd(a, compute_uv=False),
    "qr": lambda a: tg.linalg.qr(a, mode="r") ** 2,
    "norm_nuc": lambda a: tg.linalg.norm(a, "nuc", axis=(-2, -1)),
}


@pytest.mark.parametrize("name", BATCHED)
def test_batched_ops_equal_the_loop_over_matrices_values_and_gradients(name):
    fn = BATCHED[name]
    x = RNG.standard_normal((2, 3, 3, 3))
    grads, weights = _grads(fn, x)
    out = fn(tg.tensor(x)).data
    _close(out, _per_matrix(lambda m: fn(tg.tensor(m)).data, x), 1e-12)
    for i in range(2):
        for j in range(3):
            g, _ = _grads(fn, x[i, j], weights=weights[i, j])
            _close(grads[0][i, j], g[0], 1e-12)


def test_solve_broadcasts_its_batch_axes_and_takes_a_vector():
    a = _t(2, 1, 3, 3)
    a_data = a.data + 4 * np.eye(3)
    a = tg.tensor(a_data, requires_grad=True)
    for b in (_t(3), _t(4, 3, 2), _t(3, 1)):
        out = tg.linalg.solve(a, b)
        _close(out.data, np.linalg.solve(a.data, b.data), 1e-12)
        assert tg.gradcheck(tg.linalg.solve, [a, b])
    with pytest.raises(tg.ShapeError, match=r"solve: b must have shape \(3,\) or \(\.\.\., 3, k\)"):
        tg.linalg.solve(a, np.ones(2))


# -- degenerate spectra: a warning naming the op and the gap, never a silent NaN --------------

def _with_eigenvalues(values, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(values),) * 2))
    return q @ np.diag(values) @ q.T


def test_eigh_of_a_repeated_eigenvalue_gives_the_basis_free_gradient_without_warning():
    """The projector onto the eigenspace of the double eigenvalue, and the sum of the two
    eigenvalues, are smooth there (each eigenvalue alone is not): their gradients are
    defined, and the pairs left out are exactly the undefined terms."""
    a = tg.tensor(_with_eigenvalues([1.0, 1.0, 3.0]), requires_grad=True)

    def projector(x):
        v = tg.linalg.eigh(x)[1][:, :2]
        return tg.matmul(v, tg.swapaxes(v, 0, 1))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.gradcheck(projector, [a])
        assert tg.gradcheck(lambda x: tg.linalg.eigh(x)[0][:2].sum(), [a])


def test_eigh_warns_when_the_loss_depends_on_the_basis_of_a_repeated_eigenvalue():
    a = tg.tensor(_with_eigenvalues([1.0, 1.0, 3.0]), requires_grad=True)
    with pytest.warns(DegenerateSpectrumWarning,
                      match=r"^eigh: values 0 and 1 are equal to within rounding \(1 and 1, "
                            r"gap .*\): their vectors are not unique"):
        tg.linalg.eigh(a)[1][:, 0].sum().backward()
    assert np.all(np.isfinite(a.grad.data))


def test_a_loss_weighting_equal_eigenvalues_differently_warns():
    """V diag(w) Vᵀ is smooth in A, but written through each eigenpair its gradient at a
    repeated eigenvalue needs a pair term the cotangent does not give (w̄_0 != w̄_1 here):
    warned, not silent. A symmetric function of the values (Σ w³) weights them alike and
    is exact without a warning."""
    a = tg.tensor(_with_eigenvalues([1.0, 1.0, 3.0]), requires_grad=True)
    w, v = tg.linalg.eigh(a)
    column_sums = v.data.sum(axis=0)  # w̄_i = (Vᵀ 1 1ᵀ V)_ii = (Σ_k V_ki)²
    assert abs(column_sums[0] ** 2 - column_sums[1] ** 2) > 0.1
    with pytest.warns(DegenerateSpectrumWarning, match=r"^eigh: values 0 and 1 are equal.*"
                                                       r"weights the equal values differently"):
        tg.matmul(v * w[None, :], tg.swapaxes(v, 0, 1)).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.gradcheck(lambda x: (tg.linalg.eigh(x)[0] ** 3).sum(), [a])
    u0, _, v0 = np.linalg.svd(RNG.standard_normal((3, 3)))
    b = tg.tensor(u0 @ np.diag([2.0, 2.0, 1.0]) @ v0, requires_grad=True)
    u, s, vh = tg.linalg.svd(b)
    with pytest.warns(DegenerateSpectrumWarning, match=r"^svd: values 0 and 1 are equal"):
        tg.matmul(u * s[None, :], vh).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.gradcheck(lambda x: (tg.linalg.svd(x)[1] ** 3).sum(), [b])


def test_svd_of_repeated_singular_values():
    """2·Q: all singular values 2. Their sum and the polar factor U Vh are smooth there (no
    warning, gradients check); one singular vector is not (a warning)."""
    q, _ = np.linalg.qr(RNG.standard_normal((3, 3)))
    a = tg.tensor(2 * q, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.gradcheck(lambda x: tg.linalg.svd(x)[1].sum(), [a])
        assert tg.gradcheck(lambda x: (lambda u, s, vh: tg.matmul(u, vh))(*tg.linalg.svd(x)), [a])
    with pytest.warns(DegenerateSpectrumWarning, match=r"^svd: values \d and \d are equal"):
        tg.linalg.svd(a)[0][:, 0].sum().backward()
    assert np.all(np.isfinite(a.grad.data))


def test_svd_full_matrices_completion_and_qr_complete_have_no_gradient():
    a = _t(4, 2)
    with pytest.warns(DegenerateSpectrumWarning, match=r"svd: the loss depends on the singular "
                                                       r"vectors beyond min\(m, n\)"):
        tg.linalg.svd(a)[0].sum().backward()
    with pytest.raises(tg.BackwardError, match=r"VJP of 'qr' .* columns of Q beyond n"):
        tg.linalg.qr(a, mode="complete")[0].sum().backward()


# -- norms -----------------------------------------------------------------------------------

NORMS = [({}, (2, 3)), ({"ord": 2, "axis": 1}, (2, 3)), ({"ord": 1, "axis": 0}, (2, 3)),
         ({"ord": np.inf, "axis": 1}, (2, 3)), ({"ord": -np.inf, "axis": 1}, (2, 3)),
         ({"ord": 0.5, "axis": 1}, (2, 3)), ({"ord": -1.5, "axis": 1}, (2, 3)),
         ({"ord": 3, "axis": 0}, (2, 3)), ({"ord": 0, "axis": 1}, (2, 3)),
         ({"ord": "fro"}, (2, 3)), ({"ord": "nuc"}, (2, 3)), ({"ord": 2}, (2, 3)),
         ({"ord": -2}, (2, 3)), ({"ord": 1}, (2, 3)), ({"ord": -1}, (2, 3)),
         ({"ord": np.inf}, (2, 3)), ({"ord": -np.inf}, (2, 3)),
         ({"ord": "nuc", "axis": (2, 0), "keepdims": True}, (2, 3, 2))]


@pytest.mark.parametrize(("kwargs", "shape"), NORMS, ids=[str(k) for k, _ in NORMS])
def test_norm_at_zero_has_gradient_zero_and_no_nan(kwargs, shape):
    z = tg.tensor(np.zeros(shape), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        n = tg.linalg.norm(z, **kwargs)
        with np.errstate(divide="ignore"):  # NumPy's 0 ** -1.5
            np.testing.assert_array_equal(n.data, np.linalg.norm(np.zeros(shape), **kwargs))
        n.backward(np.ones(n.shape))
    np.testing.assert_array_equal(z.grad.data, np.zeros(shape))


def test_norm_with_a_zero_element_stays_finite():
    x = tg.tensor([[0.0, 3.0, -4.0]], requires_grad=True)
    for ord in (0.5, -1.5, 1, np.inf, 2):
        x.grad = None
        tg.linalg.norm(x, ord=ord, axis=1).sum().backward()
        assert np.all(np.isfinite(x.grad.data)) and x.grad.data[0, 0] == 0.0, ord


@pytest.mark.parametrize(("kwargs", "shape"), NORMS, ids=[str(k) for k, _ in NORMS])
def test_norm_matches_numpy_and_its_gradient_pytorchs(kwargs, shape):
    x = RNG.standard_normal(shape)
    _close(tg.linalg.norm(x, **kwargs).data, np.linalg.norm(x, **kwargs), 1e-13)
    ord, axis = kwargs.get("ord"), kwargs.get("axis")
    keepdims = kwargs.get("keepdims", False)
    if isinstance(ord, str) or (axis is None and ord is not None) or isinstance(axis, tuple):
        dims = (-2, -1) if axis is None else axis
        ref = lambda t: torch.linalg.matrix_norm(t, ord or "fro", dim=dims, keepdim=keepdims)  # noqa: E731
    else:
        ref = lambda t: torch.linalg.vector_norm(t, 2 if ord is None else ord, dim=axis,  # noqa: E731
                                                 keepdim=keepdims)
    grads, weights = _grads(lambda t: tg.linalg.norm(t, **kwargs), x)
    if ord == 0:  # the number of nonzeros: PyTorch records no gradient at all
        np.testing.assert_array_equal(grads[0], np.zeros(shape))
        return
    _close(grads[0], _torch_grads(ref, weights, x)[0], 1e-10)


def test_np_linalg_norm_is_tensorgrad_linalg_norm():
    x = _t(3, 4)
    assert np.linalg.norm(x, "nuc").grad_fn.name == "norm"
    assert np.linalg.norm(x, axis=1).grad_fn.name == "norm"


# -- triangle conventions and PyTorch's gradients ----------------------------------------------

def test_cholesky_gradient_of_a_raw_input_is_the_triangle_read():
    """LAPACK reads the lower triangle: the upper one has gradient 0, and a lower entry
    counts for itself and its mirror image, 2·S_ij for PyTorch's symmetric gradient S."""
    b = RNG.standard_normal((3, 3))
    a = b @ b.T + np.eye(3)
    (g,), weights = _grads(tg.linalg.cholesky, a)
    (sym,) = _torch_grads(torch.linalg.cholesky, weights, a)
    _close(g, np.tril(sym + sym.T, -1) + np.diag(np.diag(sym)), 1e-10)
    (g_up,), w_up = _grads(lambda t: tg.linalg.cholesky(t, upper=True), a)
    assert np.all(np.tril(g_up, -1) == 0)


TORCH_CASES = {
    "eigh": (lambda xp: lambda b: (lambda w, v: xp.concatenate([w, (v * v).reshape(-1)]))(
        *xp.linalg.eigh(b + b.T)), (4, 4)),
    "svd_tall": (lambda xp: lambda a: (lambda u, s, vh: xp.concatenate(
        [s, (u * u).reshape(-1), (vh * vh).reshape(-1)]))(
        *xp.linalg.svd(a, full_matrices=False)), (5, 3)),
    "svd_wide": (lambda xp: lambda a: (lambda u, s, vh: xp.concatenate(
        [s, (u * u).reshape(-1), (vh * vh).reshape(-1)]))(
        *xp.linalg.svd(a, full_matrices=False)), (2, 4)),
    "qr_tall": (lambda xp: lambda a: (lambda q, r: xp.concatenate(
        [q.reshape(-1), r.reshape(-1)]))(*xp.linalg.qr(a)), (4, 3)),
    "qr_wide": (lambda xp: lambda a: (lambda q, r: xp.concatenate(
        [q.reshape(-1), r.reshape(-1)]))(*xp.linalg.qr(a)), (3, 5)),
    "cholesky": (lambda xp: lambda b: xp.linalg.cholesky(b @ b.T + xp.eye(3)), (3, 3)),
    "inv": (lambda xp: lambda a: xp.linalg.inv(a + 4 * xp.eye(3)), (3, 3)),
    "det": (lambda xp: lambda a: xp.linalg.det(a), (2, 3, 3)),
    "slogdet": (lambda xp: lambda a: xp.linalg.slogdet(a)[1], (2, 3, 3)),
    "matrix_power_5": (lambda xp: lambda a: xp.linalg.matrix_power(a, 5), (3, 3)),
    "matrix_power_-3": (lambda xp: lambda a: xp.linalg.matrix_power(a + 4 * xp.eye(3), -3),
                        (3, 3)),
}


class _TorchLike:
    """tensorgrad under the names the PyTorch reference uses."""
    linalg = tg.linalg

    @staticmethod
    def concatenate(parts):
        return tg.concatenate(parts)

    @staticmethod
    def eye(n):
        return np.eye(n)


class _Torch:
    linalg = torch.linalg

    @staticmethod
    def concatenate(parts):
        return torch.cat(parts)

    @staticmethod
    def eye(n):
        return torch.eye(n, dtype=torch.float64)


@pytest.mark.parametrize("name", TORCH_CASES)
def test_decomposition_gradients_match_pytorch(name):
    make, shape = TORCH_CASES[name]
    x = RNG.standard_normal(shape)
    grads, weights = _grads(make(_TorchLike), x)
    _close(grads[0], _torch_grads(make(_Torch), weights, x)[0], 1e-9)


def test_decompositions_return_numpys_named_tuples_and_slogdets_sign_has_no_gradient():
    a = _t(3, 3)
    sign, logabsdet = tg.linalg.slogdet(a)
    assert not sign.requires_grad and logabsdet.requires_grad
    assert tg.linalg.slogdet(a).sign is not None
    assert set(tg.linalg.svd(a)._fields) == {"U", "S", "Vh"}
    assert tg.linalg.eigh(a)._fields == ("eigenvalues", "eigenvectors")
    assert tg.linalg.qr(a)._fields == ("Q", "R")
    assert np.linalg.eigh(a).eigenvalues.requires_grad  # np.linalg on Tensors runs them


def test_np_linalg_functions_record_the_ops():
    a = tg.tensor(RNG.standard_normal((3, 3)) + 4 * np.eye(3), requires_grad=True)
    assert np.linalg.inv(a).grad_fn.name == "inv"
    assert np.linalg.det(a).grad_fn.name == "det"
    assert np.linalg.solve(a, np.ones(3)).grad_fn.name == "solve"
    assert np.linalg.matrix_power(a, 2).grad_fn.name == "matrix_power"
    assert np.einsum("ij,jk", a, a).grad_fn.name == "einsum"
    assert np.kron(a, a).grad_fn.name == "kron"


def test_float32_stays_float32_through_the_decompositions():
    a = tg.tensor(RNG.standard_normal((3, 3)).astype(np.float32), requires_grad=True)
    loss = tg.linalg.svd(a)[1].sum() + tg.linalg.eigh(a)[0].sum() + tg.linalg.norm(a, "nuc")
    assert loss.dtype == np.float32
    loss.backward()
    assert a.grad.dtype == np.float32 and np.all(np.isfinite(a.grad.data))
