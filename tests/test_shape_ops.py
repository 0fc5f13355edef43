"""Conventions of the scans, products, rearranging, indexing and N-d signal ops that the
generic spec tests do not pin: products with zeros (first and second derivatives, by hand
and against PyTorch), ties in sort and partition, the gradients of padding, split's lists,
SciPy's N-d convolution and correlation at sizes where it uses the FFT, logsumexp's
weights, and NumPy's functions recording these ops."""
import numpy as np
import pytest
import scipy.signal
import scipy.special

import tensorgrad as tg
from tensorgrad.testing import check_adjoint


def _leaf(values):
    return tg.tensor(np.asarray(values, dtype=float), requires_grad=True)


def _hessian(f, x):
    """The Hessian of the scalar f at the 1-D leaf x, row by row with create_graph."""
    (g,) = tg.grad(f(x), [x], create_graph=True)
    rows = [tg.grad(g[i], [x], retain_graph=True)[0].data for i in range(x.shape[0])]
    return g.data, np.stack(rows)


# ---- products with zeros ----------------------------------------------------------------------

def test_prod_with_one_zero_gives_the_product_of_the_others_to_that_element_only():
    grad, hess = _hessian(tg.prod, _leaf([2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(grad, [0.0, 6.0, 0.0])
    # d²/dx_i dx_j = the product of the elements other than i and j
    np.testing.assert_array_equal(hess, [[0.0, 3.0, 0.0], [3.0, 0.0, 2.0], [0.0, 2.0, 0.0]])


def test_prod_with_two_zeros_has_zero_gradient_and_the_right_second_derivative():
    grad, hess = _hessian(tg.prod, _leaf([2.0, 0.0, 3.0, 0.0]))
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0, 0.0])
    want = np.zeros((4, 4))
    want[1, 3] = want[3, 1] = 6.0  # only the pair of zeros leaves a nonzero product
    np.testing.assert_array_equal(hess, want)


def test_cumprod_with_zeros_by_hand():
    # out = [2, 0, 0]; d Σout / dx = [1 + x1 + x1·x2, x0 + x0·x2, x0·x1]
    x = _leaf([2.0, 0.0, 3.0])
    tg.cumprod(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 8.0, 0.0])
    x = _leaf([0.0, 2.0, 0.0, 3.0])  # two zeros
    tg.cumprod(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0, -1.5], [0.0, 2.0, 0.0, 3.0, 0.5],
                                    [0.0, 0.0, 0.0], [1.5, -2.0, 0.5, 3.0, 0.25, -1.0]])
@pytest.mark.parametrize("op", ["prod", "cumprod"])
def test_products_match_torch_to_second_order(values, op):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(len(values))
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(weights)
    if op == "prod":
        out_t = torch.prod(t) * 1.7
    else:
        out_t = (torch.cumprod(t, 0) * tw).sum()
    (gt,) = torch.autograd.grad(out_t, t, create_graph=True)
    hess_t = np.stack([torch.autograd.grad(gt[i], t, retain_graph=True)[0].numpy()
                       for i in range(len(values))])

    def f(x):
        return tg.prod(x) * 1.7 if op == "prod" else (tg.cumprod(x) * weights).sum()

    grad, hess = _hessian(f, _leaf(values))
    np.testing.assert_allclose(grad, gt.detach().numpy(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(hess, hess_t, rtol=1e-13, atol=1e-13)


def test_cumprod_gradient_has_no_nan_and_needs_no_division():
    # PyTorch divides by x away from zeros; tiny and huge factors show any such quotient
    x = _leaf([1e-200, 1e200, 0.0, 1e-200, 3.0])
    tg.cumprod(x).sum().backward()
    want = [sum(np.prod([x.data[k] for k in range(j + 1) if k != i]) for j in range(i, 5))
            for i in range(5)]
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-14)


def test_prod_over_axes_and_an_empty_axis():
    x = _leaf(np.arange(24.0).reshape(2, 3, 4) - 5.0)  # one zero
    tg.prod(x, axis=(0, 2)).sum().backward()
    y = x.data
    want = np.empty_like(y)
    for idx in np.ndindex(*y.shape):
        others = y[:, idx[1], :].copy()
        others[idx[0], idx[2]] = 1.0
        want[idx] = others.prod()
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-14)
    e = tg.tensor(np.ones((2, 0)), requires_grad=True)
    out = tg.prod(e, axis=1)
    np.testing.assert_array_equal(out.data, [1.0, 1.0])
    out.sum().backward()
    assert e.grad.shape == (2, 0)


