"""NumPy on Tensors: NumPy's functions and ufuncs run tensorgrad's ops, or say why they cannot.

NumPy hands a call that has a Tensor among its arguments to the Tensor, through two protocols
(NEP 13 and NEP 18): ``np.exp(t)``, ``array + t`` and ``np.add.reduce(t)`` call
``Tensor.__array_ufunc__``; ``np.mean(t)``, ``np.concatenate([a, t])`` and
``np.linalg.norm(t)`` call ``Tensor.__array_function__``. Each such call ends one of three
ways:

* the tensorgrad op of the same meaning runs, recorded (:data:`UFUNCS`, :data:`REDUCTIONS`,
  :data:`FUNCTIONS`);
* the NumPy function runs on the values, because its result carries no gradient by nature
  (:data:`ON_VALUES`: ``np.allclose``, ``np.isfinite``, ``np.argmax``, ``np.shape``, ...);
* a TypeError names the NumPy function and what to use instead.

What NumPy does not dispatch -- ``np.asarray(t)``, ``np.array([t, u])``, SciPy functions --
converts the Tensor through ``Tensor.__array__``. Converting a Tensor that requires grad while
recording gives a constant array, so no gradient flows back through it: that warns
(:class:`~tensorgrad.errors.GraphEscapeWarning`) at the line of user code, and raises
:class:`~tensorgrad.errors.GraphEscapeError` inside ``tensorgrad.grad``, ``gradcheck`` and
function transforms (:class:`~tensorgrad.escapes.forbid_graph_escape`), where the gradient
would always be wrong. ``.detach()``, ``.numpy()``, ``.data`` and ``no_grad`` read values
silently, and so do the ``np.testing`` helpers.

A new op joins the tables with one line: ``np.<ufunc>: ops.<op>`` in :data:`UFUNCS`, or an
adapter taking NumPy's arguments (those tensorgrad supports) in :data:`FUNCTIONS`.
"""
from __future__ import annotations

import inspect
import os
import sys
import warnings

import numpy as np
import scipy
import scipy.special

from . import functional, ops
from . import tensor as _tensor_module
from .errors import GraphEscapeError, GraphEscapeWarning
from .escapes import graph_escape_is_error
from .state import is_grad_enabled
from .tensor import Tensor

__all__ = ["FUNCTIONS", "ON_VALUES", "REDUCTIONS", "UFUNCS", "values"]


def values(obj):
    """``obj`` with every Tensor in it (also inside lists and tuples) replaced by its ndarray:
    how a NumPy function that carries no gradient receives its arguments."""
    if isinstance(obj, Tensor):
        return obj.data
    if isinstance(obj, list):
        return [values(a) for a in obj]
    if isinstance(obj, tuple):
        return tuple(values(a) for a in obj)
    return obj


def _shape_of(a):
    return np.shape(values(a))


def _placeholder(a):
    """A zero-size-in-memory array of ``a``'s shape: NumPy computes a result shape on it (and
    raises its own error for a bad axis)."""
    return np.broadcast_to(np.empty((), dtype=np.int8), _shape_of(a))


# ---- adapters: NumPy's arguments to tensorgrad's --------------------------------------------

def _bitwise(op, name):
    """``&``, ``|`` and ``~`` between arrays and bool Tensors: the logical op on bool data."""
    def run(*xs):
        if any(np.result_type(values(x)) != np.bool_ for x in xs):
            raise TypeError(f"np.{name} on Tensors: only for bool data (as the logical op "
                            f"tensorgrad.{op.__name__}); integer bit operations carry no gradient, "
                            "compute them on t.numpy()")
        return op(*xs)
    return run


def _concatenate(arrays, axis=0):
    if axis is None:  # NumPy flattens every input first
        arrays, axis = [ops.reshape(a, shape=(-1,)) for a in arrays], 0
    return ops.concatenate(arrays, axis=axis)


def _where(condition, *xy):
    if not xy:  # np.where(c): the indices of the nonzero elements, no gradient
        return np.where(values(condition))
    return ops.where(condition, *xy)


