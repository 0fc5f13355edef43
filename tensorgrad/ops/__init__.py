"""Every primitive op, by family: one module per family, each declaring its ``__all__``.

This package's namespace and ``__all__`` are the union of the top-level families' ``__all__``,
and the package ``tensorgrad`` re-exports them: adding an op to a family touches that module
(and the op's test spec), nothing else. The families of :data:`NAMESPACES` stay nested, as
SciPy nests them: their ops are public as ``tensorgrad.<namespace>.<name>`` only. The
composites built on top of these ops live one layer up, in :mod:`tensorgrad.functional`.
"""
from . import (
    arrange,
    conv,
    division,
    elementwise,
    indexing,
    linalg,
    loss,
    math,
    pool,
    products,
    reduce,
    scan,
    shape,
    signal,
    signal_nd,
    special,
)
from .arrange import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .division import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .products import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .scan import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .signal import *  # noqa: F401,F403

FAMILIES = (elementwise, division, math, reduce, scan, shape, arrange, indexing, products, signal,
            conv, pool, loss)
"""The op modules whose ops are public at the top level, in the order the documentation
lists them."""

NAMESPACES = {family.NAMESPACE: family for family in (special, linalg, signal_nd)}
"""Public namespace -> the op module (declaring that ``NAMESPACE``) whose ``__all__`` it exports:
``tensorgrad.special.erf`` as ``scipy.special.erf``, ``tensorgrad.linalg.inv`` as
``numpy.linalg.inv``, ``tensorgrad.signal.convolve`` as ``scipy.signal.convolve``. These names
are not at the top level."""

__all__ = sorted(name for family in FAMILIES for name in family.__all__)
