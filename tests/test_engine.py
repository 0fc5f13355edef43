"""Engine semantics: recording, no_grad, leaves, tg.grad, dtypes, operators, user-defined
primitives and the engine's own checks."""
import gc
import threading
import weakref

import numpy as np
import pytest
import scipy.special
from threads import run_in_threads

import tensorgrad as tg

# ----------------------------------------------------------------------------------------
# Recording and no_grad
# ----------------------------------------------------------------------------------------


def test_no_grad_records_nothing():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    np.testing.assert_array_equal(y, [2.0, 4.0])


def test_no_grad_as_decorator_and_enable_grad_inside():
    x = tg.tensor(1.0, requires_grad=True)

    @tg.no_grad()
    def f(t):
        with tg.enable_grad():
            inner = t * 3
        return t * 2, inner

    outer, inner = f(x)
    assert not outer.requires_grad
    assert inner.requires_grad and inner.grad_fn.name == "multiply"


def test_no_grad_is_thread_local():
    x = tg.tensor(1.0, requires_grad=True)
    entered, checked = threading.Event(), threading.Event()
    seen = {}

    def worker():
        entered.wait(5)
        seen["enabled"] = tg.is_grad_enabled()
        seen["requires_grad"] = (x * 2).requires_grad
        checked.set()

    thread = threading.Thread(target=worker)
    thread.start()
    with tg.no_grad():
        entered.set()
        checked.wait(5)
        assert not (x * 2).requires_grad
    thread.join(5)
    assert seen == {"enabled": True, "requires_grad": True}


def test_no_grad_in_another_thread_does_not_leak():
    x = tg.tensor(1.0, requires_grad=True)
    inside, release = threading.Event(), threading.Event()

    def worker():
        with tg.no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    try:
        assert tg.is_grad_enabled()
        assert (x * 2).requires_grad
    finally:
        release.set()
        thread.join(5)


def test_detach_shares_data_and_stops_gradients():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.data, x.data)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])  # not 2x: d is a constant


def test_is_leaf_and_grad_fn_name():
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    c = tg.tensor(np.ones(3))
    assert x.is_leaf and c.is_leaf and x.grad_fn is None
    assert (x * 2).grad_fn.name == "multiply"
    assert (x + c).grad_fn.name == "add"
    assert (x @ np.ones(3)).grad_fn.name == "matmul"
    assert tg.correlate2d(x, np.ones((1, 1))).grad_fn.name == "correlate2d"
    assert x.sum().grad_fn.name == "sum"
    assert not (x * 2).is_leaf
    assert (c * 2).is_leaf  # nothing requires grad: not recorded


def test_only_leaves_get_grad_unless_retained():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    kept = (x + 1).retain_grad()
    y = (h * kept).sum()
    y.backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert h.grad is None
    np.testing.assert_array_equal(kept.grad, [3.0, 6.0])  # dy/dkept = h
    np.testing.assert_array_equal(x.grad, 3 * (x.data + 1) + 3 * x.data)


def test_gradients_accumulate_over_separate_graphs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


# ----------------------------------------------------------------------------------------
# tg.grad
# ----------------------------------------------------------------------------------------