def _bound(bound):
    if isinstance(bound, Tensor) and bound.requires_grad and is_grad_enabled():
        raise TypeError("np.clip on Tensors: the bounds carry no gradient in tensorgrad.clip; "
                        "pass their values (.detach()), or use tensorgrad.maximum/minimum for "
                        "bounds that need a gradient")
    return values(bound)


def _clip(a, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002 (NumPy's names)
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    return ops.clip(a, lo=_bound(lo), hi=_bound(hi))


# ---- the tables -------------------------------------------------------------------------------

UFUNCS = {
    np.add: ops.add,
    np.subtract: ops.subtract,
    np.multiply: ops.multiply,
    np.divide: ops.divide,  # also np.true_divide
    np.power: ops.power,
    np.matmul: ops.matmul,
    np.negative: ops.negative,
    np.positive: lambda x: x,
    np.exp: ops.exp,
    np.log: ops.log,
    np.sqrt: ops.sqrt,
    np.absolute: ops.abs,  # also np.abs
    np.fabs: ops.abs,
    np.sign: ops.sign,
    np.tanh: ops.tanh,
    np.maximum: ops.maximum,
    np.minimum: ops.minimum,
    np.less: ops.less,
    np.less_equal: ops.less_equal,
    np.greater: ops.greater,
    np.greater_equal: ops.greater_equal,
    np.equal: ops.equal,
    np.not_equal: ops.not_equal,
    np.logical_and: ops.logical_and,
    np.logical_or: ops.logical_or,
    np.logical_not: ops.logical_not,
    np.bitwise_and: _bitwise(ops.logical_and, "bitwise_and"),  # array & bool Tensor
    np.bitwise_or: _bitwise(ops.logical_or, "bitwise_or"),
    np.invert: _bitwise(ops.logical_not, "invert"),
}
UFUNCS.update({getattr(np, name): getattr(ops, name) for name in ops.__all__
               if isinstance(getattr(np, name, None), np.ufunc)
               and getattr(np, name) not in UFUNCS})  # an op named as a ufunc runs for it
UFUNCS.update({getattr(scipy.special, name): getattr(ops.special, name)
               for name in ops.special.__all__
               if isinstance(getattr(scipy.special, name, None), np.ufunc)})
"""NumPy ufunc -> the tensorgrad op it runs when called on Tensors (``ufunc(*inputs)``).
A tensorgrad op named like a NumPy ufunc (``log1p``; ``mod``, an alias, is np.remainder) joins
the table by its name, and an op of ``tensorgrad.special`` named like a ``scipy.special`` ufunc
by its name there (``scipy.special.erf(t)`` runs ``tensorgrad.special.erf``)."""

REDUCTIONS = {
    np.add: ops.sum,
    np.maximum: ops.max,
    np.minimum: ops.min,
    np.multiply: ops.prod,
    np.logical_and: ops.all,
    np.logical_or: ops.any,
}
"""NumPy ufunc -> the tensorgrad reduction its ``.reduce`` runs (``axis``, default 0, and
``keepdims``)."""

FUNCTIONS = {
    np.sum: lambda a, axis=None, keepdims=False: ops.sum(a, axis=axis, keepdims=keepdims),
    np.mean: lambda a, axis=None, keepdims=False: ops.mean(a, axis=axis, keepdims=keepdims),
    np.max: lambda a, axis=None, keepdims=False: ops.max(a, axis=axis, keepdims=keepdims),
    np.amax: lambda a, axis=None, keepdims=False: ops.max(a, axis=axis, keepdims=keepdims),
    np.min: lambda a, axis=None, keepdims=False: ops.min(a, axis=axis, keepdims=keepdims),
    np.amin: lambda a, axis=None, keepdims=False: ops.min(a, axis=axis, keepdims=keepdims),
    np.var: lambda a, axis=None, ddof=0, keepdims=False:
        ops.var(a, axis=axis, ddof=ddof, keepdims=keepdims),
    np.std: lambda a, axis=None, ddof=0, keepdims=False:
        ops.std(a, axis=axis, ddof=ddof, keepdims=keepdims),
    np.reshape: lambda a, shape=None, *, newshape=None:
        ops.reshape(a, shape=shape if newshape is None else newshape),
    np.transpose: lambda a, axes=None:
        ops.transpose(a, axes=None if axes is None else tuple(axes)),
    np.swapaxes: lambda a, axis1, axis2: ops.swapaxes(a, axis1, axis2),
    np.expand_dims: lambda a, axis:
        ops.reshape(a, shape=np.expand_dims(_placeholder(a), axis).shape),
    np.squeeze: lambda a, axis=None: ops.squeeze(a, axis=axis),
    np.broadcast_to: lambda array, shape: ops.broadcast_to(array, shape=shape),
    np.repeat: lambda a, repeats, axis=None: ops.repeat(a, repeats, axis=axis),
    np.tile: lambda A, reps: ops.tile(A, reps),
    np.concatenate: _concatenate,
    np.stack: lambda arrays, axis=0: ops.stack(arrays, axis=axis),
    np.where: _where,
    np.clip: _clip,
    np.dot: lambda a, b: ops.dot(a, b),
    np.inner: lambda a, b: ops.inner(a, b),
    np.outer: lambda a, b: ops.outer(a, b),
    np.tensordot: lambda a, b, axes=2: ops.tensordot(a, b, axes=axes),
    np.einsum: lambda *operands, optimize=False: ops.einsum(*operands, optimize=optimize),
    np.kron: lambda a, b: ops.kron(a, b),
    np.cross: lambda a, b, axisa=-1, axisb=-1, axisc=-1, axis=None:
        ops.cross(a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis),
    np.linalg.norm: lambda x, ord=None, axis=None, keepdims=False:  # noqa: A006 (NumPy's name)
        ops.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims),
    np.linalg.inv: lambda a: ops.linalg.inv(a),
    np.linalg.solve: lambda a, b: ops.linalg.solve(a, b),
    np.linalg.det: lambda a: ops.linalg.det(a),
    np.linalg.slogdet: lambda a: ops.linalg.slogdet(a),
    np.linalg.matrix_power: lambda a, n: ops.linalg.matrix_power(a, n),
    np.linalg.cholesky: lambda a, *, upper=False: ops.linalg.cholesky(a, upper=upper),
    np.linalg.eigh: lambda a, UPLO="L": ops.linalg.eigh(a, UPLO=UPLO),  # noqa: N803
    np.linalg.svd: lambda a, full_matrices=True, compute_uv=True, hermitian=False:
        ops.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv, hermitian=hermitian),
    np.linalg.qr: lambda a, mode="reduced": ops.linalg.qr(a, mode=mode),
    np.round: lambda a, decimals=0: ops.round(a, decimals=decimals),
    getattr(np, "around", np.round): lambda a, decimals=0: ops.round(a, decimals=decimals),
    np.sinc: lambda x: ops.sinc(x),
    np.nan_to_num: lambda x, nan=0.0, posinf=None, neginf=None:
        ops.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf),
}
"""NumPy function -> an adapter with NumPy's signature (the arguments tensorgrad supports)
that runs the tensorgrad op. Other arguments raise a TypeError naming them."""