def test_all_and_any_are_bool_and_carry_no_gradient():
    x = _leaf([[0.0, 1.0], [2.0, 3.0]])
    a, b = tg.all(x, axis=1), tg.any(x, axis=0, keepdims=True)
    assert a.dtype == np.bool_ and not a.requires_grad and a.tolist() == [False, True]
    assert b.tolist() == [[True, True]]
    assert tg.all(np.zeros((0,))).item() is True and tg.any(np.zeros((0,))).item() is False


# ---- sort and partition: ties -----------------------------------------------------------------

def test_sort_sends_each_cotangent_to_the_element_sorted_there_ties_in_order():
    x = _leaf([3.0, 1.0, 3.0, 2.0])
    out = tg.sort(x)
    np.testing.assert_array_equal(out.data, [1.0, 2.0, 3.0, 3.0])
    out.backward(np.array([10.0, 20.0, 30.0, 40.0]))
    np.testing.assert_array_equal(x.grad.data, [30.0, 10.0, 40.0, 20.0])


def test_sort_ties_match_torch_stable_sort():
    torch = pytest.importorskip("torch")
    values = np.array([[2.0, 1.0, 2.0, 1.0, 0.0], [5.0, 5.0, 5.0, 4.0, 5.0]])
    g = np.arange(10.0).reshape(2, 5)
    t = torch.tensor(values, requires_grad=True)
    torch.sort(t, dim=1, stable=True).values.backward(torch.tensor(g))
    x = _leaf(values)
    tg.sort(x, axis=1).backward(g)
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_sort_kinks_are_the_ties():
    op = tg.OPS["sort"]
    gaps = op.kinks(np.array([3.0, 1.0, 3.0, 1.5]), axis=-1, kind=None)
    np.testing.assert_allclose(gaps, [0.0, 0.5, 0.0, 0.5])


def test_partition_with_ties_gives_each_element_one_cotangent():
    x = _leaf([2.0, 1.0, 2.0, 0.0, 2.0])
    out = tg.partition(x, 2)
    np.testing.assert_array_equal(out.data, np.partition(x.data, 2))
    g = np.array([1.0, 10.0, 100.0, 1000.0, 10000.0])
    out.backward(g)
    perm = np.argpartition(x.data, 2)
    np.testing.assert_array_equal(x.grad.data[perm], g)  # a permutation of g, no sharing
    assert out.data[2] == 2.0 and set(out.data[:2]) == {0.0, 1.0}


# ---- pad ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "pad_width", "want"), [
    ("reflect", 2, [10.0, 12.0, 6.0]),     # [c b a b c b a]
    ("edge", (1, 2), [3.0, 3.0, 15.0]),    # [a a b c c c]
    ("symmetric", 2, [5.0, 12.0, 11.0]),   # [b a a b c c b]
    ("wrap", 2, [9.0, 12.0, 7.0]),         # [b c a b c a b]
    ("constant", (2, 1), [3.0, 4.0, 5.0]),  # [0 0 a b c 0]
])
def test_pad_gradient_adds_every_copy_by_hand(mode, pad_width, want):
    x = _leaf([1.0, 2.0, 3.0])
    out = tg.pad(x, pad_width, mode=mode)
    np.testing.assert_array_equal(out.data, np.pad(x.data, pad_width, mode=mode))
    out.backward(np.arange(1.0, out.shape[0] + 1))
    np.testing.assert_array_equal(x.grad.data, want)


def test_pad_reflect_wider_than_the_axis_and_2d_match_numpy_and_check():
    x = _leaf(np.arange(6.0).reshape(2, 3) / 7)
    for mode in ("reflect", "symmetric", "wrap", "edge"):
        out = tg.pad(x, ((3, 5), (4, 0)), mode=mode)
        np.testing.assert_array_equal(out.data, np.pad(x.data, ((3, 5), (4, 0)), mode=mode))
        assert tg.gradgradcheck(lambda t, m=mode: tg.pad(t, ((3, 5), (4, 0)), mode=m) ** 2, [x])


