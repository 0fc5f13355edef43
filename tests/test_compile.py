"""tg.compile: a replayed step equals the eager one step after step (the notebook's network as
expressions, with conv2d and with tg.nn; an MLP with Adam; batch norm), the record is
redone for new shapes, verify catches a divergence, and what cannot be replayed is refused."""
import gc
import re
import warnings

import numpy as np
import pytest
from notebook_layer import conv_layer

import tensorgrad as tg
from tensorgrad import nn

KERNEL, DEPTH, HIDDEN = 3, 3, 7


def _close(a, b, dtype=np.float64, scale=None):
    """|a - b| <= tol · max(1, max|b|): the rewrites sum in another order."""
    tol = (1e-11 if np.dtype(dtype) == np.float64 else 2e-5)
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0))) if scale is None else scale
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale)


def _arrays(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"K1": (DEPTH, 1, KERNEL, KERNEL), "B1": (DEPTH, 8, 8),
              "K2": (DEPTH, DEPTH, KERNEL, KERNEL), "B2": (DEPTH, 6, 6),
              "W1": (HIDDEN, DEPTH * 36), "b1": (HIDDEN, 1), "W2": (2, HIDDEN), "b2": (2, 1)}
    return {k: (rng.normal(size=s) * 0.5).astype(dtype) for k, s in shapes.items()}


def _data(n, dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 1, 10, 10)).astype(dtype)
    t = np.eye(2, dtype=dtype)[rng.integers(0, 2, n)]
    return x, t


def _update(loss, opt):
    """The training step's end: backward, the optimiser's step, zero_grad; returns ``loss``."""
    loss.backward()
    opt.step()
    opt.zero_grad()
    return loss


def _expr_step(arrays, opt_kind="sgd"):
    p = {k: tg.tensor(v.copy(), requires_grad=True) for k, v in arrays.items()}
    opt = (tg.optim.SGD(list(p.values()), lr=0.1) if opt_kind == "sgd"
           else tg.optim.SGD(list(p.values()), lr=0.1, momentum=0.9))

    def step(x, t):
        a1 = tg.sigmoid(conv_layer(x, p["K1"], p["B1"]))
        a2 = tg.sigmoid(conv_layer(a1, p["K2"], p["B2"]))
        h = tg.sigmoid(p["W1"] @ tg.reshape(a2, (-1, 1)) + p["b1"])
        out = tg.sigmoid(p["W2"] @ h + p["b2"])
        loss = tg.binary_cross_entropy(out, t.reshape(2, 1))
        return _update(loss, opt)

    return step, p


def _conv2d_step(arrays, dtype=np.float64):
    p = {k: tg.tensor((v.reshape(-1) if k in ("b1", "b2") else v).copy(), requires_grad=True)
         for k, v in arrays.items()}
    opt = tg.optim.SGD(list(p.values()), lr=0.1)

    def step(x, t):
        h = tg.sigmoid(tg.conv2d(x, p["K1"]) + p["B1"])
        h = tg.sigmoid(tg.conv2d(h, p["K2"]) + p["B2"])
        h = tg.reshape(h, (len(x), -1))
        h = tg.sigmoid(h @ tg.transpose(p["W1"]) + p["b1"])
        out = tg.sigmoid(h @ tg.transpose(p["W2"]) + p["b2"])
        loss = tg.binary_cross_entropy(out, t)
        return _update(loss, opt)

    return step, p


def _nn_step(arrays, dtype=np.float64):
    net = nn.Sequential(
        nn.UntiedConv2d((1, 10, 10), KERNEL, DEPTH, rng=0, dtype=dtype), nn.Sigmoid(),
        nn.UntiedConv2d((DEPTH, 8, 8), KERNEL, DEPTH, rng=0, dtype=dtype), nn.Sigmoid(),
        nn.Flatten(), nn.Linear(DEPTH * 36, HIDDEN, rng=0, dtype=dtype), nn.Sigmoid(),
        nn.Linear(HIDDEN, 2, rng=0, dtype=dtype), nn.Sigmoid())
    names = {"K1": "0.weight", "B1": "0.bias", "K2": "2.weight", "B2": "2.bias",
             "W1": "5.weight", "b1": "5.bias", "W2": "7.weight", "b2": "7.bias"}
    net.load_state_dict({names[k]: (v.reshape(-1) if k in ("b1", "b2") else v).copy()
                         for k, v in arrays.items()})
    opt = tg.optim.SGD(net.parameters(), lr=0.1)

    def step(x, t):
        loss = tg.binary_cross_entropy(net(x), t)
        return _update(loss, opt)

    return step, dict(net.named_parameters())


def _run_pair(make, batches, dtype=np.float64, **compile_kw):
    """Train two copies, one eager and one compiled, on the same batches; compare the losses
    and the parameters after every step. Returns the compiled function."""
    arrays = _arrays(dtype)
    eager, p_eager = make(arrays)
    step, p_comp = make(arrays)
    compiled = tg.compile(step, **compile_kw)
    for x, t in batches:
        a, b = eager(x, t), compiled(x, t)
        _close(b.data, a.data, dtype)
        for k in p_eager:
            _close(p_comp[k].data, p_eager[k].data, dtype)
            assert p_comp[k].grad is None and p_eager[k].grad is None
    return compiled


def _program(compiled):
    (entry,) = [e for e in compiled._cache.values()]
    return entry.program


def _kinds(compiled):
    return [getattr(ins[1], "kind", "") for ins in _program(compiled).source if ins[0] == "custom"]


def _sgd_fused(compiled):
    """(dense weights updated by BLAS, parameters updated by axpy) of the fused SGD step, or
    None when there is none."""
    found = [k for k in _kinds(compiled) if k.startswith("SGD update in place")]
    if not found:
        return None
    (kind,) = found
    blas, axpy = re.search(r"(\d+) dense weights .* (\d+) parameters", kind).groups()
    return int(blas), int(axpy)


def _twins(make, calls, exact=True):
    """An eager and a compiled copy of the step that ``make()`` returns as ``(step, params)``,
    called on each argument tuple of ``calls``, the params' ``.grad`` reset first; the results
    (a Tensor or a tuple of them) and the gradients compared bit for bit (``exact``) or with
    :func:`_close`. Returns the compiled function."""
    (eager, p_e), (step, p_c) = make(), make()
    compiled = tg.compile(step)
    check = np.testing.assert_array_equal if exact else _close
    for args in calls:
        for p in p_e + p_c:
            p.grad = None
        got, want = compiled(*args), eager(*args)
        for a, b in zip(got if isinstance(got, tuple) else [got],
                        want if isinstance(want, tuple) else [want]):
            check(a.data, b.data)
        for pc, pe in zip(p_c, p_e):
            check(pc.grad.data, pe.grad.data)
            assert pc.grad.dtype == pe.grad.dtype
    return compiled


@pytest.mark.parametrize("rewrite", [True, False])
def test_the_notebook_expressions_replay_as_eager(rewrite):
    x, t = _data(6)
    batches = [(x[i], t[i]) for i in range(6)]
    compiled = _run_pair(_expr_step, batches, rewrite=rewrite)
    assert compiled.recordings == 2 and compiled.replays == 5  # one record, one verified replay
    kinds = _kinds(compiled)
    if rewrite:
        assert kinds.count("channel sum of correlate2d -> one batched correlation") == 2
        assert kinds.count("its VJPs -> one weight gradient and one transposed correlation") == 2
        assert _sgd_fused(compiled) == (2, 6)  # W1, W2 by BLAS; K1 K2, B1 B2, b1 b2 by axpy
        assert len(_program(compiled).source) < len(_program(compiled).recorded_code) / 4
    else:
        assert kinds == []