FUNCTIONS.update({  # scans, products, rearranging and indexing: NumPy's names and signatures
    np.prod: lambda a, axis=None, keepdims=False: ops.prod(a, axis=axis, keepdims=keepdims),
    np.cumsum: lambda a, axis=None: ops.cumsum(a, axis=axis),
    np.cumprod: lambda a, axis=None: ops.cumprod(a, axis=axis),
    np.all: lambda a, axis=None, keepdims=False: ops.all(a, axis=axis, keepdims=keepdims),
    np.any: lambda a, axis=None, keepdims=False: ops.any(a, axis=axis, keepdims=keepdims),
    np.ravel: lambda a: ops.ravel(a),
    np.flip: lambda m, axis=None: ops.flip(m, axis=axis),
    np.fliplr: lambda m: ops.fliplr(m),
    np.flipud: lambda m: ops.flipud(m),
    np.roll: lambda a, shift, axis=None: ops.roll(a, shift=shift, axis=axis),
    np.rot90: lambda m, k=1, axes=(0, 1): ops.rot90(m, k, axes),
    np.moveaxis: lambda a, source, destination: ops.moveaxis(a, source, destination),
    np.atleast_1d: ops.atleast_1d,
    np.atleast_2d: ops.atleast_2d,
    np.atleast_3d: ops.atleast_3d,
    np.pad: lambda array, pad_width, mode="constant", constant_values=0:
        ops.pad(array, pad_width, mode, constant_values=constant_values),
    np.split: lambda ary, indices_or_sections, axis=0: ops.split(ary, indices_or_sections, axis),
    np.array_split: lambda ary, indices_or_sections, axis=0:
        ops.array_split(ary, indices_or_sections, axis),
    np.hsplit: lambda ary, indices_or_sections: ops.hsplit(ary, indices_or_sections),
    np.vsplit: lambda ary, indices_or_sections: ops.vsplit(ary, indices_or_sections),
    np.dsplit: lambda ary, indices_or_sections: ops.dsplit(ary, indices_or_sections),
    np.vstack: lambda tup: ops.vstack(tup),
    np.hstack: lambda tup: ops.hstack(tup),
    np.dstack: lambda tup: ops.dstack(tup),
    np.column_stack: lambda tup: ops.column_stack(tup),
    np.append: lambda arr, values, axis=None: ops.append(arr, values, axis=axis),
    np.diag: lambda v, k=0: ops.diag(v, k=k),
    np.diagonal: lambda a, offset=0, axis1=0, axis2=1:
        ops.diagonal(a, offset=offset, axis1=axis1, axis2=axis2),
    np.trace: lambda a, offset=0, axis1=0, axis2=1: ops.trace(a, offset, axis1, axis2),
    np.tril: lambda m, k=0: ops.tril(m, k=k),
    np.triu: lambda m, k=0: ops.triu(m, k=k),
    np.take: lambda a, indices, axis=None, mode="raise": ops.take(a, indices, axis=axis, mode=mode),
    np.take_along_axis: lambda arr, indices, axis=-1: ops.take_along_axis(arr, indices, axis=axis),
    np.sort: lambda a, axis=-1, kind=None: ops.sort(a, axis=axis, kind=kind),
    np.partition: lambda a, kth, axis=-1, kind="introselect":
        ops.partition(a, kth, axis=axis, kind=kind),
})

