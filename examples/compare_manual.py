"""Check hand-derived back-propagation against tensorgrad, layer by layer.

The network is the one from the "CNN from scratch" derivation, built from the hand-written
layers of ``tensorgrad.reference``. ``tensorgrad.compare`` builds the same network in
tensorgrad over the very same weight arrays, runs a real MNIST digit through both, and
prints how far apart every output and gradient is. Then it runs 10 SGD steps on both and
compares the weights after each step. Last, it swaps in a dense layer with the derivation's
original bug (input gradient computed after the weight update) and shows the check catching
it.

Run with ``python examples/compare_manual.py``; it takes a few seconds.
"""
import numpy as np

from tensorgrad import compare
from tensorgrad import reference as ref


def digits():
    """Five "0"s and five "1"s from the bundled MNIST digits, interleaved, as float64
    images ``(1, 28, 28)`` in [0, 1] with one-hot column targets ``(2, 1)``."""
    try:
        from tensorgrad.data import load_mnist

        (x_train, y_train), _ = load_mnist()
    except ImportError as err:
        print(f"MNIST digits unavailable ({err}).\n"
              "Using drawn digits instead: a ring for 0 and a bar for 1.\n")
        rows, cols = np.mgrid[:28, :28]
        r = np.hypot(rows - 13.5, (cols - 13.5) * 1.4)
        zero = ((r > 6) & (r < 10)).astype(np.float64)
        one = ((np.abs(cols - 14) < 2) & (rows > 4) & (rows < 24)).astype(np.float64)
        images, labels = [zero, one] * 5, [0, 1] * 5
    else:
        zeros = np.flatnonzero(y_train == 0)[:5]
        ones = np.flatnonzero(y_train == 1)[:5]
        order = np.stack([zeros, ones], axis=1).ravel()  # 0, 1, 0, 1, ...
        images = [x_train[i] / 255.0 for i in order]
        labels = [int(y_train[i]) for i in order]
    xs = [img.astype(np.float64).reshape(1, 28, 28) for img in images]
    ys = [np.eye(2)[label].reshape(2, 1) for label in labels]  # the notebook's one-hot columns
    return xs, ys


def network(rng):
    return [
        ref.Convolution((1, 28, 28), 3, 5, rng=rng),
        ref.Sigmoid(),
        ref.Convolution((5, 26, 26), 3, 5, rng=rng),
        ref.Sigmoid(),
        ref.Reshape((5, 24, 24), (5 * 24 * 24, 1)),
        ref.Dense(5 * 24 * 24, 100, rng=rng),
        ref.Sigmoid(),
        ref.Dense(100, 2, rng=rng),
        ref.Sigmoid(),
    ]


class DenseUpdatingFirst(ref.Dense):
    """The derivation's original Dense.backward: it updates the weights, then computes the
    input gradient with the *updated* weights."""

    def backward(self, output_gradient, learning_rate=0.0):
        self.weights_gradient = output_gradient @ self.input.T
        self.bias_gradient = output_gradient.copy()
        self.weights -= learning_rate * self.weights_gradient
        self.bias -= learning_rate * self.bias_gradient
        return self.weights.T @ output_gradient  # wrong: should use the weights before the step


def main():
    xs, ys = digits()
    net = network(np.random.default_rng(0))
    learning_rate = 0.1

    print("=== 1. One digit (a 0) through the hand-derived layers and through tensorgrad ===\n")
    report = compare.gradients(net, xs[0], ys[0])
    print(report)
    report.assert_close(rtol=1e-10)

    print("\n=== 2. Ten SGD steps on both, from the same starting weights ===\n")
    trajectory = compare.trajectories(net, xs, ys, learning_rate, steps=10)
    print(trajectory)
    trajectory.assert_close(rtol=1e-10)

    print("\n=== 3. A Dense layer that computes its input gradient after the update ===\n")
    broken = DenseUpdatingFirst(100, 2, rng=0)
    broken.weights[...] = net[7].weights
    broken.bias[...] = net[7].bias
    faulty = net[:7] + [broken, net[8]]
    print("learning_rate=0: ok =", compare.gradients(faulty, xs[0], ys[0]).ok,
          "(with no update, the order does not matter)\n")
    report = compare.gradients(faulty, xs[0], ys[0], learning_rate=learning_rate)
    print(report)
    try:
        report.assert_close()
    except AssertionError as err:
        print(f"\nassert_close raised AssertionError:\n{err}")
    else:
        raise SystemExit("the faulty layer was not caught")
    isolated = compare.gradients(faulty, xs[0], ys[0], learning_rate=learning_rate,
                                 isolate=True)
    print("\nWith isolate=True (each reference layer gets tensorgrad's input and output "
          "gradient), only these fail:")
    for row in isolated.failures():
        print("   ", row.where)


if __name__ == "__main__":
    main()