def test_without_rewrites_the_replay_is_exactly_eager():
    x, t = _data(4)
    arrays = _arrays()
    eager, p_eager = _expr_step(arrays)
    step, p_comp = _expr_step(arrays)
    compiled = tg.compile(step, rewrite=False)
    for i in range(4):
        assert compiled(x[i], t[i]).data == eager(x[i], t[i]).data
    for k in p_eager:
        np.testing.assert_array_equal(p_comp[k].data, p_eager[k].data)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_and_nn_forms_replay_as_eager_on_batches(dtype):
    x, t = _data(12, dtype)
    batches = [(x[i:i + 3], t[i:i + 3]) for i in range(0, 12, 3)]
    c1 = _run_pair(lambda a: _conv2d_step(a, dtype), batches, dtype)
    c2 = _run_pair(lambda a: _nn_step(a, dtype), batches, dtype)
    # the dense weights of batches, h @ transpose(W) and linear(h, W): gemm with beta = 1
    # instead of the gradient and the update
    assert _sgd_fused(c1) == (2, 6)
    assert _sgd_fused(c2) == (2, 6)


def test_momentum_is_not_fused_and_replays_as_eager():
    x, t = _data(4)
    compiled = _run_pair(lambda a: _expr_step(a, "momentum"), [(x[i], t[i]) for i in range(4)])
    assert _sgd_fused(compiled) is None


def test_a_learning_rate_changed_between_calls_is_read_at_replay():
    x, t = _data(5)
    arrays = _arrays()
    eager, p_eager = _expr_step(arrays)
    step, p_comp = _expr_step(arrays)
    compiled = tg.compile(step)
    opt_e = eager.__closure__[eager.__code__.co_freevars.index("opt")].cell_contents
    opt_c = step.__closure__[step.__code__.co_freevars.index("opt")].cell_contents
    for i in range(5):
        opt_e.lr = opt_c.lr = 0.1 / (i + 1)  # a schedule
        _close(compiled(x[i], t[i]).data, eager(x[i], t[i]).data)
    for k in p_eager:
        _close(p_comp[k].data, p_eager[k].data)


@pytest.mark.parametrize("make", [_expr_step, _conv2d_step])
def test_a_fused_update_falls_back_when_momentum_is_switched_on(make):
    x, t = _data(12)
    arrays = _arrays()
    eager, p_eager = make(arrays)
    step, p_comp = make(arrays)
    compiled = tg.compile(step)
    opts = [f.__closure__[f.__code__.co_freevars.index("opt")].cell_contents
            for f in (eager, step)]
    batches = [(x[i], t[i]) for i in range(6)] if make is _expr_step else [
        (x[i:i + 2], t[i:i + 2]) for i in range(0, 12, 2)]
    for k, (xb, tb) in enumerate(batches):
        if k == 3:  # after the record: the fused update no longer applies
            for opt in opts:
                opt.momentum = 0.9
        _close(compiled(xb, tb).data, eager(xb, tb).data)
    assert _sgd_fused(compiled)[0] == 2
    for k in p_eager:
        _close(p_comp[k].data, p_eager[k].data)


def test_an_mlp_with_adam_replays_as_eager_and_reads_the_step_count():
    rng = np.random.default_rng(3)

    def make():
        net = nn.Sequential(nn.Linear(6, 16, rng=0), nn.Tanh(), nn.Linear(16, 4, rng=1))
        opt = tg.optim.Adam(net.parameters(), lr=1e-2)

        def step(x, y):
            opt.zero_grad()
            loss = tg.mse_loss(net(x), y)
            loss.backward()
            opt.step()
            return loss
        return net, opt, step

    net_e, opt_e, eager = make()
    net_c, opt_c, step = make()
    compiled = tg.compile(step, verify=2)
    for _ in range(6):
        x, y = rng.normal(size=(8, 6)), rng.normal(size=(8, 4))
        _close(compiled(x, y).data, eager(x, y).data)
    for a, b in zip(net_c.parameters(), net_e.parameters()):
        _close(a.data, b.data)
        _close(a.grad.data, b.grad.data)  # zero_grad before backward: .grad is left filled
    assert opt_c.state[0]["step"] == opt_e.state[0]["step"] == 6
    assert compiled.recordings == 3 and compiled.replays == 5


