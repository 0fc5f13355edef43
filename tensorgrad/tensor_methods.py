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
from .inputs import set_stack
from .ops.shape import _plain_index
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
    def sum(self, axis=None, keepdims=False): return ops.sum(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return ops.mean(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return ops.max(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return ops.min(self, axis=axis, keepdims=keepdims)
    def reshape(self, *shape): return ops.reshape(self, shape=_shape_arg(shape))
    def transpose(self, *axes): return ops.transpose(self, axes=_shape_arg(axes) if axes else None)
    def swapaxes(self, a, b): return ops.swapaxes(self, a, b)
    def flatten(self): return ops.reshape(self, shape=(-1,))
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def clip(self, lo=None, hi=None): return ops.clip(self, lo=lo, hi=hi)
    def softmax(self, axis=-1): return functional.softmax(self, axis=axis)
    def log_softmax(self, axis=-1): return functional.log_softmax(self, axis=axis)


# __hash__ is None in _Methods (it defines __eq__); Tensor keeps its identity hash
_NOT_ATTACHED = {"__module__", "__dict__", "__weakref__", "__doc__", "__qualname__", "__hash__"}
for _name, _value in vars(_Methods).items():
    if _name not in _NOT_ATTACHED:
        setattr(Tensor, _name, _value)

autograd.set_unbroadcast(ops.sum_to_shape)
set_stack(ops.stack)
