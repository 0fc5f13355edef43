"""conv2d, conv_transpose2d, max_pool2d, avg_pool2d: hand-computed values, plain-loop
references (hypothesis), the notebook's network, first and second derivatives, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_specs import _conv2d_weight_grad_reference, conv_case

import tensorgrad as tg
from tensorgrad.ops import _conv_kernels as kernels
from tensorgrad.ops.conv import pair

# -- plain references (loops are fine here) ----------------------------------------------


def conv2d_loop(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, ho, wo))
    og = o // groups
    for s in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(ho):
                for j in range(wo):
                    total = 0.0
                    for ci in range(cg):
                        for a in range(kh):
                            for bb in range(kw):
                                total += (xp[s, g * cg + ci, sh * i + dh * a, sw * j + dw * bb]
                                          * w[oc, ci, a, bb])
                    y[s, oc, i, j] = total + (0.0 if b is None else b[oc])
    return y


def conv_transpose2d_loop(x, w, stride, padding, output_padding, dilation, groups):
    """Scatter every input pixel times its kernel into the output, then crop the padding."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    full = np.zeros((n, og * groups, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (wd - 1) * sw + dw * (kw - 1) + 1 + opw))
    cg = c // groups
    for s in range(n):
        for ci in range(c):
            g = ci // cg
            for i in range(h):
                for j in range(wd):
                    for oc in range(og):
                        for a in range(kh):
                            for bb in range(kw):
                                full[s, g * og + oc, sh * i + dh * a, sw * j + dw * bb] += (
                                    x[s, ci, i, j] * w[ci, oc, a, bb])
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    return full[:, :, ph:ph + ho, pw:pw + wo]


def pool_loop(x, k, s, p, kind):
    n, c, h, w = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.full((n, c, h + 2 * p[0], w + 2 * p[1]), fill)
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x
    ho, wo = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            win = xp[:, :, s[0] * i:s[0] * i + k[0], s[1] * j:s[1] * j + k[1]]
            y[:, :, i, j] = win.max(axis=(2, 3)) if kind == "max" else win.mean(axis=(2, 3))
    return y


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# -- hand-computed case ---------------------------------------------------------------------

X = np.arange(25.0).reshape(1, 1, 5, 5)
K = np.arange(9.0).reshape(1, 1, 3, 3)
G = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)


def test_strided_valid_cross_correlation_by_hand():
    x, k = tg.tensor(X, requires_grad=True), tg.tensor(K, requires_grad=True)
    y = tg.conv2d(x, k, stride=2)
    np.testing.assert_array_equal(y.data[0, 0], [[312, 384], [672, 744]])
    y.backward(G)
    np.testing.assert_array_equal(k.grad.data[0, 0], [[82, 92, 102], [132, 142, 152],
                                                      [182, 192, 202]])
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 1, 2, 2, 4], [3, 4, 11, 8, 10],
                                                      [6, 10, 26, 18, 24], [9, 12, 27, 16, 20],
                                                      [18, 21, 48, 28, 32]])
    assert y.grad_fn.name == "conv2d"
    # the input gradient is conv_transpose2d of the cotangent
    np.testing.assert_array_equal(tg.conv_transpose2d(G, K, stride=2).data, x.grad.data)


def test_unbatched_bias_float32_and_integer_inputs():
    x = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5)
    w = np.ones((3, 2, 2, 2), dtype=np.float32)
    b = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    y = tg.conv2d(x, w, b)
    assert y.shape == (3, 3, 4) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, conv2d_loop(x[None], w, b)[0], rtol=1e-6)
    xt = tg.tensor(x, requires_grad=True)
    tg.conv2d(xt, w, b).sum().backward()
    assert xt.grad.dtype == np.float32 and xt.grad.shape == x.shape
    yi = tg.conv2d(np.ones((1, 3, 3), dtype=int), np.ones((1, 1, 2, 2), dtype=int))
    np.testing.assert_array_equal(yi.data, np.full((1, 2, 2), 4))


def test_padding_same_and_valid():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 6, 7))
    for k in [(3, 3), (2, 4), (4, 1)]:
        for d in [1, 2]:
            w = rng.standard_normal((3, 2) + k)
            y = tg.conv2d(x, w, padding="same", dilation=d)
            assert y.shape == (1, 3, 6, 7)
            # PyTorch: total d(k-1), the odd one at the bottom/right
            th, tw = d * (k[0] - 1), d * (k[1] - 1)
            xp = np.pad(x, ((0, 0), (0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2)))
            np.testing.assert_allclose(y.data, conv2d_loop(xp, w, dilation=(d, d)), atol=1e-12)
    np.testing.assert_allclose(tg.conv2d(x, w, padding="valid").data, conv2d_loop(x, w),
                               atol=1e-12)


