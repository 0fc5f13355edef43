"""PyTorch's ``div``: true division, or division rounded toward zero or toward -inf.

True division is the ``divide`` primitive; the rounded quotients are the ``div`` primitive
below, PyTorch's numbers (``"floor"`` is NumPy's ``floor_divide``, the ``//`` of
:func:`tensorgrad.floor_divide`; ``"trunc"`` rounds the true quotient, exact for integers),
with the zero gradient of the rounding ops (the quotient is piecewise constant).
"""
import numpy as np

from ..registry import primitive
from .elementwise import divide
from .math import _zero_gradient

__all__ = ["div"]

_ROUNDING_MODES = (None, "trunc", "floor")


@primitive(broadcast=True)
def div(x, y, rounding_mode="trunc"):
    """Forward: x / y rounded toward zero (``"trunc"``) or toward -inf (``"floor"``)."""
    if rounding_mode not in _ROUNDING_MODES[1:]:
        raise ValueError(f"div: rounding_mode must be one of {_ROUNDING_MODES}, got "
                         f"{rounding_mode!r}")
    if np.result_type(x, y).kind in "biu":  # exact integer quotients
        if np.any(np.equal(y, 0)):
            raise ZeroDivisionError("div: integer division by zero (as in PyTorch; NumPy "
                                    "would give 0 with a warning)")
        q = np.floor_divide(x, y)
        if rounding_mode == "trunc":  # one up where the exact quotient is negative and inexact
            q = q + ((np.remainder(x, y) != 0) & (np.less(x, 0) != np.less(y, 0)))
        return q
    if rounding_mode == "floor":
        return np.floor_divide(x, y)  # Python's and PyTorch's float floor division
    return np.trunc(np.true_divide(x, y))


div.defvjp(_zero_gradient, _zero_gradient)


@div.defcall
def div(input, other, rounding_mode=None):  # noqa: A002 - PyTorch's names
    """``input / other`` elementwise with broadcasting, PyTorch's ``div``.

    Parameters
    ----------
    input, other : Tensor, array-like or number
    rounding_mode : {None, "trunc", "floor"}
        None: true division (:func:`divide`, NumPy's dtype promotion: integers give
        float64). ``"trunc"``: rounded toward zero (C's integer division). ``"floor"``:
        rounded toward -inf (Python's ``//``, NumPy's ``floor_divide``). Integer inputs
        keep their integer dtype under both rounding modes.

    Returns
    -------
    Tensor of the broadcast shape. Under a rounding mode the gradient is exactly zero
    (PyTorch's): the result requires grad when an input does, and passes nothing back.

    Raises
    ------
    ValueError
        Another ``rounding_mode``.
    ZeroDivisionError
        Integer division by zero under a rounding mode (PyTorch raises too; floats give
        ±inf or NaN).
    ShapeError
        Shapes that do not broadcast.
    """
    if rounding_mode is None:
        return divide(input, other)
    if not isinstance(rounding_mode, str) or rounding_mode not in _ROUNDING_MODES:
        raise ValueError(f"div: rounding_mode must be one of {_ROUNDING_MODES}, got "
                         f"{rounding_mode!r}")
    return div.bind(input, other, rounding_mode=rounding_mode)
