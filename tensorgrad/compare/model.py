"""The tensorgrad network built over the parameter arrays of a list of reference layers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, Tuple

import numpy as np

from ..tensor import Tensor
from .equivalents import Equivalent, engine_equivalent

__all__ = ["EngineModel", "engine_model"]


@dataclass
class _EngineLayer:
    index: int
    name: str
    equivalent: Equivalent
    params: dict  # keyword of the expression -> Tensor


class EngineModel:
    """A tensorgrad network built from reference layers by :func:`engine_model`.

    Calling it runs the layers' tensorgrad expressions in order. Each parameter is a leaf
    Tensor with ``requires_grad=True`` wrapping the reference layer's ndarray (or a copy).

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import compare, reference as ref
    >>> net = [ref.Dense(3, 2, rng=0), ref.Sigmoid()]
    >>> model = compare.engine_model(net)
    >>> model(np.ones((3, 1))).shape
    (2, 1)
    >>> [name for name, _ in model.named_parameters()]
    ['0.weights', '0.bias']
    >>> np.shares_memory(model.parameters()[0].data, net[0].weights)
    True
    """

    def __init__(self, layers: Sequence[_EngineLayer]) -> None:
        self.layers = list(layers)

    def trace(self, x) -> list:
        """Every layer's output, in order.

        Parameters
        ----------
        x : Tensor or array_like
            The first layer's input (one sample, unbatched, as the reference layers take it).

        Returns
        -------
        list of Tensor
            ``outputs[i]`` is the output of layer ``i``; the last one is the network's output.

        Raises
        ------
        Exception
            Whatever a layer's expression raises, of the same type, its message prefixed
            with the layer's index, class and input shape.
        TypeError
            If an expression returns something other than a Tensor.
        """
        h = x if isinstance(x, Tensor) else Tensor(x)
        outputs = []
        for layer in self.layers:
            where = f"the tensorgrad expression of layer {layer.index} ({layer.name})"
            shape = h.shape
            try:
                h = layer.equivalent.fn(h, **layer.params)
            except Exception as err:
                try:
                    wrapped = type(err)(f"compare: {where} failed on an input of shape "
                                        f"{shape}: {err}")
                except Exception:
                    raise err from None
                raise wrapped from err
            if not isinstance(h, Tensor):
                raise TypeError(f"compare: {where} returned a {type(h).__name__}, expected a "
                                f"Tensor (write it with tensorgrad ops)")
            outputs.append(h)
        return outputs

    def __call__(self, x) -> Tensor:
        """The network's output for one sample ``x``."""
        return self.trace(x)[-1]

    def named_parameters(self) -> list:
        """``[("<layer index>.<attribute>", Tensor), ...]``, in layer order."""
        return [(f"{layer.index}.{layer.equivalent.params[kw]}", t)
                for layer in self.layers for kw, t in layer.params.items()]

    def parameters(self) -> list:
        """Every parameter Tensor, in layer order."""
        return [t for _, t in self.named_parameters()]

    def __repr__(self) -> str:
        return f"EngineModel([{', '.join(layer.name for layer in self.layers)}])"


def _parameter_array(layer, attr: str, index: int) -> np.ndarray:
    name = type(layer).__name__
    if not hasattr(layer, attr):
        raise AttributeError(f"compare: layer {index} ({name}) has no parameter attribute "
                             f"{attr!r}")
    value = getattr(layer, attr)
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        raise TypeError(f"compare: parameter {attr!r} of layer {index} ({name}) must be a "
                        f"floating-point numpy.ndarray, got "
                        f"{type(value).__name__} {getattr(value, 'dtype', '')}".rstrip())
    return value


def build(layers: Sequence[Any], owner: str, copy: bool) -> Tuple[list, EngineModel]:
    """``(list(layers), EngineModel)``, each parameter Tensor over the layer's array or a copy."""
    layers = list(layers)
    if not layers:
        raise ValueError(f"compare.{owner}: expected a non-empty list of layers, got none")
    built = []
    for i, layer in enumerate(layers):
        eq = engine_equivalent(layer)
        if not isinstance(eq, Equivalent):
            raise TypeError(f"compare: the tensorgrad equivalent of layer {i} "
                            f"({type(layer).__name__}) must be an Equivalent, "
                            f"got {type(eq).__name__}")
        params = {}
        for kw, attr in eq.params.items():
            arr = _parameter_array(layer, attr, i)
            params[kw] = Tensor(arr.copy() if copy else arr, requires_grad=True)
        built.append(_EngineLayer(i, type(layer).__name__, eq, params))
    return layers, EngineModel(built)


def engine_model(layers: Sequence[Any], copy: bool = False) -> EngineModel:
    """Build the tensorgrad network equivalent to a list of reference layers.

    Parameters
    ----------
    layers : sequence of layers
        Reference layers, or layers whose class is registered with
        :func:`~tensorgrad.compare.engine_equivalent`.
    copy : bool, default False
        False: each parameter Tensor wraps the layer's own ndarray (shared memory, so an
        in-place update on either side is seen by both). True: each wraps a copy.

    Returns
    -------
    EngineModel

    Raises
    ------
    ValueError
        An empty list.
    TypeError
        A layer with no known tensorgrad expression, or a parameter that is not a
        floating-point ndarray.
    """
    return build(layers, "engine_model", copy)[1]


def as_float_input(x, owner: str) -> np.ndarray:
    """One sample as an ndarray; bool and int data become float64, as the reference does."""
    arr = np.asarray(x.data if isinstance(x, Tensor) else x)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"compare.{owner}: the input must hold real numbers, got dtype "
                        f"{arr.dtype}")
    return arr