# -- hypothesis against the loops -----------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(conv_case(), st.booleans())
def test_conv2d_matches_plain_loop(case, with_bias):
    groups, cg, og, k, s, d, p, (h, w), n, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, groups * cg, h, w))
    wt = rng.standard_normal((groups * og, cg) + k)
    b = rng.standard_normal(groups * og) if with_bias else None
    y = tg.conv2d(x, wt, b, stride=s, padding=p, dilation=d, groups=groups)
    np.testing.assert_allclose(y.data, conv2d_loop(x, wt, b, s, p, d, groups), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(conv_case())
def test_forward_routes_match_plain_loop(case):
    # large products go through im2col blocks of ~64 output pixels; both routes on any case
    groups, cg, og, k, s, d, p, (h, w), n, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, groups * cg, h, w))
    wt = rng.standard_normal((groups * og, cg) + k)
    want = conv2d_loop(x, wt, None, s, p, d, groups)
    for route in ("blocks", "whole"):
        y = kernels.correlate_nchw(x, wt, s, (p[0], p[0], p[1], p[1]), d, groups, route=route)
        np.testing.assert_allclose(y, want, atol=1e-12, err_msg=route)


@pytest.mark.parametrize("shape,params", [
    ((4, 16, 32, 32), dict(padding=1)),  # blocks of 2 rows
    ((4, 16, 31, 40), dict(padding=1, groups=2)),  # 31 rows: blocks of 1
    ((4, 8, 20, 140), dict(stride=(1, 2), dilation=2)),  # rows wider than a block
])
def test_large_conv2d_matches_einsum_reference(shape, params):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(np.float32)
    g = params.get("groups", 1)
    wt = rng.standard_normal((32, shape[1] // g, 3, 3)).astype(np.float32)
    y = tg.conv2d(x, wt, **params).data
    s = pair(params.get("stride", 1), "s", "t", 1)
    d = pair(params.get("dilation", 1), "d", "t", 1)
    p = params.get("padding", 0)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (2 * d[0] + 1, 2 * d[1] + 1), axis=(2, 3))
    win = win[:, :, ::s[0], ::s[1], ::d[0], ::d[1]]  # (N, C, Ho, Wo, 3, 3)
    cg = shape[1] // g
    want = np.concatenate([np.einsum("nchwab,ocab->nohw", win[:, i * cg:(i + 1) * cg],
                                     wt[i * 32 // g:(i + 1) * 32 // g].astype(np.float64))
                           for i in range(g)], axis=1)
    assert y.shape == want.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@settings(max_examples=30, deadline=None)
@given(conv_case(), st.data())
def test_conv_transpose2d_matches_plain_scatter_loop(case, data):
    groups, cg, og, k, s, d, p, (h, w), n, seed = case
    op = tuple(data.draw(st.integers(0, max(s[i], d[i]) - 1)) for i in range(2))
    rng = np.random.default_rng(seed)
    ho = (h - 1) * s[0] - 2 * p[0] + d[0] * (k[0] - 1) + op[0] + 1
    wo = (w - 1) * s[1] - 2 * p[1] + d[1] * (k[1] - 1) + op[1] + 1
    x = rng.standard_normal((n, groups * cg, h, w))
    wt = rng.standard_normal((groups * cg, og) + k)
    if ho < 1 or wo < 1:
        with pytest.raises(tg.ShapeError, match="not positive"):
            tg.conv_transpose2d(x, wt, stride=s, padding=p, output_padding=op, dilation=d,
                                groups=groups)
        return
    want = conv_transpose2d_loop(x, wt, s, p, op, d, groups)
    y = tg.conv_transpose2d(x, wt, stride=s, padding=p, output_padding=op, dilation=d,
                            groups=groups)
    np.testing.assert_allclose(y.data, want, atol=1e-12)
    # both ways of computing the transposed direction, whichever the rule picks
    args = ((ho, wo), s, (p[0], p[0], p[1], p[1]), d, groups)
    for route in ("fold", "dilated"):
        np.testing.assert_allclose(kernels.conv_transpose_nchw(x, wt, *args, route=route), want,
                                   atol=1e-12, err_msg=route)


@settings(max_examples=30, deadline=None)
@given(conv_case(), st.data())
def test_weight_gradient_routes_match_plain_loop(case, data):
    groups, cg, og, k, s, d, p, (h, w), n, seed = case
    rng = np.random.default_rng(seed)
    pad4 = (p[0], p[0] + data.draw(st.integers(0, 1)), p[1], p[1] + data.draw(st.integers(0, 1)))
    x = rng.standard_normal((n, groups * cg, h, w))
    hp, wp = h + pad4[0] + pad4[1], w + pad4[2] + pad4[3]
    ho = (hp - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (wp - d[1] * (k[1] - 1) - 1) // s[1] + 1
    # y may be shorter than conv2d's output (conv_transpose2d's weight gradient)
    ho, wo = ho - data.draw(st.integers(0, ho - 1)), wo - data.draw(st.integers(0, wo - 1))
    y = rng.standard_normal((n, groups * og, ho, wo))
    want = _conv2d_weight_grad_reference(x, y, k, s, pad4, d, groups)
    got = tg.OPS["conv2d_weight_grad"](x, y, kernel_size=k, stride=s, padding=pad4,
                                       dilation=d, groups=groups)
    np.testing.assert_allclose(got, want, atol=1e-12)
    for route in ("flat", "columns") if s == (1, 1) else ("columns",):
        np.testing.assert_allclose(kernels.weight_grad_nchw(x, y, k, s, pad4, d, groups,
                                                            route=route),
                                   want, atol=1e-12, err_msg=route)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 1), st.integers(0, 1), st.integers(0, 3), st.integers(0, 3),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_pools_match_plain_loop(kh, kw, sh, sw, ph, pw, eh, ew, default_stride, seed):
    k, p = (kh, kw), (min(ph, kh // 2), min(pw, kw // 2))
    s = k if default_stride else (sh, sw)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, max(1, kh - 2 * p[0] + eh), max(1, kw - 2 * p[1] + ew)))
    stride = None if default_stride else s
    np.testing.assert_allclose(tg.max_pool2d(x, k, stride, p).data, pool_loop(x, k, s, p, "max"))
    np.testing.assert_allclose(tg.avg_pool2d(x, k, stride, p).data, pool_loop(x, k, s, p, "avg"),
                               atol=1e-14)
    # unbatched gives the same, without the batch axis
    np.testing.assert_allclose(tg.max_pool2d(x[0], k, stride, p).data,
                               pool_loop(x[:1], k, s, p, "max")[0])


def test_max_pool_gradient_goes_to_the_first_maximum():
    x = tg.tensor(np.array([[[1.0, 3.0, 3.0], [3.0, 0.0, 2.0], [0.0, 1.0, 2.0]]]),
                  requires_grad=True)
    y = tg.max_pool2d(x, 2, stride=1)  # windows overlap; ties at the 3s
    np.testing.assert_array_equal(y.data, [[[3.0, 3.0], [3.0, 2.0]]])
    y.backward(np.array([[[1.0, 10.0], [100.0, 1000.0]]]))
    # window (0,0): first 3 at (0,1); (0,1): first 3 at (0,1); (1,0): (1,0); (1,1): first 2 at (1,2)
    np.testing.assert_array_equal(x.grad.data, [[[0, 11, 0], [100, 0, 1000], [0, 0, 0]]])


def test_max_pool_gradient_matches_torch_on_ties():
    torch = pytest.importorskip("torch")
    x = np.round(np.random.default_rng(1).standard_normal((2, 2, 6, 7)))  # many ties
    g = np.random.default_rng(2).standard_normal((2, 2, 5, 6))
    xt = tg.tensor(x, requires_grad=True)
    tg.max_pool2d(xt, (2, 2), 1).backward(g)
    xx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(xx, (2, 2), 1).backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.data, xx.grad.numpy(), atol=1e-12)


def test_conv_family_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 4, 7, 8)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    g = rng.standard_normal((2, 6, 4, 4))
    kw = dict(stride=(2, 3), padding=(1, 2), dilation=(1, 2), groups=2)
    ts = [tg.tensor(a, requires_grad=True) for a in (x, w, b)]
    tg.conv2d(*ts, **kw).backward(g)
    rs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    F.conv2d(*rs, **kw).backward(torch.tensor(g))
    for t, r in zip(ts, rs):
        np.testing.assert_allclose(t.grad.data, r.grad.numpy(), atol=1e-12)
    wt = rng.standard_normal((4, 3, 3, 2))
    kw = dict(stride=2, padding=1, output_padding=1, dilation=(2, 1), groups=2)
    np.testing.assert_allclose(
        tg.conv_transpose2d(x, wt, b, **kw).data,
        F.conv_transpose2d(*(torch.tensor(a) for a in (x, wt, b)), **kw).numpy(), atol=1e-12)


@pytest.mark.parametrize("groups,dilation", [(2, 3), (4, 1), (1, 2), (2, 2)])
def test_conv_transpose2d_takes_pytorchs_positional_order(groups, dilation):
    # input, weight, bias, stride, padding, output_padding, groups, dilation (conv2d has
    # dilation before groups; conv_transpose2d does not)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((2, 4, 5, 4)), rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(3 * groups)
    args = (2, 1, 1, groups, dilation)  # stride, padding, output_padding, groups, dilation
    want = torch.nn.functional.conv_transpose2d(*(torch.tensor(a) for a in (x, w, b)), *args)
    got = tg.conv_transpose2d(x, w, b, *args)
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got.data, want.numpy(), atol=1e-12 * np.abs(want.numpy()).max())


