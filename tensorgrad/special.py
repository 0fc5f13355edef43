"""SciPy's special functions, as ``scipy.special`` nests them: ``tensorgrad.special.erf``,
``erfc``, ``gammaln``, ``digamma``, ``polygamma``, ``xlogy``, ``xlog1py``, ``logit`` and
``expit``, each a recorded op with its gradient (the ops live in
:mod:`tensorgrad.ops.special`; this module is their public namespace, so that
``import tensorgrad.special`` and ``from tensorgrad.special import erf`` work as SciPy's do).
"""
from .ops.special import *  # noqa: F401,F403
from .ops.special import __all__  # noqa: F401
