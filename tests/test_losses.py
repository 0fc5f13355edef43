"""PyTorch's loss options: cross_entropy and nll_loss (weight, ignore_index, label_smoothing,
class probabilities, (N, C, d1, ...) inputs), the BCE weights and pos_weight, l1_loss,
smooth_l1_loss, huber_loss, kl_div, softmax's dtype, the legacy flags, the loss modules.

Hand-computed values first (they run without torch), then option grids against torch
(forward and the input gradients), gradchecks and the errors."""
import itertools
import warnings

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn

LN2 = np.log(2.0)

# ------------------------------------------------------------------------------------------
# Hand-computed values
# ------------------------------------------------------------------------------------------


def test_nll_loss_by_hand():
    logp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]))
    t = np.array([0, 1, 2])
    w = np.array([1.0, 2.0, 3.0])
    picked = np.log([0.5, 0.8, 0.6])
    assert tg.nll_loss(logp, t).item() == pytest.approx(-picked.mean(), rel=1e-15)
    # weighted mean: Σ -w[t]·logp / Σ w[t]
    assert tg.nll_loss(logp, t, w).item() == pytest.approx(-(picked * w).sum() / 6, rel=1e-15)
    assert tg.nll_loss(logp, t, w, reduction="sum").item() == pytest.approx(
        -(picked * w).sum(), rel=1e-15)
    # ignored targets drop out of the sum and of the divisor
    t2 = np.array([0, -100, 2])
    assert tg.nll_loss(logp, t2, w).item() == pytest.approx(
        -(picked[0] + 3 * picked[2]) / 4, rel=1e-15)
    np.testing.assert_allclose(tg.nll_loss(logp, t2, reduction="none").data,
                               [-picked[0], 0.0, -picked[2]], rtol=1e-15)
    # an ignore_index that is a class
    assert tg.nll_loss(logp, t, ignore_index=1).item() == pytest.approx(
        -(picked[0] + picked[2]) / 2, rel=1e-15)


def test_every_target_ignored():
    # PyTorch: the mean is 0/0 = NaN, the sum 0, the gradient 0
    x = tg.tensor(np.zeros((2, 3)), requires_grad=True)
    t = np.array([-100, -100])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from 0/0
        mean = tg.cross_entropy(x, t)
    assert np.isnan(mean.item())
    mean.backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((2, 3)))
    assert tg.nll_loss(x, t, reduction="sum").item() == 0.0
    np.testing.assert_array_equal(tg.cross_entropy(x, t, reduction="none").data, [0.0, 0.0])
    assert np.isnan(tg.nll_loss(np.zeros((0, 3)), np.zeros(0, int)).item())  # empty batch


def test_cross_entropy_label_smoothing_by_hand():
    # logits (2, 0, 0): log_softmax = (2, 0, 0) - log(e² + 2)
    z = np.array([[2.0, 0.0, 0.0]])
    logp = z[0] - np.log(np.exp(2.0) + 2)
    eps = 0.3
    want = (1 - eps) * -logp[0] + eps / 3 * -logp.sum()
    assert tg.cross_entropy(z, np.array([0]), label_smoothing=eps).item() == pytest.approx(
        want, rel=1e-15)
    # with class weights: both terms weighted, the mean over w[t]
    w = np.array([2.0, 1.0, 0.5])
    want_w = ((1 - eps) * -w[0] * logp[0] + eps / 3 * -(w * logp).sum()) / w[0]
    assert tg.cross_entropy(z, np.array([0]), w, label_smoothing=eps).item() == pytest.approx(
        want_w, rel=1e-15)