def test_pad_constant_values_per_axis_and_bad_widths():
    x = np.ones((2, 2))
    np.testing.assert_array_equal(tg.pad(x, 1, constant_values=((1, 2), (3, 4))).data,
                                  np.pad(x, 1, constant_values=((1, 2), (3, 4))))
    with pytest.raises(ValueError, match=r"pad: pad_width must not be negative"):
        tg.pad(x, -1)
    with pytest.raises(ValueError, match=r"pad: pad_width \(1, 2, 3\) cannot be broadcast"):
        tg.pad(x, (1, 2, 3))
    with pytest.raises(TypeError, match=r"pad: pad_width must hold integers"):
        tg.pad(x, 1.5)
    with pytest.raises(ValueError, match=r"pad: mode must be one of"):
        tg.pad(x, 1, mode="mean")
    with pytest.raises(ValueError, match=r"pad: cannot pad the empty axis 0"):
        tg.pad(np.ones((0, 2)), 1, mode="reflect")


# ---- split --------------------------------------------------------------------------------------

def test_split_returns_a_list_of_slices_each_with_its_own_gradient():
    x = _leaf(np.arange(12.0).reshape(3, 4))
    parts = tg.split(x, [1, 3], axis=1)
    assert isinstance(parts, list) and [p.shape for p in parts] == [(3, 1), (3, 2), (3, 1)]
    assert all(p.grad_fn.name == "getitem" for p in parts)
    (parts[1] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.tile([0.0, 2.0, 2.0, 0.0], (3, 1)))


def test_array_split_sizes_and_split_refusing_unequal_parts():
    x = np.arange(7.0)
    assert [p.shape[0] for p in tg.array_split(x, 3)] == [3, 2, 2]
    assert [p.shape[0] for p in tg.array_split(x, 9)] == [1] * 7 + [0, 0]
    with pytest.raises(ValueError, match=r"split: an axis of length 7 does not split into 3"):
        tg.split(x, 3)
    assert [p.tolist() for p in tg.hsplit(np.arange(4.0), 2)] == [[0.0, 1.0], [2.0, 3.0]]
    with pytest.raises(ValueError, match=r"vsplit: the input must have at least 2 dimensions"):
        tg.vsplit(x, 7)


def test_numpy_split_on_a_tensor_returns_recorded_parts():
    x = _leaf(np.arange(6.0))
    a, b = np.split(x, 2)
    assert isinstance(a, tg.Tensor) and a.requires_grad and a.tolist() == [0.0, 1.0, 2.0]
    (a * b).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0, 5.0, 0.0, 1.0, 2.0])


# ---- N-d convolution and correlation ------------------------------------------------------------

SIGNAL_SHAPES = [((40,), (9,)), ((7,), (30,)), ((12, 9), (5, 4)), ((4, 5), (6, 8)),
                 ((6, 5, 4), (3, 2, 3)), ((30, 30), (11, 11))]


@pytest.mark.parametrize(("s1", "s2"), SIGNAL_SHAPES)
@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_signal_matches_scipy_and_its_vjps_are_adjoints(name, mode, s1, s2):
    if mode == "valid" and not (all(p >= q for p, q in zip(s1, s2))
                                or all(p <= q for p, q in zip(s1, s2))):
        pytest.skip("'valid' needs one input to contain the other")
    rng = np.random.default_rng(len(s1) + s1[0])
    x, k = rng.standard_normal(s1), rng.standard_normal(s2)
    op, ref = getattr(tg.signal, name), getattr(scipy.signal, name)
    out = op(x, k, mode)
    want = ref(x, k, mode)
    assert out.shape == want.shape
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    # linear in each input: the VJP is the exact adjoint of the forward
    assert check_adjoint(lambda t: op(t, k, mode), s1) < 1e-12
    assert check_adjoint(lambda t: op(x, t, mode), s2) < 1e-12


def test_signal_second_derivatives_and_methods():
    rng = np.random.default_rng(1)
    x, k = _leaf(rng.standard_normal((4, 3))), _leaf(rng.standard_normal((2, 3)))
    for op in (tg.signal.convolve, tg.signal.correlate):
        for mode in ("full", "valid", "same"):
            for method in ("direct", "fft"):
                def f(a, b, op=op, mode=mode, method=method):
                    return op(a, b, mode, method) ** 2
                assert tg.gradgradcheck(f, [x, k]), (op.__name__, mode, method)


