"""Hand-derived reference layers: a NumPy/SciPy-only oracle for tensorgrad.

This module contains the layers of the classic "CNN from scratch" derivation
(a convolution layer with an untied bias, a reshape, a dense layer, a sigmoid
activation and binary cross-entropy), with every gradient written out by hand
and every known bug of the original derivation fixed. It imports nothing but
NumPy and SciPy, so it can be used as an independent check of tensorgrad's
automatic differentiation.

Conventions
-----------
* Inputs are **unbatched**: a convolution takes one ``(C, H, W)`` image, a
  dense layer takes one column vector ``(input_size, 1)``.
* Each layer has ``forward(input)`` returning the output, and
  ``backward(output_gradient, learning_rate=0.0)`` which

  1. computes every gradient from the parameters *as they were during the
     forward pass*,
  2. stores the parameter gradients on the layer
     (``Convolution.kernels_gradient``, ``Convolution.bias_gradient``,
     ``Dense.weights_gradient``, ``Dense.bias_gradient``),
  3. updates the parameters in place, ``p -= learning_rate * grad``, only
     when ``learning_rate != 0``,
  4. returns the gradient with respect to the layer's input.

  The usual training loop is therefore::

      output = x
      for layer in network:
          output = layer.forward(output)
      grad = binary_cross_entropy_prime(y, output)
      for layer in reversed(network):
          grad = layer.backward(grad, learning_rate)

* Parameters are plain NumPy arrays stored as attributes (``kernels``,
  ``bias``, ``weights``). You may replace them with arrays of your own of the
  same shape; updates are done in place, so an array shared with another model
  sees the update.
* Computations follow NumPy's type promotion: integer or boolean inputs are
  converted to float64; float32 parameters with float32 inputs stay float32.

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

from __future__ import annotations

from numbers import Integral
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np
from scipy import signal, special

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

#: Lower bound applied to every logarithm in :func:`binary_cross_entropy`
#: (the value PyTorch uses), so that a probability of exactly 0 or 1 gives a
#: finite loss.
LOG_CLAMP = -100.0

#: Lower bound applied to ``p * (1 - p)`` in :func:`binary_cross_entropy_prime`
#: (the value PyTorch uses), so that a probability of exactly 0 or 1 gives a
#: finite gradient.
BCE_PRIME_EPS = 1e-12

RngLike = Union[None, int, np.random.Generator, np.random.SeedSequence, np.random.BitGenerator]
ShapeLike = Union[int, Sequence[int]]


# ---------------------------------------------------------------------------
# helpers (private)
# ---------------------------------------------------------------------------

def _make_rng(rng: RngLike, owner: str) -> np.random.Generator:
    """Turn ``rng`` (None, an int seed or a Generator) into a Generator."""
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"{owner}: rng must be None, an int seed or a numpy.random.Generator, "
                        f"got {rng!r}")
    if rng is None or isinstance(rng, (Integral, np.random.Generator, np.random.SeedSequence,
                                       np.random.BitGenerator)):
        return np.random.default_rng(rng)
    raise TypeError(f"{owner}: rng must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(rng).__name__}")


def _float_dtype(dtype, owner: str) -> np.dtype:
    """Check that ``dtype`` is a real floating dtype and return it."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{owner}: dtype must be a floating dtype, got {dtype!r}") from exc
    if dt.kind != "f":
        raise TypeError(f"{owner}: dtype must be a floating dtype such as float64 or float32, "
                        f"got {dt}")
    return dt


def _positive_int(value, name: str, owner: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


def _shape_tuple(shape: ShapeLike, name: str, owner: str) -> Tuple[int, ...]:
    """Normalise an int or a sequence of ints into a tuple of positive ints."""
    if isinstance(shape, Integral) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{owner}: {name} must be an int or a tuple of ints, "
                         f"got {shape!r}") from None
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, Integral) or d < 1:
            raise ValueError(f"{owner}: {name} must contain positive ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def _as_real_array(x, what: str, owner: str) -> np.ndarray:
    """``np.asarray`` that converts bool/int data to float64 and rejects the rest."""
    arr = np.asarray(x)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"{owner}: {what} must hold real numbers, got dtype {arr.dtype}")
    return arr


def _check_shape(arr: np.ndarray, expected: Tuple[int, ...], what: str, owner: str,
                 hint: str = "") -> None:
    if arr.shape != tuple(expected):
        raise ValueError(f"{owner}: expected {what} of shape {tuple(expected)}, "
                         f"got {arr.shape}{hint}")


