"""One call of an op, as property tests draw it and failure reports print it."""
from __future__ import annotations

import numpy as np

from ..tensor import tensor


def _float_repr(v) -> str:
    return repr(float(v))


class Case:
    """One call of an op: positional arguments and static parameters.

    What :func:`tensorgrad.testing.check_op` draws and reports, and what the op specs of
    tensorgrad's own test suite draw (see :func:`tensorgrad.testing.cases`).

    Parameters
    ----------
    args : sequence
        Positional arguments: ndarrays (the floating-point ones are differentiated by
        default) and constants of any type (ints, tuples, index arrays...).
    params : dict, optional
        Keyword arguments (static parameters such as ``axis`` or ``mode``).

    Attributes
    ----------
    args : tuple
    params : dict

    Examples
    --------
    >>> case = Case((np.array([1.5, -2.0]), 0), {"keepdims": True})
    >>> print(case.describe())
      input 0: shape (2,), float64
        [1.5, -2.0]
      input 1: 0
      params: keepdims=True
    >>> fn, inputs = Case((np.array([1.0, 2.0]),), {"axis": 0}).closure(tg.sum)
    >>> fn(*inputs).item(), inputs[0].requires_grad
    (3.0, True)
    """

    def __init__(self, args, params=None):
        self.args = tuple(args)
        self.params = dict(params or {})

    def float_positions(self) -> tuple:
        """Positions of the floating-point ndarray arguments."""
        return tuple(i for i, a in enumerate(self.args)
                     if isinstance(a, np.ndarray) and a.dtype.kind == "f")

    def closure(self, fn, diff=None, name=None):
        """``fn`` as a function of the differentiated arguments only, and their Tensors.

        Parameters
        ----------
        fn : callable
            ``fn(*args, **params)``, the function under test.
        diff : sequence of int, optional
            Positions of the arguments to differentiate; default :meth:`float_positions`.
        name : str, optional
            The closure's ``__qualname__``, which gradcheck's reports show.

        Returns
        -------
        (callable, tuple of Tensor)
            ``f(*xs)`` calls ``fn`` with the Tensors ``xs`` in the positions ``diff`` and
            the other arguments and the parameters unchanged; the Tensors (requiring grad)
            made of the arguments at ``diff``, ready for ``tg.gradcheck(f, inputs)``.
        """
        positions = self.float_positions() if diff is None else tuple(diff)
        inputs = tuple(tensor(self.args[i], requires_grad=True) for i in positions)

        def f(*xs):
            args = list(self.args)
            for i, x in zip(positions, xs):
                args[i] = x
            return fn(*args, **self.params)

        if name is not None:
            f.__qualname__ = f.__name__ = name
        return f, inputs

    def describe(self) -> str:
        """Every argument (an array's shape, dtype and exact values) and the parameters."""
        lines = []
        for i, a in enumerate(self.args):
            if isinstance(a, np.ndarray):
                body = np.array2string(a, separator=", ", max_line_width=100, threshold=10**6,
                                       formatter={"float_kind": _float_repr})
                lines.append(f"  input {i}: shape {a.shape}, {a.dtype}\n    "
                             + body.replace("\n", "\n    "))
            else:
                lines.append(f"  input {i}: {a!r}")
        if self.params:
            lines.append("  params: " + ", ".join(f"{k}={v!r}" for k, v in self.params.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "Case:\n" + self.describe()

    def _repr_pretty_(self, printer, cycle):  # how hypothesis prints a falsifying example
        printer.text(repr(self))
