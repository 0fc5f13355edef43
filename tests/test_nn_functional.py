"""tg.nn.functional: PyTorch's names and signatures; the composites (dropout, batch_norm,
layer_norm, embedding, pad, activations) by gradcheck, by hand and against torch."""
import warnings

import numpy as np
import pytest
from nn_checks import close
from test_bad_input import BAD_ARRAYS, BAD_PARAMS, CLEAR

import tensorgrad as tg
import tensorgrad.nn.functional as F


def both(fn, tfn, x, torch, rng, *extra):
    """fn(x, *extra) and tfn on torch copies: values and the gradients of every input."""
    xs = [tg.tensor(a, requires_grad=True) for a in (x, *extra)]
    ts = [torch.tensor(a, requires_grad=True) for a in (x, *extra)]
    y, yt = fn(*xs), tfn(*ts)
    close(y, yt.detach().numpy())
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    for a, at in zip(xs, ts):
        close(a.grad, at.grad.numpy())


def test_the_names_are_pytorchs(torch):
    import torch.nn.functional as TF
    for name in F.__all__:
        assert hasattr(TF, name), name
    for name in ("relu", "sigmoid", "tanh", "conv2d", "conv_transpose2d", "max_pool2d",
                 "avg_pool2d", "binary_cross_entropy", "binary_cross_entropy_with_logits"):
        assert getattr(F, name) is getattr(tg, name)
    assert F.mse_loss is tg.mse_loss and F.cross_entropy is tg.cross_entropy
    assert tg.nn.functional is F


# -- activations -----------------------------------------------------------------------------

X = np.array([-800.0, -30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 25.0, 800.0])


@pytest.mark.parametrize("name, kwargs", [
    ("relu", {}), ("sigmoid", {}), ("tanh", {}), ("silu", {}),
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {}), ("elu", {"alpha": 0.5}),
    ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 5.0}),
])
def test_activations_against_torch(torch, name, kwargs):
    import torch.nn.functional as TF
    both(lambda x: getattr(F, name)(x, **kwargs), lambda x: getattr(TF, name)(x, **kwargs),
         X, torch, np.random.default_rng(0))


def test_activations_hand_computed():
    x = np.array([-2.0, 0.0, 3.0])
    close(F.leaky_relu(x, 0.1), [-0.2, 0.0, 3.0])
    close(F.elu(x), [np.exp(-2.0) - 1, 0.0, 3.0])
    close(F.silu(x), x / (1 + np.exp(-x)))
    close(F.softplus(x), np.log1p(np.exp(x)))
    close(F.softplus(np.array([30.0, -800.0])), [30.0, 0.0])  # threshold; no overflow
    t = tg.tensor([0.0], requires_grad=True)
    F.softplus(t).backward(np.ones(1))
    close(t.grad, [0.5])


@pytest.mark.parametrize("fn", [F.leaky_relu, F.elu, F.silu, F.softplus])
def test_activations_gradcheck(fn):
    x = tg.tensor(np.array([-3.0, -0.7, 0.4, 2.5]), requires_grad=True)
    assert tg.gradcheck(fn, [x])
    assert tg.gradgradcheck(fn, [x])


# -- softmax, linear ---------------------------------------------------------------------------

def test_softmax_takes_dim_and_dtype(torch):
    import torch.nn.functional as TF
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 2))
    for dim in (0, 1, -1):
        both(lambda a, d=dim: F.softmax(a, dim=d), lambda a, d=dim: TF.softmax(a, dim=d), x,
             torch, rng)
        both(lambda a, d=dim: F.log_softmax(a, d), lambda a, d=dim: TF.log_softmax(a, d), x,
             torch, rng)
    y = F.softmax(x.astype(np.float32), dim=1, dtype=np.float64)
    assert y.dtype == np.float64
    close(y, TF.softmax(torch.from_numpy(x.astype(np.float32)), dim=1,
                        dtype=torch.float64).numpy())


