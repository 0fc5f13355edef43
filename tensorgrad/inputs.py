"""The arguments of an op as :func:`tensorgrad.autograd.apply` takes them, and the errors of a
forward that name the op.

A Tensor is taken as is and a Python number or ndarray of real numbers as a constant; anything
else is checked to be an array of real numbers (:func:`as_input`, :func:`_plain_input`). A
list or tuple is an array of its numbers or, when it holds Tensors, their stack, recorded like
any op (:func:`_sequence_input`; the ``stack`` op is handed down by
:mod:`tensorgrad.tensor_methods` through :func:`set_stack`). A forward's TypeError, ValueError
or IndexError is re-raised naming the op, its inputs' shapes and its static parameters
(:func:`_named_error`).
"""
from __future__ import annotations

import os

import numpy as np

from .errors import ShapeError
from .tensor import Tensor

_NUMBERS = (float, int, bool)


def as_input(name, i, a):
    """Array argument ``i`` of the op or composite ``name`` as apply takes it: a Tensor as is,
    a list or tuple as an array of its numbers or the stack of the Tensors it holds, anything
    else checked to be an array of real numbers (TypeError naming ``name`` otherwise). For
    composites that look at their input before calling ops."""
    if isinstance(a, Tensor):
        return a
    if isinstance(a, (list, tuple)):
        a = _sequence_input(name, a)
        return a if isinstance(a, Tensor) else _plain_input(name, i, a)
    return _plain_input(name, i, a)


def callable_name(fn) -> str:
    """How messages name a user's function: its qualified name, else its name, else repr."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def flag(value, name: str, where: str) -> bool:
    """A True/False argument: ``bool(value)`` for a bool or NumPy bool, else TypeError
    naming ``where`` (the function or class) and the argument ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)


def _plain_input(name, i, a):
    """Array input ``i`` of op ``name`` that is not a Tensor, list or plain number: an array
    of real numbers (NumPy scalars, arrays of another layout or byte order), else TypeError
    naming the op, the input and what it got."""
    if type(a) in _NUMBERS:
        return a
    kind = getattr(getattr(a, "dtype", None), "kind", None)
    if kind is None and not isinstance(a, (np.ndarray, np.generic)):
        raise TypeError(f"{name}: input {i} must be a Tensor, an array or a number, got "
                        f"{type(a).__name__}")
    if kind == "c":
        raise TypeError(f"{name}: input {i} is complex ({a.dtype}); tensorgrad supports "
                        "real numbers only (bool, int, float)")
    if kind not in ("b", "i", "u", "f"):
        raise TypeError(f"{name}: input {i} must hold numbers (bool, int or float), got "
                        f"dtype {a.dtype}")
    return a


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _named_error(op, e, arrays, params):
    """``e`` raised by ``op``'s forward, as an error of the same kind that names the op, the
    inputs' shapes and the static parameters (unchanged when it names the op already)."""
    message = str(e)
    if message.startswith(op.name + ":") or message.startswith(op.name + " "):
        return e
    if op.broadcast and isinstance(e, ValueError):
        shapes = [np.shape(a) for a in arrays]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            return ShapeError(f"{op.name}: shapes {', '.join(map(str, shapes))} cannot be "
                              "broadcast together (NumPy broadcasting rules)")
    kind = next(k for k in type(e).__mro__ if k in (TypeError, ValueError, IndexError))
    inputs = ", ".join(f"{np.shape(a)} {np.result_type(a)}" for a in arrays)
    given = ", ".join(f"{k}={_describe(v)}" for k, v in params.items())
    return kind(f"{op.name}: {message} (inputs {inputs}" + (f"; {given})" if given else ")"))



_stack = [None]  # the op stack, handed down by the layer that defines it


def set_stack(op) -> None:
    """Give the engine the op that stacks a list of Tensors (``stack``), through which a list
    or tuple argument holding Tensors is recorded. Called once, by
    :mod:`tensorgrad.tensor_methods`."""
    _stack[0] = op


def holds_tensor(seq) -> bool:
    """Whether a list or tuple holds a Tensor at any depth."""
    return any(isinstance(a, Tensor) or (isinstance(a, (list, tuple)) and holds_tensor(a))
               for a in seq)


def _sequence_input(name, seq):
    """A list or tuple passed to ``op`` as an array input: an ndarray of its numbers or, when
    it holds Tensors (at any depth), the Tensor that ``stack`` makes of its items (nested
    lists stacked first), recorded like any op, so that gradients reach those Tensors."""
    if not holds_tensor(seq):
        return np.asarray(seq)
    items = [_sequence_input(name, a) if isinstance(a, (list, tuple)) else a for a in seq]
    try:
        return _stack[0](items)
    except ShapeError as e:
        raise ShapeError(f"{name}: a list argument holding Tensors is stacked (tensorgrad."
                         f"stack) to record it, and its items do not stack: {e}") from None


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows)
        return 1 << 40


_MEMORY = _physical_memory()


def check_size(op, what, shape, dtype, hint=""):
    """ValueError naming ``op`` when an array of ``shape`` and ``dtype`` that the op is about
    to allocate would not fit in this machine's memory (checked before allocating); ``hint``
    says which arguments to check."""
    n_bytes = np.dtype(dtype).itemsize
    for d in shape:  # Python ints: no overflow
        n_bytes *= int(d)
    if n_bytes > _MEMORY:
        raise ValueError(f"{op}: the {what} would have shape {tuple(shape)}, "
                         f"{n_bytes / 2**30:.1f} GiB, more than this machine's "
                         f"{_MEMORY / 2**30:.1f} GiB of memory" + (f"; {hint}" if hint else ""))