def _product_text(shape: Tuple[int, ...]) -> str:
    """``(5, 24, 24)`` -> ``'5*24*24 = 2880'``; ``(600,)`` -> ``'600'``."""
    total = int(np.prod(shape, dtype=np.int64))
    if len(shape) == 1:
        return str(total)
    return "*".join(str(d) for d in shape) + f" = {total}"


# ---------------------------------------------------------------------------
# layers
# ---------------------------------------------------------------------------

class Layer:
    """Base class of the reference layers.

    A layer maps one input array to one output array and knows how to send a
    gradient back through itself.

    Attributes
    ----------
    input : numpy.ndarray or None
        The input saved by the last :meth:`forward` call (a copy), ``None``
        before the first call.
    output : numpy.ndarray or None
        The output of the last :meth:`forward` call.
    """

    def __init__(self) -> None:
        self.input: Optional[np.ndarray] = None
        self.output: Optional[np.ndarray] = None

    def forward(self, input):  # noqa: A002 - the name is part of the interface
        """Compute the layer's output and save what backward needs.

        Parameters
        ----------
        input : numpy.ndarray
            The layer's input; each subclass states the shape it expects.

        Returns
        -------
        numpy.ndarray
            The layer's output.
        """
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, output_gradient, learning_rate: float = 0.0):
        """Back-propagate ``output_gradient`` = dL/d(output).

        Parameters
        ----------
        output_gradient : numpy.ndarray
            Gradient of the loss with respect to this layer's last output,
            same shape as that output.
        learning_rate : float, default 0.0
            When non-zero, parameters are updated in place with
            ``p -= learning_rate * dL/dp`` after all gradients are computed.

        Returns
        -------
        numpy.ndarray
            dL/d(input), the same shape as the last input.
        """
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def _saved_input(self) -> np.ndarray:
        if self.input is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        return self.input


