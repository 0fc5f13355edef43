"""The checker checked: gradcheck must catch each kind of wrong VJP and say where it is."""
import inspect
import warnings

import numpy as np
import pytest

import tensorgrad as tg


def _square(vjp, name):
    """x**2 as a user primitive with the given (possibly wrong) VJP."""
    def forward(x):
        return np.square(x)

    forward.__name__ = name
    return tg.primitive(forward).defvjp(vjp)


def _x(shape=(3,), seed=0):
    return tg.tensor(np.random.default_rng(seed).uniform(0.5, 1.5, size=shape), requires_grad=True)


def _report(fn, inputs, **kwargs):
    """The text of the GradcheckError that gradcheck must raise."""
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(fn, inputs, **kwargs)
    return str(info.value)


def test_correct_vjp_passes():
    sq = _square(lambda g, out, x: 2 * g * x, "square_ok")
    assert tg.gradcheck(sq, [_x()]) is True
    assert tg.gradgradcheck(sq, [_x()]) is True


def test_wrong_vjp_is_caught_with_input_output_worst_element_and_values():
    sq = _square(lambda g, out, x: g * x, "square_half")  # d(x²)/dx is 2x, not x
    x = _x((2, 3))
    text = _report(sq, [x])
    assert "input 0 (shape (2, 3), float64), output 0 (shape (2, 3))" in text
    assert "reverse mode and finite differences disagree" in text
    assert "6 of 36 Jacobian entries fail" in text  # the diagonal
    assert ": 6 of its 6 entries disagree" in text  # u·J, which found it
    # the worst entry is a printed Jacobian entry, located by plain ints, and its two values
    # are that entry of each Jacobian: x at the worst element, and the true 2x
    line = next(li for li in text.splitlines() if "worst Jacobian entry" in li)
    row, col = (int(v) for v in line.split("row ")[1].split(" of")[0].split(", column "))
    assert row == col
    index = eval(line.split("by input 0 at index ")[1][:-1])  # noqa: S307 - our own tuple
    assert all(type(i) is int for i in index)
    assert np.ravel_multi_index(index, (2, 3)) == col
    analytical = float(next(li for li in text.splitlines() if "analytical" in li).split()[-1])
    numerical = float(next(li for li in text.splitlines() if "numerical (central" in li).split()[-1])
    assert analytical == pytest.approx(x.data[index], rel=1e-9)
    assert numerical == pytest.approx(2 * x.data[index], rel=1e-6)
    assert "Jacobian, reverse mode" in text and "Jacobian, finite differences" in text
    assert tg.gradcheck(sq, [x], raise_exception=False) is False


def test_vjp_that_ignores_the_cotangent_is_caught_though_all_ones_would_miss_it():
    sq = _square(lambda g, out, x: 2 * x, "square_ignores_g")  # right only when g is all ones
    x = _x((4,))
    # an all-ones cotangent cannot tell: both sides give 2x
    (g1,) = tg.grad(sq(x), [x], grad_outputs=np.ones(4))
    np.testing.assert_allclose(g1.data, 2 * x.data)
    with pytest.raises(tg.GradcheckError, match="not zero for a zero cotangent"):
        tg.gradcheck(sq, [x])


def test_vjp_not_linear_in_the_cotangent_is_caught():
    sq = _square(lambda g, out, x: 2 * g * g * x, "square_quadratic_in_g")
    with pytest.raises(tg.GradcheckError, match="not linear in the cotangent"):
        tg.gradcheck(sq, [_x()])


def test_vjp_that_is_not_repeatable_is_caught():
    rng = np.random.default_rng(0)
    sq = _square(lambda g, out, x: 2 * g * x + 1e-3 * g * rng.standard_normal(), "square_noisy")
    with pytest.raises(tg.GradcheckError, match="not repeatable"):
        tg.gradcheck(sq, [_x()])


def test_vjp_of_the_wrong_shape_is_caught_and_names_the_op():
    sq = _square(lambda g, out, x: (2 * g * x).sum(), "square_wrong_shape")
    text = _report(sq, [_x((3,))])
    assert "ShapeError" in text
    assert "square_wrong_shape: the VJP for input 0 returned a gradient of shape ()" in text
    assert "expected the input's shape (3,)" in text


def test_faulty_op_inside_a_larger_expression_is_named_with_its_source_line():
    sq = _square(lambda g, out, x: 3 * g * x, "square_bad")

    def model(w, b, x):
        h = tg.tanh(x @ w + b)
        z = sq(h)
        return tg.sigmoid(z).sum() + (w * w).mean()

    rng = np.random.default_rng(1)
    w = tg.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    b = tg.tensor(rng.normal(size=(2,)), requires_grad=True)
    x = rng.normal(size=(4, 3))
    text = _report(model, [w, b, x])
    assert "first op whose own check fails: 'square_bad'" in text
    line = inspect.getsourcelines(model)[1] + 2  # the line `z = sq(h)`
    assert f"test_gradcheck.py:{line} in model: z = sq(h)" in text
    # ops before it (matmul, add, tanh) passed their own checks: it is op 4 in creation order
    assert "(op 4 of" in text


def test_large_inputs_are_checked_along_random_directions():
    sq = _square(lambda g, out, x: 2.01 * g * x, "square_slightly_off")
    x = _x((50, 40))  # 2,000 elements: fast mode
    with pytest.raises(tg.GradcheckError, match="along a random direction"):
        tg.gradcheck(sq, [x], localize=False)
    good = _square(lambda g, out, x: 2 * g * x, "square_fine")
    assert tg.gradcheck(good, [x])


