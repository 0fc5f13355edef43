"""Process-wide defaults, as PyTorch keeps them: the default floating dtype and the default
random generator.

``tg.set_default_dtype`` is PyTorch's spelling and does what PyTorch's does: Python floats
given to ``tg.tensor`` and the creation functions, new layers' parameters and the data helpers
take this dtype. It starts as float64 (NumPy's default), so nothing changes unless it is set;
``tg.set_default_dtype(np.float32)`` makes a whole run float32 without casting constants.
Promotion between existing arrays stays NumPy's.

Every function that draws random numbers takes ``rng=``; without it, it draws from one
module-level ``numpy.random.Generator`` that ``tg.manual_seed(seed)`` reseeds.
"""
from __future__ import annotations

import numpy as np

__all__ = ["get_default_dtype", "set_default_dtype", "manual_seed", "default_generator"]

_dtype = np.dtype(np.float64)
_generator = np.random.default_rng()


def get_default_dtype() -> np.dtype:
    """The default floating dtype (float64 unless ``set_default_dtype`` changed it)."""
    return _dtype


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype, as ``torch.set_default_dtype``.

    Parameters
    ----------
    dtype : numpy.float32 or numpy.float64 (or their names)

    Raises
    ------
    TypeError
        ``dtype`` is not float32 or float64.
    """
    global _dtype
    try:
        d = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        d = None
    if d is None or d.name not in ("float32", "float64"):
        raise TypeError(f"set_default_dtype: dtype must be float32 or float64, got {dtype!r}")
    _dtype = d


def default_generator() -> np.random.Generator:
    """The generator that random functions use when they are given no ``rng``."""
    return _generator


def manual_seed(seed) -> np.random.Generator:
    """Reseed the default generator, as ``torch.manual_seed``; returns it.

    Raises
    ------
    TypeError
        ``seed`` is not a non-negative int.
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator
