"""The engine's per-thread switches: whether ops are recorded, whether ops on plain ndarrays
return ndarrays (inside a non-recording backward pass), whether recorded ops remember the
user's source line, which nn.Module is being called. Read by :mod:`tensorgrad.autograd` and
:mod:`tensorgrad.versions`; set by ``no_grad``/``enable_grad``, ``record_sites``, the reverse
pass and ``Module.__call__``."""
from __future__ import annotations

import threading


class _State(threading.local):
    """Per-thread engine switches."""

    def __init__(self) -> None:
        self.enabled = True  # record ops on Tensors that require grad
        self.raw = False  # ops on plain ndarrays return ndarrays (inside a non-recording backward)
        self.record_sites = False  # remember the user's source line of every recorded op
        self.module = None  # the nn.Module being called (its ModuleScope), recorded on each node


_state = _State()
