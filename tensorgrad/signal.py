"""SciPy's signal processing, as ``scipy.signal`` nests it: ``tensorgrad.signal.convolve`` and
``correlate`` (N-d, SciPy's modes and methods), and the 2-D ``convolve2d`` and ``correlate2d``
(the same functions as ``tensorgrad.convolve2d`` and ``tensorgrad.correlate2d``). The N-d ops
live in :mod:`tensorgrad.ops.signal_nd`, the 2-D ones in :mod:`tensorgrad.ops.signal`; this
module is their public namespace, so that ``from tensorgrad.signal import convolve`` works as
SciPy's does.
"""
from .ops.signal import convolve2d, correlate2d  # noqa: F401
from .ops.signal_nd import *  # noqa: F401,F403
from .ops.signal_nd import __all__ as _nd

__all__ = [*_nd, "convolve2d", "correlate2d"]
