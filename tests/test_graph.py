"""tg.graph: nodes read from the recorded graph, the text tree, DOT text in its three forms,
rendering through Graphviz, module paths and parameter names."""
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from notebook_layer import conv_layer

import tensorgrad as tg
from tensorgrad import nn


def _nodes(dot):
    return dict(re.findall(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M))


def _edges(dot):
    return re.findall(r"^  (\w+) -> (\w+);$", dot, re.M)


def _small():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    return x, w, (x * w + 1.0).sum()


def test_nodes_ops_shapes_and_inputs():
    x, w, y = _small()
    g = tg.graph(y, params={"w": w})
    assert [(n.kind, n.label) for n in g] == [
        ("leaf", "leaf"), ("param", "w"), ("op", "multiply"), ("constant", "1.0"),
        ("op", "add"), ("op", "sum")]
    assert [n.inputs for n in g] == [(), (), (0, 1), (), (2, 3), (4,)]
    assert g.outputs == [5]
    assert g[2].shape == (2,) and g[2].dtype == "float64" and g[5].shape == ()
    assert g.node_of(x).id == 0 and g.node_of(y).tensor is y
    assert g[5].params == {"axis": "None", "keepdims": "False"}
    assert g[5].shown_params() == {}  # all defaults
    assert all(n.grad_norm is None for n in g)


def test_dot_of_a_small_graph():
    _, w, y = _small()
    dot = tg.graph(y, params={"w": w}).to_dot()
    assert dot.startswith("digraph tensorgrad {") and dot.endswith("}\n")
    assert _nodes(dot) == {"n0": r"leaf\n(2,) float64", "n1": r"w\n(2,) float64",
                           "n2": r"multiply\n(2,) float64", "n3": "1.0",
                           "n4": r"add\n(2,) float64", "n5": r"sum\n() float64"}
    assert _edges(dot) == [("n0", "n2"), ("n1", "n2"), ("n2", "n4"), ("n3", "n4"),
                           ("n4", "n5")]
    assert re.search(r'n5 \[.*penwidth="2"', dot)  # the output is drawn bold


def test_shared_inputs_and_several_outputs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = tg.exp(x)
    g = tg.graph(a * a, a + x)
    assert [n.label for n in g] == ["leaf", "exp", "multiply", "add"]
    assert g[2].inputs == (1, 1) and g[3].inputs == (1, 0)
    assert g.outputs == [2, 3]
    assert _edges(g.to_dot()) == [("n0", "n1"), ("n1", "n2"), ("n1", "n3"), ("n0", "n3")]


def test_static_params_shown_and_big_arrays_summarised():
    x = tg.tensor(np.arange(32.0).reshape(1, 2, 4, 4), requires_grad=True)
    g = tg.graph(tg.max_pool2d(x, 2))
    pool = g[1]
    assert pool.params["index"] == f"array((1, 2, 2, 2), {np.dtype(np.intp)})"
    assert pool.params["kernel_size"] == "(2, 2)"
    k = tg.tensor(np.ones((2, 2)))
    c = tg.graph(tg.correlate2d(tg.tensor(np.ones((3, 3)), requires_grad=True), k, "valid"))
    assert c[2].shown_params() == {"mode": "'valid'"}
    assert "mode='valid'" in _nodes(c.to_dot())["n2"]
    assert c[1].kind == "constant" and c[1].label == "constant"


def test_text_tree():
    _, w, y = _small()
    text = str(tg.graph(y, params={"w": w}))
    assert text == ("#5 sum () float64\n"
                    "└─ #4 add (2,) float64\n"
                    "   ├─ #2 multiply (2,) float64\n"
                    "   │  ├─ #0 leaf (2,) float64\n"
                    "   │  └─ #1 w (2,) float64\n"
                    "   └─ 1.0")
    x = tg.tensor([1.0], requires_grad=True)
    a = tg.exp(x)
    assert str(tg.graph(a * a)).splitlines()[-1] == "└─ #1 ^ (shown above)"