def test_grad_returns_a_tuple_and_touches_no_grad_attribute():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    gx, = tg.grad(y, x, retain_graph=True)
    assert isinstance(gx, tg.Tensor)
    np.testing.assert_array_equal(gx, [3.0, 4.0])
    both = tg.grad([y], [x, w])
    assert isinstance(both, tuple) and len(both) == 2
    np.testing.assert_array_equal(both[1], [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_grad_allow_unused():
    x = tg.tensor(1.0, requires_grad=True)
    unused = tg.tensor(2.0, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad(y, [x, unused], retain_graph=True)
    gx, gu = tg.grad(y, [x, unused], allow_unused=True)
    assert gx.item() == 2.0 and gu is None


def test_grad_outputs_for_non_scalar_outputs():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match="one element"):
        tg.grad(y, x, retain_graph=True)
    g, = tg.grad(y, x, grad_outputs=np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(g, [2.0, 0.0, -6.0])


def test_grad_of_several_outputs_sums_them():
    x = tg.tensor(2.0, requires_grad=True)
    g, = tg.grad([x * 3, x * x], x, grad_outputs=[np.array(1.0), np.array(10.0)])
    assert g.item() == 3.0 + 10.0 * 4.0


def test_grad_create_graph_gives_second_derivatives():
    x = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    g, = tg.grad(y, x, create_graph=True)
    assert g.requires_grad
    np.testing.assert_allclose(g, 3 * x.data ** 2, rtol=1e-15)
    h, = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h, 6 * x.data, rtol=1e-15)
    assert x.grad is None


def test_backward_create_graph_then_differentiate_the_gradient():
    x = tg.tensor(1.5, requires_grad=True)
    tg.sigmoid(x).backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    s = 1 / (1 + np.exp(-1.5))
    assert first.item() == pytest.approx(s * (1 - s), rel=1e-14)
    second, = tg.grad(first, x)
    assert second.item() == pytest.approx(s * (1 - s) * (1 - 2 * s), rel=1e-12)


# ----------------------------------------------------------------------------------------
# dtypes and shapes
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda x: x * 2.0, lambda x: 2.5 * x, lambda x: x + 1, lambda x: 1 - x,
    lambda x: x / 3.0, lambda x: 3.0 / (x + 5), lambda x: x ** 2, lambda x: x ** 0.5,
    lambda x: 2.0 ** x, lambda x: tg.exp(x) * 1e-3, lambda x: tg.maximum(x, 0.5),
    lambda x: tg.clip(x, lo=0.2, hi=0.8), lambda x: tg.where(x > 0.5, x, 0.0),
    lambda x: tg.softmax(x) * 3, lambda x: tg.mean(x) + 1.0,
], ids=["mul", "rmul", "add_int", "rsub_int", "div", "rdiv", "pow2", "sqrt_pow", "rpow",
        "exp", "maximum", "clip", "where", "softmax", "mean"])
def test_float32_stays_float32_with_python_scalars(fn):
    x = tg.tensor(np.array([0.25, 0.5, 0.75], dtype=np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


def test_default_dtype_is_float64():
    assert tg.tensor(1.0).dtype == np.float64
    assert tg.tensor([1.0, 2.0]).dtype == np.float64
    assert tg.tensor([1, 2]).dtype == np.int64


def test_gradients_have_the_input_shape_and_dtype():
    a = tg.tensor(np.ones((3, 1), dtype=np.float32), requires_grad=True)
    b = tg.tensor(np.ones((1, 4)), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.dtype == np.float32
    assert b.grad.shape == (1, 4) and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), 3.0))


def test_grads_of_two_leaves_never_share_memory():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 4.0], requires_grad=True)
    seed = np.array([1.0, 1.0])
    (x + y).backward(seed)
    assert not np.shares_memory(x.grad.data, y.grad.data)
    assert not np.shares_memory(x.grad.data, seed)
    x.grad.data[0] = 100.0
    assert y.grad.data[0] == 1.0 and seed[0] == 1.0


def test_grad_of_a_view_does_not_alias_other_grads():
    x = tg.tensor(np.ones((2, 2)), requires_grad=True)
    y = tg.tensor(np.ones(4), requires_grad=True)
    (x.reshape(4) + y).backward(np.ones(4))
    assert not np.shares_memory(x.grad.data, y.grad.data)


# ----------------------------------------------------------------------------------------
# Python protocol: weakref, repr, __array__, operators, comparisons
# ----------------------------------------------------------------------------------------

def test_weak_references_and_no_reference_cycles():
    x = tg.tensor([1.0], requires_grad=True)
    ref_x = weakref.ref(x)
    assert ref_x() is x
    y = (x * 2).sum()
    ref_y = weakref.ref(y)
    node = weakref.ref(y.grad_fn) if hasattr(type(y.grad_fn), "__weakref__") else None
    gc.disable()  # a graph must die with its output by reference counting alone
    try:
        del y
        assert ref_y() is None
        assert node is None or node() is None
    finally:
        gc.enable()


def test_repr_shows_data_dtype_and_grad_fn():
    x = tg.tensor([1.5, -2.0], requires_grad=True)
    r = repr(x * 2)
    assert "3." in r and "-4." in r
    assert "float64" in r and "multiply" in r
    assert "requires_grad=True" in repr(x)
    assert "float32" in repr(tg.tensor(np.ones(2, dtype=np.float32)))


