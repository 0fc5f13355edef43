"""Tests of tensorgrad.optim: SGD and Adam against their formulas written out by hand (and
against torch.optim when PyTorch is installed), state, skipping, errors."""
import math

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn, optim

W0 = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]])
B0 = np.array([0.1, -0.2])
# three steps' gradients, set by hand so that the formulas alone are tested
GRADS_W = [np.array([[1.0, -2.0, 0.5], [0.0, 4.0, -1.0]]),
           np.array([[-0.5, 1.0, 0.25], [2.0, -3.0, 0.0]]),
           np.array([[0.3, 0.3, -0.3], [-1.5, 0.5, 1.0]])]
GRADS_B = [np.array([1.0, -1.0]), np.array([0.0, 2.0]), np.array([-0.5, 0.5])]


def _params():
    return [nn.Parameter(W0.copy()), nn.Parameter(B0.copy())]


def _run(opt_cls, steps=3, **kwargs):
    params = _params()
    opt = opt_cls(params, **kwargs)
    for t in range(steps):
        opt.zero_grad()
        params[0].grad = tg.tensor(GRADS_W[t])
        params[1].grad = tg.tensor(GRADS_B[t])
        opt.step()
    return params, opt


def _sgd_by_hand(p0, grads, lr, momentum=0.0, weight_decay=0.0):
    p, buf = p0.copy(), None
    for g in grads:
        d = g + weight_decay * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + d
            d = buf
        p = p - lr * d
    return p


def _adam_by_hand(p0, grads, lr, b1, b2, eps, weight_decay=0.0):
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


# ------------------------------------------------------------------------------------------
# SGD
# ------------------------------------------------------------------------------------------

def test_sgd_one_step_is_w_minus_lr_grad_exactly():
    model = nn.Linear(3, 2, rng=0)
    x = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])
    w, b = model.weight.data.copy(), model.bias.data.copy()
    tg.mse_loss(model(x), np.zeros((2, 2))).backward()
    gw, gb = model.weight.grad.data.copy(), model.bias.grad.data.copy()
    optim.SGD(model.parameters(), lr=0.1).step()
    np.testing.assert_array_equal(model.weight.data, w - 0.1 * gw)
    np.testing.assert_array_equal(model.bias.data, b - 0.1 * gb)
    # by hand: d/dW mean((xW^T + b)^2) = 2/4 (xW^T + b)^T x
    y = x @ w.T + b
    expected = 0.5 * y.T @ x  # summed in another order than the engine's: atol from its scale
    np.testing.assert_allclose(gw, expected, rtol=1e-14, atol=1e-14 * np.abs(expected).max())


def test_sgd_hand_computed_numbers():
    w = nn.Parameter(np.array([1.0, -2.0]))
    opt = optim.SGD([w], lr=0.5, momentum=0.9, weight_decay=0.1)
    for g, expected in [([1.0, 1.0], [1.0 - 0.5 * 1.1, -2.0 - 0.5 * 0.8]),  # b = d
                        ([0.0, 2.0], None)]:
        w.grad = tg.tensor(g)
        opt.step()
        if expected is not None:
            np.testing.assert_allclose(w.data, expected, rtol=1e-15)
    # step 2: d = g + 0.1 w1 = [0.045, 2 - 0.24]; b2 = 0.9 b1 + d; w2 = w1 - 0.5 b2
    w1 = np.array([0.45, -2.4])
    b1 = np.array([1.1, 0.8])
    b2 = 0.9 * b1 + (np.array([0.0, 2.0]) + 0.1 * w1)
    np.testing.assert_allclose(w.data, w1 - 0.5 * b2, rtol=1e-15)
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], b2, rtol=1e-15)


@pytest.mark.parametrize("momentum,weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.9, 0.01),
                                                   (0.0, 0.05)])
