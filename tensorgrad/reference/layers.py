"""The hand-derived layers: convolution, reshape, dense, elementwise activations."""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
from scipy import signal, special

from ._checks import (
    RngLike,
    ShapeLike,
    float_dtype,
    make_rng,
    positive_int,
    product_text,
    real_array,
    shape_tuple,
)

__all__ = ["Layer", "Convolution", "Reshape", "Dense", "Activation", "Sigmoid", "sigmoid",
           "sigmoid_prime"]


def _initial_parameters(rng: RngLike, dtype, owner: str, weights_shape, bias_shape):
    """``(dtype, weights, bias)``: weights standard normal, bias uniform on ``[0, 1)``.

    Drawn in float64, then cast, so that a seed gives the same values whatever the dtype.
    """
    dtype = float_dtype(dtype, owner)
    generator = make_rng(rng, owner)
    weights = generator.standard_normal(weights_shape).astype(dtype)
    return dtype, weights, generator.random(bias_shape).astype(dtype)


class Layer:
    """Base class: ``forward(input)`` and ``backward(output_gradient, learning_rate=0.0)``.

    Attributes
    ----------
    input : numpy.ndarray or None
        A copy of the last input to :meth:`forward` (None before the first call).
    output : numpy.ndarray or None
        The last output of :meth:`forward`.
    """

    def __init__(self) -> None:
        self.input: Optional[np.ndarray] = None
        self.output: Optional[np.ndarray] = None

    def forward(self, input):  # noqa: A002 - the notebook's name
        """The layer's output for one (unbatched) ``input``; saves what :meth:`backward` needs.

        Parameters
        ----------
        input : array_like
            Of the shape the layer states; bool and int data become float64.

        Returns
        -------
        numpy.ndarray
            dtype: NumPy's promotion of the input and the parameters.
        """
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, output_gradient, learning_rate: float = 0.0):
        """Back-propagate ``output_gradient`` = dL/d(output).

        Parameters
        ----------
        output_gradient : array_like
            The shape of the last output.
        learning_rate : float, default 0.0
            When non-zero, ``p -= learning_rate * dL/dp`` in place after every gradient is
            computed (with the parameters of the forward pass).

        Returns
        -------
        numpy.ndarray
            dL/d(input), the shape of the last input.

        Raises
        ------
        ValueError
            If ``output_gradient`` does not have the last output's shape.
        RuntimeError
            If called before :meth:`forward`.
        """
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def _parameter_shapes(self) -> dict:
        """``{attribute: shape}`` of the parameters, checked before each use."""
        return {}

    def _check_parameters(self) -> None:
        for attr, shape in self._parameter_shapes().items():
            real_array(getattr(self, attr), attr, type(self).__name__, shape)

    def _take_input(self, input, shape=None) -> np.ndarray:  # noqa: A002
        """``input`` as a real array of ``shape``, saved (a copy) as ``self.input``."""
        x = real_array(input, "input", type(self).__name__, shape)
        self._check_parameters()
        self.input = x.copy()
        return x

    def _take_gradient(self, output_gradient):
        """``(saved input, output_gradient)``, the gradient checked against the last output."""
        if self.input is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        dy = real_array(output_gradient, "output_gradient", type(self).__name__,
                        np.shape(self.output))
        self._check_parameters()
        return self.input, dy

    def _step(self, learning_rate: float, **gradients) -> None:
        """Store each gradient as ``<name>_gradient``; then ``p -= learning_rate * grad``."""
        for attr, g in gradients.items():
            setattr(self, f"{attr}_gradient", g)
        if learning_rate != 0:
            for attr, g in gradients.items():
                p = getattr(self, attr)
                np.subtract(p, learning_rate * g, out=p)


