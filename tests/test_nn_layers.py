"""The PyTorch-habit layers: Dropout, BatchNorm1d/2d, LayerNorm, Embedding, Identity,
ModuleList, ModuleDict and module buffers. Each against torch (same weights: forward values
in train and eval mode, gradients of inputs and parameters, running statistics after several
steps) where torch is installed, and against hand-computed values everywhere."""
from collections import OrderedDict

import numpy as np
import pytest
from nn_checks import close

import tensorgrad as tg
from tensorgrad import nn


def to_torch(module, tmodule, torch):
    """Give the torch module the tensorgrad module's state (strict: the names must agree)."""
    tmodule.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                             module.state_dict().items()}, strict=True)


def step_both(module, tmodule, x, torch, rng):
    """One forward and backward of each with the same input and upstream gradient; returns
    the outputs and the inputs' gradients."""
    xt = tg.tensor(x, requires_grad=True)
    xtt = torch.tensor(x, requires_grad=True)
    y, yt = module(xt), tmodule(xtt)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    return y, yt.detach().numpy(), xt.grad.data, xtt.grad.numpy()


def grads_agree(module, tmodule, rel=1e-12):
    tparams = dict(tmodule.named_parameters())
    for name, p in module.named_parameters():
        if p.grad is None:
            assert tparams[name].grad is None, name
        else:
            close(p.grad, tparams[name].grad.numpy(), rel)


# ------------------------------------------------------------------------------------------
# buffers and the Module API they need
# ------------------------------------------------------------------------------------------

class WithBuffers(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2, rng=0)
        self.register_buffer("count", tg.tensor(np.zeros(2)))
        self.register_buffer("scratch", tg.tensor(np.ones(3)), persistent=False)


def test_buffers_are_attributes_listed_and_saved_when_persistent():
    m = WithBuffers()
    assert isinstance(m.count, tg.Tensor) and not m.count.requires_grad
    assert [n for n, _ in m.named_buffers()] == ["count", "scratch"]
    assert list(m.state_dict()) == ["count", "fc.weight", "fc.bias"]
    assert [n for n, _ in m.named_parameters()] == ["fc.weight", "fc.bias"]
    m.count = tg.tensor(np.array([5.0, 6.0]))  # assigning a Tensor replaces the buffer
    np.testing.assert_array_equal(m.state_dict()["count"], [5.0, 6.0])
    with pytest.raises(TypeError, match="buffer 'count' of WithBuffers"):
        m.count = [1, 2]
    with pytest.raises(TypeError, match="register_buffer: 'p' must be a Tensor"):
        m.register_buffer("p", nn.Parameter(np.zeros(1)))
    del m.scratch
    assert [n for n, _ in m.named_buffers()] == ["count"]


def test_load_state_dict_restores_buffers_in_place():
    src, dst = WithBuffers(), WithBuffers()
    src.count = tg.tensor(np.array([1.5, 2.5]))
    held = dst.count
    assert dst.load_state_dict(src.state_dict()) == ([], [])
    assert dst.count is held  # written in place, as PyTorch's copy_
    np.testing.assert_array_equal(dst.count.data, [1.5, 2.5])
    sd = src.state_dict()
    sd["count"] = np.zeros(3)
    with pytest.raises(tg.ShapeError, match="'count': got shape \\(3,\\), the buffer has shape"):
        dst.load_state_dict(sd)


def test_zero_grad_set_to_none_false_zeroes_in_place():
    m = nn.Linear(2, 1, rng=0)
    m(np.ones((1, 2))).sum().backward()
    g = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is g and not g.data.any()
    m.zero_grad()
    assert m.weight.grad is None


def test_zero_grad_set_to_none_false_detaches_a_gradient_with_a_graph_as_the_optimiser():
    """A .grad from backward(create_graph=True) carries a graph: Module.zero_grad, like
    Optimizer.zero_grad and PyTorch (which detaches it), leaves a detached zero gradient."""
    for zero in ("module", "optimizer"):
        m = nn.Linear(2, 1, rng=0)
        opt = tg.optim.SGD(m.parameters(), lr=0.1)
        (m(np.ones((1, 2))) ** 2).sum().backward(create_graph=True)
        assert m.weight.grad.grad_fn is not None
        (m if zero == "module" else opt).zero_grad(set_to_none=False)
        g = m.weight.grad
        assert g.grad_fn is None and not g.requires_grad
        np.testing.assert_array_equal(g.data, np.zeros((1, 2)))


