"""``Module`` and ``Parameter``: PyTorch's model-building vocabulary.

A :class:`Module` owns :class:`Parameter` tensors and child modules, both registered simply
by assigning them as attributes (``self.fc = Linear(2, 3)``), in declaration order. The
forward computation uses tensorgrad ops only, so every model is differentiated by the
engine; parameter updates live in :mod:`tensorgrad.optim`.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Iterator, Mapping
from typing import Any, Callable

import numpy as np

from ..errors import ShapeError
from ..state import _state, is_grad_enabled, no_grad
from ..tensor import RemovableHandle, Tensor
from ..versions import zero_grads
from ._hooks import _BackwardBoundary

__all__ = ["Module", "Parameter", "IncompatibleKeys"]


class Parameter(Tensor):
    """A Tensor that a :class:`Module` registers as one of its parameters.

    Same as ``torch.nn.Parameter``: a leaf Tensor with ``requires_grad=True`` by default.
    Assigning a Parameter to a Module attribute registers it in ``parameters()`` and
    ``state_dict()``. Ops on a Parameter return plain :class:`~tensorgrad.Tensor` objects.

    Parameters
    ----------
    data : array-like or Tensor
        Any shape, a floating dtype when ``requires_grad`` is True. An ndarray (or a
        Tensor's array) is shared, not copied, as in PyTorch.
    requires_grad : bool, default True

    Raises
    ------
    TypeError
        ``requires_grad=True`` on integer or bool data.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn
    >>> w = nn.Parameter(np.zeros(3))
    >>> w.requires_grad, w.is_leaf, type(w * 2).__name__
    (True, True, 'Tensor')
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class ModuleScope:
    """The module call an op was recorded in (``node.module``). Recording keeps only the
    module and the enclosing scope; the path is worked out when it is first asked for.

    Attributes
    ----------
    path : str
        Dotted path from the outermost module being called, as ``named_modules()`` names it
        (``"features.0"``); ``""`` for the outermost module itself. A module called by a
        module it is not registered under gets its class name as the last part.
    type : str
        The module's class name (``"Conv2d"``).
    module : Module
        The module itself.
    outer : ModuleScope or None
        The scope of the module whose call made this one.
    """

    __slots__ = ("module", "outer", "_path")

    def __init__(self, module, outer):
        self.module, self.outer, self._path = module, outer, None

    @property
    def type(self) -> str:
        return type(self.module).__name__

    @property
    def path(self) -> str:
        if self._path is None:
            self._path = self._find_path()
        return self._path

    def _find_path(self) -> str:
        outer = self.outer
        if outer is None:
            return ""
        name = next((n for n, child in outer.module._modules.items() if child is self.module),
                    None)
        if name is None:
            name = next((n for n, sub in outer.module.named_modules()
                         if sub is self.module and n), self.type)
        return f"{outer.path}.{name}" if outer.path else name

    def __repr__(self) -> str:
        return f"ModuleScope(path={self.path!r}, type={self.type!r})"


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = """What :meth:`Module.load_state_dict` did not match: the model's
keys absent from the state dict, and the state dict's keys the model does not have."""


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class of every layer and model (PyTorch's ``torch.nn.Module``).

    Subclasses call ``super().__init__()`` first, then assign :class:`Parameter` objects and
    child modules as attributes (state that is not learned, such as running statistics, is
    registered with :meth:`register_buffer`), and define ``forward``. Calling the module, ``m(x)``,
    calls ``m.forward(x)``.

    Attributes
    ----------
    training : bool
        True after construction and :meth:`train`, False after :meth:`eval`; propagated to
        every submodule.

    Examples
    --------
    >>> import numpy as np
    >>> import tensorgrad as tg
    >>> from tensorgrad import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self, rng=None):
    ...         super().__init__()
    ...         rng = np.random.default_rng(rng)
    ...         self.hidden = nn.Linear(2, 3, rng=rng)
    ...         self.out = nn.Linear(3, 1, rng=rng)
    ...     def forward(self, x):
    ...         return self.out(tg.tanh(self.hidden(x)))
    >>> model = TwoLayer(rng=0)
    >>> [name for name, _ in model.named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> model(np.ones((4, 2))).shape
    (4, 1)
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- the call ----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The computation of the module; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__}: forward is not implemented; "
                                  "subclasses of Module must define forward(...)")

    _forward_hooks = None  # per instance once a hook is registered: {handle id: hook}
    _backward_hooks = None

    def __call__(self, *args, **kwargs):
        outer = _state.module  # ops recorded inside remember this call (node.module)
        _state.module = ModuleScope(self, outer)
        try:
            if not self._forward_hooks and not self._backward_hooks:
                return self.forward(*args, **kwargs)
            return self._call_with_hooks(args, kwargs)
        finally:
            _state.module = outer

    def _call_with_hooks(self, args, kwargs):
        boundary = None
        if self._backward_hooks and is_grad_enabled():
            boundary = _BackwardBoundary(self)
            args = boundary.wrap_inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in list((self._forward_hooks or {}).values()):
            replaced = hook(self, args, out)
            if replaced is not None:
                out = replaced
        if boundary is not None:
            out = boundary.wrap_outputs(out)
        return out

    # -- hooks -------------------------------------------------------------------------------
    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Register ``hook(module, args, output) -> output or None``, called after every
        ``forward``.

        ``args`` is the tuple of positional arguments forward received, ``output`` its
        result; a non-None return value replaces the output. Hooks run in registration
        order. ``torch.nn.Module.register_forward_hook``'s semantics.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook.
        """
        return RemovableHandle(self._hook_registry("_forward_hooks", hook), hook)

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Register ``hook(module, grad_input, grad_output) -> tuple or None``, called when
        a backward pass has computed the gradients with respect to this module's inputs.

        ``grad_input`` holds one entry per positional argument of the call (the gradient as
        a Tensor of the argument's shape, or None for an argument that is not a Tensor
        requiring grad); ``grad_output`` one per output Tensor (None for an output that
        received no gradient). A returned tuple of the same length replaces ``grad_input``
        in the rest of the backward pass. When no input requires grad the hook is called
        with ``grad_input`` all None once the output gradients are known, and must return
        None. ``torch.nn.Module.register_full_backward_hook``'s semantics: the module's
        inputs and outputs pass through an identity node (a ``reshape`` to the same shape)
        on which the gradients are caught, so these nodes appear in the graph of a call made
        while such a hook is registered.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook.

        Raises
        ------
        BackwardError
            (During backward) the hook returns a tuple of the wrong length or shapes, or
            replaces the gradient of an input other than the last one to receive its
            gradient when several inputs require grad (their gradients have flowed on
            already).
        """
        return RemovableHandle(self._hook_registry("_backward_hooks", hook), hook)

    def _hook_registry(self, name, hook):
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}: a hook must be callable, got "
                            f"{type(hook).__name__}")
        registry = self.__dict__.get(name)
        if registry is None:
            registry = {}
            object.__setattr__(self, name, registry)
        return registry

    # -- registration ------------------------------------------------------------------------
    def _register(self, registry: str, name: str, value) -> None:
        """Put ``value`` under ``name`` in ``registry`` (``"_parameters"``, ``"_buffers"`` or
        ``"_modules"``), dropping ``name`` from the other registries and the plain attributes."""
        d = self.__dict__
        if "_parameters" not in d or "_modules" not in d:
            raise AttributeError(f"cannot assign '{name}' to {type(self).__name__} before "
                                 "Module.__init__() was called (call super().__init__() "
                                 "first)")
        for other in ("_parameters", "_buffers", "_modules"):
            if other != registry:
                d.get(other, {}).pop(name, None)
        d.pop(name, None)
        d[registry][name] = value

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._register("_parameters", name, value)
        elif isinstance(value, Module):
            self._register("_modules", name, value)
        else:
            params = self.__dict__.get("_parameters", {})
            modules = self.__dict__.get("_modules", {})
            buffers = self.__dict__.get("_buffers", {})
            if name in params:
                if value is not None:
                    raise TypeError(f"cannot assign a {type(value).__name__} to parameter "
                                    f"'{name}' of {type(self).__name__} (a Parameter or None "
                                    "expected; wrap arrays in nn.Parameter)")
                params[name] = None
            elif name in modules:
                if value is not None:
                    raise TypeError(f"cannot assign a {type(value).__name__} to child module "
                                    f"'{name}' of {type(self).__name__} (a Module or None "
                                    "expected)")
                modules[name] = None
            elif name in buffers:
                if value is not None and not isinstance(value, Tensor):
                    raise TypeError(f"cannot assign a {type(value).__name__} to buffer "
                                    f"'{name}' of {type(self).__name__} (a Tensor or None "
                                    "expected)")
                buffers[name] = value
            else:
                object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # only called when normal lookup fails: parameters, buffers and children live in
        # the registries
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` records an absent parameter, such as
        ``bias`` when ``bias=False``: it appears in neither ``parameters()`` nor
        ``state_dict()``)."""
        _check_name(name, self, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None, got "
                            f"{type(param).__name__}")
        self._register("_parameters", name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register ``tensor`` as a buffer: module state that is not a parameter, such as
        BatchNorm's ``running_mean`` (``torch.nn.Module.register_buffer``).

        A buffer is reached as an attribute (``self.name``), listed by :meth:`buffers`,
        and, when ``persistent``, saved by :meth:`state_dict` and restored by
        :meth:`load_state_dict`. Assigning a Tensor (or None) to the attribute later
        replaces it. ``None`` records an absent buffer (skipped by ``state_dict``).

        Parameters
        ----------
        name : str
            Non-empty, without ``'.'``, not an existing attribute.
        tensor : Tensor or None
            An ndarray is wrapped in a Tensor (which shares it).
        persistent : bool, default True

        Raises
        ------
        TypeError
            ``name`` not a str, or ``tensor`` neither a Tensor, an ndarray nor None.
        KeyError
            ``name`` empty, dotted or already an attribute.
        """
        _check_name(name, self, "buffer")
        if isinstance(tensor, np.ndarray):
            tensor = Tensor(tensor)
        if tensor is not None and (not isinstance(tensor, Tensor) or isinstance(tensor, Parameter)):
            raise TypeError(f"register_buffer: '{name}' must be a Tensor or None, got "
                            f"{type(tensor).__name__}" + (" (register a Parameter with "
                            "register_parameter)" if isinstance(tensor, Parameter) else ""))
        self._register("_buffers", name, tensor)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name`` (what attribute assignment does)."""
        _check_name(name, self, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module or None, got "
                            f"{type(module).__name__}")
        self._register("_modules", name, module)

    # -- traversal ---------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for each direct child, in registration order."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """Each direct child module, in registration order."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (name ``prefix``, ``""`` by default) and
        every descendant, depth first, each module once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                    if c is not None]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, depth first, each once."""
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs, PyTorch's names and order.

        Names join the attribute names with dots (``"0.weight"``, ``"conv1.bias"``); the
        order is registration order, depth first. A Parameter shared by several modules is
        listed once, under its first name.
        """
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter, in the order of :meth:`named_parameters`."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, Tensor)`` for every buffer (persistent or not), in the order of
        :meth:`named_parameters`; a buffer shared by several modules is listed once."""
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse)

    def _named_members(self, members, prefix="", recurse=True):
        """``(dotted name, Tensor)`` for each ``(name, Tensor)`` of ``members(m)``, for every
        module ``m`` of :meth:`named_modules` (or self alone, without ``recurse``); None entries
        are skipped, and a Tensor held by several modules is listed once, under its first name."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for name, t in members(m):
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mname}.{name}" if mname else name), t

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer, in the order of :meth:`named_buffers`."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- modes and gradients -----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` to ``mode`` on this module and every descendant; returns self."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode, ``train(False)``; returns self."""
        return self.train(False)

    def to(self, *args, **kwargs) -> Module:
        """Cast every floating parameter and buffer (and gradient) to a dtype, in place;
        returns self (``torch.nn.Module.to``).

        Accepts PyTorch's forms ``to(dtype)``, ``to(device)``, ``to(device, dtype)`` and the
        keywords ``device=``, ``dtype=``, ``non_blocking=`` (ignored). The device must be
        ``"cpu"`` (tensorgrad computes with NumPy on the CPU). The Parameter objects stay the
        same (an optimiser holding them keeps working); their arrays are replaced by cast
        copies, as PyTorch replaces ``param.data``. Integer buffers (``num_batches_tracked``)
        are left as they are.

        Raises
        ------
        ValueError
            A device other than the CPU.
        TypeError
            A dtype that is not floating, or arguments of another kind.
        """
        kwargs.pop("non_blocking", None)
        device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"to: unexpected keyword argument(s) {sorted(kwargs)}")
        for a in args:
            if isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta"):
                device = a
            elif dtype is None:
                dtype = a
            else:
                raise TypeError(f"to: expected a device and/or a dtype, got {args!r}")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"to: tensorgrad runs on the CPU only, got device {device!r}")
        if dtype is None:
            return self
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"to: expected a floating dtype or 'cpu', got {dtype!r}") from None
        if dt.kind != "f":
            raise TypeError(f"to: the dtype must be floating (as PyTorch's Module.to), got {dt}")
        for _, t in [*self.named_parameters(), *self.named_buffers()]:
            if t.dtype.kind == "f" and t.dtype != dt:
                t.data = t.data.astype(dt)
                if t.grad is not None:
                    t.grad = Tensor(t.grad.data.astype(dt))
        return self

    def float(self) -> Module:
        """``to(float32)``: floating parameters and buffers to float32; returns self."""
        return self.to(np.float32)

    def double(self) -> Module:
        """``to(float64)``: floating parameters and buffers to float64; returns self."""
        return self.to(np.float64)

    def cpu(self) -> Module:
        """Returns self: everything already lives on the CPU."""
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to ``None`` (PyTorch's default,
        ``set_to_none=True``), or to zeros in place with ``set_to_none=False`` (a gradient
        carrying a graph, from ``create_graph=True``, becomes a detached zero Tensor, as
        PyTorch detaches it); as :meth:`tensorgrad.optim.Optimizer.zero_grad`."""
        zero_grads(self.parameters(), set_to_none)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (freeze with ``False``); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # -- state -------------------------------------------------------------------------------
    def _state_items(self):
        """``(dotted name, Tensor)`` of everything :meth:`state_dict` saves: per module (depth
        first) its parameters, then its persistent buffers, PyTorch's order; each Tensor once."""
        return self._named_members(lambda m: [
            *m._parameters.items(),
            *((n, b) for n, b in m._buffers.items() if n not in m._non_persistent)])

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """The parameters and persistent buffers as an ordered mapping from dotted name to
        an ndarray copy.

        Returns
        -------
        OrderedDict[str, np.ndarray]
            PyTorch's names and order: for each module, depth first, its parameters (as
            :meth:`named_parameters`) then its persistent buffers (``"bn.running_mean"``);
            each value a copy (later training does not change it), ready for
            ``tg.save(model.state_dict(), path)`` or ``np.savez(path, **model.state_dict())``.
        """
        return OrderedDict((name, t.data.copy()) for name, t in self._state_items())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy values into the parameters and persistent buffers, in place, after checking
        all of them.

        Parameters
        ----------
        state_dict : mapping of str to ndarray, Tensor or number
            Dotted names as in :meth:`state_dict`: what ``tg.load`` returns, or an
            ``np.load`` ``.npz`` file. Values of a real numeric dtype are cast to the
            target's dtype (as PyTorch's ``copy_`` does).
        strict : bool, default True
            Raise when a key is missing or unexpected; otherwise report them.

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``, both empty after a strict load.

        Raises
        ------
        ShapeError (a ValueError)
            A value's shape differs from its parameter's or buffer's; the message lists every
            such key with both shapes. Raised whatever ``strict`` is.
        TypeError
            A value that is not real numeric data (complex, object, strings, a nested
            dict), naming the key.
        RuntimeError
            ``strict`` and some keys are missing or unexpected; the message lists them.

        Nothing is modified unless every check passes.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got "
                            f"{type(state_dict).__name__}")
        own = OrderedDict(self._state_items())
        keys = list(state_dict.keys())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in keys if k not in own]
        owner = type(self).__name__
        values, bad_shapes = {}, []
        for name, p in own.items():
            if name not in state_dict:
                continue
            v = state_dict[name]
            what = "parameter" if isinstance(p, Parameter) else "buffer"
            arr = v.data if isinstance(v, Tensor) else None
            if arr is None and not isinstance(v, Mapping):
                arr = np.asarray(v)
            if arr is None or arr.dtype.kind not in "biuf":
                got = f"dtype {arr.dtype}" if arr is not None else type(v).__name__
                raise TypeError(f"load_state_dict for {owner}: '{name}' holds {got}; "
                                f"expected real numbers (the {what} is {p.dtype})")
            if arr.shape != p.shape:
                bad_shapes.append(f"'{name}': got shape {arr.shape}, the {what} has shape "
                                  f"{p.shape}")
            values[name] = arr
        if bad_shapes:
            raise ShapeError(f"load_state_dict for {owner}: size mismatch for "
                             + "; ".join(bad_shapes))
        if strict and (missing or unexpected):
            lines = [f"load_state_dict for {owner}: the keys do not match (strict=True)"]
            if missing:
                lines.append(f"  missing key(s): {', '.join(repr(k) for k in missing)}")
            if unexpected:
                lines.append(f"  unexpected key(s): {', '.join(repr(k) for k in unexpected)}")
            raise RuntimeError("\n".join(lines))
        with no_grad():  # a versioned in-place copy: a graph that saved the old value knows
            for name, arr in values.items():
                target = own[name]
                if arr.dtype.kind == "f" and target.dtype.kind in "biu":
                    arr = arr.astype(target.dtype)  # a counter such as num_batches_tracked
                target.copy_(arr)
        return IncompatibleKeys(missing, unexpected)

    # -- repr --------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The hyper-parameters shown inside ``Name(...)`` in the repr; '' by default."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, m in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(m), 2))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _check_name(name, module, what):
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a str, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{what} name must be a non-empty str without '.', got {name!r}")
    if name in module.__dict__ and name not in ("_parameters", "_buffers", "_modules"):
        raise KeyError(f"attribute '{name}' already exists on {type(module).__name__}")