def test_the_public_functions_are_the_registered_ops():
    for name in ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"):
        assert tg.OPS[name] is getattr(tg, name), name
    # the adjoints the VJPs use are registered under their own names, not exported
    for name in ("conv2d_weight_grad", "avg_pool2d_adjoint", "max_pool2d_gather",
                 "max_pool2d_scatter"):
        assert tg.OPS[name].builtin and not hasattr(tg, name), name
    x = tg.tensor(np.arange(32.0).reshape(2, 4, 4), requires_grad=True)
    w = np.ones((2, 1, 2, 2))
    assert tg.conv2d(x, w, groups=2).grad_fn.name == "conv2d"
    assert tg.conv_transpose2d(x, w, groups=2).grad_fn.name == "conv_transpose2d"
    assert tg.max_pool2d(x[None], 2).grad_fn.name == "max_pool2d"
    assert tg.avg_pool2d(x[None], 2).grad_fn.name == "avg_pool2d"
    # a node records the complete canonical parameters
    assert tg.conv2d(x, w, groups=2).grad_fn.params == {
        "stride": (1, 1), "padding": (0, 0, 0, 0), "dilation": (1, 1), "groups": 2}


def test_max_pool_records_the_index_and_the_backward_scatters_to_it():
    x = tg.tensor(np.array([[[[1.0, 5.0, 2.0], [7.0, 3.0, 7.0]],
                             [[0.0, -1.0, 4.0], [4.0, 9.0, 9.0]]]]), requires_grad=True)
    y = tg.max_pool2d(x, (2, 2), stride=1)
    np.testing.assert_array_equal(y.data, [[[[7.0, 7.0]], [[9.0, 9.0]]]])
    # flat positions in x (1, 2, 2, 3): the first maximum of each window, row-major
    np.testing.assert_array_equal(y.grad_fn.params["index"], [[[[3, 5]], [[10, 10]]]])
    g = tg.tensor(np.array([[[[1.0, 10.0]], [[100.0, 1000.0]]]]), requires_grad=True)
    (dx,) = tg.grad(y, [x], grad_outputs=g, create_graph=True)
    np.testing.assert_array_equal(dx.data, [[[[0, 0, 0], [1, 0, 10]],
                                             [[0, 0, 0], [0, 1100, 0]]]])
    assert dx.grad_fn.name == "max_pool2d_scatter"
    # second order: d<dx, v>/dg is v gathered at the same positions
    v = np.arange(12.0).reshape(1, 2, 2, 3)
    (dg,) = tg.grad((dx * v).sum(), [g])
    np.testing.assert_array_equal(dg.data, [[[[3.0, 5.0]], [[10.0, 10.0]]]])


