"""``Sequential``: modules applied in order."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from numbers import Integral

import numpy as np

from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """A chain of modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Same as ``torch.nn.Sequential``: children are named ``"0"``, ``"1"``, ... (or by the keys
    of one ``OrderedDict`` argument), so parameters are named ``"0.weight"``, ``"0.bias"``...
    Supports ``len``, iteration, indexing (negative indices; a slice gives a new Sequential
    sharing the modules) and :meth:`append`.

    Parameters
    ----------
    *modules : Module
        Or a single ``OrderedDict[str, Module]``.

    Raises
    ------
    TypeError
        An argument that is not a Module.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn
    >>> model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Sigmoid(), nn.Linear(3, 1, rng=1))
    >>> model
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): Sigmoid()
      (2): Linear(in_features=3, out_features=1, bias=True)
    )
    >>> model(np.zeros((5, 2))).shape
    (5, 1)
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self._add(str(name), m)
        else:
            for i, m in enumerate(modules):
                self._add(str(i), m)

    def _add(self, name, m):
        if not isinstance(m, Module):
            raise TypeError(f"Sequential: every argument must be a Module, got "
                            f"{type(m).__name__} at position {name}")
        self.add_module(name, m)

    def forward(self, x):
        """Apply each module in turn to ``x``."""
        for m in self._modules.values():
            x = m(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        if isinstance(idx, (bool, np.bool_)) or not isinstance(idx, Integral):
            raise TypeError(f"Sequential indices must be ints or slices, got "
                            f"{type(idx).__name__}")
        n = len(items)
        if not -n <= idx < n:
            raise IndexError(f"Sequential index {idx} is out of range for {n} modules")
        return items[idx % n][1]

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position); returns self."""
        self._add(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self
