"""PyTorch's pooling options: max_pool2d's dilation, ceil_mode and return_indices,
max_unpool2d, avg_pool2d's ceil_mode, count_include_pad and divisor_override.

Hand-computed sizes and values (they run without torch), then the same grids against torch
(forward, indices, input gradients), gradcheck of each option and the errors."""
import itertools

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.ops.pool import pooled_len

# ------------------------------------------------------------------------------------------
# Output sizes and hand-computed values
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,k,s,p,d,ceil,expected", [
    (5, 2, 2, 0, 1, False, 2), (5, 2, 2, 0, 1, True, 3),  # ceil keeps the half window
    (5, 2, 2, 1, 1, False, 3),
    (5, 2, 2, 1, 1, True, 3),  # ceil gives 4, but window 3 would start at 5 = n + p - 1 + 1
    (6, 3, 2, 1, 1, True, 4), (6, 3, 2, 1, 1, False, 3),
    (7, 3, 1, 0, 2, False, 3), (7, 3, 2, 1, 2, True, 3), (8, 3, 2, 1, 2, True, 4),
    (2, 3, 2, 0, 1, True, 1),  # ceil_mode accepts a window longer than the input
    (4, 4, 3, 0, 1, True, 1),
])
def test_pooled_len_is_pytorchs_rule(n, k, s, p, d, ceil, expected):
    assert pooled_len(n, k, s, p, d, ceil) == expected


X44 = np.arange(16.0).reshape(1, 1, 4, 4)
X55 = np.arange(25.0).reshape(1, 1, 5, 5)