def test_softmax_without_dim_warns_and_uses_pytorchs_choice():
    x = np.arange(6.0).reshape(2, 3)
    with pytest.warns(UserWarning, match="softmax: implicit dimension choice is deprecated"):
        y = F.softmax(x)
    close(y, tg.softmax(x, axis=1).data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(x, 0)


def test_linear_against_torch(torch):
    import torch.nn.functional as TF
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    both(F.linear, TF.linear, x, torch, rng, w, b)
    both(F.linear, TF.linear, x, torch, rng, w)
    with pytest.raises(tg.ShapeError, match=r"linear: bias must have shape \(4,\)"):
        F.linear(x, w, np.ones(3))


def test_conv2d_takes_pytorchs_call(torch):
    import torch.nn.functional as TF
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    both(lambda a, k, c: F.conv2d(a, k, c, stride=2, padding=1),
         lambda a, k, c: TF.conv2d(a, k, c, stride=2, padding=1), x, torch, rng, w, b)


# -- dropout -----------------------------------------------------------------------------------

def test_dropout_functional():
    x = tg.tensor(np.ones((20, 20)), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    y = F.dropout(x, 0.25, rng=0)
    expected = (np.random.default_rng(0).random((20, 20)) < 0.75) / 0.75
    close(y, expected)
    z = tg.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert tg.gradcheck(lambda a: F.dropout(a, 0.4, rng=3), [z])  # a seed: the same mask
    with pytest.raises(ValueError, match="dropout: dropout probability has to be between 0 and 1, "
                                         "but got -0.1"):
        F.dropout(x, -0.1)


# -- batch_norm --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (3, 3, 2, 4)])
def test_batch_norm_functional_against_torch(torch, shape):
    import torch.nn.functional as TF
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape) * 2 - 1
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    # training, running statistics as a Tensor and as an ndarray: updated in place
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    grm, grv = tg.tensor(rm.copy()), rv.copy()
    both(lambda a, c, d: F.batch_norm(a, grm, grv, c, d, training=True, momentum=0.2, eps=1e-3),
         lambda a, c, d: TF.batch_norm(a, trm, trv, c, d, training=True, momentum=0.2, eps=1e-3),
         x, torch, rng, w, b)
    close(grm, trm.numpy())
    close(grv, trv.numpy())
    # eval
    both(lambda a, c, d: F.batch_norm(a, rm, rv, c, d, eps=1e-3),
         lambda a, c, d: TF.batch_norm(a, torch.tensor(rm), torch.tensor(rv), c, d, eps=1e-3),
         x, torch, rng, w, b)


def test_batch_norm_gradcheck():
    rng = np.random.default_rng(5)
    x = tg.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    w = tg.tensor(rng.standard_normal(2), requires_grad=True)
    b = tg.tensor(rng.standard_normal(2), requires_grad=True)
    assert tg.gradcheck(lambda a, c, d: F.batch_norm(a, None, None, c, d, training=True),
                        [x, w, b])
    rm, rv = rng.standard_normal(2), rng.random(2) + 0.5
    assert tg.gradcheck(lambda a, c, d: F.batch_norm(a, rm, rv, c, d), [x, w, b])
    assert tg.gradgradcheck(lambda a, c, d: F.batch_norm(a, None, None, c, d, training=True),
                            [x, w, b])


def test_batch_norm_records_the_running_update_as_a_version():
    rm = tg.tensor(np.zeros(2))
    before = rm._version
    F.batch_norm(np.array([[1.0, 2.0], [3.0, 6.0]]), rm, None, training=True)
    close(rm, [0.2, 0.4])
    assert rm._version == before + 1


def test_batch_norm_errors():
    with pytest.raises(tg.ShapeError, match=r"batch_norm: running_mean must have shape \(3,\)"):
        F.batch_norm(np.ones((2, 3)), np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="batch_norm: running_mean and running_var are required"):
        F.batch_norm(np.ones((2, 3)), None, None)
    with pytest.raises(tg.ShapeError, match=r"batch_norm: expected an input of shape \(N, C, \.\.\.\)"):
        F.batch_norm(np.ones(3), None, None, training=True)


# -- layer_norm --------------------------------------------------------------------------------

def test_layer_norm_functional_against_torch(torch):
    import torch.nn.functional as TF
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    both(lambda a, c, d: F.layer_norm(a, (3, 4), c, d, eps=1e-4),
         lambda a, c, d: TF.layer_norm(a, (3, 4), c, d, eps=1e-4), x, torch, rng, w, b)
    both(lambda a: F.layer_norm(a, 4), lambda a: TF.layer_norm(a, (4,)), x, torch, rng)


def test_layer_norm_gradcheck():
    rng = np.random.default_rng(7)
    x = tg.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    w = tg.tensor(rng.standard_normal(5), requires_grad=True)
    b = tg.tensor(rng.standard_normal(5), requires_grad=True)
    assert tg.gradcheck(lambda a, c, d: F.layer_norm(a, 5, c, d), [x, w, b])
    assert tg.gradgradcheck(lambda a, c, d: F.layer_norm(a, 5, c, d), [x, w, b])


def test_layer_norm_errors():
    with pytest.raises(tg.ShapeError, match=r"layer_norm: weight must have shape \(4,\)"):
        F.layer_norm(np.ones((2, 4)), 4, np.ones(3))
    with pytest.raises(TypeError, match="layer_norm: normalized_shape must be an int or a tuple"):
        F.layer_norm(np.ones((2, 4)), 4.0)


# -- embedding, one_hot ------------------------------------------------------------------------

def test_embedding_functional_against_torch(torch):
    import torch.nn.functional as TF
    rng = np.random.default_rng(8)
    w = rng.standard_normal((5, 3))
    idx = np.array([[0, 4, 4], [2, 1, 0]])
    for pad in (None, 0, -1):
        wt, wtt = tg.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
        y, yt = F.embedding(idx, wt, pad), TF.embedding(torch.from_numpy(idx), wtt, pad)
        close(y, yt.detach().numpy())
        g = rng.standard_normal(y.shape)
        y.backward(g)
        yt.backward(torch.from_numpy(g))
        close(wt.grad, wtt.grad.numpy())


def test_embedding_gradcheck():
    # (the padding row's values are returned without a gradient, by design: it is left out)
    w = tg.tensor(np.random.default_rng(9).standard_normal((4, 2)), requires_grad=True)
    idx = np.array([[3, 0], [3, 1]])
    assert tg.gradcheck(lambda a: F.embedding(idx, a), [w])
    assert tg.gradcheck(lambda a: F.embedding(idx, a, padding_idx=2), [w])


def test_one_hot(torch):
    import torch.nn.functional as TF
    idx = np.array([[0, 2], [1, 2]])
    y = F.one_hot(idx)
    assert y.dtype == np.int64 and not y.requires_grad
    np.testing.assert_array_equal(y.data, TF.one_hot(torch.from_numpy(idx)).numpy())
    np.testing.assert_array_equal(F.one_hot(np.array([1]), 3).data, [[0, 1, 0]])
    with pytest.raises(ValueError, match=r"one_hot: class values must be smaller than num_classes \(2\)"):
        F.one_hot(idx, 2)


# -- pad ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, pad", [
    ("constant", (1, 2)), ("constant", (2, 0, 1, 3)), ("constant", (-1, 2, 0, -2)),
    ("reflect", (2, 1, 0, 0)), ("reflect", (3, 3, 1, 2)), ("replicate", (4, 1, 2, 0)),
    ("circular", (3, 2, 1, 4)),
])
def test_pad_against_torch(torch, mode, pad):
    import torch.nn.functional as TF
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 5))
    kwargs = {"value": 1.5} if mode == "constant" else {}
    both(lambda a: F.pad(a, pad, mode, **kwargs), lambda a: TF.pad(a, pad, mode, **kwargs),
         x, torch, rng)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck_and_hand_values(mode):
    x = tg.tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)
    expected = {"constant": [0, 0, 1, 2, 3, 0], "reflect": [3, 2, 1, 2, 3, 2],
                "replicate": [1, 1, 1, 2, 3, 3], "circular": [2, 3, 1, 2, 3, 1]}[mode]
    close(F.pad(x, (2, 1), mode), [expected])
    assert tg.gradcheck(lambda a: F.pad(a, (2, 1), mode), [x])