def test_routes_are_chosen_by_argument_and_checked():
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    with pytest.raises(ValueError, match=r"correlate_nchw: route must be None or one of"):
        kernels.correlate_nchw(x, w, (1, 1), (0, 0, 0, 0), (1, 1), 1, route="im2col")
    with pytest.raises(ValueError, match=r"weight_grad_nchw: the flat route needs stride"):
        kernels.weight_grad_nchw(x, np.ones((1, 3, 2, 2)), (3, 3), (2, 2), (0, 0, 0, 0),
                                 (1, 1), 1, route="flat")
    with pytest.raises(ValueError, match=r"conv_transpose_nchw: route must be"):
        kernels.conv_transpose_nchw(np.ones((1, 3, 3, 3)), w, (5, 5), (1, 1), (0, 0, 0, 0),
                                    (1, 1), 1, route="flat")
    # the rules behind route=None
    assert kernels.forward_route(32, 32, 144, 32, 32) == "blocks"
    assert kernels.forward_route(32, 32, 27, 32, 32) == "whole"  # K < 64
    assert kernels.forward_route(1, 5, 45, 24, 24) == "whole"  # a small product
    assert kernels.weight_grad_route((1, 1), 4) == "flat"
    assert kernels.weight_grad_route((2, 1), 16) == "columns"
    assert kernels.weight_grad_route((1, 1), 3) == "columns"
    assert kernels.transpose_route(3, 16) == "fold"
    assert kernels.transpose_route(16, 16) == "dilated"


# -- the notebook's network --------------------------------------------------------------------

def _notebook_params(rng):
    return dict(K1=rng.standard_normal((5, 1, 3, 3)), B1=rng.random((5, 26, 26)),
                K2=rng.standard_normal((5, 5, 3, 3)) * 0.3, B2=rng.random((5, 24, 24)) - 0.5,
                W1=rng.standard_normal((100, 2880)) * 0.02, b1=rng.random((100, 1)) - 0.5,
                W2=rng.standard_normal((2, 100)) * 0.3, b2=rng.random((2, 1)) - 0.5)


def _dense_tail(h, P, y):
    v = tg.reshape(h, (2880, 1))
    v = tg.sigmoid(tg.matmul(P["W1"], v) + P["b1"])
    p = tg.sigmoid(tg.matmul(P["W2"], v) + P["b2"])
    return tg.binary_cross_entropy(p, y)