ON_VALUES = frozenset(f for f in (
    # comparisons of values, predicates, indices, sizes: results without a gradient
    np.allclose, np.isclose, np.array_equal, np.array_equiv, np.isfinite, np.isnan, np.isinf,
    np.signbit, np.logical_xor, np.count_nonzero, np.nonzero, np.flatnonzero,
    np.argwhere, np.argmax, np.argmin, np.argsort, np.searchsorted,
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.may_share_memory, np.shares_memory,
    # new arrays of a Tensor's shape and dtype
    np.zeros_like, np.ones_like, np.empty_like, np.full_like,
))
"""NumPy functions and ufuncs that run on a Tensor's values (their results carry no
gradient by nature) and return what NumPy returns."""


# ---- dispatch -------------------------------------------------------------------------------

def _np_name(func, method="__call__"):
    if isinstance(func, np.ufunc):
        module = "np" if getattr(np, func.__name__, None) is func else "scipy.special"
        return f"{module}.{func.__name__}" + ("" if method == "__call__" else f".{method}")
    module = getattr(func, "__module__", None) or "numpy"
    prefix = "np" + module[len("numpy"):] if module.startswith("numpy") else module
    return f"{prefix}.{func.__name__}"


def _requires_grad(obj):
    """Whether ``obj`` is, or holds (in lists, tuples, dict values), a Tensor that requires grad."""
    if isinstance(obj, Tensor):
        return obj.requires_grad
    if isinstance(obj, (list, tuple)):
        return any(_requires_grad(a) for a in obj)
    if isinstance(obj, dict):
        return any(_requires_grad(a) for a in obj.values())
    return False