def test_either_mode_can_be_forced():
    sq = _square(lambda g, out, x: 2.01 * g * x, "square_off_forced")
    with pytest.raises(tg.GradcheckError, match=r"along a random direction v \(fast mode, 3 "
                                                r"elements\)"):
        tg.gradcheck(sq, [_x((3,))], fast_mode=True, localize=False)
    text = _report(sq, [_x((40, 30))], fast_mode=False, localize=False)  # 1,200 elements
    assert "of 1200 entries fail" in text
    assert "Jacobian" not in text  # too large to print


def test_the_seed_chooses_the_cotangent_and_is_reported():
    sq = _square(lambda g, out, x: g * x, "square_half_seeded")
    assert "random cotangent u (seed 7)" in _report(sq, [_x()], seed=7, localize=False)
    with pytest.raises(TypeError, match="^gradcheck: seed must be None, an int seed or a "
                                        "numpy.random.Generator, got str$"):
        tg.gradcheck(sq, [_x()], seed="7")


def test_a_mismatch_no_single_op_explains_is_blamed_on_the_function_as_a_whole():
    # x * stop_gradient(x): each recorded op is right, the function's derivative is not 2x
    text = _report(lambda x: x * x.detach(), [_x()])
    assert "reverse mode and finite differences disagree" in text
    assert "each of the 1 recorded ops passes its own check at these values" in text
    assert "part of the function is not recorded (a graph escape)" in text


def test_outputs_that_are_not_tensors_are_an_error():
    with pytest.raises(TypeError, match="must return a Tensor or a tuple of Tensors; output 1 "
                                        "is float"):
        tg.gradcheck(lambda x: (x, 2.0), [_x()])


def test_each_output_of_a_tuple_is_checked_and_named():
    sq = _square(lambda g, out, x: g * x, "square_half_2")
    x = _x((2,))
    with pytest.raises(tg.GradcheckError, match=r"output 1 \(shape \(2,\)\)"):
        tg.gradcheck(lambda x: (tg.exp(x), sq(x)), [x], localize=False)


def test_float32_function_is_checked_at_float64_precision():
    # f(x) = w·x + b in float32: finite differences taken in float32 with eps 1e-6 are off by
    # percents (float32 spacing near 1 is 1.2e-7), a false alarm; the checker differentiates
    # numerically in float64, so it passes.
    w = np.array([-0.3512, 0.8, 1.7], dtype=np.float32)
    b = np.float32(0.25)
    x = tg.tensor(np.array([0.9, 1.3, -0.7], dtype=np.float32), requires_grad=True)

    def f(x):
        return (x * w).sum() + b

    eps = np.float32(1e-6)
    e0 = np.array([eps, 0, 0], dtype=np.float32)
    naive = (f(tg.tensor(x.data + e0)).item() - f(tg.tensor(x.data - e0)).item()) / (2 * 1e-6)
    assert abs(naive - (-0.3512)) > 1e-3  # what a float32 check would compare against
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a passing float32 check does not warn
        assert tg.gradcheck(f, [x])


def test_no_input_requiring_grad_is_an_error():
    with pytest.raises(ValueError, match="no input has requires_grad=True"):
        tg.gradcheck(tg.exp, [tg.tensor([1.0])])


def test_gradgradcheck_catches_a_wrong_second_derivative():
    @tg.primitive
    def cube(x):
        return x ** 3

    # first derivative right, but computed through a non-differentiable detour
    cube.defvjp(lambda g, out, x: g * 3 * tg.tensor(np.asarray(x) ** 2))
    x = _x()
    assert tg.gradcheck(cube, [x])
    with pytest.raises(tg.GradcheckError, match="gradcheck failed for vjp of"):
        tg.gradgradcheck(cube, [x])


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"inputs": None}, TypeError, r"gradcheck: inputs must be a Tensor or a list/tuple"),
    ({"eps": 0}, ValueError, r"gradcheck: eps must be a finite number > 0, got 0"),
    ({"eps": -1e-6}, ValueError, r"gradcheck: eps must be a finite number > 0, got -1e-06"),
    ({"eps": float("nan")}, ValueError, r"gradcheck: eps must be a finite number > 0"),
    ({"atol": -1.0}, ValueError, r"gradcheck: atol must be a finite number >= 0"),
    ({"rtol": "big"}, TypeError, r"gradcheck: rtol must be a number, got 'big'"),
    ({"fn": 3}, TypeError, r"gradcheck: fn must be callable, got int"),
])
def test_gradcheck_refuses_bad_arguments_before_checking(kwargs, error, match):
    call = {"fn": tg.exp, "inputs": [tg.tensor([1.0, 2.0], requires_grad=True)], **kwargs}
    with pytest.raises(error, match=match):
        tg.gradcheck(call.pop("fn"), call.pop("inputs"), **call)
    if "fn" not in kwargs:
        with pytest.raises(error, match=match.replace("gradcheck", "gradgradcheck")):
            call = {"fn": tg.exp, "inputs": [tg.tensor([1.0, 2.0], requires_grad=True)],
                    **kwargs}
            tg.gradgradcheck(call.pop("fn"), call.pop("inputs"), **call)
