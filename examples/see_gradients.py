"""Seeing the gradients of the notebook's network: its graph, a backward step by step, and
the gradient flow over a short training run.

Run from the repository root::

    python examples/see_gradients.py                  # pictures into docs/images/
    python examples/see_gradients.py --steps 5 --out /tmp/pictures

What it does
------------
1. Draws the network of ``examples/mnist_cnn.py`` (the notebook's architecture and
   initialisation) as a graph, with the gradient norm of the backward at every node:

   * written as expressions on one image: every op (``expr_graph.svg``, about 140 nodes:
     the ``getitem``, ``add`` and ``correlate2d`` of the two conv layers) and with repeated
     sub-graphs folded (``expr_graph_repeat.svg``: the second conv layer reads
     "5 x (sum of 5 x correlate2d)");
   * built from ``tg.nn`` layers on a batch: every op (``nn_graph.svg``) and one box per
     module (``nn_graph_module.svg``).

   Without Graphviz (the ``graphviz`` package and the ``dot`` program) it writes the DOT
   text (``.dot``) instead.
2. Prints ``tg.backward_steps`` of the worked example (a 3x3 image correlated with a 2x2
   kernel): the kernel's gradient is the image correlated with the output gradient, the
   image's gradient the full convolution of the output gradient with the kernel.
3. Trains the ``tg.nn`` network on zeros vs ones (plain SGD, learning rate 0.1, batches of
   16) for ``--steps`` steps, records a ``tg.gradient_report`` after every backward in a
   ``tg.GradientHistory``, prints the first step's report and plots the run
   (``gradient_flow.png``) and the first step (``gradient_report.png``). The report shows
   what the notebook's initialisation does: most units of the sigmoid after the first
   dense layer start saturated (outputs within 1e-3 of 0 or 1), so their gradient is
   (nearly) zero and part of ``5.weight``'s gradient is exactly zero.

Takes about 13 s with the defaults (60 steps; measured on a shared 2-core machine).
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import tensorgrad as tg
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))
    import tensorgrad as tg


def _load_cnn():
    """examples/mnist_cnn.py as a module (the network and its initialisation)."""
    spec = importlib.util.spec_from_file_location("mnist_cnn", Path(__file__).with_name(
        "mnist_cnn.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _draw(g: tg.Graph, path: Path, collapse=None) -> Path:
    """``g`` rendered to ``path`` (SVG), or its DOT text next to it without Graphviz."""
    try:
        import graphviz  # noqa: F401
        has_graphviz = shutil.which("dot") is not None
    except ImportError:
        has_graphviz = False
    if has_graphviz:
        return g.render(path, collapse=collapse)
    path = path.with_suffix(".dot")
    path.write_text(g.to_dot(collapse))
    return path


def draw_graphs(cnn, arrays, x, t, out: Path) -> list:
    """The expression and tg.nn networks' graphs, taken before a backward so that the
    drawings show each node's gradient norm."""
    written = []
    expr = cnn.ExprModel(arrays)
    loss = tg.binary_cross_entropy(cnn.expr_forward(expr.params, tg.tensor(x[0])),
                                   tg.tensor(t[0]))
    g = tg.graph(loss, params=expr.params)
    loss.backward()
    n_ops = len(g.ops())
    print(f"expression network, one image: {n_ops} ops, {len(g) - n_ops} leaves and constants")
    written += [_draw(g, out / "expr_graph.svg"),
                _draw(g, out / "expr_graph_repeat.svg", collapse="repeat")]

    model = cnn.NNModel(arrays)
    loss = tg.binary_cross_entropy(model.net(tg.tensor(x[:4])), tg.tensor(t[:4].reshape(4, 2)))
    g = tg.graph(loss, params=model.net.named_parameters())
    loss.backward()
    print(f"tg.nn network, batch of 4: {len(g.ops())} ops")
    written += [_draw(g, out / "nn_graph.svg"),
                _draw(g, out / "nn_graph_module.svg", collapse="module")]
    return written


def worked_example():
    """backward_steps of the worked correlation example."""
    image = tg.tensor([[1, 6, 2], [5, 3, 1], [7, 0, 4]], dtype=float, requires_grad=True)
    kernel = tg.tensor([[0, -1], [2, 1]], dtype=float, requires_grad=True)
    y = tg.correlate2d(image, kernel, "valid")
    steps = tg.backward_steps(y, np.array([[1.0, 2.0], [-1.0, 3.0]]))
    print(steps)
    return steps


def train(cnn, arrays, x, t, steps: int, batch: int, lr: float, rng) -> tg.GradientHistory:
    """``steps`` SGD steps on random batches, a gradient report recorded after each
    backward."""
    model = cnn.NNModel(arrays)
    tg.watch_activations(model.net)
    opt = tg.optim.SGD(model.net.parameters(), lr=lr)
    history = tg.GradientHistory()
    for _ in range(steps):
        idx = rng.choice(len(x), size=batch, replace=False)
        out = model.net(tg.tensor(x[idx]))
        loss = tg.binary_cross_entropy(out, tg.tensor(t[idx].reshape(batch, 2)))
        opt.zero_grad()
        loss.backward()
        history.record(model.net, lr=lr)
        opt.step()
    return history


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps (default 60)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images",
                        help="folder for the pictures (default docs/images)")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    args.out.mkdir(parents=True, exist_ok=True)

    cnn = _load_cnn()
    rng = np.random.default_rng(args.seed)
    arrays = cnn.init_arrays(np.random.default_rng(args.seed), 2)  # the notebook's draws
    (xtr, ytr), _ = tg.data.load_mnist()
    x, t, _ = tg.data.binary_subset(xtr, ytr, per_class=200, rng=rng, dtype=np.float64)

    print("== 1. the graph ==")
    written = draw_graphs(cnn, arrays, x, t, args.out)
    print("\n== 2. the worked example's backward, step by step ==")
    steps = worked_example()
    print(f"\n== 3. gradient flow over {args.steps} SGD steps ==")
    history = train(cnn, arrays, x, t, args.steps, args.batch_size, args.lr, rng)
    print(history.reports[0])
    fig = history.reports[0].plot()
    fig.savefig(args.out / "gradient_report.png", dpi=110)
    fig = history.plot()
    fig.savefig(args.out / "gradient_flow.png", dpi=110)
    written += [args.out / "gradient_report.png", args.out / "gradient_flow.png"]
    print("\nwrote " + ", ".join(str(p) for p in written))
    return {"written": written, "steps": steps, "history": history}


if __name__ == "__main__":
    main()
