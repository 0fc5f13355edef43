"""Tests of tensorgrad.nn: Module bookkeeping, layers against NumPy/PyTorch references,
initialisation, state dicts and the untied-bias convolution against tensorgrad.reference."""
from collections import OrderedDict

import numpy as np
import pytest

import tensorgrad as tg
import tensorgrad.reference as ref
from tensorgrad import nn


def _correlate_nchw(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Direct (loop) cross-correlation with PyTorch's conventions, the test's oracle."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    per_group = o // groups
    for oc in range(o):
        g = oc // per_group
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * cg:(g + 1) * cg,
                           i * stride[0]:i * stride[0] + dilation[0] * (kh - 1) + 1:dilation[0],
                           j * stride[1]:j * stride[1] + dilation[1] * (kw - 1) + 1:dilation[1]]
                out[:, oc, i, j] = np.sum(patch * w[oc], axis=(1, 2, 3))
        if b is not None:
            out[:, oc] += b[oc]
    return out


def _slots(model):
    """(module, name) of every parameter, in named_parameters order."""
    out = []
    for _, m in model.named_modules():
        for name, p in m._parameters.items():
            if p is not None:
                out.append((m, name))
    return out


def _loss_of_params(model, loss):
    """fn(*tensors): ``loss(model)`` with the model's parameters replaced by ``tensors``
    (so that tg.gradcheck can perturb them)."""
    slots = _slots(model)

    def fn(*tensors):
        saved = [m._parameters[n] for m, n in slots]
        try:
            for (m, n), t in zip(slots, tensors):
                m._parameters[n] = t
            return loss(model)
        finally:
            for (m, n), p in zip(slots, saved):
                m._parameters[n] = p

    return fn


class Net(nn.Module):
    def __init__(self, rng=None):
        super().__init__()
        rng = np.random.default_rng(rng)
        self.conv1 = nn.Conv2d(1, 2, 3, rng=rng)
        self.act = nn.ReLU()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, 4, rng=rng), nn.Tanh(),
                                  nn.Linear(4, 1, rng=rng))
        self.note = "not registered"

    def forward(self, x):
        return self.head(self.act(self.conv1(x)))


# ------------------------------------------------------------------------------------------
# Parameter
# ------------------------------------------------------------------------------------------

def test_parameter_is_a_leaf_tensor_requiring_grad():
    p = nn.Parameter(np.array([1.0, 2.0]))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert not nn.Parameter(np.ones(2), requires_grad=False).requires_grad
    y = p * p
    assert type(y) is tg.Tensor and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_array_equal(p.grad.data, [2.0, 4.0])
    assert type(p.detach()) is tg.Tensor
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")


def test_parameter_shares_data_and_rejects_integers():
    a = np.zeros(3)
    assert nn.Parameter(a).data is a
    assert nn.Parameter(tg.tensor(a)).shape == (3,)
    with pytest.raises(TypeError, match="int64"):
        nn.Parameter(np.arange(3))


# ------------------------------------------------------------------------------------------
# Module bookkeeping
# ------------------------------------------------------------------------------------------

def test_named_parameters_dotted_names_in_declaration_order():
    net = Net(rng=0)
    names = [n for n, _ in net.named_parameters()]
    assert names == ["conv1.weight", "conv1.bias", "head.1.weight", "head.1.bias",
                     "head.3.weight", "head.3.bias"]
    assert [p.shape for p in net.parameters()] == [(2, 1, 3, 3), (2,), (4, 18), (4,), (1, 4),
                                                   (1,)]
    assert [type(c).__name__ for c in net.children()] == ["Conv2d", "ReLU", "Sequential"]
    assert [n for n, _ in net.named_modules()] == ["", "conv1", "act", "head", "head.0",
                                                   "head.1", "head.2", "head.3"]
    assert len(list(net.modules())) == 8
    assert net.note == "not registered"
    assert net(np.zeros((2, 1, 5, 5))).shape == (2, 1)


def test_named_parameters_sequential_and_sharing():
    lin = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(lin, nn.Sigmoid(), lin)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert [n for n, _ in model.named_parameters(prefix="model")] == ["model.0.weight",
                                                                       "model.0.bias"]
    assert list(model.parameters(recurse=False)) == []


