"""One property test per check, run over every op spec of ``op_specs.SPECS``.

For each spec hypothesis draws inputs in the op's domain (broadcastable shapes for binary
ops, matmul signatures, small 2-D signals...) and checks:

- the forward against a NumPy/SciPy reference (float64, rtol about 1e-12);
- ``tg.gradcheck``: reverse mode against central finite differences;
- ``tg.gradgradcheck``: second derivatives (the backward pass differentiated again);
- float32 inputs give float32 results and float32 gradients of the inputs' shapes;
- non-differentiable ops never produce a result that requires grad.

A coverage test fails when a built-in registered op (``tg.OPS``) or a public composite of
``tensorgrad.functional`` has no spec.
"""
import inspect
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from op_specs import SPECS

import tensorgrad as tg
import tensorgrad.functional
import tensorgrad.testing
from tensorgrad.testing import Case, arrays, broadcastable_shapes, cases, check_op, floats, matmul_shapes

DIFFERENTIABLE = [s for s in SPECS if s.differentiable]
GRADGRAD = [s for s in DIFFERENTIABLE if s.gradgrad]
NON_DIFFERENTIABLE = [s for s in SPECS if not s.differentiable]
BROADCASTING = [s for s in SPECS if s.broadcast_cases is not None]


# Engine bugs these tests found, awaiting a fix: (test, spec name) -> reason. Each is marked
# xfail(strict=True), so the mark must go as soon as the bug is fixed.
KNOWN_BUGS = {}  # (test name, spec name) -> reason, for an engine bug pinned by a strict xfail


def params(test, specs):
    """pytest params of ``specs`` for ``test``, with the known bugs marked."""
    out = []
    for s in specs:
        reason = KNOWN_BUGS.get((test, s.name))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(s, id=s.name, marks=marks))
    return out


def call(spec, case, dtype=None, requires_grad=True):
    """Run the spec's function on ``case``: differentiated arguments become Tensors that
    require grad, the others stay constants. Returns (output, differentiated Tensors)."""
    args = list(case.args)
    if dtype is not None:
        args = [a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                for a in args]
    tensors = []
    for i in spec.diff_positions(case):
        args[i] = tg.tensor(args[i], requires_grad=requires_grad)
        tensors.append(args[i])
    return spec.fn(*args, **case.params), tensors


def run_check(check, spec, case):
    """``check`` (``tg.gradcheck`` or ``tg.gradgradcheck``) of the spec's function at ``case``
    with the spec's tolerances, differentiating the spec's arguments only."""
    fn, inputs = case.closure(spec.fn, spec.diff_positions(case), name=spec.name)
    return check(fn, inputs, eps=spec.eps, atol=spec.atol, rtol=spec.rtol)


# ----------------------------------------------------------------------------------------
# The checks
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", params("test_forward_matches_reference", SPECS))
@given(data=st.data())
def test_forward_matches_reference(spec, data):
    case = data.draw(spec.cases, label="case")
    out, _ = call(spec, case)
    assert isinstance(out, tg.Tensor)
    expected = np.asarray(spec.reference(*case.args, **case.params))
    assert out.shape == expected.shape, f"{spec.name}: shape {out.shape} != {expected.shape}"
    assert out.dtype == expected.dtype, f"{spec.name}: dtype {out.dtype} != {expected.dtype}"
    np.testing.assert_allclose(out.data, expected, rtol=spec.fwd_rtol, atol=spec.fwd_atol,
                               err_msg=f"{spec.name}: forward differs from the reference")
    assert out.requires_grad is spec.differentiable
    op = tg.OPS.get(spec.covers)
    if spec.differentiable and op is not None and (spec.fn == op.bind or spec.fn is op
                                                   and op.call is None):  # the primitive itself
        assert out.grad_fn is not None and out.grad_fn.name == spec.covers


@pytest.mark.parametrize("spec", params("test_gradcheck", DIFFERENTIABLE))
@given(data=st.data())
def test_gradcheck(spec, data):
    assert run_check(tg.gradcheck, spec, data.draw(spec.cases, label="case"))


