"""tg.nn.init (PyTorch's initialisers: gains, fans, the distributions' parameters, in-place
writes on Parameters) and tg.nn.utils' gradient clipping, against torch's formulas."""
import math

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn
from tensorgrad.nn import init

SHAPES = [(3, 4), (5, 2, 3, 3), (2, 3, 4), (7, 1)]


# -- gains and fans --------------------------------------------------------------------------

def test_gains_hand_computed():
    assert init.calculate_gain("linear") == 1 == init.calculate_gain("conv2d")
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")


@pytest.mark.parametrize("name, param", [("linear", None), ("conv_transpose2d", None),
                                         ("sigmoid", None), ("tanh", None), ("relu", None),
                                         ("leaky_relu", None), ("leaky_relu", 0.3),
                                         ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_gains_against_torch(torch, name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_against_torch(torch, shape):
    t = tg.tensor(np.zeros(shape))
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    assert init._calculate_fan_in_and_fan_out(t, "test") == expected


# -- the distributions -------------------------------------------------------------------------

def _draws(kind, a, b, shape, seed=0):
    gen = np.random.default_rng(seed)
    return gen.uniform(a, b, size=shape) if kind == "uniform" else gen.normal(a, b, size=shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_each_initialiser_draws_pytorchs_distribution(shape):
    """The same draws as NumPy's with the parameters of PyTorch's formulas."""
    fan_in = shape[1] * math.prod(shape[2:])
    fan_out = shape[0] * math.prod(shape[2:])
    t = nn.Parameter(np.zeros(shape))
    gain = 1.7
    cases = [
        (lambda: init.uniform_(t, -0.5, 2.0, rng=0), "uniform", -0.5, 2.0),
        (lambda: init.normal_(t, 1.0, 0.3, rng=0), "normal", 1.0, 0.3),
        (lambda: init.xavier_uniform_(t, gain, rng=0), "uniform",
         -gain * math.sqrt(6 / (fan_in + fan_out)), gain * math.sqrt(6 / (fan_in + fan_out))),
        (lambda: init.xavier_normal_(t, gain, rng=0), "normal", 0.0,
         gain * math.sqrt(2 / (fan_in + fan_out))),
        (lambda: init.kaiming_uniform_(t, rng=0), "uniform",  # a = 0: leaky_relu's gain sqrt(2)
         -math.sqrt(3) * math.sqrt(2) / math.sqrt(fan_in),
         math.sqrt(3) * math.sqrt(2) / math.sqrt(fan_in)),
        (lambda: init.kaiming_uniform_(t, a=0.5, rng=0), "uniform",
         -math.sqrt(3) * math.sqrt(2 / 1.25) / math.sqrt(fan_in),
         math.sqrt(3) * math.sqrt(2 / 1.25) / math.sqrt(fan_in)),
        (lambda: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", rng=0), "normal",
         0.0, math.sqrt(2) / math.sqrt(fan_out)),
    ]
    for fill, kind, a, b in cases:
        assert fill() is t
        np.testing.assert_allclose(t.data, _draws(kind, a, b, shape), rtol=1e-14, atol=1e-15)


def test_kaiming_uniform_with_a_sqrt5_is_the_default_layer_bound():
    w = nn.Parameter(np.zeros((64, 40)))
    init.kaiming_uniform_(w, a=math.sqrt(5), rng=0)
    bound = 1 / math.sqrt(40)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.95 * bound


def test_initialisers_against_torchs_statistics(torch):
    """Large tensors: the sample std of ours and of torch's agree with the formula's."""
    shape = (300, 200, 3)
    cases = [("xavier_uniform_", {}), ("xavier_normal_", {"gain": 2.0}),
             ("kaiming_uniform_", {"nonlinearity": "relu"}),
             ("kaiming_normal_", {"mode": "fan_out", "a": 0.1})]
    for name, kwargs in cases:
        ours = getattr(init, name)(tg.tensor(np.zeros(shape)), rng=0, **kwargs).data.std()
        theirs = getattr(torch.nn.init, name)(torch.zeros(shape, dtype=torch.float64),
                                              **kwargs).std().item()
        assert ours == pytest.approx(theirs, rel=0.01), name  # 180,000 draws: 0.2% each


def test_constants():
    w = nn.Parameter(np.ones((2, 3), dtype=np.float32))
    assert init.zeros_(w) is w and not w.data.any() and w.dtype == np.float32
    init.ones_(w)
    np.testing.assert_array_equal(w.data, np.ones((2, 3)))
    init.constant_(w, 0.25)
    np.testing.assert_array_equal(w.data, np.full((2, 3), 0.25))


def test_init_writes_in_place_through_the_versioned_path():
    layer = nn.Linear(3, 2, rng=0)
    w = layer.weight
    before = w._version
    init.normal_(w, rng=1)  # a Parameter that requires grad, outside no_grad: allowed
    assert layer.weight is w and w.requires_grad and w._version == before + 1
    # a graph that saved the old value refuses the backward, as PyTorch
    x = tg.tensor(np.ones((1, 3)), requires_grad=True)
    y = (layer(x) * layer(x)).sum()
    init.zeros_(layer.bias)
    init.ones_(w)
    with pytest.raises(tg.BackwardError, match="modified by an in-place operation"):
        y.backward()


def test_init_uses_the_default_generator_without_rng():
    tg.manual_seed(5)
    a = init.normal_(tg.tensor(np.zeros(4))).data.copy()
    tg.manual_seed(5)
    np.testing.assert_array_equal(init.normal_(tg.tensor(np.zeros(4))).data, a)
    w = nn.Parameter(np.zeros((2, 3), dtype=np.float32))
    init.xavier_uniform_(w, rng=0)
    assert w.dtype == np.float32


def test_init_errors_name_the_function():
    with pytest.raises(ValueError, match="xavier_uniform_: fan in and fan out cannot be computed "
                                         r"for a tensor with fewer than 2 dimensions \(got shape \(3,\)\)"):
        init.xavier_uniform_(tg.tensor(np.zeros(3)))
    with pytest.raises(TypeError, match="normal_: expected a Tensor"):
        init.normal_(np.zeros(3))
    with pytest.raises(TypeError, match="zeros_: the tensor must be floating point"):
        init.zeros_(tg.tensor(np.zeros(3, dtype=np.int64)))
    with pytest.raises(ValueError, match="kaiming_normal_: mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(tg.tensor(np.zeros((2, 2))), mode="fan")
    with pytest.raises(TypeError, match="uniform_: rng must be"):
        init.uniform_(tg.tensor(np.zeros(2)), rng=1.5)
    for bad in ("a", None, [1.0, 2.0], 1 + 2j):
        with pytest.raises(TypeError, match=rf"^constant_: val must be a real number, got "
                                            rf"{type(bad).__name__}"):
            init.constant_(tg.tensor(np.zeros(2)), bad)
    np.testing.assert_array_equal(init.constant_(tg.tensor(np.zeros(2)), np.float32(2)).data, 2)
    empty = tg.tensor(np.zeros((0, 3)))
    assert init.kaiming_uniform_(empty) is empty  # PyTorch's no-op


# -- clip_grad_norm_, clip_grad_value_ -------------------------------------------------------

def _with_grads(grads):
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros_like(g))
        p.grad = tg.tensor(g.copy())
        params.append(p)
    return params


def test_clip_grad_norm_hand_computed():
    p, q = _with_grads([np.array([3.0]), np.array([[4.0]])])
    total = nn.utils.clip_grad_norm_([p, q], max_norm=1.0)
    assert isinstance(total, tg.Tensor) and total.shape == () and float(total) == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(p.grad.data, [3 * coef], rtol=1e-15)
    np.testing.assert_allclose(q.grad.data, [[4 * coef]], rtol=1e-15)
    r, = _with_grads([np.array([0.3, -0.4])])
    assert float(nn.utils.clip_grad_norm_(r, 10.0)) == pytest.approx(0.5, rel=1e-15)
    np.testing.assert_array_equal(r.grad.data, [0.3, -0.4])  # factor clamped to 1
    s, t = _with_grads([np.array([1.0, -7.0]), np.array([2.0])])
    assert float(nn.utils.clip_grad_norm_(iter([s, t]), 3.5, norm_type=math.inf)) == 7.0
    np.testing.assert_allclose(s.grad.data, np.array([1.0, -7.0]) * 3.5 / (7 + 1e-6), rtol=1e-15)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_against_torch(torch, norm_type, max_norm):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2, 3)]]
    params = _with_grads(grads) + [nn.Parameter(np.zeros(2))]  # the last has no grad
    tparams = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for tp, g in zip(tparams, grads):
        tp.grad = torch.from_numpy(g.copy())
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    assert float(total) == pytest.approx(ttotal.item(), rel=1e-13)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_clip_grad_norm_edge_cases():
    assert float(nn.utils.clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0)) == 0.0
    p, = _with_grads([np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type must be positive"):
        nn.utils.clip_grad_norm_(p, 1.0, norm_type=0)
    with pytest.raises(TypeError, match=r"clip_grad_norm_: parameters\[1\] must be a Tensor"):
        nn.utils.clip_grad_norm_([p, np.ones(2)], 1.0)
    q, = _with_grads([np.array([3.0, 4.0], dtype=np.float32)])
    total = nn.utils.clip_grad_norm_(q, 1.0)
    assert total.dtype == np.float32 and q.grad.dtype == np.float32


def test_clip_grad_value():
    p, q = _with_grads([np.array([-3.0, 0.5, 2.0]), np.array([[0.1, -0.2]])])
    assert nn.utils.clip_grad_value_([p, q], 1.0) is None
    np.testing.assert_array_equal(p.grad.data, [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(q.grad.data, [[0.1, -0.2]])
    with pytest.raises(TypeError, match="clip_grad_value_: clip_value must be a number"):
        nn.utils.clip_grad_value_(p, "1")


def test_clipping_inside_a_training_step():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 1, rng=1))
    loss = (model(np.ones((5, 3)) * 10) ** 2).sum()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    total = math.sqrt(sum(float((p.grad.data ** 2).sum()) for p in model.parameters()))
    assert total == pytest.approx(0.1, rel=1e-5)