def _net_conv2d(x, P, y):
    h = tg.sigmoid(tg.conv2d(x, P["K1"]) + P["B1"])
    h = tg.sigmoid(tg.conv2d(h, P["K2"]) + P["B2"])
    return _dense_tail(h, P, y)


def _net_correlate2d(x, P, y):
    def layer(inp, K, B):
        return tg.stack([B[i] + sum(tg.correlate2d(inp[j], K[i, j], "valid")
                                    for j in range(K.shape[1]))
                         for i in range(K.shape[0])])
    h = tg.sigmoid(layer(x, P["K1"], P["B1"]))
    h = tg.sigmoid(layer(h, P["K2"], P["B2"]))
    return _dense_tail(h, P, y)


def test_notebook_network_conv2d_equals_per_channel_correlate2d():
    rng = np.random.default_rng(7)
    x = rng.random((1, 28, 28))
    y = np.array([[0.0], [1.0]])
    raw = _notebook_params(rng)
    results = []
    for net in (_net_conv2d, _net_correlate2d):
        P = {k: tg.tensor(v, requires_grad=True) for k, v in raw.items()}
        loss = net(x, P, y)
        grads = tg.grad(loss, list(P.values()))
        results.append((loss.item(), dict(zip(P, grads))))
    (l1, g1), (l2, g2) = results
    assert abs(l1 - l2) <= 1e-12 * abs(l2)
    for k in raw:
        scale = np.abs(g2[k].data).max()
        assert scale > 1e-8, k  # the gradients are not vanishingly small
        np.testing.assert_allclose(g1[k].data, g2[k].data, rtol=1e-12, atol=1e-12 * scale,
                                   err_msg=k)


# -- first and second derivatives --------------------------------------------------------

def _t(rng, *shape):
    return tg.tensor(rng.standard_normal(shape), requires_grad=True)


CONV_GRAD_CASES = [
    ((2, 4, 5, 6), (6, 2, 3, 2), dict(stride=2, padding=1, groups=2)),
    ((1, 2, 6, 5), (3, 2, 2, 3), dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1))),
    ((2, 5, 5), (2, 2, 3, 3), dict(padding="same")),
]


@pytest.mark.parametrize("xs,ws,params", CONV_GRAD_CASES)
def test_conv2d_gradcheck_and_gradgradcheck(xs, ws, params):
    rng = np.random.default_rng(11)
    x, w, b = _t(rng, *xs), _t(rng, *ws), _t(rng, ws[0])
    f = lambda x, w, b: tg.conv2d(x, w, b, **params)  # noqa: E731
    assert tg.gradcheck(f, (x, w, b))
    assert tg.gradgradcheck(f, (x, w, b))


@pytest.mark.parametrize("params", [dict(stride=2, padding=1, output_padding=1, groups=2),
                                    dict(dilation=2, output_padding=1)])
def test_conv_transpose2d_gradcheck_and_gradgradcheck(params):
    rng = np.random.default_rng(12)
    x, w, b = _t(rng, 2, 4, 3, 3), _t(rng, 4, 2, 3, 2), _t(rng, 2 * params.get("groups", 1))
    f = lambda x, w, b: tg.conv_transpose2d(x, w, b, **params)  # noqa: E731
    assert tg.gradcheck(f, (x, w, b))
    assert tg.gradgradcheck(f, (x, w, b))


@pytest.mark.parametrize("params", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                    dict(kernel_size=(2, 3), stride=(1, 2))])
@pytest.mark.parametrize("pool", [tg.max_pool2d, tg.avg_pool2d], ids=["max", "avg"])
def test_pools_gradcheck_and_gradgradcheck(pool, params):
    # distinct values, far apart relative to eps: no ties, no switch of argmax
    rng = np.random.default_rng(13)
    x = tg.tensor(rng.permutation(2 * 3 * 5 * 6).reshape(2, 3, 5, 6) * 0.1, requires_grad=True)
    f = lambda x: pool(x, **params)  # noqa: E731
    assert tg.gradcheck(f, (x,))
    assert tg.gradgradcheck(f, (x,))


SIGNAL_GRAD_SHAPES = [((5, 4), (2, 3)), ((2, 3), (4, 5)), ((3, 5), (4, 2))]