def test_cross_entropy_probability_targets_by_hand():
    z = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    p = np.array([[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    per_sample = -(p * logp).sum(axis=1)
    np.testing.assert_allclose(tg.cross_entropy(z, p, reduction="none").data, per_sample,
                               rtol=1e-15)
    assert tg.cross_entropy(z, p).item() == pytest.approx(per_sample.mean(), rel=1e-15)
    # a one-hot probability target equals the class-index target
    one_hot = np.eye(3)[[0, 2]]
    assert tg.cross_entropy(z, one_hot).item() == pytest.approx(
        tg.cross_entropy(z, np.array([0, 2])).item(), rel=1e-15)
    # the target gets a gradient: d/dp = -logp / N
    pt = tg.tensor(p, requires_grad=True)
    tg.cross_entropy(z, pt).backward()
    np.testing.assert_allclose(pt.grad.data, -logp / 2, rtol=1e-15)


def test_cross_entropy_of_spatial_and_unbatched_inputs():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, 3, 4, 5))
    t = rng.integers(0, 3, (2, 4, 5))
    # (N, C, H, W) is (N·H·W, C) with the class axis moved last
    flat = np.moveaxis(z, 1, -1).reshape(-1, 3)
    np.testing.assert_allclose(tg.cross_entropy(z, t, reduction="none").data.reshape(-1),
                               tg.cross_entropy(flat, t.reshape(-1), reduction="none").data,
                               rtol=1e-15)
    # (C,) with a 0-d target: one sample
    assert tg.cross_entropy(z[0, :, 0, 0], t[0, 0, 0]).item() == pytest.approx(
        tg.cross_entropy(z[:1, :, 0, 0], t[:1, 0, 0]).item(), rel=1e-15)


def test_bce_weights_by_hand():
    # at z = 0: softplus(±0) = log 2
    z = tg.tensor(np.zeros(3), requires_grad=True)
    t = np.array([1.0, 0.0, 0.5])
    pw = np.array([3.0, 3.0, 3.0])
    # pw·t·log2 + (1 - t)·log2
    want = np.array([3.0, 1.0, 2.0]) * LN2
    loss = tg.binary_cross_entropy_with_logits(z, t, pos_weight=pw, reduction="none")
    np.testing.assert_allclose(loss.data, want, rtol=1e-15)
    # d/dz = (1 + (pw - 1)t)·σ(z) - pw·t = at z = 0: (1 + 2t)/2 - 3t
    loss.sum().backward()
    np.testing.assert_allclose(z.grad.data, (1 + 2 * t) / 2 - 3 * t, rtol=1e-15)
    w = np.array([1.0, 0.5, 2.0])
    assert tg.binary_cross_entropy_with_logits(np.zeros(3), t, w).item() == pytest.approx(
        LN2 * w.mean(), rel=1e-15)
    assert tg.binary_cross_entropy(np.full(3, 0.5), t, w, reduction="sum").item() == \
        pytest.approx(LN2 * w.sum(), rel=1e-15)
    # stable at |z| = 1000 with pos_weight: no inf, no NaN
    big = tg.binary_cross_entropy_with_logits(np.array([-1000.0, 1000.0]), np.array([1.0, 0.0]),
                                              pos_weight=np.array([2.0]), reduction="none")
    np.testing.assert_allclose(big.data, [2000.0, 1000.0], rtol=1e-15)


def test_regression_losses_by_hand():
    x, t = np.array([0.5, -3.0, 1.0]), np.zeros(3)
    assert tg.l1_loss(x, t).item() == pytest.approx(4.5 / 3, rel=1e-15)
    # smooth_l1: |d| < beta -> d²/(2beta), else |d| - beta/2
    np.testing.assert_allclose(tg.smooth_l1_loss(x, t, reduction="none").data,
                               [0.125, 2.5, 0.5], rtol=1e-15)
    np.testing.assert_allclose(tg.smooth_l1_loss(x, t, reduction="none", beta=2.0).data,
                               [0.0625, 2.0, 0.25], rtol=1e-15)
    np.testing.assert_allclose(tg.smooth_l1_loss(x, t, reduction="none", beta=0.0).data,
                               np.abs(x), rtol=1e-15)
    # huber: |d| < delta -> d²/2, else delta·(|d| - delta/2)
    np.testing.assert_allclose(tg.huber_loss(x, t, reduction="none", delta=2.0).data,
                               [0.125, 4.0, 0.5], rtol=1e-15)
    # gradients: d/beta inside, sign(d) outside; 0 at d = 0
    xt = tg.tensor(np.array([0.5, -3.0, 0.0]), requires_grad=True)
    tg.smooth_l1_loss(xt, np.zeros(3), reduction="sum").backward()
    np.testing.assert_array_equal(xt.grad.data, [0.5, -1.0, 0.0])
    xt = tg.tensor(np.array([0.5, -3.0, 0.0]), requires_grad=True)
    tg.l1_loss(xt, np.zeros(3), reduction="sum").backward()
    np.testing.assert_array_equal(xt.grad.data, [1.0, -1.0, 0.0])


def test_kl_div_by_hand():
    logq = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
    p = np.array([[0.5, 0.5], [1.0, 0.0]])  # a zero target contributes 0
    terms = np.array([[0.5 * np.log(2), 0.5 * np.log(2 / 3)], [np.log(2), 0.0]])
    np.testing.assert_allclose(tg.kl_div(logq, p, reduction="none").data, terms, rtol=1e-15,
                               atol=1e-16)
    assert tg.kl_div(logq, p).item() == pytest.approx(terms.mean(), rel=1e-15)
    assert tg.kl_div(logq, p, reduction="batchmean").item() == pytest.approx(
        terms.sum() / 2, rel=1e-15)
    assert tg.kl_div(logq, p, reduction="sum").item() == pytest.approx(terms.sum(), rel=1e-15)
    # log_target: exp(t)·(t - x) (a target of -inf gives NaN there, as in PyTorch)
    assert tg.kl_div(logq[0], np.log(p[0]), reduction="sum", log_target=True).item() == \
        pytest.approx(terms[0].sum(), rel=1e-15)
    # a negative target gives NaN (xlogy), as PyTorch; no RuntimeWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(tg.kl_div(np.zeros(2), np.array([-0.5, 0.5]), reduction="none").data[0])
    # batchmean of a 0-d input is the sum
    assert tg.kl_div(np.array(-1.0), np.array(0.5), reduction="batchmean").item() == \
        pytest.approx(0.5 * np.log(0.5) + 0.5, rel=1e-15)


def test_softmax_dtype_computes_in_that_dtype():
    x = np.array([1e4, 1e4 + 1.0, 0.0], dtype=np.float32)
    out = tg.softmax(tg.tensor(x, requires_grad=True), dtype=np.float64)
    assert out.dtype == np.float64
    xt = tg.tensor(np.float32([1.0, 2.0]), requires_grad=True)
    tg.log_softmax(xt, dtype="float64")[0].backward()
    assert xt.grad.dtype == np.float32  # the gradient is cast back to x's dtype
    np.testing.assert_allclose(xt.grad.data, [1 - 1 / (1 + np.e), -np.e / (1 + np.e)],
                               rtol=1e-7)
    assert tg.softmax(np.array([1, 2, 3]), dtype=np.float32).dtype == np.float32


def test_float32_stays_float32_with_weights():
    z = tg.tensor(np.float32([[1.0, 2.0, 0.5]]), requires_grad=True)
    for loss in (tg.cross_entropy(z, np.array([1]), np.array([1.0, 2.0, 3.0]),
                                  label_smoothing=0.1),
                 tg.nll_loss(z, np.array([1]), np.array([1.0, 2.0, 3.0])),
                 tg.binary_cross_entropy_with_logits(z, np.float32([[1, 0, 1]]),
                                                     np.ones(3), pos_weight=np.full(3, 2.0)),
                 tg.kl_div(z, np.float32([[0.2, 0.3, 0.5]]), reduction="batchmean"),
                 tg.smooth_l1_loss(z, np.zeros((1, 3), np.float32), beta=0.7)):
        assert loss.dtype == np.float32
        z.grad = None
        loss.backward()
        assert z.grad.dtype == np.float32


def test_legacy_flags_and_the_earlier_positional_reduction():
    x, t = np.array([[0.2, 1.0], [0.0, 3.0]]), np.array([1, 0])
    mean, total = tg.cross_entropy(x, t), tg.cross_entropy(x, t, reduction="sum")
    # size_average=False -> sum; reduce=False -> none (PyTorch's _Reduction.legacy_get_string)
    assert tg.cross_entropy(x, t, size_average=False).item() == total.item()
    assert tg.cross_entropy(x, t, reduce=False).shape == (2,)
    assert tg.nll_loss(x, t, None, True, -100, True).item() == tg.nll_loss(x, t).item()
    # tensorgrad's earlier signatures took reduction third
    assert tg.cross_entropy(x, t, "sum").item() == total.item()
    assert tg.mse_loss(x, x * 2, "sum").item() == pytest.approx(np.sum(x * x))
    assert tg.binary_cross_entropy(np.full(2, 0.5), np.ones(2), "sum").item() == \
        pytest.approx(2 * LN2)
    assert mean.item() == pytest.approx(total.item() / 2)


# ------------------------------------------------------------------------------------------
# Against torch
# ------------------------------------------------------------------------------------------

def _compare(torch, tg_fn, torch_fn, arrays, diff, rng, **kw):
    """Forward and the gradients of the arrays at positions ``diff``, tensorgrad vs torch."""
    ts = [tg.tensor(a, requires_grad=i in diff) if a.dtype.kind == "f" else a
          for i, a in enumerate(arrays)]
    rs = [torch.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    y = tg_fn(*ts, **kw)
    r = torch_fn(*rs, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                         for k, v in kw.items()})
    want = r.detach().numpy()
    scale = np.abs(want[np.isfinite(want)]).max(initial=1.0)
    assert y.shape == want.shape
    np.testing.assert_allclose(y.data, want, rtol=1e-12, atol=1e-13 * scale)
    if not np.all(np.isfinite(want)):
        return
    g = rng.standard_normal(want.shape)
    y.backward(g)
    r.backward(torch.tensor(g))
    for i in diff:
        np.testing.assert_allclose(ts[i].grad.data, rs[i].grad.numpy(), rtol=1e-11,
                                   atol=1e-13, err_msg=f"gradient of argument {i}")


SHAPES = [(3,), (4, 3), (2, 3, 4), (2, 3, 2, 3), (0, 3)]
CLASS_GRID = list(itertools.product(SHAPES, [None, "w"], [-100, 1], ["mean", "sum", "none"],
                                    [0.0, 0.25]))


def _class_case(rng, shape, ignored, ignore_index):
    c = shape[0] if len(shape) == 1 else shape[1]
    t_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    x = rng.standard_normal(shape) * 3
    t = rng.integers(0, c, t_shape)
    if ignored == "some" and t.size > 1:
        t.reshape(-1)[1::2] = ignore_index
    elif ignored == "all":
        t = np.full(t_shape, ignore_index)
    return x, np.asarray(t, dtype=np.int64), c


@pytest.mark.parametrize("shape,weight,ignore_index,reduction,smoothing", CLASS_GRID, ids=str)
def test_cross_entropy_and_nll_loss_match_torch(shape, weight, ignore_index, reduction,
                                                smoothing):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(len(shape) * 7 + ignore_index % 5)
    for ignored in ("none", "some", "all"):
        x, t, c = _class_case(rng, shape, ignored, ignore_index)
        w = rng.uniform(0.2, 2.0, c) if weight else None
        kw = dict(weight=w, ignore_index=ignore_index, reduction=reduction)
        _compare(torch, tg.cross_entropy, F.cross_entropy, [x, t], [0], rng,
                 label_smoothing=smoothing, **kw)
        if not smoothing:
            _compare(torch, tg.nll_loss, F.nll_loss, [x, t], [0], rng, **kw)


@pytest.mark.parametrize("shape,weight,reduction,smoothing",
                         list(itertools.product(SHAPES[:4], [None, "w"], ["mean", "sum", "none"],
                                                [0.0, 0.25])), ids=str)
def test_cross_entropy_probabilities_match_torch(shape, weight, reduction, smoothing):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(len(shape))
    axis = 0 if len(shape) == 1 else 1
    x = rng.standard_normal(shape) * 3
    p = rng.uniform(0, 1, shape)
    p /= p.sum(axis=axis, keepdims=True)
    w = rng.uniform(0.2, 2.0, shape[axis]) if weight else None
    _compare(torch, tg.cross_entropy, torch.nn.functional.cross_entropy, [x, p], [0, 1], rng,
             weight=w, reduction=reduction, label_smoothing=smoothing)


BINARY_GRID = list(itertools.product([(), (5,), (3, 4)], [None, "last", "full"],
                                     [None, "last"], ["mean", "sum", "none"]))


@pytest.mark.parametrize("shape,weight,pos_weight,reduction", BINARY_GRID, ids=str)
def test_binary_cross_entropies_match_torch(shape, weight, pos_weight, reduction):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    z = rng.standard_normal(shape) * 4
    t = rng.uniform(0, 1, shape)
    shapes = {None: None, "last": shape[-1:], "full": shape}
    w = None if weight is None else rng.uniform(0.2, 2, shapes[weight])
    pw = None if pos_weight is None else rng.uniform(0.2, 3, shapes[pos_weight])
    _compare(torch, tg.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits,
             [z, t], [0, 1], rng, weight=w, pos_weight=pw, reduction=reduction)
    p = 1 / (1 + np.exp(-z))
    _compare(torch, tg.binary_cross_entropy, F.binary_cross_entropy, [p, t], [0, 1], rng,
             weight=w, reduction=reduction)


@pytest.mark.parametrize("shape,reduction,param",
                         list(itertools.product([(), (7,), (3, 4)], ["mean", "sum", "none"],
                                                [0.0, 0.5, 1.0, 2.5])), ids=str)
def test_regression_losses_match_torch(shape, reduction, param):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
    _compare(torch, tg.l1_loss, F.l1_loss, [x, t], [0, 1], rng, reduction=reduction)
    _compare(torch, tg.smooth_l1_loss, F.smooth_l1_loss, [x, t], [0, 1], rng,
             reduction=reduction, beta=param)
    if param:
        _compare(torch, tg.huber_loss, F.huber_loss, [x, t], [0, 1], rng, reduction=reduction,
                 delta=param)


@pytest.mark.parametrize("shape,reduction,log_target",
                         list(itertools.product([(), (5,), (3, 4)],
                                                ["mean", "batchmean", "sum", "none"],
                                                [False, True])), ids=str)
def test_kl_div_matches_torch(shape, reduction, log_target):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = np.log(rng.uniform(0.05, 1, shape))
    t = rng.uniform(0.05, 1, shape)
    if log_target:
        t = np.log(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's note on reduction="mean"
        _compare(torch, tg.kl_div, torch.nn.functional.kl_div, [x, t], [0, 1], rng,
                 reduction=reduction, log_target=log_target)


def test_softmax_dtype_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.float32([[1.0, 2.0, 3.5], [-1.0, 0.0, 8.0]])
    for fn, name in ((tg.softmax, "softmax"), (tg.log_softmax, "log_softmax")):
        want = getattr(torch, name)(torch.tensor(x), 1, dtype=torch.float64).numpy()
        got = fn(x, 1, dtype=np.float64)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got.data, want, rtol=1e-15, atol=1e-15)


def test_loss_modules_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    z, t = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    y, p = rng.uniform(0, 1, (4, 3)), rng.uniform(0.05, 1, (4, 3))
    w = rng.uniform(0.5, 2, 3)
    pairs = [
        (nn.CrossEntropyLoss(w, ignore_index=2, label_smoothing=0.1),
         torch.nn.CrossEntropyLoss(torch.tensor(w), ignore_index=2, label_smoothing=0.1), z, t),
        (nn.NLLLoss(w, reduction="sum"), torch.nn.NLLLoss(torch.tensor(w), reduction="sum"),
         z, t),
        (nn.BCEWithLogitsLoss(pos_weight=w), torch.nn.BCEWithLogitsLoss(
            pos_weight=torch.tensor(w)), z, y),
        (nn.BCELoss(w), torch.nn.BCELoss(torch.tensor(w)), p, y),
        (nn.L1Loss(), torch.nn.L1Loss(), z, y), (nn.MSELoss(), torch.nn.MSELoss(), z, y),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), z, y),
        (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), z, y),
        (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"),
         np.log(p), y),
        (nn.KLDivLoss(reduction="sum", log_target=True),
         torch.nn.KLDivLoss(reduction="sum", log_target=True), np.log(p), np.log(y)),
    ]
    for ours, theirs, a, b in pairs:
        got = ours(tg.tensor(a), b).item()
        assert got == pytest.approx(theirs(torch.tensor(a), torch.tensor(b)).item(), rel=1e-12), \
            type(ours).__name__