def test_registration_rules():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(np.ones(2))
            self.sub = nn.Linear(2, 1, rng=0)

    m = M()
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = tg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="child module 'sub'"):
        m.sub = 3
    m.w = None  # an absent parameter, as bias=False
    assert [n for n, _ in m.named_parameters()] == ["sub.weight", "sub.bias"]
    del m.sub
    assert list(m.parameters()) == []
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        m.nothing  # noqa: B018

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Early()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1.0)


def test_train_eval_propagate():
    model = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Sequential(nn.ReLU(), nn.Linear(2, 1,
                                                                                      rng=1)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model[1].train()
    assert [m.training for m in model.modules()] == [False, False, True, True, True]
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_none_and_requires_grad_():
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Tanh(), nn.Linear(2, 1, rng=1))
    model(np.ones((4, 3))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_repr_nested_like_pytorch():
    text = repr(Net(rng=0))
    assert text == (
        "Net(\n"
        "  (conv1): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (act): ReLU()\n"
        "  (head): Sequential(\n"
        "    (0): Flatten(start_dim=1, end_dim=-1)\n"
        "    (1): Linear(in_features=18, out_features=4, bias=True)\n"
        "    (2): Tanh()\n"
        "    (3): Linear(in_features=4, out_features=1, bias=True)\n"
        "  )\n"
        ")")


def test_repr_of_layers():
    assert repr(nn.Linear(3, 2, bias=False, rng=0)) == \
        "Linear(in_features=3, out_features=2, bias=False)"
    assert repr(nn.Conv2d(2, 4, (3, 5), stride=2, padding=1, dilation=(1, 2), groups=2,
                          bias=False, rng=0)) == (
        "Conv2d(2, 4, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), dilation=(1, 2), "
        "groups=2, bias=False)")
    assert repr(nn.UntiedConv2d((1, 6, 6), 3, 2, rng=0)) == \
        "UntiedConv2d(input_shape=(1, 6, 6), kernel_size=3, depth=2)"
    assert repr(nn.Softmax()) == "Softmax(dim=None)"
    assert repr(nn.Softmax(-1)) == "Softmax(dim=-1)"
    assert repr(nn.Reshape(-1, 4)) == "Reshape(shape=(-1, 4))"
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2))"
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.Sequential()) == "Sequential()"


def test_sequential_container():
    a, b, c = nn.Linear(2, 3, rng=0), nn.Sigmoid(), nn.Linear(3, 1, rng=1)
    model = nn.Sequential(a, b, c)
    assert len(model) == 3 and list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c and model[np.int64(1)] is b
    sub = model[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert [n for n, _ in sub.named_parameters()] == ["2.weight", "2.bias"]
    with pytest.raises(IndexError, match="out of range"):
        model[3]
    with pytest.raises(TypeError, match="ints or slices"):
        model["0"]
    with pytest.raises(TypeError, match="must be a Module"):
        nn.Sequential(a, np.tanh)
    model.append(nn.Tanh())
    assert len(model) == 4 and [n for n, _ in model.named_children()][-1] == "3"
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    x = np.linspace(-1, 1, 8).reshape(4, 2)
    w1, b1, w2, b2 = (p.data for p in model.parameters())
    expected = np.tanh(1 / (1 + np.exp(-(x @ w1.T + b1))) @ w2.T + b2)
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-14,
                               atol=1e-14 * np.abs(expected).max())


# ------------------------------------------------------------------------------------------
# Linear
# ------------------------------------------------------------------------------------------

def test_linear_matches_numpy_and_shapes():
    layer = nn.Linear(3, 2, rng=0)
    w, b = layer.weight.data, layer.bias.data
    x = np.arange(12.0).reshape(4, 3) / 10
    np.testing.assert_allclose(layer(x).data, x @ w.T + b, rtol=1e-15)
    x3 = np.arange(24.0).reshape(2, 4, 3)
    assert layer(x3).shape == (2, 4, 2)
    np.testing.assert_allclose(layer(x3).data, x3 @ w.T + b, rtol=1e-15)
    row_sums = w.sum(axis=1) + b  # summed in another order than the matrix product's
    np.testing.assert_allclose(layer(np.ones(3)).data, row_sums, rtol=1e-15,
                               atol=1e-14 * np.abs(row_sums).max())
    with pytest.raises(tg.ShapeError, match=r"Linear: expected an input of shape \(\.\.\., 3\), "
                                            r"got \(4, 2\)"):
        layer(np.ones((4, 2)))