def test_batch_norm_replays_as_eager_running_statistics_included():
    rng = np.random.default_rng(4)

    def make():
        net = nn.Sequential(nn.Linear(5, 8, rng=0), nn.BatchNorm1d(8), nn.ReLU(),
                            nn.Linear(8, 1, rng=1))
        opt = tg.optim.SGD(net.parameters(), lr=0.05, momentum=0.5)

        def step(x, y):
            loss = tg.mse_loss(net(x), y)
            return _update(loss, opt)
        return net, step

    net_e, eager = make()
    net_c, step = make()
    compiled = tg.compile(step)
    for _ in range(5):
        x, y = rng.normal(size=(6, 5)), rng.normal(size=(6, 1))
        _close(compiled(x, y).data, eager(x, y).data)
    assert compiled.eager_calls == 0 and compiled.replays == 4
    for (_name, a), b in zip(net_c.state_dict().items(), net_e.state_dict().values()):
        _close(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("rng", ["default", "generator", "seed"])
def test_batch_norm_and_dropout_replay_as_eager_with_a_new_mask_each_step(rng):
    """Dropout's mask is drawn again at every replay from the generator dropout uses (the
    default one, one of the module's own, or a new one from a seed as eagerly), so the
    compiled run draws the eager run's masks, step after step."""
    data = np.random.default_rng(7)

    def make():
        tg.manual_seed(0)
        kw = {} if rng == "default" else {"rng": 11}
        net = nn.Sequential(nn.Linear(5, 16, rng=0), nn.BatchNorm1d(16), nn.ReLU(),
                            nn.Dropout(0.5, **kw), nn.Linear(16, 1, rng=1))
        if rng == "seed":  # the functional form with an int seed: one mask for every call
            net[3].forward = lambda x: nn.functional.dropout(x, 0.5, rng=5)
        opt = tg.optim.Adam(net.parameters(), lr=1e-2)

        def step(x, y):
            loss = tg.mse_loss(net(x), y)
            return _update(loss, opt)
        return net, step

    batches = [(data.normal(size=(6, 5)), data.normal(size=(6, 1))) for _ in range(6)]
    net_e, eager = make()
    losses_e = [eager(x, y).data for x, y in batches]
    net_c, step = make()
    compiled = tg.compile(step)
    losses_c = [compiled(x, y).data for x, y in batches]
    for a, b in zip(losses_c, losses_e):
        _close(a, b)
    for (_name, a), b in zip(net_c.state_dict().items(), net_e.state_dict().values()):
        _close(np.asarray(a), np.asarray(b))
    assert compiled.eager_calls == 0 and compiled.replays == 5
    assert [ins[0] for ins in _program(compiled).source].count("draw") == 1


def test_other_random_draws_in_the_step_are_refused_and_run_eagerly():
    def make():
        tg.manual_seed(0)
        net = nn.Linear(4, 1, rng=0)
        opt = tg.optim.SGD(net.parameters(), lr=0.1)

        def step(x):
            loss = tg.sum(net(x + 0.1 * tg.randn(*x.shape)) ** 2)  # noise from an init-like draw
            return _update(loss, opt)
        return step

    x = np.ones((3, 4))
    eager = make()
    losses_e = [eager(x).data.item() for _ in range(3)]
    compiled = tg.compile(make())
    with pytest.warns(tg.CompileWarning, match="random numbers other than dropout"):
        losses_c = [compiled(x).data.item() for _ in range(3)]
    assert losses_c == losses_e and compiled.eager_calls == 2
    with pytest.raises(tg.CompileError, match="random numbers"):
        tg.compile(make(), strict=True)(x)


def test_a_new_shape_records_again_and_each_shape_replays():
    arrays = _arrays()
    eager, p_eager = _conv2d_step(arrays)
    step, p_comp = _conv2d_step(arrays)
    compiled = tg.compile(step)
    x, t = _data(10)
    for lo, hi in ((0, 2), (2, 5), (5, 7), (7, 10)):  # batches of 2, 3, 2, 3
        _close(compiled(x[lo:hi], t[lo:hi]).data, eager(x[lo:hi], t[lo:hi]).data)
    assert compiled.cache_size() == 2 and compiled.recordings == 4  # 2 records + 2 verified
    compiled(x[:2].astype(np.float32), t[:2].astype(np.float32))
    assert compiled.cache_size() == 3


def _plant_divergence(compiled):
    """Make the first sigmoid forward of ``compiled``'s program scale its result by 1.001."""
    program = _program(compiled)
    i = next(k for k, ins in enumerate(program.source) if ins[0] == "fwd"
             and ins[1].name == "sigmoid")
    good = program.steps[i]

    def planted(ctx):
        good(ctx)
        ctx.env[program.source[i][4]] *= 1.001

    program.steps[i] = planted


def test_verify_catches_a_planted_divergence():
    arrays = _arrays()
    step, _ = _expr_step(arrays)
    compiled = tg.compile(step)
    x, t = _data(2)
    compiled(x[0], t[0])
    _plant_divergence(compiled)
    with pytest.raises(tg.CompileError, match="differs from the eager run"):
        compiled(x[1], t[1])


def test_data_read_from_outside_the_arguments_is_caught_by_verify():
    arrays = _arrays()
    step, _ = _expr_step(arrays)
    x, t = _data(3)
    batches = iter([(x[i], t[i]) for i in range(3)])
    compiled = tg.compile(lambda: step(*next(batches)))
    compiled()
    with pytest.warns(tg.CompileWarning, match="recorded other ops"):
        compiled()
    assert compiled.eager_calls == 0 and compiled.cache_size() == 1
    compiled()
    assert compiled.eager_calls == 1


def _one_param_model():
    w = tg.tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1)
    return w, opt


def _refused(fn, *args, match):
    with pytest.raises(tg.CompileError, match=match):
        tg.compile(fn, strict=True)(*args)
    compiled = tg.compile(fn)
    with pytest.warns(tg.CompileWarning, match=match):
        compiled(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled(*args)  # eagerly, without a second warning
    assert compiled.eager_calls == 1


def test_refusals():
    w, opt = _one_param_model()
    x = np.array([1.0, 2.0])

    def reads_item(x):
        loss = tg.sum(w @ x)
        if loss.item() > 0:  # value-dependent control flow
            loss = loss * 2
        loss.backward()
        return loss

    _refused(reads_item, x, match=r"item\(\)")

    def writes_data(x):
        loss = tg.sum((w @ x) ** 2)
        loss.backward()
        w.data -= 0.1 * w.grad.data  # SGD by hand on .data
        w.grad = None
        return loss

    _refused(writes_data, x, match="writes into .data")

    def hooked(x):
        y = w @ x
        y.register_hook(lambda g: g * 2)
        loss = tg.sum(y)
        loss.backward()
        return loss

    _refused(hooked, x, match="hook")

    def forward_only(x):
        return tg.sum(w @ x)

    _refused(forward_only, x, match="graph is still alive")

    def clipped(x):
        loss = tg.sum((w @ x) ** 2)
        loss.backward()
        nn.utils.clip_grad_norm_([w], 1.0)
        opt.step()
        opt.zero_grad()
        return loss

    _refused(clipped, x, match="clip_grad_norm_")

    def second_order(x):
        (g,) = tg.grad(tg.sum((w @ x) ** 3), w, create_graph=True)
        return g.detach()

    _refused(second_order, x, match="create_graph")


def test_grad_inside_a_step_and_a_function_without_gradients():
    w = tg.tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)

    def grads(x):
        (g,) = tg.grad(tg.sum(tg.tanh(w @ x)), w)
        return g

    compiled = tg.compile(grads)
    for k in range(3):
        x = np.array([1.0, 2.0 + k])
        np.testing.assert_array_equal(compiled(x).data, grads(x).data)

    def predict(x):
        with tg.no_grad():
            return tg.softmax(w @ x, axis=0)

    compiled = tg.compile(predict)
    for k in range(3):
        x = tg.tensor([1.0, -k])
        np.testing.assert_array_equal(compiled(x).data, predict(x).data)
    assert compiled.replays == 2


def test_a_users_optimiser_subclass_is_called_at_replay():
    class HalvingSGD(tg.optim.SGD):
        def step(self, closure=None):
            for group in self.param_groups:  # Python state the replay must not freeze
                group["lr"] /= 2
            return super().step(closure)

    def make():
        w = tg.tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)
        opt = HalvingSGD([w], lr=0.4)

        def step(x):
            loss = tg.sum(tg.tanh(w @ x) ** 2)
            return _update(loss, opt)
        return w, step

    w_e, eager = make()
    w_c, step = make()
    compiled = tg.compile(step)
    for k in range(4):
        x = np.array([1.0, 0.5 * k])
        _close(compiled(x).data, eager(x).data)
    _close(w_c.data, w_e.data)
    assert compiled.replays == 3


def test_bad_arguments():
    with pytest.raises(TypeError, match="compile: fn must be callable"):
        tg.compile(3)
    with pytest.raises(ValueError, match="verify must be an int >= 0"):
        tg.compile(lambda: None, verify=-1)


