"""How each reference layer, and the loss, is written in tensorgrad.

A layer class is given its tensorgrad expression in one way: register a function with
:func:`engine_equivalent` that returns an :class:`Equivalent`. The built-in layers are
registered below, the same way.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import numpy as np
import scipy.special

from .. import reference as ref
from ..ops import binary_cross_entropy, correlate2d, reshape, sigmoid, stack, tanh

__all__ = ["ACTIVATIONS", "BCE", "Equivalent", "Loss", "engine_equivalent"]


@dataclass(frozen=True)
class Equivalent:
    """The tensorgrad expression of one reference layer.

    Parameters
    ----------
    fn : callable
        ``fn(x, **params) -> Tensor``: the layer's forward pass with tensorgrad ops. ``x`` is
        the input Tensor; each parameter comes as a keyword Tensor sharing memory with the
        layer's ndarray. Read static configuration (shapes, scales) from the layer in a closure.
    params : sequence of str or mapping of str to str, optional
        The layer's trainable parameters: attribute names (``("weights", "bias")``), or
        ``{keyword of fn: attribute}`` to rename. Each must be a floating-point ndarray.
    gradients : mapping of str to str, optional
        ``{attribute: attribute holding its gradient after backward}``; by default
        ``"<attribute>_gradient"`` (the :mod:`tensorgrad.reference` convention). A layer that
        stores no gradient (the notebook's style) is handled too: the gradient is recovered
        from the update its ``backward`` makes, ``(p_before - p_after) / learning_rate``.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or ``params`` names are not strings.
    ValueError
        If ``gradients`` names an attribute that is not a parameter.

    Examples
    --------
    >>> from tensorgrad import compare
    >>> eq = compare.Equivalent(lambda x, weights, bias: weights @ x + bias,
    ...                         params=("weights", "bias"))
    >>> dict(eq.params), dict(eq.gradients)
    ({'weights': 'weights', 'bias': 'bias'}, {'weights': 'weights_gradient', 'bias': 'bias_gradient'})
    """

    fn: Callable[..., Any]
    params: Mapping[str, str] = field(default_factory=dict)
    gradients: Optional[Mapping[str, str]] = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"Equivalent: fn must be callable, got {type(self.fn).__name__}")
        params = (self.params,) if isinstance(self.params, str) else self.params
        params = dict(params) if isinstance(params, Mapping) else {p: p for p in params}
        for kw, attr in params.items():
            if not (isinstance(kw, str) and isinstance(attr, str)):
                raise TypeError(f"Equivalent: params must name attributes with strings, "
                                f"got {kw!r}: {attr!r}")
        grads = {attr: f"{attr}_gradient" for attr in params.values()}
        unknown = set(self.gradients or ()) - set(grads)
        if unknown:
            raise ValueError(f"Equivalent: gradients names {sorted(unknown)}, which are not "
                             f"parameters; expected some of {sorted(grads)}")
        grads.update(self.gradients or {})
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "gradients", grads)


#: The tensorgrad op of each activation function of a :class:`tensorgrad.reference.Activation`
#: layer, keyed by the function itself. Add your own: ``compare.ACTIVATIONS[my_relu] = tg.relu``.
ACTIVATIONS: dict = {
    ref.sigmoid: sigmoid,
    scipy.special.expit: sigmoid,
    np.tanh: tanh,
}


@functools.singledispatch
def engine_equivalent(layer) -> Equivalent:
    """The :class:`Equivalent` of a layer, chosen by the layer's class.

    This is how a layer class of your own is compared: register a function that returns its
    tensorgrad expression (``functools.singledispatch``), and every layer of that class and of
    its subclasses is compared. Built in: :class:`~tensorgrad.reference.Convolution`,
    :class:`~tensorgrad.reference.Reshape`, :class:`~tensorgrad.reference.Dense`,
    :class:`~tensorgrad.reference.Sigmoid` and :class:`~tensorgrad.reference.Activation`
    (through :data:`ACTIVATIONS`). A subclass of one of them (e.g. a ``Dense`` with its own
    ``backward``) is compared with its base class's expression, which is how a faulty
    hand-written backward is caught; register the subclass to give it another expression.

    Parameters
    ----------
    layer : object
        A layer with ``forward(input)`` and ``backward(output_gradient, learning_rate)``.

    Returns
    -------
    Equivalent

    Raises
    ------
    TypeError
        For a class with nothing registered, or an ``Activation`` whose function is not in
        :data:`ACTIVATIONS`.

    Examples
    --------
    A layer in the notebook's style, and its expression:

    >>> import numpy as np
    >>> import tensorgrad as tg
    >>> from tensorgrad import compare, reference as ref
    >>> class Tanh:
    ...     def forward(self, input):
    ...         self.input = input
    ...         return np.tanh(input)
    ...     def backward(self, output_gradient, learning_rate=0.0):
    ...         return output_gradient * (1 - np.tanh(self.input) ** 2)
    >>> @compare.engine_equivalent.register(Tanh)
    ... def _(layer):
    ...     return compare.Equivalent(tg.tanh)
    >>> net = [ref.Dense(3, 2, rng=0), Tanh(), ref.Sigmoid()]
    >>> compare.gradients(net, np.ones((3, 1)), np.array([[1.0], [0.0]])).ok
    True

    A layer with parameters and static configuration
    (``Y = s W X + b``; its ``backward`` may update without storing gradients)::

        @compare.engine_equivalent.register(ScaledDense)
        def _(layer):
            return compare.Equivalent(lambda x, w, b: layer.scale * (w @ x) + b,
                                      params={"w": "weights", "b": "bias"})
    """
    name = type(layer).__name__
    raise TypeError(f"compare: no tensorgrad equivalent is known for a {name} layer; register "
                    f"one with @compare.engine_equivalent.register({name}) returning "
                    f"compare.Equivalent(fn, params=...)")


def _convolution(x, kernels, bias):
    """Y_i = Σ_j correlate2d(X_j, K_ij, "valid") + B_i, the derivation term by term."""
    depth, input_depth = kernels.shape[:2]
    channels = [x[j] for j in range(input_depth)]
    outputs = []
    for i in range(depth):
        total = correlate2d(channels[0], kernels[i, 0], mode="valid")
        for j in range(1, input_depth):
            total = total + correlate2d(channels[j], kernels[i, j], mode="valid")
        outputs.append(total + bias[i])
    return stack(outputs)


@engine_equivalent.register(ref.Convolution)
def _(layer):
    return Equivalent(_convolution, params=("kernels", "bias"))


@engine_equivalent.register(ref.Reshape)
def _(layer):
    shape = tuple(layer.output_shape)
    return Equivalent(lambda x: reshape(x, shape=shape))


@engine_equivalent.register(ref.Dense)
def _(layer):
    return Equivalent(lambda x, weights, bias: weights @ x + bias, params=("weights", "bias"))


@engine_equivalent.register(ref.Activation)
def _(layer):
    fn = ACTIVATIONS.get(layer.activation)
    if fn is None:
        name = getattr(layer.activation, "__name__", repr(layer.activation))
        raise TypeError(
            f"compare: {type(layer).__name__} layer with activation function {name}, which has "
            f"no known tensorgrad equivalent; add it with compare.ACTIVATIONS[fn] = tg.<op>")
    return Equivalent(fn)


@engine_equivalent.register(ref.Sigmoid)
def _(layer):
    return Equivalent(sigmoid)


@dataclass(frozen=True)
class Loss:
    """A loss written both ways.

    Parameters
    ----------
    name : str
        Shown in reports.
    value : callable
        ``value(y_true, y_pred) -> float``, the reference loss (the notebook's argument order).
    prime : callable
        ``prime(y_true, y_pred) -> ndarray``, its hand-derived gradient with respect to
        ``y_pred``.
    engine : callable
        ``engine(prediction, target) -> Tensor`` of one element (PyTorch's argument order).

    Examples
    --------
    A mean squared error:

    >>> import numpy as np
    >>> import tensorgrad as tg
    >>> from tensorgrad import compare
    >>> mse = compare.Loss("mse", value=lambda y, p: float(np.mean((p - y) ** 2)),
    ...                    prime=lambda y, p: 2 * (p - y) / y.size, engine=tg.mse_loss)
    """

    name: str
    value: Callable[[Any, Any], Any]
    prime: Callable[[Any, Any], Any]
    engine: Callable[[Any, Any], Any]


#: Mean binary cross-entropy: :func:`tensorgrad.reference.binary_cross_entropy` and its prime
#: against :func:`tensorgrad.binary_cross_entropy` (both clamp each log at -100 and use
#: PyTorch's gradient ``(p - y) / max(p (1 - p), 1e-12) / N``).
BCE = Loss("binary_cross_entropy", ref.binary_cross_entropy, ref.binary_cross_entropy_prime,
           binary_cross_entropy)