def test_max_pool_ceil_mode_by_hand():
    # 5x5, 2x2 windows, stride 2: the ceil windows of row/column 2 read only x[4]
    y, i = tg.max_pool2d(X55, 2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(y.data[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    np.testing.assert_array_equal(i.data[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    assert i.dtype == np.int64 and not i.requires_grad
    assert tg.max_pool2d(X55, 2).shape == (1, 1, 2, 2)


def test_max_pool_dilation_by_hand():
    # 3x3 window with dilation 2 on 5x5 reads rows/cols 0, 2, 4: one window, max x[4, 4]
    np.testing.assert_array_equal(tg.max_pool2d(X55, 3, 1, dilation=2).data, [[[[24.0]]]])
    # (1, 2) dilation, kernel 2, stride 1 on 4x4: cells (r, c), (r, c+2), (r+1, c), (r+1, c+2)
    y = tg.max_pool2d(-X44, 2, 1, dilation=(1, 2))
    np.testing.assert_array_equal(y.data[0, 0], -X44[0, 0, :3, :2])


def test_max_pool_gradient_with_ceil_and_dilation_by_hand():
    x = tg.tensor(X55, requires_grad=True)
    tg.max_pool2d(x, 2, ceil_mode=True).sum().backward()
    want = np.zeros((5, 5))
    want[[1, 1, 1, 3, 3, 3, 4, 4, 4], [1, 3, 4, 1, 3, 4, 1, 3, 4]] = 1
    np.testing.assert_array_equal(x.grad.data[0, 0], want)


def test_avg_pool_options_by_hand():
    x = X44
    # ceil_mode: 3x3 windows, stride 2 on 4x4 -> 2x2; the last windows cover 3x2 / 2x2 cells
    y = tg.avg_pool2d(x, 3, 2, ceil_mode=True)
    want = [[np.mean([0, 1, 2, 4, 5, 6, 8, 9, 10]), np.mean([2, 3, 6, 7, 10, 11])],
            [np.mean([8, 9, 10, 12, 13, 14]), np.mean([10, 11, 14, 15])]]
    np.testing.assert_allclose(y.data[0, 0], want, rtol=1e-15)
    # padding 1, 2x2 windows stride 2: corners hold 1 input cell of 4
    p_in = tg.avg_pool2d(x, 2, 2, 1)
    p_out = tg.avg_pool2d(x, 2, 2, 1, count_include_pad=False)
    assert p_in.data[0, 0, 0, 0] == 0.0 / 4 and p_in.data[0, 0, 2, 2] == 15.0 / 4
    assert p_out.data[0, 0, 2, 2] == 15.0 and p_out.data[0, 0, 1, 1] == (5 + 6 + 9 + 10) / 4
    assert p_out.data[0, 0, 0, 1] == (1 + 2) / 2
    # divisor_override replaces every divisor
    np.testing.assert_allclose(tg.avg_pool2d(x, 2, divisor_override=3).data,
                               tg.avg_pool2d(x, 2).data * 4 / 3, rtol=1e-15)


def test_avg_pool_ceil_mode_counts_only_up_to_the_padding():
    # 5x5, kernel 2, stride 2, padding 1, ceil: the bottom windows end exactly at 5 + 1
    y = tg.avg_pool2d(X55, 2, 2, 1, ceil_mode=True)
    assert y.shape == (1, 1, 3, 3)
    assert y.data[0, 0, 2, 2] == (18 + 19 + 23 + 24) / 4
    # 4x4, kernel 3, stride 2, no padding, ceil: the last windows reach past the input
    # and count only their cells inside it (there is no padding to count)
    y = tg.avg_pool2d(X44, 3, 2, ceil_mode=True, count_include_pad=True)
    assert y.data[0, 0, 1, 1] == np.mean([10, 11, 14, 15])


def test_avg_pool_gradient_by_hand():
    x = tg.tensor(X44, requires_grad=True)
    tg.avg_pool2d(x, 3, 2, ceil_mode=True).sum().backward()
    counts = np.array([9, 6, 6, 4])  # the four windows' divisors
    want = np.zeros((4, 4))
    for (r0, c0), n in zip([(0, 0), (0, 2), (2, 0), (2, 2)], counts):
        want[r0:r0 + 3, c0:c0 + 3] += 1 / n
    np.testing.assert_allclose(x.grad.data[0, 0], want, rtol=1e-15)


def test_return_indices_unbatched_and_the_unpool_round_trip():
    x = np.array([[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 7.0]]])  # (1, 2, 4)
    y, i = tg.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(y.data, [[[5.0, 8.0]]])
    np.testing.assert_array_equal(i.data, [[[1, 6]]])
    u = tg.max_unpool2d(y, i, 2)
    np.testing.assert_array_equal(u.data, [[[0, 5, 0, 0], [0, 0, 8, 0]]])
    # output_size: one more column than the default, as PyTorch allows (within the stride)
    assert tg.max_unpool2d(y, i, 2, output_size=(2, 5)).shape == (1, 2, 5)
    assert tg.max_unpool2d(y, i, 2, output_size=(1, 1, 2, 5)).shape == (1, 2, 5)


def test_max_unpool_repeated_indices_keep_the_last_and_its_gradient():
    x = tg.tensor(np.array([[[[1.0, 2.0, 3.0]]]]), requires_grad=True)
    idx = np.array([[[[0, 3, 0]]]])
    u = tg.max_unpool2d(x, idx, (1, 2), stride=1)  # default size (1, 4)
    np.testing.assert_array_equal(u.data, [[[[3.0, 0.0, 0.0, 2.0]]]])
    u.backward(np.array([[[[10.0, 20.0, 30.0, 40.0]]]]))
    # the derivative of the result: entry 0 was overwritten by entry 2
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 40.0, 10.0]]]])


# ------------------------------------------------------------------------------------------
# Against torch
# ------------------------------------------------------------------------------------------

MAX_GRID = [dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=c)
            for k, s, p, d, c in itertools.product([2, 3, (3, 2)], [1, 2, (2, 3)], [0, 1],
                                                   [1, 2, (2, 1)], [False, True])]
AVG_GRID = [dict(kernel_size=k, stride=s, padding=p, ceil_mode=c, count_include_pad=i,
                 divisor_override=v)
            for k, s, p, c, i, v in itertools.product([2, 3, (3, 2)], [1, 2, (2, 3)], [0, 1],
                                                      [False, True], [True, False], [None, 5])]


def _torch_args(params):
    return {k: tuple(int(u) for u in v) if isinstance(v, tuple) else v for k, v in params.items()}


