"""The engine's per-thread switches and the context managers that set them: whether ops are
recorded (``no_grad``, ``enable_grad``), whether ops on plain ndarrays return ndarrays
(inside a non-recording backward pass), whether recorded ops remember the user's source line
(``record_sites``), which nn.Module is being called. Read by :mod:`tensorgrad.autograd` and
:mod:`tensorgrad.versions`; set by the managers here, the reverse pass and
``Module.__call__``."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    """Per-thread engine switches."""

    def __init__(self) -> None:
        self.enabled = True  # record ops on Tensors that require grad
        self.raw = False  # ops on plain ndarrays return ndarrays (inside a non-recording backward)
        self.record_sites = False  # remember the user's source line of every recorded op
        self.module = None  # the nn.Module being called (its ModuleScope), recorded on each node


_state = _State()


def is_grad_enabled() -> bool:
    """Whether ops on Tensors that require grad are recorded in this thread."""
    return _state.enabled


class _GradMode:
    _mode = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager (or decorator) under which no op is recorded, in this thread only.

    Results computed inside have ``requires_grad=False`` and no ``grad_fn``; use it for
    evaluation and for parameter updates. Same as ``torch.no_grad``.

    Examples
    --------
    >>> w = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> with tg.no_grad():
    ...     y = w * 3
    >>> y.requires_grad, y.grad_fn
    (False, None)
    """

    _mode = False


class enable_grad(_GradMode):
    """Context manager (or decorator) that switches recording back on inside ``no_grad``.
    Same as ``torch.enable_grad``."""

    _mode = True


class record_sites:
    """Context manager under which every recorded op remembers the user's source line
    (``node.site``), in this thread only. Errors about a node (an input changed in place
    after it was recorded) then name that line. Costs a stack walk per op: use it to find
    a problem, not in training."""

    def __enter__(self):
        self._prev = _state.record_sites
        _state.record_sites = True
        return self

    def __exit__(self, *exc):
        _state.record_sites = self._prev
        return False
