"""Exact adjoint (dot-product) tests: ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ to 1e-12 for every linear op of
the convolution family, with Aᵀ the engine's VJP. No finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_specs import conv_case

import tensorgrad as tg
from tensorgrad.ops.conv import conv2d, conv2d_weight_grad, conv_transpose2d, pair
from tensorgrad.ops.pool import (
    avg_pool2d,
    avg_pool2d_adjoint,
    max_pool2d_gather,
    max_pool2d_scatter,
    max_pool_index,
)
from tensorgrad.testing._adjoint import check_adjoint

RTOL = 1e-12
rng = np.random.default_rng(20240601)

# -- the utility itself ------------------------------------------------------------------


def test_passes_on_a_linear_op_and_returns_a_tiny_error():
    a = rng.standard_normal((4, 3))
    err = check_adjoint(lambda x: tg.matmul(a, x), (3, 2), y_shape=(4, 2))
    assert 0 <= err < RTOL


def test_user_primitive_with_a_wrong_vjp_fails_naming_both_inner_products():
    @tg.primitive
    def cumsum_bad(x):
        "Running sum along the last axis."
        return np.cumsum(x, axis=-1)

    cumsum_bad.defvjp(lambda g, out, x: tg.ops.reshape(g, shape=np.shape(x)))  # not the adjoint
    with pytest.raises(AssertionError, match=r"<A x, y> = .* but <x, A\^T y> = .*relative error"):
        check_adjoint(cumsum_bad, (2, 5))


def test_user_primitive_with_the_right_vjp_passes():
    @tg.primitive
    def cumsum_ok(x):
        "Running sum along the last axis."
        return np.cumsum(x, axis=-1)

    cumsum_ok.defvjp(lambda g, out, x: cumsum_ok(g[..., ::-1])[..., ::-1])
    assert check_adjoint(cumsum_ok, (2, 5)) < RTOL


@pytest.mark.parametrize("op", [tg.relu, lambda x: x + 1.0, lambda x: x * x],
                         ids=["relu", "affine", "square"])
def test_fails_on_ops_that_are_not_linear(op):
    # the VJP is taken at an independent point, so even relu (positively homogeneous,
    # <relu(x), y> = <x, relu'(x) y>) is caught
    with pytest.raises(AssertionError, match="not linear"):
        check_adjoint(op, (6,))


def test_output_shape_mismatch_and_non_tensor_output():
    with pytest.raises(AssertionError, match=r"expected \(3,\)"):
        check_adjoint(lambda x: x * 2.0, (4,), y_shape=(3,))
    with pytest.raises(TypeError, match="must return a Tensor"):
        check_adjoint(lambda x: np.asarray(x) * 2.0, (4,))


def test_seed_reproducible_and_float32():
    f = lambda x: tg.conv2d(x, np.ones((1, 1, 2, 2)))  # noqa: E731
    assert check_adjoint(f, (1, 1, 4, 4), rng=3) == check_adjoint(f, (1, 1, 4, 4), rng=3)
    assert check_adjoint(f, (1, 1, 4, 4), dtype=np.float32, rtol=1e-5) < 1e-5


def test_constant_op_has_zero_adjoint():
    assert check_adjoint(lambda x: tg.tensor(np.zeros(3)), (2,)) == 0.0


# -- correlate2d / convolve2d: linear in each input --------------------------------------

SIGNAL_SHAPES = [((5, 6), (2, 3)), ((2, 3), (5, 6)), ((4, 4), (4, 4)), ((3, 6), (5, 2)),
                 ((6, 5), (4, 4)), ((1, 1), (3, 2))]


def _signal_cases():
    for s1, s2 in SIGNAL_SHAPES:
        contains = all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))
        for mode in ("full", "same", "valid") if contains else ("full", "same"):
            for which in (1, 2):
                yield pytest.param(s1, s2, mode, which,
                                   id=f"{s1}-{s2}-{mode}-in{which}")


@pytest.mark.parametrize("fn", [tg.correlate2d, tg.convolve2d], ids=["correlate2d", "convolve2d"])
@pytest.mark.parametrize("s1,s2,mode,which", list(_signal_cases()))
def test_signal_ops_adjoint_in_each_input(fn, s1, s2, mode, which):
    a, b = rng.standard_normal(s1), rng.standard_normal(s2)
    if which == 1:
        check_adjoint(lambda x: fn(x, b, mode), s1, rtol=RTOL)
    else:
        check_adjoint(lambda k: fn(a, k, mode), s2, rtol=RTOL)


# -- conv2d, conv_transpose2d, the weight-gradient correlation ---------------------------

CONV_CASES = [
    # x shape, weight shape, params
    ((2, 3, 7, 6), (4, 3, 3, 3), dict()),
    ((1, 2, 8, 7), (3, 2, 3, 2), dict(stride=2, padding=1)),
    ((2, 4, 9, 9), (6, 2, 3, 3), dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1), groups=2)),
    ((1, 3, 6, 7), (3, 1, 2, 2), dict(stride=3, dilation=2, padding=2, groups=3)),
    ((2, 2, 5, 6), (2, 2, 4, 3), dict(padding="same", dilation=(1, 2))),
    ((1, 1, 5, 5), (1, 1, 1, 1), dict(padding=2, stride=2)),  # outputs lying in the padding
    ((3, 5, 5), (2, 3, 3, 3), dict(stride=2)),  # unbatched
]


@pytest.mark.parametrize("xs,ws,params", CONV_CASES)
def test_conv2d_adjoint_in_input_and_weight(xs, ws, params):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    check_adjoint(lambda t: tg.conv2d(t, w, **params), xs, rtol=RTOL)
    check_adjoint(lambda t: tg.conv2d(x, t, **params), ws, rtol=RTOL)


TRANSPOSE_CASES = [
    ((2, 3, 4, 5), (3, 2, 3, 3), dict()),
    ((1, 2, 3, 4), (2, 3, 3, 2), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 3, 3), (4, 1, 2, 3), dict(stride=(3, 2), dilation=(1, 2), groups=2,
                                      output_padding=(2, 1))),
    ((1, 2, 4, 4), (2, 2, 3, 3), dict(dilation=3, output_padding=2)),  # output_padding >= stride
    ((2, 3, 3), (2, 2, 2, 2), dict(stride=2)),  # unbatched
]


@pytest.mark.parametrize("xs,ws,params", TRANSPOSE_CASES)
def test_conv_transpose2d_adjoint_in_input_and_weight(xs, ws, params):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    check_adjoint(lambda t: tg.conv_transpose2d(t, w, **params), xs, rtol=RTOL)
    check_adjoint(lambda t: tg.conv_transpose2d(x, t, **params), ws, rtol=RTOL)


@settings(max_examples=25, deadline=None)
@given(conv_case(), st.data())
def test_conv_family_adjoint_over_random_parameters(case, data):
    draw = data.draw
    groups, cg, og, k, s, d, p, hw, n, seed = case
    rng = np.random.default_rng(seed)
    params = dict(stride=s, padding=p, dilation=d, groups=groups)
    x = rng.standard_normal((n, groups * cg) + hw)
    w = rng.standard_normal((groups * og, cg) + k)
    op = tuple(draw(st.integers(0, max(s[i], d[i]) - 1)) for i in range(2))
    out = tuple((hw[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1 for i in range(2))
    wt = rng.standard_normal((groups * cg, og) + k)
    check_adjoint(lambda t: tg.conv2d(t, w, **params), x.shape, rtol=RTOL)
    check_adjoint(lambda t: tg.conv2d(x, t, **params), w.shape, rtol=RTOL)
    if min(out) >= 1:
        check_adjoint(lambda t: tg.conv_transpose2d(t, wt, output_padding=op, **params),
                      x.shape, rtol=RTOL)
        check_adjoint(lambda t: tg.conv_transpose2d(x, t, output_padding=op, **params),
                      wt.shape, rtol=RTOL)


P = dict(stride=(2, 1), padding=(1, 0, 2, 1), dilation=(1, 2), groups=2)


def test_weight_gradient_primitive_adjoint_in_each_input():
    x, y = rng.standard_normal((2, 4, 7, 8)), rng.standard_normal((2, 6, 3, 9))
    ks = (3, 2)
    check_adjoint(lambda t: conv2d_weight_grad(t, y, kernel_size=ks, **P), x.shape, rtol=RTOL)
    check_adjoint(lambda t: conv2d_weight_grad(x, t, kernel_size=ks, **P), y.shape, rtol=RTOL)
    # and it is the adjoint of conv2d in the weight: <A(x, w), y> = <w, W(x, y)>
    w = rng.standard_normal((6, 2) + ks)
    lhs = np.vdot(conv2d.bind(x, w, None, **P), y)
    rhs = np.vdot(w, conv2d_weight_grad(x, y, kernel_size=ks, **P))
    assert abs(lhs - rhs) <= RTOL * np.linalg.norm(w) * np.linalg.norm(rhs) * 10


def test_transposed_primitive_with_a_shorter_cotangent():
    # y shorter than conv2d's output (the output_padding >= stride case): T = Aᵀ E
    w = rng.standard_normal((3, 2, 3, 3))
    check_adjoint(lambda t: conv_transpose2d.bind(t, w, input_size=(9, 8), stride=(1, 1),
                                                  padding=(1, 1, 0, 0), dilation=(2, 2),
                                                  groups=1),
                  (2, 3, 5, 3), rtol=RTOL)


# -- pooling ---------------------------------------------------------------------------


@pytest.mark.parametrize("params", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                    dict(kernel_size=(2, 3), stride=(3, 1), padding=(1, 0))])
def test_avg_pool2d_and_its_adjoint(params):
    check_adjoint(lambda t: tg.avg_pool2d(t, **params), (2, 3, 7, 8), rtol=RTOL)
    check_adjoint(lambda t: tg.avg_pool2d(t, **params), (3, 7, 8), rtol=RTOL)
    k = pair(params["kernel_size"], "k", "t", 1)
    s = k if "stride" not in params else pair(params["stride"], "s", "t", 1)
    p = pair(params.get("padding", 0), "p", "t", 0)
    out = avg_pool2d.bind(np.zeros((2, 3, 7, 8)), kernel_size=k, stride=s, padding=p).shape
    check_adjoint(lambda t: avg_pool2d_adjoint(t, input_size=(7, 8), kernel_size=k, stride=s,
                                               padding=p), out, rtol=RTOL)


@pytest.mark.parametrize("k,s,p", [((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1)),
                                   ((3, 2), (2, 1), (1, 0))])
def test_max_pool_routing_is_linear_for_a_fixed_pattern(k, s, p):
    x = rng.standard_normal((2, 3, 7, 6))
    index = max_pool_index(x, k, s, p)
    overlapping = s[0] < k[0] or s[1] < k[1]
    check_adjoint(lambda t: max_pool2d_scatter(t, index=index, input_size=(7, 6),
                                               overlapping=overlapping),
                  index.shape, rtol=RTOL)
    check_adjoint(lambda t: max_pool2d_gather(t, index=index), x.shape, rtol=RTOL)
    # the gather at the argmax pattern is max pooling itself
    np.testing.assert_array_equal(max_pool2d_gather(x, index=index),
                                  tg.max_pool2d(x, k, s, p).data)
