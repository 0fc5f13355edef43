"""Exceptions raised by tensorgrad.

Each subclasses the built-in exception a NumPy or PyTorch user would catch, so existing
``except ValueError`` / ``except RuntimeError`` code keeps working.
"""


class ShapeError(ValueError):
    """An op received inputs whose shapes it cannot combine, or a VJP returned a gradient
    whose shape differs from its input's. The message names the op, the shapes received
    and the shapes expected."""


class BackwardError(RuntimeError):
    """Reverse-mode differentiation cannot proceed: a non-scalar output without a cotangent,
    a graph already released by an earlier ``backward``, an op with no VJP for an input
    that requires a gradient, or a VJP that returned nothing."""


class GradcheckError(AssertionError):
    """Reverse-mode and finite-difference derivatives disagree (raised by
    :func:`tensorgrad.gradcheck` and :func:`tensorgrad.gradgradcheck`). The message is the
    full report: function, input, output, worst element, both values and both errors."""


class GraphEscapeError(BackwardError):
    """A Tensor that requires grad was converted to a NumPy array while recording, inside
    :func:`tensorgrad.grad`, :func:`tensorgrad.gradcheck` or a function transform, where the
    gradient computed would always be wrong (the array is a constant). The message names
    the line of user code that converted it."""


class GraphEscapeWarning(UserWarning):
    """A Tensor that requires grad was converted to a NumPy array while recording
    (``np.asarray(t)``, ``np.array([t, u])``, a SciPy function on ``t``, ``tensor([t, u])``):
    the array is a constant, so no gradient flows through it. Shown at the line of user code
    that converted it; read values on purpose with ``.detach()``, ``.numpy()``, ``.data`` or
    under ``no_grad``."""


class AnomalyError(RuntimeError):
    """Raised under :func:`tensorgrad.detect_anomaly` when a NaN or an infinity is about to
    be used for a gradient: the output handed to ``backward``/``grad`` holds one that a
    recorded op produced from finite inputs (``phase == "forward"``), or a VJP produced one
    from finite cotangents (``phase == "backward"``). The message is the full report: the
    op, the user's line that recorded it, the probable cause, and the values involved
    (docs/anomaly.md).

    Attributes
    ----------
    phase : str
        ``"forward"`` or ``"backward"``.
    op : str or None
        The name of the op blamed (``"log"``); None when no recorded op produced the value
        (it was already in a leaf or a constant).
    site : str or None
        ``"file:line in function: source"`` of the user code that recorded that op.
    cause : str
        The probable cause in words (``"log at 0: log(0) = -inf"``).
    """

    def __init__(self, message, *, phase, op=None, site=None, cause=""):
        super().__init__(message)
        self.phase, self.op, self.site, self.cause = phase, op, site, cause