def test_linear_gradients_by_hand():
    layer = nn.Linear(3, 2, rng=0)
    x = tg.tensor(np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]]), requires_grad=True)
    g = np.array([[1.0, 2.0], [-1.0, 0.5]])
    layer(x).backward(g)
    np.testing.assert_allclose(layer.weight.grad.data, g.T @ x.data, rtol=1e-15)
    np.testing.assert_allclose(layer.bias.grad.data, g.sum(axis=0), rtol=1e-15)
    np.testing.assert_allclose(x.grad.data, g @ layer.weight.data, rtol=1e-15)


def test_linear_init_bounds_pytorch_default():
    layer = nn.Linear(100, 300, rng=1)
    bound = 1 / np.sqrt(100)
    for p in (layer.weight.data, layer.bias.data):
        assert np.all(np.abs(p) <= bound)
    w = layer.weight.data
    assert w.max() > 0.99 * bound and w.min() < -0.99 * bound
    assert abs(w.mean()) < 0.01 * bound * 3
    assert np.std(w) == pytest.approx(bound / np.sqrt(3), rel=0.02)  # the uniform's std
    assert layer.bias.data.max() > 0.9 * bound and layer.bias.data.min() < -0.9 * bound
    nobias = nn.Linear(4, 2, bias=False, rng=0)
    assert nobias.bias is None and list(nobias.state_dict()) == ["weight"]
    row_sums = nobias.weight.data.sum(1)[None]  # summed in another order than the product's
    np.testing.assert_allclose(nobias(np.ones((1, 4))).data, row_sums, rtol=0,
                               atol=1e-14 * np.abs(row_sums).max())


def test_rng_determinism_and_no_global_state():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a, b, c = nn.Linear(5, 4, rng=7), nn.Linear(5, 4, rng=7), nn.Linear(5, 4, rng=8)
    assert np.array_equal(np.random.get_state()[1], state)  # global state untouched
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    m1 = nn.Sequential(nn.Linear(2, 2, rng=g1), nn.Linear(2, 2, rng=g1))
    m2 = nn.Sequential(nn.Linear(2, 2, rng=g2), nn.Linear(2, 2, rng=g2))
    for pa, pb in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    # a shared generator advances: the two layers differ
    assert not np.array_equal(m1[0].weight.data, m1[1].weight.data)
    f32 = nn.Linear(5, 4, rng=7, dtype=np.float32)
    assert f32.weight.dtype == np.float32 and f32(np.ones((1, 5), np.float32)).dtype == np.float32
    np.testing.assert_array_equal(f32.weight.data, a.weight.data.astype(np.float32))
    with pytest.raises(TypeError, match="rng"):
        nn.Linear(2, 2, rng="seed")
    with pytest.raises(TypeError, match="floating dtype"):
        nn.Linear(2, 2, rng=0, dtype=np.int32)
    with pytest.raises(ValueError, match="in_features must be a positive int, got 0"):
        nn.Linear(0, 2)


def test_gradcheck_sequential_loss_wrt_parameters():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Tanh(), nn.Linear(4, 2, rng=rng),
                          nn.Sigmoid())
    x = rng.standard_normal((5, 3))
    target = rng.random((5, 2))
    fn = _loss_of_params(model, lambda m: tg.mse_loss(m(x), target))
    assert tg.gradcheck(fn, list(model.parameters()))
    # the same gradients land in .grad through an ordinary backward
    loss = tg.mse_loss(model(x), target)
    loss.backward()
    grads = tg.grad(tg.mse_loss(model(x), target), list(model.parameters()))
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_allclose(p.grad.data, g.data, rtol=1e-15)


# ------------------------------------------------------------------------------------------
# state_dict
# ------------------------------------------------------------------------------------------

def _mlp(seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, 5, rng=rng), nn.ReLU(), nn.Linear(5, 2, rng=rng))


def test_state_dict_is_an_ordered_copy():
    model = _mlp(0)
    sd = model.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(type(v) is np.ndarray for v in sd.values())
    before = sd["0.weight"].copy()
    model[0].weight.data += 1.0
    np.testing.assert_array_equal(sd["0.weight"], before)


