"""Hand-computed cases with exact values: convolutions from the seed notebook, small graphs,
broadcasting, numerical stability, kink conventions, indexing, error messages, and a
Hessian-vector product derived by hand.
"""
import warnings

import numpy as np
import pytest
import scipy.signal
import scipy.special

import tensorgrad as tg
import tensorgrad.data
import tensorgrad.testing

# ----------------------------------------------------------------------------------------
# Convolution and correlation (the notebook's examples)
# ----------------------------------------------------------------------------------------

I = np.array([[1, 6, 2], [5, 3, 1], [7, 0, 4]])  # noqa: E741 (the notebook's name)


def test_convolve2d_valid_by_hand():
    out = tg.convolve2d(I, [[2, 0], [1, -1]], "valid")
    np.testing.assert_array_equal(out, [[11, -2], [-2, 6]])


def test_correlate2d_valid_by_hand():
    np.testing.assert_array_equal(tg.correlate2d(I, [[2, 0], [1, -1]], "valid"),
                                  [[4, 14], [17, 2]])
    np.testing.assert_array_equal(tg.correlate2d(I, [[0, -1], [2, 1]], "valid"),
                                  [[7, 5], [11, 3]])


def test_convolution_is_correlation_with_the_kernel_rotated():
    k = np.array([[2, 0], [1, -1]])
    np.testing.assert_array_equal(tg.convolve2d(I, k, "valid"),
                                  tg.correlate2d(I, np.rot90(k, 2), "valid"))


def test_default_mode_is_full():
    k = np.array([[2, 0], [1, -1]])
    for fn, ref in [(tg.correlate2d, scipy.signal.correlate2d),
                    (tg.convolve2d, scipy.signal.convolve2d)]:
        out = fn(I, k)
        assert out.shape == (4, 4)
        np.testing.assert_array_equal(out, ref(I, k, "full"))


X = np.arange(9.0).reshape(3, 3)
K = np.array([[1.0, 0.0], [0.0, -1.0]])


def test_correlate2d_valid_gradients_by_hand():
    x = tg.tensor(X, requires_grad=True)
    k = tg.tensor(K, requires_grad=True)
    y = tg.correlate2d(x, k, "valid")
    np.testing.assert_array_equal(y, [[-4, -4], [-4, -4]])
    y.backward(np.ones((2, 2)))  # G
    np.testing.assert_array_equal(k.grad, [[8, 12], [20, 24]])  # X ⋆ G
    np.testing.assert_array_equal(x.grad, [[1, 1, 0], [1, 0, -1], [0, -1, -1]])  # G ∗full K


def test_correlate2d_full_by_hand():
    np.testing.assert_array_equal(
        tg.correlate2d(X, K, "full"),
        [[0, -1, -2, 0], [-3, -4, -4, 2], [-6, -4, -4, 5], [0, 6, 7, 8]])


def test_valid_mode_neither_input_containing_the_other_raises():
    with pytest.raises(ValueError, match=r"correlate2d.*\(2, 5\).*\(3, 2\)"):
        tg.correlate2d(np.ones((2, 5)), np.ones((3, 2)), "valid")


SIGNAL_SHAPES = [((3, 4), (2, 3)), ((2, 3), (3, 4)), ((1, 1), (1, 2)), ((1, 2), (3, 1)),
                 ((4, 2), (2, 4)), ((2, 2), (1, 2)), ((4, 3), (1, 3)), ((1, 3), (4, 3))]

def _signal_params():
    for fn in (tg.correlate2d, tg.convolve2d):
        for mode in ("full", "valid", "same"):
            for s1, s2 in SIGNAL_SHAPES:
                if mode == "valid" and not (all(a >= b for a, b in zip(s1, s2))
                                            or all(a <= b for a, b in zip(s1, s2))):
                    continue  # an error in valid mode, tested above
                yield pytest.param(fn, mode, s1, s2,
                                   id=f"{fn.name}-{mode}-{s1}-{s2}")