def test_signal_namespace_and_errors():
    assert tg.signal.correlate2d is tg.correlate2d and tg.signal.convolve2d is tg.convolve2d
    assert not hasattr(tg, "convolve") and tg.OPS["convolve"] is tg.signal.convolve
    from tensorgrad.signal import convolve  # noqa: F401 (as SciPy's module)
    with pytest.raises(tg.ShapeError, match=r"correlate: the inputs must have the same number "
                                            r"of dimensions, got shapes \(3,\) and \(2, 2\)"):
        tg.signal.correlate(np.ones(3), np.ones((2, 2)))
    with pytest.raises(tg.ShapeError, match=r"convolve: in 'valid' mode one input must be"):
        tg.signal.convolve(np.ones((3, 1)), np.ones((1, 3)), "valid")
    with pytest.raises(ValueError, match=r"convolve: method must be one of"):
        tg.signal.convolve(np.ones(3), np.ones(2), method="fast")


# ---- logsumexp's weights ---------------------------------------------------------------------

def test_logsumexp_b_matches_scipy_with_zero_and_negative_weights():
    x = np.array([[1.0, 2.0, 1000.0], [0.5, -1.0, 3.0]])
    b = np.array([1.0, 2.0, 0.0])  # the 1000 is dropped, as SciPy drops it
    np.testing.assert_allclose(tg.logsumexp(x, axis=1, b=b).data,
                               scipy.special.logsumexp(x, axis=1, b=b), rtol=1e-15)
    b = np.array([[1.0, -3.0, 0.5], [-1.0, 1.0, -0.5]])
    out, sign = tg.logsumexp(x[:, :2], axis=1, b=b[:, :2], return_sign=True)
    want, want_sign = scipy.special.logsumexp(x[:, :2], axis=1, b=b[:, :2], return_sign=True)
    np.testing.assert_allclose(out.data, want, rtol=1e-15)
    np.testing.assert_array_equal(sign.data, want_sign)
    assert not sign.requires_grad


def test_logsumexp_b_dropped_infinite_term_has_zero_gradient():
    x = _leaf([0.0, np.inf])
    out = tg.logsumexp(x, b=[1.0, 0.0])
    assert out.item() == 0.0
    out.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0])


def test_logsumexp_b_gradients_by_hand():
    x, b = _leaf([0.0, np.log(3.0)]), _leaf([2.0, 1.0])  # Σ b·exp(x) = 5
    out = tg.logsumexp(x, b=b)
    np.testing.assert_allclose(out.item(), np.log(5.0), rtol=1e-15)
    out.backward()
    np.testing.assert_allclose(x.grad.data, [2 / 5, 3 / 5], rtol=1e-15)
    np.testing.assert_allclose(b.grad.data, [1 / 5, 3 / 5], rtol=1e-15)


# ---- NumPy's functions record the ops -----------------------------------------------------------

@pytest.mark.parametrize(("call", "name"), [
    (lambda t: np.prod(t, axis=0), "prod"), (lambda t: np.multiply.reduce(t, axis=1), "prod"),
    (lambda t: np.cumsum(t, axis=1), "cumsum"), (lambda t: np.cumprod(t), "cumprod"),
    (lambda t: np.flip(t, 0), "flip"), (lambda t: np.fliplr(t), "flip"),
    (lambda t: np.roll(t, 1, axis=1), "roll"), (lambda t: np.rot90(t), "transpose"),
    (lambda t: np.moveaxis(t, 0, 1), "transpose"), (lambda t: np.ravel(t), "reshape"),
    (lambda t: np.pad(t, 1, mode="reflect"), "pad"), (lambda t: np.vstack([t, t]), "concatenate"),
    (lambda t: np.append(t, t), "concatenate"), (lambda t: np.diag(t), "diag"),
    (lambda t: np.diagonal(t, 1), "diagonal"), (lambda t: np.trace(t), "sum"),
    (lambda t: np.tril(t), "tril"), (lambda t: np.triu(t, 1), "triu"),
    (lambda t: np.take(t, [0, 2], axis=1), "take"),
    (lambda t: np.take_along_axis(t, np.array([[1], [0], [2]]), 1), "take_along_axis"),
    (lambda t: np.sort(t, axis=0), "sort"), (lambda t: np.partition(t, 1), "partition"),
    (lambda t: np.atleast_3d(t), "reshape"), (lambda t: np.hstack([t, t]), "concatenate"),
    (lambda t: np.column_stack([t, t]), "concatenate"), (lambda t: np.dstack([t]), "concatenate"),
])
def test_numpy_functions_record_the_ops(call, name):
    x = _leaf(np.arange(9.0).reshape(3, 3) / 4 - 1)
    out = call(x)
    assert isinstance(out, tg.Tensor) and out.grad_fn.name == name
    np.testing.assert_array_equal(out.data, call(x.data))
    assert tg.gradcheck(call, [x])


