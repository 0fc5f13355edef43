"""``Sequential``: modules applied in order."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from numbers import Integral

import numpy as np

from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _index(idx, n, owner):
    """An int index into ``n`` modules as a position in [0, n); errors name ``owner``."""
    if isinstance(idx, (bool, np.bool_)) or not isinstance(idx, Integral):
        raise TypeError(f"{owner} indices must be ints or slices, got {type(idx).__name__}")
    if not -n <= idx < n:
        raise IndexError(f"{owner} index {idx} is out of range for {n} modules")
    return int(idx) % n


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
        return items[_index(idx, len(items), "Sequential")][1]

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position); returns self."""
        self._add(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered, ``torch.nn.ModuleList``.

    Children are named ``"0"``, ``"1"``, ...; it has no ``forward`` (the owner decides how
    to call them). Supports ``len``, iteration, indexing (negative indices; a slice gives a
    new ModuleList sharing the modules), assignment and deletion by index, ``+=``,
    :meth:`append`, :meth:`extend` and :meth:`insert`; after a deletion or insertion the
    children are renamed by position, as PyTorch does.

    Parameters
    ----------
    modules : iterable of Module, optional

    Raises
    ------
    TypeError
        An element that is not a Module, or an index that is not an int.
    IndexError
        An index out of range.

    Examples
    --------
    >>> from tensorgrad import nn
    >>> layers = nn.ModuleList([nn.Linear(2, 2, rng=i) for i in range(3)])
    >>> len(layers), [n for n, _ in layers.named_parameters()][:2]
    (3, ['0.weight', '0.bias'])
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _check(self, m, where):
        if not isinstance(m, Module):
            raise TypeError(f"ModuleList: every element must be a Module, got "
                            f"{type(m).__name__} at {where}")
        return m

    def _renumber(self, modules):
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, idx):
        items = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(items[idx])
        return items[_index(idx, len(items), "ModuleList")]

    def __setitem__(self, idx, module: Module) -> None:
        i = _index(idx, len(self), "ModuleList")
        self._modules[str(i)] = self._check(module, f"index {idx}")

    def __delitem__(self, idx) -> None:
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[_index(idx, len(items), "ModuleList")]
        self._renumber(items)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), self._check(module, f"index {len(self)}"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of ``modules``; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend: expected an iterable of Modules, got "
                            f"{type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (list.insert's meaning)."""
        items = list(self._modules.values())
        items.insert(index, self._check(module, f"index {index}"))
        self._renumber(items)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward: iterate over it and call the "
                                  "modules (for m in self.layers: x = m(x))")


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, ``torch.nn.ModuleDict``.

    Keys are the children's names (str, without ``'.'``), kept in insertion order. Supports
    ``len``, iteration over keys, ``in``, indexing, assignment and deletion by key,
    :meth:`keys`, :meth:`values`, :meth:`items`, :meth:`update`, :meth:`pop` and
    :meth:`clear`. It has no ``forward``.

    Parameters
    ----------
    modules : mapping or iterable of (str, Module) pairs, optional

    Raises
    ------
    TypeError
        A value that is not a Module, or a key that is not a str.
    KeyError
        A missing key, or a key that is empty, contains ``'.'`` or names an attribute.

    Examples
    --------
    >>> from tensorgrad import nn
    >>> heads = nn.ModuleDict({"digit": nn.Linear(4, 10, rng=0), "parity": nn.Linear(4, 2, rng=1)})
    >>> list(heads), heads["parity"].out_features
    (['digit', 'parity'], 2)
    """

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key) -> bool:
        return key in self._modules

    def __getitem__(self, key: str) -> Module:
        try:
            return self._modules[key]
        except KeyError:
            raise KeyError(f"ModuleDict has no module {key!r}; keys: "
                           f"{list(self._modules)}") from None

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: the value of {key!r} must be a Module, got "
                            f"{type(module).__name__}")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def keys(self):
        """The keys, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """``(key, module)`` pairs, in insertion order."""
        return self._modules.items()

    def update(self, modules) -> None:
        """Add or replace the entries of a mapping or an iterable of ``(key, Module)`` pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for j, pair in enumerate(pairs):
            try:
                key, module = pair
            except (TypeError, ValueError):
                raise TypeError(f"ModuleDict.update: element {j} must be a (key, Module) pair, "
                                f"got {pair!r}") from None
            self[key] = module

    def pop(self, key: str) -> Module:
        """Remove the entry ``key`` and return its module."""
        module = self[key]
        del self._modules[key]
        return module

    def clear(self) -> None:
        """Remove every entry."""
        self._modules.clear()

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward: call its modules by key")