def test_a_batched_convolution_split_over_two_threads_equals_one_thread_exactly():
    from tensorgrad.ops import _conv_kernels as ck

    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 16, 24, 24))
    w = rng.standard_normal((16, 16, 3, 3))
    g = rng.standard_normal((8, 16, 24, 24))
    pad, one = (1, 1, 1, 1), (1, 1)
    before = ck.get_num_threads()
    results = {}
    try:
        for n in (1, 2):
            ck.set_num_threads(n)
            results[n] = (ck.correlate_nchw(x, w, one, pad, one, 1),
                          ck.weight_grad_nchw(x, g, (3, 3), one, pad, one, 1),
                          ck.conv_transpose_nchw(g, w, (24, 24), one, pad, one, 1))
    finally:
        ck.set_num_threads(before)
    assert 2 * 8 * 16 * 16 * 9 * 576 >= ck.SPLIT_FLOP  # the case is large enough to split
    for a, b in zip(results[1], results[2]):  # the same halves, whatever the threads
        np.testing.assert_array_equal(b, a)
    with pytest.raises(ValueError, match="n must be 1 or 2"):
        ck.set_num_threads(3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_in_place_blas_updates(dtype):
    from tensorgrad.ops import _openblas

    if not _openblas.available():
        pytest.skip("NumPy's OpenBLAS was not found")
    rng = np.random.default_rng(6)
    w = rng.random((5, 7)).astype(dtype)
    y, x = rng.random(5).astype(dtype), rng.random(7).astype(dtype)
    expected = w - dtype(0.1) * np.outer(y, x)
    assert _openblas.rank1_update(w, -0.1, y, x)
    _close(w, expected, dtype)
    g, h = rng.random((3, 5)).astype(dtype), rng.random((3, 7)).astype(dtype)
    expected = w - dtype(0.1) * (g.T @ h)
    assert _openblas.product_update(w, -0.1, g, h, trans_a=True)
    _close(w, expected, dtype)
    g, h = rng.random((5, 3)).astype(dtype), rng.random((7, 3)).astype(dtype)
    expected = w - dtype(0.1) * (g @ h.T)
    assert _openblas.product_update(w, -0.1, g, h, trans_b=True)
    _close(w, expected, dtype)
    assert not _openblas.rank1_update(np.asfortranarray(w), -0.1, y, x)


def _cross_entropy_pair(**loss_kw):
    def make():
        net = nn.Linear(6, 4, rng=0)
        opt = tg.optim.SGD(net.parameters(), lr=0.1)

        def step(x, y):
            loss = tg.cross_entropy(net(x), y, **loss_kw)
            return _update(loss, opt)

        return step, net
    return make(), make()


def test_cross_entropy_of_class_indices_replays_with_each_call_s_labels():
    """cross_entropy picks the target classes with an index made from the labels' values:
    the replay makes it again from each call's labels (a record that kept the first call's
    index would pick the wrong classes)."""
    rng = np.random.default_rng(3)
    (eager, net_e), (step, net_c) = _cross_entropy_pair(label_smoothing=0.1)
    compiled = tg.compile(step)
    for _ in range(5):
        x, y = rng.normal(size=(8, 6)), rng.integers(0, 4, 8)
        _close(compiled(x, y).data, eager(x, y).data)
        _close(net_c.weight.data, net_e.weight.data)
    assert compiled.recordings == 2 and compiled.replays == 4 and compiled.eager_calls == 0


def test_cross_entropy_labels_outside_the_record_run_eagerly():
    """A batch with an ignored target (the mean's divisor then comes from the labels'
    values) or a label outside [0, C) runs eagerly: the same loss, or the same error."""
    rng = np.random.default_rng(4)
    (eager, net_e), (step, net_c) = _cross_entropy_pair()
    compiled = tg.compile(step)
    for _ in range(3):
        x, y = rng.normal(size=(8, 6)), rng.integers(0, 4, 8)
        _close(compiled(x, y).data, eager(x, y).data)
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 4, 8)
    y[2] = -100
    expected = eager(x, y).data
    _close(compiled(x, y).data, expected)
    assert compiled.eager_calls == 1
    _close(net_c.weight.data, net_e.weight.data)
    y[2] = 4
    with pytest.raises(ValueError, match=r"target classes must lie in \[0, 4\)"):
        compiled(x, y)
    y[2] = -1  # a negative label would index the last class if the replay took it
    with pytest.raises(ValueError, match="target classes must lie"):
        compiled(x, y)
    assert compiled.replays == 2


def test_cross_entropy_with_class_weights_is_refused():
    rng = np.random.default_rng(5)
    (_, _), (step, _) = _cross_entropy_pair(weight=np.array([1.0, 2.0, 1.0, 0.5]))
    compiled = tg.compile(step)
    with pytest.warns(tg.CompileWarning, match="class weights or ignored targets"):
        compiled(rng.normal(size=(8, 6)), rng.integers(0, 4, 8))
    assert compiled.eager_calls == 0 and compiled.cache_size() == 1


@pytest.mark.parametrize("change", ["dropout p", "slope", "freeze", "unfreeze", "new weight"])
def test_a_module_or_parameter_changed_between_calls_records_again(change):
    """A module's settings (dropout's p, a slope), the parameters it holds and a parameter's
    requires_grad decide the ops recorded: changed between calls, the step records again
    instead of replaying the old record (which would update a frozen weight, or use the old p)."""
    data = np.random.default_rng(8)
    batches = [(data.normal(size=(6, 5)), data.normal(size=(6, 1))) for _ in range(6)]

    def make():
        tg.manual_seed(0)
        net = nn.Sequential(nn.Linear(5, 8, rng=0), nn.LeakyReLU(0.1), nn.Dropout(0.5),
                            nn.Linear(8, 1, rng=1))
        opt = tg.optim.SGD(net.parameters(), lr=0.1)

        def step(x, y):
            loss = tg.mse_loss(net(x), y)
            return _update(loss, opt)
        return net, step

    def edit(net, i):
        if change == "unfreeze" and i == 0:
            net[0].weight.requires_grad = False
        if i != 3:
            return
        if change == "dropout p":
            net[2].p = 0.2
        elif change == "slope":
            net[1].negative_slope = 0.3
        elif change in ("freeze", "unfreeze"):
            net[0].weight.requires_grad = change == "unfreeze"
        else:  # a new Tensor, not in the optimiser: no longer trained
            net[3].weight = nn.Parameter(np.full((1, 8), 0.1))

    runs = []
    for compiled in (False, True):
        net, step = make()
        fn = tg.compile(step) if compiled else step
        losses = []
        for i, (x, y) in enumerate(batches):
            edit(net, i)
            losses.append(fn(x, y).data)
        runs.append((losses, [p.data for p in net.parameters()], fn))
    (losses_e, params_e, _), (losses_c, params_c, fn) = runs
    for a, b in zip(losses_c + params_c, losses_e + params_e):
        _close(a, b)
    assert fn.eager_calls == 0 and fn.replays == 4


@pytest.mark.parametrize("where", ["module", "tensor"])
def test_a_hook_added_between_calls_is_refused(where):
    """A hook registered after the record was made is Python the replay would not run: the
    next call records again and is refused (it runs eagerly, the hook called)."""
    w, opt = _one_param_model()
    lin = nn.Linear(2, 1, rng=0)
    opt = tg.optim.SGD([w, *lin.parameters()], lr=0.1)

    def step(x):
        loss = tg.sum(lin(x @ w) ** 2)
        return _update(loss, opt)

    compiled = tg.compile(step)
    x = np.array([[1.0, 2.0], [0.5, -1.0]])
    compiled(x), compiled(x)
    seen = []
    if where == "module":
        lin.register_forward_hook(lambda m, i, o: seen.append(1))
    else:
        w.register_hook(lambda g: seen.append(1))
    with pytest.warns(tg.CompileWarning, match="hook"):
        compiled(x)
    compiled(x)
    assert len(seen) == 2 and compiled.eager_calls == 1