class Convolution(Layer):
    r"""Convolution layer (valid cross-correlation, untied bias).

    .. math:: Y_i = B_i + \sum_{j=1}^{n} X_j \star K_{ij}, \qquad i = 1, \dots, d

    ``Y[i, u, v] = B[i, u, v] + sum_{j, a, b} X[j, u + a, v + b] K[i, j, a, b]``, i.e.
    ``scipy.signal.correlate2d(X_j, K_ij, "valid")`` summed over the input channels ``j``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(n, H, W)``: channels, height, width of one (unbatched) input.
    kernel_size : int
        ``k``, with ``k <= H`` and ``k <= W``.
    depth : int
        ``d``, the number of kernels (output channels).
    rng : None, int or numpy.random.Generator, optional
        Source of the initial values (an int is a seed).
    dtype : floating dtype, default float64
        dtype of the parameters.

    Attributes
    ----------
    kernels : numpy.ndarray, shape ``(d, n, k, k)``
        Standard normal initial values.
    bias : numpy.ndarray, shape ``(d, H - k + 1, W - k + 1)``
        One value per output element; uniform on ``[0, 1)`` initially.
    kernels_gradient, bias_gradient : numpy.ndarray or None
        dL/dK and dL/dB from the last :meth:`backward`.

    Raises
    ------
    ValueError
        If ``input_shape`` is not three positive ints, a size is not a positive int, or the
        kernel is larger than the input.
    TypeError
        If ``dtype`` is not floating or ``rng`` is not a valid source.

    Examples
    --------
    >>> Convolution((1, 28, 28), 3, 5, rng=0).forward(np.zeros((1, 28, 28))).shape
    (5, 26, 26)
    """

    def __init__(self, input_shape: Sequence[int], kernel_size: int, depth: int, *,
                 rng: RngLike = None, dtype=np.float64) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_shape = shape_tuple(input_shape, "input_shape", name)
        if len(self.input_shape) != 3:
            raise ValueError(f"{name}: input_shape must be (channels, height, width), "
                             f"got {self.input_shape}")
        n, h, w = self.input_shape
        k = self.kernel_size = positive_int(kernel_size, "kernel_size", name)
        d = self.depth = positive_int(depth, "depth", name)
        if k > h or k > w:
            raise ValueError(f"{name}: kernel_size {k} is larger than the input's "
                             f"height x width {h} x {w}")
        self.input_depth = n
        self.output_shape = (d, h - k + 1, w - k + 1)
        self.kernels_shape = (d, n, k, k)
        self.dtype, self.kernels, self.bias = _initial_parameters(
            rng, dtype, name, self.kernels_shape, self.output_shape)
        self.kernels_gradient: Optional[np.ndarray] = None
        self.bias_gradient: Optional[np.ndarray] = None

    def __repr__(self) -> str:
        return (f"Convolution(input_shape={self.input_shape}, kernel_size={self.kernel_size}, "
                f"depth={self.depth})")

    def _parameter_shapes(self) -> dict:
        return {"kernels": self.kernels_shape, "bias": self.output_shape}

    def forward(self, input):  # noqa: A002
        """``Y``, shape ``(d, H - k + 1, W - k + 1)``, of one input ``X`` of shape ``(n, H, W)``.

        Raises
        ------
        ValueError
            If ``input`` (or a replaced ``kernels``/``bias``) has another shape.
        TypeError
            If ``input`` does not hold real numbers.
        """
        x = self._take_input(input, self.input_shape)
        y = np.zeros(self.output_shape, np.result_type(x, self.kernels, self.bias))
        for i in range(self.depth):
            for j in range(self.input_depth):
                y[i] += signal.correlate2d(x[j], self.kernels[i, j], mode="valid")
            y[i] += self.bias[i]  # once per kernel
        self.output = y
        return y

    def backward(self, output_gradient, learning_rate: float = 0.0):
        r"""dL/dX, shape ``(n, H, W)``, from dL/dY of shape ``(d, H - k + 1, W - k + 1)``.

        * :math:`\partial L/\partial K_{ij} = X_j \star \partial L/\partial Y_i`
          (``correlate2d(X_j, dY_i, "valid")``),
        * :math:`\partial L/\partial B_i = \partial L/\partial Y_i`,
        * :math:`\partial L/\partial X_j = \sum_i \partial L/\partial Y_i \ast_{full} K_{ij}`
          (``convolve2d(dY_i, K_ij, "full")``: a full *convolution*, the kernel flipped once),

        all with the kernels of the forward pass, stored as ``kernels_gradient`` and
        ``bias_gradient``; then, if ``learning_rate != 0``, ``K -= learning_rate * dL/dK`` and
        ``B -= learning_rate * dL/dB`` in place. Raises as :meth:`Layer.backward`.
        """
        x, dy = self._take_gradient(output_gradient)
        dtype = np.result_type(x, dy, self.kernels)
        dk = np.zeros(self.kernels_shape, dtype)
        dx = np.zeros(self.input_shape, dtype)
        for i in range(self.depth):
            for j in range(self.input_depth):
                dk[i, j] = signal.correlate2d(x[j], dy[i], mode="valid")
                dx[j] += signal.convolve2d(dy[i], self.kernels[i, j], mode="full")
        self._step(learning_rate, kernels=dk, bias=dy.copy())
        return dx