# ------------------------------------------------------------------------------------------
# default dtype
# ------------------------------------------------------------------------------------------

@pytest.fixture
def float32_default():
    tg.set_default_dtype(np.float32)
    try:
        yield
    finally:
        tg.set_default_dtype(np.float64)


def test_layers_take_the_default_dtype(float32_default):
    layers = [nn.Linear(2, 3, rng=0), nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2),
              nn.BatchNorm1d(2), nn.LayerNorm(3), nn.Embedding(4, 2, rng=0),
              nn.UntiedConv2d((1, 4, 4), 3, 2, rng=0)]
    for layer in layers:
        for name, p in layer.named_parameters():
            assert p.dtype == np.float32, (layer, name)
    assert nn.BatchNorm2d(2).running_var.dtype == np.float32
    assert nn.Linear(2, 3, dtype=np.float64).weight.dtype == np.float64
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2), nn.ReLU(),
                          nn.Dropout(0.5, rng=0), nn.Flatten(), nn.Linear(8, 2, rng=0),
                          nn.LayerNorm(2))
    x = np.ones((3, 1, 4, 4), dtype=np.float32)
    assert model(x).dtype == np.float32
    assert model.eval()(x).dtype == np.float32


def test_the_default_dtype_is_read_when_the_layer_is_made():
    assert nn.Linear(2, 2, rng=0).weight.dtype == np.float64
    tg.set_default_dtype(np.float32)
    try:
        layer = nn.Linear(2, 2, rng=0)
    finally:
        tg.set_default_dtype(np.float64)
    assert layer.weight.dtype == np.float32


# ------------------------------------------------------------------------------------------
# Dropout
# ------------------------------------------------------------------------------------------

def test_dropout_zeroes_with_probability_p_and_scales_the_rest():
    drop = nn.Dropout(0.3, rng=0)
    x = tg.tensor(np.full((400, 250), 2.0), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01  # 100,000 draws: std 0.0015
    np.testing.assert_allclose(y.data[kept], 2.0 / 0.7, rtol=1e-15)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.7, rtol=1e-15)  # the same mask


def test_dropout_in_eval_mode_and_at_p_0_is_the_identity():
    x = tg.tensor(np.arange(5.0), requires_grad=True)
    assert nn.Dropout(0.5).eval()(x) is x
    assert nn.Dropout(0.0, rng=0)(x) is x
    y = nn.Dropout(1.0, rng=0)(x)
    assert not y.data.any()
    y.sum().backward()
    assert not x.grad.data.any()


def test_dropout_masks_follow_the_generator():
    x = np.ones(50)
    a, b = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7)
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)
    assert not np.array_equal(first, a(x).data)  # a seed makes one generator, advanced
    tg.manual_seed(3)
    c = nn.Dropout(0.5)(x).data
    tg.manual_seed(3)
    np.testing.assert_array_equal(c, nn.Dropout(0.5)(x).data)
    # the mask is rng.random(shape) < 1 - p, so a seed gives a known mask
    expected = (np.random.default_rng(11).random(50) < 0.5) * 2.0
    np.testing.assert_array_equal(nn.functional.dropout(x, 0.5, rng=11).data, expected)


def test_dropout_follows_train_and_eval_of_its_model():
    model = nn.Sequential(nn.Linear(4, 4, rng=0), nn.Dropout(0.5, rng=0))
    x = np.ones((8, 4))
    model.eval()
    np.testing.assert_array_equal(model(x).data, model[0](x).data)
    model.train()
    assert (model(x).data == 0).any()


def test_dropout_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match="Dropout: dropout probability has to be between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(TypeError, match="Dropout: rng must be"):
        nn.Dropout(0.5, rng="seed")
    with pytest.raises(TypeError, match="dropout: input must be floating point"):
        nn.Dropout(0.5, rng=0)(np.ones(3, dtype=np.int64))
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25, inplace=False)"


# ------------------------------------------------------------------------------------------
# BatchNorm
# ------------------------------------------------------------------------------------------