@pytest.mark.parametrize("params", MAX_GRID, ids=str)
def test_max_pool_options_match_torch(params):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal((2, 3, 7, 8)), 1)  # ties included
    xt = tg.tensor(x, requires_grad=True)
    try:
        y, i = tg.max_pool2d(xt, return_indices=True, **params)
    except ValueError as e:  # a window entirely in the padding: PyTorch returns -inf there
        assert "lies entirely in the padding" in str(e)
        want = torch.nn.functional.max_pool2d(torch.tensor(x), **_torch_args(params))
        assert torch.isinf(want).any()
        return
    xx = torch.tensor(x, requires_grad=True)
    yy, ii = torch.nn.functional.max_pool2d(xx, return_indices=True, **_torch_args(params))
    assert y.shape == tuple(yy.shape)
    np.testing.assert_array_equal(y.data, yy.detach().numpy())
    np.testing.assert_array_equal(i.data, ii.numpy())
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yy.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.data, xx.grad.numpy(), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("params", AVG_GRID, ids=str)
def test_avg_pool_options_match_torch(params):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 8))
    xt = tg.tensor(x, requires_grad=True)
    y = tg.avg_pool2d(xt, **params)
    xx = torch.tensor(x, requires_grad=True)
    yy = torch.nn.functional.avg_pool2d(xx, **_torch_args(params))
    assert y.shape == tuple(yy.shape)
    np.testing.assert_allclose(y.data, yy.detach().numpy(), rtol=1e-13, atol=1e-14)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yy.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.data, xx.grad.numpy(), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("kernel,stride,padding", [
    (2, None, 0), (3, 3, 1), ((2, 3), (2, 3), (1, 0)), (3, (3, 4), (0, 1)),
])  # stride >= kernel: distinct indices, where the gradients agree (see the repeated case)
def test_max_unpool_matches_torch(kernel, stride, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 9, 10))
    y, i = tg.max_pool2d(x, kernel, stride, padding, return_indices=True)
    yy, ii = torch.nn.functional.max_pool2d(torch.tensor(x), kernel, stride, padding,
                                            return_indices=True)
    yt = tg.tensor(y.data, requires_grad=True)
    # the pooled input's size: the indices' plane (not always the default size)
    u = tg.max_unpool2d(yt, i, kernel, stride, padding, output_size=x.shape)
    yyt = yy.clone().requires_grad_()
    uu = torch.nn.functional.max_unpool2d(yyt, ii, kernel, stride, padding, output_size=x.shape)
    np.testing.assert_array_equal(u.data, uu.detach().numpy())
    g = rng.standard_normal(u.shape)
    u.backward(g)
    uu.backward(torch.tensor(g))
    np.testing.assert_array_equal(yt.grad.data, yyt.grad.numpy())


# ------------------------------------------------------------------------------------------
# gradcheck of each option
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=2, stride=1, dilation=2),
    dict(kernel_size=3, stride=2, padding=1, dilation=(1, 2), ceil_mode=True),
])
def test_max_pool_options_gradcheck(params):
    rng = np.random.default_rng(3)
    x = tg.tensor(rng.permutation(2 * 2 * 6 * 7).reshape(2, 2, 6, 7) * 0.1, requires_grad=True)
    assert tg.gradcheck(lambda x: tg.max_pool2d(x, **params), (x,))
    assert tg.gradgradcheck(lambda x: tg.max_pool2d(x, **params), (x,))


@pytest.mark.parametrize("params", [
    dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=3, padding=1,
                                                        count_include_pad=False),
    dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True, divisor_override=4),
])
def test_avg_pool_options_gradcheck(params):
    x = tg.tensor(np.random.default_rng(4).standard_normal((2, 2, 6, 7)), requires_grad=True)
    assert tg.gradcheck(lambda x: tg.avg_pool2d(x, **params), (x,))
    assert tg.gradgradcheck(lambda x: tg.avg_pool2d(x, **params), (x,))


