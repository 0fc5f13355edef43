"""The README's user-defined op example, run as a test (keep the two in step)."""
import numpy as np
import pytest

import tensorgrad as tg


def test_softplus_user_op_readme_example():
    # --- README: user-defined op -----------------------------------------------------------
    @tg.primitive
    def softplus(x):
        """log(1 + exp(x)), elementwise; stable for large |x| (np.logaddexp)."""
        return np.logaddexp(0.0, x)

    softplus.defvjp(lambda g, out, x: g * tg.sigmoid(x))  # d/dx log(1 + e^x) = sigmoid(x)

    x = tg.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = softplus(x).sum()
    y.backward()
    assert y.grad_fn.name == "sum"
    assert tg.gradcheck(softplus, [x])
    assert tg.gradgradcheck(softplus, [x])  # second derivatives come for free
    # --- end of README example ---------------------------------------------------------------
    np.testing.assert_allclose(x.grad.data, 1 / (1 + np.exp(-np.array([-2.0, 0.0, 3.0]))), rtol=1e-15)
    np.testing.assert_allclose(softplus(tg.tensor([1000.0, -1000.0])).data, [1000.0, 0.0])


def test_planted_bug_is_named_with_its_line():
    @tg.primitive
    def softplus(x):
        return np.logaddexp(0.0, x)

    softplus.defvjp(lambda g, out, x: tg.sigmoid(x))  # bug: ignores the cotangent g

    def loss(w, x):
        h = tg.tanh(x @ w)
        return softplus(h).mean()  # the faulty op is created on this line

    rng = np.random.default_rng(0)
    w = tg.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    x = rng.normal(size=(4, 3))
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(loss, [w, x])
    text = str(info.value)
    assert "input 0 (shape (3, 2)" in text
    assert "first op whose own check fails: 'softplus'" in text
    assert "return softplus(h).mean()  # the faulty op is created on this line" in text
    assert "not zero for a zero cotangent" in text
    assert tg.gradcheck(loss, [w, x], raise_exception=False) is False