@pytest.mark.parametrize("spec", params("test_gradgradcheck", GRADGRAD))
@pytest.mark.filterwarnings("ignore:gradcheck.*float32:UserWarning")  # cast's float32 result
@given(data=st.data())
def test_gradgradcheck(spec, data):
    assert run_check(tg.gradgradcheck, spec, data.draw(spec.cases, label="case"))


@pytest.mark.parametrize("spec", params("test_float32_stays_float32", SPECS))
@given(data=st.data())
def test_float32_stays_float32(spec, data):
    case = data.draw(spec.cases, label="case")
    out, tensors = call(spec, case, dtype=np.float32, requires_grad=spec.differentiable)
    args32 = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
              for a in case.args]
    expected = np.asarray(spec.reference(*args32, **case.params))
    if spec.keeps_dtype:
        assert out.dtype == np.float32, f"{spec.name}: float32 inputs gave {out.dtype}"
    else:
        assert out.dtype == expected.dtype, f"{spec.name}: dtype {out.dtype} != {expected.dtype}"
    # float32 sums round at about 1e-7 of their terms: atol grows with the result's scale
    magnitude = np.abs(expected.astype(np.float64))
    scale = max(1.0, float(magnitude[np.isfinite(magnitude)].max(initial=0.0)))
    np.testing.assert_allclose(out.data, expected, rtol=2e-5, atol=2e-5 * scale)
    if not spec.differentiable:
        return
    cotangent = np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype)
    out.backward(cotangent)
    for x in tensors:
        assert x.grad is not None
        assert x.grad.dtype == np.float32, f"{spec.name}: gradient dtype {x.grad.dtype}"
        assert x.grad.shape == x.shape
        assert np.all(np.isfinite(x.grad.data))


@pytest.mark.parametrize("spec", params("test_never_requires_grad", NON_DIFFERENTIABLE))
@given(data=st.data())
def test_never_requires_grad(spec, data):
    """Float inputs that require grad still give a result without grad and no graph."""
    case = data.draw(spec.cases, label="case")
    out, tensors = call(spec, case)
    assert tensors and all(t.requires_grad for t in tensors)
    assert not out.requires_grad
    assert out.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        out.backward(np.ones(out.shape))


# Broadcasting: 0-d operands, size-1 axes and missing leading axes, on every broadcasting op.
BROADCAST_SHAPES = {
    2: [((), (3,)), ((3,), ()), ((1, 3), (4, 1)), ((2, 1, 3), (4, 3)), ((4, 3), (2, 1, 1)),
        ((), ())],
    3: [((), (3,), (2, 1)), ((2, 3), (), (1, 3)), ((1, 1), (3, 1), (1, 4))],
}


def _broadcast_params():
    for spec in BROADCASTING:
        op = tg.OPS.get(spec.covers)
        arity = op.n_inputs if op is not None else 2
        for shapes in BROADCAST_SHAPES[arity]:
            yield pytest.param(spec, shapes, id=f"{spec.name}-{shapes}")


@pytest.mark.parametrize(("spec", "shapes"), list(_broadcast_params()))
@settings(max_examples=3)
@given(data=st.data())
def test_broadcasting(spec, shapes, data):
    case = data.draw(spec.broadcast_cases(shapes), label="case")
    out, tensors = call(spec, case, requires_grad=spec.differentiable)
    assert out.shape == np.broadcast_shapes(*shapes)
    np.testing.assert_allclose(out.data, spec.reference(*case.args, **case.params),
                               rtol=spec.fwd_rtol, atol=spec.fwd_atol)
    if spec.differentiable:
        assert run_check(tg.gradcheck, spec, case)
        out.backward(np.ones(out.shape))
        for x in tensors:
            assert x.grad.shape == x.shape


# ----------------------------------------------------------------------------------------
# Coverage
# ----------------------------------------------------------------------------------------

def builtin_ops():
    """Primitives registered by tensorgrad itself (not by users, tests or examples)."""
    return sorted(name for name, op in tg.OPS.items() if op.builtin)


def functional_names():
    mod = tensorgrad.functional
    return sorted(name for name, f in inspect.getmembers(mod, inspect.isfunction)
                  if f.__module__ == mod.__name__ and not name.startswith("_"))


