"""Tensor's operators and methods, attached to the class from above the ops they call.

:mod:`tensorgrad.tensor` is the bottom layer and imports nothing of the engine or the ops.
Everything a lower layer needs from a higher one is wired here, in one place, and nowhere
else: the Tensor methods below (each a one-line call of the op of the same name), and the
op through which the engine sums a broadcast gradient back to its input's shape. This is
how HIPS autograd attaches ``ArrayBox``'s methods from its numpy layer.
"""
from __future__ import annotations

import numpy as np

from . import autograd, functional, ops
from .creation import check_device
from .errors import ShapeError
from .inputs import set_stack
from .ops.reduce import extremum_with_indices
from .ops.shape import _axis_index, _plain_index
from .tensor import Tensor
from .versions import in_place


def _array_of(x):
    """An in-place operand as NumPy sees it: a Tensor's array, a list's array, else the value
    itself (a Python scalar stays weakly typed, so float32 += 0.1 stays float32)."""
    if isinstance(x, Tensor):
        return x.data
    return np.asarray(x) if isinstance(x, (list, tuple)) else x


def _shape_arg(args):
    """``f(2, 3)`` and ``f((2, 3))`` both mean the tuple (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


# -- PyTorch's spellings, read into NumPy's arguments (docs/pytorch_and_numpy.md) -----------------

class Size(int):
    """``Tensor.size``: NumPy's element count (an int), which can also be called as PyTorch's
    ``size()``: ``t.size()`` is the shape (a tuple) and ``t.size(dim)`` one length.

    Arithmetic on it gives plain ints; it pickles as a plain int.

    Raises
    ------
    TypeError
        ``dim`` is not an int.
    IndexError
        ``dim`` is out of range (PyTorch's error type).
    """

    def __new__(cls, count, shape):
        size = int.__new__(cls, count)
        size.shape = shape
        return size

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"size: dim must be an int, got {dim!r}")
        n = len(self.shape)
        if not -n <= dim < n:
            raise IndexError(f"size: dim {dim} is out of range for a tensor of shape "
                             f"{self.shape}" + (f" (expected -{n} <= dim < {n})" if n else
                                                " (a 0-d tensor has no dimensions)"))
        return self.shape[dim]

    def __reduce__(self):
        return int, (int(self),)


def _axis(name, axis, keepdims, dim, keepdim):
    """(axis, keepdims) from NumPy's ``axis``/``keepdims`` or PyTorch's ``dim``/``keepdim``;
    TypeError when both spellings of one are given."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{name}: got both axis={axis!r} and dim={dim!r}; they are the same "
                            "argument (NumPy's and PyTorch's names), give one")
        axis = tuple(dim) if isinstance(dim, list) else dim
    if keepdim is not None:
        if keepdims:
            raise TypeError(f"{name}: got both keepdims and keepdim; they are the same "
                            "argument (NumPy's and PyTorch's names), give one")
        keepdims = keepdim
    return axis, keepdims


def _ddof(name, ddof, dim, keepdim, correction, unbiased):
    """``var``/``std``'s ddof: NumPy's ``ddof`` (default 0); with PyTorch's spellings
    (``dim=``, ``keepdim=``, ``correction=``, ``unbiased=``) PyTorch's default, 1."""
    pytorch = correction is not None or unbiased is not None
    if pytorch and ddof is not None:
        raise TypeError(f"{name}: got ddof with correction/unbiased; they are the same "
                        "argument (NumPy's and PyTorch's names), give one")
    if correction is not None and unbiased is not None:
        raise TypeError(f"{name}: got both correction and unbiased; give one")
    if unbiased is not None:
        return 1 if unbiased else 0
    if correction is not None:
        return correction
    if ddof is not None:
        return ddof
    return 1 if dim is not None or keepdim is not None else 0