def test_batchnorm1d_hand_computed():
    bn = nn.BatchNorm1d(1)
    x = tg.tensor([[1.0], [3.0]], requires_grad=True)
    y = bn(x)
    close(y, np.array([[-1.0], [1.0]]) / np.sqrt(1 + 1e-5))
    # running: 0.9 * 0 + 0.1 * mean 2; 0.9 * 1 + 0.1 * unbiased variance 2
    close(bn.running_mean, [0.2])
    close(bn.running_var, [1.1])
    assert int(bn.num_batches_tracked.data) == 1
    # dy_i/dx_j = (delta_ij - 1/N - y_i y_j / N) / s with s = sqrt(var + eps), N = 2
    y.backward(np.array([[1.0], [0.0]]))
    s = np.sqrt(1 + 1e-5)
    y0, y1 = -1 / s, 1 / s
    close(x.grad, np.array([[0.5 - y0 * y0 / 2], [-0.5 - y0 * y1 / 2]]) / s)
    bn.eval()
    close(bn(np.array([[0.2], [1.2]])), np.array([[0.0], [1.0]]) / np.sqrt(1.1 + 1e-5))


def test_batchnorm_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((5, 2)) for _ in range(3)]
    for b in batches:
        bn(b)
    close(bn.running_mean, np.mean([b.mean(0) for b in batches], axis=0))
    close(bn.running_var, np.mean([b.var(0, ddof=1) for b in batches], axis=0))


def test_batchnorm_without_running_stats_uses_the_batch_in_eval():
    bn = nn.BatchNorm1d(2, track_running_stats=False, affine=False).eval()
    assert bn.running_mean is None and list(bn.state_dict()) == []
    x = np.array([[1.0, 10.0], [3.0, 20.0]])
    close(bn(x), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5))


@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                        ("BatchNorm2d", (4, 3, 5, 2))])
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_against_torch(torch, cls, shape, momentum):
    rng = np.random.default_rng(1)
    bn = getattr(nn, cls)(3, momentum=momentum, eps=1e-4)
    tbn = getattr(torch.nn, cls)(3, momentum=momentum, eps=1e-4, dtype=torch.float64)
    with tg.no_grad():
        bn.weight.copy_(rng.standard_normal(3))
        bn.bias.copy_(rng.standard_normal(3))
    to_torch(bn, tbn, torch)
    for _ in range(3):  # training steps: outputs, gradients and running statistics
        bn.zero_grad()
        tbn.zero_grad()
        x = rng.standard_normal(shape) * 3 + 1
        y, yt, gx, gxt = step_both(bn, tbn, x, torch, rng)
        close(y, yt)
        close(gx, gxt)
        grads_agree(bn, tbn)
    tsd = tbn.state_dict()
    assert list(bn.state_dict()) == list(tsd)
    for k, v in bn.state_dict().items():
        close(v, tsd[k].numpy())
    bn.eval()
    tbn.eval()
    bn.zero_grad()
    tbn.zero_grad()
    y, yt, gx, gxt = step_both(bn, tbn, rng.standard_normal(shape), torch, rng)
    close(y, yt)
    close(gx, gxt)
    grads_agree(bn, tbn)


def test_batchnorm_float32_against_torch(torch):
    rng = np.random.default_rng(2)
    bn = nn.BatchNorm2d(4, dtype=np.float32)
    tbn = torch.nn.BatchNorm2d(4)
    x = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    y = bn(x)
    assert y.dtype == np.float32 and bn.running_var.dtype == np.float32
    close(y, tbn(torch.from_numpy(x)).detach().numpy(), rel=1e-6)
    close(bn.running_var, tbn.running_var.numpy(), rel=1e-6)


def test_batchnorm_state_dict_loads_from_torch(torch):
    tbn = torch.nn.BatchNorm2d(2, dtype=torch.float64)
    tbn(torch.randn(5, 2, 3, 3, dtype=torch.float64) * 4)
    bn = nn.BatchNorm2d(2)
    bn.load_state_dict({k: v.numpy() for k, v in tbn.state_dict().items()})
    close(bn.running_mean, tbn.running_mean.numpy())
    assert int(bn.num_batches_tracked.data) == 1
    x = np.random.default_rng(0).standard_normal((3, 2, 2, 2))
    close(bn.eval()(x), tbn.eval()(torch.from_numpy(x)).detach().numpy())


def test_batchnorm_bad_input_names_the_layer():
    with pytest.raises(tg.ShapeError, match=r"BatchNorm2d: expected 4D input \(got 2D input"):
        nn.BatchNorm2d(3)(np.ones((2, 3)))
    with pytest.raises(tg.ShapeError, match="BatchNorm1d: expected 2D or 3D input"):
        nn.BatchNorm1d(3)(np.ones((2, 3, 4, 5)))
    with pytest.raises(tg.ShapeError, match="BatchNorm1d: expected 3 channels on axis 1"):
        nn.BatchNorm1d(3)(np.ones((2, 4)))
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="BatchNorm1d: .*more than 1 value per channel"):
        bn(np.ones((1, 3)))
    assert int(bn.num_batches_tracked.data) == 0  # a refused batch is not counted
    with pytest.raises(ValueError, match="BatchNorm2d: momentum must be"):
        nn.BatchNorm2d(3, momentum=2)
    with pytest.raises(ValueError, match="BatchNorm2d: num_features must be a positive int"):
        nn.BatchNorm2d(0)
    assert repr(nn.BatchNorm2d(3)) == ("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, "
                                       "track_running_stats=True)")