@pytest.mark.parametrize("s1,s2", SIGNAL_GRAD_SHAPES)
@pytest.mark.parametrize("fn", [tg.correlate2d, tg.convolve2d], ids=["correlate2d", "convolve2d"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_signal_ops_gradcheck_and_gradgradcheck(fn, mode, s1, s2):
    if mode == "valid" and s1 == (3, 5):
        pytest.skip("neither input contains the other: 'valid' raises (tested below)")
    rng = np.random.default_rng(14)
    a, b = _t(rng, *s1), _t(rng, *s2)
    f = lambda a, b: fn(a, b, mode)  # noqa: E731
    assert tg.gradcheck(f, (a, b))
    assert tg.gradgradcheck(f, (a, b))


def test_signal_ops_valid_mode_neither_containing_raises():
    with pytest.raises(ValueError, match="valid"):
        tg.correlate2d(np.ones((3, 5)), np.ones((4, 2)), "valid")


# -- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args,kwargs,exc,match", [
    ((np.ones((2, 3, 5)), np.ones((1, 3, 2, 2))), {}, tg.ShapeError, r"x has 2 channels"),
    ((np.ones((1, 3, 5, 5)), np.ones((2, 3, 2))), {}, tg.ShapeError, r"expected weight of shape"),
    ((np.ones((5, 5)), np.ones((1, 1, 2, 2))), {}, tg.ShapeError, r"\(N, C, H, W\) or \(C, H, W\)"),
    ((np.ones((1, 4, 5, 5)), np.ones((3, 2, 2, 2))), dict(groups=2), ValueError,
     r"out_channels \(3.*divisible by groups \(2\)"),
    ((np.ones((1, 3, 5, 5)), np.ones((4, 1, 2, 2))), dict(groups=2), ValueError,
     r"in_channels \(3.*divisible by groups"),
    ((np.ones((1, 1, 3, 3)), np.ones((1, 1, 4, 4))), {}, tg.ShapeError, r"larger than the padded"),
    ((np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))), dict(dilation=3), tg.ShapeError,
     r"larger than the padded"),
    ((np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.ones(2)), {}, tg.ShapeError,
     r"bias of shape \(1,\)"),
    ((np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2))), dict(stride=0), ValueError, r"stride"),
    ((np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2))), dict(padding=-1), ValueError, r"padding"),
    ((np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2))), dict(padding="full"), ValueError,
     r"'valid' or 'same'"),
    ((np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2))), dict(padding="same", stride=2), ValueError,
     r"strided"),
    ((np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2))), dict(stride=(1, 2, 3)), ValueError,
     r"int or a pair"),
    ((np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2))), dict(groups=0), ValueError, r"groups"),
])
def test_conv2d_errors(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        tg.conv2d(*args, **kwargs)


def test_conv_transpose2d_and_pool_errors():
    with pytest.raises(tg.ShapeError, match=r"x has 2 channels"):
        tg.conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((3, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"output_padding"):
        tg.conv_transpose2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), stride=2,
                            output_padding=2)
    with pytest.raises(tg.ShapeError, match=r"not positive"):
        tg.conv_transpose2d(np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1)), padding=1)
    with pytest.raises(tg.ShapeError, match=r"bias of shape \(4,\)"):
        tg.conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((2, 2, 2, 2)), np.ones(2), groups=2)
    with pytest.raises(tg.ShapeError, match=r"larger than the \(padded\) input"):
        tg.max_pool2d(np.ones((1, 3, 3)), 4)
    with pytest.raises(ValueError, match=r"at most half"):
        tg.avg_pool2d(np.ones((1, 5, 5)), 2, padding=2)
    with pytest.raises(ValueError, match=r"kernel_size"):
        tg.avg_pool2d(np.ones((1, 5, 5)), 0)
    with pytest.raises(tg.ShapeError, match=r"\(N, C, H, W\)"):
        tg.max_pool2d(np.ones((5, 5)), 2)
    with pytest.raises(tg.ShapeError, match=r"weight of shape \(4, 3, 0, 0\) is empty"):
        tg.conv_transpose2d(np.ones((2, 4, 5, 5)), np.ones((4, 3, 0, 0)))


@pytest.mark.parametrize("call", [
    lambda obj: tg.conv2d(obj, np.ones((1, 1, 2, 2))),
    lambda obj: tg.conv2d(np.ones((1, 1, 4, 4)), obj[:, :, :2, :2]),
    lambda obj: tg.conv_transpose2d(obj, np.ones((1, 1, 2, 2))),
    lambda obj: tg.max_pool2d(obj, 2),
    lambda obj: tg.avg_pool2d(obj, 2),
    lambda obj: tg.OPS["conv2d"](obj, np.ones((1, 1, 2, 2))),
], ids=["conv2d x", "conv2d weight", "conv_transpose2d", "max_pool2d", "avg_pool2d",
        "primitive"])
def test_non_numeric_arrays_are_refused(call):
    # object arrays (Fractions, Decimals) must never reach the raw-buffer views
    obj = np.ones((1, 1, 4, 4), dtype=object)
    with pytest.raises(TypeError, match=r"numbers"):
        call(obj)


@pytest.mark.parametrize("shape,match", [((0, 3, 3, 3), r"\(0, 3, 3, 3\) is empty"),
                                         ((2, 3, 0, 3), r"\(2, 3, 0, 3\) is empty")])
def test_empty_weight_is_refused(shape, match):
    with pytest.raises(tg.ShapeError, match=match):
        tg.conv2d(np.ones((1, 3, 8, 8)), np.ones(shape))