def _recording(*objs):
    """Whether computing on the values of ``objs`` would lose a gradient: grad mode is on and
    a Tensor among them requires grad."""
    return is_grad_enabled() and _requires_grad(objs)


def _on_values(func, args, kwargs):
    return func(*values(args), **{k: values(v) for k, v in kwargs.items()})


def _unsupported(func, method="__call__"):
    name = _np_name(func, method)
    short = func.__name__
    if method == "__call__" and (short in ops.__all__ or short in functional.__all__):
        instead = f"use tensorgrad.{short}, which records it"
    else:
        instead = ("tensorgrad has no op for it: to differentiate through it, declare it as an "
                   "op with its VJP (tensorgrad.primitive)")
    return TypeError(f"{name} is not supported on a Tensor that requires grad (computing it on "
                     f"the values would return a constant and cut the graph): {instead}; to "
                     "compute on the values without a gradient, pass t.detach() or t.numpy()")


_NO_VALUE = getattr(np, "_NoValue", None)
_SIGNATURES: dict = {}


def _supported_arguments(func, impl, args, kwargs):
    """(``kwargs`` without NumPy defaults passed explicitly (None, no value), None) when
    ``impl`` takes the arguments; else (None, a TypeError naming what it does not take)."""
    sig = _SIGNATURES.get(impl)
    if sig is None:
        sig = _SIGNATURES[impl] = inspect.signature(impl)
    kwargs = {k: v for k, v in kwargs.items()
              if k in sig.parameters or not (v is None or v is _NO_VALUE)}
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        return None, TypeError(f"{_np_name(func)} on a Tensor that requires grad takes {sig}: {e}")
    return kwargs, None


_QUERIES = {f: getattr(f, "__wrapped__", f) for f in (np.shape, np.ndim, np.size, np.result_type)}
"""Questions about shape and dtype, answered from the values by NumPy's own implementation
(``__wrapped__``: no second dispatch)."""


def _array_function(self, func, types, args, kwargs):
    """NumPy's ``__array_function__`` (NEP 18): a NumPy function with a Tensor argument runs
    the tensorgrad op of :data:`FUNCTIONS`, or NumPy on the values for :data:`ON_VALUES` and
    whenever no gradient is being recorded (no Tensor argument requires grad, or grad mode is
    off); otherwise a TypeError names the function and what to use instead."""
    query = _QUERIES.get(func)
    if query is not None:  # np.shape(t) and the like: asked often, answered at once
        return query(*values(args), **kwargs)
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    impl = FUNCTIONS.get(func)
    error = None
    if impl is not None:
        supported, error = _supported_arguments(func, impl, args, kwargs)
        if error is None:
            return impl(*args, **supported)
    if func in ON_VALUES or not _recording(args, kwargs):
        return _on_values(func, args, kwargs)
    raise error or _unsupported(func)


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """NumPy's ``__array_ufunc__`` (NEP 13): a ufunc with a Tensor operand (``np.exp(t)``,
    ``array * t``) runs the tensorgrad op of :data:`UFUNCS`, ``ufunc.reduce`` the reduction
    of :data:`REDUCTIONS`; ufuncs of :data:`ON_VALUES`, and any ufunc call while no gradient
    is being recorded, run on the values. Otherwise -- ``out=`` (also ``array += t``), other
    ufunc methods and arguments, other ufuncs -- a TypeError says what to use instead. A
    Tensor is never written to through ``out=`` or ``ufunc.at``."""
    name = _np_name(ufunc, method)
    out = kwargs.get("out")
    writes = out is not None and any(o is not None for o in out)
    if (writes and any(isinstance(o, Tensor) for o in out)) or (
            method == "at" and isinstance(inputs[0], Tensor)):
        raise TypeError(f"{name} cannot write into a Tensor: use its in-place methods, or "
                        "compute a new Tensor")
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if not writes:
        if method == "__call__" and ufunc in UFUNCS and not kwargs:
            return UFUNCS[ufunc](*inputs)
        if method == "reduce" and ufunc in REDUCTIONS and set(kwargs) <= {"axis", "keepdims"}:
            return REDUCTIONS[ufunc](*inputs, axis=kwargs.get("axis", 0),
                                     keepdims=kwargs.get("keepdims", False))
    if (method == "__call__" and ufunc in ON_VALUES) or not _recording(inputs, kwargs):
        return _on_values(getattr(ufunc, method), inputs, kwargs)
    if writes:
        raise TypeError(
            f"{name} with out= on a Tensor that requires grad: writing the result into an "
            "existing array is not recorded. Compute it without out= (a new Tensor, recorded); "
            "NumPy also runs this for `array += tensor`: write `array = array + tensor`, or "
            "compute on tensor.detach() for values without a gradient")
    if kwargs and (ufunc in UFUNCS or ufunc in REDUCTIONS):
        raise TypeError(f"{name} on a Tensor that requires grad takes no "
                        f"{', '.join(map(repr, kwargs))} argument(s) (only "
                        f"{'axis and keepdims' if method == 'reduce' else 'its operands'})")
    raise _unsupported(ufunc, method)