def test_source_lines_only_when_recorded():
    x = tg.tensor([1.0], requires_grad=True)
    assert tg.graph(x * 2)[2].site is None
    with tg.record_sites():
        y = x * 2  # the line
    node = tg.graph(y)[2]
    assert node.site.endswith("y = x * 2  # the line") and "test_graph.py" in node.site
    assert "test_graph.py:" in str(tg.graph(y))


def _mlp():
    return nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 1, rng=0))


def test_module_paths_in_a_sequential():
    model = _mlp()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = model

        def forward(self, x):
            return tg.sum(self.features(x) ** 2)

    net = Net()
    y = net(np.ones((2, 3)))
    g = tg.graph(y, params=net.named_parameters())
    ops = [(n.label, n.module, n.module_type) for n in g.ops()]
    assert ops == [("linear", "features.0", "Linear"), ("add", "features.0", "Linear"),
                   ("tanh", "features.1", "Tanh"), ("linear", "features.2", "Linear"),
                   ("add", "features.2", "Linear"), ("power", "", "Net"), ("sum", "", "Net")]
    names = sorted(n.label for n in g if n.kind == "param")
    assert names == ["features.0.bias", "features.0.weight", "features.2.bias",
                     "features.2.weight"]
    assert tg.graph(y * 2)[-1].module is None  # outside any module call
    assert (y * 2).grad_fn.module is None