def test_pad_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="pad: pad must be a sequence of ints of even length"):
        F.pad(x, (1,))
    with pytest.raises(ValueError, match="pad: mode must be one of"):
        F.pad(x, (1, 1), "wrap")
    with pytest.raises(ValueError, match=r"pad: reflect padding \(3, 0\) of axis 1 must be at most 2"):
        F.pad(x, (3, 0), "reflect")
    with pytest.raises(ValueError, match="pad: value is only used by mode='constant'"):
        F.pad(x, (1, 1), "replicate", value=2.0)


# -- bad input: a correct result or a clear error naming the function --------------------------

_X = np.random.default_rng(0).uniform(0.1, 0.9, size=(2, 3))
_IMG = np.random.default_rng(1).uniform(0.1, 0.9, size=(2, 3, 4, 4))
VALID_CALLS = {
    "softmax": ((_X,), {"dim": 1, "dtype": np.float64}),
    "log_softmax": ((_X,), {"dim": 1, "dtype": np.float64}),
    "linear": ((_X, np.ones((4, 3)), np.ones(4)), {}),
    "leaky_relu": ((_X,), {"negative_slope": 0.1}),
    "elu": ((_X,), {"alpha": 1.0}),
    "silu": ((_X,), {}),
    "softplus": ((_X,), {"beta": 1.0, "threshold": 20.0}),
    "dropout": ((_X,), {"p": 0.5, "rng": 0}),
    "batch_norm": ((_IMG, np.zeros(3), np.ones(3), np.ones(3), np.zeros(3)),
                   {"training": True, "momentum": 0.1, "eps": 1e-5}),
    "layer_norm": ((_X, 3, np.ones(3), np.zeros(3)), {"eps": 1e-5}),
    "embedding": ((np.array([[0, 2], [1, 1]]), np.ones((3, 2))), {"padding_idx": 1}),
    "one_hot": ((np.array([0, 2, 1]),), {"num_classes": 3}),
    "pad": ((_IMG, (1, 2, 2, 0)), {"mode": "reflect"}),
}