def test_batchnorm_eval_of_one_sample_uses_the_running_stats():
    bn = nn.BatchNorm1d(2).eval()
    close(bn(np.array([[3.0, -1.0]])), np.array([[3.0, -1.0]]) / np.sqrt(1 + 1e-5))


# ------------------------------------------------------------------------------------------
# LayerNorm
# ------------------------------------------------------------------------------------------

def test_layernorm_hand_computed():
    ln = nn.LayerNorm(4)
    x = tg.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    y = ln(x)
    close(y, (np.array([[1.0, 2.0, 3.0, 4.0]]) - 2.5) / np.sqrt(1.25 + 1e-5))
    y.sum().backward()  # the outputs sum to zero whatever x is: zero input gradient
    close(x.grad, np.zeros((1, 4)))
    close(ln.weight.grad, y.data[0])
    close(ln.bias.grad, np.ones(4))


@pytest.mark.parametrize("normalized_shape, shape", [(5, (3, 5)), ((2, 5), (3, 2, 5)),
                                                     ((4,), (2, 3, 4))])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, True)])
def test_layernorm_against_torch(torch, normalized_shape, shape, affine, bias):
    rng = np.random.default_rng(3)
    ln = nn.LayerNorm(normalized_shape, eps=1e-3, elementwise_affine=affine, bias=bias)
    tln = torch.nn.LayerNorm(normalized_shape, eps=1e-3, elementwise_affine=affine, bias=bias,
                             dtype=torch.float64)
    with tg.no_grad():
        for p in ln.parameters():
            p.copy_(rng.standard_normal(p.shape))
    to_torch(ln, tln, torch)
    for mode in ("train", "eval"):
        getattr(ln, mode)()
        getattr(tln, mode)()
        ln.zero_grad()
        tln.zero_grad()
        y, yt, gx, gxt = step_both(ln, tln, rng.standard_normal(shape) * 2, torch, rng)
        close(y, yt)
        close(gx, gxt)
        grads_agree(ln, tln)


def test_layernorm_bad_input_names_the_layer():
    with pytest.raises(tg.ShapeError, match=r"LayerNorm: layer_norm: normalized_shape=\(4,\) "
                                            r"expects an input of shape \(\*, 4\), got \(2, 3\)"):
        nn.LayerNorm(4)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be"):
        nn.LayerNorm((0, 2))
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"


# ------------------------------------------------------------------------------------------
# Embedding
# ------------------------------------------------------------------------------------------

def test_embedding_hand_computed():
    emb = nn.Embedding(4, 2, padding_idx=-1, rng=0)
    assert emb.padding_idx == 3 and not emb.weight.data[3].any()
    with tg.no_grad():
        emb.weight.copy_(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]))
    idx = np.array([[1, 1], [3, 0]])
    y = emb(idx)
    np.testing.assert_array_equal(y.data, [[[2, 3], [2, 3]], [[6, 7], [0, 1]]])
    y.backward(np.arange(8.0).reshape(2, 2, 2))
    # row 1 picked twice: its gradient is the sum; row 3 is the padding row: none
    np.testing.assert_array_equal(emb.weight.grad.data, [[6, 7], [2, 4], [0, 0], [0, 0]])


def test_embedding_against_torch(torch):
    rng = np.random.default_rng(4)
    emb = nn.Embedding(6, 3, padding_idx=2, rng=0)
    temb = torch.nn.Embedding(6, 3, padding_idx=2, dtype=torch.float64)
    to_torch(emb, temb, torch)
    idx = rng.integers(0, 6, size=(4, 5))
    y, yt = emb(idx), temb(torch.from_numpy(idx))
    close(y, yt.detach().numpy())
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    close(emb.weight.grad, temb.weight.grad.numpy())


def test_embedding_initial_values_are_standard_normal():
    w = nn.Embedding(1000, 50, rng=0).weight.data
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02  # 50,000 draws
    np.testing.assert_array_equal(w, np.random.default_rng(0).standard_normal((1000, 50)))