def test_a_verified_call_closes_its_temporary_file():
    """verify sets the replay's results aside in a temporary file: it is closed when the
    call ends (no ResourceWarning when it is collected), also when the step is refused."""
    w, opt = _one_param_model()

    def step(x):
        loss = tg.sum((x @ w) ** 2)
        return _update(loss, opt)

    compiled = tg.compile(step, verify=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            compiled(np.array([[1.0, 2.0]]))
        gc.collect()
    assert compiled.replays == 2
    assert not [c for c in caught if issubclass(c.category, ResourceWarning)]


def test_a_step_that_reseeds_the_default_generator_is_refused():
    """tg.manual_seed inside the step gives the same dropout mask at every eager call; a replay
    would not reseed (the masks would differ): the step runs eagerly."""
    def make():
        net = nn.Linear(4, 3, rng=0)
        opt = tg.optim.SGD(net.parameters(), lr=0.1)

        def step(x):
            tg.manual_seed(0)
            loss = tg.sum(nn.functional.dropout(net(x), 0.5) ** 2)
            return _update(loss, opt)
        return step, net

    x = np.arange(8.0).reshape(2, 4) / 8
    (eager, net_e), (step, net_c) = make(), make()
    compiled = tg.compile(step, verify=0)
    with pytest.warns(tg.CompileWarning, match="manual_seed"):
        losses_c = [compiled(x).data for _ in range(3)]
    losses_e = [eager(x).data for _ in range(3)]
    np.testing.assert_array_equal(losses_c, losses_e)
    np.testing.assert_array_equal(net_c.weight.data, net_e.weight.data)
    assert compiled.eager_calls == 2


@pytest.mark.parametrize("when", ["before step", "after step", "kept past zero_grad"])
def test_an_op_reading_a_grad_is_refused(when):
    """A gradient norm computed in the step reads the .grad the backward made -- a new Tensor
    at every call: a record would keep the first call's (verify=0 replayed stale norms). The
    step runs eagerly, its norms those of each call."""
    def make():
        net = nn.Linear(3, 2, rng=0)
        opt = tg.optim.SGD(net.parameters(), lr=0.1)

        def step(x):
            loss = tg.sum(tg.tanh(net(x)) ** 2)
            loss.backward()
            g = net.weight.grad
            norm = tg.sum(g ** 2) if when == "before step" else None
            opt.step()
            if when == "after step":
                norm = tg.sum(g ** 2)
            opt.zero_grad()
            if when == "kept past zero_grad":
                norm = tg.sum(g ** 2)
            return loss, norm
        return step

    rng = np.random.default_rng(2)
    xs = [rng.normal(size=(4, 3)) for _ in range(3)]
    eager = make()
    expected = [eager(x)[1].data for x in xs]
    compiled = tg.compile(make(), verify=0)
    with pytest.warns(tg.CompileWarning, match=r"an op reads a \.grad"):
        norms = [compiled(x)[1].data for x in xs]
    np.testing.assert_array_equal(norms, expected)
    assert compiled.eager_calls == 2


def test_batch_norm_in_eval_mode_records_again_when_its_running_statistics_change():
    """In eval mode batch_norm normalises with constants computed from the running statistics
    with NumPy: training between two evaluations changes them, and the evaluation records
    again (verify=0 replayed the first statistics); unchanged, it replays."""
    data = np.random.default_rng(6)
    batches = [(data.normal(size=(6, 5)), data.normal(size=(6, 1))) for _ in range(4)]
    def make():
        net = nn.Sequential(nn.Linear(5, 8, rng=0), nn.BatchNorm1d(8), nn.Linear(8, 1, rng=1))
        opt = tg.optim.SGD(net.parameters(), lr=0.1)

        def train(x, y):
            loss = tg.mse_loss(net(x), y)
            return _update(loss, opt)

        def evaluate(x):
            with tg.no_grad():
                return net(x)
        return net, train, evaluate

    runs = []
    for compiled in (False, True):
        net, train, evaluate = make()
        ev = tg.compile(evaluate, verify=0) if compiled else evaluate
        outs = []
        for x, y in batches:
            net.train()
            train(x, y)
            net.eval()
            outs += [ev(x).data, ev(x).data]
        runs.append(outs)
    for a, b in zip(*runs):
        _close(a, b)
    assert ev.recordings == 4 and ev.replays == 4


def _indexed_pair(loss_of):
    def make():
        w = tg.tensor(np.random.default_rng(0).normal(size=(10, 4)), requires_grad=True)
        opt = tg.optim.SGD([w], lr=0.1)

        def step(index):
            loss = tg.sum(tg.tanh(loss_of(w, index)) ** 2)
            return _update(loss, opt)
        return step, w
    return make(), make()


@pytest.mark.parametrize("form", ["tensor index", "take", "take_along_axis"])
def test_an_index_argument_is_read_at_every_replay(form):
    """An integer index given as an argument -- a Tensor, or the array take and
    take_along_axis copy to np.intp -- is read from each call (the record kept the first
    call's index as a constant: verify=0 replayed it)."""
    loss_of = {"tensor index": lambda w, i: w[i],
               "take": lambda w, i: tg.take(w, i, axis=0),
               "take_along_axis": lambda w, i: tg.take_along_axis(w, i[:, None], 1)}[form]
    (eager, w_e), (step, w_c) = _indexed_pair(loss_of)
    compiled = tg.compile(step, verify=0)
    rng = np.random.default_rng(1)
    for _ in range(4):
        i = rng.integers(0, 10 if form != "take_along_axis" else 4, 10)
        i = tg.tensor(i) if form == "tensor index" else i
        _close(compiled(i).data, eager(i).data)
        _close(w_c.data, w_e.data)
    assert compiled.replays == 3


def test_a_boolean_mask_argument_selecting_another_count_runs_eagerly():
    """The shapes after ``w[mask]`` depend on how many elements the mask selects: a mask
    argument selecting another number than the recorded call's runs that call eagerly (the
    replay raised a ValueError in a reshape); a mask computed in the step is refused."""
    (eager, w_e), (step, w_c) = _indexed_pair(lambda w, m: w[m])
    compiled = tg.compile(step, verify=0)
    rng = np.random.default_rng(2)
    for count in (20, 20, 17, 20):
        m = np.zeros(40, bool)
        m[rng.choice(40, count, replace=False)] = True
        m = m.reshape(10, 4)
        _close(compiled(m).data, eager(m).data)
        _close(w_c.data, w_e.data)
    assert compiled.replays == 2 and compiled.eager_calls == 1
    (_, _), (step, _) = _indexed_pair(lambda w, x: w[(w * x) > 0])
    with pytest.raises(tg.CompileError, match="boolean mask computed in the step"):
        tg.compile(step, strict=True)(np.ones((10, 4)))


@pytest.mark.parametrize("size", [(4, 6), (64, 96), "no BLAS"])  # NumPy; BLAS; BLAS missing
@pytest.mark.parametrize("form", ["W @ vector", "W @ stack", "linear, batch", "linear, stack"])
@pytest.mark.parametrize("momentum_later", [False, True])
def test_the_fused_update_of_a_dense_weight(monkeypatch, size, form, momentum_later):
    """The fused SGD update of a dense weight, small (NumPy's product into the work array) and
    large (one BLAS update): ``W @ h`` with h a vector (dW = g hᵀ, an outer product; this
    raised an IndexError once) or a stack of matrices (dW = Σ_b g_b h_bᵀ; once updated W
    wrongly), ``linear(x, W)`` with x a batch or a stack; also through ``.grad`` once
    momentum is on. Without NumPy's OpenBLAS (another NumPy build) a large weight takes the
    same update through NumPy."""
    if size == "no BLAS":
        from tensorgrad.ops import _openblas

        monkeypatch.setattr(_openblas, "rank1_update", lambda *a, **k: False)
        monkeypatch.setattr(_openblas, "product_update", lambda *a, **k: False)
        size = (64, 96)
    n_out, n_in = size
    h_shape = {"W @ vector": (n_in,), "W @ stack": (2, n_in, 3), "linear, batch": (5, n_in),
               "linear, stack": (2, 3, n_in)}[form]

    def make():
        w = tg.tensor(np.random.default_rng(0).normal(size=size) * 0.3, requires_grad=True)
        opt = tg.optim.SGD([w], lr=0.1)

        def step(h):
            y = w @ h if form.startswith("W @") else nn.functional.linear(h, w)
            return _update(tg.sum(tg.tanh(y) ** 2), opt)
        return step, w, opt

    (eager, w_e, opt_e), (step, w_c, opt_c) = make(), make()
    compiled = tg.compile(step, verify=0)
    rng = np.random.default_rng(3)
    for i in range(4):
        if momentum_later and i == 2:
            opt_e.param_groups[0]["momentum"] = opt_c.param_groups[0]["momentum"] = 0.9
        h = rng.normal(size=h_shape)
        _close(compiled(h).data, eager(h).data)
        _close(w_c.data, w_e.data)
    assert _sgd_fused(compiled) == (1, 0) and compiled.replays == 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reshape_and_a_mean_of_every_element_replay_bit_for_bit(dtype, keepdims):
    """``reshape`` and a ``mean`` over every element, forward and VJP, replay as one NumPy
    call each: the same bits as the ops (float16's mean, which NumPy sums in float32, takes
    the op)."""
    w0 = np.random.default_rng(4).normal(size=(3, 4)).astype(dtype)

    def make():
        w = tg.tensor(w0.copy(), requires_grad=True)

        def step(x):
            loss = tg.sum(tg.mean(tg.sigmoid(tg.reshape(w * x, (2, 6))), keepdims=keepdims))
            loss.backward()
            return loss
        return step, (w,)

    compiled = _twins(make, [(np.random.default_rng(i).normal(size=(3, 4)).astype(dtype),)
                             for i in range(4)])
    assert compiled.replays == 3
    assert {"reshape", "reshape's VJP", "mean of every element", "mean's VJP"} <= set(
        _kinds(compiled))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_products_of_matrices_replay_bit_for_bit(dtype):
    """``matmul`` and ``linear`` of 2-D operands replay as ``np.matmul`` forward and backward:
    the same bits as the ops; an inner length of 1 (the op's outer product) and a vector
    operand keep the op."""
    rng = np.random.default_rng(5)
    arrays = [rng.normal(size=s).astype(dtype) for s in [(5, 4), (4, 4), (4, 1), (1, 2), (4,)]]

    def make():
        a, w, c, d, v = (tg.tensor(x.copy(), requires_grad=True) for x in arrays)

        def step(x):
            h = tg.tanh(nn.functional.linear(x * a[0], w))  # (6, 4) @ (4, 4)ᵀ
            y = tg.sigmoid(a @ h.T)                   # (5, 4) @ (4, 6)
            z = (c @ d) @ tg.sum(y, axis=0)[:2]       # an inner length 1; a vector
            loss = tg.sum(y * y) + z @ v + tg.sum(a @ v)
            loss.backward()
            return loss
        return step, (a, w, c, d, v)

    compiled = _twins(make, [(np.random.default_rng(i).normal(size=(6, 4)).astype(dtype),)
                             for i in range(4)])
    kinds = _kinds(compiled)
    assert compiled.replays == 3 and {"matmul", "linear", "matmul's VJP", "linear's VJP"} <= set(kinds)


@pytest.mark.parametrize("layout", ["direct", "swapped"])
@pytest.mark.parametrize("form", ["linear", "matmul"])
def test_a_large_product_replays_in_the_layout_timed_faster(monkeypatch, layout, form):
    """A product of 2^20 multiply-adds or more is timed in both layouts at its first replay
    and replayed in the faster: A B, or (Bᵀ Aᵀ)ᵀ in C order. Either gives eager's values (the
    second to the last bits of its sums); the choice is forced here."""
    from tensorgrad import _rewrites

    monkeypatch.setattr(_rewrites, "_faster", lambda first, second, *a: {
        "direct": first, "swapped": second}[layout])
    rng = np.random.default_rng(7)
    w0 = rng.normal(size=(128, 512)) * 0.05

    def make():
        w = tg.tensor(w0.copy(), requires_grad=True)

        def step(x):
            y = nn.functional.linear(x, w) if form == "linear" else x @ tg.transpose(w)
            loss = tg.sum(tg.tanh(y) ** 2)
            loss.backward()
            return y
        return step, (w,)

    compiled = _twins(make, [(rng.normal(size=(32, 512)),) for _ in range(3)],
                      exact=layout == "direct")
    assert compiled(rng.normal(size=(32, 512))).data.flags.c_contiguous
    assert (f"{form}, as (Bᵀ Aᵀ)ᵀ" in _kinds(compiled)) == (layout == "swapped")


def test_the_layout_timing_keeps_the_first_unless_the_second_is_clearly_faster():
    import time

    from tensorgrad import _rewrites

    def slow(x):
        time.sleep(0.002)

    def fast(x):
        pass

    assert _rewrites._faster(slow, fast, 0) is fast
    assert _rewrites._faster(fast, slow, 0) is fast


@pytest.mark.parametrize("shape", [(2, 4, 9, 8), (4, 9, 8)])  # a batch; one unbatched image
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_gradients_replay_bit_for_bit(shape, dtype):
    """conv2d's VJPs on a batch replay as the forwards of the primitives they bind (input, weight and bias
    gradients: the same bits as the op); an unbatched image keeps the op."""
    rng = np.random.default_rng(8)
    w0, b0 = rng.normal(size=(6, 2, 3, 2)).astype(dtype), rng.normal(size=6).astype(dtype)

    def make():
        w, b = tg.tensor(w0.copy(), requires_grad=True), tg.tensor(b0.copy(), requires_grad=True)

        def step(x):
            y = tg.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
            loss = tg.sum(tg.tanh(y) ** 2)
            loss.backward()
            return loss
        return step, (w, b)

    (eager, p_e), (step, p_c) = make(), make()
    compiled = tg.compile(step)
    for i in range(3):
        x_e = tg.tensor(np.random.default_rng(i).normal(size=shape).astype(dtype),
                        requires_grad=True)
        x_c = tg.tensor(x_e.data.copy(), requires_grad=True)
        for p in p_e + p_c:
            p.grad = None
        np.testing.assert_array_equal(compiled(x_c).data, eager(x_e).data)
        np.testing.assert_array_equal(x_c.grad.data, x_e.grad.data)
        for pc, pe in zip(p_c, p_e):
            np.testing.assert_array_equal(pc.grad.data, pe.grad.data)
    assert compiled.replays == 2
    assert _kinds(compiled).count("conv2d's VJP") == (3 if len(shape) == 4 else 0)
    assert _kinds(compiled).count("conv2d") == (1 if len(shape) == 4 else 0)


@pytest.mark.parametrize("case", ["bias", "returned", "read twice", "float64 bias"])
def test_a_bias_is_added_in_place_only_where_nothing_else_sees_the_product(case):
    """``y + b`` is written into a fresh product ``y`` that nothing else reads; not when the
    step returns ``y``, reads it again, or the sum has another dtype. Values bit for bit."""
    rng = np.random.default_rng(9)
    w0 = rng.normal(size=(4, 6)).astype(np.float32)
    b0 = rng.normal(size=4).astype(np.float64 if case == "float64 bias" else np.float32)

    def make():
        w, b = tg.tensor(w0.copy(), requires_grad=True), tg.tensor(b0.copy(), requires_grad=True)

        def step(x):
            y = x @ tg.transpose(w)
            z = y + b
            loss = tg.sum(tg.tanh(z) ** 2) + (tg.sum(y) if case == "read twice" else 0)
            loss.backward()
            return (loss, y) if case == "returned" else loss
        return step, (w, b)

    compiled = _twins(make, [(np.random.default_rng(i).normal(size=(5, 6)).astype(np.float32),)
                             for i in range(3)])
    in_place = "add, written into its first operand" in _kinds(compiled)
    assert in_place == (case in ("bias", "float64 bias"))  # float64: falls back at replay


@pytest.mark.parametrize("case", ["in place", "read twice", "small", "float16"])
def test_a_sigmoid_of_a_fresh_sum_is_written_into_it(case):
    """sigmoid(y + b) of a fresh product y that nothing else reads is computed in y's array
    (from 512 elements, its vectorised path), and its VJP reads only the cotangent and the
    result; the same bits as eager. Not when the sum is read again or is small."""
    dtype = np.float16 if case == "float16" else np.float64
    n = 3 if case == "small" else 200
    rng = np.random.default_rng(10)
    w0, b0 = rng.normal(size=(8, 6)).astype(dtype), rng.normal(size=8).astype(dtype)

    def make():
        w, b = tg.tensor(w0.copy(), requires_grad=True), tg.tensor(b0.copy(), requires_grad=True)

        def step(x):
            z = x @ tg.transpose(w) + b
            loss = tg.sum(tg.sigmoid(z) ** 2) + (tg.sum(z) if case == "read twice" else 0)
            loss.backward()
            return loss
        return step, (w, b)

    compiled = _twins(make, [(np.random.default_rng(i).normal(size=(n, 6)).astype(dtype),)
                             for i in range(3)])
    kinds = _kinds(compiled)
    assert ("sigmoid, written into its input" in kinds) == (case in ("in place", "float16"))
    assert "sigmoid's VJP" in kinds


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_replays_bit_for_bit_and_still_checks_its_input(dtype):
    """binary_cross_entropy's forward replays without its shape check (the record's shapes
    passed it) but with its check of p: a replayed p outside [0, 1] raises eager's error."""
    w0 = np.random.default_rng(11).normal(size=(4, 3)).astype(dtype)

    def make():
        w = tg.tensor(w0.copy(), requires_grad=True)

        def step(x, p, t):
            loss = (tg.binary_cross_entropy(tg.sigmoid(x @ w), t)
                    + tg.binary_cross_entropy(p, t, reduction="sum"))
            loss.backward()
            return loss
        return step, (w,)

    rng = np.random.default_rng(12)
    t = rng.integers(0, 2, size=(5, 3)).astype(dtype)
    calls = [(rng.normal(size=(5, 4)).astype(dtype), rng.uniform(size=(5, 3)).astype(dtype), t)
             for _ in range(3)]
    compiled = _twins(make, calls)
    x, p, t = calls[-1]
    assert _kinds(compiled).count("binary_cross_entropy") == 2 and compiled.replays == 2
    p[0, 0] = 1.5
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].* got values from .* to 1.5"):
        compiled(x, p, t)


