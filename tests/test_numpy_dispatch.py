"""NumPy on Tensors: NumPy functions and ufuncs run tensorgrad's ops (recorded) or run on the
values when they carry no gradient, or raise naming what to use; conversions that cut the
graph warn at the user's line and are errors inside grad and gradcheck; lists holding Tensors
are stacked, recorded."""
import sys
import threading
import warnings

import numpy as np
import pytest
import scipy.signal

import tensorgrad as tg
from tensorgrad import numpy_dispatch
from tensorgrad.escapes import forbid_graph_escape, graph_escape_is_error

rng = np.random.default_rng(20240612)


def _x(*shape, positive=False):
    data = rng.standard_normal(shape)
    return tg.tensor(np.abs(data) + 0.5 if positive else data, requires_grad=True)


def _line_after():
    """The line number following the caller's current line."""
    return sys._getframe(1).f_lineno + 1


@pytest.fixture
def no_escape():
    """Any GraphEscapeWarning inside the test is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", tg.GraphEscapeWarning)
        yield


# -- the motivating cases ------------------------------------------------------------------------

def test_dividing_by_np_linalg_norm_keeps_the_gradient(no_escape):
    x = tg.tensor([3.0, 4.0], requires_grad=True)
    w = np.array([1.0, 2.0])
    y = x / np.linalg.norm(x)
    assert y.grad_fn is not None
    (y * w).sum().backward()
    # d/dx (w . x/|x|) = w/|x| - (w . x) x/|x|^3 = [1, 2]/5 - 11 [3, 4]/125
    np.testing.assert_allclose(x.grad.data, [0.2 - 33 / 125, 0.4 - 44 / 125], rtol=1e-14)


def test_np_mean_is_recorded(no_escape):
    t = _x(2, 3)
    m = np.mean(t)
    assert m.grad_fn.name == "mean"
    m.backward()
    np.testing.assert_array_equal(t.grad.data, np.full((2, 3), 1 / 6))


def test_np_exp_on_a_tensor_runs_tensorgrads_exp(no_escape):
    t = _x(4)
    y = np.exp(t)
    assert isinstance(y, tg.Tensor) and y.grad_fn.name == "exp"
    y.sum().backward()
    np.testing.assert_allclose(t.grad.data, np.exp(t.data), rtol=1e-15)


# -- ufuncs ------------------------------------------------------------------------------------------

_UNARY = [np.negative, np.positive, np.square, np.exp, np.log, np.sqrt, np.abs, np.fabs,
          np.tanh]
_BINARY = [np.add, np.subtract, np.multiply, np.divide, np.true_divide, np.power, np.maximum,
           np.minimum]


@pytest.mark.parametrize("ufunc", _UNARY, ids=lambda u: u.__name__)
def test_unary_ufuncs_match_numpy_and_their_gradients_check(ufunc, no_escape):
    x = _x(3, 2, positive=True)
    y = ufunc(x)
    assert isinstance(y, tg.Tensor)
    np.testing.assert_allclose(y.data, ufunc(x.data), rtol=1e-15)
    assert tg.gradcheck(ufunc, [x])


@pytest.mark.parametrize("ufunc", _BINARY, ids=lambda u: u.__name__)
def test_binary_ufuncs_match_numpy_and_their_gradients_check(ufunc, no_escape):
    x, y = _x(3, 2, positive=True), _x(2, positive=True)  # broadcast
    out = ufunc(x, y)
    np.testing.assert_allclose(out.data, ufunc(x.data, y.data), rtol=1e-15)
    assert tg.gradcheck(ufunc, [x, y])


def test_matmul_ufunc_and_an_array_on_the_left(no_escape):
    a = rng.standard_normal((2, 3))
    x = _x(3, 4)
    y = np.matmul(a, x)
    assert y.grad_fn.name == "matmul"
    np.testing.assert_allclose(y.data, a @ x.data, rtol=1e-14)
    (a @ x).sum().backward()  # ndarray @ Tensor runs the ufunc too
    np.testing.assert_allclose(x.grad.data, np.repeat(a.sum(0)[:, None], 4, axis=1), rtol=1e-14)


def test_array_operators_with_a_tensor_on_the_right_are_recorded(no_escape):
    x = _x(3)
    a = np.array([1.0, 2.0, 3.0])
    y = a * x + a - x / a
    assert isinstance(y, tg.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, a - 1 / a, rtol=1e-15)


@pytest.mark.parametrize("ufunc", [np.less, np.less_equal, np.greater, np.greater_equal,
                                   np.equal, np.not_equal], ids=lambda u: u.__name__)
def test_comparison_ufuncs_give_bool_tensors_without_grad(ufunc, no_escape):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = np.array([2.0, 2.0, 2.0])
    for out, want in ((ufunc(x, a), ufunc(x.data, a)), (ufunc(a, x), ufunc(a, x.data))):
        assert isinstance(out, tg.Tensor) and out.dtype == bool and not out.requires_grad
        np.testing.assert_array_equal(out.data, want)


def test_logical_ufuncs_and_bitwise_operators_on_bool_tensors(no_escape):
    p = tg.tensor([True, True, False, False])
    q = np.array([True, False, True, False])
    np.testing.assert_array_equal(np.logical_and(p, q).data, [True, False, False, False])
    np.testing.assert_array_equal(np.logical_or(p, q).data, [True, True, True, False])
    np.testing.assert_array_equal(np.logical_not(p).data, [False, False, True, True])
    np.testing.assert_array_equal((q & p).data, [True, False, False, False])
    np.testing.assert_array_equal((q | p).data, [True, True, True, False])
    np.testing.assert_array_equal(np.invert(p).data, [False, False, True, True])
    with pytest.raises(TypeError, match="np.bitwise_and on Tensors: only for bool data"):
        np.array([1, 2]) & tg.tensor([3, 1])


def test_sign_is_recorded_without_gradient(no_escape):
    x = tg.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    s = np.sign(x)
    assert s.grad_fn is None and not s.requires_grad
    np.testing.assert_array_equal(s.data, [-1.0, 0.0, 1.0])


@pytest.mark.parametrize(("ufunc", "name", "reference"), [
    (np.add, "sum", np.sum), (np.maximum, "max", np.max), (np.minimum, "min", np.min)])
def test_ufunc_reduce_runs_the_reduction(ufunc, name, reference, no_escape):
    x = _x(3, 4)
    for kwargs in ({}, {"axis": 1}, {"axis": 1, "keepdims": True}):
        y = ufunc.reduce(x, **kwargs)
        assert y.grad_fn.name == name
        want = reference(x.data, axis=kwargs.get("axis", 0), keepdims=kwargs.get("keepdims", False))
        np.testing.assert_allclose(y.data, want, rtol=1e-15)
    assert tg.gradcheck(lambda t: ufunc.reduce(t, axis=1), [x])


def test_ufunc_methods_and_arguments_that_are_not_mapped_raise_naming_them(no_escape):
    x = _x(3)
    with pytest.raises(TypeError, match=r"np\.subtract\.reduce is not supported on a Tensor "
                                        r"that requires grad.*tensorgrad\.primitive.*detach"):
        np.subtract.reduce(x)
    with pytest.raises(TypeError, match=r"np\.add\.accumulate is not supported"):
        np.add.accumulate(x)
    with pytest.raises(TypeError, match=r"np\.add on a Tensor that requires grad takes no "
                                        r"'dtype' argument"):
        np.add(x, 1.0, dtype=np.float32)
    with pytest.raises(TypeError, match=r"np\.add\.reduce .* takes no 'initial'"):
        np.add.reduce(x, initial=1.0)
    with pytest.raises(TypeError, match=r"np\.add\.at cannot write into a Tensor"):
        np.add.at(x, [0], 1.0)


def test_out_and_in_place_array_operators_raise_while_recording(no_escape):
    x = _x(3)
    a = np.zeros(3)
    with pytest.raises(TypeError, match=r"np\.add with out= .*`array = array \+ tensor`"):
        a += x
    with pytest.raises(TypeError, match=r"np\.exp with out="):
        np.exp(x, out=a)
    with pytest.raises(TypeError, match="cannot write into a Tensor"):
        np.exp(a, out=(x,))
    np.testing.assert_array_equal(a, np.zeros(3))
    a += x.detach()  # nothing recorded: NumPy's in-place add on the values
    np.testing.assert_array_equal(a, x.data)
    with tg.no_grad():
        a += x
    np.testing.assert_array_equal(a, 2 * x.data)


def test_an_unmapped_ufunc_raises_naming_it_and_what_to_use():
    x = _x(3)
    with pytest.raises(TypeError, match=r"^np\.cbrt is not supported on a Tensor that requires "
                                        r"grad .*cut the graph.*tensorgrad\.primitive.*"
                                        r"t\.detach\(\) or t\.numpy\(\)"):
        np.cbrt(x)


def test_without_recording_numpy_runs_on_the_values(no_escape):
    x = _x(3)
    want = np.cbrt(x.data)
    np.testing.assert_array_equal(np.cbrt(x.detach()), want)
    with tg.no_grad():
        got = np.cbrt(x)
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, want)
        assert np.cumsum(x).tolist() == np.cumsum(x.data).tolist()
    assert np.vdot(x.detach(), x.data) == pytest.approx(float(x.data @ x.data), rel=1e-15)


# -- functions --------------------------------------------------------------------------------------

_FUNCTION_CASES = [
    ("sum", lambda t: np.sum(t), (3, 4)),
    ("sum axis keepdims", lambda t: np.sum(t, 1, keepdims=True), (3, 4)),
    ("mean axis", lambda t: np.mean(t, axis=0), (3, 4)),
    ("max", lambda t: np.max(t, axis=1), (3, 4)),
    ("amax", lambda t: np.amax(t), (3, 4)),
    ("min", lambda t: np.min(t, axis=(0, 1)), (3, 4)),
    ("amin", lambda t: np.amin(t, axis=0, keepdims=True), (3, 4)),
    ("reshape", lambda t: np.reshape(t, (4, 3)), (3, 4)),
    ("reshape -1", lambda t: np.reshape(t, -1), (3, 4)),
    ("ravel", lambda t: np.ravel(t), (3, 4)),
    ("transpose", lambda t: np.transpose(t), (2, 3, 4)),
    ("transpose axes", lambda t: np.transpose(t, (1, 0, 2)), (2, 3, 4)),
    ("swapaxes", lambda t: np.swapaxes(t, 0, 2), (2, 3, 4)),
    ("expand_dims", lambda t: np.expand_dims(t, 1), (3, 4)),
    ("expand_dims tuple", lambda t: np.expand_dims(t, (0, 3)), (3, 4)),
    ("squeeze", lambda t: np.squeeze(t), (3, 1, 4)),
    ("squeeze axis", lambda t: np.squeeze(t, axis=1), (3, 1, 4)),
    ("broadcast_to", lambda t: np.broadcast_to(t, (2, 3, 4)), (3, 4)),
    ("concatenate", lambda t: np.concatenate([t, 2 * t, np.ones((3, 4))], axis=1), (3, 4)),
    ("concatenate axis None", lambda t: np.concatenate((t, t), axis=None), (3, 4)),
    ("stack", lambda t: np.stack([t, np.zeros((3, 4)), t * t], axis=1), (3, 4)),
    ("where", lambda t: np.where(np.signbit(t), -2 * t, t), (3, 4)),
    ("where tensor condition", lambda t: np.where(t > 0, t, 0.0), (3, 4)),
    ("clip", lambda t: np.clip(t, -0.5, 0.5), (3, 4)),
    ("clip keywords", lambda t: np.clip(t, a_min=-0.5, a_max=None), (3, 4)),
    ("dot 1-D", lambda t: np.dot(t[0], t[1]), (3, 4)),
    ("dot 2-D", lambda t: np.dot(t, np.ones((4, 2))), (3, 4)),
    ("dot scalar", lambda t: np.dot(2.0, t), (3, 4)),
    ("norm", lambda t: np.linalg.norm(t), (3, 4)),
    ("norm fro", lambda t: np.linalg.norm(t, "fro"), (3, 4)),
    ("norm vector ord 2", lambda t: np.linalg.norm(t, 2, axis=1), (3, 4)),
    ("norm axis keepdims", lambda t: np.linalg.norm(t, axis=0, keepdims=True), (3, 4)),
    ("norm two axes", lambda t: np.linalg.norm(t, axis=(0, 2)), (2, 3, 4)),
]


@pytest.mark.parametrize(("label", "fn", "shape"), _FUNCTION_CASES,
                         ids=[c[0] for c in _FUNCTION_CASES])
def test_numpy_functions_match_numpy_and_their_gradients_check(label, fn, shape, no_escape):
    x = _x(*shape)
    y = fn(x)
    assert isinstance(y, tg.Tensor) and y.requires_grad, label
    want = fn(x.detach().data)  # the same NumPy call on the plain array
    assert y.shape == np.shape(want)
    np.testing.assert_allclose(y.data, want, rtol=1e-14, atol=1e-14 * np.max(np.abs(want)))
    assert tg.gradcheck(fn, [x])


def test_one_argument_where_gives_indices(no_escape):
    x = tg.tensor([[0.0, 1.5], [-2.0, 0.0]], requires_grad=True)
    rows, cols = np.where(x)
    np.testing.assert_array_equal(rows, [0, 1])
    np.testing.assert_array_equal(cols, [1, 0])


def test_norm_has_subgradient_zero_at_zero_never_nan(no_escape):
    z = tg.tensor(np.zeros((2, 3)), requires_grad=True)
    n = np.linalg.norm(z)
    assert n.item() == 0.0
    n.backward()
    np.testing.assert_array_equal(z.grad.data, np.zeros((2, 3)))
    z.grad = None
    np.linalg.norm(z, axis=1).sum().backward()  # every row zero
    np.testing.assert_array_equal(z.grad.data, np.zeros((2, 3)))
    x = tg.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)  # one zero row, one not
    np.linalg.norm(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.0], [0.6, 0.8]], rtol=1e-15)


def test_norm_is_twice_differentiable(no_escape):
    assert tg.gradgradcheck(lambda t: np.linalg.norm(t, axis=1), [_x(3, 4)])


def test_norm_float32_stays_float32(no_escape):
    x = tg.tensor(np.array([3.0, 4.0], dtype=np.float32), requires_grad=True)
    n = np.linalg.norm(x)
    assert n.dtype == np.float32 and n.item() == 5.0
    n.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize(("kwargs", "shape"), [
    ({"ord": "fro"}, (3,)), ({"ord": "nuc", "axis": 0}, (3, 3)), ({"ord": 3}, (3, 3)),
    ({"ord": 1}, (2, 3, 3))])
def test_norm_orders_not_valid_for_the_axes_raise_naming_norm(kwargs, shape):
    x = _x(*shape)
    with pytest.raises(ValueError, match=r"^norm: "):
        np.linalg.norm(x, **kwargs)


def test_clip_bounds_that_require_grad_raise(no_escape):
    x, lo = _x(3), _x(3)
    with pytest.raises(TypeError, match=r"np\.clip on Tensors: the bounds carry no gradient.*"
                                        r"tensorgrad\.maximum"):
        np.clip(x, lo, 1.0)
    y = np.clip(x, lo.detach(), 1.0)
    np.testing.assert_array_equal(y.data, np.clip(x.data, lo.data, 1.0))


def test_unsupported_function_arguments_raise_naming_them():
    x = _x(3)
    with pytest.raises(TypeError, match=r"^np\.sum on a Tensor that requires grad takes "
                                        r"\(a, axis=None, keepdims=False\): .*'dtype'"):
        np.sum(x, dtype=np.float32)
    with pytest.raises(TypeError, match=r"^np\.max on a Tensor .* 'initial'"):
        np.max(x, initial=0.0)
    assert np.sum(x, dtype=None).grad_fn.name == "sum"  # NumPy's default passed explicitly


def test_an_unmapped_function_raises_naming_it_and_what_to_use():
    x = _x(3)
    with pytest.raises(TypeError, match=r"^np\.diff is not supported on a Tensor that requires "
                                        r"grad .*tensorgrad\.primitive"):
        np.diff(x)
    with pytest.raises(TypeError, match=r"^np\.linalg\.pinv is not supported"):
        np.linalg.pinv(_x(2, 2))


def test_an_unmapped_function_with_a_tensorgrad_op_names_the_op(monkeypatch):
    monkeypatch.delitem(numpy_dispatch.FUNCTIONS, np.mean)
    with pytest.raises(TypeError, match=r"np\.mean is not supported .*use tensorgrad\.mean, "
                                        r"which records it"):
        np.mean(_x(3))


def test_the_tables_take_a_new_op_in_one_line(monkeypatch, no_escape):
    @tg.primitive
    def sine_dispatch(x):
        return np.sin(x)

    sine_dispatch.defvjp(lambda g, out, x: g * tg.sqrt(1 - out * out) * tg.sign(np.cos(x)))
    monkeypatch.setitem(numpy_dispatch.UFUNCS, np.sin, sine_dispatch)  # the one line
    x = tg.tensor([0.5, 2.0], requires_grad=True)
    y = np.sin(x)
    assert y.grad_fn.name == "sine_dispatch"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.cos([0.5, 2.0]), rtol=1e-14)


_VALUE_CASES = [
    lambda t: np.allclose(t, t),
    lambda t: np.isclose(t, 2 * t),
    lambda t: np.array_equal(t, t),
    lambda t: np.isfinite(t),
    lambda t: np.isnan(t),
    lambda t: np.isinf(t),
    lambda t: np.argmax(t),
    lambda t: np.argmin(t, axis=1),
    lambda t: np.argsort(t, axis=0),
    lambda t: np.shape(t),
    lambda t: np.ndim(t),
    lambda t: np.size(t),
    lambda t: np.count_nonzero(t > 0),
    lambda t: np.nonzero(np.signbit(t)),
    lambda t: np.zeros_like(t),
    lambda t: np.result_type(t, np.float32),
]


@pytest.mark.parametrize("fn", _VALUE_CASES, ids=range(len(_VALUE_CASES)))
def test_functions_without_a_gradient_run_on_the_values(fn, no_escape):
    x = _x(3, 4)
    got, want = fn(x), fn(x.detach().data)
    assert not isinstance(got, tg.Tensor)
    assert type(got) is type(want)
    np.testing.assert_array_equal(got, want)


def test_numpy_testing_helpers_read_values_silently(no_escape):
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    np.testing.assert_allclose(x, [1.0, 2.0])
    np.testing.assert_array_equal(x * 2, [2.0, 4.0])
    np.testing.assert_array_almost_equal(np.exp(x), np.exp([1.0, 2.0]))


# -- conversions that cut the graph -----------------------------------------------------------------

def _escape_warning(caught):
    found = [w for w in caught if issubclass(w.category, tg.GraphEscapeWarning)]
    assert found, "no GraphEscapeWarning"
    return found[0]


def test_a_conversion_while_recording_warns_at_the_users_line():
    x = _x(3, 3)
    lines = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lines.append(_line_after())
        np.asarray(x)
        lines.append(_line_after())
        np.array([x, 2 * x])
        lines.append(_line_after())
        np.asarray(x, dtype=np.float32)
        lines.append(_line_after())
        scipy.signal.correlate2d(x, np.ones((2, 2)))
    escapes = [w for w in caught if issubclass(w.category, tg.GraphEscapeWarning)]
    assert {(w.filename, w.lineno) for w in escapes} == {(__file__, n) for n in lines}
    assert issubclass(tg.GraphEscapeWarning, UserWarning)
    for w in escapes:
        assert "no gradient flows back" in str(w.message) and ".detach()" in str(w.message)


def test_the_warning_names_the_converting_library_function():
    with pytest.warns(tg.GraphEscapeWarning, match=r"by scipy\.signal\.\S*correlate2d"):
        scipy.signal.correlate2d(_x(3, 3), np.ones((2, 2)))


def test_reading_values_on_purpose_is_silent(no_escape):
    x = _x(3)
    np.asarray(x.detach())
    np.asarray(x.numpy())
    np.asarray(x.data)
    np.asarray(tg.tensor([1.0, 2.0]))  # requires no grad
    with tg.no_grad():
        np.asarray(x)
        np.array([x, x])
        scipy.signal.correlate(x, np.ones(2))


def test_the_library_itself_converts_no_tensor_that_requires_grad(no_escape):
    x = _x(2, 1, 5, 5)
    logits = _x(4, 3)
    tg.cross_entropy(logits, np.array([0, 2, 1, 1])).backward()
    tg.softmax(logits).sum().backward()
    assert tg.gradgradcheck(lambda t: tg.max_pool2d(t, 2, stride=1), [x])
    assert tg.gradgradcheck(lambda t: tg.avg_pool2d(t, 2), [x])


def test_a_conversion_inside_grad_is_an_error():
    @tg.primitive
    def cube_escape(x):
        return x ** 3

    # right first derivative, through a constant: its own derivative would be wrong
    cube_escape.defvjp(lambda g, out, x: g * 3 * tg.tensor(np.asarray(x) ** 2))
    x = _x(3)
    y = cube_escape(x).sum()
    (g,) = tg.grad(y, x, retain_graph=True)  # no create_graph: the VJP sees plain arrays
    np.testing.assert_allclose(g.data, 3 * x.data ** 2, rtol=1e-15)
    with pytest.raises(tg.GraphEscapeError, match=r"converted to a NumPy array.*Converted at "
                                                  r".*test_numpy_dispatch\.py:\d+ in <lambda>"):
        tg.grad(y, x, create_graph=True)
    assert issubclass(tg.GraphEscapeError, tg.BackwardError)
    assert not graph_escape_is_error()


def test_a_conversion_inside_gradcheck_fails_the_check_naming_the_line():
    def f(t):
        return t * tg.tensor(np.asarray(t))  # t * t with the second factor a constant

    x = _x(3)
    with pytest.raises(tg.GradcheckError, match=r"gradcheck failed for .*f: a Tensor that "
                                                r"requires grad was converted.*test_numpy_"
                                                r"dispatch\.py:\d+ in f"):
        tg.gradcheck(f, [x])
    assert tg.gradcheck(f, [x], raise_exception=False) is False


def test_a_new_leaf_from_a_list_of_tensors_warns_and_is_an_error_inside_gradcheck():
    x = tg.tensor(1.0, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _line_after()
        t = tg.tensor([x, 2 * x])
    w = _escape_warning(caught)
    assert w.filename == __file__ and w.lineno == line
    assert "copies its values into a new leaf" in str(w.message)
    assert "tensorgrad.stack" in str(w.message)
    assert t.is_leaf and not t.requires_grad
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    with pytest.raises(tg.GradcheckError, match="copies its values into a new leaf"):
        tg.gradcheck(lambda v: tg.tensor([v[0], v[1]]).sum() * v, [_x(2)])


def test_forbid_graph_escape_nests_and_is_per_thread():
    seen = []
    with forbid_graph_escape():
        with forbid_graph_escape():
            assert graph_escape_is_error()
        assert graph_escape_is_error()
        worker = threading.Thread(target=lambda: seen.append(graph_escape_is_error()))
        worker.start()
        worker.join()
        with pytest.raises(tg.GraphEscapeError):
            np.asarray(_x(2))
    assert seen == [False] and not graph_escape_is_error()


# -- lists and tuples holding Tensors ----------------------------------------------------------

def test_a_list_holding_tensors_is_stacked_and_recorded(no_escape):
    x = tg.tensor(1.0, requires_grad=True)
    (tg.sum([x, 2 * x]) + x).backward()
    assert x.grad.item() == 4.0


def test_nested_lists_and_tuples_with_numbers(no_escape):
    x = tg.tensor(2.0, requires_grad=True)
    y = tg.multiply([[x, 1.0], (3.0, x * x)], 10.0)
    assert y.shape == (2, 2)
    np.testing.assert_array_equal(y.data, [[20.0, 10.0], [30.0, 40.0]])
    y.sum().backward()
    assert x.grad.item() == 10.0 + 10.0 * 2 * 2.0


def test_a_list_of_tensor_rows_gives_each_row_its_gradient(no_escape):
    a, b = _x(3), _x(3)
    w = rng.standard_normal((2, 3))
    (tg.matmul(tg.tensor(np.ones(2)), tg.multiply([a, b], w)).sum()).backward()
    np.testing.assert_allclose(a.grad.data, w[0], rtol=1e-15)
    np.testing.assert_allclose(b.grad.data, w[1], rtol=1e-15)
    assert tg.gradcheck(lambda u, v: tg.exp([u, v]), [a, b])


def test_a_list_of_numbers_stays_a_constant(no_escape):
    y = tg.add([1.0, 2.0], tg.tensor([1.0, 1.0], requires_grad=True))
    (const, t) = y.grad_fn.parents
    assert type(const) is np.ndarray and t.requires_grad


def test_a_list_whose_tensors_do_not_stack_raises_naming_the_op():
    with pytest.raises(tg.ShapeError, match=r"^sum: a list argument holding Tensors is stacked "
                                            r"\(tensorgrad\.stack\).*cannot stack shapes"):
        tg.sum([_x(2), _x(3)])


def test_an_op_named_like_a_ufunc_joins_the_table_by_its_name():
    x = tg.tensor([0.5, 1.0], requires_grad=True)
    y = np.log1p(x)
    assert y.grad_fn.name == "log1p"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1 / 1.5, 1 / 2.0], rtol=1e-15)
