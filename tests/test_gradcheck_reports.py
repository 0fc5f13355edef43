"""gradcheck's reports explain themselves: every number is a printed Jacobian entry (or an
entry of u·J, defined beside it), kinks of recorded ops are named and a subgradient there is
accepted, and a part of the function that is not recorded is called a graph escape."""
import inspect
import re
import warnings

import numpy as np
import pytest

import tensorgrad as tg


def _report(fn, inputs, **kwargs):
    """The text of the GradcheckError that gradcheck must raise."""
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(fn, inputs, **kwargs)
    return str(info.value)


def _passes_accepting(fn, inputs, **kwargs) -> str:
    """gradcheck passes with one warning, on the subgradients accepted at kinks: its text."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert tg.gradcheck(fn, inputs, **kwargs) is True
    assert len(caught) == 1, [str(c.message) for c in caught]
    text = str(caught[0].message)
    assert text.startswith("gradcheck passed, accepting reverse mode's Jacobian column as a "
                           "subgradient")
    return text


def _matrix(text, title) -> np.ndarray:
    """The matrix printed after the line starting with ``title``."""
    lines = text.splitlines()
    start = next(i for i, li in enumerate(lines) if li.strip().startswith(title)) + 1
    rows = []
    for li in lines[start:]:
        if not li.strip().startswith("["):
            break
        rows.append([float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]\d+)?", li)])
    return np.array(rows)


def _value(text, label) -> float:
    return float(next(li for li in text.splitlines() if label in li).split()[-1])


def _worst_entry(text) -> tuple:
    line = next(li for li in text.splitlines() if "worst Jacobian entry" in li)
    row, col = re.search(r"row (\d+), column (\d+)", line).groups()
    return int(row), int(col)


def _relu_with_vjp(slope_at_zero, name, kinks=True):
    """relu as a user op whose VJP gives ``slope_at_zero`` at 0 (1 for x > 0)."""
    op = tg.primitive(lambda x: np.maximum(x, 0), name=name)
    op.defvjp(lambda g, out, x: tg.where(x > 0, g, tg.where(x < 0, 0, slope_at_zero * g)))
    return op.defkinks(np.abs) if kinks else op


# -- every number traceable ------------------------------------------------------------------

def test_the_worst_entry_is_an_entry_of_both_printed_jacobians():
    sq = tg.primitive(lambda x: np.square(x), name="square_half_r").defvjp(lambda g, out, x: g * x)
    x = tg.tensor([0.5, 1.0, 1.5], requires_grad=True)
    text = _report(sq, [x], localize=False)
    reverse = _matrix(text, "Jacobian, reverse mode")
    central = _matrix(text, "Jacobian, finite differences (central)")
    np.testing.assert_allclose(reverse, np.diag(x.data), rtol=1e-6)
    np.testing.assert_allclose(central, np.diag(2 * x.data), rtol=1e-6)
    r, c = _worst_entry(text)
    assert (r, c) == (2, 2)  # the largest error, 1.5 against 3
    assert _value(text, "analytical (reverse mode)") == pytest.approx(reverse[r, c], rel=1e-6)
    assert _value(text, "numerical (central difference)") == pytest.approx(central[r, c], rel=1e-6)
    assert "3 of 9 Jacobian entries fail" in text
    # the comparison that found it is named, with its cotangent u printed
    u = np.random.default_rng(0).standard_normal(3)
    assert "found by comparing u·J = u @ J" in text and ": 3 of its 3 entries disagree" in text
    printed_u = re.search(r"u = \[([^\]]*)\]", text).group(1)
    np.testing.assert_allclose([float(v) for v in printed_u.split()], u, rtol=1e-5)


def test_without_printed_jacobians_the_worst_entry_is_an_entry_of_u_J_as_defined():
    sq = tg.primitive(lambda x: np.square(x), name="square_half_big").defvjp(lambda g, out, x: g * x)
    x = tg.tensor(np.linspace(0.5, 1.5, 100).reshape(10, 10), requires_grad=True)
    text = _report(sq, [x], localize=False)
    assert "Jacobian" not in text
    assert "compared: u·J = u @ J, the gradient of sum(u * output 0) by the input" in text
    index = tuple(int(i) for i in re.search(r"worst entry: input 0 at index \((\d+), (\d+)\)",
                                            text).groups())
    u = np.random.default_rng(0).standard_normal((10, 10))  # the cotangent of seed 0
    (g,) = tg.grad(sq(x), [x], grad_outputs=u)
    assert _value(text, "analytical (reverse mode)") == pytest.approx(g.data[index], rel=1e-9)
    assert _value(text, "numerical (central difference)") == pytest.approx(
        2 * u[index] * x.data[index], rel=1e-6)
    assert "100 of 100 entries fail" in text


# -- kinks: subgradients accepted, named with the op, its input and the line -----------------

def test_relu_at_exactly_zero_is_accepted_as_a_subgradient_and_named():
    x = tg.tensor([0.0, 1.5, -0.5], requires_grad=True)
    text = _passes_accepting(lambda x: tg.relu(x), [x])
    line = inspect.currentframe().f_lineno - 1
    assert ("input 0 at index (0,), output 0: 'relu' (op 1 of 1 in creation order), its input 0 "
            "at index (0,) = 0, 0 from a kink") in text
    assert f"test_gradcheck_reports.py:{line} in " in text
    # relu'(0) = 0 lies between the one-sided differences 1 (forward) and 0 (backward)
    assert ("Jacobian column, reverse mode [0. 0. 0.], one-sided differences forward [1. 0. 0.] "
            "and backward [0. 0. 0.]") in text


def test_abs_at_and_near_zero():
    assert tg.gradcheck(tg.abs, [tg.tensor([0.0, 2.0], requires_grad=True)])  # central is 0 too
    text = _passes_accepting(tg.abs, [tg.tensor([1e-7, 2.0], requires_grad=True)])
    assert "'abs' (op 1 of 1 in creation order), its input 0 at index (0,) = 1e-07" in text
    # abs'(1e-7) = 1; backward difference (1e-7 - 9e-7) / 1e-6 = -0.8
    assert "reverse mode [1. 0.], one-sided differences forward [1. 0.] and backward [-0.8  0. ]" in text


def test_max_near_a_tie_accepts_the_gradient_to_the_larger():
    text = _passes_accepting(lambda x: tg.max(x), [tg.tensor([1.0, 3.0, 3.0 + 1e-7], requires_grad=True)])
    assert "'max' (op 1 of 1 in creation order), its input 0 at index (1,) = 3, 1e-07 from a kink" in text
    assert "input 0 at index (2,), output 0: 'max'" in text


def test_maximum_near_a_tie_names_both_inputs_kink():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([1.0 + 1e-7, 3.0], requires_grad=True)
    text = _passes_accepting(lambda x, y: tg.maximum(x, y), [x, y])
    assert "'maximum' (op 1 of 1 in creation order), its input 0 at index (0,) = 1" in text


def test_clip_at_both_bounds():
    text = _passes_accepting(lambda x: tg.clip(x, 0.0, 1.0),
                             [tg.tensor([0.0, 0.5, 1.0], requires_grad=True)])
    assert "input 0 at index (0,), output 0: 'clip'" in text
    assert "input 0 at index (2,), output 0: 'clip'" in text
    assert "its input 0 at index (2,) = 1, 0 from a kink" in text


def test_max_pool2d_tie():
    x = tg.tensor([[[1.0, 2.0], [2.0, 0.0]]], requires_grad=True)  # the window's two maxima tie
    text = _passes_accepting(lambda x: tg.max_pool2d(x, 2), [x])
    # the first maximum takes the gradient: 1 between forward 1 and backward 0, and the
    # second's 0 between forward 1 and backward 0
    assert ("input 0 at index (0, 0, 1), output 0: 'max_pool2d' (op 2 of 3 in creation order), "
            "its input 0 at index (0, 0, 0, 1) = 2, 0 from a kink") in text
    assert "reverse mode [1.], one-sided differences forward [1.] and backward [0.]" in text
    assert "reverse mode [0.], one-sided differences forward [1.] and backward [0.]" in text


@pytest.mark.parametrize("options, size", [({"stride": 1}, 3), ({"dilation": 2}, 5)])
def test_max_pool2d_ties_in_overlapping_windows(options, size):
    # every cell ties; a cell in several windows has a Jacobian column with several nonzero
    # one-sided entries: u·J of that column need not lie between u·forward and u·backward for
    # a u of mixed signs, while each entry lies between its one-sided differences
    x = tg.tensor(np.zeros((1, 1, size, size)), requires_grad=True)
    text = _passes_accepting(lambda x: tg.max_pool2d(x, 2, **options), [x])
    # the cell (0, 1) or (0, 2) is in the first two windows and the first maximum of the second:
    # with u = [0.126, -0.132, ...], u·J = -0.132 is not between u·forward = -0.006 and 0
    second = 1 if size == 3 else 2
    assert (f"input 0 at index (0, 0, 0, {second}), output 0: 'max_pool2d' (op 1 of 1 in "
            "creation order)") in text
    assert ("Jacobian column, reverse mode [0. 1. 0. 0.], one-sided differences forward "
            "[1. 1. 0. 0.] and backward [0. 0. 0. 0.]") in text


def test_a_kink_reached_through_a_scale_is_found_by_how_far_the_step_moves_the_op_input():
    text = _passes_accepting(lambda x: tg.relu(100 * x), [tg.tensor([1e-9, 1.5], requires_grad=True)])
    assert "'relu' (op 2 of 2 in creation order), its input 0 at index (0,) = 1e-07" in text


def test_a_wrong_vjp_at_a_kink_still_fails_and_the_kink_is_named():
    bad = _relu_with_vjp(2.0, "relu_slope_two")
    x = tg.tensor([0.0, 1.5, -0.5], requires_grad=True)
    text = _report(lambda x: bad(x) * 3, [x])
    line = inspect.currentframe().f_lineno - 1
    r, c = _worst_entry(text)
    assert (r, c) == (0, 0)
    assert _value(text, "analytical (reverse mode)") == 6.0
    assert _matrix(text, "Jacobian, reverse mode")[0, 0] == 6.0
    assert _matrix(text, "Jacobian, finite differences (central)")[0, 0] == pytest.approx(1.5)
    assert ("one-sided differences:          forward 3, backward 0; the analytical value is not "
            "between them, so it is not a subgradient") in text
    assert ("column 0, one-sided differences (a kink within eps): forward [3. 0. 0.], backward "
            "[0. 0. 0.]") in text
    assert "the step of input 0 at index (0,) reaches a kink of a recorded op (within eps):" in text
    assert ("'relu_slope_two' (op 1 of 2 in creation order), its input 0 at index (0,) = 0, 0 "
            f"from a kink; created at {__file__}:{line}") in text
    assert "first op whose own check fails: 'relu_slope_two'" in text


def test_a_users_op_declares_its_kinks_with_defkinks():
    good = _relu_with_vjp(0.0, "relu_declared")
    assert good.defkinks(np.abs) is good
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    assert "'relu_declared' (op 1 of 1" in _passes_accepting(good, [x])
    undeclared = _relu_with_vjp(0.0, "relu_undeclared", kinks=False)
    text = _report(undeclared, [x], localize=False)
    assert "kink" not in text  # nothing declared: a plain mismatch


def test_a_kink_of_the_whole_function_is_not_called_a_graph_escape():
    # relu(x) - relu(-x) = x: each relu takes 0 at 0, so reverse mode gives 0, not 1
    text = _report(lambda x: tg.relu(x) - tg.relu(-x), [tg.tensor([0.0, 1.5], requires_grad=True)])
    assert "the analytical value is not between them" in text
    assert "each of the 4 recorded ops passes its own check" in text
    assert "yet the function as a whole fails at a kink" in text
    assert "graph escape" not in text


def test_fast_mode_accepts_no_subgradient_and_says_what_to_do():
    x = np.random.default_rng(0).normal(size=(40, 40))
    x[::3] = 0.0
    x = tg.tensor(x, requires_grad=True)
    text = _report(lambda x: tg.relu(x).sum(), [x])
    assert "along a random direction v (fast mode, 1600 elements)" in text
    assert "'relu' (op 1 of 2 in creation order), its input 0 at index (0, 0) = 0" in text
    assert "pass fast_mode=False" in text
    assert "first op whose own check fails" not in text  # relu passes entry by entry
    assert _passes_accepting(lambda x: tg.relu(x).sum(), [x], fast_mode=False)
    bad = _relu_with_vjp(2.0, "relu_slope_two_fast")
    assert "first op whose own check fails: 'relu_slope_two_fast'" in _report(
        lambda x: bad(x).sum(), [x])


def test_declared_distances_to_kinks():
    x = np.array([[1.0, 3.0, 3.0], [0.0, 2.0, 5.0]])
    np.testing.assert_array_equal(tg.OPS["max"].kinks(x, axis=1, keepdims=False),
                                  [[2, 0, 0], [5, 3, 3]])
    np.testing.assert_array_equal(tg.OPS["min"].kinks(x, axis=None, keepdims=False),
                                  [[1, 3, 3], [1, 2, 5]])
    np.testing.assert_array_equal(tg.OPS["clip"].kinks(np.array([0.0, 0.5, 1.0]), 0.0, 0.75),
                                  [0.0, 0.25, 0.25])
    np.testing.assert_array_equal(tg.OPS["clip"].kinks(np.array([0.0, 0.5]), None, 1.5), [1.5, 1.0])
    pooled = tg.OPS["max_pool2d"].kinks(
        np.array([[[[1.0, 2.0, 0.0], [2.0, 0.0, 5.0], [3.0, 3.0, 1.0]]]]), index=None,
        kernel_size=(2, 2), stride=(1, 1), padding=(0, 0), dilation=(1, 1), ceil_mode=False)
    # each element: its gap to the maximum of a window it is in, or the maximum's gap to the
    # runner-up (0 at a tie), the least over its windows
    np.testing.assert_array_equal(pooled[0, 0], [[1, 0, 5], [0, 2, 2], [0, 0, 4]])


# -- graph escapes ----------------------------------------------------------------------------

def test_values_read_with_data_are_a_graph_escape():
    text = _report(lambda x: x * tg.tensor(np.exp(x.data)), [tg.tensor([0.5, 1.0], requires_grad=True)])
    assert "each of the 1 recorded ops passes its own check at these values" in text
    assert "part of the function is not recorded (a graph escape)" in text
    assert "a kink hit exactly" not in text and "eps too large" not in text


def test_np_asarray_is_a_graph_escape():
    x = tg.tensor([0.5, 1.0], requires_grad=True)
    text = _report(lambda x: x * tg.tensor(np.exp(np.asarray(x))), [x])
    assert ": a Tensor that requires grad was converted to a NumPy array" in text
    assert text.endswith("part of the function is not recorded (a graph escape): reverse mode "
                         "sees the converted values as constants")


# -- float32 ----------------------------------------------------------------------------------

def test_float32_passes_silently_and_a_failure_says_what_precision_limits():
    x = tg.tensor(np.array([0.5, 1.0], np.float32), requires_grad=True)
    y = tg.tensor(np.array([3.0, 4.0], np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.gradcheck(lambda x, y: x * y, [x, y])
    sq = tg.primitive(lambda x: np.square(x), name="square_half_32").defvjp(lambda g, out, x: g * x)
    text = _report(sq, [x], localize=False)
    assert text.count("float32 input or output: reverse mode ran in float32 while finite "
                      "differences ran in float64") == 1


def test_a_graph_escape_warning_seen_while_rerunning_the_function_is_quoted():
    def f(x):  # converts where conversions only warn (outside the check's guard)
        try:
            c = np.exp(np.asarray(x))
        except tg.GraphEscapeError:
            c = np.exp(x.data)
        return x * tg.tensor(c)

    text = _report(f, [tg.tensor([0.5, 1.0], requires_grad=True)])
    assert "part of the function is not recorded (a graph escape)" in text
    assert "GraphEscapeWarning seen: a Tensor that requires grad was converted" in text


def test_defkinks_refuses_what_is_not_a_function():
    op = tg.primitive(lambda x: np.maximum(x, 0), name="relu_kinks_int")
    with pytest.raises(TypeError, match=r"relu_kinks_int.defkinks: kinks must be a function of the "
                                        r"op's inputs and params, got int"):
        op.defkinks(3)


@pytest.mark.parametrize("kinks, message", [
    (lambda x: np.zeros(5), "returned shape (5,) for its input 0 of shape (3,)"),
    (lambda x: (np.abs(x), np.abs(x)), "returned a tuple of 2 for an op of 1 inputs"),
])
def test_declared_kinks_of_the_wrong_shape_are_named_with_the_op(kinks, message):
    op = _relu_with_vjp(0.0, "relu_bad_kinks", kinks=False).defkinks(kinks)
    x = tg.tensor([0.0, 1.5, -0.5], requires_grad=True)
    with pytest.raises(ValueError) as info:
        tg.gradcheck(op, [x])
    assert str(info.value).startswith("gradcheck: the kinks declared for 'relu_bad_kinks' (defkinks) "
                                      + message)


def test_a_where_whose_condition_flips_within_the_step_is_named_not_called_a_graph_escape():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    text = _report(tg.nn.functional.leaky_relu, [x])
    # reverse mode 0.01 (PyTorch's slope at 0) against one-sided slopes 1 and 0.01
    assert _value(text, "analytical (reverse mode)") == 0.01
    assert _matrix(text, "Jacobian, finite differences (central)")[0, 0] == pytest.approx(0.505)
    assert ("'where' (op 2 of 2 in creation order), its boolean input 0 (a condition or a mask) at "
            "index (0,) changes within the step: the function switches there") in text
    assert ("yet the function as a whole fails where a boolean input of a recorded op changes "
            "within the step") in text
    assert "graph escape" not in text


def test_a_jump_through_a_mask_is_not_accepted_as_a_subgradient():
    x = tg.tensor([0.5, 1.0, 1.5], requires_grad=True)
    text = _report(lambda x: x * (x > 1), [x])
    assert ("column 1, one-sided differences (a kink within eps): forward [      0. 1000001.       "
            "0.], backward [0. 0. 0.]") in text
    assert ("'multiply' (op 1 of 1 in creation order), its boolean input 1 (a condition or a mask) "
            "at index (1,) changes within the step") in text
    assert "graph escape" not in text