class Reshape(Layer):
    """``Y = reshape(X, output_shape)``; dL/dX = ``reshape(dL/dY, input_shape)``.

    Parameters
    ----------
    input_shape, output_shape : int or tuple of int
        With the same number of elements, e.g. ``(5, 24, 24)`` and ``(2880, 1)`` (a column
        for :class:`Dense`).

    Raises
    ------
    ValueError
        If a shape is not made of positive ints or the sizes differ (the message shows both
        products, e.g. ``5*24*24 = 2880``).

    Examples
    --------
    >>> Reshape((5, 24, 24), (5 * 24 * 24, 1)).forward(np.zeros((5, 24, 24))).shape
    (2880, 1)
    """

    def __init__(self, input_shape: ShapeLike, output_shape: ShapeLike) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_shape = shape_tuple(input_shape, "input_shape", name)
        self.output_shape = shape_tuple(output_shape, "output_shape", name)
        n_in, n_out = (int(np.prod(s, dtype=np.int64)) for s in (self.input_shape, self.output_shape))
        if n_in != n_out:
            raise ValueError(
                f"{name}: cannot reshape input of shape {self.input_shape} "
                f"({product_text(self.input_shape)} elements) into shape {self.output_shape} "
                f"({product_text(self.output_shape)} elements); use output_shape "
                f"({n_in}, 1) for a column vector")

    def __repr__(self) -> str:
        return f"Reshape(input_shape={self.input_shape}, output_shape={self.output_shape})"

    def forward(self, input):  # noqa: A002
        """``input`` reshaped to ``output_shape``.

        Raises
        ------
        ValueError
            If ``input`` does not have shape ``input_shape``.
        """
        self.output = np.reshape(self._take_input(input, self.input_shape), self.output_shape)
        return self.output

    def backward(self, output_gradient, learning_rate: float = 0.0):
        """``output_gradient`` reshaped to ``input_shape``; no parameters (``learning_rate`` is
        ignored). Raises as :meth:`Layer.backward`."""
        _, dy = self._take_gradient(output_gradient)
        return np.reshape(dy, self.input_shape)


