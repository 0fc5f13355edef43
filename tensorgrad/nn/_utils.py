"""Argument checking shared by the layers: random generators, dtypes, sizes, pairs."""
from __future__ import annotations

from numbers import Integral

import numpy as np

# The package's one rng conversion, under the name the layers import it by.
from .._random import RngLike  # noqa: F401
from .._random import as_generator as make_rng  # noqa: F401
from ..defaults import get_default_dtype


def float_dtype(dtype, owner: str) -> np.dtype:
    """``dtype`` as a NumPy dtype, required to be a real floating type; None is
    ``tg.get_default_dtype()`` (read when the layer is made)."""
    if dtype is None:
        return get_default_dtype()
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{owner}: dtype must be a floating dtype, got {dtype!r}") from None
    if dt.kind != "f":
        raise TypeError(f"{owner}: dtype must be a floating dtype such as float64 or float32, "
                        f"got {dt}")
    return dt


def positive_int(value, name: str, owner: str, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < minimum:
        kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{owner}: {name} must be {kind}, got {value!r}")
    return int(value)


def pair(value, name: str, owner: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints (each >= ``minimum``) as a pair, PyTorch's ``_pair``."""
    if isinstance(value, Integral) and not isinstance(value, (bool, np.bool_)):
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} must be an int or a pair of ints, "
                         f"got {value!r}") from None
    return (positive_int(a, name, owner, minimum), positive_int(b, name, owner, minimum))
