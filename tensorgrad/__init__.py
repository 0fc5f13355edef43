"""tensorgrad: reverse-mode automatic differentiation on NumPy and SciPy, built for seeing
and checking gradients.

The layers, bottom up (each module imports only from the layers below it)::

    errors -> defaults -> tensor -> state -> escapes -> inputs -> versions -> autograd -> anomaly
        -> registry -> ops/* -> special, linalg, signal -> functional -> creation -> tensor_methods
        -> numpy_dispatch -> forward -> transforms
        -> gradcheck, nn, optim, data, compare, testing, compiled (tg.compile)

The package namespace is built from the ``__all__`` of :mod:`tensorgrad.ops` (each family's
``__all__``), of :mod:`tensorgrad.functional` and of :mod:`tensorgrad.creation`, plus the
engine's names below; the ops SciPy and NumPy nest stay nested (``tensorgrad.special.erf``,
``tensorgrad.linalg.inv``, ``tensorgrad.signal.convolve``, :data:`tensorgrad.ops.NAMESPACES`).
The public contract is written in the docstrings and in the README.
"""
# tensor_methods attaches Tensor's methods, numpy_dispatch NumPy's protocols (__array__, ...)
import importlib

# dtypes under PyTorch's names (NumPy's dtypes: ``tg.float32 is numpy.float32``)
from numpy import float16, float32, float64, int8, int16, int32, int64, uint8  # noqa: E402

from . import creation, functional, linalg, nn, numpy_dispatch, ops, optim, signal, special, tensor_methods
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .autograd import grad
from .compiled import Compiled, CompileError, CompileWarning, compile  # noqa: A004
from .creation import *  # noqa: F401,F403
from .defaults import default_generator, get_default_dtype, manual_seed, set_default_dtype
from .errors import (
    AnomalyError,
    BackwardError,
    GradcheckError,
    GraphEscapeError,
    GraphEscapeWarning,
    ShapeError,
)
from .functional import *  # noqa: F401,F403
from .gradcheck import gradcheck, gradgradcheck
from .ops import *  # noqa: F401,F403
from .registry import OPS, Op, primitive
from .serialization import load, save
from .state import enable_grad, is_grad_enabled, no_grad, record_sites
from .tensor import Tensor, tensor
from .transforms import hessian, hvp, jacobian, jvp, value_and_grad, vjp
from .viz import (
    Finding,
    GradientHistory,
    GradientReport,
    Graph,
    LintReport,
    backward_steps,
    gradient_report,
    graph,
    lint,
    watch_activations,
)

double, long = float64, int64

__version__ = "0.1.0"

_LAZY_SUBPACKAGES = ("compare", "data", "reference", "testing")  # imported on first use


def __getattr__(name):
    """``tg.data``, ``tg.compare``, ``tg.reference`` and ``tg.testing`` without importing
    them (or hypothesis, which ``tg.testing`` needs) until they are used."""
    if name in _LAZY_SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'tensorgrad' has no attribute {name!r}")

__all__ = sorted([
    "BackwardError", "GradcheckError", "GraphEscapeError", "GraphEscapeWarning", "OPS", "Op",
    "Graph", "GradientHistory", "GradientReport", "ShapeError", "Tensor", "backward_steps",
    "default_generator", "enable_grad", "get_default_dtype", "grad", "gradcheck",
    "gradgradcheck", "gradient_report", "graph",
    "is_grad_enabled", "manual_seed", "no_grad", "primitive", "record_sites", "set_default_dtype",
    "tensor", "watch_activations", "Finding", "LintReport", "lint",
    "AnomalyError", "detect_anomaly", "is_anomaly_enabled", "set_detect_anomaly",
    *ops.__all__, *functional.__all__, *creation.__all__,
    "load", "save",
    "hessian", "hvp", "jacobian", "jvp", "value_and_grad", "vjp",
    "CompileError", "CompileWarning", "Compiled",
])
# tg.compile is public but left out of __all__: a star import must not shadow the builtin