def test_max_pool_padding_never_wins_a_tie():
    # all -inf: each window's first input cell is its maximum, as in PyTorch
    x = tg.tensor(np.full((1, 1, 2, 2), -np.inf), requires_grad=True)
    y = tg.max_pool2d(x, 2, stride=1, padding=1)
    np.testing.assert_array_equal(y.data, np.full((1, 1, 3, 3), -np.inf))
    (g,) = tg.grad(y.sum(), [x])
    np.testing.assert_array_equal(g.data, [[[[4.0, 2.0], [2.0, 1.0]]]])
    low = np.iinfo(np.int64).min
    np.testing.assert_array_equal(
        tg.max_pool2d(np.full((1, 1, 2, 2), low), 2, stride=1, padding=1).data,
        np.full((1, 1, 3, 3), low))
    np.testing.assert_array_equal(
        tg.max_pool2d(np.zeros((1, 1, 2, 2), bool), 2, stride=1, padding=1).data,
        np.zeros((1, 1, 3, 3), bool))


def test_pools_of_empty_batches():
    for shape in [(0, 3, 4, 4), (2, 0, 4, 4)]:
        for pool in (tg.max_pool2d, tg.avg_pool2d):
            assert pool(np.zeros(shape), 2).shape == shape[:2] + (2, 2)


@settings(max_examples=40, deadline=None)
@given(conv_case(), st.sampled_from([np.nan, np.inf, -np.inf]), st.data())
def test_non_finite_values_reach_only_the_windows_that_read_them(case, value, data):
    # the flat and fold routes multiply cells outside every window by zero; an inf or NaN
    # there must not leak (PyTorch's results, and the plain loops')
    groups, cg, og, k, s, d, p, (h, w), n, seed = case
    rng = np.random.default_rng(seed)
    pad4 = (p[0], p[0], p[1], p[1])
    x = rng.standard_normal((n, groups * cg, h, w))
    x[tuple(data.draw(st.integers(0, size - 1)) for size in x.shape)] = value
    ho = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    y = rng.standard_normal((n, groups * og, ho, wo))
    with np.errstate(invalid="ignore"):
        want = _conv2d_weight_grad_reference(x, y, k, s, pad4, d, groups)
        got = kernels.weight_grad_nchw(x, y, k, s, pad4, d, groups)
    np.testing.assert_allclose(got, want, atol=1e-12)  # NaN where NaN, inf where inf
    wt = rng.standard_normal((groups * og, cg) + k)
    wt[tuple(data.draw(st.integers(0, size - 1)) for size in wt.shape)] = value
    op = tuple((h, w)[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1 - ((ho, wo)[i] - 1) * s[i]
               for i in range(2))  # the rows and columns no window reached
    with np.errstate(invalid="ignore"):
        want = conv_transpose2d_loop(y, wt, s, p, op, d, groups)
        got = kernels.conv_transpose_nchw(y, wt, (h, w), s, pad4, d, groups)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_output_size_formula():
    for h, k, s, p, d in [(28, 3, 1, 0, 1), (7, 3, 2, 1, 1), (10, 3, 3, 2, 2), (5, 1, 4, 0, 1)]:
        y = tg.conv2d(np.zeros((1, 1, h, h)), np.zeros((1, 1, k, k)), stride=s, padding=p,
                      dilation=d)
        assert y.shape[2] == (h + 2 * p - d * (k - 1) - 1) // s + 1


def test_workspaces_are_per_thread():
    # the im2col/fold scratch buffers are reused between calls; threads must not share them
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(11)
    w = rng.standard_normal((32, 16, 3, 3))
    xs = [rng.standard_normal((8, 16, 20, 20)) for _ in range(6)]

    def step(x):
        xt, wt = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
        y = tg.conv2d(xt, wt, padding=1)
        gx, gw = tg.grad((y * y).sum(), [xt, wt])
        return y.data, gx.data, gw.data

    serial = [step(x) for x in xs]
    with ThreadPoolExecutor(3) as pool:
        threaded = list(pool.map(step, xs * 3))
    for got, want in zip(threaded, serial * 3):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def _large_case(rng, dtype=np.float32):
    """A batch that splits into halves and chunks: forward, input and weight gradients."""
    x = rng.standard_normal((6, 16, 20, 20)).astype(dtype)
    w = rng.standard_normal((32, 16, 3, 3)).astype(dtype)
    g = rng.standard_normal((6, 32, 20, 20)).astype(dtype)
    return x, w, g


def _three(x, w, g, route_t=None):
    one, pad = (1, 1), (1, 1, 1, 1)
    return (kernels.correlate_nchw(x, w, one, pad, one, 1),
            kernels.conv_transpose_nchw(g, w, (20, 20), one, pad, one, 1, route=route_t),
            kernels.weight_grad_nchw(x, g, (3, 3), one, pad, one, 1))


@pytest.mark.parametrize("route_t", ["fold", "dilated"])
def test_halves_and_chunks_write_the_values_of_one_pass(monkeypatch, route_t):
    # the halves of a split batch write into one result, and images go through in chunks:
    # the forward and the input gradient are exactly those of one pass over the batch
    # (each image's products are the same); the weight gradient sums the parts in another
    # order
    x, w, g = _large_case(np.random.default_rng(3))
    assert 2 * 6 * 32 * 400 * 144 >= kernels.SPLIT_FLOP  # large enough to split
    monkeypatch.setattr(kernels, "CHUNK_BYTES", 1)  # one image per chunk
    split = _three(x, w, g, route_t)
    monkeypatch.setattr(kernels, "SPLIT_FLOP", np.inf)
    monkeypatch.setattr(kernels, "CHUNK_BYTES", 1 << 40)
    whole = _three(x, w, g, route_t)
    for a, b in zip(split[:2], whole[:2]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(split[2], whole[2], rtol=1e-5, atol=1e-5 * np.abs(whole[2]).max())


def test_a_half_the_worker_has_not_started_is_computed_by_the_caller(monkeypatch):
    # the worker's core busy: its half is taken back (a future that never starts)
    from concurrent.futures import Future

    class Idle:
        def submit(self, fn, *args):
            return Future()

    x, w, g = _large_case(np.random.default_rng(4))
    want = _three(x, w, g)
    monkeypatch.setitem(kernels._THREADS, "n", 2)
    kernels._split(lambda lo, hi: None, 4, np.inf)  # the worker and its cores exist
    monkeypatch.setitem(kernels._THREADS, "pool", Idle())
    got = _three(x, w, g)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_splits_leave_the_calling_threads_affinity_as_it_was():
    import os
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no sched_getaffinity")
    from concurrent.futures import ThreadPoolExecutor

    before = os.sched_getaffinity(0)
    case = _large_case(np.random.default_rng(5))
    _three(*case)
    assert os.sched_getaffinity(0) == before

    def step(_):  # splits from several threads at once, each restoring its own
        _three(*case)
        return os.sched_getaffinity(0)

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(step, range(6))) == [before] * 6


def test_the_fold_product_in_column_blocks_equals_one_product(monkeypatch):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((2, 20, 8))
    b = rng.standard_normal((3, 2, 8, 1000))
    for block in (128, 333, 10**6):  # blocks and a narrower tail; one product
        monkeypatch.setattr(kernels, "FOLD_BLOCK", block)
        out = np.empty((3, 2, 20, 1000))
        kernels._product_in_blocks(a, b, out)
        np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-12, atol=1e-12 * 30)