def test_state_dict_npz_roundtrip(tmp_path):
    src, dst = _mlp(0), _mlp(1)
    x = np.random.default_rng(2).standard_normal((6, 3))
    assert not np.allclose(src(x).data, dst(x).data)
    path = tmp_path / "model.npz"
    np.savez(path, **src.state_dict())
    weight_before = dst[0].weight  # loading is in place: the Parameter objects survive
    with np.load(path) as data:
        result = dst.load_state_dict(data)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst[0].weight is weight_before
    np.testing.assert_array_equal(src(x).data, dst(x).data)
    for (na, pa), (nb, pb) in zip(src.named_parameters(), dst.named_parameters()):
        assert na == nb and pa.data is not pb.data
        np.testing.assert_array_equal(pa.data, pb.data)


def test_load_state_dict_accepts_tensors_and_casts():
    src, dst = _mlp(0), _mlp(1)
    dst.load_state_dict({k: tg.tensor(v) for k, v in src.state_dict().items()})
    np.testing.assert_array_equal(dst[2].bias.data, src[2].bias.data)
    f32 = {k: v.astype(np.float32) for k, v in src.state_dict().items()}
    dst.load_state_dict(f32)
    assert dst[0].weight.dtype == np.float64
    np.testing.assert_array_equal(dst[0].weight.data, f32["0.weight"].astype(np.float64))


def test_load_state_dict_errors_are_clear_and_atomic():
    model = _mlp(0)
    before = model.state_dict()
    sd = _mlp(1).state_dict()
    sd["0.weight"] = np.zeros((3, 5))
    with pytest.raises(tg.ShapeError, match=r"'0\.weight': got shape \(3, 5\), the parameter "
                                            r"has shape \(5, 3\)"):
        model.load_state_dict(sd)
    with pytest.raises(tg.ShapeError):
        model.load_state_dict(sd, strict=False)  # shapes are checked whatever strict is
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])  # nothing was loaded

    sd = _mlp(1).state_dict()
    del sd["2.bias"]
    sd["3.weight"] = np.zeros(2)
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(sd)
    msg = str(err.value)
    assert "missing key(s): '2.bias'" in msg and "unexpected key(s): '3.weight'" in msg
    np.testing.assert_array_equal(model[0].weight.data, before["0.weight"])

    result = model.load_state_dict(sd, strict=False)
    assert result == (["2.bias"], ["3.weight"])
    np.testing.assert_array_equal(model[0].weight.data, sd["0.weight"])
    np.testing.assert_array_equal(model[2].bias.data, before["2.bias"])

    with pytest.raises(TypeError, match="'0.bias' holds dtype complex128"):
        model.load_state_dict({**model.state_dict(), "0.bias": np.zeros(5, complex)})
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([("0.bias", np.zeros(5))])


# ------------------------------------------------------------------------------------------
# Activations and shape layers
# ------------------------------------------------------------------------------------------

def test_activation_layers_values():
    x = np.array([[-1000.0, -1.0, 0.0, 2.0, 1000.0]])
    np.testing.assert_allclose(nn.Sigmoid()(x).data, [[0.0, 1 / (1 + np.e), 0.5,
                                                       1 / (1 + np.exp(-2)), 1.0]], rtol=1e-15)
    np.testing.assert_array_equal(nn.ReLU()(x).data, [[0, 0, 0, 2, 1000]])
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x), rtol=1e-15)
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    soft = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(nn.Softmax(dim=1)(z).data, soft, rtol=1e-14)
    with pytest.warns(UserWarning, match="implicit dimension choice"):   # PyTorch's rule
        np.testing.assert_allclose(nn.Softmax()(z).data, soft, rtol=1e-14)
    np.testing.assert_allclose(nn.Softmax(dim=0)(z).data.sum(axis=0), np.ones(3), rtol=1e-14)
    log_soft = np.log(soft)  # a difference in tensorgrad: error scales with the largest entry
    np.testing.assert_allclose(nn.LogSoftmax(dim=1)(z).data, log_soft, rtol=1e-14,
                               atol=1e-14 * np.abs(log_soft).max())
    assert nn.Identity()(x) is x