# ------------------------------------------------------------------------------------------
# gradcheck of each option
# ------------------------------------------------------------------------------------------

GRADCHECKS = {
    "cross_entropy spatial, weight, ignore, smoothing": (
        lambda x: tg.cross_entropy(x, np.array([[0, -100], [2, 1]]), np.array([1.0, 2.0, 0.5]),
                                   label_smoothing=0.2), (2, 3, 2)),
    "cross_entropy probabilities": (
        lambda x: tg.cross_entropy(x[:, :3], tg.softmax(x[:, 3:], 1), label_smoothing=0.1),
        (2, 6)),
    "nll_loss sum": (lambda x: tg.nll_loss(x, np.array([1, 0]), reduction="sum"), (2, 3)),
    "bce_with_logits weights": (
        lambda x: tg.binary_cross_entropy_with_logits(x[0], tg.sigmoid(x[1]), np.array([1.0, 3.0]),
                                                      pos_weight=np.array([2.0, 0.5])),
        (2, 2)),
    "bce weight": (lambda x: tg.binary_cross_entropy(tg.sigmoid(x[0]), tg.sigmoid(x[1]),
                                                     np.array([0.5, 2.0])), (2, 2)),
    "smooth_l1": (lambda x: tg.smooth_l1_loss(x[0], x[1] + np.array([0.0, 3.0]), beta=0.5),
                  (2, 2)),
    "huber": (lambda x: tg.huber_loss(x[0], x[1] + np.array([0.0, 3.0]), delta=0.7), (2, 2)),
    "kl_div": (lambda x: tg.kl_div(x[0], tg.softmax(x[1]), reduction="batchmean"), (2, 3)),
    "kl_div log_target": (lambda x: tg.kl_div(x[0], x[1], log_target=True), (2, 3)),
}


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_loss_options_gradcheck(name):
    fn, shape = GRADCHECKS[name]
    x = tg.tensor(np.random.default_rng(7).uniform(-1, 1, shape), requires_grad=True)
    assert tg.gradcheck(fn, (x,))
    assert tg.gradgradcheck(fn, (x,))


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------

