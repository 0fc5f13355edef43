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
from .tensor import Tensor


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
        """Cast to ``dtype`` (differentiable for floating dtypes)."""
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
autograd.set_stack(ops.stack)