@pytest.mark.parametrize(("fn", "mode", "s1", "s2"), list(_signal_params()))
def test_signal_gradients_every_mode_and_size_order(fn, mode, s1, s2):
    """Including SciPy's behaviour when the second input is the larger one."""
    rng = np.random.default_rng(0)
    a = tg.tensor(rng.standard_normal(s1), requires_grad=True)
    b = tg.tensor(rng.standard_normal(s2), requires_grad=True)
    ref = {"correlate2d": scipy.signal.correlate2d, "convolve2d": scipy.signal.convolve2d}
    np.testing.assert_allclose(fn(a, b, mode), ref[fn.name](a.data, b.data, mode), rtol=1e-12)
    assert tg.gradcheck(lambda p, q: fn(p, q, mode), (a, b))


# ----------------------------------------------------------------------------------------
# Small graphs and broadcasting
# ----------------------------------------------------------------------------------------

def test_scalar_graph_by_hand():
    a = tg.tensor(2.0, requires_grad=True)
    b = tg.tensor(3.0, requires_grad=True)
    c = a + b
    d = a * b
    e = c + d
    f = c * d
    y = e + f
    assert y.item() == 41.0
    y.backward()
    assert a.grad.item() == 25.0
    assert b.grad.item() == 19.0


def test_broadcast_gradient_sums_over_the_broadcast_axes():
    a = tg.tensor([2.0], requires_grad=True)
    b = tg.tensor(np.arange(20.0).reshape(5, 4), requires_grad=True)
    tg.sum(a * b).backward()
    assert a.grad.shape == (1,)
    np.testing.assert_array_equal(a.grad, [190.0])
    np.testing.assert_array_equal(b.grad, np.full((5, 4), 2.0))


def test_outer_broadcast_keeps_both_shapes():
    a = tg.tensor([[1.0], [2.0], [3.0], [4.0]], requires_grad=True)
    b = tg.tensor([[10.0, 20.0, 30.0, 40.0]], requires_grad=True)
    tg.sum(a * b).backward()
    assert a.grad.shape == (4, 1) and b.grad.shape == (1, 4)
    np.testing.assert_array_equal(a.grad, np.full((4, 1), 100.0))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), 10.0))


def test_sum_of_broadcast_to():
    x = tg.tensor(np.ones(3), requires_grad=True)
    tg.sum(tg.broadcast_to(x, (4, 3))).backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0, 4.0])


def test_deep_chain_has_no_recursion_limit():
    x = tg.tensor(0.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    assert y.item() == 100_000.0
    y.backward()
    assert x.grad.item() == 1.0


# Known engine bug (tensorgrad/ops/products.py, _matmul_vjp_b): for 1-D @ 1-D the cotangent
# is 0-d and expand_dims(g, -2) makes it (1,), so b's gradient comes out (n, 1).
@pytest.mark.parametrize(("sa", "sb"), [((3,), (3,)),
                                        ((2, 3), (3,)), ((3,), (3, 2)),
                                        ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
                                        ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 1))])
def test_matmul_every_signature(sa, sb):
    """NumPy's matmul signatures (n?,k),(k,m?): 1-D operands and broadcast batches."""
    rng = np.random.default_rng(1)
    a = tg.tensor(rng.standard_normal(sa), requires_grad=True)
    b = tg.tensor(rng.standard_normal(sb), requires_grad=True)
    out = a @ b
    np.testing.assert_allclose(out, np.matmul(a.data, b.data), rtol=1e-12)
    out.backward(np.ones(out.shape))
    assert a.grad.shape == sa and b.grad.shape == sb
    assert tg.gradcheck(tg.matmul, (a, b))


# ----------------------------------------------------------------------------------------
# Numerical stability
# ----------------------------------------------------------------------------------------

def test_sigmoid_saturates_without_warnings():
    x = tg.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = tg.sigmoid(x)
        np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])
        y.backward(np.ones(3))
    assert not np.any(np.isnan(x.grad.data))
    np.testing.assert_array_equal(x.grad, [0.0, 0.25, 0.0])


