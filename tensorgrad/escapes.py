"""Graph escapes: where converting a Tensor that requires grad to an ndarray while recording
is an error (:class:`~tensorgrad.errors.GraphEscapeError`) rather than a warning.

:func:`tensorgrad.grad`, :func:`tensorgrad.gradcheck` and function transforms switch it on
with :class:`forbid_graph_escape`; :mod:`tensorgrad.numpy_dispatch` asks
:func:`graph_escape_is_error` when a Tensor is converted.
"""
from __future__ import annotations

import functools
import threading


class _EscapeState(threading.local):
    def __init__(self) -> None:
        self.depth = 0  # nesting of grad / gradcheck / function transforms in this thread


_escape = _EscapeState()


def graph_escape_is_error() -> bool:
    """Whether converting a Tensor that requires grad to an ndarray while recording raises
    :class:`GraphEscapeError` in this thread (inside :func:`forbid_graph_escape`) rather than
    warning."""
    return _escape.depth > 0


class forbid_graph_escape:
    """Context manager (or decorator) under which a Tensor that requires grad converted to an
    ndarray while recording raises :class:`GraphEscapeError` instead of a warning: used by
    :func:`grad`, :func:`tensorgrad.gradcheck` and function transforms, whose result such a
    conversion always makes wrong. Nests; this thread only."""

    def __enter__(self):
        _escape.depth += 1
        return self

    def __exit__(self, *exc):
        _escape.depth -= 1
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with forbid_graph_escape():
                return fn(*args, **kwargs)

        return wrapper

