"""PyTorch's initialisers, ``torch.nn.init``: fill a Tensor (usually a Parameter) in place.

Each function draws in float64 from ``rng=`` (None, an int seed or a
``numpy.random.Generator``; None is the default generator that ``tg.manual_seed`` reseeds),
casts to the tensor's dtype and writes through the versioned in-place path under
``tg.no_grad()`` (as PyTorch's do), so a Parameter can be filled; it returns the tensor.

The fans are PyTorch's: for a weight of shape ``(out, in, *kernel)``,
``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``; tensors with fewer than
2 axes have no fans (ValueError). A tensor with no elements is left as it is (PyTorch's no-op).

Examples
--------
>>> from tensorgrad import nn
>>> layer = nn.Linear(256, 128, rng=0)
>>> _ = nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", rng=0)
>>> _ = nn.init.zeros_(layer.bias)
>>> round(float(layer.weight.data.std()), 2)  # sqrt(2 / 256) = 0.088
0.09
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np

from .._random import RngLike, as_generator
from ..state import no_grad
from ..tensor import Tensor

__all__ = [
    "calculate_gain", "constant_", "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_",
    "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, ``torch.nn.init.calculate_gain``.

    ========================  ===============================================
    nonlinearity              gain
    ========================  ===============================================
    linear, conv*, sigmoid    1
    tanh                      5/3
    relu                      sqrt(2)
    leaky_relu                sqrt(2 / (1 + negative_slope**2)), slope ``param``
                              (default 0.01)
    selu                      3/4
    ========================  ===============================================

    Raises
    ------
    ValueError
        An unknown nonlinearity, or a ``param`` that is not a number.
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one "
                     f"of {', '.join(_LINEAR)}, tanh, relu, leaky_relu, selu")


def _calculate_fan_in_and_fan_out(tensor, name):
    shape = _check(tensor, name).shape
    if len(shape) < 2:
        raise ValueError(f"{name}: fan in and fan out cannot be computed for a tensor with fewer "
                         f"than 2 dimensions (got shape {shape})")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode, name):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{name}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, name)
    return fan_in if mode == "fan_in" else fan_out


def _check(tensor, name):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a Tensor (such as a Parameter), got "
                        f"{type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"{name}: the tensor must be floating point, got dtype {tensor.dtype}")
    return tensor


def _fill(tensor, values):
    """Write ``values`` (float64, the tensor's shape) into ``tensor`` in place, no_grad."""
    with no_grad():
        tensor.copy_(np.asarray(values).astype(tensor.dtype, copy=False))
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, *, rng: RngLike = None) -> Tensor:
    """Fill with values from U(a, b), ``torch.nn.init.uniform_``; returns ``tensor``.

    Raises TypeError for a non-Tensor or a non-floating tensor, ValueError for ``a > b``."""
    _check(tensor, "uniform_")
    if a > b:
        raise ValueError(f"uniform_: expected a <= b, got a={a}, b={b}")
    gen = as_generator(rng, "uniform_")
    return _fill(tensor, gen.uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, *, rng: RngLike = None) -> Tensor:
    """Fill with values from N(mean, std²), ``torch.nn.init.normal_``; returns ``tensor``.

    Raises TypeError for a non-Tensor or a non-floating tensor, ValueError for ``std < 0``."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    gen = as_generator(rng, "normal_")
    return _fill(tensor, gen.normal(mean, std, size=tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``, ``torch.nn.init.constant_``; returns ``tensor``. TypeError for a
    ``val`` that is not a real number."""
    return _constant(tensor, val, "constant_")


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0, ``torch.nn.init.zeros_``; returns ``tensor``."""
    return _constant(tensor, 0.0, "zeros_")


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1, ``torch.nn.init.ones_``; returns ``tensor``."""
    return _constant(tensor, 1.0, "ones_")


def _constant(tensor, val, name):
    _check(tensor, name)
    if np.ndim(val) != 0 or np.asarray(val).dtype.kind not in "biuf":
        raise TypeError(f"{name}: val must be a real number, got {type(val).__name__} {val!r}")
    return _fill(tensor, np.full(tensor.shape, val, dtype=np.float64))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, *, rng: RngLike = None) -> Tensor:
    """Glorot uniform, ``torch.nn.init.xavier_uniform_``: U(-a, a) with
    ``a = gain * sqrt(6 / (fan_in + fan_out))``; returns ``tensor``.

    Raises ValueError for a tensor with fewer than 2 axes."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, "xavier_uniform_")
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out)) if fan_in + fan_out else 0.0
    gen = as_generator(rng, "xavier_uniform_")
    return _fill(tensor, gen.uniform(-a, a, size=tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, *, rng: RngLike = None) -> Tensor:
    """Glorot normal, ``torch.nn.init.xavier_normal_``: N(0, std²) with
    ``std = gain * sqrt(2 / (fan_in + fan_out))``; returns ``tensor``.

    Raises ValueError for a tensor with fewer than 2 axes."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, "xavier_normal_")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out)) if fan_in + fan_out else 0.0
    gen = as_generator(rng, "xavier_normal_")
    return _fill(tensor, gen.normal(0.0, std, size=tensor.shape))


def _kaiming_std(tensor, a, mode, nonlinearity, name):
    fan = _calculate_correct_fan(tensor, mode, name)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan) if fan else 0.0


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", *, rng: RngLike = None) -> Tensor:
    """He uniform, ``torch.nn.init.kaiming_uniform_``: U(-bound, bound) with
    ``bound = sqrt(3) * gain / sqrt(fan)``, ``gain = calculate_gain(nonlinearity, a)`` and
    ``fan`` the fan in or out (``mode``); returns ``tensor``.

    ``a = sqrt(5)`` gives ``bound = 1 / sqrt(fan_in)``, the default initialisation of
    :class:`~tensorgrad.nn.Linear` and :class:`~tensorgrad.nn.Conv2d`.

    Raises ValueError for a tensor with fewer than 2 axes, or a bad ``mode``
    or ``nonlinearity``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    bound = math.sqrt(3.0) * std
    gen = as_generator(rng, "kaiming_uniform_")
    return _fill(tensor, gen.uniform(-bound, bound, size=tensor.shape))


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", *, rng: RngLike = None) -> Tensor:
    """He normal, ``torch.nn.init.kaiming_normal_``: N(0, std²) with
    ``std = gain / sqrt(fan)`` (``gain`` and ``fan`` as :func:`kaiming_uniform_`); returns
    ``tensor``. Raises as :func:`kaiming_uniform_`."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    gen = as_generator(rng, "kaiming_normal_")
    return _fill(tensor, gen.normal(0.0, std, size=tensor.shape))