def test_flatten_and_reshape():
    x = tg.tensor(np.arange(120.0).reshape(2, 3, 4, 5), requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    np.testing.assert_array_equal(nn.Flatten()(x).data, x.data.reshape(2, 60))
    with pytest.raises(tg.ShapeError, match="Flatten"):
        nn.Flatten(3, 1)(x)
    assert nn.Reshape(-1, 60)(x).shape == (2, 60)
    assert nn.Reshape((120, 1))(x).shape == (120, 1)
    y = nn.Reshape(6, 20)(x)
    y.backward(np.arange(120.0).reshape(6, 20))
    np.testing.assert_array_equal(x.grad.data, np.arange(120.0).reshape(2, 3, 4, 5))
    with pytest.raises(tg.ShapeError):
        nn.Reshape(7, -1)(x)
    with pytest.raises(ValueError, match="at most one"):
        nn.Reshape(-1, -1)
    with pytest.raises(ValueError, match="positive ints or -1"):
        nn.Reshape(0, 3)


def test_loss_modules_match_functions():
    p = tg.tensor([[0.2, 0.9], [0.6, 0.1]])
    t = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert nn.MSELoss()(p, t).item() == tg.mse_loss(p, t).item()
    assert nn.MSELoss(reduction="sum")(p, t).item() == pytest.approx(0.04 + 0.01 + 0.16 + 0.01)
    bce = -np.mean(t * np.log(p.data) + (1 - t) * np.log(1 - p.data))
    assert nn.BCELoss()(p, t).item() == pytest.approx(bce, rel=1e-14)
    z = tg.tensor([[0.3, -1.2], [2.0, 0.0]])
    s = 1 / (1 + np.exp(-z.data))
    bce_z = -np.mean(t * np.log(s) + (1 - t) * np.log(1 - s))
    assert nn.BCEWithLogitsLoss()(z, t).item() == pytest.approx(bce_z, rel=1e-12)
    ce = nn.CrossEntropyLoss(reduction="none")(z, np.array([1, 0]))
    lse = np.log(np.exp(z.data).sum(axis=1))
    expected = lse - z.data[[0, 1], [1, 0]]  # a difference: its error scales with lse
    np.testing.assert_allclose(ce.data, expected, rtol=1e-14, atol=1e-14 * np.abs(lse).max())
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


# ------------------------------------------------------------------------------------------
# Conv2d and the untied-bias convolution
# ------------------------------------------------------------------------------------------

def test_conv2d_init_shapes_and_bounds():
    conv = nn.Conv2d(4, 6, (3, 2), groups=2, rng=0)
    assert conv.weight.shape == (6, 2, 3, 2) and conv.bias.shape == (6,)
    bound = 1 / np.sqrt(2 * 3 * 2)
    assert np.all(np.abs(conv.weight.data) <= bound) and np.all(np.abs(conv.bias.data) <= bound)
    big = nn.Conv2d(8, 64, 3, rng=1)
    bound = 1 / np.sqrt(8 * 9)
    w = big.weight.data
    assert np.all(np.abs(w) <= bound) and w.max() > 0.99 * bound and w.min() < -0.99 * bound
    assert np.std(w) == pytest.approx(bound / np.sqrt(3), rel=0.03)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding must be an int >= 0"):
        nn.Conv2d(3, 4, 3, padding=-1)
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="'valid' or 'same'"):
        nn.Conv2d(3, 4, 3, padding="full")
    assert repr(nn.Conv2d(1, 1, 3, padding="same")) == \
        "Conv2d(1, 1, kernel_size=(3, 3), stride=(1, 1), padding=same)"


