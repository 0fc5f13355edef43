"""The Tensor: an ndarray, its gradient, and the op that produced it. Nothing else.

This module is the bottom layer of the package: it imports nothing from tensorgrad. The
operators and the methods that run ops or the engine (``+``, ``sum``, ``backward``, ...)
are one-line functions attached to the class by :mod:`tensorgrad.tensor_methods`, above
the ops they call (HIPS autograd attaches ``ArrayBox``'s methods the same way).
"""
from __future__ import annotations

import functools
import itertools
import threading
import warnings
import weakref

import numpy as np

from . import defaults


class Tensor:
    """An n-dimensional array that records the ops applied to it for reverse-mode autodiff.

    Parameters
    ----------
    data : array-like or Tensor
        Any shape. Converted with ``np.asarray`` (no copy when already an ndarray of the
        requested dtype); dtype follows NumPy's inference: Python floats give float64,
        float32 arrays stay float32.
    requires_grad : bool
        Record ops on this tensor so that gradients flow back to it.
    dtype : numpy dtype, optional
        Convert the data to this dtype.

    Attributes
    ----------
    data : np.ndarray
    grad : Tensor or None
        Accumulated by :meth:`backward` on leaves (and on tensors that called
        :meth:`retain_grad`); same shape and dtype as ``data``.
    requires_grad : bool
    grad_fn : Node or None
        The recorded op that produced this tensor (``grad_fn.name``); None for leaves.
    _version : int
        How many in-place changes tensorgrad has made to this tensor's array or to any view
        of it (PyTorch's ``Tensor._version``); see ``docs/inplace_and_versions.md``.

    Raises
    ------
    TypeError
        ``requires_grad=True`` on integer, bool or complex data (only real floating dtypes
        have gradients).

    Operators follow NumPy (broadcasting included) and PyTorch's autograd vocabulary.
    """

    __slots__ = ("data", "_grad", "requires_grad", "grad_fn", "_retains_grad", "_hooks",
                 "__weakref__")
    __array_priority__ = 1000.0
    # NumPy's protocols -- __array__ (conversion), __array_ufunc__ and __array_function__
    # (NumPy functions on Tensors run tensorgrad ops) -- read the grad mode and run ops, so
    # they are defined and attached by tensorgrad.numpy_dispatch, from above.
    __hash__ = object.__hash__  # comparisons are elementwise, identity hashing as in PyTorch

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _numeric_array(data, dtype)
        self._grad = None
        self.grad_fn = None
        self._retains_grad = False
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data):
        """Wrap an ndarray without checks (the engine's fast path)."""
        t = object.__new__(cls)
        t.data = data
        t._grad = None
        t.grad_fn = None
        t._retains_grad = False
        t._hooks = None
        t.requires_grad = False
        return t

    # -- properties ------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="Tuple of dimensions.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    # size (NumPy's element count, callable as PyTorch's size()) and T: tensor_methods
    dtype = property(lambda self: self.data.dtype, doc="NumPy dtype of the data.")
    is_leaf = property(lambda self: self.grad_fn is None,
                       doc="True for tensors created by the user rather than by a recorded op.")

    @property
    def grad(self):
        """The accumulated gradient (a Tensor of this tensor's shape and dtype) or None.

        Reading it on a non-leaf that did not call :meth:`retain_grad` warns (UserWarning),
        as PyTorch does: backward fills ``.grad`` only on leaves and on tensors that retain
        it. The engine writes the underlying slot directly."""
        g = self._grad
        if g is None and self.grad_fn is not None and not self._retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    def register_hook(self, hook):
        """Register ``hook(grad) -> Tensor or None``, called with this tensor's gradient
        (a Tensor of its shape) each time a backward pass computes it.

        The hook sees the total gradient of this tensor (all its uses summed), before it
        is accumulated into ``.grad`` of a leaf or handed to the op that produced a
        non-leaf; a returned Tensor (or array of the same shape) replaces the gradient from
        then on, ``None`` keeps it. Hooks run in registration order, each receiving the
        previous one's result. ``torch.Tensor.register_hook``'s semantics; it also runs in
        :func:`tensorgrad.grad` for the tensors whose gradient is asked for, before it is
        returned. A hook must not change its argument in place.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook.

        Raises
        ------
        RuntimeError
            This tensor does not require grad (it will never receive a gradient).
        TypeError
            ``hook`` is not callable.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient (set requires_grad=True on a leaf, or compute "
                               "the tensor from one)")
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
        if self._hooks is None:
            self._hooks = {}
        return RemovableHandle(self._hooks, hook)

    @property
    def _version(self):
        """Number of in-place changes made through tensorgrad to this tensor's memory, through
        any view of its base array (PyTorch's ``Tensor._version``)."""
        counter = version_counter(self.data, create=False)
        return 0 if counter is None else counter.version

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place on a leaf; returns self.

        Raises TypeError for dtypes other than real floating ones (integer, bool, complex)
        and RuntimeError on a non-leaf."""
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            extra = (" (complex numbers are not supported for gradients)"
                     if self.data.dtype.kind == "c" else "")
            raise TypeError(f"tensor: requires_grad=True needs a real floating dtype, got "
                            f"{self.data.dtype}{extra}; only floating-point tensors can have "
                            "gradients")
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_: cannot turn off requires_grad on a non-leaf tensor; "
                               "use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Make ``backward`` also store this non-leaf tensor's gradient in ``.grad``."""
        self._retains_grad = True
        return self

    def detach(self):
        """A new leaf sharing this tensor's data (hence its version), cut from the graph
        (``requires_grad=False``), as ``torch.Tensor.detach``."""
        return Tensor._make(self.data)

    def item(self):
        """The single element as a Python number; ValueError unless size is 1."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self.data.item()

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = [f"dtype={self.data.dtype}"]
        if self.grad_fn is not None:
            extra.append(f"grad_fn=<{self.grad_fn.name}Backward>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extra)})"


_NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead.")


class RemovableHandle:
    """What ``register_hook`` and the module hook registrations return: ``handle.remove()``
    unregisters the hook (a second call does nothing). Also a context manager that removes
    the hook on exit. PyTorch's ``torch.utils.hooks.RemovableHandle``.

    Attributes
    ----------
    id : int
        The hook's key in the registry it was added to.
    """

    _ids = itertools.count()

    def __init__(self, registry, hook):
        self.id = next(RemovableHandle._ids)
        self._registry = registry  # the dict alone: a handle keeps no tensor or module alive
        registry[self.id] = hook

    def remove(self):
        """Unregister the hook (no error if it is already gone)."""
        self._registry.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def __repr__(self):
        return f"<RemovableHandle id={self.id}>"


# -- versions --------------------------------------------------------------------------------
# One counter per base array, shared by all its views, as PyTorch shares a version counter
# between a tensor and its views. Keyed by the base array itself (NumPy's ``a.base``), so
# views made anywhere (getitem, reshape, transpose, detach, np.asarray) share it with no work
# when they are made: recording pays nothing. Counters exist only for arrays that were
# changed in place or protected, and go away with their base array.

class VersionCounter:
    """The version of one base array and of all its views: how many times tensorgrad changed
    its memory in place (PyTorch's version counter). Get it with :func:`version_counter`.

    Attributes
    ----------
    version : int
        In-place changes so far (``Tensor._version``).
    stamp : int
        The engine's write clock at the last change: an op recorded before it (with a
        smaller stamp) saw an older value.
    protected : ndarray or None
        The array that a live graph keeps read-only (set and cleared by the engine).
    """

    __slots__ = ("version", "stamp", "protected")

    def __init__(self):
        self.version = 0
        self.stamp = 0
        self.protected = None


_counters: dict = {}  # id(base array) -> (weak reference to it, its VersionCounter)
_counters_lock = threading.Lock()


def version_counter(array, create=True):
    """The :class:`VersionCounter` of ``array``'s base array (``array.base``, or ``array``
    itself when it owns its memory), shared by all views of that base.

    Parameters
    ----------
    array : np.ndarray
    create : bool
        Make the counter when there is none yet; otherwise return None then.

    A base that is not an ndarray (``np.frombuffer`` of ``bytes``) cannot be tracked: the
    array then has a counter of its own, not shared with other views of that buffer.
    """
    base = array.base
    if base is None or not isinstance(base, np.ndarray):
        base = array
    entry = _counters.get(id(base))
    if entry is not None:
        return entry[1]
    if not create:
        return None
    with _counters_lock:  # two threads must not give one array two counters
        entry = _counters.get(id(base))
        if entry is None:
            key = id(base)
            entry = _counters[key] = (weakref.ref(base, functools.partial(_forget, key)),
                                      VersionCounter())
    return entry[1]


def _forget(key, ref, counters=_counters):  # counters bound now: usable at interpreter exit
    """A base array died: drop its counter (unless its id already belongs to a new one)."""
    entry = counters.get(key)
    if entry is not None and entry[0] is ref:
        counters.pop(key, None)


def _numeric_array(data, dtype):
    """``np.asarray(data, dtype)``, refusing data that is not real numbers (strings, objects,
    complex numbers) and ragged nesting with a message that says so."""
    try:
        array = np.asarray(data, dtype=dtype)
    except (ValueError, TypeError) as e:
        raise ValueError(f"tensor: cannot make an array of numbers from this data: {e}") from None
    if array.dtype.kind == "c":
        raise TypeError(f"tensor: complex data ({array.dtype}) is not supported: tensorgrad "
                        "works with real numbers (bool, int, float); keep the real and "
                        "imaginary parts as two real tensors")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"tensor: data must be numbers (bool, int or float), got "
                        f"dtype {array.dtype}")
    return array


def shape_of(a):
    """``a``'s shape: a Tensor's own, else ``np.shape(a)``. For library code, which asks
    often: a Tensor passed to ``np.shape`` would go through NumPy's dispatch protocol."""
    s = getattr(a, "shape", None)  # ndarrays and Tensors; np.shape for scalars and lists
    return s if type(s) is tuple else np.shape(a)


def tensor(data, requires_grad=False, dtype=None):
    """A new leaf Tensor holding a copy of ``data``.

    Parameters
    ----------
    data : array-like or Tensor
        Copied (as ``torch.tensor`` does). dtype follows NumPy's inference, except that Python
        floats (and lists of them) take ``tg.get_default_dtype()`` (float64 unless
        ``tg.set_default_dtype`` changed it, as in PyTorch).
    requires_grad : bool
        Raises TypeError for integer or bool data.
    dtype : numpy dtype, optional

    Returns
    -------
    Tensor
    """
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(_numeric_array(data, dtype), copy=True)
    if dtype is None and array.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
        array = array.astype(defaults.get_default_dtype(), copy=False)  # Python floats
    return Tensor(array, requires_grad=requires_grad)