class Convolution(Layer):
    r"""Valid 2-D convolution layer (cross-correlation) with an untied bias.

    With ``n = input_shape[0]`` input channels and ``d = depth`` kernels,

    .. math:: Y_i = B_i + \sum_{j=1}^{n} X_j \star K_{ij}, \qquad i = 1, \dots, d

    where :math:`\star` is the *valid* cross-correlation
    (``scipy.signal.correlate2d(X_j, K_ij, mode="valid")``), i.e.
    ``Y[i, u, v] = B[i, u, v] + sum_{j, a, b} X[j, u + a, v + b] * K[i, j, a, b]``.
    The bias is *untied*: one value per output element.

    Parameters
    ----------
    input_shape : tuple of int
        ``(n, H, W)``: channels, height and width of the input.
    kernel_size : int
        ``k``, the height and width of each kernel; ``k <= H`` and ``k <= W``.
    depth : int
        ``d``, the number of kernels, i.e. of output channels.
    rng : None, int or numpy.random.Generator, optional
        Source of the random initial values; an int is used as a seed and
        ``None`` draws a fresh ``numpy.random.default_rng()``.
    dtype : floating dtype, default numpy.float64
        dtype of ``kernels`` and ``bias``.

    Attributes
    ----------
    kernels : numpy.ndarray, shape ``(d, n, k, k)``
        Initialised from the standard normal distribution.
    bias : numpy.ndarray, shape ``(d, H - k + 1, W - k + 1)``
        Initialised uniformly on ``[0, 1)``.
    input_shape : tuple of int
        ``(n, H, W)``.
    output_shape : tuple of int
        ``(d, H - k + 1, W - k + 1)``.
    kernels_shape : tuple of int
        ``(d, n, k, k)``.
    kernels_gradient, bias_gradient : numpy.ndarray or None
        dL/dK and dL/dB from the last :meth:`backward` call.

    Raises
    ------
    ValueError
        If ``input_shape`` is not three positive ints, ``kernel_size`` or
        ``depth`` is not a positive int, or the kernel is larger than the input.
    TypeError
        If ``dtype`` is not a floating dtype or ``rng`` is not a valid source.

    Examples
    --------
    >>> conv = Convolution((1, 28, 28), 3, 5, rng=0)
    >>> conv.forward(np.zeros((1, 28, 28))).shape
    (5, 26, 26)
    """

    def __init__(self, input_shape: Sequence[int], kernel_size: int, depth: int, *,
                 rng: RngLike = None, dtype=np.float64) -> None:
        super().__init__()
        name = type(self).__name__
        shape = _shape_tuple(input_shape, "input_shape", name)
        if len(shape) != 3:
            raise ValueError(f"{name}: input_shape must be (channels, height, width), "
                             f"got {tuple(shape)}")
        input_depth, input_height, input_width = shape
        kernel_size = _positive_int(kernel_size, "kernel_size", name)
        depth = _positive_int(depth, "depth", name)
        if kernel_size > input_height or kernel_size > input_width:
            raise ValueError(f"{name}: kernel_size {kernel_size} is larger than the input's "
                             f"height x width {input_height} x {input_width}")
        self.dtype = _float_dtype(dtype, name)
        generator = _make_rng(rng, name)

        self.depth = depth
        self.kernel_size = kernel_size
        self.input_shape = shape
        self.input_depth = input_depth
        self.output_shape = (depth, input_height - kernel_size + 1,
                             input_width - kernel_size + 1)
        self.kernels_shape = (depth, input_depth, kernel_size, kernel_size)
        # Same distributions as the original derivation (randn, rand), drawn in
        # float64 so that a seed gives the same values whatever the dtype.
        self.kernels = generator.standard_normal(self.kernels_shape).astype(self.dtype)
        self.bias = generator.random(self.output_shape).astype(self.dtype)
        self.kernels_gradient: Optional[np.ndarray] = None
        self.bias_gradient: Optional[np.ndarray] = None

    def __repr__(self) -> str:
        return (f"Convolution(input_shape={self.input_shape}, kernel_size={self.kernel_size}, "
                f"depth={self.depth})")

    def _check_parameters(self) -> None:
        name = type(self).__name__
        _check_shape(np.asarray(self.kernels), self.kernels_shape, "kernels", name)
        _check_shape(np.asarray(self.bias), self.output_shape, "bias", name)

    def forward(self, input):  # noqa: A002
        r"""Compute :math:`Y_i = B_i + \sum_j X_j \star K_{ij}` (valid cross-correlation).

        Parameters
        ----------
        input : array_like, shape ``(n, H, W)``
            One image, unbatched. Integer data is converted to float64.

        Returns
        -------
        numpy.ndarray, shape ``(d, H - k + 1, W - k + 1)``
            dtype: NumPy's promotion of the input, ``kernels`` and ``bias``.

        Raises
        ------
        ValueError
            If ``input`` (or a replaced ``kernels``/``bias``) has the wrong shape.
        TypeError
            If ``input`` does not hold real numbers.
        """
        name = type(self).__name__
        x = np.asarray(input)
        hint = ""
        if x.ndim == 4 and x.shape[1:] == self.input_shape:
            hint = " (reference layers are unbatched: pass one image at a time)"
        _check_shape(x, self.input_shape, "input", name, hint)
        x = _as_real_array(x, "input", name)
        self._check_parameters()

        self.input = x.copy()
        out_dtype = np.result_type(x, self.kernels, self.bias)
        output = np.zeros(self.output_shape, dtype=out_dtype)
        for i in range(self.depth):            # each kernel / output channel
            for j in range(self.input_depth):  # each input channel
                output[i] += signal.correlate2d(x[j], self.kernels[i, j], mode="valid")
            output[i] += self.bias[i]          # once per kernel, the whole bias matrix
        self.output = output
        return output

    def backward(self, output_gradient, learning_rate: float = 0.0):
        r"""Gradients of the convolution layer.

        With :math:`\partial L/\partial Y_i` the incoming gradient:

        * :math:`\partial L/\partial K_{ij} = X_j \star \partial L/\partial Y_i`
          (valid cross-correlation, ``correlate2d(X_j, dY_i, "valid")``), shape ``(k, k)``;
        * :math:`\partial L/\partial B_i = \partial L/\partial Y_i`;
        * :math:`\partial L/\partial X_j = \sum_i \partial L/\partial Y_i \ast_{full} K_{ij}`
          (full *convolution* with the kernel itself,
          ``convolve2d(dY_i, K_ij, "full")``, which equals the full
          cross-correlation with the kernel rotated by 180 degrees).

        All three use the kernels as they were in the forward pass; the update
        ``K -= learning_rate * dL/dK``, ``B -= learning_rate * dL/dB`` happens
        afterwards, in place, and only if ``learning_rate != 0``.

        Parameters
        ----------
        output_gradient : array_like, shape ``(d, H - k + 1, W - k + 1)``
            dL/dY.
        learning_rate : float, default 0.0
            Step size of the in-place SGD update; 0 means no update.

        Returns
        -------
        numpy.ndarray, shape ``(n, H, W)``
            dL/dX. The parameter gradients are stored in
            ``self.kernels_gradient`` (shape ``(d, n, k, k)``) and
            ``self.bias_gradient`` (shape ``(d, H - k + 1, W - k + 1)``).

        Raises
        ------
        ValueError
            If ``output_gradient`` does not have the output's shape.
        RuntimeError
            If called before :meth:`forward`.
        """
        name = type(self).__name__
        x = self._saved_input()
        dy = np.asarray(output_gradient)
        _check_shape(dy, self.output_shape, "output_gradient", name)
        dy = _as_real_array(dy, "output_gradient", name)
        self._check_parameters()

        dtype = np.result_type(x, dy, self.kernels)
        kernels_gradient = np.zeros(self.kernels_shape, dtype=dtype)
        input_gradient = np.zeros(self.input_shape, dtype=dtype)
        for i in range(self.depth):
            for j in range(self.input_depth):
                kernels_gradient[i, j] = signal.correlate2d(x[j], dy[i], mode="valid")
                input_gradient[j] += signal.convolve2d(dy[i], self.kernels[i, j], mode="full")
        bias_gradient = dy.copy()

        self.kernels_gradient = kernels_gradient
        self.bias_gradient = bias_gradient
        if learning_rate != 0:
            self.kernels -= learning_rate * kernels_gradient
            self.bias -= learning_rate * bias_gradient
        return input_gradient