def _extremum(x, name, args, axis, keepdims, dim, keepdim):
    """``t.max(...)`` / ``t.min(...)``: values over ``axis`` (NumPy's), ``(values, indices)``
    for ``dim=`` or one positional int (PyTorch's), the elementwise maximum/minimum for a
    positional Tensor (PyTorch's ``t.max(other)``)."""
    if len(args) == 2 and isinstance(args[1], (bool, np.bool_)) and keepdim is None:
        args, keepdim = args[:1], args[1]  # x.max(1, True): PyTorch's (dim, keepdim)
    if len(args) > 1 or (args and (axis is not None or dim is not None)):
        raise TypeError(f"{name}: takes one positional argument (an int dim, a tuple of axes, "
                        f"None or a Tensor), got {len(args)} and axis={axis!r}, dim={dim!r}")
    if args and isinstance(args[0], Tensor):
        return (ops.maximum if name == "max" else ops.minimum)(x, args[0])
    if args and isinstance(args[0], (int, np.integer)) and not isinstance(args[0], bool):
        dim = args[0]  # x.max(1): PyTorch's (values, indices)
    elif args:
        axis = args[0]  # None or a tuple: NumPy's only reading
    if dim is not None:
        dim, keepdims = _axis(name, axis, keepdims, dim, keepdim)
        return extremum_with_indices(x, dim, keepdims, name)
    axis, keepdims = _axis(name, axis, keepdims, None, keepdim)
    return (ops.max if name == "max" else ops.min)(x, axis=axis, keepdims=keepdims)


def _transpose_axes(x, axes):
    """``t.transpose(*axes)``'s permutation, NumPy's meaning (None: reverse the axes). Two
    ints, PyTorch's ``transpose(dim0, dim1)``, raise where NumPy would read them otherwise:
    ``(0, 1)`` on a 2-D tensor (NumPy's identity permutation; PyTorch swaps) and any pair
    on a tensor of another number of dimensions (not a permutation for NumPy)."""
    if not axes:
        return None
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        return tuple(axes[0])
    if len(axes) != 2 or not all(isinstance(a, (int, np.integer)) for a in axes):
        return tuple(axes)
    swap = (f"To swap two axes as PyTorch's transpose(dim0, dim1) does, write "
            f"t.swapaxes{axes}, or t.permute(...) with the full order")
    if x.ndim != 2:
        raise ShapeError(f"transpose{axes}: NumPy's transpose takes a permutation of all "
                         f"{x.ndim} axes of shape {x.shape}. {swap}")
    if all(-2 <= a < 2 for a in axes) and tuple(int(a) % 2 for a in axes) == (0, 1):
        raise ValueError(
            f"transpose{axes} on a 2-D tensor: NumPy reads this as the permutation (0, 1) and "
            "returns the tensor unchanged, while PyTorch swaps the two axes. To swap them, "
            "write t.T, t.swapaxes(0, 1) or t.permute(1, 0)")
    return tuple(axes)


def _size_one_axes(x, dim):
    """The axes among ``dim`` (an int or a tuple) that have length 1: PyTorch's
    ``squeeze(dim)`` leaves the others alone."""
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    n, shape = max(x.ndim, 1), x.shape
    dims = tuple(_axis_index("squeeze", "dim", d, n, shape) for d in dims)
    return tuple(d for d in dims if not shape or shape[d] == 1)


def _expanded_shape(x, sizes):
    """PyTorch's ``expand(*sizes)`` as a shape for ``broadcast_to``: -1 keeps the length."""
    sizes, shape = _shape_arg(sizes), x.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes {sizes} for a tensor of {len(shape)} "
                         f"dimensions {shape}; give at least one size per dimension")
    out = tuple(shape[i - lead] if (n == -1 and i >= lead) else n for i, n in enumerate(sizes))
    if any(n == -1 for n in out):
        raise ShapeError(f"expand: -1 is not allowed for the new leading dimensions of {sizes}")
    return out


