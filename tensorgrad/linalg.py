"""NumPy's linear algebra, as ``numpy.linalg`` nests it: ``tensorgrad.linalg.inv``, ``solve``,
``det``, ``slogdet``, ``cholesky``, ``eigh``, ``svd``, ``qr``, ``norm`` and ``matrix_power``,
each a recorded op with its gradient, batched over leading axes as NumPy's are (the ops live
in :mod:`tensorgrad.ops.linalg`; this module is their public namespace, so that
``import tensorgrad.linalg`` and ``from tensorgrad.linalg import inv`` work as NumPy's do).
``np.linalg.inv(t)`` and the others on a Tensor run these ops.

:class:`DegenerateSpectrumWarning` is the warning of a gradient through the eigenvectors or
singular vectors of a repeated eigenvalue or singular value, which is not defined.
"""
from .ops.linalg import *  # noqa: F401,F403
from .ops.linalg import DegenerateSpectrumWarning, __all__  # noqa: F401