class Reshape(Layer):
    """Reshape layer: ``Y = reshape(X, output_shape)``; dL/dX = reshape(dL/dY, input_shape).

    Parameters
    ----------
    input_shape : int or tuple of int
        Shape of the input, e.g. ``(5, 24, 24)``.
    output_shape : int or tuple of int
        Shape of the output, e.g. ``(5 * 24 * 24, 1) = (2880, 1)`` to feed a
        :class:`Dense` layer (which takes column vectors). Must have the same
        number of elements as ``input_shape``.

    Raises
    ------
    ValueError
        If a shape is not made of positive ints, or the two shapes do not have
        the same number of elements (the message shows both products, e.g.
        ``5*24*24 = 2880``).

    Examples
    --------
    >>> Reshape((5, 24, 24), (5 * 24 * 24, 1)).forward(np.zeros((5, 24, 24))).shape
    (2880, 1)
    """

    def __init__(self, input_shape: ShapeLike, output_shape: ShapeLike) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_shape = _shape_tuple(input_shape, "input_shape", name)
        self.output_shape = _shape_tuple(output_shape, "output_shape", name)
        n_in = int(np.prod(self.input_shape, dtype=np.int64))
        n_out = int(np.prod(self.output_shape, dtype=np.int64))
        if n_in != n_out:
            raise ValueError(
                f"{name}: cannot reshape input of shape {self.input_shape} "
                f"({_product_text(self.input_shape)} elements) into shape {self.output_shape} "
                f"({_product_text(self.output_shape)} elements); use output_shape "
                f"({n_in}, 1) for a column vector")

    def __repr__(self) -> str:
        return f"Reshape(input_shape={self.input_shape}, output_shape={self.output_shape})"

    def forward(self, input):  # noqa: A002
        """Return ``input`` reshaped to ``output_shape``.

        Parameters
        ----------
        input : array_like, shape ``input_shape``

        Returns
        -------
        numpy.ndarray, shape ``output_shape``
            Same dtype as the input.

        Raises
        ------
        ValueError
            If ``input`` does not have shape ``input_shape``.
        """
        x = np.asarray(input)
        _check_shape(x, self.input_shape, "input", type(self).__name__)
        self.input = x.copy()
        self.output = np.reshape(x, self.output_shape)
        return self.output

    def backward(self, output_gradient, learning_rate: float = 0.0):
        """Return ``output_gradient`` reshaped to ``input_shape`` (no parameters).

        Parameters
        ----------
        output_gradient : array_like, shape ``output_shape``
        learning_rate : float, default 0.0
            Ignored (the layer has no parameters).

        Returns
        -------
        numpy.ndarray, shape ``input_shape``

        Raises
        ------
        ValueError
            If ``output_gradient`` does not have shape ``output_shape``.
        """
        dy = np.asarray(output_gradient)
        _check_shape(dy, self.output_shape, "output_gradient", type(self).__name__)
        return np.reshape(dy, self.input_shape)