@pytest.mark.parametrize("kwargs", [
    {},
    {"stride": 2, "padding": 1},
    {"stride": (1, 2), "padding": (2, 0), "dilation": (2, 1)},
    {"groups": 2, "bias": False},
])
def test_conv2d_forward_and_gradients_vs_loops(kwargs):
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(2, 4, (3, 2), rng=rng, **kwargs)
    x = tg.tensor(rng.standard_normal((2, 2, 6, 5)), requires_grad=True)
    b = None if conv.bias is None else conv.bias.data
    opts = {k: (v if isinstance(v, tuple) else (v, v)) for k, v in kwargs.items()
            if k in ("stride", "padding", "dilation")}
    expected = _correlate_nchw(x.data, conv.weight.data, b, groups=conv.groups, **opts)
    y = conv(x)
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-13)
    # unbatched input
    np.testing.assert_allclose(conv(x.data[1]).data, expected[1], rtol=1e-12, atol=1e-13)
    inputs = [x, conv.weight] + ([] if conv.bias is None else [conv.bias])
    g = rng.standard_normal(y.shape)
    y.backward(g)

    def loss_of(xv, wv, bv):
        return np.sum(g * _correlate_nchw(xv, wv, bv, groups=conv.groups, **opts))

    eps = 1e-6
    for t, name in zip(inputs, ["x", "weight", "bias"]):
        num = np.zeros(t.size)
        flat = t.data.reshape(-1)
        for i in range(t.size):
            orig = flat[i]
            flat[i] = orig + eps
            fp = loss_of(x.data, conv.weight.data, b)
            flat[i] = orig - eps
            fm = loss_of(x.data, conv.weight.data, b)
            flat[i] = orig
            num[i] = (fp - fm) / (2 * eps)
        np.testing.assert_allclose(t.grad.data.ravel(), num, rtol=1e-6, atol=1e-7,
                                   err_msg=name)


def test_conv2d_input_shape_error():
    conv = nn.Conv2d(3, 2, 3, rng=0)
    with pytest.raises(tg.ShapeError, match=r"Conv2d: expected an input of shape \(N, 3, H, W\) "
                                            r"or \(3, H, W\), got \(2, 4, 5, 5\)"):
        conv(np.zeros((2, 4, 5, 5)))


def test_untied_conv_init_matches_reference():
    for shape, k, d in [((1, 6, 6), 3, 2), ((2, 5, 7), 2, 3)]:
        mine = nn.UntiedConv2d(shape, k, d, rng=42)
        theirs = ref.Convolution(shape, k, d, rng=42)
        np.testing.assert_array_equal(mine.weight.data, theirs.kernels)
        np.testing.assert_array_equal(mine.bias.data, theirs.bias)
        assert mine.output_shape == theirs.output_shape
    assert [n for n, _ in mine.named_parameters()] == ["weight", "bias"]
    b = nn.UntiedConv2d((1, 28, 28), 3, 5, rng=0).bias.data
    assert b.shape == (5, 26, 26) and b.min() >= 0 and b.max() < 1
    with pytest.raises(ValueError, match="larger than"):
        nn.UntiedConv2d((1, 2, 5), 3, 1)
    with pytest.raises(ValueError, match="channels, height, width"):
        nn.UntiedConv2d((28, 28), 3, 1)


@pytest.mark.parametrize("shape,k,d", [((1, 7, 7), 3, 2), ((3, 6, 5), 2, 4)])
def test_untied_conv_equals_reference_convolution(shape, k, d):
    rng = np.random.default_rng(5)
    layer = nn.UntiedConv2d(shape, k, d, rng=rng)
    oracle = ref.Convolution(shape, k, d, rng=0)
    oracle.kernels = layer.weight.data.copy()
    oracle.bias = layer.bias.data.copy()
    xv = rng.standard_normal(shape)
    g = rng.standard_normal(oracle.output_shape)

    x = tg.tensor(xv, requires_grad=True)
    y = layer(x)
    expected = oracle.forward(xv)
    # sums taken in different orders: tolerances relative to each array's largest entry
    np.testing.assert_allclose(y.data, expected, rtol=1e-13, atol=1e-13 * np.abs(expected).max())
    y.backward(g)
    dx = oracle.backward(g)
    np.testing.assert_allclose(x.grad.data, dx, rtol=1e-13, atol=1e-13 * np.abs(dx).max())
    kg = oracle.kernels_gradient
    np.testing.assert_allclose(layer.weight.grad.data, kg, rtol=1e-13,
                               atol=1e-13 * np.abs(kg).max())
    np.testing.assert_array_equal(layer.bias.grad.data, oracle.bias_gradient)

    # a batch gives each image's output, and the untied bias sums the batch's cotangents
    layer.zero_grad()
    xb = np.stack([xv, -xv])
    yb = layer(xb)
    np.testing.assert_allclose(yb.data[0], expected, rtol=1e-13,
                               atol=1e-13 * np.abs(expected).max())
    yb.backward(np.stack([g, g]))
    np.testing.assert_allclose(layer.bias.grad.data, 2 * g, rtol=1e-15)
    with pytest.raises(tg.ShapeError, match="UntiedConv2d: expected an input of shape"):
        layer(np.zeros((shape[0] + 1,) + shape[1:]))