def test_the_folded_optimiser_calls_run_when_a_gradient_goes_to_grad():
    """With every parameter fused, the replay makes no ``step()``/``zero_grad()`` calls (they
    would find every ``.grad`` None) unless a gradient went to ``.grad``: here a ``.grad``
    set by hand before the call, which eager adds to and the optimiser's step then uses."""
    def make():
        rng = np.random.default_rng(13)
        w = tg.tensor(rng.normal(size=(3, 4)), requires_grad=True)
        b = tg.tensor(rng.normal(size=3), requires_grad=True)
        opt = tg.optim.SGD([w, b], lr=0.1)
        calls = []
        step_method = opt.step

        def counted():
            calls.append(1)
            return step_method()

        def step(x):
            return _update(tg.sum(tg.tanh(x @ tg.transpose(w) + b) ** 2), opt)
        return step, (w, b), opt, calls, counted

    (eager, p_e, _, _, _), (step, p_c, opt_c, calls, counted) = make(), make()
    compiled = tg.compile(step)
    rng = np.random.default_rng(14)
    for i in range(5):
        x = rng.normal(size=(6, 4))
        if i == 4:
            for p in (p_e[1], p_c[1]):
                p.grad = tg.tensor(np.ones(3))
            opt_c.step = counted  # (an instance attribute: seen by the call if it is made)
        _close(compiled(x).data, eager(x).data)
        for pc, pe in zip(p_c, p_e):
            _close(pc.data, pe.data)
            assert pc.grad is None and pe.grad is None
    assert calls == [1] and compiled.replays == 4  # called once: for the .grad set by hand