X, T = np.zeros((2, 3)), np.array([0, 1])


@pytest.mark.parametrize("call,error,match", [
    (lambda: tg.cross_entropy(X, np.array([0, 3])), ValueError,
     r"cross_entropy: target classes must lie in \[0, 3\) or equal ignore_index \(-100\), got "
     r"values from 0 to 3"),
    (lambda: tg.cross_entropy(X, np.array([0, 1, 2])), tg.ShapeError,
     r"cross_entropy: expected input \(N, C\), \(N, C, d1, \.\.\.\) or \(C,\) and target .*got "
     r"\(2, 3\) and \(3,\)"),
    (lambda: tg.cross_entropy(X, np.zeros((2, 3), int)), tg.ShapeError,
     r"cross_entropy: expected input"),
    (lambda: tg.cross_entropy(X, np.array([0.0, 1.0])), ValueError,
     r"cross_entropy: target must hold integer class indices .*got dtype float64"),
    (lambda: tg.cross_entropy(X, T, np.ones(2)), tg.ShapeError,
     r"cross_entropy: weight of shape \(2,\) must have shape \(3,\)"),
    (lambda: tg.cross_entropy(X, T, tg.tensor(np.ones(3), requires_grad=True)), ValueError,
     r"cross_entropy: weight requires grad, but the loss computes no gradient for it"),
    (lambda: tg.cross_entropy(X, T, label_smoothing=1.5), ValueError,
     r"cross_entropy: label_smoothing must lie in \[0, 1\], got 1\.5"),
    (lambda: tg.cross_entropy(X, T, ignore_index=0.5), TypeError,
     r"cross_entropy: ignore_index must be an int, got 0\.5"),
    (lambda: tg.cross_entropy(X, T, reduction="batchmean"), ValueError,
     r"cross_entropy: reduction must be one of \('mean', 'sum', 'none'\), got 'batchmean'"),
    (lambda: tg.cross_entropy(np.array(1.0), np.array(0)), tg.ShapeError,
     r"cross_entropy: expected input .* got a 0-d input"),
    (lambda: tg.cross_entropy(X, T, size_average="yes"), TypeError, None),
    (lambda: tg.nll_loss(X, T, "sum"), TypeError,
     r"nll_loss: the third argument is weight \(PyTorch's order\); pass reduction='sum'"),
    (lambda: tg.nll_loss(X, T, reduce=2), TypeError,
     r"nll_loss: reduce must be None, True or False"),
    (lambda: tg.binary_cross_entropy_with_logits(X, X, pos_weight=np.ones(4)), tg.ShapeError,
     r"binary_cross_entropy_with_logits: pos_weight of shape \(4,\) must have a shape that "
     r"broadcasts to \(2, 3\)"),
    (lambda: tg.binary_cross_entropy(X + 0.5, X, np.ones((4, 2, 3))), tg.ShapeError,
     r"binary_cross_entropy: weight of shape \(4, 2, 3\) must have a shape that broadcasts to "
     r"\(2, 3\)"),
    (lambda: tg.l1_loss(X, np.zeros(3)), tg.ShapeError,
     r"l1_loss: target shape \(3,\) must equal the input shape \(2, 3\)"),
    (lambda: tg.smooth_l1_loss(X, X, beta=-1), ValueError,
     r"smooth_l1_loss: beta must be a finite number >= 0, got -1"),
    (lambda: tg.huber_loss(X, X, delta=0), ValueError,
     r"huber_loss: delta must be a finite number > 0, got 0"),
    (lambda: tg.kl_div(X, X, reduction="batch"), ValueError,
     r"kl_div: reduction must be one of \('mean', 'batchmean', 'sum', 'none'\)"),
    (lambda: tg.kl_div(X, X, log_target=None), TypeError,
     r"kl_div: log_target must be True or False"),
    (lambda: tg.softmax(X, dtype=np.int64), TypeError,
     r"softmax: dtype must be None or a floating NumPy dtype"),
    (lambda: tg.log_softmax(X, dtype="bogus"), TypeError,
     r"log_softmax: dtype must be None or a floating NumPy dtype .*got 'bogus'"),
    (lambda: nn.KLDivLoss(reduction="avg"), ValueError, r"KLDivLoss: reduction must be one of"),
    (lambda: nn.NLLLoss(reduction="batchmean"), ValueError, r"NLLLoss: reduction must be one of"),
])
def test_loss_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------------------------
# The loss modules
# ------------------------------------------------------------------------------------------

