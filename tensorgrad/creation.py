"""New tensors: PyTorch's creation functions (``tg.zeros(2, 3)``, ``tg.randn(4, rng=0)``, ...).

Each returns a new leaf Tensor. The signatures are PyTorch's: sizes as separate ints or one
tuple, keyword ``dtype=`` and ``requires_grad=``, and ``device=`` accepted as ``"cpu"`` (the
only device). Floating results take ``tg.get_default_dtype()`` unless ``dtype`` is given
(float64 unless ``tg.set_default_dtype`` changed it). The random ones draw from ``rng`` (an
int seed or a ``numpy.random.Generator``), else from the default generator that
``tg.manual_seed`` reseeds; NumPy's global random state is never used.
"""
from __future__ import annotations

import numpy as np

from . import defaults
from ._random import as_generator
from .tensor import Tensor

__all__ = ["arange", "empty", "eye", "full", "full_like", "linspace", "ones", "ones_like",
           "rand", "randint", "randn", "zeros", "zeros_like"]


# -- arguments ----------------------------------------------------------------------------------

def check_device(where, device):
    """Accept ``device`` None or the CPU (``"cpu"``, ``"cpu:0"``, or an object whose ``type``
    is ``"cpu"``, such as ``torch.device("cpu")``); NotImplementedError naming ``where``
    for any other: tensorgrad computes on the CPU with NumPy."""
    if device is None:
        return
    kind = getattr(device, "type", device)
    if isinstance(kind, str) and kind.split(":")[0] == "cpu":
        return
    raise NotImplementedError(f"{where}: device {device!r} is not supported; tensorgrad runs on "
                              "the CPU with NumPy (device='cpu' is accepted and changes nothing)")