@pytest.mark.parametrize("change", ["remove", "move", "drop group"])
def test_the_fused_update_follows_parameters_moved_between_groups(change):
    """The fused SGD update looks its parameters' groups up at every replay: a parameter
    taken out of the optimiser is no longer updated, one moved to another group gets that
    group's lr, a dropped group no longer trains (the record kept the recorded groups: a
    wrong update, or an IndexError)."""
    data = np.random.default_rng(9)
    batches = [(data.normal(size=(6, 5)), data.normal(size=(6, 2))) for _ in range(5)]

    def make():
        a, b = nn.Linear(5, 8, rng=0), nn.Linear(8, 2, rng=1)
        opt = tg.optim.SGD([{"params": a.parameters(), "lr": 0.2}, {"params": b.parameters()}],
                           lr=0.1)

        def step(x, y):
            loss = tg.mse_loss(b(tg.tanh(a(x))), y)
            return _update(loss, opt)

        def edit():
            g0, g1 = opt.param_groups
            if change == "drop group":
                del opt.param_groups[1]
                return
            g0["params"] = [p for p in g0["params"] if p is not a.weight]
            if change == "move":
                g1["params"] = [*g1["params"], a.weight]
        return step, edit, [*a.parameters(), *b.parameters()]

    (eager, edit_e, ps_e), (step, edit_c, ps_c) = make(), make()
    compiled = tg.compile(step, verify=0)
    for i, (x, y) in enumerate(batches):
        if i == 2:
            edit_e()
            edit_c()
        _close(compiled(x, y).data, eager(x, y).data)
        for p, q in zip(ps_c, ps_e):
            _close(p.data, q.data)
    assert compiled.replays == 4