def test_untied_conv_gradcheck():
    layer = nn.UntiedConv2d((2, 5, 4), 2, 2, rng=1)
    x = tg.tensor(np.random.default_rng(2).standard_normal((2, 5, 4)), requires_grad=True)
    fn = _loss_of_params(layer, lambda m: tg.sigmoid(m(x)))
    assert tg.gradcheck(fn, list(layer.parameters()))


def test_pool_layers():
    x = np.arange(32.0).reshape(2, 1, 4, 4)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data, [[[[5, 7], [13, 15]]],
                                                            [[[21, 23], [29, 31]]]])
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x).data, [[[[2.5, 4.5], [10.5, 12.5]]],
                                                            [[[18.5, 20.5], [26.5, 28.5]]]])
    assert nn.MaxPool2d(3, stride=1)(x).shape == (2, 1, 2, 2)
    padded = nn.MaxPool2d(2, padding=1)
    assert repr(padded) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(1, 1))"
    np.testing.assert_array_equal(padded(x[0]).data, [[[0, 2, 3], [8, 10, 11], [12, 14, 15]]])
    np.testing.assert_array_equal(nn.AvgPool2d(2, padding=1)(x[0]).data[0, 0], [0 / 4, 3 / 4,
                                                                                 3 / 4])
    with pytest.raises(ValueError, match="at most half"):
        nn.AvgPool2d(2, padding=2)


# ------------------------------------------------------------------------------------------
# Against PyTorch, when it is installed
# ------------------------------------------------------------------------------------------

def test_linear_vs_torch():
    torch = pytest.importorskip("torch")
    layer = nn.Linear(4, 3, rng=0)
    tl = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(layer.weight.data))
        tl.bias.copy_(torch.from_numpy(layer.bias.data))
    xv = np.random.default_rng(1).standard_normal((2, 5, 4))
    g = np.random.default_rng(2).standard_normal((2, 5, 3))
    x = tg.tensor(xv, requires_grad=True)
    tx = torch.tensor(xv, requires_grad=True)
    y, ty = layer(x), tl(tx)
    # two libraries' sums: tolerances relative to each array's largest entry
    want = ty.detach().numpy()
    np.testing.assert_allclose(y.data, want, rtol=1e-14, atol=1e-14 * np.abs(want).max())
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    for name, mine, theirs in [("x", x, tx), ("weight", layer.weight, tl.weight),
                               ("bias", layer.bias, tl.bias)]:
        want = theirs.grad.numpy()
        np.testing.assert_allclose(mine.grad.data, want, rtol=1e-13,
                                   atol=1e-13 * np.abs(want).max(), err_msg=name)
    # torch's own initialisation obeys the same bound
    assert np.all(np.abs(torch.nn.Linear(4, 3).weight.detach().numpy()) <= 0.5)


@pytest.mark.parametrize("kwargs", [
    {},
    {"stride": 2, "padding": 1},
    {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2},
    {"padding": "same", "dilation": 2},
    {"padding": "valid"},
])
def test_conv2d_vs_torch(kwargs):
    torch = pytest.importorskip("torch")
    conv = nn.Conv2d(4, 6, 3, rng=0, **kwargs)
    tc = torch.nn.Conv2d(4, 6, 3, **kwargs).double()
    with torch.no_grad():
        tc.weight.copy_(torch.from_numpy(conv.weight.data))
        tc.bias.copy_(torch.from_numpy(conv.bias.data))
    rng = np.random.default_rng(1)
    xv = rng.standard_normal((2, 4, 7, 6))
    x = tg.tensor(xv, requires_grad=True)
    tx = torch.tensor(xv, requires_grad=True)
    y, ty = conv(x), tc(tx)
    assert y.shape == tuple(ty.shape)
    # two libraries' sums: tolerances relative to each array's largest entry
    want = ty.detach().numpy()
    np.testing.assert_allclose(y.data, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    for name, mine, theirs in [("x", x, tx), ("weight", conv.weight, tc.weight),
                               ("bias", conv.bias, tc.bias)]:
        want = theirs.grad.numpy()
        np.testing.assert_allclose(mine.grad.data, want, rtol=1e-12,
                                   atol=1e-12 * np.abs(want).max(), err_msg=name)
