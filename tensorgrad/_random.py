"""The one conversion of an ``rng=`` argument into a NumPy Generator.

Every function of tensorgrad that draws random numbers takes ``rng`` as None, an int seed or
a ``numpy.random.Generator`` and turns it into a Generator here, so that all of them accept
the same values and never touch NumPy's global random state. (``tensorgrad.reference``
keeps a copy of its own: it imports nothing from tensorgrad.)
"""
from __future__ import annotations

from numbers import Integral
from typing import Union

import numpy as np

from . import defaults

RngLike = Union[None, int, np.random.Generator]


def as_generator(rng, where: str, argument: str = "rng") -> np.random.Generator:
    """``rng`` as a ``numpy.random.Generator``, as ``numpy.random.default_rng`` makes one.

    Parameters
    ----------
    rng : None, int, numpy.random.Generator, SeedSequence or BitGenerator
        A Generator is returned as is (and advanced by whoever draws from it); an int seed,
        a SeedSequence or a BitGenerator seeds a new one; None gives the default generator
        (``tg.manual_seed`` reseeds it). NumPy's global random state is never used.
    where, argument : str
        The caller's name and the argument's, for the error message.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        ``rng`` is anything else (a bool, a float, a string, a legacy ``RandomState``);
        the message names ``where`` and ``argument``.
    ValueError
        A negative int seed (NumPy refuses it), naming ``where`` and ``argument``.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return defaults.default_generator()
    seeds = (Integral, np.random.SeedSequence, np.random.BitGenerator)
    if isinstance(rng, Integral) and not isinstance(rng, bool) and rng < 0:
        raise ValueError(f"{where}: {argument} must be a non-negative int seed, got {rng}")
    if isinstance(rng, seeds) and not isinstance(rng, bool):
        if isinstance(rng, Integral) and rng < 0:
            raise ValueError(f"{where}: {argument} must be a non-negative int seed, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(f"{where}: {argument} must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(rng).__name__}")