class Dense(Layer):
    r"""Fully connected layer on column vectors: :math:`Y = W X + b`.

    Parameters
    ----------
    input_size : int
        ``m``, the length of the input column vector.
    output_size : int
        ``p``, the length of the output column vector.
    rng : None, int or numpy.random.Generator, optional
        Source of the random initial values; an int is used as a seed and
        ``None`` draws a fresh ``numpy.random.default_rng()``.
    dtype : floating dtype, default numpy.float64
        dtype of ``weights`` and ``bias``.

    Attributes
    ----------
    weights : numpy.ndarray, shape ``(p, m)``
        Initialised from the standard normal distribution.
    bias : numpy.ndarray, shape ``(p, 1)``
        Initialised uniformly on ``[0, 1)``.
    weights_gradient, bias_gradient : numpy.ndarray or None
        dL/dW and dL/db from the last :meth:`backward` call.

    Raises
    ------
    ValueError
        If a size is not a positive int.
    TypeError
        If ``dtype`` is not a floating dtype or ``rng`` is not a valid source.

    Examples
    --------
    >>> Dense(3, 2, rng=0).forward(np.ones((3, 1))).shape
    (2, 1)
    """

    def __init__(self, input_size: int, output_size: int, *, rng: RngLike = None,
                 dtype=np.float64) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = _positive_int(input_size, "input_size", name)
        self.output_size = _positive_int(output_size, "output_size", name)
        self.dtype = _float_dtype(dtype, name)
        generator = _make_rng(rng, name)
        self.weights = generator.standard_normal(
            (self.output_size, self.input_size)).astype(self.dtype)
        self.bias = generator.random((self.output_size, 1)).astype(self.dtype)
        self.weights_gradient: Optional[np.ndarray] = None
        self.bias_gradient: Optional[np.ndarray] = None

    def __repr__(self) -> str:
        return f"Dense(input_size={self.input_size}, output_size={self.output_size})"

    def _check_parameters(self) -> None:
        name = type(self).__name__
        _check_shape(np.asarray(self.weights), (self.output_size, self.input_size), "weights",
                     name)
        _check_shape(np.asarray(self.bias), (self.output_size, 1), "bias", name)

    def forward(self, input):  # noqa: A002
        r"""Compute :math:`Y = W X + b`.

        Parameters
        ----------
        input : array_like, shape ``(m, 1)``
            A column vector. Integer data is converted to float64.

        Returns
        -------
        numpy.ndarray, shape ``(p, 1)``
            dtype: NumPy's promotion of the input, ``weights`` and ``bias``.

        Raises
        ------
        ValueError
            If ``input`` is not of shape ``(m, 1)`` (a 1-D vector is refused:
            reshape it to a column), or a replaced ``weights``/``bias`` has the
            wrong shape.
        TypeError
            If ``input`` does not hold real numbers.
        """
        name = type(self).__name__
        x = np.asarray(input)
        hint = ""
        if x.shape == (self.input_size,):
            hint = f" (a 1-D vector; pass a column vector, e.g. x.reshape({self.input_size}, 1))"
        _check_shape(x, (self.input_size, 1), "input", name, hint)
        x = _as_real_array(x, "input", name)
        self._check_parameters()
        self.input = x.copy()
        self.output = self.weights @ x + self.bias
        return self.output

    def backward(self, output_gradient, learning_rate: float = 0.0):
        r"""Gradients of the dense layer.

        With :math:`\partial L/\partial Y` the incoming column gradient:

        * :math:`\partial L/\partial W = \partial L/\partial Y \, X^T`, shape ``(p, m)``;
        * :math:`\partial L/\partial b = \partial L/\partial Y`, shape ``(p, 1)``;
        * :math:`\partial L/\partial X = W^T \, \partial L/\partial Y`, shape ``(m, 1)``,

        all with the weights *before* the update. Then, only if
        ``learning_rate != 0``, ``W -= learning_rate * dL/dW`` and
        ``b -= learning_rate * dL/db`` in place.

        Parameters
        ----------
        output_gradient : array_like, shape ``(p, 1)``
            dL/dY.
        learning_rate : float, default 0.0
            Step size of the in-place SGD update; 0 means no update.

        Returns
        -------
        numpy.ndarray, shape ``(m, 1)``
            dL/dX. The parameter gradients are stored in
            ``self.weights_gradient`` and ``self.bias_gradient``.

        Raises
        ------
        ValueError
            If ``output_gradient`` is not of shape ``(p, 1)``.
        RuntimeError
            If called before :meth:`forward`.
        """
        name = type(self).__name__
        x = self._saved_input()
        dy = np.asarray(output_gradient)
        _check_shape(dy, (self.output_size, 1), "output_gradient", name)
        dy = _as_real_array(dy, "output_gradient", name)
        self._check_parameters()

        weights_gradient = dy @ x.T
        bias_gradient = dy.copy()
        input_gradient = self.weights.T @ dy  # before the update

        self.weights_gradient = weights_gradient
        self.bias_gradient = bias_gradient
        if learning_rate != 0:
            self.weights -= learning_rate * weights_gradient
            self.bias -= learning_rate * bias_gradient
        return input_gradient


class Activation(Layer):
    r"""Elementwise activation layer: :math:`Y = f(X)`.

    Backward: :math:`\partial L/\partial X = \partial L/\partial Y \odot f'(X)`.

    Parameters
    ----------
    activation : callable
        ``f``: takes an array and returns an array of the same shape.
    activation_prime : callable
        ``f'``: the elementwise derivative of ``f``, same contract.

    Examples
    --------
    >>> square = Activation(lambda x: x ** 2, lambda x: 2 * x)
    >>> square.forward(np.array([3.0]))
    array([9.])
    >>> square.backward(np.array([1.0]))
    array([6.])
    """

    def __init__(self, activation: Callable[[np.ndarray], np.ndarray],
                 activation_prime: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__()
        if not callable(activation) or not callable(activation_prime):
            raise TypeError(f"{type(self).__name__}: activation and activation_prime must be "
                            "callables")
        self.activation = activation
        self.activation_prime = activation_prime

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def forward(self, input):  # noqa: A002
        """Return ``activation(input)``.

        Parameters
        ----------
        input : array_like, any shape
            Integer data is converted to float64.

        Returns
        -------
        numpy.ndarray, same shape as ``input``

        Raises
        ------
        TypeError
            If ``input`` does not hold real numbers.
        """
        x = _as_real_array(input, "input", type(self).__name__)
        self.input = x.copy()
        self.output = self.activation(x)
        return self.output

    def backward(self, output_gradient, learning_rate: float = 0.0):
        """Return ``output_gradient * activation_prime(input)`` (elementwise).

        Parameters
        ----------
        output_gradient : array_like, same shape as the last input
        learning_rate : float, default 0.0
            Ignored (the layer has no parameters).

        Returns
        -------
        numpy.ndarray, same shape as the last input

        Raises
        ------
        ValueError
            If ``output_gradient`` does not have the input's shape.
        RuntimeError
            If called before :meth:`forward`.
        """
        name = type(self).__name__
        x = self._saved_input()
        dy = np.asarray(output_gradient)
        _check_shape(dy, x.shape, "output_gradient", name)
        dy = _as_real_array(dy, "output_gradient", name)
        return np.multiply(dy, self.activation_prime(x))


def sigmoid(x):
    r"""Logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})`, numerically stable.

    Computed with ``scipy.special.expit``: no overflow warning for large
    ``|x|`` (``sigmoid(-1000) == 0.0``, ``sigmoid(1000) == 1.0``).

    Parameters
    ----------
    x : array_like, any shape
        Real values; float32 stays float32.

    Returns
    -------
    numpy.ndarray, same shape as ``x``, values in ``[0, 1]``.
    """
    return special.expit(x)


def sigmoid_prime(x):
    r"""Derivative of the sigmoid: :math:`\sigma'(x) = \sigma(x)(1 - \sigma(x))`.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    numpy.ndarray, same shape as ``x``, values in ``[0, 0.25]``.
    """
    s = special.expit(x)
    return s * (1 - s)


class Sigmoid(Activation):
    r"""Sigmoid activation layer: :math:`Y = \sigma(X) = 1 / (1 + e^{-X})`.

    Backward:
    :math:`\partial L/\partial X = \partial L/\partial Y \odot \sigma(X)(1 - \sigma(X))`.

    Stable for large ``|X|`` (uses ``scipy.special.expit``). Accepts inputs
    of any shape.

    Examples
    --------
    >>> Sigmoid().forward(np.array([0.0, -1000.0, 1000.0]))
    array([0.5, 0. , 1. ])
    """

    def __init__(self) -> None:
        super().__init__(sigmoid, sigmoid_prime)


# ---------------------------------------------------------------------------
# loss
# ---------------------------------------------------------------------------

def _bce_arrays(y_true, y_pred, owner: str):
    y = _as_real_array(y_true, "y_true", owner)
    p = _as_real_array(y_pred, "y_pred", owner)
    if y.shape != p.shape:
        raise ValueError(f"{owner}: expected y_true and y_pred of the same shape, "
                         f"got y_true {y.shape} and y_pred {p.shape}")
    if p.size == 0:
        raise ValueError(f"{owner}: y_pred is empty")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"{owner}: y_pred must hold probabilities in [0, 1], "
                         f"got values in [{np.nanmin(p)}, {np.nanmax(p)}]")
    return y, p