def test_every_builtin_op_has_a_spec():
    covered = {s.covers for s in SPECS}
    missing = [name for name in builtin_ops() if name not in covered]
    assert not missing, f"registered ops without a spec in tests/op_specs.py: {missing}"


def test_every_functional_composite_has_a_spec():
    covered = {s.covers for s in SPECS}
    missing = [name for name in functional_names() if name not in covered]
    assert not missing, f"tensorgrad.functional names without a spec: {missing}"


def test_every_spec_covers_something_real():
    known = set(tg.OPS) | set(functional_names())
    stale = [s.name for s in SPECS if s.covers not in known]
    assert not stale, f"specs for ops that do not exist: {stale}"


def test_specs_cover_the_expected_core():
    """The registry itself is not empty or truncated: the core ops are all there."""
    core = {"add", "multiply", "matmul", "correlate2d", "convolve2d", "getitem", "sum",
            "exp", "log", "sigmoid", "relu", "concatenate", "stack", "where", "cast"}
    assert core <= set(builtin_ops())


def test_case_repr_shows_values():
    r = repr(Case((np.array([1.5, -2.0]), 3), {"axis": 0}))
    assert r == ("Case:\n  input 0: shape (2,), float64\n    [1.5, -2.0]\n  input 1: 3\n"
                 "  params: axis=0")


def test_case_prints_float32_values_exactly():
    r = Case((np.array([0.1], dtype=np.float32),)).describe()
    assert r == "  input 0: shape (1,), float32\n    [0.10000000149011612]"


def test_case_closure_differentiates_the_float_arrays_and_keeps_the_rest():
    x, index = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1, 0])
    case = Case((x, index), {"axis": 1})
    fn, inputs = case.closure(lambda a, i, axis: tg.sum(a[i], axis=axis), name="sum_rows")
    assert fn.__qualname__ == "sum_rows" and len(inputs) == 1 and inputs[0].requires_grad
    np.testing.assert_array_equal(fn(*inputs).data, [7.0, 3.0])
    fn, inputs = case.closure(lambda a, i, axis: a[i], diff=())  # nothing differentiated
    assert inputs == () and type(fn()) is np.ndarray


def test_the_specs_and_check_op_draw_one_case_type():
    @settings(max_examples=5)
    @given(st.data())
    def draw(data):
        spec_case = data.draw(SPECS[0].cases)
        drawn = data.draw(cases(arrays((2,)), 3, axis=st.sampled_from([0, -1]), keepdims=True))
        assert type(spec_case) is Case and type(drawn) is Case
        assert drawn.args[0].shape == (2,) and drawn.args[1] == 3
        assert drawn.params["axis"] in (0, -1) and drawn.params["keepdims"] is True

    draw()


# ----------------------------------------------------------------------------------------
# tensorgrad.testing: check_op and its strategies
# ----------------------------------------------------------------------------------------

def _softplus(name, vjp):
    op = tg.primitive(lambda x: np.logaddexp(0.0, x), name=name)
    return op.defvjp(vjp)


def test_check_op_passes_a_correct_user_op():
    op = _softplus("softplus_checked", lambda g, out, x: g * tg.sigmoid(x))
    check_op(op, domain=(-5, 5), reference=lambda x: np.log1p(np.exp(x)))


def test_check_op_reports_the_smallest_failing_case():
    op = _softplus("softplus_wrong", lambda g, out, x: g * tg.exp(x))
    with pytest.raises(tg.GradcheckError) as info:
        check_op(op, domain=(-5, 5))
    message = str(info.value)
    assert message.startswith("check_op(softplus_wrong): gradcheck failed; smallest failing "
                              "case found:\n  input 0: shape (), float64\n    0.0")
    assert "analytical" in message and "numerical" in message  # then gradcheck's report