def test_loss_modules_pass_their_options_on():
    rng = np.random.default_rng(8)
    z, t = tg.tensor(rng.standard_normal((3, 4))), np.array([0, 3, 1])
    w = rng.uniform(0.5, 2, 4)
    ce = nn.CrossEntropyLoss(w, ignore_index=1, reduction="sum", label_smoothing=0.2)
    assert ce(z, t).item() == tg.cross_entropy(z, t, w, ignore_index=1, reduction="sum",
                                               label_smoothing=0.2).item()
    assert nn.NLLLoss(w)(z, t).item() == tg.nll_loss(z, t, w).item()
    y = rng.uniform(0, 1, (3, 4))
    assert nn.BCEWithLogitsLoss(w, pos_weight=w * 2)(z, y).item() == \
        tg.binary_cross_entropy_with_logits(z, y, w, pos_weight=w * 2).item()
    assert nn.SmoothL1Loss(beta=0.3)(z, y).item() == tg.smooth_l1_loss(z, y, beta=0.3).item()
    assert nn.HuberLoss("sum", 0.3)(z, y).item() == tg.huber_loss(z, y, "sum", 0.3).item()
    assert nn.L1Loss(reduction="none")(z, y).shape == (3, 4)
    assert nn.KLDivLoss(reduction="batchmean")(z, y).item() == \
        tg.kl_div(z, y, reduction="batchmean").item()
    # PyTorch's deprecated flags and tensorgrad's earlier Loss(reduction) order
    assert nn.L1Loss(size_average=False).reduction == "sum"
    assert nn.MSELoss(reduce=False).reduction == "none"
    assert nn.MSELoss("sum").reduction == "sum"
    assert nn.CrossEntropyLoss("none")(z, t).shape == (3,)
    # weights are constants: no parameters, no gradient
    assert list(ce.parameters()) == []
    assert not ce.weight.requires_grad
    assert repr(nn.HuberLoss(reduction="sum")) == "HuberLoss(reduction='sum')"


def test_targets_and_weights_as_lists_and_tensors():
    x = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]])
    want = tg.cross_entropy(x, np.array([0, 2]), np.array([1.0, 2.0, 3.0])).item()
    assert tg.cross_entropy(x, [0, 2], [1.0, 2.0, 3.0]).item() == want
    assert tg.cross_entropy(x, tg.tensor(np.array([0, 2])), tg.tensor([1.0, 2.0, 3.0])).item() == want
    assert nn.CrossEntropyLoss([1.0, 2.0, 3.0])(x, [0, 2]).item() == want
    probs = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    assert tg.cross_entropy(x, probs).item() == pytest.approx(tg.cross_entropy(x, [0, 2]).item(),
                                                              rel=1e-15)
    assert tg.cross_entropy(x[1], 2).item() == pytest.approx(
        tg.cross_entropy(x[1:], [2]).item(), rel=1e-15)