def binary_cross_entropy(y_true, y_pred) -> float:
    r"""Mean binary cross-entropy, logs clamped at -100 as in PyTorch.

    .. math::
        L = \frac{1}{N} \sum_{k=1}^{N} -\Big( y_k \max(\log p_k, -100)
            + (1 - y_k) \max(\log(1 - p_k), -100) \Big)

    with ``N = y_true.size``. The clamp makes ``p = 0`` or ``p = 1`` give a
    finite loss without warnings: a correct confident prediction costs 0, a
    wrong one costs 100 per element.

    Parameters
    ----------
    y_true : array_like
        Targets, usually 0 or 1 (any real values are accepted), e.g. shape
        ``(2, 1)`` for a one-hot column.
    y_pred : array_like, same shape as ``y_true``
        Predicted probabilities in ``[0, 1]``.

    Returns
    -------
    float
        The mean loss.

    Raises
    ------
    ValueError
        If the shapes differ, ``y_pred`` is empty, or a probability lies
        outside ``[0, 1]``.
    """
    y, p = _bce_arrays(y_true, y_pred, "binary_cross_entropy")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), LOG_CLAMP)
        log_1mp = np.maximum(np.log1p(-p), LOG_CLAMP)
    return float(np.mean(-(y * log_p + (1 - y) * log_1mp)))


def binary_cross_entropy_prime(y_true, y_pred):
    r"""Gradient of :func:`binary_cross_entropy` with respect to ``y_pred``.

    .. math::
        \frac{\partial L}{\partial p_k}
        = \frac{1}{N}\left(\frac{1 - y_k}{1 - p_k} - \frac{y_k}{p_k}\right)
        = \frac{1}{N}\,\frac{p_k - y_k}{p_k (1 - p_k)}

    computed, as PyTorch does, as
    ``(p - y) / max(p * (1 - p), 1e-12) / N`` with ``N = y_true.size``.

    Wherever ``p * (1 - p) >= 1e-12`` (i.e. ``1e-12 <~ p <~ 1 - 1e-12``) this
    is exactly the derivative of the clamped loss. At the very edges the
    denominator is clamped at ``1e-12`` (:data:`BCE_PRIME_EPS`) so the result
    stays finite and no warning is raised. In particular, at ``p`` exactly 0
    or 1:

    * ``p == y`` (a correct confident prediction) gives 0;
    * ``p = 0, y = 1`` gives ``-1e12 / N`` and ``p = 1, y = 0`` gives
      ``+1e12 / N``: a huge but finite push in the right direction.

    (The literal derivative of the clamped loss would be 0 for a completely
    wrong prediction, because the clamped log is flat there; the PyTorch
    convention is kept instead.)

    Parameters
    ----------
    y_true : array_like
        Targets, same shape as ``y_pred``.
    y_pred : array_like
        Predicted probabilities in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray, same shape as ``y_pred``
        dL/dp; dtype is NumPy's promotion of the inputs (float64 for ints).

    Raises
    ------
    ValueError
        If the shapes differ, ``y_pred`` is empty, or a probability lies
        outside ``[0, 1]``.
    """
    y, p = _bce_arrays(y_true, y_pred, "binary_cross_entropy_prime")
    denominator = np.maximum(p * (1 - p), BCE_PRIME_EPS)
    return (p - y) / denominator / y.size