def _to_dtype(x, args, kwargs):
    """The dtype that ``t.to(...)`` asks for (None: unchanged): ``to(dtype)``,
    ``to("cpu")``, ``to("cpu", dtype)``, ``to(other_tensor)``, ``to(device=, dtype=)``."""
    unknown = set(kwargs) - {"dtype", "device", "non_blocking", "copy"}
    if unknown:
        raise TypeError(f"to: unexpected keyword argument(s) {sorted(unknown)}")
    dtype, device = kwargs.get("dtype"), kwargs.get("device")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif getattr(a, "type", None) is not None or (isinstance(a, str) and not _is_dtype(a)):
            device = a  # "cpu", "cuda:0", torch.device(...)
        else:
            dtype = a
    check_device("to", device)
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"to: expected a dtype, a device ('cpu') or a Tensor, got {dtype!r}") \
            from None


class _Methods:
    """The methods attached to :class:`Tensor` (this class itself is never instantiated)."""

    T = property(lambda self: ops.transpose(self), doc="Axes reversed (NumPy's ``.T``).")

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Reverse-mode differentiation of this tensor; gradients accumulate in leaves' ``.grad``.

        Parameters
        ----------
        grad : Tensor or array-like, optional
            The cotangent, of this tensor's shape; may be omitted only for one element.
        retain_graph : bool
            Keep the graph so that backward can run through it again.
        create_graph : bool
            Record the backward pass (implies ``retain_graph``) so that the gradients can
            be differentiated again.

        Raises
        ------
        BackwardError (a RuntimeError)
            No grad for a non-scalar output, a released graph, or a tensor not requiring grad.
        ShapeError (a ValueError)
            ``grad`` of the wrong shape.

        Same semantics as ``torch.Tensor.backward``.
        """
        autograd.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def astype(self, dtype):
        """Cast to ``dtype`` (:func:`tensorgrad.cast`): differentiable between floating
        dtypes; an integer or bool result ends the graph (``requires_grad=False``)."""
        return ops.cast(self, dtype=np.dtype(dtype))

    # -- operators ---------------------------------------------------------------------------
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.subtract(self, other)
    def __rsub__(self, other): return ops.subtract(other, self)
    def __mul__(self, other): return ops.multiply(self, other)
    def __rmul__(self, other): return ops.multiply(other, self)
    def __truediv__(self, other): return ops.divide(self, other)
    def __rtruediv__(self, other): return ops.divide(other, self)
    def __pow__(self, other): return ops.power(self, other)
    def __rpow__(self, other): return ops.power(other, self)
    def __mod__(self, other): return ops.remainder(self, other)
    def __rmod__(self, other): return ops.remainder(other, self)
    def __floordiv__(self, other): return ops.floor_divide(self, other)
    def __rfloordiv__(self, other): return ops.floor_divide(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.negative(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __getitem__(self, index): return ops.getitem(self, index=index)
    def __lt__(self, other): return ops.less(self, other)
    def __le__(self, other): return ops.less_equal(self, other)
    def __gt__(self, other): return ops.greater(self, other)
    def __ge__(self, other): return ops.greater_equal(self, other)
    def __eq__(self, other): return ops.equal(self, other)
    def __ne__(self, other): return ops.not_equal(self, other)
    def __and__(self, other): return ops.logical_and(self, other)
    def __rand__(self, other): return ops.logical_and(other, self)
    def __or__(self, other): return ops.logical_or(self, other)
    def __ror__(self, other): return ops.logical_or(other, self)
    def __invert__(self): return ops.logical_not(self)

    # -- in place: PyTorch's rules, NumPy's same_kind casting (versions.in_place) ------------
    # Each changes self.data and returns self. While recording they raise on a leaf that
    # requires grad, on a recorded non-leaf and for an operand that requires grad; under
    # no_grad, and on tensors that do not require grad, they just change the values. Every
    # change advances the version shared with the tensor's views.

    def add_(self, other, *, alpha=1):
        """``self += alpha * other`` in place (``torch.Tensor.add_``); returns self. ``+=``."""
        v = _array_of(other) if alpha == 1 else np.multiply(_array_of(other), alpha)
        return in_place(self, "add_", lambda a: np.add(a, v, out=a), (other,))

    def sub_(self, other, *, alpha=1):
        """``self -= alpha * other`` in place (``torch.Tensor.sub_``); returns self. ``-=``."""
        v = _array_of(other) if alpha == 1 else np.multiply(_array_of(other), alpha)
        return in_place(self, "sub_", lambda a: np.subtract(a, v, out=a), (other,))

    def mul_(self, other):
        """``self *= other`` in place (``torch.Tensor.mul_``); returns self. ``*=``."""
        v = _array_of(other)
        return in_place(self, "mul_", lambda a: np.multiply(a, v, out=a), (other,))

    def div_(self, other):
        """``self /= other`` (true division) in place; returns self. ``/=``. On an integer
        tensor it raises TypeError, as NumPy's and PyTorch's do."""
        v = _array_of(other)
        return in_place(self, "div_", lambda a: np.true_divide(a, v, out=a), (other,))

    def pow_(self, exponent):
        """``self **= exponent`` in place (``torch.Tensor.pow_``); returns self. ``**=``."""
        v = _array_of(exponent)
        return in_place(self, "pow_", lambda a: np.power(a, v, out=a), (exponent,))

    def zero_(self):
        """Fill with zeros in place (``torch.Tensor.zero_``); returns self."""
        return in_place(self, "zero_", lambda a: a.fill(0))

    def fill_(self, value):
        """Fill with ``value`` (a number or a 0-d Tensor/array) in place; returns self.

        Raises ValueError for a value with dimensions and TypeError for one of another kind
        than the tensor's dtype (1.5 into an integer tensor)."""
        v = _array_of(value)
        if np.ndim(v) != 0:
            raise ValueError(f"fill_: value must be a number or a 0-d Tensor/array, got an "
                             f"array of shape {np.shape(v)}; use copy_ to write an array")
        return in_place(self, "fill_",
                                 lambda a: np.copyto(a, v, casting="same_kind"), (value,))

    def copy_(self, src):
        """Copy ``src`` (broadcast to this tensor's shape) into it in place
        (``torch.Tensor.copy_``, with NumPy's same_kind casting); returns self."""
        v = _array_of(src)
        return in_place(self, "copy_",
                                 lambda a: np.copyto(a, v, casting="same_kind"), (src,))

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        """Clip to ``[min, max]`` in place (``torch.Tensor.clamp_``; either bound may be
        None, not both); returns self."""
        if min is None and max is None:
            raise ValueError("clamp_: at least one of 'min' or 'max' must be given")
        lo, hi = _array_of(min), _array_of(max)
        bounds = tuple(b for b in (min, max) if b is not None)
        return in_place(self, "clamp_", lambda a: np.clip(a, lo, hi, out=a), bounds)

    def __setitem__(self, index, value):
        """``self[index] = value`` in place, NumPy's indexing; a value of another kind than
        the tensor's dtype raises TypeError (same_kind casting, unlike ndarray's)."""
        v, index = _array_of(value), _plain_index(index)

        def write(a):
            if not np.can_cast(np.result_type(a, v), a.dtype, "same_kind"):
                raise TypeError("same_kind")
            a[index] = v

        in_place(self, "__setitem__", write, (value,))

    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)
    def __ipow__(self, other): return self.pow_(other)

    def __imatmul__(self, other):
        raise TypeError("@=: in-place matrix multiplication is not supported (as in PyTorch); "
                        "write x = x @ w")

    # -- methods (each the function of the same name in tensorgrad) --------------------------
    # NumPy's arguments; PyTorch's dim=/keepdim= are accepted as their other names.
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        if dim is not None or keepdim is not None:
            axis, keepdims = _axis("sum", axis, keepdims, dim, keepdim)
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        if dim is not None or keepdim is not None:
            axis, keepdims = _axis("mean", axis, keepdims, dim, keepdim)
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, *args, axis=None, keepdims=False, dim=None, keepdim=None):
        """NumPy's ``max`` over ``axis`` (values); PyTorch's ``max(dim)`` -- ``dim=`` or one
        positional int -- gives the named tuple ``(values, indices)``; ``max(other)`` with a
        Tensor is :func:`tensorgrad.maximum`. See docs/pytorch_and_numpy.md."""
        if args or dim is not None or keepdim is not None:
            return _extremum(self, "max", args, axis, keepdims, dim, keepdim)
        return ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, *args, axis=None, keepdims=False, dim=None, keepdim=None):
        """As :meth:`max`, for the minimum."""
        if args or dim is not None or keepdim is not None:
            return _extremum(self, "min", args, axis, keepdims, dim, keepdim)
        return ops.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Index of the maximum (NumPy's and PyTorch's ``argmax``); ``dim``/``keepdim`` are
        PyTorch's names for ``axis``/``keepdims``."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _axis("argmax", axis, keepdims, dim, keepdim)
        return ops.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Index of the minimum; see :meth:`argmax`."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _axis("argmin", axis, keepdims, dim, keepdim)
        return ops.argmin(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=None, keepdims=False, *, dim=None, keepdim=None,
            correction=None, unbiased=None):
        """NumPy's ``var`` (``ddof=0`` unless given); with PyTorch's ``dim=``, ``keepdim=``,
        ``correction=`` or ``unbiased=``, PyTorch's (default correction 1)."""
        d = _ddof("var", ddof, dim, keepdim, correction, unbiased)
        axis, keepdims = _axis("var", axis, keepdims, dim, keepdim)
        return ops.var(self, axis=axis, ddof=d, keepdims=keepdims)

    def std(self, axis=None, ddof=None, keepdims=False, *, dim=None, keepdim=None,
            correction=None, unbiased=None):
        """As :meth:`var`, for the standard deviation."""
        d = _ddof("std", ddof, dim, keepdim, correction, unbiased)
        axis, keepdims = _axis("std", axis, keepdims, dim, keepdim)
        return ops.std(self, axis=axis, ddof=d, keepdims=keepdims)

    def reshape(self, *shape): return ops.reshape(self, shape=_shape_arg(shape))

    def transpose(self, *axes):
        """NumPy's ``transpose(*axes)`` (no axes: reversed). ``transpose(0, 1)`` on a 2-D
        tensor raises (PyTorch would swap, NumPy does nothing): use ``.T``, ``swapaxes`` or
        ``permute``."""
        return ops.transpose(self, axes=_transpose_axes(self, axes))

    def swapaxes(self, a, b): return ops.swapaxes(self, a, b)

    def repeat(self, repeats, axis=None):
        """NumPy's ``repeat``: each element repeated (PyTorch's ``repeat`` is :meth:`tile`)."""
        return ops.repeat(self, repeats, axis=axis)

    def tile(self, *reps):
        """The whole tensor tiled ``reps`` times (ints or one tuple), NumPy's and PyTorch's
        ``tile``; PyTorch's ``x.repeat(*sizes)``."""
        return ops.tile(self, _shape_arg(reps))

    def flatten(self, start_dim=0, end_dim=-1):
        """All axes into one (NumPy's ``flatten()``), or ``start_dim`` to ``end_dim``
        (PyTorch's)."""
        return ops.flatten(self, start_dim, end_dim)

    def squeeze(self, axis=None, *, dim=None):
        """NumPy's ``squeeze(axis)`` (the axes must have length 1); PyTorch's
        ``squeeze(dim=...)`` leaves axes of other lengths alone."""
        if dim is not None:
            if axis is not None:
                raise TypeError("squeeze: got both axis and dim; give one")
            return ops.squeeze(self, axis=_size_one_axes(self, dim))
        return ops.squeeze(self, axis=axis)

    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def clip(self, lo=None, hi=None): return ops.clip(self, lo=lo, hi=hi)

    def softmax(self, axis=-1, *, dim=None):
        return functional.softmax(self, axis=axis if dim is None else dim)

    def log_softmax(self, axis=-1, *, dim=None):
        return functional.log_softmax(self, axis=axis if dim is None else dim)

    # -- PyTorch's spellings --------------------------------------------------------------------
    size = property(lambda self: Size(self.data.size, self.data.shape),
                    doc="Number of elements (NumPy's); callable as PyTorch's size(): "
                        "``t.size()`` is the shape, ``t.size(dim)`` one length.")
    mT = property(lambda self: ops.swapaxes(self, -2, -1) if self.ndim >= 2 else _no_mT(self),
                  doc="The last two axes swapped (PyTorch's ``mT``, batched matrices).")

    def numel(self):
        """Number of elements (PyTorch's ``numel``; NumPy's ``size``)."""
        return self.data.size

    def dim(self):
        """Number of dimensions (PyTorch's ``dim()``; NumPy's ``ndim``)."""
        return self.data.ndim

    def view(self, *shape):
        """:meth:`reshape` (ints or one tuple, one -1): a view of the data when NumPy can
        make one, else a copy (PyTorch's ``view`` raises there). ``view(dtype)`` raises."""
        return ops.reshape(self, shape=_view_shape(shape))

    def permute(self, *dims):
        """Axes in the order ``dims`` (ints or one tuple), PyTorch's ``permute``."""
        return ops.transpose(self, axes=_shape_arg(dims))

    def unsqueeze(self, dim):
        """A new axis of length 1 at ``dim`` (PyTorch's ``unsqueeze``; NumPy's
        ``expand_dims``)."""
        return ops.expand_dims(self, dim)

    def expand(self, *sizes):
        """Broadcast to ``sizes`` (ints or one tuple; -1 keeps a length), PyTorch's
        ``expand``: a read-only view, :func:`tensorgrad.broadcast_to`."""
        return ops.broadcast_to(self, shape=_expanded_shape(self, sizes))

    def float(self):
        """Cast to float32 (PyTorch's ``float()``, whatever the default dtype)."""
        return self.astype(np.float32)

    def double(self):
        """Cast to float64 (PyTorch's ``double()``)."""
        return self.astype(np.float64)

    def long(self):
        """Cast to int64 (PyTorch's ``long()``); ends the graph."""
        return self.astype(np.int64)

    def cpu(self):
        """This tensor (tensorgrad computes on the CPU only), as PyTorch's ``cpu()``."""
        return self

    def to(self, *args, **kwargs):
        """PyTorch's ``to``: ``to(dtype)``, ``to(other)`` (its dtype), ``to("cpu")``,
        ``to("cpu", dtype)``, ``to(device=..., dtype=...)``; self when nothing changes.
        Devices other than the CPU raise NotImplementedError."""
        dtype = _to_dtype(self, args, kwargs)
        if dtype is None or (dtype == self.dtype and not kwargs.get("copy")):
            return self
        return self.astype(dtype)


def _is_dtype(name):
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


def _no_mT(x):
    raise ShapeError(f"mT: needs a tensor of at least 2 dimensions (a matrix or a batch of "
                     f"them), got shape {x.shape}")


def _view_shape(shape):
    """``view``'s shape; ``view(dtype)`` (reinterpreting the bytes) is refused."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        raise TypeError(f"view: expected a shape (ints or one tuple), got {shape[0]!r}; "
                        "view(dtype) reinterpreting the bytes is not supported, use .to(dtype) "
                        "to convert the values")
    return _shape_arg(shape)


# __hash__ is None in _Methods (it defines __eq__); Tensor keeps its identity hash
_NOT_ATTACHED = {"__module__", "__dict__", "__weakref__", "__doc__", "__qualname__", "__hash__"}
for _name, _value in vars(_Methods).items():
    if _name not in _NOT_ATTACHED:
        setattr(Tensor, _name, _value)

autograd.set_unbroadcast(ops.sum_to_shape)
set_stack(ops.stack)
