"""Property-based gradient checking for tensorgrad ops, built on hypothesis.

One call, :func:`check_op`, checks an op's VJPs against central finite differences (and, by
default, its second derivatives too) over many generated shapes and values, and on failure
reports the smallest failing case that hypothesis could find. The strategies it uses are
public, for writing property tests of your own:

- :func:`floats`: float elements in ``[lo, hi]``, optionally kept away from kinks;
- :func:`arrays`: float arrays with drawn (or given) shapes and elements in a domain;
- :func:`broadcastable_shapes`: tuples of NumPy-broadcastable shapes (0-d and size-1 axes);
- :func:`matmul_shapes`: operand shapes for ``matmul`` (1-D, 2-D and batched);
- :func:`cases`: whole calls, :class:`Case` (arguments and static parameters), the unit
  :func:`check_op` draws and reports.

For linear ops, :func:`check_adjoint` is the sharper dot-product test
⟨A x, y⟩ = ⟨x, Aᵀ y⟩, exact up to rounding.

This module needs `hypothesis <https://hypothesis.readthedocs.io>`_, an optional dependency
of tensorgrad (``pip install hypothesis``); the rest of the library never imports it.

Examples
--------
A user-defined softplus, checked in one line:

>>> import numpy as np
>>> import tensorgrad as tg
>>> from tensorgrad.testing import check_op
>>> @tg.primitive
... def softplus(x):
...     "log(1 + exp(x)), elementwise."
...     return np.logaddexp(0.0, x)
>>> _ = softplus.defvjp(lambda g, out, x: g * tg.sigmoid(x))
>>> check_op(softplus, domain=(-5, 5), max_examples=10)

Had the VJP been wrong (say ``g * tg.exp(x)``), ``check_op`` would raise
:class:`tensorgrad.GradcheckError` whose message starts with the smallest failing case::

    check_op(softplus): gradcheck failed; smallest failing case found:
      input 0: shape (), float64
        0.0
    <the gradcheck report: input, output, worst element, analytical vs numerical>
"""
from __future__ import annotations

try:
    import hypothesis  # noqa: F401 - the modules below need it
except ImportError as exc:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "tensorgrad.testing needs the optional dependency hypothesis; install it with "
        "`pip install hypothesis` (or `pip install tensorgrad[dev]`)") from exc

from ._adjoint import check_adjoint
from ._case import Case
from ._check_op import check_op
from ._strategies import arrays, broadcastable_shapes, cases, floats, matmul_shapes

__all__ = [
    "Case", "arrays", "broadcastable_shapes", "cases", "check_adjoint", "check_op", "floats",
    "matmul_shapes",
]
