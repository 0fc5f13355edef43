"""tg.backward_steps: the engine's reverse pass, one node at a time, touching nothing."""
import numpy as np
import pytest
import scipy.signal

import tensorgrad as tg

I_DATA = np.array([[1.0, 6.0, 2.0], [5.0, 3.0, 1.0], [7.0, 0.0, 4.0]])
K_DATA = np.array([[0.0, -1.0], [2.0, 1.0]])
DY = np.array([[1.0, 2.0], [-1.0, 3.0]])


def test_the_worked_example_shows_the_two_formulas_of_the_derivation():
    inp = tg.tensor(I_DATA, requires_grad=True)
    ker = tg.tensor(K_DATA, requires_grad=True)
    y = tg.correlate2d(inp, ker, "valid")
    (step,) = tg.backward_steps(y, DY)
    assert step.op == "correlate2d" and step.tensor is y
    np.testing.assert_array_equal(step.grad_output, DY)
    # dL/dK = I correlated with dY (valid); by hand: dK[0,0] = 1*1 + 6*2 + 5*(-1) + 3*3 = 17
    expected_dk = np.array([[17.0, 10.0], [4.0, 17.0]])
    np.testing.assert_array_equal(scipy.signal.correlate2d(I_DATA, DY, "valid"), expected_dk)
    np.testing.assert_array_equal(step.grad_inputs[1], expected_dk)
    # dL/dI = dY convolved with K (full); by hand: dI[1,1] = 1*1 + 2*2 + (-1)*(-1) + 3*0 = 6
    expected_di = np.array([[0.0, -1.0, -2.0], [2.0, 6.0, -1.0], [-2.0, 5.0, 3.0]])
    np.testing.assert_array_equal(scipy.signal.convolve2d(DY, K_DATA, "full"), expected_di)
    np.testing.assert_array_equal(step.grad_inputs[0], expected_di)
    jac_i, jac_k = step.jacobian()
    assert jac_i.shape == (4, 9) and jac_k.shape == (4, 4)
    np.testing.assert_array_equal(jac_k.T @ DY.ravel(), expected_dk.ravel())
    np.testing.assert_array_equal(jac_i.T @ DY.ravel(), expected_di.ravel())
    # row o of dY/dK is the 2x2 window of I under output o: Y[0,1] = sum(I[0:2, 1:3] * K)
    np.testing.assert_array_equal(jac_k[1], I_DATA[0:2, 1:3].ravel())
    assert inp.grad is None and ker.grad is None
    text = str(tg.backward_steps(y, DY))
    assert "correlate2d" in text and "[[17., 10.], [ 4., 17.]]" in text


def test_steps_follow_the_engines_order_and_numbers():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    w = tg.tensor(rng.normal(size=(4, 2)), requires_grad=True)
    b = tg.tensor(rng.normal(size=2), requires_grad=True)
    h = tg.tanh(x @ w + b)
    loss = (h * h).sum() + h.mean()
    steps = tg.backward_steps(loss)
    order = []
    for t in {id(s.tensor): s.tensor for s in steps}.values():
        t.register_hook(lambda g, t=t: order.append(t))
    loss.backward(retain_graph=True)
    assert [id(t) for t in order] == [id(s.tensor) for s in steps]
    assert [s.op for s in steps][0] == "add"
    # the leaves' gradients are the sums of what the steps hand them
    for leaf in (x, w, b):
        total = sum(g for s in steps for p, g in zip(s.node.parents, s.grad_inputs)
                    if p is leaf and g is not None)
        np.testing.assert_allclose(total, leaf.grad.data, rtol=1e-14, atol=1e-15)


def test_steps_touch_no_grad_and_release_nothing():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    y = (h ** 2).sum()
    steps = tg.backward_steps(y)
    assert [s.op for s in steps] == ["sum", "power", "multiply"]
    assert x.grad is None and h.grad is None
    assert all(not s.node.released for s in steps)
    y.backward()  # the graph is still there
    np.testing.assert_array_equal(x.grad.data, [18.0, 36.0])  # 2 * 3x * 3
    np.testing.assert_array_equal(steps[-1].grad_inputs[0], [18.0, 36.0])
    assert steps[-1].grad_inputs[1] is None  # the constant 3


def test_jacobian_times_the_cotangent_is_the_outgoing_gradient():
    rng = np.random.default_rng(1)
    a = tg.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    bias = tg.tensor(rng.normal(size=3), requires_grad=True)
    m = tg.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    out = tg.sigmoid((a + bias) @ m)
    g = rng.normal(size=out.shape)
    steps = tg.backward_steps(out, g)
    assert [s.op for s in steps] == ["sigmoid", "matmul", "add"]
    for s in steps:
        for jac, gi, x in zip(s.jacobian(), s.grad_inputs, s.inputs):
            assert jac.shape == (s.output.size, np.size(x))
            np.testing.assert_allclose(jac.T @ s.grad_output.ravel(), gi.ravel(),
                                       rtol=1e-13, atol=1e-15)
    sig = steps[0].output
    np.testing.assert_allclose(steps[0].jacobian()[0], np.diag((sig * (1 - sig)).ravel()),
                               rtol=1e-15)
    j_bias = steps[2].jacobian()[1]  # broadcast: each bias element feeds one column of rows
    np.testing.assert_array_equal(j_bias, np.tile(np.eye(3), (2, 1)))
    j_right = steps[1].jacobian()[1]  # d(L @ M)/dM = kron(L, I) in row-major order
    np.testing.assert_allclose(j_right, np.kron(steps[1].inputs[0], np.eye(2)), rtol=1e-15)


def test_jacobian_refuses_a_large_op_unless_the_limit_is_raised():
    x = tg.tensor(np.ones((5, 8)), requires_grad=True)
    (step,) = tg.backward_steps(x * 2, np.ones((5, 8)))
    with pytest.raises(ValueError, match=r"81 input and output elements.*limit=64"):
        step.jacobian()
    np.testing.assert_array_equal(step.jacobian(limit=100)[0], 2 * np.eye(40))


def test_bad_calls_raise_clear_errors():
    with pytest.raises(tg.BackwardError, match="does not require grad"):
        tg.backward_steps(tg.tensor([1.0]))
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(tg.BackwardError, match="only for outputs with one element"):
        tg.backward_steps(x * 2)
    with pytest.raises(tg.ShapeError, match="expected the output's shape"):
        tg.backward_steps(x * 2, np.ones(3))
    y = (x * 2).sum()
    steps = tg.backward_steps(y)
    y.backward()
    with pytest.raises(tg.BackwardError, match="already released"):
        tg.backward_steps(y)
    with pytest.raises(tg.BackwardError, match="released"):
        steps[0].jacobian()
    assert "leaf" in str(tg.backward_steps(x, np.ones(2)))


def test_the_source_line_is_shown_when_recorded():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.record_sites():
        y = tg.exp(x).sum()
    steps = tg.backward_steps(y)
    assert "test_backward_steps.py" in steps[1].site and "tg.exp(x)" in steps[1].site
    assert "tg.exp(x).sum()" in str(steps)
    assert "gradient out to input 0" in str(steps[1])