def test_numpy_all_and_any_record_their_ops_without_gradient():
    x = _leaf([0.0, 1.0])
    assert np.all(x).item() is False and np.any(x).item() is True
    assert isinstance(np.logical_or.reduce(x > 0), tg.Tensor)


def test_atleast_nd_shapes_and_several_inputs():
    a, b = tg.atleast_3d(np.ones(3), np.ones((2, 3)))
    assert (a.shape, b.shape) == ((1, 3, 1), (2, 3, 1))
    assert type(tg.atleast_1d(1.0, 2.0)) is tuple and tg.atleast_2d(5.0).shape == (1, 1)


# ---- forward mode: each rule agrees with the VJP exactly ----------------------------------

_RNG = np.random.default_rng(7)
_A = _RNG.standard_normal((3, 4))
_B = _RNG.standard_normal((2, 3, 4))


@pytest.mark.parametrize(("label", "f", "shapes"), [
    ("flip", lambda x: tg.flip(x, axis=1), [(3, 4)]),
    ("roll", lambda x: tg.roll(x, (1, -2), axis=(0, 1)), [(3, 4)]),
    ("pad constant", lambda x: tg.pad(x, ((1, 2), (0, 1)), constant_values=3.0), [(3, 4)]),
    ("pad reflect", lambda x: tg.pad(x, 3, mode="reflect"), [(3, 4)]),
    ("take", lambda x: tg.take(x, [[0, 2], [2, 2]], axis=1), [(3, 4)]),
    ("take_along_axis", lambda x: tg.take_along_axis(x, np.argsort(_A, 1), 1), [(3, 4)]),
    ("sort", lambda x: tg.sort(x + _A, axis=0), [(3, 4)]),
    ("sort flat", lambda x: tg.sort(x + _A, axis=None), [(3, 4)]),
    ("partition", lambda x: tg.partition(x + _B, [0, 2], axis=-1), [(2, 3, 4)]),
    ("diagonal", lambda x: tg.diagonal(x, 1, 2, 1), [(2, 3, 4)]),
    ("diag", lambda x: tg.diag(x, -1), [(3,)]),
    ("tril triu", lambda x: tg.tril(x, 1) * tg.triu(x, -1), [(2, 3, 4)]),
    ("cumsum", lambda x: tg.cumsum(x, axis=1), [(2, 3, 4)]),
    ("prod", lambda x: tg.prod(x * tg.tensor(_B > 0), axis=(0, 2), keepdims=True), [(2, 3, 4)]),
    ("convolve", lambda x, k: tg.signal.convolve(x, k, "same"), [(2, 3, 4), (2, 2, 3)]),
    ("correlate", lambda x, k: tg.signal.correlate(x, k, "valid"), [(3, 4), (2, 3)]),
])
# the VJPs' own ops (getitem, index_add, ...) declare no JVP: gradgradcheck says so
@pytest.mark.filterwarnings("ignore:.*no recorded op of vjp:UserWarning")
def test_forward_mode_rules_agree_with_the_vjps(label, f, shapes):
    rng = np.random.default_rng(len(label))
    inputs = [tg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert tg.gradcheck(f, inputs, check_forward_ad=True)
    assert tg.gradgradcheck(f, inputs, check_forward_ad=True)
    out, tangent = tg.jvp(f, tuple(inputs), tuple(np.ones(s) for s in shapes))
    np.testing.assert_allclose(out.data, f(*inputs).data)


def test_pad_refuses_a_result_larger_than_memory_before_allocating():
    with pytest.raises(ValueError, match=r"pad: the result would have shape \(2000000002, 3\).*"
                                         r"GiB.*check pad_width"):
        tg.pad(np.ones((2, 3)), ((10**9, 10**9), (0, 0)))
