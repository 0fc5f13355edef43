"""The programs behind the anomaly reports shown in docs/anomaly.md (whose line numbers
point into this file), run by tests/test_anomaly.py.

The notebook's network in expression form, with a planted log(0):
Conv(1->5, 3x3, untied bias) -> sigmoid -> Conv(5->5, 3x3, untied bias) -> sigmoid ->
Dense(180->20) -> sigmoid -> Dense(20->2) -> sigmoid, on a 10x10 image, and the notebook's
hand-written binary cross-entropy. The output bias b2 = (100, -100) saturates the first
sigmoid to exactly 1.0, so log(1 - out) is log(0)."""
import numpy as np

import tensorgrad as tg


def conv_layer(X, K, B):
    """Y_i = B_i + Σ_j correlate2d(X_j, K_ij, "valid")."""
    d, n = K.shape[:2]
    outputs = []
    for i in range(d):
        y = B[i]
        for j in range(n):
            y = y + tg.correlate2d(X[j], K[i, j], "valid")
        outputs.append(y)
    return tg.stack(outputs)


def network_params():
    """(parameters, image (1, 10, 10), one-hot target (2, 1)), the output bias planted."""
    rng = np.random.default_rng(0)
    shapes = {"K1": (5, 1, 3, 3), "B1": (5, 8, 8), "K2": (5, 5, 3, 3), "B2": (5, 6, 6),
              "W1": (20, 180), "b1": (20, 1), "W2": (2, 20)}
    p = {k: tg.tensor(rng.normal(size=s), requires_grad=True) for k, s in shapes.items()}
    p["b2"] = tg.tensor([[100.0], [-100.0]], requires_grad=True)  # sigmoid(100) == 1.0
    return p, tg.tensor(rng.random((1, 10, 10))), np.array([[1.0], [0.0]])


def network_loss(p, x, t):
    a1 = tg.sigmoid(conv_layer(x, p["K1"], p["B1"]))
    a2 = tg.sigmoid(conv_layer(a1, p["K2"], p["B2"]))
    h = tg.sigmoid(p["W1"] @ tg.reshape(a2, (180, 1)) + p["b1"])
    out = tg.sigmoid(p["W2"] @ h + p["b2"])
    return -tg.sum(t * tg.log(out) + (1 - t) * tg.log(1 - out))


def sqrt_under_where():
    """The gradient of where(x > 0, sqrt(x), 0) at x = 0: NaN (0 · sqrt'(0))."""
    x = tg.tensor([0.0, 4.0], requires_grad=True)
    y = tg.where(x > 0, tg.sqrt(x), 0)
    y.sum().backward()