def test_the_grad_mode_is_part_of_the_signature():
    """A step recorded with gradients on and called under no_grad runs eagerly (and raises
    as eagerly: its loss has no graph) instead of replaying the training step; a function
    recorded under no_grad and called with gradients on records again, its result then
    carries a graph as eagerly."""
    w, opt = _one_param_model()

    def step(x):
        loss = tg.sum((x @ w) ** 2)
        return _update(loss, opt)

    compiled = tg.compile(step)
    x = np.array([[1.0, 2.0]])
    compiled(x), compiled(x)
    before = w.data.copy()
    with tg.no_grad(), pytest.raises(tg.BackwardError, match="does not require grad"):
        compiled(x)
    np.testing.assert_array_equal(w.data, before)

    evaluate = tg.compile(lambda x: tg.sum(x @ w))
    with tg.no_grad():
        evaluate(x), evaluate(x)
    with pytest.warns(tg.CompileWarning, match="graph is still alive"):
        out = evaluate(x)
    assert out.requires_grad and evaluate.cache_size() == 2


def test_a_verified_replay_that_raises_puts_the_originals_back():
    """A verified replay runs on the parameters (their values before it set aside on disk)
    and on copies of the optimiser's attributes: when it raises (an index out of range),
    the originals are put back -- the optimiser's param_groups were once left as the copies,
    so a learning rate set through a group dict held before was lost -- and the next replay
    is verified."""
    w = tg.tensor(np.arange(8.0).reshape(4, 2) / 8, requires_grad=True)
    opt = tg.optim.Adam([w], lr=0.1)
    group, array = opt.param_groups[0], w.data

    def step(i):
        loss = tg.sum(w[i] ** 2)
        return _update(loss, opt)

    compiled = tg.compile(step)
    compiled(np.array([0, 1]))
    with pytest.raises(IndexError, match="out of bounds"):
        compiled(np.array([0, 9]))
    assert w.data is array and opt.param_groups[0] is group
    group["lr"] = 0.0
    before = w.data.copy()
    compiled(np.array([1, 2]))
    np.testing.assert_array_equal(w.data, before)
    assert compiled.replays == 1 and compiled.recordings == 2  # verified: a second recording


def test_a_changing_non_tensor_argument_stops_recording_at_the_signature_limit():
    """A step counter passed to the compiled function makes every call a new signature:
    after MAX_SIGNATURES records, new signatures run eagerly (one warning), results intact."""
    from tensorgrad.compiled import MAX_SIGNATURES

    def make():
        net = nn.Linear(3, 1, rng=0)
        opt = tg.optim.SGD(net.parameters(), lr=0.01)

        def step(x, i):
            loss = tg.sum(net(x) ** 2) * (1.0 + 0.0 * i)
            return _update(loss, opt)
        return net, step

    net_e, eager = make()
    net_c, step = make()
    compiled = tg.compile(step, verify=0)
    x = np.ones((2, 3))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for i in range(MAX_SIGNATURES + 5):
            _close(compiled(x, i).data, eager(x, i).data)
    assert compiled.cache_size() == MAX_SIGNATURES and compiled.eager_calls == 5
    assert compiled.recordings == MAX_SIGNATURES
    messages = [str(w.message) for w in seen if issubclass(w.category, tg.CompileWarning)]
    assert len(messages) == 1 and "step counter" in messages[0] and "int" in messages[0]
    _close(net_c.weight.data, net_e.weight.data)
    strict = tg.compile(make()[1], verify=0, strict=True)
    for i in range(MAX_SIGNATURES):
        strict(x, i)
    with pytest.raises(tg.CompileError, match="64 input signatures recorded"):
        strict(x, MAX_SIGNATURES)


def test_the_records_constants_are_not_changed_through_a_gradient_handed_out():
    """The backward's seed is a constant of the record, and add's VJP hands it on unchanged:
    a leaf added to the loss got the constant itself as its ``.grad``. Scaling that ``.grad``
    in place between calls (``clip_grad_norm_`` before the optimiser's step) once scaled the
    seed of every later replay, silently (verify checks only the first)."""
    def make():
        w = tg.tensor(np.array([[0.5, -0.3]]), requires_grad=True)
        b = tg.tensor(np.array(0.2), requires_grad=True)  # a learned offset of the loss
        opt = tg.optim.SGD([w, b], lr=0.1)

        def forward_backward(x):
            loss = tg.sum((x @ tg.transpose(w)) ** 2) + b
            loss.backward()
            return loss
        return forward_backward, (w, b), opt

    (eager, p_e, opt_e), (step, p_c, opt_c) = make(), make()
    compiled = tg.compile(step)
    x = np.array([[1.0, 2.0], [0.5, -1.0]])
    for _ in range(5):
        for f, params, opt in ((eager, p_e, opt_e), (compiled, p_c, opt_c)):
            f(x)
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad()
        for pc, pe in zip(p_c, p_e):
            np.testing.assert_array_equal(pc.data, pe.data)
    assert compiled.replays == 4


def test_a_step_whose_replay_failed_verify_is_not_replayed_afterwards():
    """When verify finds the replay differing from the eager run it raises, the eager run's
    state kept; the record is then dropped (the step runs eagerly), as for a step that
    records other ops: it was once replayed, unchecked, at the next call (a caller that
    catches the error, a notebook cell run again)."""
    arrays = _arrays()
    eager, p_e = _expr_step(arrays)
    step, p_c = _expr_step(arrays)
    compiled = tg.compile(step)
    x, t = _data(4)
    eager(x[0], t[0]), compiled(x[0], t[0])
    _plant_divergence(compiled)
    eager(x[1], t[1])
    with pytest.raises(tg.CompileError, match="differs from the eager run"):
        compiled(x[1], t[1])
    for k in range(2, 4):
        np.testing.assert_array_equal(compiled(x[k], t[k]).data, eager(x[k], t[k]).data)
        for name in p_e:
            np.testing.assert_array_equal(p_c[name].data, p_e[name].data)
    assert compiled.replays == 0 and compiled.eager_calls == 2


def test_the_optimiser_calls_stay_when_a_parameter_gets_no_gradient_in_the_step():
    """The optimiser's step()/zero_grad() fold into the fused update only when every one of
    its parameters is updated there. Two backward passes gave the weight two fused updates,
    counted as two parameters: the calls were folded although ``v`` gets no gradient in the
    step, and a gradient it had from elsewhere was neither applied nor cleared."""
    def make():
        lin = nn.Linear(4, 3, rng=0)
        v = tg.tensor(np.ones(2), requires_grad=True)
        opt = tg.optim.SGD([*lin.parameters(), v], lr=0.1)

        def step(x1, x2):
            tg.sum(tg.tanh(lin(x1)) ** 2).backward()
            loss = tg.sum((x2 @ tg.transpose(lin.weight)) ** 2)  # a second loss: the weight's
            return _update(loss, opt)
        return step, (lin.weight, lin.bias, v)

    (eager, p_e), (step, p_c) = make(), make()
    compiled = tg.compile(step)
    rng = np.random.default_rng(15)
    for i in range(4):
        x1, x2 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
        if i >= 2:  # a gradient of v's from elsewhere
            p_e[2].grad, p_c[2].grad = tg.tensor(np.ones(2)), tg.tensor(np.ones(2))
        _close(compiled(x1, x2).data, eager(x1, x2).data)
        for pc, pe in zip(p_c, p_e):
            _close(pc.data, pe.data)
            assert pc.grad is None and pe.grad is None
    assert compiled.replays == 3