def test_sgd_three_steps_match_formula(momentum, weight_decay):
    params, _ = _run(optim.SGD, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    np.testing.assert_allclose(params[0].data, _sgd_by_hand(W0, GRADS_W, 0.1, momentum,
                                                             weight_decay), rtol=1e-14)
    np.testing.assert_allclose(params[1].data, _sgd_by_hand(B0, GRADS_B, 0.1, momentum,
                                                             weight_decay), rtol=1e-14)


# ------------------------------------------------------------------------------------------
# Adam
# ------------------------------------------------------------------------------------------

def test_adam_first_step_hand_computed():
    # first step: m_hat = g, v_hat = g^2, so each entry moves by lr * g / (|g| + eps)
    w = nn.Parameter(np.array([1.0, -2.0, 0.0]))
    w.grad = tg.tensor([3.0, -0.5, 0.0])
    optim.Adam([w], lr=0.01).step()
    np.testing.assert_allclose(w.data, [1.0 - 0.01 * 3 / (3 + 1e-8),
                                        -2.0 + 0.01 * 0.5 / (0.5 + 1e-8), 0.0], rtol=1e-15)


@pytest.mark.parametrize("kwargs", [
    {"lr": 0.1},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.1, "weight_decay": 0.1},
])
def test_adam_three_steps_match_formula(kwargs):
    params, opt = _run(optim.Adam, **kwargs)
    b1, b2 = kwargs.get("betas", (0.9, 0.999))
    eps, wd = kwargs.get("eps", 1e-8), kwargs.get("weight_decay", 0.0)
    for p, p0, grads in [(params[0], W0, GRADS_W), (params[1], B0, GRADS_B)]:
        expected = _adam_by_hand(p0, grads, kwargs["lr"], b1, b2, eps, wd)
        np.testing.assert_allclose(p.data, expected, rtol=1e-13, atol=1e-15)
    assert opt.state[0]["step"] == 3


# ------------------------------------------------------------------------------------------
# Against torch.optim
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.1}),
])
def test_matches_torch_optim(name, kwargs):
    torch = pytest.importorskip("torch")
    params, _ = _run(getattr(optim, name), **kwargs)
    tparams = [torch.tensor(W0.copy(), requires_grad=True),
               torch.tensor(B0.copy(), requires_grad=True)]
    topt = getattr(torch.optim, name)(tparams, **kwargs)
    for t in range(3):
        topt.zero_grad()
        tparams[0].grad = torch.from_numpy(GRADS_W[t].copy())
        tparams[1].grad = torch.from_numpy(GRADS_B[t].copy())
        topt.step()
    for p, tp in zip(params, tparams):
        # PyTorch orders the update's operations differently: atol from the scale
        want = tp.detach().numpy()
        np.testing.assert_allclose(p.data, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())


# ------------------------------------------------------------------------------------------
# Behaviour
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Adam])
def test_params_without_grad_are_skipped(opt_cls):
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = opt_cls([a, b], lr=0.1, momentum=0.9) if opt_cls is optim.SGD else opt_cls([a, b],
                                                                                       lr=0.1)
    a.grad = tg.tensor([1.0, -1.0])
    opt.step()
    np.testing.assert_array_equal(b.data, np.ones(3))
    assert 1 not in opt.state
    assert not np.array_equal(a.data, np.ones(2))


def test_step_updates_in_place_and_records_nothing():
    model = nn.Linear(2, 1, rng=0)
    w = model.weight
    data = w.data
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(np.ones((3, 2))).sum().backward()
    opt.step()
    assert model.weight is w and w.data is data  # same objects, new values
    assert w.is_leaf and w.grad_fn is None and w.requires_grad
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("opt_cls", [optim.SGD, optim.Adam])
def test_float32_stays_float32(opt_cls):
    model = nn.Linear(3, 2, rng=0, dtype=np.float32)
    opt = opt_cls(model.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        model(np.ones((4, 3), np.float32)).sum().backward()
        opt.step()
    assert all(p.dtype == np.float32 for p in model.parameters())
    for s in opt.state.values():
        assert all(v.dtype == np.float32 for v in s.values() if isinstance(v, np.ndarray))


def test_training_fits_a_line():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(32, 1))
    y = 2 * x + 1
    for opt_cls, kwargs, steps in [(optim.SGD, {"lr": 0.3, "momentum": 0.5}, 100),
                                   (optim.Adam, {"lr": 0.1}, 300)]:
        model = nn.Linear(1, 1, rng=1)
        opt = opt_cls(model.parameters(), **kwargs)
        for _ in range(steps):
            opt.zero_grad()
            loss = tg.mse_loss(model(x), y)
            loss.backward()
            opt.step()
        assert loss.item() < 1e-6
        np.testing.assert_allclose(model.weight.data, [[2.0]], atol=1e-3)
        np.testing.assert_allclose(model.bias.data, [1.0], atol=1e-3)