# ---- conversion: __array__ and graph escapes --------------------------------------------------

def _array(self, dtype=None, copy=None):
    """NumPy's ``__array__``: the Tensor's data (``np.asarray(t)``, SciPy functions, ...).

    Converting a Tensor that requires grad while recording warns
    (:class:`GraphEscapeWarning`, at the user's line), or raises :class:`GraphEscapeError`
    inside :class:`~tensorgrad.escapes.forbid_graph_escape`: the array is a constant."""
    if self.requires_grad and is_grad_enabled():
        _graph_escape()
    if copy:
        return np.array(self.data, dtype=dtype, copy=True)
    return self.data if dtype is None else self.data.astype(dtype, copy=False)


_LIBRARY_DIRS = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep
                      for m in (_tensor_module, np, scipy))
_NEW_LEAF = _tensor_module._numeric_array.__code__  # tensor(...) and Tensor(...) of a list


def _graph_escape():
    """Warn about (or refuse) a conversion of a recording Tensor, naming the user's line: the
    innermost frame outside tensorgrad, NumPy and SciPy. Silent under ``np.testing``."""
    frame, level = sys._getframe(2), 3  # __array__'s caller; warn()'s stacklevel for it
    new_leaf, library = False, None
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_LIBRARY_DIRS):
        module = frame.f_globals.get("__name__", "")
        if module.startswith("numpy.testing"):
            return  # assert_allclose and friends compare values
        new_leaf = new_leaf or frame.f_code is _NEW_LEAF
        library = library or f"{module}.{frame.f_code.co_name}"  # the converting function
        frame, level = frame.f_back, level + 1
    if new_leaf:
        text = ("tensorgrad.tensor (or Tensor) of a list holding a Tensor that requires grad "
                "copies its values into a new leaf, cutting the graph (as torch.tensor does): no "
                "gradient reaches that Tensor. To keep the gradient, use tensorgrad.stack")
    else:
        by = f" (by {library})" if library else ""
        text = (f"a Tensor that requires grad was converted to a NumPy array{by} while "
                "recording: the array is a constant, so no gradient flows back through it. Use "
                "tensorgrad ops (NumPy functions and ufuncs such as np.mean and np.exp dispatch "
                "to them), or read the values on purpose with .detach(), .numpy(), .data or "
                "under tensorgrad.no_grad()")
    if graph_escape_is_error():
        site = "an unknown line" if frame is None else (
            f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        raise GraphEscapeError(f"{text}. Converted at {site}; inside tensorgrad.grad, "
                               "tensorgrad.gradcheck and function transforms this is an error, "
                               "as the gradient computed would be wrong")
    warnings.warn(text, GraphEscapeWarning, stacklevel=level)


Tensor.__array__ = _array
Tensor.__array_ufunc__ = _array_ufunc
Tensor.__array_function__ = _array_function
