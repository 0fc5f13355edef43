"""Tests of tensorgrad.optim: SGD, Adam, AdamW and RMSprop against their formulas written out by hand (and
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


# ------------------------------------------------------------------------------------------
# Parameter groups, the other optimisers, state_dict: against formulas and torch.optim
# ------------------------------------------------------------------------------------------

STEPS = 8
_r = np.random.default_rng(7)
LONG_W = [_r.standard_normal(W0.shape) for _ in range(STEPS)]
LONG_B = [_r.standard_normal(B0.shape) for _ in range(STEPS)]
LONG_B[3] = None  # the bias has no gradient at step 4: skipped, its state does not advance


def _by_hand(name, p0, grads, o):
    """The update rules written out with plain NumPy, one parameter, grads None skipped."""
    p, s = p0.copy(), {"t": 0}
    for g in grads:
        if g is None:
            continue
        s["t"] += 1
        t = s["t"]
        if name == "SGD":
            d = g + o.get("weight_decay", 0) * p
            mu, tau = o.get("momentum", 0), o.get("dampening", 0)
            if mu:
                s["b"] = d.copy() if t == 1 else mu * s["b"] + (1 - tau) * d
                d = d + mu * s["b"] if o.get("nesterov") else s["b"]
            p = p - o["lr"] * d
        elif name in ("Adam", "AdamW"):
            lr, (b1, b2), eps = o["lr"], o.get("betas", (0.9, 0.999)), o.get("eps", 1e-8)
            wd = o.get("weight_decay", 1e-2 if name == "AdamW" else 0)
            if name == "AdamW":
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
            s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
            v = s["v"]
            if o.get("amsgrad"):
                v = s["vmax"] = np.maximum(s.get("vmax", 0), s["v"])
            p = p - lr / (1 - b1 ** t) * s["m"] / (np.sqrt(v / (1 - b2 ** t)) + eps)
        else:  # RMSprop
            lr, alpha, eps = o.get("lr", 1e-2), o.get("alpha", 0.99), o.get("eps", 1e-8)
            g = g + o.get("weight_decay", 0) * p
            s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g * g
            if o.get("centered"):
                s["gbar"] = alpha * s.get("gbar", 0) + (1 - alpha) * g
                avg = np.sqrt(s["v"] - s["gbar"] ** 2) + eps
            else:
                avg = np.sqrt(s["v"]) + eps
            mu = o.get("momentum", 0)
            if mu:
                s["b"] = mu * s.get("b", 0) + g / avg
                p = p - lr * s["b"]
            else:
                p = p - lr * g / avg
    return p


# (optimiser, options of group 0 (the defaults), options group 1 overrides)
CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}, {"lr": 0.02}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, {"weight_decay": 0.1}),
    ("SGD", {"lr": 0.1}, {"momentum": 0.5}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}, {"amsgrad": True, "betas": (0.8, 0.99)}),
    ("Adam", {"lr": 0.02, "amsgrad": True}, {"lr": 0.1, "eps": 1e-3}),
    ("AdamW", {"lr": 0.05}, {"weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.0}, {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01}, {"alpha": 0.9, "eps": 1e-4}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.05}, {"centered": True}),
    ("RMSprop", {"lr": 0.003, "centered": True, "momentum": 0.5}, {"lr": 0.02, "momentum": 0.0}),
]
CASE_IDS = [f"{n}-{i}" for i, (n, *_) in enumerate(CASES)]


def _two_groups(make_param, name, o0, o1, module):
    w, b = make_param(W0), make_param(B0)
    return (w, b), getattr(module, name)([{"params": [w]}, {"params": b, **o1}], **o0)


def _train_two_groups(name, o0, o1, steps=STEPS, start=0, params_opt=None):
    (w, b), opt = params_opt or _two_groups(lambda a: nn.Parameter(a.copy()), name, o0, o1, optim)
    for t in range(start, steps):
        opt.zero_grad()
        w.grad = tg.tensor(LONG_W[t])
        if LONG_B[t] is not None:
            b.grad = tg.tensor(LONG_B[t])
        opt.step()
    return (w, b), opt


@pytest.mark.parametrize("name,o0,o1", CASES, ids=CASE_IDS)
def test_groups_follow_the_formulas(name, o0, o1):
    (w, b), opt = _train_two_groups(name, o0, o1)
    assert [len(g["params"]) for g in opt.param_groups] == [1, 1]
    assert opt.param_groups[1] == {**opt.defaults, **o1, "params": [b]}
    for p, p0, grads, o in [(w, W0, LONG_W, o0), (b, B0, LONG_B, {**o0, **o1})]:
        want = _by_hand(name, p0, grads, o)
        np.testing.assert_allclose(p.data, want, rtol=1e-12, atol=1e-13 * np.abs(want).max())


@pytest.mark.parametrize("name,o0,o1", CASES, ids=CASE_IDS)
def test_groups_match_torch_optim(name, o0, o1):
    torch = pytest.importorskip("torch")
    (w, b), opt = _train_two_groups(name, o0, o1)
    (tw, tb), topt = _two_groups(lambda a: torch.tensor(a.copy(), requires_grad=True), name, o0,
                                 o1, torch.optim)
    for t in range(STEPS):
        topt.zero_grad()
        tw.grad = torch.from_numpy(LONG_W[t].copy())
        if LONG_B[t] is not None:
            tb.grad = torch.from_numpy(LONG_B[t].copy())
        topt.step()
    for p, tp in [(w, tw), (b, tb)]:
        want = tp.detach().numpy()  # the same formulas in another order of operations
        np.testing.assert_allclose(p.data, want, rtol=1e-12, atol=1e-13 * np.abs(want).max())
    # the state dict has torch's layout: the same indices, state names and group options
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert ours["state"].keys() == theirs["state"].keys()
    for i in ours["state"]:
        assert ours["state"][i].keys() == theirs["state"][i].keys()
        for k, v in ours["state"][i].items():
            want = theirs["state"][i][k]
            want = want.item() if k == "step" else want.numpy()
            np.testing.assert_allclose(v, want, rtol=1e-11, atol=1e-13 * np.abs(want).max())
    for g, tg_ in zip(ours["param_groups"], theirs["param_groups"]):
        assert g["params"] == tg_["params"]
        for k, v in g.items():
            assert (list(tg_[k]) if k == "betas" else tg_[k]) == v, k


def _as_from_a_file(d):
    """What storing in an .npz and reading back does to a nested dict: string keys,
    numbers and lists as 0-d and 1-d arrays."""
    if isinstance(d, dict):
        return {str(k): _as_from_a_file(v) for k, v in d.items()}
    if isinstance(d, list) and d and isinstance(d[0], dict):  # param_groups
        return [_as_from_a_file(g) for g in d]
    return np.asarray(d)


@pytest.mark.parametrize("through_a_file", [False, True], ids=["dict", "file-like"])
@pytest.mark.parametrize("name,o0,o1", CASES, ids=CASE_IDS)
def test_state_dict_resumes_as_if_uninterrupted(name, o0, o1, through_a_file):
    (w, b), _ = _train_two_groups(name, o0, o1)
    (w5, b5), opt5 = _train_two_groups(name, o0, o1, steps=5)
    saved = opt5.state_dict()
    assert saved["param_groups"][1]["params"] == [1]
    if through_a_file:
        saved = _as_from_a_file(saved)
        assert isinstance(saved["param_groups"][1]["lr"], np.ndarray)
    params, opt = _two_groups(lambda a: nn.Parameter(a.copy()), name, o0, {}, optim)
    params[0].data[...], params[1].data[...] = w5.data, b5.data
    opt.load_state_dict(saved)  # group 1's options come from the state dict
    assert opt.param_groups[1] == {**opt5.param_groups[1], "params": [params[1]]}
    _train_two_groups(name, o0, o1, start=5, params_opt=(params, opt))
    np.testing.assert_array_equal(params[0].data, w.data)
    np.testing.assert_array_equal(params[1].data, b.data)


def test_state_dict_holds_copies_and_plain_values():
    (w, b), opt = _train_two_groups("Adam", {"lr": 0.1}, {"betas": (0.5, 0.6)}, steps=2)
    sd = opt.state_dict()
    assert sd["param_groups"][1]["betas"] == [0.5, 0.6]  # lists, not tuples
    assert opt.param_groups[1]["betas"] == (0.5, 0.6)
    sd["state"][0]["exp_avg"] += 1.0
    assert not np.array_equal(opt.state[0]["exp_avg"], sd["state"][0]["exp_avg"])
    opt.load_state_dict(sd)
    assert opt.param_groups[1]["betas"] == (0.5, 0.6)
    assert opt.state[0]["exp_avg"] is not sd["state"][0]["exp_avg"]


def test_load_state_dict_errors():
    (w, b), opt = _train_two_groups("SGD", {"lr": 0.1, "momentum": 0.9}, {}, steps=2)
    sd = opt.state_dict()
    one_group = optim.SGD([nn.Parameter(W0.copy()), nn.Parameter(B0.copy())], lr=0.1)
    with pytest.raises(ValueError, match="state dict has 2 parameter groups, this optimiser "
                                         "has 1"):
        one_group.load_state_dict(sd)
    (_, _), other = _two_groups(lambda a: nn.Parameter(a.copy()), "SGD", {"lr": 0.1}, {}, optim)
    other.add_param_group({"params": [nn.Parameter(np.ones(1))]})
    bad = {**sd, "param_groups": sd["param_groups"] + [{**sd["param_groups"][1], "params": []}]}
    with pytest.raises(ValueError, match="group 2 of the state dict has 0 parameters, this "
                                         "optimiser's has 1"):
        other.load_state_dict(bad)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}, "defaults": {}})
    with pytest.raises(ValueError, match="state for parameter 5, which no parameter group"):
        opt.load_state_dict({**sd, "state": {5: {}}})
    with pytest.raises(ValueError, match="invalid learning rate"):
        opt.load_state_dict({**sd, "param_groups": [{**sd["param_groups"][0], "lr": -1.0},
                                                    sd["param_groups"][1]]})
    short = {**sd, "state": {0: {"momentum_buffer": np.zeros(3)}}}
    with pytest.raises(tg.ShapeError, match=r"'momentum_buffer' of parameter 0 has shape "
                                            r"\(3,\), the parameter has shape \(2, 3\)"):
        opt.load_state_dict(short)
    assert opt.param_groups[0]["lr"] == 0.1  # a refused load changes nothing


def test_state_follows_the_parameter_dtype_on_load():
    (w, b), opt = _train_two_groups("Adam", {"lr": 0.1}, {}, steps=2)
    p32 = [nn.Parameter(W0.astype(np.float32)), nn.Parameter(B0.astype(np.float32))]
    opt32 = optim.Adam([{"params": [p32[0]]}, {"params": [p32[1]]}], lr=0.1)
    opt32.load_state_dict(opt.state_dict())
    assert opt32.state[0]["exp_avg"].dtype == np.float32 and opt32.state[0]["step"] == 2


# -- zero_grad ---------------------------------------------------------------------------------

def test_zero_grad_sets_to_none_by_default_and_step_skips():
    w = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = tg.tensor([1.0, 1.0])
    opt.step()
    opt.zero_grad()
    assert w.grad is None
    before = w.data.copy()
    opt.step()  # no gradient: no move, although momentum would move it
    np.testing.assert_array_equal(w.data, before)


def test_zero_grad_set_to_none_false_zeroes_in_place_and_momentum_still_moves():
    w = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = tg.tensor([1.0, -1.0])
    opt.step()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and np.array_equal(g.data, [0.0, 0.0])
    opt.step()  # buffer 0.9 * [1, -1]: p = [0.9, 2.1] - 0.1 * [0.9, -0.9]
    np.testing.assert_allclose(w.data, [0.9 - 0.09, 2.1 + 0.09], rtol=1e-15)
    torch = pytest.importorskip("torch")
    tw = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    tw.grad = torch.tensor([1.0, -1.0], dtype=torch.float64)
    topt.step()
    topt.zero_grad(set_to_none=False)
    topt.step()
    np.testing.assert_array_equal(w.data, tw.detach().numpy())


def test_zero_grad_replaces_a_gradient_with_a_graph():
    w = nn.Parameter(np.array([1.0, 2.0]))
    (w * w * w).sum().backward(create_graph=True)
    assert w.grad.grad_fn is not None
    opt = optim.SGD([w], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert w.grad.grad_fn is None and not w.grad.requires_grad
    np.testing.assert_array_equal(w.grad.data, [0.0, 0.0])


# -- groups -------------------------------------------------------------------------------------

def test_add_param_group_trains_a_new_group_with_its_options():
    (w, b), opt = _train_two_groups("SGD", {"lr": 0.1, "momentum": 0.5}, {}, steps=2)
    extra = nn.Parameter(np.array([3.0]))
    opt.add_param_group({"params": extra, "lr": 1.0})
    assert opt.param_groups[2]["momentum"] == 0.5 and opt.params[2] is extra
    extra.grad = tg.tensor([0.5])
    opt.step()
    np.testing.assert_array_equal(extra.data, [2.5])
    assert opt.state_dict()["param_groups"][2]["params"] == [2]


def test_group_errors_are_clear():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    with pytest.raises(ValueError, match=r"param_groups\[1\]\['params'\]\[0\] \(shape \(2,\)\) "
                                         "is already in another parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a, b]}], lr=0.1)
    with pytest.raises(TypeError, match="is a set"):
        optim.SGD([{"params": {a, b}}], lr=0.1)
    with pytest.raises(TypeError, match="mixes Tensors and parameter groups"):
        optim.SGD([a, {"params": [b]}], lr=0.1)
    with pytest.raises(TypeError, match="a single dict"):
        optim.SGD({"params": [a]}, lr=0.1)
    opt = optim.Adam([a])
    with pytest.raises(TypeError, match=r"add_param_group: expected a dict with a 'params' "
                                        r"entry, got dict with keys \['lr'\]"):
        opt.add_param_group({"lr": 0.1})
    with pytest.raises(ValueError, match="beta2"):
        opt.add_param_group({"params": [b], "betas": (0.9, 1.0)})
    assert len(opt.param_groups) == 1 and opt.params == [a]  # refused groups are not added
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.SGD([{"params": [a], "lr": -1.0}], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero "
                                         "dampening"):
        optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="amsgrad must be True or False"):
        optim.AdamW([a], amsgrad="yes")
    with pytest.raises(ValueError, match="alpha"):
        optim.RMSprop([a], alpha=-0.5)
    with pytest.raises(TypeError, match="centered"):
        optim.RMSprop([a], centered=1)


def test_hand_computed_first_steps_of_the_new_optimisers():
    # RMSprop: v = 0.01 g^2, so p moves by lr * g / (0.1 |g| + eps)
    w = nn.Parameter(np.array([1.0, -2.0]))
    w.grad = tg.tensor([2.0, -0.5])
    optim.RMSprop([w], lr=0.01).step()
    np.testing.assert_allclose(w.data, [1.0 - 0.01 * 2 / (0.2 + 1e-8),
                                        -2.0 + 0.01 * 0.5 / (0.05 + 1e-8)], rtol=1e-15)
    # AdamW: p (1 - lr wd), then Adam's first step lr * g / (|g| + eps)
    w = nn.Parameter(np.array([1.0, -2.0]))
    w.grad = tg.tensor([3.0, 0.0])
    optim.AdamW([w], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(w.data, [0.95 - 0.1 * 3 / (3 + 1e-8), -1.9], rtol=1e-15)
    # SGD, nesterov: b = g; p -= lr (g + mu b)
    w = nn.Parameter(np.array([1.0]))
    w.grad = tg.tensor([2.0])
    optim.SGD([w], lr=0.1, momentum=0.5, nesterov=True).step()
    np.testing.assert_allclose(w.data, [1.0 - 0.1 * 3.0], rtol=1e-15)


@pytest.mark.parametrize("make", [lambda ps: optim.AdamW(ps, lr=0.1),
                                  lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9,
                                                           centered=True),
                                  lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)],
                         ids=["AdamW", "RMSprop", "SGD-nesterov"])
def test_new_optimisers_keep_float32_and_write_in_place(make):
    model = nn.Linear(3, 2, rng=0, dtype=np.float32)
    data = model.weight.data
    opt = make(model.parameters())
    for _ in range(2):
        opt.zero_grad()
        model(np.ones((4, 3), np.float32)).sum().backward()
        opt.step()
    assert model.weight.data is data
    assert all(p.dtype == np.float32 for p in model.parameters())
    for s in opt.state.values():
        assert all(v.dtype == np.float32 for v in s.values() if isinstance(v, np.ndarray))


# -- a PyTorch training loop: loader, parameter groups, AdamW, a schedule ----------------------

def _training_loop(nn_, optim_, data_, cross_entropy, tensor, x, y, init, epochs=4,
                   float64=lambda m: m):
    """The same script for both libraries: two groups (no decay on biases), AdamW, a cosine
    schedule stepped per epoch, a loader iterated for several epochs."""
    model = float64(nn_.Sequential(nn_.Linear(4, 8), nn_.ReLU(), nn_.Linear(8, 3)))
    model.load_state_dict({k: tensor(v) for k, v in init.items()})
    named = dict(model.named_parameters())
    decay = [p for n, p in named.items() if n.endswith("weight")]
    no_decay = [p for n, p in named.items() if n.endswith("bias")]
    opt = optim_.AdamW([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}],
                       lr=0.05, weight_decay=0.1)
    sched = optim_.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loader = data_.DataLoader(data_.TensorDataset(tensor(x), tensor(y)), batch_size=8)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        sched.step()
        losses.append(total / len(x))
    return losses, {k: np.array(v.detach().numpy() if hasattr(v, "detach") else v)
                    for k, v in model.state_dict().items()}


def test_a_pytorch_training_loop_runs_and_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((44, 4))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    ref = nn.Sequential(nn.Linear(4, 8, rng=1), nn.ReLU(), nn.Linear(8, 3, rng=2))
    init = ref.state_dict()
    losses, final = _training_loop(nn, optim, tg.data, tg.cross_entropy, tg.tensor, x, y, init)
    assert losses[-1] < 0.7 * losses[0]
    torch = pytest.importorskip("torch")
    tlosses, tfinal = _training_loop(torch.nn, torch.optim, torch.utils.data,
                                     torch.nn.functional.cross_entropy, torch.tensor, x, y,
                                     init, float64=lambda m: m.double())
    np.testing.assert_allclose(losses, tlosses, rtol=1e-10)
    for k in final:
        np.testing.assert_allclose(final[k], tfinal[k], rtol=1e-9,
                                   atol=1e-12 * np.abs(tfinal[k]).max(), err_msg=k)