def test_closure_returns_loss():
    w = nn.Parameter(np.array([3.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():  # the closure records even inside no_grad
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_array_equal(w.data, [3.0 - 0.25 * 6.0])


@pytest.mark.parametrize("opt_cls,kwargs", [(optim.SGD, {"lr": 0.1, "momentum": 0.9}),
                                            (optim.Adam, {"lr": 0.1})])
def test_state_dict_resumes_exactly(opt_cls, kwargs):
    full, _ = _run(opt_cls, steps=3, **kwargs)
    params, opt = _run(opt_cls, steps=2, **kwargs)
    saved_state = opt.state_dict()
    saved_params = [p.data.copy() for p in params]
    params[0].data += 100.0  # state_dict holds copies: this does not leak into it
    fresh = [nn.Parameter(a) for a in saved_params]
    opt2 = opt_cls(fresh, **kwargs)
    opt2.load_state_dict(saved_state)
    fresh[0].grad, fresh[1].grad = tg.tensor(GRADS_W[2]), tg.tensor(GRADS_B[2])
    opt2.step()
    for p, q in zip(full, fresh):
        np.testing.assert_array_equal(p.data, q.data)
    bad = opt2.state_dict()
    bad["state"][0] = {k: (v[:1] if isinstance(v, np.ndarray) else v)
                       for k, v in bad["state"][0].items()}
    with pytest.raises(tg.ShapeError, match="has shape"):
        opt2.load_state_dict(bad)


def test_grad_shape_mismatch_is_reported():
    w = nn.Parameter(np.ones(3))
    w.grad = tg.tensor(np.ones(2))
    with pytest.raises(tg.ShapeError, match=r"params\[0\] has shape \(3,\) but its grad has "
                                            r"shape \(2,\)"):
        optim.SGD([w], lr=0.1).step()


def test_errors_are_clear():
    p = [nn.Parameter(np.ones(2))]
    with pytest.raises(ValueError, match="invalid learning rate \\(lr\\) -0.1"):
        optim.SGD(p, lr=-0.1)
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.Adam(p, lr=math.nan)
    with pytest.raises(TypeError, match="learning rate"):
        optim.SGD(p, lr="0.1")
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD(p, lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="weight_decay"):
        optim.Adam(p, weight_decay=-1)
    with pytest.raises(ValueError, match=r"beta1 \(betas\[0\]\) 1.0, expected a finite value "
                                         r"in \[0.0, 1.0\)"):
        optim.Adam(p, betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="beta2"):
        optim.Adam(p, betas=(0.9, -0.1))
    with pytest.raises(ValueError, match="betas must be a pair"):
        optim.Adam(p, betas=0.9)
    with pytest.raises(ValueError, match="eps"):
        optim.Adam(p, eps=-1e-8)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    model = nn.Linear(2, 1, rng=0)
    params = model.parameters()
    optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD(params, lr=0.1)  # an exhausted iterator
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p[0], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is a ndarray"):
        optim.SGD([p[0], np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([p[0] * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p[0], p[0]], lr=0.1)


def test_repr():
    opt = optim.SGD([nn.Parameter(np.ones(2))], lr=0.1, momentum=0.9)
    assert repr(opt) == ("SGD(1 parameters, lr=0.1, momentum=0.9, dampening=0.0, "
                         "weight_decay=0.0, nesterov=False)")
    opt.add_param_group({"params": [nn.Parameter(np.ones(3))], "lr": 0.5})
    assert repr(opt).startswith("SGD(group 0: 1 parameters, lr=0.1, ")
    assert "; group 1: 1 parameters, lr=0.5, momentum=0.9" in repr(opt)