def test_sigmoid_gradient_far_in_the_tail():
    x = tg.tensor(-100.0, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.sigmoid(x).backward()
    expected = scipy.special.expit(-100.0) * scipy.special.expit(100.0)  # ≈ 3.72e-44
    assert x.grad.item() == pytest.approx(3.720075976020836e-44, rel=1e-12)
    assert x.grad.item() == pytest.approx(expected, rel=1e-12)


def _bce_torch_formula(p, t):
    """PyTorch: -(t·max(log p, -100) + (1-t)·max(log(1-p), -100))."""
    with np.errstate(divide="ignore"):
        return -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))


def test_binary_cross_entropy_at_exact_zero_and_one():
    p = tg.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = tg.binary_cross_entropy(p, np.array([0.0, 1.0]), reduction="none")
        np.testing.assert_array_equal(loss, [0.0, 0.0])
        loss.backward(np.ones(2))
    assert np.all(np.isfinite(p.grad.data))
    wrong = tg.binary_cross_entropy(tg.tensor([0.0, 1.0]), np.array([1.0, 0.0]), reduction="none")
    np.testing.assert_array_equal(wrong, [100.0, 100.0])  # the log clamped at -100


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_reductions_match_the_torch_formula(reduction):
    p = np.array([[0.1, 0.9, 0.5], [0.0, 0.3, 1.0]])
    t = np.array([[0.0, 1.0, 0.25], [0.0, 1.0, 0.0]])
    ref = _bce_torch_formula(p, t)
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tg.binary_cross_entropy(tg.tensor(p), tg.tensor(t), reduction=reduction)
    np.testing.assert_allclose(out, ref, rtol=1e-14)