def test_array_protocol_and_numpy_testing():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with pytest.warns(tg.GraphEscapeWarning):  # x requires grad: the array cuts the graph
        a = np.asarray(x)
        assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert type(a) is np.ndarray and a.shape == (2, 2)
    np.testing.assert_allclose(x, [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(x * 2, np.array([[2.0, 4.0], [6.0, 8.0]]))
    assert len(x) == 2 and x.shape == (2, 2) and x.ndim == 2 and x.size == 4
    assert tg.tensor(3.5).item() == 3.5
    np.testing.assert_array_equal(x.T, [[1.0, 3.0], [2.0, 4.0]])


@pytest.mark.parametrize(("expr", "value", "grad"), [
    (lambda x, a: x + 2, [3.0, 4.0], [1.0, 1.0]),
    (lambda x, a: 2 + x, [3.0, 4.0], [1.0, 1.0]),
    (lambda x, a: x - a, [-9.0, -18.0], [1.0, 1.0]),
    (lambda x, a: a - x, [9.0, 18.0], [-1.0, -1.0]),
    (lambda x, a: a * x, [10.0, 40.0], [10.0, 20.0]),
    (lambda x, a: x * a, [10.0, 40.0], [10.0, 20.0]),
    (lambda x, a: a / x, [10.0, 10.0], [-10.0, -5.0]),
    (lambda x, a: x / a, [0.1, 0.1], [0.1, 0.05]),
    (lambda x, a: 2 ** x, [2.0, 4.0], [2 * np.log(2), 4 * np.log(2)]),
    (lambda x, a: x ** 2, [1.0, 4.0], [2.0, 4.0]),
    (lambda x, a: -x, [-1.0, -2.0], [-1.0, -1.0]),
    (lambda x, a: a @ x * np.ones(2), [50.0, 50.0], [20.0, 40.0]),
    (lambda x, a: x @ a * np.ones(2), [50.0, 50.0], [20.0, 40.0]),
], ids=["add", "radd", "sub_array", "rsub_array", "rmul_array", "mul_array", "rdiv_array",
        "div_array", "rpow", "pow", "neg", "rmatmul_array", "matmul_array"])
def test_operators_with_constants_on_either_side(expr, value, grad):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = np.array([10.0, 20.0])
    y = expr(x, a)
    assert isinstance(y, tg.Tensor)
    np.testing.assert_allclose(y, value, rtol=1e-15)
    y.backward(np.ones(y.shape))
    np.testing.assert_allclose(x.grad, grad, rtol=1e-15)


def test_comparisons_never_require_grad():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = tg.tensor([3.0, 2.0, 1.0], requires_grad=True)
    for result, expected in [(x < y, [True, False, False]), (x <= y, [True, True, False]),
                             (x > 2, [False, False, True]), (x >= 2, [False, True, True]),
                             (x == y, [False, True, False]), (x != y, [True, False, True]),
                             (2 < x, [False, False, True])]:
        assert result.dtype == np.bool_
        assert not result.requires_grad and result.grad_fn is None
        np.testing.assert_array_equal(result, expected)
    mask = (x > 1) & (y > 1)
    np.testing.assert_array_equal(mask, [False, True, False])
    np.testing.assert_array_equal(~mask, [True, False, True])
    assert not tg.sign(x).requires_grad


def test_tensors_hash_by_identity():
    x, y = tg.tensor([1.0]), tg.tensor([1.0])
    assert len({x, y}) == 2
    assert {x: 1}[x] == 1


# ----------------------------------------------------------------------------------------
# User-defined primitives
# ----------------------------------------------------------------------------------------

@tg.primitive
def softplus(x):
    """log(1 + exp(x)) elementwise, stable for large |x|."""
    return np.logaddexp(0.0, x)


softplus.defvjp(lambda g, out, x: g * tg.sigmoid(x))


def test_user_primitive_forward_backward_and_name():
    x = tg.tensor([-1000.0, -1.0, 0.0, 2.0, 1000.0], requires_grad=True)
    y = softplus(x)
    assert y.grad_fn.name == "softplus"
    assert isinstance(softplus, tg.Op) and softplus.name == "softplus"
    np.testing.assert_allclose(y, [0.0, np.log1p(np.exp(-1.0)), np.log(2.0),
                                   2.0 + np.log1p(np.exp(-2.0)), 1000.0], rtol=1e-15)
    y.backward(np.ones(5))
    np.testing.assert_allclose(x.grad, scipy.special.expit(x.data), rtol=1e-15)


def test_user_primitive_gradcheck_and_second_derivative():
    x = tg.tensor(np.linspace(-3, 3, 7), requires_grad=True)
    assert tg.gradcheck(softplus, (x,))
    assert tg.gradgradcheck(softplus, (x,))
    g, = tg.grad(softplus(x).sum(), x, create_graph=True)
    h, = tg.grad(g.sum(), x)
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(h, s * (1 - s), rtol=1e-12)


def test_user_primitive_on_plain_arrays_and_with_params():
    @tg.primitive
    def scale(x, factor=1.0):
        return x * factor

    scale.defvjp(lambda g, out, x, factor=1.0: g * factor)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = scale(x, factor=3.0)
    y.backward(np.ones(2))
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    np.testing.assert_array_equal(scale(np.array([1.0, 2.0]), 2.0), [2.0, 4.0])


def test_primitive_refuses_a_forward_that_is_not_a_function_naming_the_keyword():
    with pytest.raises(TypeError, match=r"^primitive: forward must be a function .*got str "
                                        r"'softplus2'; to name the op, write "
                                        r"@primitive\(name='softplus2'\)"):
        tg.primitive("softplus2")
    with pytest.raises(TypeError, match=r"^primitive: forward must be a function .*got int 3$"):
        tg.primitive(name="three")(3)
    with pytest.raises(TypeError, match=r"^primitive: name must be a string, got int 3"):
        tg.primitive(name=3)


def test_defvjp_and_defjvp_refuse_rules_that_are_not_functions_or_not_inputs():
    @tg.primitive
    def twice(x, y):
        return 2 * x + y

    for declare in (twice.defvjp, twice.defjvp):
        where = declare.__name__
        with pytest.raises(TypeError, match=rf"^twice\.{where}: rule 1 must be a function "
                                            r"\(or None for an input without one\), got int 3"):
            declare(lambda g, out, x, y: 2 * g, 3)
        with pytest.raises(ValueError, match=rf"^twice\.{where}: input position 2 is not one "
                                             r"of the op's 2 array input\(s\)"):
            declare(lambda g, out, x, y: g, argnums=(2,))
        with pytest.raises(ValueError, match=rf"^twice\.{where}: 2 rule\(s\) for 1 argnums"):
            declare(lambda g, out, x, y: g, lambda g, out, x, y: g, argnums=(1,))
    with pytest.raises(TypeError, match=r"^twice\.defjvp_argnum: rule 0 must be a function"):
        twice.defjvp_argnum("not a rule")
    assert twice.vjps == {} and twice.jvps == {} and twice.jvp_argnum is None  # nothing kept
    twice.defvjp(None, lambda g, out, x, y: g)  # None: an input without a rule
    assert set(twice.vjps) == {0, 1} and twice.vjps[0] is None


def test_missing_vjp_raises_naming_the_op():
    @tg.primitive
    def half_declared(x, y):
        return x * y

    half_declared.defvjp(lambda g, out, x, y: g * y)  # none for y
    x = tg.tensor([1.0], requires_grad=True)
    y = tg.tensor([2.0], requires_grad=True)
    half_declared(x, tg.tensor([2.0])).sum().backward()  # y constant: fine
    np.testing.assert_array_equal(x.grad, [2.0])
    with pytest.raises(RuntimeError, match=r"input 1 of .half_declared.*declares no VJP"):
        half_declared(x, y).sum().backward()


def test_vjp_of_the_wrong_shape_raises_shape_error_naming_the_op():
    @tg.primitive
    def bad_shape(x):
        return np.sin(x)

    bad_shape.defvjp(lambda g, out, x: tg.sum(g))  # () instead of x's shape
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(tg.ShapeError, match=r"bad_shape.*\(\).*\(3,\)"):
        bad_shape(x).backward(np.ones(3))


def test_incompatible_broadcast_raises_shape_error_naming_the_op():
    with pytest.raises(tg.ShapeError, match=r"add.*\(3,\).*\(4,\)"):
        tg.tensor(np.ones(3)) + tg.tensor(np.ones(4))
    with pytest.raises(tg.ShapeError, match=r"multiply.*\(2, 3\).*\(2,\)"):
        tg.multiply(np.ones((2, 3)), tg.tensor(np.ones(2), requires_grad=True))


def test_user_op_with_broadcast_gets_gradients_summed_back():
    @tg.primitive(broadcast=True)
    def my_hypot(x, y):
        return np.hypot(x, y)

    my_hypot.defvjp(lambda g, out, x, y: g * x / out, lambda g, out, x, y: g * y / out)
    x = tg.tensor([[3.0], [6.0]], requires_grad=True)
    y = tg.tensor([4.0, 8.0], requires_grad=True)
    out = my_hypot(x, y)
    assert out.shape == (2, 2)
    out.backward(np.ones((2, 2)))
    assert x.grad.shape == (2, 1) and y.grad.shape == (2,)
    assert tg.gradcheck(my_hypot, (x, y))


# ----------------------------------------------------------------------------------------
# Cotangents and complex numbers: refused where they enter
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("grad", "expected"), [
    ([None, None, None], "object"),
    ("abc", "<U3"),
    (np.array(["a", "b", "c"]), "<U1"),
    (np.ones(3) * 1j, "complex128"),
    (np.ones(3, dtype=np.complex64), "complex64"),
], ids=["None", "str", "str-array", "complex128", "complex64"])
def test_backward_refuses_a_cotangent_that_is_not_real_numbers(grad, expected):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(TypeError, match=rf"backward: grad must hold real numbers.*{expected}"):
        (x * 2).backward(grad)
    assert x.grad is None


def test_backward_refuses_a_ragged_cotangent():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="backward: grad"):
        (x * 2).backward([1.0, [2.0, 3.0]])