def test_module_path_of_a_child_called_directly_and_nested_calls_restore():
    model = _mlp()
    y = model[2](tg.tanh(model[0](np.ones((1, 3)))))  # each called on its own: outermost
    paths = [(n.label, n.module) for n in tg.graph(y).ops()]
    assert paths == [("linear", ""), ("add", ""), ("tanh", None), ("linear", ""), ("add", "")]

    class Failing(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        Failing()(np.ones(1))
    assert (tg.tensor([1.0], requires_grad=True) * 2).grad_fn.module is None


def test_collapse_module():
    model = _mlp()
    x = tg.tensor(np.ones((2, 3)))
    g = tg.graph(model(x).sum(), params=model.named_parameters())
    dot = g.to_dot("module")
    nodes = _nodes(dot)
    assert nodes == {
        "n0": r"constant\n(2, 3) float64",
        "m0": r"0: Linear\nlinear, add\n→ (2, 4) float64\n0.weight (4, 3)\n0.bias (4,)",
        "m1": r"1: Tanh\ntanh\n→ (2, 4) float64",
        "m2": r"2: Linear\nlinear, add\n→ (2, 1) float64\n2.weight (1, 4)\n2.bias (1,)",
        "n10": r"sum\n() float64"}
    assert _edges(dot) == [("n0", "m0"), ("m0", "m1"), ("m1", "m2"), ("m2", "n10")]
    assert len(_nodes(g.to_dot())) == 11  # expanded: every op, leaf and constant


def _two_layers():
    rng = np.random.default_rng(0)
    p = {"K1": (5, 1, 3, 3), "B1": (5, 8, 8), "K2": (5, 5, 3, 3), "B2": (5, 6, 6)}
    p = {k: tg.tensor(rng.normal(size=s), requires_grad=True) for k, s in p.items()}
    x = tg.tensor(rng.normal(size=(1, 10, 10)))
    a1 = tg.sigmoid(conv_layer(x, p["K1"], p["B1"]))
    return tg.sigmoid(conv_layer(a1, p["K2"], p["B2"])), p


def test_collapse_repeat_folds_five_sums_of_five_correlations():
    out, p = _two_layers()
    g = tg.graph(out, params=p)
    assert sum(n.label == "correlate2d" for n in g) == 30
    nodes = _nodes(g.to_dot("repeat"))
    folded = {k: v for k, v in nodes.items() if k.startswith("r")}
    labels = sorted(v.split(r"\n")[0] for v in folded.values())
    assert labels == ["5 × (Σ 5 × correlate2d)", "5 × add(correlate2d)"]
    second = next(v for v in folded.values() if v.startswith("5 × (Σ"))
    # each Y_i: 5 adds, 5 correlate2d, 5 K[i, j] and B[i]: 16 ops, 80 in the box
    assert second == r"5 × (Σ 5 × correlate2d)\neach (6, 6) float64 · 80 ops"
    # drawn: 4 parameters, x[0], 2 folded boxes, 2 stacks, 2 sigmoids, the 5 channels a1[j]
    assert len(nodes) == 4 + 1 + 2 + 2 + 2 + 5
    assert "correlate2d" not in " ".join(v for k, v in nodes.items() if k.startswith("n"))


def test_collapse_repeat_on_one_sum_and_with_nothing_to_fold():
    x = tg.tensor(np.ones((3, 6, 6)), requires_grad=True)
    k = np.ones((3, 2, 2))
    y = sum(tg.correlate2d(x[j], k[j], "valid") for j in range(3))  # 0 + c0 + c1 + c2
    nodes = _nodes(tg.graph(y).to_dot("repeat"))
    assert r"3 × correlate2d\neach (5, 5) float64 · 6 ops" in nodes.values()
    assert any(v.startswith("Σ  (4 terms)") for v in nodes.values())
    _, w, y = _small()
    g = tg.graph(y, params={"w": w})
    assert g.to_dot("repeat") == g.to_dot()


def test_to_dot_rejects_other_collapse():
    with pytest.raises(ValueError, match=r"collapse must be None, 'module' or 'repeat', got 'x'"):
        tg.graph(_small()[2]).to_dot("x")


def test_released_graph_raises():
    _, _, y = _small()
    y.backward()
    with pytest.raises(tg.BackwardError, match=r"graph: the graph through 'sum'.*released.*"
                       r"retain_graph=True"):
        tg.graph(y)
    _, _, y = _small()
    g = tg.graph(y)  # taken before the backward: still readable after it
    y.backward()
    assert len(g) == 6 and "multiply" in str(g)


def test_bad_arguments():
    with pytest.raises(TypeError, match="at least one output"):
        tg.graph()
    with pytest.raises(TypeError, match="output 0 must be a Tensor, got ndarray"):
        tg.graph(np.ones(2))
    with pytest.raises(TypeError, match="params must be a dict"):
        tg.graph(_small()[2], params=[1, 2])


def test_html_table():
    _, w, y = _small()
    html = tg.graph(y, params={"w": w}).to_html()
    assert html.count("<tr>") == 7 and "<td>multiply</td>" in html and "<td>#0, #1</td>" in html


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


@needs_dot
def test_render_svg_has_the_node_labels(tmp_path):
    pytest.importorskip("graphviz")
    _, w, y = _small()
    g = tg.graph(y, params={"w": w})
    path = g.render(tmp_path / "g.svg")
    root = ET.parse(path).getroot()
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for label in ("leaf", "w", "multiply", "add", "sum", "1.0"):
        assert label in texts
    assert g._repr_svg_().lstrip().startswith("<?xml") and g._repr_html_() is None
    png = g.render(tmp_path / "g.png", collapse="repeat").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_says_what_is_missing(tmp_path, monkeypatch):
    _, _, y = _small()
    g = tg.graph(y)
    with pytest.raises(ValueError, match=r"use \.svg, \.png or \.pdf"):
        g.render(tmp_path / "g.txt")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    pytest.importorskip("graphviz")
    with pytest.raises(RuntimeError, match=r"'dot' program.*apt-get install graphviz"):
        g.render(tmp_path / "g.svg")
    assert g._repr_svg_() is None and g._repr_html_().startswith("<table>")
    monkeypatch.setitem(__import__("sys").modules, "graphviz", None)  # import fails
    with pytest.raises(ImportError, match=r'pip install "tensorgrad\[viz\]"'):
        g.render(tmp_path / "g.svg")


# -- gradient norms --------------------------------------------------------------------------
def _net(seed=0):
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    h = tg.tanh(x @ w)
    h.retain_grad()
    return x, w, h, (h * h).sum()


def test_norms_after_backward_match_the_gradients():
    x, w, h, y = _net()
    g = tg.graph(y, params={"w": w})
    assert g.watching and all(n.grad_norm is None for n in g)
    y.backward()
    for t in (x, w, h):
        expected = np.sqrt(np.sum(t.grad.data ** 2))
        assert g.node_of(t).grad_norm == pytest.approx(expected, rel=1e-12)
    assert g.node_of(y).grad_norm == 1.0
    # the product before tanh: its gradient is (1 - h^2) * dy/dh, by hand
    pre = g.node_of(h).inputs[0]
    expected = np.linalg.norm((1 - h.data ** 2) * h.grad.data)
    assert g[pre].grad_norm == pytest.approx(expected, rel=1e-12)
    assert all(n.grad_norm is None for n in g if n.kind == "constant")
    # shown in the text tree, the DOT labels and the HTML table
    assert f"|g|={g.node_of(w).grad_norm:.3g}" in str(g)
    assert f"|g|={g.node_of(x).grad_norm:.3g}" in _nodes(g.to_dot())[f"n{g.node_of(x).id}"]
    assert f"<td>{g.node_of(w).grad_norm:.3g}</td>" in g.to_html()


def test_norm_hooks_never_change_gradients_and_leave_after_release():
    x0, w0, _, y0 = _net()
    y0.backward()
    x, w, _, y = _net()
    g = tg.graph(y)
    assert x._hooks and w._hooks
    y.backward()
    np.testing.assert_array_equal(x.grad.data, x0.grad.data)
    np.testing.assert_array_equal(w.grad.data, w0.grad.data)
    assert not g.watching and not x._hooks and not w._hooks
    kept = g.node_of(w).grad_norm
    (w * w).sum().backward()  # another graph through w: this Graph's numbers stay
    assert g.node_of(w).grad_norm == kept


def test_norm_hooks_removed_when_the_graph_is_collected():
    import gc
    x, w, _, y = _net()
    g = tg.graph(y)
    assert len(w._hooks) == 1
    del g
    gc.collect()
    assert not w._hooks and not x._hooks
    y.backward()  # runs without a Graph
    assert w.grad is not None


def test_norms_with_a_retained_graph_and_a_shared_parameter():
    x, w, _, y = _net()
    other = (w * 3.0).sum()
    g = tg.graph(y)
    other.backward()  # shares w but does not pass through g's ops: nothing recorded
    assert g.node_of(w).grad_norm is None
    w.grad = None
    y.backward(retain_graph=True)
    first = g.node_of(w).grad_norm
    assert first == pytest.approx(np.linalg.norm(w.grad.data), rel=1e-12)
    assert g.watching  # the graph can still be run backward: the hooks stay
    late = tg.graph(y)  # taken after that backward: no norms until the next one
    assert all(n.grad_norm is None for n in late) and "|g|" not in str(late)
    y.backward(grad=tg.tensor(2.0))
    assert g.node_of(w).grad_norm == pytest.approx(2 * first, rel=1e-12)
    assert late.node_of(w).grad_norm == pytest.approx(2 * first, rel=1e-12)
    assert not g.watching and not late.watching and not w._hooks


def test_norms_see_an_earlier_hook_replacement_and_tg_grad():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    x.register_hook(lambda gr: gr * 2)
    y = (x * x).sum()
    g = tg.graph(y)
    (gx,) = tg.grad(y, [x])
    np.testing.assert_allclose(gx.data, [4.0, -8.0])
    assert g.node_of(x).grad_norm == pytest.approx(np.sqrt(80.0), rel=1e-12)