def test_log_sum_exp_family_at_magnitude_1000():
    x = np.array([1000.0, -1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lse = tg.logsumexp(tg.tensor(x))
        sm = tg.softmax(tg.tensor(x))
        lsm = tg.log_softmax(tg.tensor(x))
    assert lse.item() == 1000.0
    np.testing.assert_array_equal(sm, [1.0, 0.0])
    np.testing.assert_array_equal(lsm, [0.0, -2000.0])
    for t in (lse, sm, lsm):
        assert not np.any(np.isnan(t.data))


def test_cross_entropy_stable_at_magnitude_1000():
    logits = tg.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = tg.cross_entropy(logits, np.array([1, 1]), reduction="none")
        np.testing.assert_array_equal(loss, [2000.0, 0.0])
        mean = tg.cross_entropy(logits, np.array([1, 1]))
        mean.backward()
    assert mean.item() == 1000.0
    # d/dlogits of the mean = (softmax - onehot) / N
    np.testing.assert_array_equal(logits.grad, [[0.5, -0.5], [0.0, 0.0]])


# ----------------------------------------------------------------------------------------
# Conventions at kinks (PyTorch's)
# ----------------------------------------------------------------------------------------

def _grad(fn, x):
    x = tg.tensor(x, requires_grad=True)
    out = fn(x)
    out.backward(np.ones(out.shape))
    return x.grad.data


def test_relu_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(_grad(tg.relu, [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])


def test_abs_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(_grad(tg.abs, [-1.0, 0.0, 2.0]), [-1.0, 0.0, 1.0])


@pytest.mark.parametrize(("op", "grad_a", "grad_b"), [
    (tg.maximum, [0.5, 0.0, 1.0], [0.5, 1.0, 0.0]),
    (tg.minimum, [0.5, 1.0, 0.0], [0.5, 0.0, 1.0]),
], ids=["maximum", "minimum"])
def test_maximum_and_minimum_ties_share_evenly(op, grad_a, grad_b):
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tg.tensor([1.0, 5.0, 0.0], requires_grad=True)
    op(a, b).backward(np.ones(3))
    np.testing.assert_array_equal(a.grad, grad_a)
    np.testing.assert_array_equal(b.grad, grad_b)


def test_max_and_min_over_an_axis_share_ties_evenly():
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    np.testing.assert_allclose(_grad(lambda t: t.max(axis=1), x),
                               [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    np.testing.assert_allclose(_grad(lambda t: t.min(axis=1), x),
                               [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    np.testing.assert_allclose(_grad(lambda t: t.max(), x),
                               [[0, 0.5, 0.5], [0, 0, 0]], rtol=1e-15)
    np.testing.assert_allclose(_grad(lambda t: t.max(axis=0, keepdims=True), x),
                               [[0, 1, 1], [1, 0, 0]], rtol=1e-15)


def test_clip_passes_the_gradient_strictly_inside():
    x = [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0]
    np.testing.assert_array_equal(_grad(lambda t: t.clip(-1.0, 1.0), x), [0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(_grad(lambda t: tg.clip(t, lo=0.0), x), [0, 0, 0, 1, 1, 1])


def test_power_with_constant_exponent_and_negative_base():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(_grad(lambda t: t ** 2, [-2.0, -0.5, 0.0, 3.0]),
                                      [-4.0, -1.0, 0.0, 6.0])
        np.testing.assert_array_equal(_grad(lambda t: t ** 3, [-2.0, 0.0]), [12.0, 0.0])
        np.testing.assert_array_equal(_grad(lambda t: t ** 2.0, [-2.0]), [-4.0])


def test_power_exponent_gradient_at_zero_base_is_zero():
    y = tg.tensor([2.0, 3.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tg.power(np.array([0.0, 2.0]), y)
        out.backward(np.ones(2))
    np.testing.assert_allclose(y.grad, [0.0, 8.0 * np.log(2.0)], rtol=1e-15)


def test_square_derivative_at_zero():
    assert _grad(lambda t: t ** 2, 0.0) == 0.0


# ----------------------------------------------------------------------------------------
# Indexing
# ----------------------------------------------------------------------------------------

def test_getitem_negative_steps():
    x = np.arange(12.0).reshape(3, 4)
    t = tg.tensor(x, requires_grad=True)
    y = t[::-1, ::-2]
    np.testing.assert_array_equal(y, x[::-1, ::-2])
    y.backward(np.arange(6.0).reshape(3, 2))
    expected = np.zeros((3, 4))
    expected[::-1, ::-2] = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(t.grad, expected)


def test_getitem_ellipsis_and_none():
    x = np.arange(24.0).reshape(2, 3, 4)
    t = tg.tensor(x, requires_grad=True)
    y = t[..., None, 1]
    assert y.shape == (2, 3, 1)
    np.testing.assert_array_equal(y, x[..., None, 1])
    y.backward(np.ones(y.shape))
    expected = np.zeros_like(x)
    expected[..., 1] = 1.0
    np.testing.assert_array_equal(t.grad, expected)


def test_getitem_repeated_integer_indices_accumulate():
    t = tg.tensor(np.arange(5.0), requires_grad=True)
    y = t[np.array([0, 0, 2, 0, -1])]
    np.testing.assert_array_equal(y, [0.0, 0.0, 2.0, 0.0, 4.0])
    y.backward(np.array([1.0, 10.0, 100.0, 1000.0, 5.0]))
    np.testing.assert_array_equal(t.grad, [1011.0, 0.0, 100.0, 0.0, 5.0])


def test_getitem_integer_arrays_on_two_axes():
    t = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = t[[0, 1, 0], [2, 2, 2]]
    np.testing.assert_array_equal(y, [2.0, 5.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, [[0, 0, 2], [0, 0, 1]])


def test_getitem_boolean_mask():
    x = np.array([[1.0, -2.0], [3.0, -4.0]])
    t = tg.tensor(x, requires_grad=True)
    y = t[x > 0]
    np.testing.assert_array_equal(y, [1.0, 3.0])
    (y * np.array([2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(t.grad, [[2.0, 0.0], [3.0, 0.0]])
    t2 = tg.tensor(x, requires_grad=True)
    t2[t2 > 0].sum().backward()  # a bool Tensor as the mask
    np.testing.assert_array_equal(t2.grad, [[1.0, 0.0], [1.0, 0.0]])


# ----------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------

def test_matmul_shape_mismatch_names_the_op_and_shapes():
    with pytest.raises(tg.ShapeError, match=r"matmul.*\(3, 4\).*\(5, 6\)"):
        tg.tensor(np.ones((3, 4))) @ tg.tensor(np.ones((5, 6)))


def test_backward_of_a_non_scalar_needs_a_grad():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = 2 * x
    with pytest.raises(RuntimeError, match=r"backward.*one element.*\(3,\)"):
        y.backward()
    y.backward(grad=[1.0, 0.0, 0.0])
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 0.0])


def test_requires_grad_on_integer_data_names_the_dtype():
    with pytest.raises(TypeError, match="int64"):
        tg.tensor(np.array([1, 2, 3], dtype=np.int64), requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        tg.tensor([True, False], requires_grad=True)


def test_backward_twice_needs_retain_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_backward_twice_with_retain_graph_accumulates():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


RNG_USERS = {
    "Linear": lambda rng: tg.nn.Linear(2, 2, rng=rng).weight.data,
    "minibatches": lambda rng: next(iter(tg.data.minibatches(np.arange(6.0), batch_size=6,
                                                             rng=rng))),
    "check_adjoint": lambda rng: tg.testing.check_adjoint(lambda x: 2 * x, (3,), rng=rng),
}


@pytest.mark.parametrize("where", RNG_USERS)
def test_every_rng_argument_takes_a_seed_a_generator_or_a_seed_sequence(where):
    use = RNG_USERS[where]
    np.testing.assert_array_equal(use(5), use(np.random.default_rng(5)))
    np.testing.assert_array_equal(use(np.int64(5)), use(np.random.SeedSequence(5)))
    for bad in ("seed", 1.5, True, np.random.RandomState(0)):
        with pytest.raises(TypeError, match=rf"^{where}: rng must be None, an int seed or a "
                                            rf"numpy.random.Generator, got {type(bad).__name__}$"):
            use(bad)


# ----------------------------------------------------------------------------------------
# A Hessian-vector product derived by hand
# ----------------------------------------------------------------------------------------
# Model 2 -> 3 -> 1: z = x W1ᵀ + b1, h = tanh z, o = h W2ᵀ + b2, L = mean((o - y)²).
# Gradient with δ = 2(o - y)/N, s = 1 - h², ε = δ W2 ∘ s:
#   dW2 = δᵀ h, db2 = Σ δ, dW1 = εᵀ x, db1 = Σ_n ε.
# Hessian times a direction (V1, c1, V2, c2), by differentiating the gradient along it:
#   ż = x V1ᵀ + c1, ḣ = s ∘ ż, ȯ = ḣ W2ᵀ + h V2ᵀ + c2, δ̇ = 2 ȯ / N, ṡ = -2 h ∘ ḣ,
#   ε̇ = δ̇ W2 ∘ s + δ V2 ∘ s + δ W2 ∘ ṡ,
#   H·v = (ε̇ᵀ x, Σ_n ε̇, δ̇ᵀ h + δᵀ ḣ, Σ δ̇).

def _mlp_data():
    rng = np.random.default_rng(42)
    x = rng.standard_normal((4, 2))
    y = rng.standard_normal((4, 1))
    params = [rng.standard_normal((3, 2)), rng.standard_normal(3),
              rng.standard_normal((1, 3)), rng.standard_normal(1)]
    v = [rng.standard_normal(p.shape) for p in params]
    return x, y, params, v


def _mlp_gradient(x, y, params):
    w1, b1, w2, b2 = params
    h = np.tanh(x @ w1.T + b1)
    o = h @ w2.T + b2
    delta = 2 * (o - y) / len(x)
    eps = delta @ w2 * (1 - h ** 2)
    return [eps.T @ x, eps.sum(axis=0), delta.T @ h, delta.sum(axis=0)]


def _mlp_hvp(x, y, params, v):
    w1, b1, w2, b2 = params
    v1, c1, v2, c2 = v
    h = np.tanh(x @ w1.T + b1)
    s = 1 - h ** 2
    o = h @ w2.T + b2
    delta = 2 * (o - y) / len(x)
    h_dot = s * (x @ v1.T + c1)
    o_dot = h_dot @ w2.T + h @ v2.T + c2
    delta_dot = 2 * o_dot / len(x)
    s_dot = -2 * h * h_dot
    eps_dot = delta_dot @ w2 * s + delta @ v2 * s + delta @ w2 * s_dot
    return [eps_dot.T @ x, eps_dot.sum(axis=0), delta_dot.T @ h + delta.T @ h_dot,
            delta_dot.sum(axis=0)]


def _flat(arrays):
    return np.concatenate([np.ravel(a) for a in arrays])


def _unflat(vector, like):
    out, start = [], 0
    for a in like:
        out.append(vector[start:start + a.size].reshape(a.shape))
        start += a.size
    return out


def test_mlp_hessian_vector_product_by_hand():
    x, y, params, v = _mlp_data()

    # The hand-derived Hessian is symmetric (built column by column from the formula).
    n = sum(p.size for p in params)
    hessian = np.stack([_flat(_mlp_hvp(x, y, params, _unflat(e, params))) for e in np.eye(n)],
                       axis=1)
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-13)

    # ... and agrees with central differences of the hand-derived gradient.
    eps = 1e-6
    plus = _mlp_gradient(x, y, [p + eps * d for p, d in zip(params, v)])
    minus = _mlp_gradient(x, y, [p - eps * d for p, d in zip(params, v)])
    fd = (_flat(plus) - _flat(minus)) / (2 * eps)
    by_hand = _flat(_mlp_hvp(x, y, params, v))
    np.testing.assert_allclose(by_hand, fd, rtol=1e-6, atol=1e-8)
    # matrix products summed in different orders: tolerances relative to the largest entry
    np.testing.assert_allclose(hessian @ _flat(v), by_hand, rtol=1e-12,
                               atol=1e-12 * np.abs(by_hand).max())

    # The engine: tg.grad with create_graph=True, then the gradient of ⟨g, v⟩.
    ps = [tg.tensor(p, requires_grad=True) for p in params]
    w1, b1, w2, b2 = ps
    out = tg.tanh(tg.tensor(x) @ w1.T + b1) @ w2.T + b2
    loss = tg.mse_loss(out, tg.tensor(y))
    grads = tg.grad(loss, ps, create_graph=True)
    gradient = _flat(_mlp_gradient(x, y, params))
    np.testing.assert_allclose(_flat([g.data for g in grads]), gradient, rtol=1e-12,
                               atol=1e-12 * np.abs(gradient).max())
    dot = sum(tg.sum(g * d) for g, d in zip(grads, v))
    hvp = tg.grad(dot, ps)
    np.testing.assert_allclose(_flat([h.data for h in hvp]), by_hand, rtol=1e-10, atol=1e-13)
    assert all(p.grad is None for p in ps)  # tg.grad touches no .grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_large_inputs_match_expit_without_warnings(dtype):
    """From 512 elements on, sigmoid takes its vectorised path: same values, same care."""
    x = np.concatenate([[-1000.0, -100.0, 0.0, 100.0, 1000.0], np.linspace(-50, 50, 995)])
    x = x.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = tg.tensor(x, requires_grad=True)
        y = tg.sigmoid(t)
        y.sum().backward()
    assert y.dtype == dtype and t.grad.dtype == dtype
    want = scipy.special.expit(x.astype(np.float64))
    # float32: exp(-x) overflows below -88, where expit still gives subnormal values (< 1e-38)
    np.testing.assert_allclose(y.data, want, rtol=1e-15 if dtype == np.float64 else 1e-6,
                               atol=0 if dtype == np.float64 else 1e-38)
    assert y.data[0] == 0 and y.data[2] == 0.5 and y.data[4] == 1
    assert np.all(np.isfinite(t.grad.data))
    if dtype == np.float64:
        assert t.grad.data[1] == pytest.approx(3.72e-44, rel=1e-2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_sigmoid_gradient_in_place_equals_the_formula_and_second_order_still_works(dtype):
    """sigmoid's VJP on arrays writes one array in place: bit for bit g·(σ·(1 - σ)); with a
    graph (create_graph) it is the same formula on Tensors, differentiable again."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 700)).astype(dtype)
    g = rng.normal(size=(3, 700)).astype(dtype)
    t = tg.tensor(x, requires_grad=True)
    y = tg.sigmoid(t)
    y.backward(g)
    out = y.data
    np.testing.assert_array_equal(t.grad.data, g * (out * (1 - out)))
    assert t.grad.dtype == dtype
    t = tg.tensor(x.astype(np.float64)[0, :4], requires_grad=True)
    (first,) = tg.grad(tg.sum(tg.sigmoid(t)), [t], create_graph=True)
    (second,) = tg.grad(tg.sum(first), [t])
    s = scipy.special.expit(t.data)
    np.testing.assert_allclose(second.data, s * (1 - s) * (1 - 2 * s), rtol=1e-12)


def test_bad_input_found_by_review_gets_clear_errors_or_right_values():
    x0 = tg.tensor([0.0, 2.0], requires_grad=True)
    (x0 ** 0).sum().backward()  # d(x**0)/dx = 0 even at 0, no NaN
    np.testing.assert_array_equal(x0.grad.data, [0.0, 0.0])
    with pytest.raises(ValueError, match=r"binary_cross_entropy: every input element must lie in \[0, 1\]"):
        tg.binary_cross_entropy(tg.tensor([1.5]), [1.0])
    with pytest.raises(tg.ShapeError, match="sum_to_shape: shape \\(3, 2\\) does not broadcast"):
        tg.sum_to_shape(tg.tensor(np.ones((2, 3))), shape=(3, 2))
    with pytest.raises(tg.ShapeError, match="expand_dims: axis 5 is out of range"):
        tg.expand_dims(tg.tensor(np.ones((2, 3))), 5)
    with pytest.raises(tg.ShapeError, match="transpose: axes \\(0, 3\\)"):
        tg.tensor(np.ones((2, 3))).transpose(0, 3)
    with pytest.raises(TypeError, match="sum: axis must be None, an int or a tuple of ints"):
        tg.tensor(np.ones((2, 3))).sum(axis=1.0)
    with pytest.raises(tg.ShapeError, match="repeats an axis"):
        tg.tensor(np.ones((2, 3))).sum(axis=(0, 0))
    with pytest.raises(TypeError, match="tensor: data must be numbers"):
        tg.tensor("abc")
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(tg.tensor(1.0))
    with pytest.raises(ValueError, match="power: Integers to negative integer powers"):
        tg.tensor([2, 3]) ** -1
    with pytest.raises(ValueError, match="returns no floating-point output"):
        tg.gradcheck(lambda x: x > 0, [tg.tensor([1.0], requires_grad=True)])
    # float32 stays float32 with a Python scalar in minimum, as in maximum
    assert tg.minimum(tg.tensor(np.float32([1, 2])), 0.5).dtype == np.float32
    # float32 softmax at large logits stays accurate (the maximum is subtracted first)
    s = tg.softmax(tg.tensor(np.float32([1e4, 1e4, -1e4])))
    np.testing.assert_allclose(s.data, [0.5, 0.5, 0.0], atol=1e-7)