def test_embedding_bad_input_names_the_layer():
    emb = nn.Embedding(5, 2, rng=0)
    with pytest.raises(IndexError, match=r"Embedding\(5, 2\): embedding: index out of range"):
        emb(np.array([0, 5]))
    with pytest.raises(TypeError, match=r"Embedding\(5, 2\): embedding: input must hold integer"):
        emb(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be an int in \[-5, 5\)"):
        nn.Embedding(5, 2, padding_idx=5)
    assert repr(nn.Embedding(5, 2, padding_idx=1)) == "Embedding(5, 2, padding_idx=1)"


# ------------------------------------------------------------------------------------------
# Identity and containers
# ------------------------------------------------------------------------------------------

def test_identity_ignores_its_arguments():
    x = tg.tensor([1.0])
    assert nn.Identity(54, unused="x")(x) is x


def test_modulelist_registers_and_renumbers():
    layers = nn.ModuleList([nn.Linear(2, 2, rng=i) for i in range(3)])
    assert [n for n, _ in layers.named_parameters()][::2] == ["0.weight", "1.weight", "2.weight"]
    first = layers[0]
    layers.insert(0, nn.ReLU())
    assert isinstance(layers[0], nn.ReLU) and layers[1] is first
    del layers[0]
    assert layers[0] is first and len(layers) == 3
    layers += [nn.Tanh()]
    layers.append(nn.Sigmoid())
    assert [type(m).__name__ for m in layers] == ["Linear", "Linear", "Linear", "Tanh", "Sigmoid"]
    assert isinstance(layers[-2:], nn.ModuleList) and len(layers[-2:]) == 2
    layers[3] = nn.ReLU()
    assert isinstance(layers[3], nn.ReLU)
    assert list(layers._modules) == ["0", "1", "2", "3", "4"]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2, rng=0), nn.Linear(2, 1, rng=1)])

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return x

    net = Net()
    assert list(net.state_dict()) == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                                      "blocks.1.bias"]
    assert net(np.ones((3, 2))).shape == (3, 1)
    with pytest.raises(TypeError, match="ModuleList: every element must be a Module"):
        nn.ModuleList([nn.ReLU(), "relu"])
    with pytest.raises(IndexError, match="ModuleList index 5 is out of range for 2 modules"):
        net.blocks[5]
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        net.blocks(np.ones(2))


def test_moduledict_registers_by_key():
    heads = nn.ModuleDict({"a": nn.Linear(2, 1, rng=0)})
    heads["b"] = nn.Linear(2, 3, rng=1)
    heads.update([("c", nn.ReLU())])
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert isinstance(heads.pop("c"), nn.ReLU) and list(heads.keys()) == ["a", "b"]
    assert [type(m).__name__ for m in heads.values()] == ["Linear", "Linear"]
    del heads["a"]
    assert [k for k, _ in heads.items()] == ["b"]
    with pytest.raises(KeyError, match="ModuleDict has no module 'z'"):
        heads["z"]
    with pytest.raises(TypeError, match="ModuleDict: the value of 'x' must be a Module"):
        heads["x"] = 3
    with pytest.raises(KeyError, match="without '.'"):
        heads["x.y"] = nn.ReLU()
    heads.clear()
    assert len(heads) == 0


def test_containers_state_dicts_match_torch(torch):
    model = nn.ModuleDict(OrderedDict(
        body=nn.ModuleList([nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2)]),
        head=nn.Sequential(nn.Flatten(), nn.Linear(8, 2, rng=0), nn.LayerNorm(2)),
        emb=nn.Embedding(3, 2, rng=0)))
    tmodel = torch.nn.ModuleDict(OrderedDict(
        body=torch.nn.ModuleList([torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)]),
        head=torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 2),
                                 torch.nn.LayerNorm(2)),
        emb=torch.nn.Embedding(3, 2))).double()
    assert list(model.state_dict()) == list(tmodel.state_dict())
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in tmodel.named_parameters()]
    assert [n for n, _ in model.named_buffers()] == [n for n, _ in tmodel.named_buffers()]
    to_torch(model, tmodel, torch)


# ------------------------------------------------------------------------------------------
# a PyTorch-style model, written once for both libraries
# ------------------------------------------------------------------------------------------