def test_check_op_shrinks_to_the_boundary_of_the_bug():
    """A VJP wrong only above x = 1 and only for matrices: hypothesis shrinks the shape to
    (1, 1) and the value to the smallest float > 1 it can find."""
    def vjp(g, out, x):
        wrong = tg.where(x > 1, 2.0, 1.0) if np.ndim(x) == 2 else 1.0
        return g * tg.sigmoid(x) * wrong

    op = _softplus("softplus_wrong_above_1", vjp)
    with pytest.raises(tg.GradcheckError) as info:
        check_op(op, domain=(-3, 3), max_examples=100, gradgrad=False)
    first_lines = str(info.value).splitlines()[:3]
    assert first_lines[0].startswith("check_op(softplus_wrong_above_1): gradcheck failed")
    assert first_lines[1] == "  input 0: shape (1, 1), float64"
    value = float(first_lines[2].strip(" []"))
    assert 1.0 < value <= 2.0


def test_check_op_catches_a_vjp_that_cannot_be_differentiated_again():
    # np.asarray drops the graph: right first derivatives, wrong second ones.
    op = _softplus("softplus_raw_numpy",
                   lambda g, out, x: g * scipy.special.expit(np.asarray(x)))
    check_op(op, gradgrad=False, max_examples=10)
    with pytest.raises(tg.GradcheckError, match=r"^check_op\(softplus_raw_numpy\): "
                                                r"gradgradcheck failed"):
        check_op(op, max_examples=10)


def test_check_op_on_builtin_ops_shapes_domains_and_params():
    check_op(tg.multiply, max_examples=10)  # broadcastable shapes
    check_op(tg.divide, domain=[(-2, 2), floats(0.5, 2)], max_examples=10)
    check_op(tg.matmul, shapes=[(2, 3), (3, 4)], max_examples=5)
    check_op(tg.relu, domain=floats(-2, 2, avoid=[0]), max_examples=10,
             reference=lambda x: np.maximum(x, 0))


def test_check_op_variadic_and_drawn_params():
    check_op(tg.sum, shapes=(2, 3), axis=st.sampled_from([None, 0, 1]), max_examples=10)
    check_op(tg.OPS["stack"].bind, num_inputs=2, shapes=(2,), axis=0, max_examples=5)


def test_check_op_argument_errors():
    with pytest.raises(ValueError, match="num_inputs"):
        check_op(tg.OPS["stack"].bind)
    with pytest.raises(ValueError, match="one per input"):
        check_op(tg.add, domain=[(0, 1), (0, 1), (0, 1)])
    with pytest.raises(ValueError, match="lo < hi"):
        floats(1, 0)
    with pytest.raises(ValueError, match="no values left"):
        floats(-1, 1, avoid=[0], margin=2)


def test_check_op_reports_a_forward_that_differs_from_the_reference():
    with pytest.raises(tg.GradcheckError, match=r"check_op\(exp\): forward failed"):
        check_op(tg.exp, reference=lambda x: np.exp(x) + 1e-9, max_examples=5)


@given(arrays(elements=floats(-1, 1, avoid=[0.0], margin=0.1), dtype=np.float32))
def test_arrays_respect_domain_dtype_and_avoid(x):
    assert x.dtype == np.float32 and x.ndim <= 3
    assert np.all(np.abs(x) >= np.float32(0.1)) and np.all(np.abs(x) <= 1)


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


def test_matmul_shapes_cover_every_core_signature():
    seen = set()

    @settings(max_examples=100)
    @given(matmul_shapes())
    def collect(shapes):
        a, b = shapes
        np.matmul(np.ones(a), np.ones(b))
        seen.add((min(len(a), 3), min(len(b), 3)))

    collect()
    assert {(1, 1), (2, 1), (1, 2), (2, 2), (3, 3)} <= seen


def test_hypothesis_stays_an_optional_dependency():
    code = ("import sys; import tensorgrad; "
            "assert 'hypothesis' not in sys.modules, 'tensorgrad imported hypothesis'; "
            "sys.modules['hypothesis'] = None\n"
            "try:\n    import tensorgrad.testing\nexcept ImportError as e:\n    print(e)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=os.path.dirname(os.path.dirname(tg.__file__)))
    assert done.returncode == 0, done.stderr
    assert "pip install hypothesis" in done.stdout


def test_check_adjoint_is_exported():
    import tensorgrad.testing._adjoint as adjoint

    assert tensorgrad.testing.check_adjoint is adjoint.check_adjoint