def _bad_cases():
    for name, (args, kwargs) in VALID_CALLS.items():
        for i, a in enumerate(args):
            if isinstance(a, np.ndarray):
                for label in BAD_ARRAYS:
                    yield pytest.param(name, "array", i, label, id=f"{name}-arg{i}-{label}")
        for key in kwargs:
            for label in BAD_PARAMS:
                yield pytest.param(name, "param", key, label, id=f"{name}-{key}-{label}")


@pytest.mark.parametrize(("name", "kind", "where", "label"), list(_bad_cases()))
@pytest.mark.parametrize("requires_grad", [False, True])
def test_bad_input_gives_a_result_or_a_clear_error(name, kind, where, label, requires_grad):
    args, kwargs = VALID_CALLS[name]
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    kwargs = dict(kwargs)
    if kind == "array":
        args[where] = BAD_ARRAYS[label](args[where])
    else:
        kwargs[where] = BAD_PARAMS[label]
    args = [tg.tensor(a, requires_grad=True) if requires_grad and isinstance(a, np.ndarray)
            and a.dtype.kind == "f" and a.dtype.isnative else a for a in args]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(F, name)(*args, **kwargs)
            if isinstance(out, tg.Tensor) and out.requires_grad:
                out.backward(np.ones(out.shape, dtype=out.dtype))
    except CLEAR as e:
        assert name in str(e), f"{type(e).__name__} without the function's name: {e}"
        return
    except Exception as e:  # an internal crash
        pytest.fail(f"{name}: {type(e).__name__}: {e}")
    assert isinstance(out, tg.Tensor) and out.dtype.kind in "biuf", (name, out)
