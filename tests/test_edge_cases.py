"""Edge cases of the elementwise ops and reductions, each pinned by hand-computed values and,
where PyTorch is importable, against PyTorch (docs/conventions.md states every convention).

- ``clip`` with array bounds broadcasts, and its gradients are summed back;
- reductions of a 0-d tensor over axis 0 / -1, and over zero-length axes;
- ``power`` at base 0 (the exponent's gradient is never NaN there);
- gradients at NaN inputs and at kinks of relu, abs, sign, clip, max, min, maximum, minimum;
- ``where`` with a branch that overflows where it is not taken;
- ``std`` of equal values (gradient 0, as PyTorch's).
"""
import warnings

import numpy as np
import pytest

import tensorgrad as tg

NAN, INF = np.nan, np.inf


def grad_of(fn, *values, dtype=np.float64, cotangent=None):
    """Gradients of ``fn(*tensors)`` with respect to each input (the cotangent defaults to
    ones), computed with every RuntimeWarning raised as an error."""
    xs = [tg.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn(*xs)
        out.backward(np.ones(out.shape) if cotangent is None else cotangent)
    return [x.grad.data for x in xs]


def torch_grad_of(torch, fn, *values, cotangent=None):
    """The same with PyTorch (float64)."""
    xs = [torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    out = fn(*xs)
    out.backward(torch.ones_like(out) if cotangent is None else torch.tensor(cotangent))
    return [x.grad.numpy() for x in xs]


def assert_same(actual, expected):
    """Equal values, NaN where NaN and infinities of the same sign (rounding allowed)."""
    np.testing.assert_allclose(actual, expected, rtol=1e-13, atol=0)


# ----------------------------------------------------------------------------------------
# clip with array bounds
# ----------------------------------------------------------------------------------------

def test_clip_broadcasts_array_bounds_and_sums_the_gradient_back():
    x = tg.tensor(np.ones((5, 1)), requires_grad=True)
    y = tg.clip(x, lo=np.zeros(5))
    assert y.shape == (5, 5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((5, 1), 5.0))


def test_clip_bounds_that_require_grad_get_the_gradient_where_the_result_is_theirs():
    x, lo, hi = [0.5, 2.0, -1.0, 0.3], [0.0, 0.0, 0.0, 0.5], [1.0, 1.0, 1.0, 0.2]
    gx, glo, ghi = grad_of(lambda a, b, c: tg.clip(a, b, c), x, lo, hi)
    np.testing.assert_array_equal(gx, [1, 0, 0, 0])
    np.testing.assert_array_equal(glo, [0, 0, 1, 0])
    np.testing.assert_array_equal(ghi, [0, 1, 0, 1])  # lo > hi: the result is hi


def test_clip_bound_gradients_broadcast_back_to_the_bounds_shapes():
    x = np.linspace(-2, 2, 12).reshape(3, 4)
    gx, glo, ghi = grad_of(lambda a, b, c: tg.clip(a, b, c), x, [[-1.0], [0.0], [1.5]],
                           [0.5, 0.5, 1.0, 2.0])
    assert gx.shape == (3, 4) and glo.shape == (3, 1) and ghi.shape == (4,)
    lo, hi = np.array([[-1.0], [0.0], [1.5]]), np.array([0.5, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(gx, (x > lo) & (x < hi))
    np.testing.assert_array_equal(glo, ((x <= lo) & (lo < hi)).sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(ghi, ((x >= hi) | (hi <= lo)).sum(axis=0))
    assert tg.gradcheck(lambda a, b, c: tg.clip(a, b, c),
                        [tg.tensor(v, requires_grad=True) for v in (x + 0.05, lo, hi)])


def test_clip_refuses_bounds_that_do_not_broadcast():
    with pytest.raises(tg.ShapeError, match=r"clip: shapes \(5, 2\), \(3,\)"):
        tg.clip(tg.tensor(np.ones((5, 2))), lo=np.zeros(3))
    with pytest.raises(ValueError, match="clip: at least one of lo and hi"):
        tg.clip(tg.tensor([1.0]))


def test_clip_with_array_bounds_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.ones((5, 1))
    (ours,) = grad_of(lambda a: tg.clip(a, lo=np.zeros(5)), x)
    (theirs,) = torch_grad_of(torch, lambda a: torch.clamp(a, min=torch.zeros(5, dtype=a.dtype)), x)
    np.testing.assert_array_equal(ours, theirs)
    # bounds as Tensors, away from the bounds (where the conventions differ, see below)
    x, lo, hi = [0.5, 2.0, -1.0, 0.3], [0.0, 0.0, 0.0, 0.5], [1.0, 1.0, 1.0, 0.2]
    ours = grad_of(lambda a, b, c: tg.clip(a, b, c), x, lo, hi)
    theirs = torch_grad_of(torch, torch.clamp, x, lo, hi)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------
# Reductions of a 0-d tensor and over zero-length axes
# ----------------------------------------------------------------------------------------

REDUCTIONS = ["sum", "mean", "max", "min", "logsumexp"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [0, -1, None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reducing_a_0d_tensor_gives_0d_and_passes_the_gradient(name, axis, keepdims):
    x = tg.tensor(2.5, requires_grad=True)
    y = getattr(tg, name)(x, axis=axis, keepdims=keepdims)
    assert y.shape == ()
    assert y.item() == 2.5  # logsumexp of one element is that element
    y.backward()
    assert x.grad.shape == () and x.grad.item() == 1.0


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reducing_a_0d_tensor_over_axis_1_is_refused(name):
    with pytest.raises(tg.ShapeError, match=f"{name}: axis 1 is out of range .* 0 dimension"):
        getattr(tg, name)(tg.tensor(2.5), axis=1)


@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_of_a_0d_tensor(axis):
    (g,) = grad_of(lambda t: tg.softmax(t, axis=axis), 2.5)
    assert tg.softmax(tg.tensor(2.5), axis=axis).item() == 1.0
    assert tg.log_softmax(tg.tensor(2.5), axis=axis).item() == 0.0
    assert g == 0.0
    with pytest.raises(tg.ShapeError, match="axis 1 is out of range"):
        tg.softmax(tg.tensor(2.5), axis=1)


def test_0d_reductions_match_torch():
    torch = pytest.importorskip("torch")
    pairs = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin,
             "logsumexp": torch.logsumexp}
    for name, tfn in pairs.items():
        for axis in (0, -1):
            x = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
            ty = tfn(x, axis)
            ty.backward()
            y = getattr(tg, name)(tg.tensor(2.5), axis=axis)
            assert y.shape == tuple(ty.shape) and y.item() == ty.item()
            assert x.grad.item() == 1.0


def test_sum_mean_logsumexp_over_a_zero_length_axis():
    x = tg.tensor(np.zeros((3, 0)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice" warning
        np.testing.assert_array_equal(tg.sum(x, axis=1).data, [0.0, 0.0, 0.0])
        np.testing.assert_array_equal(tg.mean(x, axis=1).data, [NAN, NAN, NAN])
        np.testing.assert_array_equal(tg.logsumexp(x, axis=1).data, [-INF, -INF, -INF])
        assert np.isnan(tg.mean(x).item()) and tg.sum(x).item() == 0.0
        assert tg.logsumexp(tg.tensor(np.zeros(0))).item() == -INF
        assert tg.mean(tg.tensor(np.zeros((0, 2), np.float32)), axis=0).dtype == np.float32
        for name in ("sum", "mean", "logsumexp"):
            x.grad = None
            getattr(tg, name)(x, axis=1).backward(np.ones(3))
            assert x.grad.shape == (3, 0)
    # over a non-empty axis of an empty input: an empty result, as NumPy gives
    assert tg.max(tg.tensor(np.zeros((0, 3))), axis=1).shape == (0,)
    assert tg.sum(x, axis=0).shape == (0,)


@pytest.mark.parametrize("name,what", [("max", "maximum"), ("min", "minimum")])
def test_max_min_over_a_zero_length_axis_raise_a_clear_error(name, what):
    fn = getattr(tg, name)
    with pytest.raises(tg.ShapeError, match=rf"{name}: cannot take the {what} over a "
                                            r"zero-length axis \(input of shape \(3, 0\)"):
        fn(tg.tensor(np.zeros((3, 0))), axis=1)
    with pytest.raises(ValueError, match=f"{name}: cannot take the {what}"):
        fn(tg.tensor(np.zeros(0)))


def test_softmax_over_zero_length_axes_gives_empty_results():
    for shape, axis in [((5, 0, 0), -1), ((3, 0), 1), ((0, 3), 0), ((0,), 0)]:
        for fn in (tg.softmax, tg.log_softmax):
            x = tg.tensor(np.zeros(shape), requires_grad=True)
            y = fn(x, axis=axis)
            assert y.shape == shape
            y.backward(np.ones(shape))
            assert x.grad.shape == shape


def test_empty_reductions_match_torch():
    torch = pytest.importorskip("torch")
    z = np.zeros((3, 0))
    pairs = [(tg.sum, torch.sum), (tg.mean, torch.mean), (tg.logsumexp, torch.logsumexp)]
    for ours, theirs in pairs:
        expected = theirs(torch.tensor(z), 1).numpy()
        np.testing.assert_array_equal(ours(tg.tensor(z), axis=1).data, expected)
    assert np.isnan(tg.mean(tg.tensor(z)).item()) and torch.mean(torch.tensor(z)).isnan()
    for shape, axis in [((5, 0, 0), -1), ((3, 0), 1)]:
        assert tg.softmax(tg.tensor(np.zeros(shape)), axis=axis).shape == tuple(
            torch.softmax(torch.zeros(shape), axis).shape)
    with pytest.raises(IndexError, match="non-zero size"):
        torch.amax(torch.tensor(z), 1)  # PyTorch refuses it too


# ----------------------------------------------------------------------------------------
# power at base 0
# ----------------------------------------------------------------------------------------

# (exponent, d(b**e)/db, d(b**e)/de) at b = 0: PyTorch's values, worked out by hand:
# db = e·0^(e-1); de = 0^e·log 0 for e < 0 (inf·-inf = -inf), 0 for e >= 0
POWER_AT_ZERO = [(-1.0, -INF, -INF), (-0.3, -INF, -INF), (0.0, 0.0, 0.0), (0.5, INF, 0.0),
                 (1.0, 1.0, 0.0), (2.0, 0.0, 0.0)]


def _power_grads(b, e):
    with np.errstate(divide="ignore"):  # the forward's 0 ** negative warning
        bt = tg.tensor([b], requires_grad=True)
        et = tg.tensor([e], requires_grad=True)
        y = bt ** et
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the backward warns of nothing
        y.backward(np.ones(1))
    return bt.grad.item(), et.grad.item()


@pytest.mark.parametrize("e,db,de", POWER_AT_ZERO)
def test_power_gradients_at_base_zero(e, db, de):
    assert _power_grads(0.0, e) == (db, de)


def test_power_at_zero_base_negative_exponent_is_never_nan():
    db, de = _power_grads(0.0, -0.3)
    assert db == -INF and de == -INF
    db, de = _power_grads(2.0, 0.0)
    assert db == 0.0 and de == pytest.approx(np.log(2.0), rel=1e-15)


def test_power_at_base_zero_matches_torch():
    torch = pytest.importorskip("torch")
    for e, _, _ in POWER_AT_ZERO:
        b = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
        et = torch.tensor([e], dtype=torch.float64, requires_grad=True)
        (b ** et).sum().backward()
        assert _power_grads(0.0, e) == (b.grad.item(), et.grad.item())


# ----------------------------------------------------------------------------------------
# NaN inputs: PyTorch's gradients (NumPy's forward values)
# ----------------------------------------------------------------------------------------

NAN_CASES = {  # name: (tensorgrad function, expected gradient at x = [NaN, 1, -1])
    "relu": (tg.relu, [1.0, 1.0, 0.0]),
    "abs": (tg.abs, [0.0, 1.0, -1.0]),
    "clip": (lambda t: tg.clip(t, -0.5, 0.5), [0.0, 0.0, 0.0]),
    "clip_lo": (lambda t: tg.clip(t, lo=0.0), [0.0, 1.0, 0.0]),
    "max": (tg.max, [NAN, NAN, NAN]),
    "min": (tg.min, [NAN, NAN, NAN]),
    "maximum": (lambda t: tg.maximum(t, np.full(3, 0.5)), [1.0, 1.0, 0.0]),
    "minimum": (lambda t: tg.minimum(t, np.full(3, 0.5)), [1.0, 0.0, 1.0]),
}


@pytest.mark.parametrize("name", list(NAN_CASES))
def test_gradient_at_nan_by_hand(name):
    fn, expected = NAN_CASES[name]
    (g,) = grad_of(fn, [NAN, 1.0, -1.0])
    np.testing.assert_array_equal(g, expected)
    assert np.isnan(fn(tg.tensor([NAN, 1.0, -1.0])).data.flat[0])  # NaN stays NaN forward


def test_max_min_over_an_axis_nan_only_in_the_slices_holding_nan():
    x = [[NAN, 1.0, 2.0], [1.0, 3.0, 3.0]]
    (g,) = grad_of(lambda t: tg.max(t, axis=1), x)
    np.testing.assert_array_equal(g, [[NAN, NAN, NAN], [0.0, 0.5, 0.5]])
    (g,) = grad_of(lambda t: tg.min(t, axis=0, keepdims=True), x)
    np.testing.assert_array_equal(g, [[NAN, 1.0, 1.0], [NAN, 0.0, 0.0]])


def test_maximum_minimum_give_g_to_both_inputs_at_nan():
    ga, gb = grad_of(tg.maximum, [1.0, NAN], [NAN, 1.0])
    np.testing.assert_array_equal(ga, [1.0, 1.0])
    np.testing.assert_array_equal(gb, [1.0, 1.0])
    ga, gb = grad_of(tg.minimum, [1.0, NAN], [NAN, NAN])
    np.testing.assert_array_equal(ga, [1.0, 1.0])
    np.testing.assert_array_equal(gb, [1.0, 1.0])


def test_sign_of_nan_is_numpys_and_carries_no_gradient():
    s = tg.sign(tg.tensor([NAN, -2.0, 0.0, 3.0], requires_grad=True))
    np.testing.assert_array_equal(s.data, [NAN, -1.0, 0.0, 1.0])
    assert not s.requires_grad


TORCH_NAN = {"relu": "relu", "abs": "abs", "clip": lambda torch: lambda t: torch.clamp(t, -0.5, 0.5),
             "clip_lo": lambda torch: lambda t: torch.clamp(t, min=0.0), "max": "amax",
             "min": "amin",
             "maximum": lambda torch: lambda t: torch.maximum(t, torch.full((3,), 0.5,
                                                                             dtype=t.dtype)),
             "minimum": lambda torch: lambda t: torch.minimum(t, torch.full((3,), 0.5,
                                                                             dtype=t.dtype))}


@pytest.mark.parametrize("name", list(NAN_CASES))
def test_gradient_at_nan_matches_torch(name):
    torch = pytest.importorskip("torch")
    spec = TORCH_NAN[name]
    tfn = getattr(torch, spec) if isinstance(spec, str) else spec(torch)
    (theirs,) = torch_grad_of(torch, tfn, [NAN, 1.0, -1.0])
    (ours,) = grad_of(NAN_CASES[name][0], [NAN, 1.0, -1.0])
    np.testing.assert_array_equal(ours, theirs)


def test_nan_in_reductions_and_binary_ops_match_torch():
    torch = pytest.importorskip("torch")
    x = [[NAN, 1.0, 2.0], [1.0, 3.0, 3.0]]
    for ours, theirs in [(lambda t: tg.max(t, axis=1), lambda t: torch.amax(t, 1)),
                         (lambda t: tg.min(t, axis=0), lambda t: torch.amin(t, 0))]:
        np.testing.assert_array_equal(grad_of(ours, x)[0], torch_grad_of(torch, theirs, x)[0])
    for ours, theirs in [(tg.maximum, torch.maximum), (tg.minimum, torch.minimum)]:
        a, b = [1.0, NAN, NAN, 2.0], [NAN, 1.0, NAN, 2.0]
        for u, v in zip(grad_of(ours, a, b), torch_grad_of(torch, theirs, a, b)):
            np.testing.assert_array_equal(u, v)
    # the one difference: NumPy's sign(NaN) is NaN, PyTorch's is 0 (neither has a gradient)
    assert torch.sign(torch.tensor(NAN)).item() == 0.0


# ----------------------------------------------------------------------------------------
# Kinks: relu'(0) = abs'(0) = 0, ties share evenly, clip passes strictly inside
# ----------------------------------------------------------------------------------------

def test_kinks_match_torch_except_clip_at_its_bounds():
    torch = pytest.importorskip("torch")
    x = [-1.0, 0.0, 2.0]
    for ours, theirs in [(tg.relu, torch.relu), (tg.abs, torch.abs)]:
        np.testing.assert_array_equal(grad_of(ours, x)[0], torch_grad_of(torch, theirs, x)[0])
    a, b = [1.0, 2.0, 3.0], [1.0, 5.0, 0.0]
    for ours, theirs in [(tg.maximum, torch.maximum), (tg.minimum, torch.minimum)]:
        for u, v in zip(grad_of(ours, a, b), torch_grad_of(torch, theirs, a, b)):
            np.testing.assert_array_equal(u, v)
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    for ours, theirs in [(lambda t: tg.max(t, axis=1), lambda t: torch.amax(t, 1)),
                         (lambda t: tg.min(t, axis=1), lambda t: torch.amin(t, 1)),
                         (tg.max, torch.amax)]:
        np.testing.assert_allclose(grad_of(ours, x)[0], torch_grad_of(torch, theirs, x)[0],
                                   rtol=1e-15)
    # clip at its bounds: tensorgrad passes nothing to x, the bound gets it; PyTorch's clamp
    # passes it to x. Both give the whole cotangent to exactly one input.
    x, lo, hi = [-1.0, 1.0, 0.0], [-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]
    ours = grad_of(lambda a, b, c: tg.clip(a, b, c), x, lo, hi)
    theirs = torch_grad_of(torch, torch.clamp, x, lo, hi)
    np.testing.assert_array_equal(ours[0], [0, 0, 1])
    np.testing.assert_array_equal(theirs[0], [1, 1, 1])
    np.testing.assert_array_equal(ours[1] + ours[2], [1, 1, 0])
    np.testing.assert_array_equal(theirs[1] + theirs[2], [0, 0, 0])


def test_std_of_equal_values_has_gradient_zero_to_second_order():
    # std is a cone where every value along the axis is equal: 0 is a subgradient (as
    # PyTorch's std and linalg.norm at 0), never NaN, and no warning is raised on the way
    x = [[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]
    g = grad_of(lambda t: tg.std(t, axis=1), x)[0]
    assert_same(g[0], [0.0, 0.0, 0.0])
    mean, dev = np.mean(x[1]), np.std(x[1])
    assert_same(g[1], (np.asarray(x[1]) - mean) / (3 * dev))     # (x - mean) / (n std)
    assert_same(grad_of(lambda t: tg.std(t, ddof=1), [5.0, 5.0])[0], [0.0, 0.0])
    t = tg.tensor([3.0, 3.0], requires_grad=True)
    (d,) = tg.grad(tg.std(t), t, create_graph=True)
    (dd,) = tg.grad(d.sum(), t)
    np.testing.assert_array_equal(dd.data, [0.0, 0.0])
    assert tg.std(tg.tensor(np.float32([1.0, 1.0]))).dtype == np.float32
    assert np.isnan(tg.std(tg.tensor([1.0, NAN])).data)     # NaN still propagates
    torch = pytest.importorskip("torch")
    assert_same(g, torch_grad_of(torch, lambda t: torch.std(t, dim=1, correction=0), x)[0])


def test_clip_with_one_bound_has_relus_gradient():
    x = [-1.0, 0.0, 2.0]
    np.testing.assert_array_equal(grad_of(lambda t: tg.clip(t, lo=0.0), x)[0],
                                  grad_of(tg.relu, x)[0])


# ----------------------------------------------------------------------------------------
# where with a branch that overflows where it is not taken
# ----------------------------------------------------------------------------------------

def _where_grad(fn, values, dtype, singular=False):
    """Gradient of ``fn``. The forward's warnings are silenced, and the backward's overflow
    warnings (a local derivative such as 200·1000^199 overflows); any other warning of the
    backward is an error, unless ``singular`` (NumPy warns of the NaN a true singularity
    makes, e.g. 0/0 in sqrt's VJP at 0)."""
    x = tg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)
    with np.errstate(all="ignore"):
        y = fn(x)
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("error")
        if singular:
            warnings.simplefilter("ignore", RuntimeWarning)
        y.backward(np.ones(y.shape, dtype=dtype))
    return x.grad.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_where_with_an_overflowing_untaken_branch_has_the_right_gradient(dtype):
    g = _where_grad(lambda x: tg.where(x < 50, tg.exp(x), x), [1000.0, 1.0, -3.0], dtype)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, [1.0, np.e, np.exp(-3.0)], rtol=1e-6)


@pytest.mark.parametrize("fn,expected", [
    (lambda x: tg.where(x < 50, x * tg.exp(x), x), 1.0),  # through multiply's other input
    (lambda x: tg.where(x < 50, tg.exp(x) ** 2, x), 1.0),  # through power's base
    (lambda x: tg.where(x < 50, x ** 200.0, 2 * x), 2.0),  # power overflows by itself
    (lambda x: tg.where(x < 50, 10.0 ** x, x), 1.0),  # an exponent that requires grad
    (lambda x: tg.where(x < 50, tg.exp(x) / 3.0, -x), -1.0),  # divide's numerator
    (lambda x: tg.where(x < 50, 1e300 / x ** -3.0, x), 1.0),  # divide: x/y overflows
    (lambda x: tg.exp(x) * 0.0 + x, 1.0),  # a zero cotangent without where: 0·e^1000 is 0
])
def test_overflow_never_poisons_a_zero_cotangent(fn, expected):
    assert _where_grad(fn, [1000.0], np.float64)[0] == expected


def test_where_overflow_matches_torch_with_the_double_where_rewrite():
    """PyTorch gives NaN for the plain expression; written with a second where (the JAX FAQ's
    "double where") it gives the exact gradient, which tensorgrad gives for the plain one."""
    torch = pytest.importorskip("torch")
    values = np.array([1000.0, 40.0, 1.0, -3.0], dtype=np.float32)
    t = torch.tensor(values, requires_grad=True)
    torch.where(t < 50, torch.exp(torch.where(t < 50, t, 0.0)), t).sum().backward()
    ours = _where_grad(lambda x: tg.where(x < 50, tg.exp(x), x), values, np.float32)
    np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-6)


def test_where_overflow_second_derivative_is_finite():
    x = tg.tensor([1000.0, 1.0], requires_grad=True)
    with np.errstate(over="ignore"):
        y = tg.where(x < 50, tg.exp(x), x * x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (g,) = tg.grad(y.sum(), x, create_graph=True)
        (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(g.data, [2000.0, np.e], rtol=1e-15)
    np.testing.assert_allclose(h.data, [2.0, np.e], rtol=1e-15)


def test_true_singularities_still_give_nan():
    """A zero cotangent times an infinite derivative that is not an overflow stays NaN:
    sqrt(x)**2 at 0 has derivative 1, and 0 would be a silent wrong answer."""
    for fn in [lambda x: tg.sqrt(x) ** 2, lambda x: (x ** 0.5) ** 2,
               lambda x: 0.0 * (1.0 / x), lambda x: 0.0 * tg.log(x),
               # an untaken branch that is singular there: NaN, as in PyTorch and JAX ...
               lambda x: tg.where(x > 0, tg.sqrt(x), 0.0)]:
        assert np.isnan(_where_grad(fn, [0.0], np.float64, singular=True)[0])
    # ... and the domain-keeping rewrite gives the right 0
    g = _where_grad(lambda x: tg.where(x > 0, tg.sqrt(tg.where(x > 0, x, 1.0)), 0.0),
                    [0.0, -1.0, 4.0], np.float64)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.25])


def test_nan_cotangents_and_nan_inputs_still_propagate():
    x = tg.tensor([1.0, NAN], requires_grad=True)
    tg.exp(x).backward(np.array([NAN, 0.0]))
    assert np.isnan(x.grad.data).all()  # NaN·e and 0·exp(NaN)