class Dense(Layer):
    r"""Fully connected layer on column vectors: :math:`Y = W X + b`.

    Parameters
    ----------
    input_size, output_size : int
        ``m`` and ``p``: ``X`` has shape ``(m, 1)``, ``Y`` shape ``(p, 1)``.
    rng, dtype : optional
        As for :class:`Convolution`.

    Attributes
    ----------
    weights : numpy.ndarray, shape ``(p, m)``
        Standard normal initial values.
    bias : numpy.ndarray, shape ``(p, 1)``
        Uniform on ``[0, 1)`` initially.
    weights_gradient, bias_gradient : numpy.ndarray or None
        dL/dW and dL/db from the last :meth:`backward`.

    Raises
    ------
    ValueError
        If a size is not a positive int.
    TypeError
        If ``dtype`` is not floating or ``rng`` is not a valid source.

    Examples
    --------
    >>> Dense(3, 2, rng=0).forward(np.ones((3, 1))).shape
    (2, 1)
    """

    def __init__(self, input_size: int, output_size: int, *, rng: RngLike = None,
                 dtype=np.float64) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = positive_int(input_size, "input_size", name)
        self.output_size = positive_int(output_size, "output_size", name)
        self.dtype, self.weights, self.bias = _initial_parameters(
            rng, dtype, name, (self.output_size, self.input_size), (self.output_size, 1))
        self.weights_gradient: Optional[np.ndarray] = None
        self.bias_gradient: Optional[np.ndarray] = None

    def __repr__(self) -> str:
        return f"Dense(input_size={self.input_size}, output_size={self.output_size})"

    def _parameter_shapes(self) -> dict:
        return {"weights": (self.output_size, self.input_size), "bias": (self.output_size, 1)}

    def forward(self, input):  # noqa: A002
        """``W X + b``, shape ``(p, 1)``, of a column ``X`` of shape ``(m, 1)``.

        Raises
        ------
        ValueError
            If ``input`` has another shape (a 1-D vector too: reshape it to a column), or a
            replaced ``weights``/``bias`` has the wrong shape.
        TypeError
            If ``input`` does not hold real numbers.
        """
        x = self._take_input(input, (self.input_size, 1))
        self.output = self.weights @ x + self.bias
        return self.output

    def backward(self, output_gradient, learning_rate: float = 0.0):
        r"""dL/dX, shape ``(m, 1)``, from dL/dY of shape ``(p, 1)``.

        * :math:`\partial L/\partial W = \partial L/\partial Y \, X^T`, shape ``(p, m)``,
        * :math:`\partial L/\partial b = \partial L/\partial Y`,
        * :math:`\partial L/\partial X = W^T \, \partial L/\partial Y`,

        all with the weights of the forward pass, stored as ``weights_gradient`` and
        ``bias_gradient``; then, if ``learning_rate != 0``, ``W`` and ``b`` are updated in
        place. Raises as :meth:`Layer.backward`.
        """
        x, dy = self._take_gradient(output_gradient)
        dx = self.weights.T @ dy  # before the update
        self._step(learning_rate, weights=dy @ x.T, bias=dy.copy())
        return dx


class Activation(Layer):
    r"""Elementwise activation: :math:`Y = f(X)`.

    Backward: :math:`\partial L/\partial X = \partial L/\partial Y \odot f'(X)`.

    Parameters
    ----------
    activation, activation_prime : callable
        ``f`` and its elementwise derivative ``f'``, each array -> array of the same shape.

    Raises
    ------
    TypeError
        If either is not callable.

    Examples
    --------
    >>> square = Activation(lambda x: x ** 2, lambda x: 2 * x)
    >>> square.forward(np.array([3.0])), square.backward(np.array([1.0]))
    (array([9.]), array([6.]))
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
        """``activation(input)``, any shape; ``TypeError`` if ``input`` is not real."""
        self.output = self.activation(self._take_input(input))
        return self.output

    def backward(self, output_gradient, learning_rate: float = 0.0):
        """``output_gradient * activation_prime(input)``; no parameters (``learning_rate`` is
        ignored). Raises as :meth:`Layer.backward`."""
        x, dy = self._take_gradient(output_gradient)
        return dy * self.activation_prime(x)


def sigmoid(x):
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})` by ``scipy.special.expit``: no overflow warning.

    ``x``: array_like, any shape (float32 stays float32); values in ``[0, 1]``.
    """
    return special.expit(x)


def sigmoid_prime(x):
    r""":math:`\sigma'(x) = \sigma(x)(1 - \sigma(x))`, values in ``[0, 0.25]``."""
    s = special.expit(x)
    return s * (1 - s)


class Sigmoid(Activation):
    r"""Sigmoid layer: :math:`Y = \sigma(X)`, any shape, stable for any ``X``.

    Backward: :math:`\partial L/\partial X = \partial L/\partial Y \odot \sigma(X)(1 - \sigma(X))`.

    Examples
    --------
    >>> Sigmoid().forward(np.array([0.0, -1000.0, 1000.0]))
    array([0.5, 0. , 1. ])
    """

    def __init__(self) -> None:
        super().__init__(sigmoid, sigmoid_prime)
