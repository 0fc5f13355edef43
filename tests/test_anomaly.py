"""Anomaly mode (tg.detect_anomaly): the op, the user's line and the cause of the first NaN or
inf that is used for a gradient, in the forward and in the backward pass.

Lines are found by the marker comment at the end of the line that records the op
(``# MARK-NAME``), so that the assertions name the exact line of this file. The programs
behind the reports in docs/anomaly.md live in anomaly_examples.py."""
import pathlib
import re
import threading
import warnings

import numpy as np
import pytest
from anomaly_examples import network_loss, network_params, sqrt_under_where

import tensorgrad as tg

HERE = pathlib.Path(__file__)
ROOT = HERE.parents[1]


def lineno(marker):
    """The number of the line of this file that ends with ``# marker``."""
    for n, text in enumerate(HERE.read_text().splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return n
    raise LookupError(marker)


def line_of(marker):
    """``test_anomaly.py:N``, N the line of this file that ends with ``# marker``."""
    return f"test_anomaly.py:{lineno(marker)}"


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    """NumPy's overflow and invalid-value warnings are the subject here, not noise to report;
    run from the repository's root, so that reports name files as ``tests/...``."""
    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
    assert not tg.is_anomaly_enabled()  # every test leaves the mode as it found it


def anomaly(fn):
    """The AnomalyError that ``fn()`` raises under detect_anomaly."""
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as info:
        fn()
    return info.value


def row(err, label):
    """The text of the report's row ``label`` (``cause``, ``line``, ...)."""
    m = re.search(rf"^  {re.escape(label)}:\s+(.*)$", str(err), re.M)
    assert m, f"no row {label!r} in:\n{err}"
    return m.group(1)


def leaf(values, dtype=np.float64):
    return tg.tensor(np.array(values, dtype=dtype), requires_grad=True)


# -- the switch -----------------------------------------------------------------------------------

def test_set_detect_anomaly_switches_the_mode_on_and_off():
    assert not tg.is_anomaly_enabled()
    tg.set_detect_anomaly(True)
    try:
        assert tg.is_anomaly_enabled()
        y = tg.log(leaf([0.0]))
        assert y.grad_fn.site is not None and "y = tg.log(leaf([0.0]))" in y.grad_fn.site
        with pytest.raises(tg.AnomalyError):
            y.sum().backward()
    finally:
        tg.set_detect_anomaly(False)
    assert not tg.is_anomaly_enabled()
    x = leaf([0.0])
    y = tg.log(x)
    assert y.grad_fn.site is None  # off: no line recorded, nothing checked
    y.sum().backward()
    assert np.isinf(x.grad.data[0])


def test_detect_anomaly_restores_the_previous_setting_and_decorates():
    with tg.detect_anomaly():
        with tg.detect_anomaly():
            assert tg.is_anomaly_enabled()
        assert tg.is_anomaly_enabled()
    assert not tg.is_anomaly_enabled()

    @tg.detect_anomaly()
    def step(x):
        assert tg.is_anomaly_enabled()
        tg.sqrt(x).sum().backward()

    with pytest.raises(tg.AnomalyError, match="sqrt'"):
        step(leaf([0.0]))
    assert not tg.is_anomaly_enabled()


def test_set_detect_anomaly_refuses_a_non_bool():
    with pytest.raises(TypeError, match=r"set_detect_anomaly: mode must be True or False, got 'yes'"):
        tg.set_detect_anomaly("yes")
    assert not tg.is_anomaly_enabled()


def test_the_mode_is_global_like_pytorchs():
    """Switched on in one thread, it checks the ops every thread records."""
    caught = []

    def work():
        x = leaf([0.0, 1.0])
        try:
            tg.log(x).sum().backward()  # THREAD
        except tg.AnomalyError as e:
            caught.append((tg.is_anomaly_enabled(), e))

    with tg.detect_anomaly():
        t = threading.Thread(target=work)
        t.start()
        t.join()
    [(enabled, err)] = caught
    assert enabled and err.op == "log" and line_of("THREAD") in err.site


def test_an_anomaly_error_is_a_runtime_error_with_the_facts_as_attributes():
    err = anomaly(lambda: tg.log(leaf([2.0, 0.0])).sum().backward())  # ATTRS
    assert isinstance(err, RuntimeError) and "AnomalyError" in tg.__all__
    assert (err.phase, err.op, err.cause) == ("forward", "log", "log at 0: log(0) = -inf")
    assert err.site == (f"{HERE}:{lineno('ATTRS')} in <lambda>: "
                        "err = anomaly(lambda: tg.log(leaf([2.0, 0.0])).sum().backward())  # ATTRS")


# -- forward: each cause, with the op and the line -------------------------------------------------

def forward_cause(make):
    """(op, line, cause) of the anomaly raised by backward() on ``make()``'s sum."""
    err = anomaly(lambda: make().sum().backward())
    assert err.phase == "forward"
    return err.op, row(err, "line"), row(err, "cause")


def test_log_at_zero():
    def make():
        x = leaf([2.0, 0.0, 3.0])
        return tg.log(x) * 2  # LOG0

    op, line, cause = forward_cause(make)
    assert (op, cause) == ("log", "log at 0: log(0) = -inf")
    assert line_of("LOG0") in line and line.endswith("return tg.log(x) * 2  # LOG0")


def test_log_of_a_negative_number():
    def make():
        return tg.log(leaf([1.0, -2.0]))  # LOGNEG

    op, line, cause = forward_cause(make)
    assert (op, cause) == ("log", "log of a negative number: log(-2) = NaN")
    assert line_of("LOGNEG") in line


def test_log1p_at_minus_one():
    op, line, cause = forward_cause(lambda: tg.log1p(leaf([0.5, -1.0])))  # LOG1P
    assert (op, cause) == ("log1p", "log1p at -1: log1p(-1) = -inf")
    assert line_of("LOG1P") in line


def test_division_by_zero_and_zero_over_zero():
    def make():
        x, y = leaf([1.0, 3.0]), leaf([2.0, 0.0])
        return x / y  # DIV0

    op, line, cause = forward_cause(make)
    assert (op, cause) == ("divide", "division by 0: 3/0 = inf")
    assert line_of("DIV0") in line
    op, _, cause = forward_cause(lambda: leaf([0.0]) / leaf([0.0]))
    assert (op, cause) == ("divide", "division 0/0 = NaN")


def test_sqrt_of_a_negative_number():
    op, line, cause = forward_cause(lambda: tg.sqrt(leaf([4.0, -1.0])))  # SQRTNEG
    assert (op, cause) == ("sqrt", "sqrt of a negative number: sqrt(-1) = NaN")
    assert line_of("SQRTNEG") in line


def test_exp_overflow_names_the_dtypes_limit():
    op, line, cause = forward_cause(lambda: tg.exp(leaf([1.0, 100.0], np.float32)))  # EXP32
    assert op == "exp" and line_of("EXP32") in line
    assert cause == ("exp overflow: exp(100) exceeds the largest float32 (3.403e+38) (exp "
                     "overflows for x > 88.72)")
    _, _, cause = forward_cause(lambda: tg.exp(leaf([710.0])))
    assert cause.startswith("exp overflow: exp(710) exceeds the largest float64 (1.798e+308)")
    assert cause.endswith(f"(exp overflows for x > {np.log(np.finfo(np.float64).max):.4g})")


def test_power_overflow_and_zero_to_a_negative_power():
    op, line, cause = forward_cause(lambda: leaf([1e200, 2.0]) ** 2)  # POW
    assert (op, cause) == ("power", "overflow: 1e+200**2 = inf exceeds the largest float64 "
                                    "(1.798e+308)")
    assert line_of("POW") in line
    _, _, cause = forward_cause(lambda: leaf([0.0]) ** -0.5)
    assert cause == "0 raised to a negative power: 0**-0.5 = inf"
    _, _, cause = forward_cause(lambda: leaf([-8.0]) ** (1 / 3))
    assert cause == "a negative base to a non-integer power: (-8)**0.3333 = NaN"


def test_inf_minus_inf():
    inf = np.array([np.inf, 1.0])  # a constant: the infinities come from outside the graph

    def make():
        x = leaf([1.0, 2.0])
        big = x + inf  # not a suspect: an input is already infinite
        return big - inf  # INFMINF

    op, line, cause = forward_cause(make)
    assert (op, cause) == ("subtract", "inf − inf: inf − inf = NaN")
    assert line_of("INFMINF") in line


def test_zero_times_inf():
    def make():
        x = leaf([0.0, 2.0])
        return x * np.array([np.inf, 1.0])  # ZEROINF

    op, line, cause = forward_cause(make)
    assert (op, cause) == ("multiply", "0 · inf: 0 · inf = NaN")
    assert line_of("ZEROINF") in line


def test_the_report_names_the_first_op_and_the_ones_after_it():
    def make():
        x = leaf([1000.0, 1.0])
        e = tg.exp(x)  # FIRST
        return e - e  # SECOND

    err = anomaly(lambda: make().sum().backward())
    assert err.op == "exp" and line_of("FIRST") in row(err, "line")
    assert row(err, "then") == f"'subtract' at tests/{line_of('SECOND')}: inf − inf: inf − inf = NaN"
    assert row(err, "output") == ("(2,) float64: min 2.718, max inf, 0 NaN, 1 inf, 0 zero; "
                                  "at [0]: inf")
    assert row(err, "input x") == ("(2,) float64: min 1, max 1000, 0 NaN, 0 inf, 0 zero; "
                                   "at [0]: 1000")


def test_an_overflow_masked_by_where_is_not_blamed_for_another_ops_inf():
    def make():
        x = leaf([1000.0, 0.0])
        safe = tg.where(x < 50, tg.exp(x), x)  # exp overflows here, masked
        return safe + tg.log(x)  # LOGAFTER

    op, line, cause = forward_cause(make)
    assert (op, cause) == ("log", "log at 0: log(0) = -inf")
    assert line_of("LOGAFTER") in line


def test_an_op_missing_from_the_table_gets_the_generic_cause():
    @tg.primitive
    def arcsin_anomaly(x):
        return np.arcsin(x)

    arcsin_anomaly.defvjp(lambda g, out, x: g / tg.sqrt(1 - x * x))
    op, line, cause = forward_cause(lambda: arcsin_anomaly(leaf([0.5, 2.0])))  # ARCSIN
    assert op == "arcsin_anomaly" and line_of("ARCSIN") in line
    assert cause == ("'arcsin_anomaly' produced NaN from finite inputs: an argument outside "
                     "its domain (e.g. arcsin(2), 0/0 inside)")

    def make():
        w = leaf(np.full((2, 2), 1e200))
        return w @ w  # MATMUL

    err = anomaly(lambda: make().sum().backward())
    op, line, cause = err.op, row(err, "line"), row(err, "cause")
    assert op == "matmul" and line_of("MATMUL") in line
    assert row(err, "input a") == "(2, 2) float64: min 1e+200, max 1e+200, 0 NaN, 0 inf, 0 zero"
    assert cause == ("'matmul' produced inf from finite inputs: its result overflowed the "
                     "largest float64 (1.798e+308), or it divided by 0 or took a log of 0 inside")


def test_a_nan_already_in_a_leaf_names_the_op_that_took_it():
    def make():
        x = leaf([1.0, np.nan])
        return x * 2  # TAKESNAN

    err = anomaly(lambda: make().sum().backward())
    assert err.op == "multiply" and line_of("TAKESNAN") in row(err, "line")
    assert row(err, "cause") == ("input x of 'multiply' is a leaf Tensor that already holds NaN "
                                 "or inf (no recorded op produced it)")


def test_grad_and_create_graph_raise_the_same_way():
    x = leaf([0.0, 1.0])
    with tg.detect_anomaly():
        y = tg.log(x).sum()  # VIAGRAD
        with pytest.raises(tg.AnomalyError) as info:
            tg.grad(y, x)
        assert line_of("VIAGRAD") in info.value.site
        z = tg.sqrt(x).sum()  # VIACREATE
        with pytest.raises(tg.AnomalyError) as info:
            tg.grad(z, x, create_graph=True)
        assert info.value.phase == "backward" and line_of("VIACREATE") in info.value.site


def test_backward_steps_only_looks_and_ops_recorded_before_are_not_checked():
    x = leaf([0.0, 1.0])
    y = tg.log(x).sum()  # recorded with the mode off
    with tg.detect_anomaly():
        steps = tg.backward_steps(tg.sqrt(x).sum())  # sqrt'(0) = inf: shown, not raised
        assert len(steps) == 2 and np.isinf(steps[-1].grad_inputs[0]).any()
        assert y.grad_fn.site is None and getattr(y.grad_fn, "suspect", None) is None
        z = y * 2
        with pytest.raises(tg.AnomalyError) as info:
            z.backward()
    err = info.value
    assert (err.op, err.cause) == ("log", "log at 0: log(0) = -inf")
    assert row(err, "line") == ("(line not recorded: the op was recorded before anomaly mode "
                                "was switched on)")


def test_a_non_finite_cotangent_passed_to_backward_is_named():
    x = leaf([1.0, 2.0])
    err = anomaly(lambda: (x * 2).backward(np.array([1.0, np.nan])))
    assert err.phase == "backward" and "the cotangent given for an output of shape (2,)" in str(err)


# -- where: a masked overflow is not an anomaly; the trap is ------------------------------------

def test_an_overflow_that_where_masks_runs_cleanly():
    x = leaf([1000.0], np.float32)
    with tg.detect_anomaly():
        e = tg.exp(x)
        y = tg.where(x < 50, e, x)
        assert e.grad_fn.suspect[0] == "inf"  # marked, never raised
        y.backward()
    assert x.grad.data.tolist() == [1.0]


def test_the_where_trap_in_a_users_op_names_the_where_and_the_fix():
    @tg.primitive
    def exp_unguarded(x):
        return np.exp(x)

    exp_unguarded.defvjp(lambda g, out, x: g * out)  # no 0 · inf guard

    def run():
        x = leaf([1000.0, 1.0], np.float32)
        y = tg.where(x < 50, exp_unguarded(x), x)  # TRAP
        y.sum().backward()

    err = anomaly(run)
    assert (err.phase, err.op) == ("backward", "exp_unguarded")
    assert line_of("TRAP") in row(err, "line")
    assert row(err, "where") == (f"the untaken branch of where at tests/{line_of('TRAP')} "
                                 "produced inf; its gradient 0 · inf = NaN ('exp_unguarded' "
                                 "is that branch)")
    fix = row(err, "fix")
    assert "double where" in fix and "where(c, exp_unguarded(where(c, x, 1)), other)" in fix
    assert "make the VJP return 0 where the cotangent is 0" in fix
    assert row(err, "cotangent").endswith("at [0]: 0")
    assert row(err, "gradient").endswith("at [0]: nan")


def test_sqrt_at_zero_under_where_points_at_the_double_where():
    def run():
        x = leaf([0.0, 4.0])
        tg.where(x > 0, tg.sqrt(x), 0).sum().backward()  # SQRTWHERE

    err = anomaly(run)
    assert (err.phase, err.op) == ("backward", "sqrt")
    assert line_of("SQRTWHERE") in row(err, "line")
    assert row(err, "cause") == ("sqrt'(0) = 1/(2·sqrt(0)) = inf: the gradient g/(2·sqrt(x)) = "
                                 "0/0 = nan")
    assert row(err, "where").startswith(f"the untaken branch of where at tests/"
                                        f"{line_of('SQRTWHERE')} is singular here; its gradient "
                                        "0 · inf = NaN")
    assert "where(c, sqrt(where(c, x, 1)), other)" in row(err, "fix")
    x = leaf([0.0, 4.0])  # the rewrite the report proposes gives the gradient
    with tg.detect_anomaly():
        tg.where(x > 0, tg.sqrt(tg.where(x > 0, x, 1)), 0).sum().backward()
    assert x.grad.data.tolist() == [0.0, 0.25]


def test_a_nan_branch_under_where_is_named_too():
    def run():
        x = leaf([-1.0, 4.0])
        tg.where(x > 0, tg.sqrt(x), 0).sum().backward()  # SQRTNEGWHERE

    err = anomaly(run)
    assert err.op == "sqrt" and line_of("SQRTNEGWHERE") in row(err, "line")
    assert row(err, "cause") == ("sqrt of a negative number: sqrt(-1) = NaN, and so is its "
                                 "gradient g/(2·sqrt(x))")
    assert "produced NaN; its gradient is NaN whatever the cotangent" in row(err, "where")
    assert row(err, "forward") == "'sqrt' had already produced nan in the forward pass"


def test_a_zero_cotangent_from_further_away_gets_the_general_note():
    def run():
        x = leaf([-1.0, 4.0])
        tg.where(x > 0, tg.sqrt(x) * 2, 0).sum().backward()  # INDIRECT

    err = anomaly(run)
    assert err.op == "sqrt" and line_of("INDIRECT") in row(err, "line")
    assert row(err, "where") == ("the cotangent is 0 here, but 'sqrt' already produced NaN here "
                                 "in the forward pass: its gradient is NaN whatever the cotangent")
    assert "double where" in row(err, "fix")


# -- backward: the first VJP that makes NaN or inf from finite cotangents -------------------------

def backward_cause(run):
    err = anomaly(run)
    assert err.phase == "backward"
    return err.op, row(err, "line"), row(err, "cause")


def test_sqrt_derivative_at_zero():
    def run():
        x = leaf([0.0, 1.0])
        tg.sqrt(x).sum().backward()  # SQRT0

    op, line, cause = backward_cause(run)
    assert op == "sqrt" and line_of("SQRT0") in line
    assert cause == "sqrt'(0) = 1/(2·sqrt(0)) = inf: the gradient g/(2·sqrt(x)) = 1/0 = inf"


def test_log_derivative_at_zero_in_a_masked_branch():
    def run():
        x = leaf([0.0, 2.0])
        tg.where(x > 0, tg.log(x), 0).sum().backward()  # LOGWHERE

    op, line, cause = backward_cause(run)
    assert op == "log" and line_of("LOGWHERE") in line
    assert cause == "log'(x) = 1/x is infinite at x = 0: the gradient g/x = 0/0 = nan"


def test_division_by_zero_in_the_vjp():
    def run():
        x, y = leaf([1.0, 2.0]), leaf([0.0, 4.0])
        tg.where(y != 0, x / y, 0).sum().backward()  # DIVVJP

    err = anomaly(run)
    assert err.op == "divide" and line_of("DIVVJP") in row(err, "line")
    assert row(err, "cause") in ("division by 0 in the VJP: d(x/y)/dy = -x/y² at y = 0 gives nan",
                                 "division by 0 in the VJP: d(x/y)/dx = 1/y at y = 0 gives nan")


def test_power_derivative_at_zero_with_a_broadcast_exponent():
    def run():
        x = leaf([[0.0, 1.0], [4.0, 9.0]])
        (x ** np.array([0.5, 2.0])).sum().backward()  # POWVJP

    op, line, cause = backward_cause(run)
    assert op == "power" and line_of("POWVJP") in line
    assert cause == "d(x**y)/dx = y·x^(y-1) is infinite at x = 0 for y = 0.5 < 1"


def test_a_hook_that_returns_nan_is_named():
    def run():
        x = leaf([1.0, 2.0])
        y = x * 3
        y.register_hook(lambda g: g * np.nan)
        (y * 2).sum().backward()

    err = anomaly(run)
    assert err.op == "multiply" and "a hook registered on its output" in str(err)


# -- the notebook's network, expression form, with a planted log(0) -------------------------------

EXAMPLES = HERE.with_name("anomaly_examples.py")


def network_report():
    p, x, t = network_params()
    with tg.detect_anomaly():
        loss = network_loss(p, x, t)
        with pytest.raises(tg.AnomalyError) as info:
            loss.backward()
    return info.value


def test_the_network_with_a_planted_log_of_zero_names_the_line():
    err = network_report()
    assert (err.phase, err.op, err.cause) == ("forward", "log", "log at 0: log(0) = -inf")
    numbered = enumerate(EXAMPLES.read_text().splitlines(), 1)
    bce = "anomaly_examples.py:%d" % next(n for n, text in numbered if "tg.log(1 - out)" in text)
    assert row(err, "line") == (f"tests/{bce} in network_loss: "
                                "return -tg.sum(t * tg.log(out) + (1 - t) * tg.log(1 - out))")
    assert row(err, "input x") == "(2, 1) float64: min 0, max 1, 0 NaN, 0 inf, 1 zero; at [0, 0]: 0"
    assert row(err, "then") == f"'multiply' at tests/{bce}: 0 · inf: 0 · -inf = NaN"
    assert row(err, "reaches") == ("the output given to backward (() float64: nan), made by "
                                   f"'negative' at tests/{bce}")
    p, x, t = network_params()  # the same network without the planted fault trains
    p["b2"].data[...] = 0.0
    with tg.detect_anomaly():
        network_loss(p, x, t).backward()
    assert all(np.isfinite(v.grad.data).all() for v in p.values())


def doc_block(name, page="docs/anomaly.md"):
    doc = (ROOT / page).read_text()
    return re.search(rf"<!-- report: {name} -->\n```text\n(.*?)\n```", doc, re.S).group(1)


def test_the_reports_in_the_docs_are_the_ones_the_examples_give():
    assert doc_block("network") == f"tensorgrad.errors.AnomalyError: {network_report()}"
    assert doc_block("network", "README.md") == doc_block("network")
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as info:
        sqrt_under_where()
    assert doc_block("sqrt-where") == f"tensorgrad.errors.AnomalyError: {info.value}"


def test_one_detect_anomaly_entered_inside_itself_restores_the_setting_outside():
    mode = tg.detect_anomaly()
    with mode:
        with mode:
            assert tg.is_anomaly_enabled()
        assert tg.is_anomaly_enabled()
    assert not tg.is_anomaly_enabled()


def test_a_users_file_named_like_the_package_beside_it_is_the_users_line():
    # tensorgrad_demo.py next to the tensorgrad/ directory is not inside the package
    filename = str(pathlib.Path(tg.__file__).parent) + "_demo.py"
    namespace = {"tg": tg}
    exec(compile("def f(x):\n    return tg.log(x)\n", filename, "exec"), namespace)
    x = leaf([0.0, 1.0])
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        y = namespace["f"](x)
        with pytest.raises(tg.AnomalyError) as info:
            y.sum().backward()
    assert y.grad_fn.site == f"{filename}:2 in f: "
    assert info.value.site == y.grad_fn.site


@pytest.mark.parametrize("f, fix", [
    (lambda x: tg.where(x != 0, 1 / x, 0.0),
     "where(c, divide(x, where(c, y, 1)), other) instead of where(c, divide(x, y), other)"),
    (lambda x: tg.where(x > 0, x ** 0.5, 0.0),
     "where(c, power(where(c, x, 1), y), other) instead of where(c, power(x, y), other)"),
])
def test_the_double_where_fix_of_an_op_of_two_inputs_masks_the_one_whose_gradient_is_nan(f, fix):
    x = leaf([0.0, 1.0])
    with tg.detect_anomaly(), np.errstate(all="ignore"):
        y = f(x).sum()
        with pytest.raises(tg.AnomalyError) as info:
            y.backward()
    assert info.value.phase == "backward"
    assert fix in str(info.value)