@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64),
                                    (np.float32, np.float64)])
def test_the_bias_added_by_the_kernel_equals_a_separate_addition(dtypes):
    # x, w of dtypes[0], bias of dtypes[1]: a bias that promotes the result is added apart
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 16, 12, 12)).astype(dtypes[0])
    w = rng.standard_normal((32, 16, 3, 3)).astype(dtypes[0])
    b = rng.standard_normal(32).astype(dtypes[1])
    y = tg.conv2d(x, w, b, padding=1)
    assert y.dtype == np.result_type(*dtypes)
    np.testing.assert_array_equal(y.data, tg.conv2d(x, w, padding=1).data + b[:, None, None])
    xt, wt, bt = (tg.tensor(v, requires_grad=True) for v in (x, w, b))
    g = rng.standard_normal(y.shape).astype(y.dtype)
    yt = tg.conv2d(xt, wt, bt, padding=1)
    assert yt.grad_fn.name == ("conv2d" if dtypes[0] == dtypes[1] else "add")
    gx, gw, gb = tg.grad(yt, [xt, wt, bt], grad_outputs=g)
    assert gb.dtype == b.dtype
    np.testing.assert_allclose(gb.data, g.astype(np.float64).sum(axis=(0, 2, 3)),
                               rtol=1e-5, atol=1e-5 * np.abs(g).sum(axis=(0, 2, 3)).max())


@pytest.mark.parametrize("call", [
    lambda: tg.max_pool2d(np.ones((1, 1, 3, 3)), 2_000_001, stride=1, padding=1_000_000),
    lambda: tg.avg_pool2d(np.ones((1, 1, 3, 3)), 2_000_001, stride=1, padding=1_000_000),
    lambda: tg.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), dilation=1_000_000,
                      padding=1_000_000),
    lambda: tg.conv_transpose2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)),
                                stride=1_000_000, dilation=1_000_000),
], ids=["max_pool2d", "avg_pool2d", "conv2d", "conv_transpose2d"])
def test_sizes_are_checked_before_allocating(call):
    """A 3x3 input whose arguments would need 32 TB is refused at once, by name (on this
    machine the 26.8 GiB of ``max_pool2d(..., 60001, padding=30000)`` is refused too)."""
    with pytest.raises(ValueError, match=r"GiB, more than this machine's .* GiB of memory"):
        call()
