"""Hand-derived reference layers: a NumPy/SciPy-only oracle for tensorgrad.

The layers of the classic "CNN from scratch" derivation (a convolution with an untied bias, a
reshape, a dense layer, a sigmoid, binary cross-entropy), every gradient written out by hand and
every bug of the original fixed. The package imports nothing from tensorgrad, so it is an
independent check of the automatic differentiation (see ``docs/manual_backprop.md``).

Conventions
-----------
* Unbatched: a convolution takes one ``(C, H, W)`` image, a dense layer one column ``(m, 1)``.
* ``forward(input)`` returns the output; ``backward(output_gradient, learning_rate=0.0)``
  computes every gradient with the parameters of the forward pass, stores the parameter
  gradients (``kernels_gradient``, ``weights_gradient``, ``bias_gradient``), updates
  ``p -= learning_rate * grad`` in place only when ``learning_rate != 0``, and returns the
  input gradient. The training loop::

      for layer in network: output = layer.forward(output)
      grad = binary_cross_entropy_prime(y, output)
      for layer in reversed(network): grad = layer.backward(grad, learning_rate)

* Parameters are plain ndarrays (``kernels``, ``weights``, ``bias``) that may be replaced by
  arrays of the same shape; updates are in place, so a shared array sees them.
* NumPy's type promotion: bool/int inputs become float64, float32 stays float32.

Examples
--------
>>> import numpy as np
>>> from tensorgrad import reference as ref
>>> layer = ref.Dense(2, 1, rng=0)
>>> layer.weights[...] = [[1.0, 2.0]]
>>> layer.bias[...] = [[0.0]]
>>> layer.forward(np.array([[1.0], [1.0]]))
array([[3.]])
>>> layer.backward(np.array([[1.0]]), learning_rate=0.1)
array([[1.],
       [2.]])
>>> layer.weights
array([[0.9, 1.9]])
"""
from .layers import Activation, Convolution, Dense, Layer, Reshape, Sigmoid, sigmoid, sigmoid_prime
from .losses import BCE_PRIME_EPS, LOG_CLAMP, binary_cross_entropy, binary_cross_entropy_prime

__all__ = [
    "Layer",
    "Convolution",
    "Reshape",
    "Dense",
    "Activation",
    "Sigmoid",
    "sigmoid",
    "sigmoid_prime",
    "binary_cross_entropy",
    "binary_cross_entropy_prime",
    "LOG_CLAMP",
    "BCE_PRIME_EPS",
]
