"""Short text for shapes and static parameter values, shared by the text, DOT and HTML views."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

BIG = 8  # arrays with more elements than this, or 2-D and up, are shown as shape and dtype


def shape_text(shape) -> str:
    """``(3,)``, ``(2, 3)``, ``()``."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def value_text(value) -> str:
    """A static parameter as short text on one line; arrays of more than ``BIG`` elements or
    more than one dimension by shape and dtype only (``array((4, 8, 13, 13), int64)``)."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        if value.size > BIG or value.ndim > 1:
            return f"array({shape_text(value.shape)}, {value.dtype})"
        return np.array2string(value, separator=", ", threshold=BIG)
    if isinstance(value, slice):
        parts = ["" if value.start is None else str(value.start),
                 "" if value.stop is None else str(value.stop)]
        if value.step is not None:
            parts.append(str(value.step))
        return ":".join(parts)
    if isinstance(value, tuple) and any(isinstance(v, (slice, np.ndarray, Tensor)) for v in value):
        return "(" + ", ".join(value_text(v) for v in value) + ")"
    return repr(value)
