"""Function transforms (vjp, jvp, jacobian, hessian, hvp, value_and_grad), forward-mode rules
(Op.defjvp) and gradcheck(check_forward_ad=True).

Values against hand-derived Jacobians and Hessians, against torch.autograd.functional (same
functions, same tuple conventions), and the consistency check against planted wrong rules.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_specs import SPECS

import tensorgrad as tg
from tensorgrad.forward import tangent_plan

RNG = np.random.default_rng(20261206)
XA, YA = RNG.uniform(-1, 1, 3), RNG.uniform(-1, 1, 3)
V1, V2 = RNG.standard_normal(3), RNG.standard_normal(3)
W1, B1, W2 = RNG.standard_normal((4, 3)), RNG.standard_normal(4), RNG.standard_normal((2, 4))


def close(actual, expected, rel=1e-12):
    actual = actual.data if isinstance(actual, tg.Tensor) else np.asarray(actual)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0,
                               atol=rel * max(np.max(np.abs(expected), initial=0), 1e-300))


def f_poly(x, y):  # x**3*y + exp(x*y), elementwise
    return x**3 * y + tg.exp(x * y)


def g_poly(x, y):
    return tg.sum(f_poly(x, y))


def mlp(x):  # W2 tanh(W1 x + b1)
    return tg.matmul(W2, tg.tanh(tg.matmul(W1, x) + B1))


# -- hand-derived -----------------------------------------------------------------------------

def test_jacobian_of_the_polynomial_by_hand_both_strategies():
    x, y = tg.tensor(XA), tg.tensor(YA)
    e = np.exp(XA * YA)
    for strategy in ("reverse-mode", "forward-mode"):
        jx, jy = tg.jacobian(f_poly, (x, y), strategy=strategy)
        close(jx, np.diag(3 * XA**2 * YA + YA * e))
        close(jy, np.diag(XA**3 + XA * e))


def test_hessian_and_hvp_of_the_polynomial_by_hand():
    x, y = tg.tensor(XA), tg.tensor(YA)
    e = np.exp(XA * YA)
    hxx = np.diag(6 * XA * YA + YA**2 * e)
    hxy = np.diag(3 * XA**2 + e + XA * YA * e)
    hyy = np.diag(XA**2 * e)
    for strategy in ("reverse-mode", "forward-mode"):
        (a, b), (c, d) = tg.hessian(g_poly, (x, y), outer_jacobian_strategy=strategy)
        for got, want in ((a, hxx), (b, hxy), (c, hxy.T), (d, hyy)):
            close(got, want)
    value, (hx, hy) = tg.hvp(g_poly, (x, y), (V1, V2))
    close(value, np.sum(XA**3 * YA + e))
    close(hx, hxx @ V1 + hxy @ V2)
    close(hy, hxy.T @ V1 + hyy @ V2)


def test_jvp_and_vjp_of_the_polynomial_by_hand():
    x, y = tg.tensor(XA), tg.tensor(YA)
    e = np.exp(XA * YA)
    dx, dy = 3 * XA**2 * YA + YA * e, XA**3 + XA * e
    out, t = tg.jvp(f_poly, (x, y), (V1, V2))
    close(out, XA**3 * YA + e)
    close(t, dx * V1 + dy * V2)
    out, (gx, gy) = tg.vjp(f_poly, (x, y), V1)
    close(gx, dx * V1)
    close(gy, dy * V1)


def test_mlp_jacobian_hessian_by_hand():
    x = tg.tensor(XA)
    h = np.tanh(W1 @ XA + B1)
    s = 1 - h**2
    jac = W2 @ (s[:, None] * W1)
    close(tg.jacobian(mlp, x), jac)
    close(tg.jacobian(mlp, x, strategy="forward-mode"), jac)
    c = W2.sum(axis=0)  # d sum / d h
    hess = W1.T @ ((c * -2 * h * s)[:, None] * W1)
    close(tg.hessian(lambda x: tg.sum(mlp(x)), x), hess)
    close(tg.hvp(lambda x: tg.sum(mlp(x)), x, V1)[1], hess @ V1)
    value, grad = tg.value_and_grad(lambda x: tg.sum(mlp(x)))(XA)
    close(value, np.sum(W2 @ h))
    close(grad, W1.T @ (c * s))


# -- forward mode -----------------------------------------------------------------------------

def test_jvp_runs_the_forward_rules_when_every_op_has_one():
    @tg.primitive
    def scaled_jvp_op(x):
        return 2 * x

    scaled_jvp_op.defvjp(lambda g, out, x: 2 * g)
    x = tg.tensor(XA)
    plain = tg.jvp(lambda x: tg.exp(scaled_jvp_op(x)), x, V1)[1]  # no JVP yet: double VJP
    close(plain, 2 * np.exp(2 * XA) * V1)
    scaled_jvp_op.defjvp(lambda t, out, x: 3 * t)  # a (deliberately) different rule is used
    close(tg.jvp(lambda x: tg.exp(scaled_jvp_op(x)), x, V1)[1], 3 * np.exp(2 * XA) * V1)
    close(tg.vjp(lambda x: tg.exp(scaled_jvp_op(x)), x, V1)[1], 2 * np.exp(2 * XA) * V1)


def test_the_mlp_runs_forward_mode_and_both_constructions_agree():
    x = tg.tensor(XA, requires_grad=True)
    plan = tangent_plan([mlp(x)], [x])
    assert plan.missing() == [] and [t.grad_fn.name for t in plan.order] == [
        "matmul", "add", "tanh", "matmul"]
    forward = tg.jvp(mlp, tg.tensor(XA), V1)[1]
    y = tg.tensor(XA)
    double_vjp = tg.jvp(lambda x: mlp(tg.maximum(x, -10.0)), y, V1)[1]  # maximum: no JVP
    close(forward, double_vjp.data, rel=1e-13)
    assert tangent_plan([tg.maximum(x, -10.0)], [x]).missing() == [("maximum", 0)]


def test_defjvp_argnum_and_create_graph_through_forward_mode():
    @tg.primitive
    def weighted_sum_t(*xs):
        return sum(float(i + 1) * x for i, x in enumerate(xs))

    weighted_sum_t.defvjp_argnum(lambda i, g, out, *xs: float(i + 1) * g)
    weighted_sum_t.defjvp_argnum(lambda i, t, out, *xs: float(i + 1) * t)
    x, y = tg.tensor(XA), tg.tensor(YA)
    close(tg.jvp(lambda a, b: tg.tanh(weighted_sum_t(a, b)), (x, y), (V1, V2))[1],
          (1 - np.tanh(XA + 2 * YA) ** 2) * (V1 + 2 * V2))
    assert tg.gradcheck(lambda a, b: tg.tanh(weighted_sum_t(a, b)),
                        [tg.tensor(XA, requires_grad=True), tg.tensor(YA, requires_grad=True)],
                        check_forward_ad=True)
    # the tangent differentiated again: d/dx of sum(J v) for f = exp(x)*x, J v = (e^x (1 + x)) v
    xg = tg.tensor(XA, requires_grad=True)
    _, t = tg.jvp(lambda a: tg.exp(a) * a, xg, V1, create_graph=True)
    (d,) = tg.grad(tg.sum(t), xg)
    close(d, np.exp(XA) * (2 + XA) * V1)
    _, t = tg.jvp(lambda a: tg.exp(tg.maximum(a, -10.0)) * a, xg, V1, create_graph=True)  # double VJP
    (d,) = tg.grad(tg.sum(t), xg)
    close(d, np.exp(XA) * (2 + XA) * V1)


# -- against PyTorch ---------------------------------------------------------------------------

def _torch_fns(torch):
    w1, b1, w2 = (torch.tensor(a) for a in (W1, B1, W2))
    return {
        "poly": (f_poly, lambda x, y: x**3 * y + torch.exp(x * y)),
        "poly_tuple": (lambda x, y: (f_poly(x, y), tg.sum(x * y)),
                       lambda x, y: (x**3 * y + torch.exp(x * y), torch.sum(x * y))),
        "poly_one_tuple": (lambda x, y: (f_poly(x, y),), lambda x, y: (x**3 * y + torch.exp(x * y),)),
        "mlp": (mlp, lambda x: w2 @ torch.tanh(w1 @ x + b1)),
        "mlp_pair": (lambda x: (mlp(x), tg.tanh(x)), lambda x: (w2 @ torch.tanh(w1 @ x + b1), torch.tanh(x))),
    }


def _same(ours, theirs, rel=1e-12):
    """Same nesting (Tensor vs tuple) and values."""
    import torch
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tg.Tensor), type(ours)
        close(ours, theirs.detach().numpy(), rel)
    else:
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b, rel)


@pytest.mark.parametrize("name", ["poly", "poly_tuple", "poly_one_tuple", "mlp", "mlp_pair"])
def test_against_torch_autograd_functional(name):
    torch = pytest.importorskip("torch")
    from torch.autograd import functional as F
    ours, theirs = _torch_fns(torch)[name]
    args = (XA, YA) if name.startswith("poly") else (XA,)
    tg_in = tuple(tg.tensor(a) for a in args)
    th_in = tuple(torch.tensor(a) for a in args)
    for pack in ((lambda t: t), (lambda t: t[0])) if len(args) == 1 else ((lambda t: t),):
        _same(tg.jacobian(ours, pack(tg_in)), F.jacobian(theirs, pack(th_in)))
        _same(tg.jacobian(ours, pack(tg_in), strategy="forward-mode"),
              F.jacobian(theirs, pack(th_in)))
        vs = tuple(RNG.standard_normal(a.shape) for a in args)
        _same(tg.jvp(ours, pack(tg_in), pack(vs)),
              F.jvp(theirs, pack(th_in), pack(tuple(torch.tensor(v) for v in vs))))
        out = theirs(*th_in)
        outs = out if isinstance(out, tuple) else (out,)
        us = tuple(RNG.standard_normal(tuple(o.shape)) for o in outs)
        u_ours = us if isinstance(out, tuple) else us[0]
        u_theirs = tuple(torch.tensor(u) for u in us) if isinstance(out, tuple) else torch.tensor(us[0])
        _same(tg.vjp(ours, pack(tg_in), u_ours), F.vjp(theirs, pack(th_in), u_theirs))
        scalar = (lambda *a: tg.sum(tg.tanh(ours(*a)[0] if isinstance(ours(*a), tuple) else ours(*a))))
        scalar_t = (lambda *a: torch.sum(torch.tanh(theirs(*a)[0] if isinstance(theirs(*a), tuple)
                                                    else theirs(*a))))
        _same(tg.hessian(scalar, pack(tg_in)), F.hessian(scalar_t, pack(th_in)))
        _same(tg.hvp(scalar, pack(tg_in), pack(vs)),
              F.hvp(scalar_t, pack(th_in), pack(tuple(torch.tensor(v) for v in vs))))


def test_create_graph_results_differentiate_like_torch():
    torch = pytest.importorskip("torch")
    from torch.autograd import functional as F
    x, xt = tg.tensor(XA, requires_grad=True), torch.tensor(XA, requires_grad=True)
    y, yt = tg.tensor(YA), torch.tensor(YA)
    j = tg.jacobian(lambda a: f_poly(a, y), x, create_graph=True)
    jt = F.jacobian(lambda a: a**3 * yt + torch.exp(a * yt), xt, create_graph=True)
    assert j.requires_grad
    close(tg.grad(tg.sum(tg.tanh(j)), x)[0],
          torch.autograd.grad(torch.tanh(jt).sum(), xt)[0].numpy())
    h = tg.hessian(lambda a: tg.sum(tg.exp(a) * a**3), x, create_graph=True)
    ht = F.hessian(lambda a: (torch.exp(a) * a**3).sum(), xt, create_graph=True)
    close(tg.grad(tg.sum(h), x)[0], torch.autograd.grad(ht.sum(), xt)[0].numpy())
    assert not tg.jacobian(lambda a: f_poly(a, y), x).requires_grad  # detached by default


def test_a_captured_tensor_is_not_the_argument():
    x = tg.tensor(XA, requires_grad=True)
    j = tg.jacobian(lambda a: a * x, x, create_graph=True)  # PyTorch: diag(x), not diag(2x)
    close(j, np.diag(XA))


# -- conventions, zeros, strict -----------------------------------------------------------------

def test_unused_inputs_get_zeros_and_strict_refuses_them():
    x, y = tg.tensor(XA), tg.tensor(YA)
    _, (gx, gy) = tg.vjp(lambda a, b: tg.exp(a), (x, y), V1)
    close(gy, np.zeros(3))
    jx, jy = tg.jacobian(lambda a, b: tg.exp(a), (x, y))
    assert jy.shape == (3, 3) and not np.any(jy.data)
    _, t = tg.jvp(lambda a, b: tg.exp(b) * 0 + 1.0, (x, y), (V1, V2))
    close(t, np.zeros(3))
    (hxx, hxy), (hyx, hyy) = tg.hessian(lambda a, b: tg.sum(a * b), (x, y))
    assert not np.any(hxx.data) and not np.any(hyy.data)
    close(hxy, np.eye(3))
    with pytest.raises(tg.BackwardError,
                       match=r"vjp: strict=True, and the outputs do not depend on input 1"):
        tg.vjp(lambda a, b: tg.exp(a), (x, y), V1, strict=True)
    with pytest.raises(tg.BackwardError,
                       match=r"jacobian: strict=True, and output 0 does not depend on input 1"):
        tg.jacobian(lambda a, b: tg.exp(a), (x, y), strict=True)


def test_list_inputs_are_tuples_and_v_none_for_one_element():
    out, g = tg.vjp(lambda a: tg.sum(a**2), [tg.tensor(XA)])
    assert isinstance(g, tuple) and len(g) == 1
    close(g[0], 2 * XA)
    _, t = tg.jvp(lambda a: a**3, tg.tensor(2.0))
    close(t, 12.0)


def test_inputs_stay_writeable_after_a_transform():
    x = tg.tensor(XA, requires_grad=True)
    tg.jacobian(lambda a: tg.exp(a), x)
    tg.hessian(lambda a: tg.sum(tg.exp(a)), x)
    with tg.no_grad():
        x -= 0.1  # an optimiser's step on the same leaf


def test_a_graph_escape_inside_func_is_an_error():
    with pytest.raises(tg.GraphEscapeError):
        tg.jacobian(lambda a: tg.tensor(np.asarray(a)) * a, tg.tensor(XA))
    with pytest.raises(tg.GraphEscapeError):
        tg.value_and_grad(lambda a: tg.sum(tg.tensor(np.asarray(a)) * a))(XA)


# -- value_and_grad --------------------------------------------------------------------------------

def test_value_and_grad_argnums_aux_and_nesting():
    def loss(x, y, scale=1.0):
        return scale * g_poly(x, y)

    e = np.exp(XA * YA)
    value, gx = tg.value_and_grad(loss)(XA, YA, scale=2.0)
    close(value, 2 * np.sum(XA**3 * YA + e))
    close(gx, 2 * (3 * XA**2 * YA + YA * e))
    assert not gx.requires_grad and gx.dtype == np.float64
    _, (gx, gy) = tg.value_and_grad(loss, argnums=(0, 1))(list(XA), tg.tensor(YA))
    close(gy, XA**3 + XA * e)
    (value, aux), gy = tg.value_and_grad(lambda x, y: (g_poly(x, y), "aux"), 1, has_aux=True)(XA, YA)
    assert aux == "aux"
    # the gradient of a gradient: d/dx sum(d g / dx) = sum over the Hessian's rows
    inner = tg.value_and_grad(g_poly)
    _, dd = tg.value_and_grad(lambda x, y: tg.sum(inner(x, y)[1]))(XA, YA)
    close(dd, 6 * XA * YA + YA**2 * e)
    x32 = tg.tensor(XA.astype(np.float32))
    assert tg.value_and_grad(lambda x: tg.sum(x * x))(x32)[1].dtype == np.float32


def test_value_and_grad_bad_input_names_the_function():
    def square_loss(x):
        return tg.sum(x * x)

    with pytest.raises(TypeError, match=r"value_and_grad: argnums must be an int or a non-empty tuple"):
        tg.value_and_grad(square_loss, argnums="0")
    with pytest.raises(TypeError, match=r"value_and_grad: func must be callable"):
        tg.value_and_grad(3)
    with pytest.raises(IndexError, match=r"value_and_grad\(.*square_loss\): argnums holds 1"):
        tg.value_and_grad(square_loss, argnums=1)(XA)
    with pytest.raises(TypeError, match=r"argument 0 must be a floating-point .* got array of "
                                        r"shape \(3,\) and dtype int64"):
        tg.value_and_grad(square_loss)(np.arange(3))
    with pytest.raises(ValueError, match=r"value_and_grad\(.*\): func must return a Tensor with "
                                         r"one element .* shape \(3,\)"):
        tg.value_and_grad(lambda x: x * x)(XA)


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: tg.jacobian(3, tg.tensor(XA)), TypeError, r"jacobian: func must be callable, got 3"),
    (lambda: tg.vjp(tg.exp, XA, V1), TypeError,
     r"vjp: inputs must be a Tensor or a tuple of Tensors; it is array of shape \(3,\)"),
    (lambda: tg.jvp(tg.exp, (tg.tensor(XA), 2.0), (V1, V1)), TypeError,
     r"jvp: inputs must be a Tensor or a tuple of Tensors; its entry 1 is float 2.0"),
    (lambda: tg.hessian(lambda a: tg.sum(a), tg.tensor([1, 2])), TypeError,
     r"hessian: input 0 has dtype int64; only real floating-point Tensors"),
    (lambda: tg.jvp(tg.exp, tg.tensor(XA), np.ones(4)), tg.ShapeError,
     r"jvp: v has shape \(4,\), expected the shape of input 0, \(3,\)"),
    (lambda: tg.vjp(tg.exp, tg.tensor(XA)), ValueError,
     r"vjp: v can be None only when the output is a single Tensor with one element; the "
     r"outputs have shapes \(3,\)"),
    (lambda: tg.jvp(tg.exp, (tg.tensor(XA), tg.tensor(XA)), V1), ValueError,
     r"jvp: v has 1 entries, expected 2: one per input"),
    (lambda: tg.vjp(lambda a: a.data, tg.tensor(XA), V1), TypeError,
     r"vjp: the result of .*<lambda> must be a Tensor or a tuple of Tensors; it is array of shape"),
    (lambda: tg.hessian(tg.exp, tg.tensor(XA)), ValueError,
     r"hessian: exp must return a single Tensor with one element, got a Tensor of shape \(3,\)"),
    (lambda: tg.hvp(lambda a: (tg.sum(a), a), tg.tensor(XA), V1), ValueError,
     r"hvp: .*<lambda> must return a single Tensor with one element, got a tuple of 2"),
    (lambda: tg.jacobian(tg.exp, tg.tensor(XA), strategy="forward"), ValueError,
     r"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got 'forward'"),
    (lambda: tg.vjp(tg.exp, tg.tensor(XA), "abc"), TypeError,
     r"vjp: v must be a Tensor or an array-like of real numbers, got 'abc'"),
    (lambda: tg.jacobian(tg.exp, ()), ValueError, r"jacobian: inputs is empty"),
])
def test_bad_input_names_the_function(call, error, message):
    with pytest.raises(error, match=message):
        call()


# -- check_forward_ad ------------------------------------------------------------------------------

def _logaddexp_op(name, jvp_x, vjp_y):
    """logaddexp(x, y) as a user op with the given JVP of x and VJP of y (right ones for the rest)."""
    op = tg.primitive(lambda x, y: np.logaddexp(x, y), name=name, broadcast=True)
    op.defvjp(lambda g, out, x, y: g * tg.exp(x - out), vjp_y)
    op.defjvp(jvp_x, lambda t, out, x, y: t * tg.exp(y - out))
    return op


def _inputs():
    return [tg.tensor(XA, requires_grad=True), tg.tensor(YA, requires_grad=True)]


def test_right_rules_pass_check_forward_ad_first_and_second_order():
    op = _logaddexp_op("lae_right", lambda t, out, x, y: t * tg.exp(x - out),
                       lambda g, out, x, y: g * tg.exp(y - out))
    assert tg.gradcheck(lambda x, y: tg.tanh(op(x, y)), _inputs(), check_forward_ad=True)
    assert tg.gradgradcheck(lambda x, y: tg.tanh(op(x, y)), _inputs(), check_forward_ad=True)


def test_a_wrong_jvp_is_caught_and_named():
    op = _logaddexp_op("lae_wrong_jvp", lambda t, out, x, y: t * tg.exp(-out),  # missing e^x
                       lambda g, out, x, y: g * tg.exp(y - out))
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(lambda x, y: tg.tanh(op(x, y)), _inputs(), check_forward_ad=True)
    text = str(info.value)
    assert text.startswith("gradcheck failed for test_a_wrong_jvp_is_caught_and_named.<locals>."
                           "<lambda>: check_forward_ad: the JVP and the VJP of 'lae_wrong_jvp' "
                           "for its input 0 disagree")
    assert "'lae_wrong_jvp' is op 1 of 2 in creation order, inputs of shapes (3,), (3,)" in text
    assert "test_transforms.py" in text  # the line that created the op
    jvp_number = float(text.split("⟨u, J·v⟩ from the JVP:")[1].split()[0])
    vjp_number = float(text.split("⟨Jᵀ·u, v⟩ from the VJP:")[1].split()[0])
    assert abs(jvp_number - vjp_number) > 1e-3
    assert "it agrees with the VJP, so the JVP is the wrong rule" in text
    # the same op passes gradcheck without check_forward_ad: its VJPs are right
    assert tg.gradcheck(lambda x, y: tg.tanh(op(x, y)), _inputs())


def test_a_wrong_vjp_is_caught_and_named():
    op = _logaddexp_op("lae_wrong_vjp", lambda t, out, x, y: t * tg.exp(x - out),
                       lambda g, out, x, y: g * tg.exp(out - y))  # inverted
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(lambda x, y: op(x, y), _inputs(), check_forward_ad=True)
    text = str(info.value)
    assert "the JVP and the VJP of 'lae_wrong_vjp' for its input 1 disagree" in text
    assert "it agrees with the JVP, so the VJP is the wrong rule" in text
    assert tg.gradcheck(lambda x, y: op(x, y), _inputs(), check_forward_ad=True,
                        raise_exception=False) is False


def test_check_forward_ad_numbers_are_the_inner_products():
    @tg.primitive
    def double_jvp_wrong(x):
        return 2 * x

    double_jvp_wrong.defvjp(lambda g, out, x: 2 * g)
    double_jvp_wrong.defjvp(lambda t, out, x: 5 * t)
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(double_jvp_wrong, [tg.tensor(XA, requires_grad=True)], check_forward_ad=True)
    text = str(info.value)
    u = np.array(text.split("u = [")[1].split("]")[0].split(), dtype=float)
    v = np.array(text.split("v = [")[1].split("]")[0].split(), dtype=float)
    jvp_number = float(text.split("⟨u, J·v⟩ from the JVP:")[1].split()[0])
    vjp_number = float(text.split("⟨Jᵀ·u, v⟩ from the VJP:")[1].split()[0])
    close(jvp_number, 5 * u @ v, rel=1e-5)  # u and v printed to 6 digits
    close(vjp_number, 2 * u @ v, rel=1e-5)


def test_check_forward_ad_warns_when_nothing_is_compared():
    x = tg.tensor(XA, requires_grad=True)
    with pytest.warns(UserWarning, match=r"no recorded op of .* declares both a JVP"):
        assert tg.gradcheck(lambda a: tg.maximum(a, -5.0), [x], check_forward_ad=True)


def test_a_jvp_of_the_wrong_shape_is_reported():
    @tg.primitive
    def bad_shape_jvp(x):
        return x * 3

    bad_shape_jvp.defvjp(lambda g, out, x: 3 * g)
    bad_shape_jvp.defjvp(lambda t, out, x: tg.sum(t))
    with pytest.raises(tg.GradcheckError, match=r"check_forward_ad: a rule of 'bad_shape_jvp' for "
                                                r"its input 0 failed: bad_shape_jvp: the JVP for "
                                                r"input 0 returned a tangent of shape \(\), "
                                                r"expected the output's shape \(3,\)"):
        tg.gradcheck(bad_shape_jvp, [tg.tensor(XA, requires_grad=True)], check_forward_ad=True)


JVP_SPECS = [s for s in SPECS if s.differentiable and s.covers in tg.OPS
             and (tg.OPS[s.covers].jvps or tg.OPS[s.covers].jvp_argnum)]


def test_the_builtin_jvps_are_covered():
    assert {s.covers for s in JVP_SPECS} >= {"add", "subtract", "multiply", "divide", "negative",
                                              "power", "exp", "tanh", "sum", "matmul"}


@pytest.mark.parametrize("spec", JVP_SPECS, ids=lambda s: s.name)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_builtin_jvps_agree_with_their_vjps(spec, data):
    case = data.draw(spec.cases, label="case")
    fn, inputs = case.closure(spec.fn, spec.diff_positions(case), name=spec.name)
    assert tg.gradcheck(fn, inputs, eps=spec.eps, atol=spec.atol, rtol=spec.rtol,
                        check_forward_ad=True)


# -- the README's example: a new op checked to second order -------------------------------------

def test_readme_log_cosh_to_second_order(capsys):
    @tg.primitive
    def log_cosh(x):
        """log(cosh(x)), stable for large |x|: logaddexp(x, -x) - log 2."""
        return np.logaddexp(x, -x) - np.log(2.0)

    log_cosh.defvjp(lambda g, out, x: g * tg.tanh(x))  # tensorgrad ops: differentiable again
    log_cosh.defjvp(lambda t, out, x: t * tg.tanh(x))  # forward mode: the tangent times d/dx

    x = tg.tensor([-30.0, -0.5, 0.0, 0.7, 30.0], requires_grad=True)
    f = lambda x: tg.sum(log_cosh(x) * x)  # noqa: E731
    print(tg.gradcheck(f, [x], check_forward_ad=True),
          tg.gradgradcheck(f, [x], check_forward_ad=True))
    print(tg.hessian(lambda x: tg.sum(log_cosh(x)), x).data.diagonal())  # 1 - tanh²
    print(tg.jvp(log_cosh, x, np.ones(5))[1])

    log_cosh.defjvp(lambda t, out, x: t * tg.tanh(x) ** 2)  # a planted mistake
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(f, [x], check_forward_ad=True)

    assert capsys.readouterr().out == (
        "True True\n"
        "[0.         0.78644773 1.         0.63473959 0.        ]\n"
        "tensor([-1.        , -0.46211716,  0.        ,  0.60436778,  1.        ], dtype=float64)\n")
    h = tg.hessian(lambda x: tg.sum(log_cosh(x)), x).data
    np.testing.assert_allclose(h, np.diag(1 - np.tanh(x.data) ** 2), rtol=0, atol=1e-15)
    text = str(info.value)
    assert "the JVP and the VJP of 'log_cosh' for its input 0 disagree" in text
    assert "⟨u, J·v⟩ from the JVP:  0.6595592043" in text
    assert "⟨Jᵀ·u, v⟩ from the VJP: 0.6673750126" in text
    assert text.endswith("it agrees with the VJP, so the JVP is the wrong rule\n"
                         "    u = [ 0.361595  1.304     0.947081 -0.703735 -1.265421]\n"
                         "    v = [ 0.12573  -0.132105  0.640423  0.1049   -0.535669]")


def test_finite_differences_that_cannot_be_taken_are_said_so():
    @tg.primitive
    def checked_sqrt_t(x):
        if np.any(x < 0):
            raise ValueError("negative input")
        return np.sqrt(x)

    checked_sqrt_t.defvjp(lambda g, out, x: g / (2 * out))
    checked_sqrt_t.defjvp(lambda t, out, x: t / out)  # wrong by a factor 2
    x = tg.tensor([1e-9, 1e-9, 1e-9], requires_grad=True)
    with pytest.raises(tg.GradcheckError, match=r"(?s)disagree.*finite differences, which would "
                                                r"decide which rule is wrong, could not be taken "
                                                r"along v: 'checked_sqrt_t' raised ValueError: "
                                                r"negative input"):
        tg.gradcheck(checked_sqrt_t, [x], check_forward_ad=True)
