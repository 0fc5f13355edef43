"""Argument checks of the reference layers (NumPy only; tensorgrad's own are not used)."""
from __future__ import annotations

from numbers import Integral
from typing import Optional, Sequence, Tuple, Union

import numpy as np

RngLike = Union[None, int, np.random.Generator, np.random.SeedSequence, np.random.BitGenerator]
ShapeLike = Union[int, Sequence[int]]


def make_rng(rng: RngLike, owner: str) -> np.random.Generator:
    """``rng`` (None, an int seed or a Generator) as a Generator.

    A copy of the engine's helper on purpose: the reference imports nothing from tensorgrad.
    """
    if isinstance(rng, (bool, np.bool_)) or not (
            rng is None or isinstance(rng, (Integral, np.random.Generator,
                                            np.random.SeedSequence, np.random.BitGenerator))):
        raise TypeError(f"{owner}: rng must be None, an int seed or a numpy.random.Generator, "
                        f"got {rng!r}")
    return np.random.default_rng(rng)


def float_dtype(dtype, owner: str) -> np.dtype:
    """``dtype`` as a NumPy dtype, required to be a real floating type."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise TypeError(f"{owner}: dtype must be a floating dtype such as float64 or float32, "
                        f"got {repr(dtype) if dt is None else dt}")
    return dt


def _is_positive_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_)) and value >= 1


def positive_int(value, name: str, owner: str) -> int:
    """``value`` as an int, required to be >= 1."""
    if not _is_positive_int(value):
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


def shape_tuple(shape: ShapeLike, name: str, owner: str) -> Tuple[int, ...]:
    """An int or a sequence of ints as a tuple of positive ints."""
    dims = (shape,) if isinstance(shape, Integral) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        dims = None
    if dims is None or not all(_is_positive_int(d) for d in dims):
        raise ValueError(f"{owner}: {name} must be a positive int or a tuple of positive ints, "
                         f"got {shape!r}")
    return tuple(int(d) for d in dims)


def real_array(x, what: str, owner: str, shape: Optional[Tuple[int, ...]] = None) -> np.ndarray:
    """``x`` as an array of real numbers (bool and int data become float64) of ``shape``.

    Raises
    ------
    ValueError
        If ``shape`` is given and ``x`` has another shape; the message adds a hint for a
        batch of inputs and for a 1-D vector given where a column is expected.
    TypeError
        If ``x`` does not hold real numbers.
    """
    arr = np.asarray(x)
    if shape is not None and arr.shape != tuple(shape):
        hint = ""
        if arr.shape[1:] == shape:
            hint = " (reference layers are unbatched: pass one sample at a time)"
        elif shape[-1:] == (1,) and arr.shape == shape[:-1]:
            hint = f" (a 1-D vector; pass a column vector, e.g. x.reshape({shape[0]}, 1))"
        raise ValueError(f"{owner}: expected {what} of shape {tuple(shape)}, "
                         f"got {arr.shape}{hint}")
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"{owner}: {what} must hold real numbers, got dtype {arr.dtype}")
    return arr


def product_text(shape) -> str:
    """``(5, 24, 24)`` -> ``'5*24*24 = 2880'``; ``(600,)`` -> ``'600'``."""
    total = str(int(np.prod(shape, dtype=np.int64)))
    return total if len(shape) == 1 else "*".join(map(str, shape)) + " = " + total