def test_max_unpool_gradcheck_with_repeated_indices():
    rng = np.random.default_rng(5)
    x = tg.tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)
    idx = rng.integers(0, 16, (2, 2, 3, 3))  # repeats certain: 9 of 16 drawn with replacement
    f = lambda x: tg.max_unpool2d(x, idx, 2, 1, output_size=(4, 4))  # noqa: E731
    assert tg.gradcheck(f, (x,))
    assert tg.gradgradcheck(f, (x,))


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,error,match", [
    (lambda: tg.max_pool2d(np.ones((1, 1, 3)), (2, 1), padding=(1, 0), dilation=2),
     ValueError, r"max_pool2d: with padding \(1, 0\) and dilation \(2, 2\), a window of the "
                 r"\(H, W\) = \(1, 3\) input lies entirely in the padding"),
    (lambda: tg.max_pool2d(np.ones((1, 3, 3)), 2, dilation=3), tg.ShapeError,
     r"max_pool2d: the window \(2, 2\) \(dilated to 4x4\) is larger than the \(padded\) input"),
    (lambda: tg.max_pool2d(np.ones((1, 3, 3)), 2, ceil_mode=1), TypeError,
     r"max_pool2d: ceil_mode must be True or False, got 1"),
    (lambda: tg.max_pool2d(np.ones((1, 3, 3)), 2, return_indices="yes"), TypeError,
     r"max_pool2d: return_indices must be True or False"),
    (lambda: tg.max_pool2d(np.ones((1, 3, 3)), 2, dilation=0), ValueError,
     r"max_pool2d: dilation must be >= 1"),
    (lambda: tg.avg_pool2d(np.ones((1, 3, 3)), 2, divisor_override=0), ValueError,
     r"avg_pool2d: divisor_override must be None or a nonzero int, got 0"),
    (lambda: tg.avg_pool2d(np.ones((1, 3, 3)), 2, count_include_pad=None), TypeError,
     r"avg_pool2d: count_include_pad must be True or False"),
    (lambda: tg.max_unpool2d(np.ones((1, 2, 2)), np.zeros((1, 2, 2)), 2), TypeError,
     r"max_unpool2d: indices must be an array of integers .* got dtype float64"),
    (lambda: tg.max_unpool2d(np.ones((1, 2, 2)), np.zeros((1, 2, 3), int), 2), tg.ShapeError,
     r"max_unpool2d: indices of shape \(1, 2, 3\) must have the input's shape \(1, 2, 2\)"),
    (lambda: tg.max_unpool2d(np.ones((1, 2, 2)), np.full((1, 2, 2), 16), 2), ValueError,
     r"max_unpool2d: indices must lie in \[0, 16\) \(the output plane 4x4\), got values "
     r"from 16 to 16"),
    (lambda: tg.max_unpool2d(np.ones((1, 2, 2)), np.zeros((1, 2, 2), int), 2, output_size=(6, 4)),
     ValueError, r"max_unpool2d: output_size \(6, 4\) must lie strictly between \(2, 2\) and "
                 r"\(6, 6\) for input of shape \(1, 2, 2\) \(the default is \(4, 4\)\)"),
    (lambda: tg.max_unpool2d(np.ones((1, 2, 2)), np.zeros((1, 2, 2), int), 2, output_size=7),
     ValueError, r"max_unpool2d: output_size must be None or a sequence of 2 ints"),
    (lambda: tg.max_unpool2d(np.ones((2, 2)), np.zeros((2, 2), int), 2), tg.ShapeError,
     r"max_unpool2d: expected input of shape \(N, C, H, W\) or \(C, H, W\)"),
])
def test_pool_option_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_pooling_modules_pass_their_options_on_as_torch_modules_do():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 7))
    pairs = [
        (tg.nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True),
         torch.nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True)),
        (tg.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
         torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)),
        (tg.nn.AvgPool2d(2, divisor_override=3), torch.nn.AvgPool2d(2, divisor_override=3)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(tg.tensor(x)).data, theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-12, atol=1e-12)
    values, indices = tg.nn.MaxPool2d(2, return_indices=True)(tg.tensor(x))
    t_values, t_indices = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(values.data, t_values.numpy())
    np.testing.assert_array_equal(indices.data, t_indices.numpy())