def _size(where, args):
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` as the tuple (2, 3); TypeError unless the
    sizes are ints, ValueError for a negative one."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))
               for n in args):
        raise TypeError(f"{where}: size must be ints or one tuple of ints, got "
                        f"{args if len(args) != 1 else args[0]!r}")
    if any(n < 0 for n in args):
        raise ValueError(f"{where}: sizes must be >= 0, got {tuple(int(n) for n in args)}")
    return tuple(int(n) for n in args)


def _dtype(where, dtype, default=None):
    """``dtype`` as a NumPy dtype of real numbers (``default``, else the default floating
    dtype, when None); TypeError naming ``where`` otherwise."""
    if dtype is None:
        return np.dtype(default if default is not None else defaults.get_default_dtype())
    try:
        d = np.dtype(dtype)
    except (TypeError, ValueError):
        d = None
    if d is None or d.kind not in "biuf":
        raise TypeError(f"{where}: dtype must be a NumPy dtype of real numbers (bool, int or "
                        f"float), got {dtype!r}")
    return d


def _leaf(where, array, requires_grad):
    """``array`` as a new leaf; TypeError naming ``where`` for requires_grad on a dtype that
    has no gradient."""
    if requires_grad and array.dtype.kind != "f":
        raise TypeError(f"{where}: requires_grad=True needs a floating dtype, got "
                        f"{array.dtype}; only floating-point tensors can have gradients")
    return Tensor(array, requires_grad=bool(requires_grad))


def _scalar_dtype(where, *values):
    """The dtype PyTorch infers from Python numbers: bool, int64, or the default floating
    dtype as soon as one is a float."""
    kinds = set()
    for v in values:
        try:
            a = np.asarray(v.data if isinstance(v, Tensor) else v)
        except (TypeError, ValueError):
            a = np.asarray(None)
        if a.ndim != 0 or a.dtype.kind not in "biuf":
            raise TypeError(f"{where}: expected numbers, got {v!r}")
        kinds.add(a.dtype.kind)
    if "f" in kinds:
        return defaults.get_default_dtype()
    return np.dtype(np.bool_) if kinds == {"b"} else np.dtype(np.int64)


def _like(where, input):  # noqa: A002 - PyTorch's name
    """The array whose shape and dtype a ``*_like`` function copies."""
    if isinstance(input, Tensor):
        return input.data
    try:
        a = np.asarray(input)
    except (TypeError, ValueError):
        a = None
    if a is None or a.dtype.kind not in "biuf":
        raise TypeError(f"{where}: input must be a Tensor or an array of real numbers, got "
                        f"{type(input).__name__}")
    return a


# -- filled ---------------------------------------------------------------------------------------

def zeros(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of zeros, PyTorch's ``zeros``.

    Parameters
    ----------
    *size : ints, or one tuple or list of ints
        The shape; ``zeros(())`` is 0-d.
    dtype : NumPy dtype, optional
        Default: ``tg.get_default_dtype()``.
    requires_grad : bool
        TypeError for a dtype other than floating.
    device : None or "cpu"
        Any other device raises NotImplementedError.

    Raises
    ------
    TypeError
        A size that is not an int; a dtype that is not of real numbers.
    ValueError
        A negative size.
    """
    check_device("zeros", device)
    return _leaf("zeros", np.zeros(_size("zeros", size), dtype=_dtype("zeros", dtype)),
                 requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of ones, PyTorch's ``ones``; arguments and errors as :func:`zeros`."""
    check_device("ones", device)
    return _leaf("ones", np.ones(_size("ones", size), dtype=_dtype("ones", dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    """An uninitialised tensor (``np.empty``: arbitrary values), PyTorch's ``empty``;
    arguments and errors as :func:`zeros`."""
    check_device("empty", device)
    return _leaf("empty", np.empty(_size("empty", size), dtype=_dtype("empty", dtype)),
                 requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor of shape ``size`` (an int or a tuple) filled with ``fill_value``, PyTorch's
    ``full``: the dtype is inferred from the value when not given (bool, int64, or the
    default floating dtype for a float). Errors as :func:`zeros`."""
    check_device("full", device)
    size = _size("full", size if isinstance(size, (tuple, list)) else (size,))
    d = _dtype("full", dtype, default=_scalar_dtype("full", fill_value))
    return _leaf("full", np.full(size, fill_value, dtype=d), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """The ``(n, m)`` identity matrix (``m`` defaults to ``n``), PyTorch's ``eye``; dtype
    default ``tg.get_default_dtype()``. Errors as :func:`zeros`."""
    check_device("eye", device)
    n, m = _size("eye", (n, n if m is None else m))
    return _leaf("eye", np.eye(n, m, dtype=_dtype("eye", dtype)), requires_grad)


# -- of another tensor's shape --------------------------------------------------------------------

def zeros_like(input, dtype=None, requires_grad=False, device=None):  # noqa: A002
    """Zeros of ``input``'s shape and dtype (or ``dtype``), as PyTorch's and NumPy's
    ``zeros_like``. ``input`` is a Tensor or an array; the result is a new leaf."""
    check_device("zeros_like", device)
    a = _like("zeros_like", input)
    return _leaf("zeros_like", np.zeros(a.shape, dtype=_dtype("zeros_like", dtype, a.dtype)),
                 requires_grad)


def ones_like(input, dtype=None, requires_grad=False, device=None):  # noqa: A002
    """Ones of ``input``'s shape and dtype (or ``dtype``); see :func:`zeros_like`."""
    check_device("ones_like", device)
    a = _like("ones_like", input)
    return _leaf("ones_like", np.ones(a.shape, dtype=_dtype("ones_like", dtype, a.dtype)),
                 requires_grad)


def full_like(input, fill_value, dtype=None, requires_grad=False, device=None):  # noqa: A002
    """``fill_value`` in ``input``'s shape and dtype (or ``dtype``; the value is cast to it,
    as PyTorch and NumPy do); see :func:`zeros_like`."""
    check_device("full_like", device)
    a = _like("full_like", input)
    _scalar_dtype("full_like", fill_value)
    return _leaf("full_like", np.full(a.shape, fill_value,
                                      dtype=_dtype("full_like", dtype, a.dtype)), requires_grad)


# -- ranges ---------------------------------------------------------------------------------------

def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from ``start`` (default 0) up to ``end`` (excluded) by ``step``: ``arange(5)``,
    ``arange(1, 4)``, ``arange(0, 1, 0.25)`` (PyTorch's and NumPy's ``arange``).

    The dtype, unless given, is PyTorch's: int64 when all three are ints, else the default
    floating dtype. The length is ``ceil((end - start) / step)``.

    Raises
    ------
    TypeError
        A bound or step that is not a number.
    ValueError
        ``step`` is 0.
    """
    check_device("arange", device)
    if end is None:
        start, end = 0, start
    d = _dtype("arange", dtype, default=_scalar_dtype("arange", start, end, step))
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    return _leaf("arange", np.arange(start, end, step, dtype=d), requires_grad)


def linspace(start, end, steps=50, dtype=None, requires_grad=False, device=None, *, num=None):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (PyTorch's
    and NumPy's ``linspace``; ``num=`` is NumPy's name for ``steps``, and 50 NumPy's
    default -- PyTorch requires it). dtype default: ``tg.get_default_dtype()``.

    Raises TypeError for a ``steps`` that is not an int, ValueError for a negative one."""
    check_device("linspace", device)
    steps = steps if num is None else num
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"linspace: steps must be an int, got {steps!r}")
    if steps < 0:
        raise ValueError(f"linspace: steps must be >= 0, got {steps}")
    _scalar_dtype("linspace", start, end)
    d = _dtype("linspace", dtype)
    return _leaf("linspace", np.linspace(start, end, steps).astype(d, copy=False), requires_grad)


# -- random ---------------------------------------------------------------------------------------

def rand(*size, rng=None, dtype=None, requires_grad=False, device=None):
    """Uniform samples on [0, 1), PyTorch's ``rand`` (``Generator.random``).

    Parameters
    ----------
    *size : ints, or one tuple or list of ints
    rng : None, int or numpy.random.Generator
        None draws from the default generator (``tg.manual_seed`` reseeds it).
    dtype : float32 or float64, optional
        Default: ``tg.get_default_dtype()``. Other dtypes raise TypeError.
    requires_grad, device : as :func:`zeros`
    """
    check_device("rand", device)
    d = _float_dtype("rand", dtype)
    values = as_generator(rng, "rand").random(_size("rand", size), dtype=_drawn(d))
    return _leaf("rand", values.astype(d, copy=False), requires_grad)


def randn(*size, rng=None, dtype=None, requires_grad=False, device=None):
    """Standard normal samples, PyTorch's ``randn`` (``Generator.standard_normal``);
    arguments as :func:`rand`."""
    check_device("randn", device)
    d = _float_dtype("randn", dtype)
    values = as_generator(rng, "randn").standard_normal(_size("randn", size), dtype=_drawn(d))
    return _leaf("randn", values.astype(d, copy=False), requires_grad)


def randint(*args, low=None, high=None, size=None, rng=None, dtype=None, requires_grad=False,
            device=None):
    """Integers drawn uniformly from [low, high), PyTorch's ``randint``: ``randint(high,
    size)``, ``randint(low, high, size)`` or the keywords ``low=`` (default 0), ``high=``,
    ``size=`` (a tuple) -- ``Generator.integers``.

    dtype default int64; ``requires_grad=True`` raises TypeError (integers have no
    gradient), as does a floating dtype with it. ValueError when ``low >= high``."""
    check_device("randint", device)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        args, size = args[:-1], args[-1]
    if len(args) == 2 and low is None and high is None:
        low, high = args
    elif len(args) == 1 and high is None:
        high = args[0]
    elif len(args) == 1 and low is None:
        low = args[0]
    elif args:
        high = None  # too many bounds: the error below
    if size is None or high is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size) "
                        f"with size a tuple, got arguments {args}, low={low!r}, high={high!r} "
                        f"and size={size!r}")
    low = 0 if low is None else low
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"randint: {name} must be an int, got {v!r}")
    if low >= high:
        raise ValueError(f"randint: low must be < high, got low={low} and high={high}")
    shape = _size("randint", (size,) if not isinstance(size, (tuple, list)) else tuple(size))
    d = _dtype("randint", dtype, default=np.int64)
    values = as_generator(rng, "randint").integers(low, high, size=shape)
    return _leaf("randint", values.astype(d, copy=False), requires_grad)


def _float_dtype(where, dtype):
    """``dtype`` (default: the default floating dtype), TypeError unless floating."""
    d = _dtype(where, dtype)
    if d.kind != "f":
        raise TypeError(f"{where}: dtype must be floating (float16, float32 or float64), "
                        f"got {d}")
    return d


def _drawn(d):
    """The dtype NumPy's generators draw for ``d``: float32 or float64 (float16 is drawn in
    float64 and rounded)."""
    return d if d in (np.float32, np.float64) else np.dtype(np.float64)