@pytest.mark.parametrize("grad_outputs", [[None, None], np.array([1j, 1j]), "ab"],
                         ids=["None", "complex", "str"])
def test_grad_refuses_a_cotangent_that_is_not_real_numbers(grad_outputs):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"grad \(output 0\): grad must hold real numbers"):
        tg.grad(x * 2, x, grad_outputs=grad_outputs)


def test_integer_and_bool_cotangents_are_converted_to_the_output_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward(np.array([1, 3]))
    np.testing.assert_array_equal(x.grad.data, [2.0, 6.0])
    assert x.grad.dtype == np.float64


@pytest.mark.parametrize("make", [
    lambda: tg.tensor([1 + 2j], requires_grad=True),
    lambda: tg.Tensor(np.array([1j], dtype=np.complex64), requires_grad=True),
    lambda: tg.tensor([1j]).requires_grad_(),
], ids=["tensor", "Tensor", "requires_grad_"])
def test_requires_grad_on_complex_data_raises_naming_the_dtype(make):
    with pytest.raises(TypeError, match="complex"):
        make()


@pytest.mark.parametrize("make", [
    lambda: tg.tensor([1 + 2j, 3j]),
    lambda: tg.Tensor(np.ones(2, dtype=np.complex64)),
    lambda: tg.exp(np.array([1j])),
    lambda: tg.tensor([1.0, 2.0]) * np.array([1j, 2j]),
], ids=["tensor", "Tensor", "op on an array", "operator"])
def test_complex_data_is_refused_where_it_enters(make):
    with pytest.raises(TypeError, match=r"complex"):
        make()


def test_an_op_producing_complex_from_a_tensor_that_requires_grad_raises():
    @tg.primitive
    def to_complex(x):
        return x * 1j

    to_complex.defvjp(lambda g, out, x: g)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"to_complex.*complex128.*not supported"):
        to_complex(x)
    with pytest.raises(TypeError, match="complex"):
        x * np.array([1j, 1j])


def test_a_vjp_returning_complex_raises_instead_of_dropping_the_imaginary_part():
    @tg.primitive
    def twice(x):
        return 2 * x

    twice.defvjp(lambda g, out, x: g * (2 + 1j))
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(tg.BackwardError, match=r"'twice'.*complex128"):
        twice(x).sum().backward()


# ----------------------------------------------------------------------------------------
# Threads
# ----------------------------------------------------------------------------------------

def test_gradient_accumulation_from_several_threads_is_atomic():
    w = tg.tensor([1.0], requires_grad=True)
    errors = []

    def work():
        try:
            for _ in range(3000):
                (w * 1.0).sum().backward()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    run_in_threads(work)
    assert not errors
    assert w.grad.data[0] == 12000.0
    assert w.data.flags.writeable  # every graph released its protection
