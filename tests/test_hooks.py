"""Tensor and module hooks against PyTorch's documented behaviour, and the warning on reading
``.grad`` of a non-leaf."""
import warnings

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn

try:
    import torch
except ImportError:  # the comparisons with PyTorch are skipped; hand-computed values remain
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


# -- Tensor.register_hook ----------------------------------------------------------------------

def test_a_hook_that_doubles_the_gradient_doubles_grad_and_removal_restores_it():
    x = tg.tensor([1.0, -2.0, 0.5], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.data.copy()) or g * 2)
    (x * x).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, -4.0, 1.0])  # called with d/dx sum(x^2)
    np.testing.assert_array_equal(x.grad.data, [4.0, -8.0, 2.0])
    handle.remove()
    handle.remove()  # a second removal does nothing
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, -4.0, 1.0])
    assert len(seen) == 1


def test_a_hook_sees_the_total_gradient_once_and_returning_none_keeps_it():
    x = tg.tensor([3.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(float(g.data[0])))
    (x * 2 + x * 5).sum().backward()  # two uses, one call with the sum
    assert calls == [7.0]
    assert x.grad.data[0] == 7.0


def test_hooks_run_in_registration_order_each_on_the_previous_result():
    x = tg.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g + 1)
    x.register_hook(lambda g: g * 10)
    x.sum().backward()
    assert x.grad.data[0] == 20.0  # (1 + 1) * 10


def test_a_hook_on_a_non_leaf_changes_what_flows_to_its_inputs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.register_hook(lambda g: g * 0.5)
    (h * h).sum().backward()  # d/dh = 2h = [6, 12], halved, times 3
    np.testing.assert_allclose(x.grad.data, [9.0, 18.0], rtol=1e-15)


def test_retain_grad_stores_the_gradient_after_the_hooks():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 2).retain_grad()
    h.register_hook(lambda g: g + 1)
    (h * h).sum().backward()  # 2h + 1 = [5, 9]
    np.testing.assert_array_equal(h.grad.data, [5.0, 9.0])
    np.testing.assert_array_equal(x.grad.data, [10.0, 18.0])


def test_the_roots_hook_sees_the_seed_and_grad_runs_the_inputs_hooks():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seeds = []
    y.register_hook(lambda g: seeds.append(g.data.copy()) or g * 10)
    y.backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(seeds[0], [1.0, -1.0])
    np.testing.assert_array_equal(x.grad.data, [30.0, -30.0])
    z = tg.tensor([1.0, 2.0], requires_grad=True)
    z.register_hook(lambda g: g * 2)
    (gz,) = tg.grad((z * 3).sum(), z)  # PyTorch runs the hooks before handing the gradient out
    np.testing.assert_array_equal(gz.data, [6.0, 6.0])
    assert z.grad is None


def test_a_hook_returning_a_wrong_shape_raises_naming_it():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: np.ones(3))
    with pytest.raises(tg.BackwardError, match=r"shape \(3,\).*expected.*\(2,\)"):
        x.sum().backward()


def test_register_hook_refuses_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tg.tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="callable"):
        tg.tensor([1.0], requires_grad=True).register_hook(3)


def test_hooks_under_create_graph_receive_tensors_of_the_graph():
    x = tg.tensor([2.0], requires_grad=True)
    x.register_hook(lambda g: g * x)  # the replacement depends on x: differentiable
    (gx,) = tg.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.data, [3 * 4.0 * 2.0])  # 3 x^2 * x = 3 x^3
    (ggx,) = tg.grad(gx.sum(), x)
    np.testing.assert_allclose(ggx.data, [9 * 4.0 * 2.0])  # hook runs again: 9 x^2 * x


@needs_torch
def test_tensor_hooks_match_pytorch():
    data = np.array([0.3, -1.2, 2.0])
    x, xt = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    for t, lib in ((x, tg), (xt, torch)):
        h = lib.tanh(t) * 2
        h.retain_grad()
        h.register_hook(lambda g: g * g)
        t.register_hook(lambda g: g - 1)
        (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-14)
    assert x.grad.data.tolist() != [0.0, 0.0, 0.0]


# -- .grad of a non-leaf -----------------------------------------------------------------------

def test_reading_grad_of_a_non_leaf_warns_as_pytorch_does():
    x = tg.tensor([1.0], requires_grad=True)
    h = x * 2
    h.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):
        assert h.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is not None  # a leaf: no warning
        kept = (x * 2).retain_grad()
        kept.sum().backward()
        assert kept.grad.data[0] == 1.0
        assert tg.tensor([1.0]).grad is None


