"""PyTorch's spellings in tensorgrad: creation functions, tensor methods, ``dim=``, ``cat``,
``div``, ``flatten``, ``max(dim)`` -- against torch where it is installed, hand-computed values
otherwise -- and the calls that mean different things in NumPy and PyTorch
(docs/pytorch_and_numpy.md), which keep NumPy's meaning or raise."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import tensorgrad as tg


@pytest.fixture
def float32_default():
    tg.set_default_dtype(np.float32)
    yield
    tg.set_default_dtype(np.float64)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _leaf(*shape, seed=0):
    return tg.tensor(_x(*shape, seed=seed), requires_grad=True)


# -- creation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [tg.zeros, tg.ones, tg.empty])
@pytest.mark.parametrize("size", [(2, 3), ((2, 3),), ([2, 3],), ((),), (0, 4)])
def test_filled_creation_takes_sizes_as_ints_or_one_tuple(make, size):
    expected = size[0] if len(size) == 1 else size
    t = make(*size)
    assert t.shape == tuple(expected) and t.dtype == np.float64 and t.is_leaf
    assert not t.requires_grad
    if make is not tg.empty:
        assert np.all(t.data == (0.0 if make is tg.zeros else 1.0))


def test_creation_takes_the_default_dtype(float32_default):
    for t in (tg.zeros(2), tg.ones(2), tg.empty(2), tg.full((2,), 1.5), tg.eye(2),
              tg.arange(0, 1, 0.5), tg.linspace(0, 1, 3), tg.rand(2, rng=0), tg.randn(2, rng=0)):
        assert t.dtype == np.float32
    assert tg.arange(3).dtype == np.int64  # integers stay integers, as in PyTorch
    assert tg.zeros(2, dtype=np.float64).dtype == np.float64


def test_creation_against_torch(torch):
    def same(t, ref):
        ref = ref.numpy()
        assert t.shape == ref.shape
        np.testing.assert_array_equal(t.data, ref)

    same(tg.zeros(2, 3), torch.zeros(2, 3))
    same(tg.ones((3, 1)), torch.ones((3, 1)))
    same(tg.full((2, 2), 7), torch.full((2, 2), 7))
    assert tg.full((2,), 7).dtype == np.int64 and tg.full((2,), True).dtype == np.bool_
    same(tg.eye(3), torch.eye(3))
    same(tg.eye(2, 4), torch.eye(2, 4))
    same(tg.arange(5), torch.arange(5))
    same(tg.arange(2, 9, 3), torch.arange(2, 9, 3))
    same(tg.arange(0.0, 1.0, 0.25, dtype=np.float32), torch.arange(0.0, 1.0, 0.25))
    np.testing.assert_allclose(tg.linspace(-1, 2, 7).data,
                               torch.linspace(-1, 2, 7, dtype=torch.float64).numpy(),
                               rtol=0, atol=1e-15)
    x = tg.tensor(_x(2, 3))
    same(tg.zeros_like(x), torch.zeros_like(torch.tensor(x.data)))
    same(tg.ones_like(x), torch.ones_like(torch.tensor(x.data)))
    same(tg.full_like(x, 2.5), torch.full_like(torch.tensor(x.data), 2.5))
    assert tg.full_like(np.arange(3), 2.7).dtype == np.int64  # cast to the input's dtype
    np.testing.assert_array_equal(tg.full_like(np.arange(3), 2.7).data, [2, 2, 2])


def test_creation_hand_computed():
    np.testing.assert_array_equal(tg.arange(0, 1, 0.25).data, [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(tg.linspace(0, 1, 5).data, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert tg.linspace(0, 1).shape == (50,)  # NumPy's default count
    np.testing.assert_array_equal(tg.eye(2, 3).data, [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(tg.zeros_like([[1, 2]]).data, [[0, 0]])


def test_creation_requires_grad_and_device():
    t = tg.zeros(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    (t * 3).sum().backward()
    np.testing.assert_array_equal(t.grad.data, [3.0, 3.0])
    assert tg.ones(1, device="cpu").shape == (1,)
    with pytest.raises(NotImplementedError, match=r"zeros: device 'cuda' is not supported"):
        tg.zeros(2, device="cuda")
    with pytest.raises(TypeError, match=r"arange: requires_grad=True needs a floating dtype"):
        tg.arange(3, requires_grad=True)
    with pytest.raises(TypeError, match=r"randint: requires_grad=True"):
        tg.randint(3, (2,), rng=0, requires_grad=True)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: tg.zeros(2.5), TypeError, r"zeros: size must be ints"),
    (lambda: tg.ones(-1), ValueError, r"ones: sizes must be >= 0"),
    (lambda: tg.zeros(2, dtype=str), TypeError, r"zeros: dtype must be a NumPy dtype of real"),
    (lambda: tg.full((2,), "a"), TypeError, r"full: expected numbers"),
    (lambda: tg.arange(0, 1, 0), ValueError, r"arange: step must be nonzero"),
    (lambda: tg.linspace(0, 1, -2), ValueError, r"linspace: steps must be >= 0"),
    (lambda: tg.rand(2, rng="abc"), TypeError, r"rand: rng must be None, an int seed"),
    (lambda: tg.randn(2, dtype=np.int64), TypeError, r"randn: dtype must be floating"),
    (lambda: tg.randint(5, 5, (2,)), ValueError, r"randint: low must be < high"),
    (lambda: tg.randint(5), TypeError, r"randint: expected randint\(high, size\)"),
    (lambda: tg.randint(2.5, (2,)), TypeError, r"randint: high must be an int"),
    (lambda: tg.zeros_like(object()), TypeError, r"zeros_like: input must be a Tensor"),
])
def test_creation_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_random_creation_draws_from_rng_or_the_default_generator():
    for make in (tg.rand, tg.randn):
        a, b = make(3, 4, rng=7), make((3, 4), rng=np.random.default_rng(7))
        np.testing.assert_array_equal(a.data, b.data)
        tg.manual_seed(11)
        first = make(5)
        tg.manual_seed(11)
        np.testing.assert_array_equal(first.data, make(5).data)
        assert not np.array_equal(first.data, make(5).data)  # the generator advanced
    np.testing.assert_array_equal(tg.randn(4, rng=3).data,
                                  np.random.default_rng(3).standard_normal(4))
    np.testing.assert_array_equal(tg.rand(4, rng=3).data, np.random.default_rng(3).random(4))


def test_random_creation_values():
    u = tg.rand(20000, rng=0).data
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)  # five standard errors
    z = tg.randn(20000, rng=0).data
    assert abs(z.mean()) < 5 / np.sqrt(z.size) and abs(z.std() - 1) < 0.05
    k = tg.randint(3, 8, (10000,), rng=0)
    assert k.dtype == np.int64 and set(np.unique(k.data)) == {3, 4, 5, 6, 7}
    assert tg.randint(4, size=(2, 3), rng=0).shape == (2, 3)
    np.testing.assert_array_equal(tg.randint(low=2, high=9, size=(5,), rng=1).data,
                                  tg.randint(2, 9, (5,), rng=1).data)
    np.testing.assert_array_equal(tg.randint(high=9, size=(5,), rng=1).data,
                                  np.random.default_rng(1).integers(0, 9, size=5))
    assert tg.rand(3, rng=0, dtype=np.float16).dtype == np.float16


# -- cat, div, flatten --------------------------------------------------------------------------

def test_cat_is_concatenate(torch):
    a, b = _leaf(2, 3), _leaf(2, 1, seed=1)
    out = tg.cat([a, b], dim=1)
    np.testing.assert_array_equal(
        out.data, torch.cat([torch.tensor(a.data), torch.tensor(b.data)], dim=1).numpy())
    assert out.grad_fn.name == "concatenate"
    assert tg.gradcheck(lambda a, b: tg.cat((a, b), dim=-1), [a, b])
    with pytest.raises(TypeError, match=r"cat: seq must be a list or tuple"):
        tg.cat(None)


_DIV_X = np.array([7.0, -7.0, 7.5, -0.5, 3.0, -3.0, 0.0, 1e300])
_DIV_Y = np.array([2.0, 2.0, -2.0, 0.25, 0.0, 0.0, -3.0, 1e-10])


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_against_torch(torch, mode):
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        got = tg.div(_DIV_X, _DIV_Y, rounding_mode=mode)
    want = torch.div(torch.tensor(_DIV_X), torch.tensor(_DIV_Y), rounding_mode=mode).numpy()
    np.testing.assert_array_equal(got.data, want)  # inf, -inf and signed zeros included
    np.testing.assert_array_equal(np.signbit(got.data), np.signbit(want))
    xi, yi = np.array([7, -7, 7, -7, 0, -1]), np.array([2, 2, -2, -2, 3, 5])
    if mode is not None:
        got = tg.div(xi, yi, rounding_mode=mode)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(
            got.data, torch.div(torch.tensor(xi), torch.tensor(yi), rounding_mode=mode).numpy())


def test_div_hand_computed():
    x, y = np.array([7, -7, 7, -7]), np.array([2, 2, -2, -2])
    np.testing.assert_array_equal(tg.div(x, y, rounding_mode="trunc").data, [3, -3, -3, 3])
    np.testing.assert_array_equal(tg.div(x, y, rounding_mode="floor").data, [3, -4, -4, 3])
    np.testing.assert_array_equal(tg.div(x, y).data, [3.5, -3.5, -3.5, 3.5])
    np.testing.assert_array_equal((tg.tensor([7.0, -7.0]) // 2).data, [3.0, -4.0])
    np.testing.assert_array_equal((7 // tg.tensor([2, -2])).data, [3, -4])
    with pytest.raises(ZeroDivisionError, match=r"div: integer division by zero"):
        tg.div(x, np.array([1, 0, 1, 1]), rounding_mode="floor")
    with pytest.raises(ValueError, match=r"div: rounding_mode must be one of"):
        tg.div(x, y, rounding_mode="round")


def test_div_gradients_are_torchs(torch):
    x, y = _leaf(4), tg.tensor([0.5, -1.5, 2.0, 3.0], requires_grad=True)
    tx, ty = (torch.tensor(t.data, requires_grad=True) for t in (x, y))
    for mode in (None, "trunc", "floor"):
        x.grad = y.grad = tx.grad = ty.grad = None
        out = tg.div(x, y, rounding_mode=mode)
        assert out.requires_grad  # a zero gradient under rounding, as in PyTorch
        out.backward(np.arange(1.0, 5.0))
        torch.div(tx, ty, rounding_mode=mode).backward(torch.arange(1.0, 5.0, dtype=torch.float64))
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-15)
        np.testing.assert_allclose(y.grad.data, ty.grad.numpy(), rtol=1e-15)


@pytest.mark.parametrize(("shape", "start", "end"), [
    ((2, 3, 4), 0, -1), ((2, 3, 4), 1, -1), ((2, 3, 4), 0, 1), ((2, 3, 4, 5), 1, 2),
    ((2, 3, 4), -2, -1), ((3,), 0, 0), ((), 0, -1), ((0, 3, 2), 1, 2), ((2, 0, 3), 0, 1)])
def test_flatten_against_torch(torch, shape, start, end):
    x = _x(*shape)
    want = torch.flatten(torch.tensor(x), start, end).numpy()
    for got in (tg.flatten(x, start, end), tg.tensor(x).flatten(start, end),
                tg.flatten(x, start_dim=start, end_dim=end)):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.data, want)


def test_flatten_hand_computed_and_gradient():
    assert tg.tensor(np.ones((2, 3, 4))).flatten().shape == (24,)  # NumPy's flatten()
    assert tg.flatten(np.ones((2, 3, 4)), 1).shape == (2, 12)
    assert tg.gradcheck(lambda x: tg.flatten(x, 1, 2), [_leaf(2, 3, 2)])
    with pytest.raises(tg.ShapeError, match=r"flatten: start_dim 2 comes after end_dim 1"):
        tg.flatten(np.ones((2, 3, 4)), 2, 1)
    with pytest.raises(tg.ShapeError, match=r"flatten: end_dim 3 is out of range"):
        tg.flatten(np.ones((2, 3, 4)), 0, 3)


# -- squeeze, argmax, argmin --------------------------------------------------------------------

def test_squeeze_keeps_numpys_meaning_and_dim_is_pytorchs(torch):
    x = _x(2, 1, 3, 1)
    for axis in (None, 1, -1, (1, 3)):
        np.testing.assert_array_equal(tg.squeeze(x, axis=axis).data, np.squeeze(x, axis=axis))
        np.testing.assert_array_equal(tg.tensor(x).squeeze(axis).data, np.squeeze(x, axis))
    with pytest.raises(tg.ShapeError, match=r"squeeze: cannot remove axis 0 of length 2"):
        tg.tensor(x).squeeze(0)  # NumPy's rule
    t = torch.tensor(x)
    for dim in (0, 1, 2, -1, (0, 1), (1, 3)):
        got = tg.tensor(x).squeeze(dim=dim)  # PyTorch's: axes of other lengths stay
        assert got.shape == tuple(t.squeeze(dim).shape)
    assert np.squeeze(tg.tensor(x)).shape == (2, 3)
    assert tg.gradcheck(lambda a: a.squeeze(dim=(0, 1)), [_leaf(2, 1, 3)])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_against_torch(torch, name):
    x = np.array([[1.0, 3.0, 3.0, -1.0], [5.0, 0.0, 5.0, -1.0], [np.nan, 1.0, 2.0, np.nan]])
    t = torch.tensor(x)
    for dim in (0, 1, -1):
        for keep in (False, True):
            want = getattr(t, name)(dim=dim, keepdim=keep).numpy()
            got = getattr(tg.tensor(x), name)(dim=dim, keepdim=keep)
            assert got.dtype == np.int64 and got.shape == want.shape
            np.testing.assert_array_equal(got.data, want)
            np.testing.assert_array_equal(getattr(tg, name)(x, axis=dim, keepdims=keep).data, want)
    np.testing.assert_array_equal(getattr(tg.tensor(x[:2]), name)().data,
                                  getattr(t[:2], name)().numpy())


def test_argmax_hand_computed():
    x = _leaf(3, 4)
    out = tg.argmax(x, axis=1)
    np.testing.assert_array_equal(out.data, np.argmax(x.data, axis=1))
    assert not out.requires_grad and out.grad_fn is None
    assert tg.argmin(np.array([[2.0, 1.0, 1.0]])).item() == 1  # the first of ties
    assert tg.argmax(tg.tensor(3.0), axis=0).item() == 0  # a 0-d input's only element
    with pytest.raises(TypeError, match=r"argmax: axis must be None or an int"):
        tg.argmax(x, axis=(0, 1))
    with pytest.raises(tg.ShapeError, match=r"argmin: cannot take the minimum over a zero-length"):
        tg.argmin(np.ones((0, 2)), axis=0)


# -- Tensor methods ---------------------------------------------------------------------------

def test_shape_methods_against_torch(torch):
    x = _x(2, 3, 4)
    t, r = tg.tensor(x), torch.tensor(x)

    def same(got, want):
        want = want.detach().numpy()
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.data, want)

    same(t.view(4, 6), r.view(4, 6))
    same(t.view(-1), r.view(-1))
    same(t.view((6, 4)), r.view((6, 4)))
    same(t.permute(2, 0, 1), r.permute(2, 0, 1))
    same(t.permute((1, 2, 0)), r.permute((1, 2, 0)))
    same(t.unsqueeze(0), r.unsqueeze(0))
    same(t.unsqueeze(-1), r.unsqueeze(-1))
    same(t[:, :1].expand(2, 5, 4), r[:, :1].expand(2, 5, 4))
    same(t[:, :1].expand(3, -1, 3, -1), r[:, :1].expand(3, -1, 3, -1))
    same(t.mT, r.mT)
    same(t[0].T, r[0].T)
    same(t.transpose(2, 1, 0), r.permute(2, 1, 0))  # NumPy's meaning: a permutation
    same(t.flatten(1), r.flatten(1))
    assert t.numel() == r.numel() == t.size
    assert t.dim() == r.dim() == 3
    assert t.size() == tuple(r.size()) and t.size(1) == r.size(1) and t.size(-1) == r.size(-1)


def test_size_is_numpys_count_and_pytorchs_size():
    t = tg.tensor(np.ones((2, 3)))
    assert t.size == 6 and isinstance(t.size, int) and t.size + 1 == 7
    assert t.size() == (2, 3) and t.size(0) == 2 and t.size(-1) == 3
    assert tg.tensor(5.0).size() == () and tg.tensor(5.0).size == 1
    back = pickle.loads(pickle.dumps(t.size))
    assert back == 6 and type(back) is int
    with pytest.raises(IndexError, match=r"size: dim 2 is out of range"):
        t.size(2)
    with pytest.raises(TypeError, match=r"size: dim must be an int"):
        t.size("a")
    with pytest.raises(IndexError, match=r"a 0-d tensor has no dimensions"):
        tg.tensor(1.0).size(0)  # as PyTorch


@pytest.mark.parametrize("fn", [
    lambda t: t.view(6, 2),
    lambda t: t.permute(2, 0, 1),
    lambda t: t.unsqueeze(1),
    lambda t: t[:, :1].expand(2, 3, 2),
    lambda t: t.mT,
    lambda t: t.flatten(0, 1),
    lambda t: t.unsqueeze(0).squeeze(dim=0),
    lambda t: t.max(dim=1).values,
    lambda t: t.min(1, keepdim=True)[0],
    lambda t: t.repeat(2, axis=1),
    lambda t: t.tile(2, 1, 1),
    lambda t: t.var(dim=1),
    lambda t: t.std(axis=(0, 2), ddof=1),
], ids=["view", "permute", "unsqueeze", "expand", "mT", "flatten", "squeeze", "max_dim",
        "min_dim", "repeat", "tile", "var", "std"])
def test_method_gradients(fn):
    assert tg.gradcheck(fn, [_leaf(2, 3, 2)])
    assert tg.gradgradcheck(fn, [_leaf(2, 3, 2)])


def test_dtype_methods_and_to():
    t = tg.tensor([1.5, -2.0], requires_grad=True)
    assert t.float().dtype == np.float32 and t.double().dtype == np.float64
    assert tg.tensor([1.0]).long().dtype == np.int64
    assert t.to("cpu") is t and t.to(device="cpu") is t and t.cpu() is t
    assert t.to(np.float64) is t  # nothing to change
    out = t.to(np.float32)
    assert out.dtype == np.float32 and out.requires_grad
    out.sum().backward()
    assert t.grad.dtype == np.float64
    assert t.to("cpu", np.float32).dtype == np.float32
    assert t.to(tg.zeros(1, dtype=np.float32)).dtype == np.float32
    assert t.to(dtype="float32").dtype == np.float32
    with pytest.raises(NotImplementedError, match=r"to: device 'cuda:0' is not supported"):
        t.to("cuda:0")
    with pytest.raises(TypeError, match=r"view\(dtype\) reinterpreting the bytes"):
        t.view(np.float32)


def test_dim_and_keepdim_against_torch(torch):
    x = _x(3, 4, 2)
    t, r = tg.tensor(x), torch.tensor(x)
    for name in ("sum", "mean"):
        for dim in (1, (0, 2), [0, 1]):
            np.testing.assert_allclose(getattr(t, name)(dim=dim, keepdim=True).data,
                                       getattr(r, name)(dim=dim, keepdim=True).numpy(),
                                       rtol=1e-14, atol=1e-15)
    for name in ("softmax", "log_softmax"):
        np.testing.assert_allclose(getattr(t, name)(dim=1).data, getattr(r, name)(dim=1).numpy(),
                                   rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(getattr(t, name)(0).data, getattr(r, name)(0).numpy(),
                                   rtol=1e-13, atol=1e-15)
    with pytest.raises(TypeError, match=r"sum: got both axis=0 and dim=1"):
        t.sum(axis=0, dim=1)


def test_max_with_dim_returns_values_and_indices_as_torch(torch):
    x = np.array([[1.0, 3.0, 3.0], [5.0, 0.0, 5.0]])  # ties: the first index, as torch
    for name in ("max", "min"):
        for args, kwargs in (((1,), {}), ((), {"dim": 1}), ((), {"dim": 0, "keepdim": True}),
                             ((-1,), {"keepdim": True}), ((0, True), {})):
            t = tg.tensor(x, requires_grad=True)
            r = torch.tensor(x, requires_grad=True)
            got, want = getattr(t, name)(*args, **kwargs), getattr(r, name)(*args, **kwargs)
            values, indices = got
            assert got.values is values and got.indices is indices
            np.testing.assert_array_equal(values.data, want.values.detach().numpy())
            np.testing.assert_array_equal(indices.data, want.indices.numpy())
            weights = np.arange(1.0, 1.0 + values.size).reshape(values.shape)
            (values * weights).sum().backward()
            (want.values * torch.tensor(weights)).sum().backward()
            np.testing.assert_array_equal(t.grad.data, r.grad.numpy())  # no sharing of ties


def test_max_keeps_numpys_meaning_with_axis():
    x = tg.tensor([[1.0, 3.0], [5.0, 0.0]])
    np.testing.assert_array_equal(x.max(axis=1).data, [3.0, 5.0])
    np.testing.assert_array_equal(x.min(axis=(0, 1)).data, 0.0)
    np.testing.assert_array_equal(x.max().data, 5.0)
    np.testing.assert_array_equal(x.max((0,)).data, [5.0, 3.0])  # a tuple: NumPy's only reading
    _, pred = x.max(1)  # PyTorch's reading of one positional int
    np.testing.assert_array_equal(pred.data, [1, 0])
    np.testing.assert_array_equal(x.max(tg.tensor([2.0, 2.0])).data, [[2.0, 3.0], [5.0, 2.0]])
    with pytest.raises(TypeError, match=r"max: dim must be one int"):
        x.max(dim=(0, 1))
    with pytest.raises(TypeError, match=r"min: got both axis=0 and dim=1"):
        x.min(axis=0, dim=1)


def test_transpose_two_ints_on_2d_raises():
    x = tg.tensor(_x(2, 3))
    for axes in ((0, 1), (-2, -1), (0, -1)):
        with pytest.raises(ValueError, match=r"returns the tensor unchanged.*t\.T, "
                                             r"t\.swapaxes\(0, 1\) or t\.permute\(1, 0\)"):
            x.transpose(*axes)
    assert x.transpose(1, 0).shape == (3, 2) and x.transpose().shape == (3, 2)
    assert x.transpose((0, 1)).shape == (2, 3)  # a tuple: NumPy's spelling, on purpose
    with pytest.raises(tg.ShapeError, match=r"NumPy's transpose takes a permutation of all 3 "
                                            r"axes.*t\.swapaxes\(0, 2\)"):
        tg.tensor(_x(2, 3, 4)).transpose(0, 2)
    np.testing.assert_array_equal(tg.tensor(_x(2, 3, 4)).swapaxes(0, 2).data,
                                  np.swapaxes(_x(2, 3, 4), 0, 2))


def test_var_std_numpys_ddof_and_pytorchs_correction(torch):
    x = _x(3, 4)
    t, r = tg.tensor(x), torch.tensor(x)
    np.testing.assert_allclose(t.var().data, x.var(), rtol=1e-14)  # NumPy's ddof=0
    np.testing.assert_allclose(t.std(1).data, x.std(1), rtol=1e-14)
    np.testing.assert_allclose(t.var(dim=1).data, r.var(dim=1).numpy(), rtol=1e-14)  # ddof=1
    np.testing.assert_allclose(t.std(dim=0, keepdim=True).data,
                               r.std(dim=0, keepdim=True).numpy(), rtol=1e-14)
    np.testing.assert_allclose(t.std(correction=0).data, r.std(correction=0).numpy(), rtol=1e-14)
    np.testing.assert_allclose(t.var(unbiased=True).data, r.var(unbiased=True).numpy(),
                               rtol=1e-14)
    np.testing.assert_allclose(tg.var(x, axis=0, ddof=1).data, np.var(x, axis=0, ddof=1),
                               rtol=1e-14)


def test_repeat_is_numpys_and_tile_is_pytorchs_repeat(torch):
    x = _x(2, 3)
    t, r = tg.tensor(x), torch.tensor(x)
    np.testing.assert_array_equal(t.repeat(2).data, np.repeat(x, 2))  # elements, NumPy's
    np.testing.assert_array_equal(t.repeat([1, 2], axis=0).data, np.repeat(x, [1, 2], axis=0))
    np.testing.assert_array_equal(t.tile(2, 1).data, r.repeat(2, 1).numpy())
    np.testing.assert_array_equal(t.tile(3, 1, 2).data, r.repeat(3, 1, 2).numpy())
    np.testing.assert_array_equal(tg.tile(x, 2).data, torch.tile(r, (2,)).numpy())


# -- promotion, subpackages, NumPy dispatch ---------------------------------------------------

def test_promotion_of_0d_tensors_is_numpys(float32_default):
    w = tg.tensor(np.ones(3, dtype=np.float32))
    assert (w * tg.tensor(0.5)).dtype == np.float32  # tg.tensor(0.5) takes the default dtype
    assert (w * tg.tensor(np.float64(0.5))).dtype == np.float64  # NumPy's rule for arrays
    assert (w * 0.5).dtype == np.float32


def test_other_table_rows():
    x = tg.tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"sum: .*unexpected keyword argument 'dim'"):
        tg.sum(x, dim=1)  # functions take NumPy's axis=
    with pytest.raises(ValueError, match=r"add_: this tensor's data is a read-only array"):
        x[:1].expand(4, -1).add_(1.0)
    np.testing.assert_array_equal(tg.max(x * np.arange(3), 1).data, [2.0, 2.0])  # values only
    assert (tg.arange(3) / tg.arange(1, 4)).dtype == np.float64
    np.testing.assert_array_equal(tg.tensor([[1.0, 2.0]]).data.max(1), [2.0])  # .data: NumPy's
    np.testing.assert_array_equal(tg.tensor(_x(2, 3)).T.view(-1).data, _x(2, 3).T.ravel())
    np.testing.assert_array_equal(tg.linspace(0, 1, num=3).data, [0.0, 0.5, 1.0])


def test_public_subpackages_are_attributes():
    for name in ("nn", "optim", "data", "compare", "reference", "testing", "ops", "functional",
                 "creation", "viz"):
        assert getattr(tg, name).__name__ == f"tensorgrad.{name}"


def test_numpy_functions_dispatch_to_the_new_ops():
    x = _leaf(2, 1, 3)
    assert np.squeeze(x).grad_fn.name == "reshape"
    assert np.floor_divide(x, 2.0).requires_grad
    assert np.var(x, axis=2, ddof=1).shape == (2, 1)
    np.testing.assert_allclose(np.std(x).data, np.std(x.data), rtol=1e-14)
    assert np.repeat(x, 2, axis=0).shape == (4, 1, 3)
    assert np.tile(x, (1, 2, 1)).shape == (2, 2, 3)
    assert isinstance(np.argmax(x), np.integer)  # indices: NumPy's, on the values
    assert isinstance(np.zeros_like(x), np.ndarray)