def _pytorch_style_net(nn, F):
    """A small CNN as a PyTorch user writes it; ``nn`` and ``F`` are torch's or tensorgrad's."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 8, 3)
            self.drop = nn.Dropout(0.25)
            self.fc1 = nn.Linear(8 * 2 * 2, 16)
            self.ln = nn.LayerNorm(16)
            self.fc2 = nn.Linear(16, 10)
            self.emb = nn.Embedding(10, 4)  # unused by forward: in the state dict only

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
            x = self.drop(F.relu(self.conv2(x)))
            x = x.reshape(x.shape[0], -1)
            x = F.relu(self.ln(self.fc1(x)))
            return self.fc2(x)

    return Net()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_pytorch_style_cnn_matches_torch(torch, dtype):
    import torch.nn.functional as TF
    tg.set_default_dtype(dtype)
    try:
        model = _pytorch_style_net(nn, nn.functional)
    finally:
        tg.set_default_dtype(np.float64)
    tmodel = _pytorch_style_net(torch.nn, TF)
    if dtype == np.float64:
        tmodel = tmodel.double()
    to_torch(model, tmodel, torch)
    assert all(p.dtype == dtype for p in model.parameters())
    rel = 1e-12 if dtype == np.float64 else 1e-5
    rng = np.random.default_rng(0)
    model.drop.eval()  # the same masks cannot be drawn: dropout off, batch norm training
    tmodel.drop.eval()
    for _ in range(2):
        x = rng.standard_normal((6, 1, 8, 8)).astype(dtype)
        y = rng.integers(0, 10, size=6)
        model.zero_grad()
        tmodel.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        tloss = TF.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
        assert loss.dtype == dtype
        loss.backward()
        tloss.backward()
        close(loss, tloss.item(), rel)
        grads_agree(model, tmodel, rel)
    tsd = tmodel.state_dict()
    for k, v in model.state_dict().items():
        close(v, tsd[k].numpy(), rel)
    model.eval()
    tmodel.eval()
    x = rng.standard_normal((3, 1, 8, 8)).astype(dtype)
    close(model(x), tmodel(torch.from_numpy(x)).detach().numpy(), rel)


# ------------------------------------------------------------------------------------------
# activation modules, Module.to / float / double
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, args", [("ReLU", ()), ("ReLU", (True,)), ("LeakyReLU", (0.2,)),
                                       ("ELU", (0.7,)), ("SiLU", ()), ("Softplus", (2.0, 3.0))])
def test_activation_modules_against_torch(torch, cls, args):
    rng = np.random.default_rng(5)
    x = np.array([-40.0, -2.0, -0.3, 0.0, 0.3, 2.0, 40.0])
    m, tm = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    xt, xtt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = m(xt), tm(xtt.clone() if args == (True,) else xtt)  # torch's inplace needs a copy
    close(y, yt.detach().numpy())
    g = rng.standard_normal(x.shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    close(xt.grad, xtt.grad.numpy())
    assert repr(m) == repr(tm)


def test_activation_modules_by_hand():
    x = np.array([-1.0, 0.0, 2.0])
    close(nn.LeakyReLU(0.5)(x), [-0.5, 0.0, 2.0])
    close(nn.ELU()(x), [np.exp(-1) - 1, 0.0, 2.0])
    close(nn.SiLU()(x), x / (1 + np.exp(-x)))
    close(nn.Softplus()(x), np.log1p(np.exp(x)))
    close(nn.ReLU(inplace=True)(x), [0.0, 0.0, 2.0])
    with pytest.raises(TypeError, match="LeakyReLU: negative_slope must be a real number"):
        nn.LeakyReLU("0.1")
    with pytest.raises(ValueError, match="Softplus: beta must be non-zero"):
        nn.Softplus(0)


def test_module_to_casts_parameters_and_buffers_in_place():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3))
    w = model[0].weight
    model(np.ones((4, 2))).sum().backward()
    assert model.float() is model
    assert model[0].weight is w and w.dtype == np.float32 and w.grad.dtype == np.float32
    assert model[1].running_var.dtype == np.float32
    assert model[1].num_batches_tracked.dtype == np.int64  # integer buffers stay
    assert model(np.ones((4, 2), dtype=np.float32)).dtype == np.float32
    model.to("cpu", dtype=np.float64)
    assert w.dtype == np.float64 and model.double().cpu() is model
    assert model.to("cpu") is model and w.dtype == np.float64
    with pytest.raises(ValueError, match="to: tensorgrad runs on the CPU only, got device 'cuda:0'"):
        model.to("cuda:0")
    with pytest.raises(TypeError, match="to: the dtype must be floating"):
        model.to(np.int32)