# -- module hooks --------------------------------------------------------------------------------

def test_a_forward_hook_sees_the_arguments_and_output_and_may_replace_it():
    m = nn.Linear(3, 2, rng=0)
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    seen = []
    handle = m.register_forward_hook(lambda mod, args, out: seen.append((mod, args, out)))
    y = m(x)
    (mod, args, out), = seen
    assert mod is m and args[0] is x and out is y
    np.testing.assert_allclose(y.data, x.data @ m.weight.data.T + m.bias.data, rtol=1e-14)
    handle.remove()
    with m.register_forward_hook(lambda mod, args, out: out * 0):
        assert not m(x).data.any()
    assert m(x).data.any()  # removed on leaving the block
    assert len(seen) == 1


def test_full_backward_hook_sees_hand_computed_gradients_of_inputs_and_outputs():
    m = nn.Linear(3, 2, rng=0)
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    dy = np.array([[1.0, -1.0], [0.5, 2.0]])
    m(x).backward(dy)
    (gi, go), = seen
    assert len(gi) == 1 and len(go) == 1
    np.testing.assert_array_equal(go[0].data, dy)
    np.testing.assert_allclose(gi[0].data, dy @ m.weight.data, rtol=1e-14)
    np.testing.assert_allclose(x.grad.data, dy @ m.weight.data, rtol=1e-14)
    np.testing.assert_allclose(m.weight.grad.data, dy.T @ x.data, rtol=1e-14)


def test_full_backward_hook_replaces_grad_input():
    m = nn.Tanh()
    x = tg.tensor([0.5, -0.25], requires_grad=True)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 3,))
    m(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * (1 - np.tanh(x.data) ** 2), rtol=1e-15)


def test_full_backward_hook_without_inputs_requiring_grad_gets_none():
    m = nn.Linear(2, 1, rng=0)
    seen = []
    handle = m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    m(np.ones((3, 2))).sum().backward()
    (gi, go), = seen
    assert gi == (None,)
    assert go[0].shape == (3, 1)
    handle.remove()
    m(np.ones((3, 2))).sum().backward()
    assert len(seen) == 1


def test_full_backward_hook_in_a_sequential_sees_each_layers_shapes():
    model = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Sigmoid(), nn.Linear(3, 2, rng=1))
    shapes = []
    for name, mod in model.named_children():
        mod.register_full_backward_hook(
            lambda mod, gi, go, name=name: shapes.append((name, gi[0].shape, go[0].shape)))
    x = tg.tensor(np.ones((5, 4)), requires_grad=True)
    model(x).sum().backward()
    assert shapes == [("2", (5, 3), (5, 2)), ("1", (5, 3), (5, 3)), ("0", (5, 4), (5, 3))]


def test_full_backward_hook_runs_again_on_a_retained_graph():
    m = nn.Sigmoid()
    x = tg.tensor([0.0], requires_grad=True)
    calls = []
    m.register_full_backward_hook(lambda mod, gi, go: calls.append(float(gi[0].data[0])))
    y = m(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert calls == [0.25, 0.25]


def test_a_backward_hook_returning_the_wrong_length_raises():
    m = nn.Tanh()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(tg.BackwardError, match="tuple of 1 gradient"):
        m(tg.tensor([1.0], requires_grad=True)).sum().backward()


@needs_torch
def test_module_hooks_match_pytorch():
    rng = np.random.default_rng(0)
    w, b, xd = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(2, 4))
    ours, theirs = [], []
    m = nn.Linear(4, 3, rng=0)
    m.weight.data[...], m.bias.data[...] = w, b
    mt = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        mt.weight.copy_(torch.tensor(w))
        mt.bias.copy_(torch.tensor(b))
    x, xt = tg.tensor(xd, requires_grad=True), torch.tensor(xd, requires_grad=True)
    for mod, inp, log, lib in ((m, x, ours, tg), (mt, xt, theirs, torch)):
        mod.register_forward_hook(lambda mod, a, out, lib=lib: lib.tanh(out))
        mod.register_full_backward_hook(
            lambda mod, gi, go, log=log: log.append((gi[0].detach().numpy().copy(),
                                                     go[0].detach().numpy().copy())) or (gi[0] * 2,))
        (mod(inp) ** 2).sum().backward()
    np.testing.assert_allclose(ours[0][1], theirs[0][1], rtol=1e-13)
    np.testing.assert_allclose(ours[0][0], theirs[0][0], rtol=1e-13)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(m.weight.grad.data, mt.weight.grad.numpy(), rtol=1e-13)
