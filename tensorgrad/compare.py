"""Compare hand-derived back-propagation with tensorgrad's, layer by layer.

Give this module a network written in the notebook style (a list of
:mod:`tensorgrad.reference` layers, or layers of your own with ``forward(input)`` and
``backward(output_gradient, learning_rate)``). It builds the same network in tensorgrad over
the very same parameter arrays, runs one sample through both, and reports for every layer the
largest absolute and relative difference of the output, of the input gradient and of every
parameter gradient. It can also run a few SGD steps on both and compare the parameter
trajectories.

Public names
------------
gradients
    One sample through both networks; returns a :class:`Report`.
trajectories
    Several plain SGD steps on both networks; returns a :class:`TrajectoryReport`.
engine_model
    The tensorgrad network built from a list of reference layers (:class:`EngineModel`).
Equivalent, engine_equivalent, custom, ACTIVATIONS
    How a reference layer is written in tensorgrad, and how to declare it for your own layers.
Loss, BCE
    A loss in both conventions (the default is binary cross-entropy).

How each layer is written in tensorgrad (the derivation, term by term):

===========================  ==============================================================
reference layer              tensorgrad expression
===========================  ==============================================================
``Convolution``              ``Y_i = Σ_j tg.correlate2d(X_j, K_ij, "valid") + B_i``
``Reshape``                  ``tg.reshape(X, output_shape)``
``Dense``                    ``W @ X + b`` (column vectors)
``Sigmoid``                  ``tg.sigmoid(X)``
``Activation(f, f')``        ``ACTIVATIONS[f](X)``, e.g. ``np.tanh`` -> ``tg.tanh``
your own layer               ``custom(layer, fn, params=...)`` or
                             ``@engine_equivalent.register(YourLayer)``
===========================  ==============================================================

Examples
--------
>>> import numpy as np
>>> from tensorgrad import compare, reference as ref
>>> net = [ref.Dense(3, 2, rng=0), ref.Sigmoid()]
>>> report = compare.gradients(net, np.ones((3, 1)), np.array([[1.0], [0.0]]))
>>> report.ok
True
>>> report.assert_close(rtol=1e-12)
"""
from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.special

from . import reference as ref
from .autograd import grad as _grad
from .autograd import no_grad
from .ops import binary_cross_entropy as _engine_bce
from .ops import correlate2d, reshape, sigmoid, stack, tanh
from .tensor import Tensor

__all__ = [
    "ACTIVATIONS",
    "BCE",
    "Custom",
    "EngineModel",
    "Equivalent",
    "Loss",
    "Report",
    "Row",
    "StepRecord",
    "TrajectoryReport",
    "custom",
    "engine_equivalent",
    "engine_model",
    "gradients",
    "trajectories",
]

_TINY = np.finfo(np.float64).tiny


# ---------------------------------------------------------------------------------------------
# How a reference layer is written in tensorgrad
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Equivalent:
    """The tensorgrad expression of one reference layer.

    Parameters
    ----------
    fn : callable
        ``fn(x, **params) -> Tensor``: the layer's forward pass written with tensorgrad ops.
        ``x`` is the layer's input as a Tensor; every parameter is passed as a keyword
        argument holding a Tensor that wraps the layer's own ndarray (shared memory).
        Static configuration (shapes, scales) is best read from the layer in a closure.
    params : sequence of str or mapping of str to str, optional
        The layer's trainable parameters. A sequence of attribute names (``("weights",
        "bias")``) passes each under its own name; a mapping ``{keyword: attribute}`` renames
        (``{"w": "weights"}`` calls ``fn(x, w=Tensor(layer.weights))``). Each attribute must
        be a floating-point ``np.ndarray``.
    gradients : mapping of str to str, optional
        ``{attribute: gradient attribute}``: where the layer's ``backward`` stores the
        gradient of each parameter. The default is ``"<attribute>_gradient"``, the convention
        of :mod:`tensorgrad.reference` (``kernels_gradient``, ``weights_gradient``, ...). A
        layer that stores no gradient (the notebook's style: ``backward`` only updates the
        parameters) is handled too: the gradient is recovered from the update it makes,
        ``(p_before - p_after) / learning_rate``.

    Examples
    --------
    >>> import tensorgrad as tg
    >>> from tensorgrad import compare
    >>> eq = compare.Equivalent(lambda x, weights, bias: weights @ x + bias,
    ...                         params=("weights", "bias"))
    >>> dict(eq.params)
    {'weights': 'weights', 'bias': 'bias'}
    """

    fn: Callable[..., Any]
    params: Mapping[str, str] = field(default_factory=dict)
    gradients: Optional[Mapping[str, str]] = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"Equivalent: fn must be callable, got {type(self.fn).__name__}")
        params = self.params
        if isinstance(params, str):
            params = (params,)
        if not isinstance(params, Mapping):
            params = {name: name for name in params}
        params = dict(params)
        for kw, attr in params.items():
            if not (isinstance(kw, str) and isinstance(attr, str)):
                raise TypeError(f"Equivalent: params must name attributes with strings, "
                                f"got {kw!r}: {attr!r}")
        grads = {attr: f"{attr}_gradient" for attr in params.values()}
        if self.gradients is not None:
            unknown = set(self.gradients) - set(grads)
            if unknown:
                raise ValueError(f"Equivalent: gradients names {sorted(unknown)}, which are not "
                                 f"parameters; expected some of {sorted(grads)}")
            grads.update(self.gradients)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "gradients", grads)


#: Elementwise activation functions of :class:`tensorgrad.reference.Activation` layers and
#: their tensorgrad equivalents, keyed by the ``activation`` callable itself. Add your own:
#: ``compare.ACTIVATIONS[my_relu] = tg.relu``.
ACTIVATIONS: dict = {
    ref.sigmoid: sigmoid,
    scipy.special.expit: sigmoid,
    np.tanh: tanh,
}


@functools.singledispatch
def engine_equivalent(layer) -> Equivalent:
    """The :class:`Equivalent` of a reference layer, chosen by the layer's class.

    A ``functools.singledispatch`` function: register the tensorgrad expression of a layer
    class of your own once, and every layer of that class (and of its subclasses) is then
    compared::

        @compare.engine_equivalent.register(MyTanh)
        def _(layer):
            return compare.Equivalent(tg.tanh)

    Built in: :class:`~tensorgrad.reference.Convolution`,
    :class:`~tensorgrad.reference.Reshape`, :class:`~tensorgrad.reference.Dense`,
    :class:`~tensorgrad.reference.Sigmoid` and :class:`~tensorgrad.reference.Activation`
    (through :data:`ACTIVATIONS`). A subclass of one of them (e.g. a ``Dense`` with a
    modified ``backward``) is compared with its base class's tensorgrad expression, which is
    how a faulty hand-written backward is caught.

    Parameters
    ----------
    layer : object
        A layer with ``forward(input)`` and ``backward(output_gradient, learning_rate)``.

    Returns
    -------
    Equivalent

    Raises
    ------
    TypeError
        For a layer class with no registered expression (wrap the layer with :func:`custom`
        or register one), or an ``Activation`` whose function is not in :data:`ACTIVATIONS`.
    """
    raise TypeError(
        f"compare: no tensorgrad equivalent is known for a {type(layer).__name__} layer; "
        f"wrap it with compare.custom(layer, fn, params=...) or register one with "
        f"@compare.engine_equivalent.register({type(layer).__name__})")


def _convolution(x, kernels, bias):
    """Y_i = Σ_j correlate2d(X_j, K_ij, "valid") + B_i, the derivation term by term."""
    depth, input_depth = kernels.shape[:2]
    channels = [x[j] for j in range(input_depth)]
    outputs = []
    for i in range(depth):
        total = correlate2d(channels[0], kernels[i, 0], mode="valid")
        for j in range(1, input_depth):
            total = total + correlate2d(channels[j], kernels[i, j], mode="valid")
        outputs.append(total + bias[i])
    return stack(outputs)


@engine_equivalent.register(ref.Convolution)
def _(layer):
    return Equivalent(_convolution, params=("kernels", "bias"))


@engine_equivalent.register(ref.Reshape)
def _(layer):
    shape = tuple(layer.output_shape)
    return Equivalent(lambda x: reshape(x, shape=shape))


@engine_equivalent.register(ref.Dense)
def _(layer):
    return Equivalent(lambda x, weights, bias: weights @ x + bias, params=("weights", "bias"))


@engine_equivalent.register(ref.Activation)
def _(layer):
    fn = ACTIVATIONS.get(layer.activation)
    if fn is None:
        name = getattr(layer.activation, "__name__", repr(layer.activation))
        raise TypeError(
            f"compare: {type(layer).__name__} layer with activation function {name}, which has "
            f"no known tensorgrad equivalent; add it with compare.ACTIVATIONS[fn] = tg.<op>, "
            f"or wrap the layer with compare.custom(layer, fn)")
    return Equivalent(fn)


@engine_equivalent.register(ref.Sigmoid)
def _(layer):
    return Equivalent(sigmoid)


class Custom:
    """A layer paired with its tensorgrad expression; made by :func:`custom`.

    It behaves as the wrapped layer (``forward``, ``backward`` and every attribute are the
    layer's), so a network holding it still runs in the notebook's own training loop.

    Attributes
    ----------
    layer : object
        The wrapped layer.
    equivalent : Equivalent
        Its tensorgrad expression.
    """

    def __init__(self, layer, equivalent: Equivalent) -> None:
        if not (callable(getattr(layer, "forward", None))
                and callable(getattr(layer, "backward", None))):
            raise TypeError(f"compare.custom: expected a layer with forward(input) and "
                            f"backward(output_gradient, learning_rate), got "
                            f"{type(layer).__name__}")
        self.layer = layer
        self.equivalent = equivalent

    def forward(self, input):  # noqa: A002 - the notebook's interface
        """The wrapped layer's ``forward``."""
        return self.layer.forward(input)

    def backward(self, output_gradient, learning_rate=0.0):
        """The wrapped layer's ``backward``."""
        return self.layer.backward(output_gradient, learning_rate)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("layer", "equivalent"):
            raise AttributeError(name)
        return getattr(self.layer, name)

    def __repr__(self) -> str:
        return f"compare.custom({self.layer!r})"


def custom(layer, fn: Callable[..., Any], params: Union[Sequence[str], Mapping[str, str]] = (),
           gradients: Optional[Mapping[str, str]] = None) -> Custom:
    """Pair one layer of your own with its tensorgrad expression.

    Parameters
    ----------
    layer : object
        A layer in the notebook's style: ``forward(input)`` returns the output,
        ``backward(output_gradient, learning_rate)`` returns the input gradient (and may
        update the parameters in place).
    fn : callable
        ``fn(x, **params) -> Tensor``, the same forward pass written with tensorgrad ops;
        see :class:`Equivalent`.
    params : sequence of str or mapping of str to str, optional
        The parameter attributes of ``layer`` (or ``{keyword of fn: attribute}``).
    gradients : mapping of str to str, optional
        ``{attribute: attribute holding its gradient after backward}``; by default
        ``"<attribute>_gradient"`` when the layer has it, else the gradient is recovered from
        the update ``backward`` makes.

    Returns
    -------
    Custom
        Put it in the network in place of ``layer``; it forwards ``forward``, ``backward``
        and attribute access to ``layer``.

    Examples
    --------
    >>> import numpy as np
    >>> import tensorgrad as tg
    >>> from tensorgrad import compare, reference as ref
    >>> class Tanh(ref.Layer):
    ...     def forward(self, input):
    ...         self.input = input
    ...         return np.tanh(input)
    ...     def backward(self, output_gradient, learning_rate=0.0):
    ...         return output_gradient * (1 - np.tanh(self.input) ** 2)
    >>> net = [ref.Dense(3, 2, rng=0), compare.custom(Tanh(), tg.tanh), ref.Sigmoid()]
    >>> compare.gradients(net, np.ones((3, 1)), np.array([[1.0], [0.0]])).ok
    True
    """
    return Custom(layer, Equivalent(fn, params=params, gradients=gradients))


def _unwrap(layer):
    return layer.layer if isinstance(layer, Custom) else layer


def _equivalent_of(layer, index: int) -> Equivalent:
    eq = layer.equivalent if isinstance(layer, Custom) else engine_equivalent(layer)
    if not isinstance(eq, Equivalent):
        raise TypeError(f"compare: the tensorgrad equivalent of layer {index} "
                        f"({type(_unwrap(layer)).__name__}) must be an Equivalent, "
                        f"got {type(eq).__name__}")
    return eq


def _layer_name(layer) -> str:
    return type(_unwrap(layer)).__name__


# ---------------------------------------------------------------------------------------------
# The tensorgrad model
# ---------------------------------------------------------------------------------------------

@dataclass
class _EngineLayer:
    index: int
    name: str
    fn: Callable[..., Any]
    params: dict  # keyword -> Tensor
    attributes: dict  # keyword -> attribute name on the reference layer


class EngineModel:
    """A tensorgrad network built from reference layers by :func:`engine_model`.

    Calling it runs the layers' tensorgrad expressions in order. Each parameter is a leaf
    Tensor with ``requires_grad=True`` wrapping the reference layer's ndarray (or a copy of
    it).

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import compare, reference as ref
    >>> net = [ref.Dense(3, 2, rng=0), ref.Sigmoid()]
    >>> model = compare.engine_model(net)
    >>> model(np.ones((3, 1))).shape
    (2, 1)
    >>> [name for name, _ in model.named_parameters()]
    ['0.weights', '0.bias']
    >>> np.shares_memory(model.parameters()[0].data, net[0].weights)
    True
    """

    def __init__(self, layers: Sequence[_EngineLayer]) -> None:
        self.layers = list(layers)

    def trace(self, x) -> list:
        """Every layer's output, in order.

        Parameters
        ----------
        x : Tensor or array_like
            The first layer's input (one sample, unbatched, as the reference layers take it).

        Returns
        -------
        list of Tensor
            ``outputs[i]`` is the output of layer ``i``; the last one is the network's output.
        """
        h = x if isinstance(x, Tensor) else Tensor(x)
        outputs = []
        for layer in self.layers:
            shape = h.shape
            try:
                h = layer.fn(h, **layer.params)
            except Exception as err:
                try:
                    wrapped = type(err)(f"compare: the tensorgrad expression of layer "
                                        f"{layer.index} ({layer.name}) failed on an input of "
                                        f"shape {shape}: {err}")
                except Exception:
                    raise err from None
                raise wrapped from err
            if not isinstance(h, Tensor):
                raise TypeError(f"compare: the tensorgrad expression of layer {layer.index} "
                                f"({layer.name}) returned a {type(h).__name__}, expected a "
                                f"Tensor (write it with tensorgrad ops)")
            outputs.append(h)
        return outputs

    def __call__(self, x) -> Tensor:
        """The network's output for one sample ``x``."""
        return self.trace(x)[-1]

    def named_parameters(self) -> list:
        """``[("<layer index>.<attribute>", Tensor), ...]``, in layer order."""
        return [(f"{layer.index}.{layer.attributes[kw]}", t)
                for layer in self.layers for kw, t in layer.params.items()]

    def parameters(self) -> list:
        """Every parameter Tensor, in layer order."""
        return [t for _, t in self.named_parameters()]

    def __repr__(self) -> str:
        names = ", ".join(layer.name for layer in self.layers)
        return f"EngineModel([{names}])"


def _parameter_array(layer, attr: str, index: int) -> np.ndarray:
    raw = _unwrap(layer)
    if not hasattr(raw, attr):
        raise AttributeError(f"compare: layer {index} ({type(raw).__name__}) has no parameter "
                             f"attribute {attr!r}")
    value = getattr(raw, attr)
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        raise TypeError(f"compare: parameter {attr!r} of layer {index} ({type(raw).__name__}) "
                        f"must be a floating-point numpy.ndarray, got "
                        f"{type(value).__name__} {getattr(value, 'dtype', '')}".rstrip())
    return value


def _build(layers, equivalents, copy_parameters: bool) -> EngineModel:
    built = []
    for i, (layer, eq) in enumerate(zip(layers, equivalents)):
        tensors = {}
        for kw, attr in eq.params.items():
            arr = _parameter_array(layer, attr, i)
            tensors[kw] = Tensor(arr.copy() if copy_parameters else arr, requires_grad=True)
        built.append(_EngineLayer(i, _layer_name(layer), eq.fn, tensors, dict(eq.params)))
    return EngineModel(built)


def _check_layers(layers, owner: str) -> list:
    layers = list(layers)
    if not layers:
        raise ValueError(f"compare.{owner}: expected a non-empty list of layers, got none")
    return layers


def engine_model(layers: Sequence[Any], copy: bool = False) -> EngineModel:
    """Build the tensorgrad network equivalent to a list of reference layers.

    Parameters
    ----------
    layers : sequence of layers
        Reference layers, :func:`custom` layers, or layers whose class is registered with
        :func:`engine_equivalent`.
    copy : bool, default False
        False: each parameter Tensor wraps the layer's own ndarray (shared memory, so an
        in-place update on either side is seen by both). True: each wraps a copy.

    Returns
    -------
    EngineModel

    Raises
    ------
    TypeError
        A layer with no known tensorgrad expression, or a parameter that is not a
        floating-point ndarray.
    """
    layers = _check_layers(layers, "engine_model")
    equivalents = [_equivalent_of(layer, i) for i, layer in enumerate(layers)]
    return _build(layers, equivalents, copy)


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Loss:
    """A loss written both ways.

    Parameters
    ----------
    name : str
        Shown in reports.
    value : callable
        ``value(y_true, y_pred) -> float``, the reference loss (the notebook's argument order).
    prime : callable
        ``prime(y_true, y_pred) -> ndarray``, its hand-derived gradient with respect to
        ``y_pred``.
    engine : callable
        ``engine(prediction, target) -> Tensor`` of one element (PyTorch's argument order).

    Examples
    --------
    A mean squared error:

    >>> import numpy as np
    >>> import tensorgrad as tg
    >>> from tensorgrad import compare
    >>> mse = compare.Loss("mse", value=lambda y, p: float(np.mean((p - y) ** 2)),
    ...                    prime=lambda y, p: 2 * (p - y) / y.size, engine=tg.mse_loss)
    """

    name: str
    value: Callable[[Any, Any], Any]
    prime: Callable[[Any, Any], Any]
    engine: Callable[[Any, Any], Any]


#: Mean binary cross-entropy: :func:`tensorgrad.reference.binary_cross_entropy` and its prime
#: against :func:`tensorgrad.binary_cross_entropy` (both clamp each log at -100 and use
#: PyTorch's gradient ``(p - y) / max(p (1 - p), 1e-12) / N``).
BCE = Loss("binary_cross_entropy", ref.binary_cross_entropy, ref.binary_cross_entropy_prime,
           _engine_bce)


# ---------------------------------------------------------------------------------------------
# Differences
# ---------------------------------------------------------------------------------------------

def _default_rtol(dtype) -> float:
    """1e-10 for float64 and wider, 1e-4 for float32, 1e-2 below."""
    dt = np.dtype(dtype)
    if dt.kind != "f" or dt.itemsize >= 8:
        return 1e-10
    return 1e-4 if dt.itemsize == 4 else 1e-2


@dataclass(frozen=True)
class Row:
    """The difference between one reference quantity and tensorgrad's.

    Attributes
    ----------
    phase : str
        ``"forward"``, ``"loss"``, ``"backward"``, or ``"step k"`` in a trajectory.
    layer : int or None
        Index of the layer in the network (None for the loss).
    name : str
        The layer's class name (or the loss's name).
    quantity : str
        ``"output"``, ``"input grad"``, ``"<parameter> grad"`` (a trailing ``*`` when the
        gradient was recovered from the layer's update), ``"value"`` and ``"output grad"``
        for the loss, or the parameter's name in a trajectory.
    shape : tuple of int
        Shape of the tensorgrad value (``reference_shape`` differs if the shapes disagree).
    max_abs : float
        ``max |reference - tensorgrad|`` over the elements (inf if the shapes differ or a NaN
        appears on one side only).
    max_rel : float
        ``max_abs / max(max |tensorgrad|, tiny)``: a normwise relative difference, relative
        to the largest magnitude of tensorgrad's value.
    scale : float
        ``max |tensorgrad|``.
    index : tuple of int
        Index of the worst element.
    reference_value, engine_value : float
        The two values at ``index``.
    dtype : str
        The dtype the default tolerance is chosen for.
    reference_shape : tuple of int
        Shape of the reference value.
    """

    phase: str
    layer: Optional[int]
    name: str
    quantity: str
    shape: Tuple[int, ...]
    max_abs: float
    max_rel: float
    scale: float
    index: Tuple[int, ...]
    reference_value: float
    engine_value: float
    dtype: str
    reference_shape: Tuple[int, ...]

    def tolerance(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> float:
        """``atol + rtol * max|tensorgrad|`` (atol defaults to 0, rtol to the dtype's default:
        1e-10 for float64, 1e-4 for float32)."""
        atol = 0.0 if atol is None else atol
        rtol = _default_rtol(self.dtype) if rtol is None else rtol
        return atol + rtol * self.scale

    def passes(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> bool:
        """Whether ``max_abs <= atol + rtol * max|tensorgrad|`` (see :meth:`tolerance`)."""
        return bool(self.max_abs <= self.tolerance(atol, rtol))

    @property
    def where(self) -> str:
        """``"layer 7 (Dense) input grad"``: where this row is, in words."""
        if self.layer is None:
            return f"loss ({self.name}) {self.quantity}"
        return f"layer {self.layer} ({self.name}) {self.quantity}"

    def describe(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> str:
        """One sentence on this row: the worst element, both values and the tolerance."""
        if self.shape != self.reference_shape:
            return (f"{self.where}: the reference value has shape {self.reference_shape}, "
                    f"tensorgrad's has shape {self.shape}")
        atol_v = 0.0 if atol is None else atol
        rtol_v = _default_rtol(self.dtype) if rtol is None else rtol
        return (f"{self.where} differs: worst element at index {self.index}: reference "
                f"{self.reference_value!r}, tensorgrad {self.engine_value!r}; "
                f"max abs diff {self.max_abs:.3e} > atol + rtol * max|tensorgrad| = "
                f"{_fmt_tol(atol_v)} + {_fmt_tol(rtol_v)} * {self.scale:.3e} = "
                f"{self.tolerance(atol, rtol):.3e} (max rel diff {self.max_rel:.3e})")


def _diff(phase, layer, name, quantity, reference, engine) -> Row:
    """Compare two arrays: max abs and normwise relative difference, and the worst element."""
    b = np.asarray(engine.data if isinstance(engine, Tensor) else engine)
    a = np.asarray(reference)
    floats = [d for d in (a.dtype, b.dtype) if d.kind == "f"]
    dtype = str(min(floats, key=lambda d: d.itemsize)) if floats else "float64"
    if a.shape != b.shape:
        return Row(phase, layer, name, quantity, tuple(b.shape), math.inf, math.inf, math.nan,
                   (), math.nan, math.nan, dtype, tuple(a.shape))
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
        diff = np.where(same, 0.0, np.abs(a64 - b64))
    diff[np.isnan(diff)] = math.inf
    finite_b = np.abs(b64[np.isfinite(b64)])
    scale = float(finite_b.max()) if finite_b.size else 0.0
    if diff.size == 0:
        return Row(phase, layer, name, quantity, tuple(b.shape), 0.0, 0.0, scale, (),
                   math.nan, math.nan, dtype, tuple(a.shape))
    flat = int(np.argmax(diff))
    index = tuple(int(i) for i in np.unravel_index(flat, diff.shape))
    max_abs = float(diff.flat[flat])
    max_rel = max_abs / max(scale, _TINY)
    return Row(phase, layer, name, quantity, tuple(b.shape), max_abs, max_rel, scale, index,
               float(a64.flat[flat]), float(b64.flat[flat]), dtype, tuple(a.shape))


def _fmt_shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _fmt(x: float) -> str:
    return f"{x:.2e}" if math.isfinite(x) else str(x)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set) -> list:
    widths = [max(len(h), *(len(r[c]) for r in rows)) if rows else len(h)
              for c, h in enumerate(header)]

    def line(cells):
        parts = [cell.rjust(w) if c in right else cell.ljust(w)
                 for c, (cell, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(r) for r in rows)
    return out


def _tol_text(atol, rtol, rows) -> str:
    if rtol is None:
        dtypes = sorted({r.dtype for r in rows})
        defaults = ", ".join(f"{_fmt_tol(_default_rtol(d))} for {d}" for d in dtypes)
        r = f"{defaults or '1e-10 for float64'}, the default"
    else:
        r = _fmt_tol(rtol)
    return f"atol={_fmt_tol(0.0 if atol is None else atol)}, rtol={r}"


def _fmt_tol(v: float) -> str:
    """1e-10 -> '1e-10', 1e-4 -> '1e-4', 0.5 -> '0.5'."""
    if v == 0 or v >= 1e-3:
        return f"{v:g}"
    mantissa, exponent = f"{v:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


# ---------------------------------------------------------------------------------------------
# One sample: Report
# ---------------------------------------------------------------------------------------------

class _Extremes:
    """``max_abs`` and ``max_rel`` over the parts (rows or steps) a result holds."""

    def _parts(self) -> list:
        raise NotImplementedError

    @property
    def max_abs(self) -> float:
        """The largest absolute difference over every part."""
        return max((p.max_abs for p in self._parts()), default=0.0)

    @property
    def max_rel(self) -> float:
        """The largest normwise relative difference over every part."""
        return max((p.max_rel for p in self._parts()), default=0.0)



class Report(_Extremes):
    """Per-layer differences between the reference network and tensorgrad for one sample.

    Made by :func:`gradients`. Rows come in the order the quantities are computed: the
    forward pass (layer 0 to the last), the loss, then the backward pass (last layer to
    layer 0). A fault shows first where it enters, so the first failing row is the culprit.
    ``print(report)`` shows the table.

    Attributes
    ----------
    rows : list of Row
    atol, rtol : float or None
        The tolerances of the ``ok`` column (None: atol 0 and the dtype's default rtol,
        1e-10 for float64 and 1e-4 for float32).
    learning_rate : float
        Passed to every reference ``backward``.
    isolate : bool
        Whether each reference layer was fed tensorgrad's values (see :func:`gradients`).
    """

    def __init__(self, rows, *, atol, rtol, learning_rate, isolate, n_layers) -> None:
        self.rows = list(rows)
        self.atol = atol
        self.rtol = rtol
        self.learning_rate = learning_rate
        self.isolate = isolate
        self.n_layers = n_layers

    def _parts(self) -> list:
        return self.rows

    def failures(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> list:
        """The rows outside the tolerance (the report's own when not given), in order."""
        atol = self.atol if atol is None else atol
        rtol = self.rtol if rtol is None else rtol
        return [r for r in self.rows if not r.passes(atol, rtol)]

    @property
    def ok(self) -> bool:
        """True when every row is within the report's tolerance."""
        return not self.failures()

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def assert_close(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> None:
        """Raise unless every quantity agrees: ``max|ref - tg| <= atol + rtol * max|tg|``.

        Parameters
        ----------
        atol, rtol : float, optional
            Default to the report's (themselves defaulting to atol 0 and rtol 1e-10 for
            float64, 1e-4 for float32).

        Raises
        ------
        AssertionError
            Naming the first offender in the order of computation: its layer (index and
            class), the quantity, the index of the worst element, both values there and the
            tolerance; plus how many quantities fail in all.
        """
        atol = self.atol if atol is None else atol
        rtol = self.rtol if rtol is None else rtol
        bad = self.failures(atol, rtol)
        if bad:
            more = (f" {len(bad)} of {len(self.rows)} quantities fail in all; print the report "
                    f"to see them." if len(bad) > 1 else "")
            raise AssertionError(f"compare: {bad[0].describe(atol, rtol)}.{more}")

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"{len(self.failures())} FAIL"
        return (f"<compare.Report: {self.n_layers} layers, {len(self.rows)} quantities, {state}, "
                f"max abs diff {_fmt(self.max_abs)}, max rel diff {_fmt(self.max_rel)}>")

    def __str__(self) -> str:
        mode = ("isolated (each reference layer gets tensorgrad's input and output gradient)"
                if self.isolate else "chained (the reference network runs as one)")
        lines = [
            f"tensorgrad vs reference: {self.n_layers} layers, one sample, "
            f"learning_rate={self.learning_rate:g}, {mode}",
            "abs = max|reference - tensorgrad|, rel = abs / max|tensorgrad|",
            "ok if abs <= atol + rtol * max|tensorgrad| "
            f"({_tol_text(self.atol, self.rtol, self.rows)})",
            "",
        ]
        cells = []
        recovered = False
        prev_phase = None
        for r in self.rows:
            recovered = recovered or r.quantity.endswith("*")
            cells.append([
                r.phase if r.phase != prev_phase else "",
                "" if r.layer is None else str(r.layer),
                r.name, r.quantity, _fmt_shape(r.shape), _fmt(r.max_abs), _fmt(r.max_rel),
                "ok" if r.passes(self.atol, self.rtol) else "FAIL",
            ])
            prev_phase = r.phase
        lines += _table(["pass", "#", "layer", "quantity", "shape", "max abs diff",
                         "max rel diff", "status"], cells, right={1, 5, 6})
        lines.append("")
        if recovered:
            lines.append("* the layer stores no gradient: recovered from its update, "
                         "(p_before - p_after) / learning_rate (with learning_rate 1 on a copy "
                         "when it is 0)")
        bad = self.failures()
        if bad:
            lines.append(f"{len(bad)} of {len(self.rows)} quantities FAIL; the first, in the "
                         f"order they are computed: {bad[0].where}")
        else:
            lines.append(f"all {len(self.rows)} quantities agree: max abs diff "
                         f"{_fmt(self.max_abs)}, max rel diff {_fmt(self.max_rel)}")
        return "\n".join(lines)


def _as_float_input(x, owner: str) -> np.ndarray:
    arr = np.asarray(x.data if isinstance(x, Tensor) else x)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"compare.{owner}: the input must hold real numbers, got dtype "
                        f"{arr.dtype}")
    return arr


def _snapshot(layer, eq) -> dict:
    raw = _unwrap(layer)
    return {attr: np.array(getattr(raw, attr), copy=True) for attr in eq.params.values()}


def _reference_backward(layer, eq, output_gradient, learning_rate):
    """Call the layer's backward; return (input gradient, {attr: (gradient, recovered)})."""
    raw = _unwrap(layer)
    before = _snapshot(layer, eq)
    for gattr in eq.gradients.values():
        if hasattr(raw, gattr):
            setattr(raw, gattr, None)  # so that a stale gradient is never read
    input_gradient = raw.backward(output_gradient, learning_rate)
    param_grads = {}
    probe = None
    for attr, gattr in eq.gradients.items():
        stored = getattr(raw, gattr, None)
        if stored is not None:
            param_grads[attr] = (np.asarray(stored), False)
            continue
        if learning_rate != 0:
            after = np.asarray(getattr(raw, attr))
            param_grads[attr] = ((before[attr] - after) / learning_rate, True)
        else:
            if probe is None:  # the layer made no update: let a copy make one, with step 1
                probe = copy.deepcopy(raw)
                probe.backward(output_gradient, 1.0)
            param_grads[attr] = (before[attr] - np.asarray(getattr(probe, attr)), True)
    return input_gradient, param_grads


def gradients(layers: Sequence[Any], x, y, *, learning_rate: float = 0.0, loss: Loss = BCE,
              isolate: bool = False, atol: Optional[float] = None,
              rtol: Optional[float] = None) -> Report:
    """Run one sample through the reference network and through tensorgrad; compare.

    The tensorgrad network is built over the very same parameter arrays (see
    :func:`engine_model`). The reference network runs the notebook's own loop::

        output = x
        for layer in layers: output = layer.forward(output)
        grad = loss.prime(y, output)
        for layer in reversed(layers): grad = layer.backward(grad, learning_rate)

    and tensorgrad runs its forward pass, the loss and one reverse pass giving the gradient
    of every layer's output, of the input and of every parameter; all of it before the
    reference backward pass, so tensorgrad's gradients are those of the weights the forward
    pass used, even when the reference layers update them. Then every quantity is compared.

    Parameters
    ----------
    layers : sequence of layers
        Reference layers (:mod:`tensorgrad.reference`), :func:`custom` layers, or layers
        whose class is registered with :func:`engine_equivalent`.
    x : array_like
        One sample, unbatched, as the first layer takes it (e.g. ``(1, 28, 28)``). Integer
        data is converted to float64.
    y : array_like
        The target, with the network output's shape (e.g. a one-hot column ``(2, 1)``).
    learning_rate : float, default 0.0
        Passed to every reference ``backward``. With a non-zero rate the layers update their
        parameters, which exposes a backward that computes its input gradient *after* the
        update (tensorgrad's gradients are always those of the weights of the forward pass).
        The layers are then deep-copied first, so the network you pass is never modified.
    loss : Loss, default BCE
        The loss in both conventions.
    isolate : bool, default False
        False: the reference network runs as one chain, so a fault shows in its own row and
        in every row computed after it. True: each reference layer is fed tensorgrad's input
        to that layer and tensorgrad's gradient of its output, so only the faulty layer's
        rows fail.
    atol, rtol : float, optional
        Tolerances of the report's ``ok`` column and of :meth:`Report.assert_close`:
        ``max|ref - tg| <= atol + rtol * max|tg|``; by default atol 0 and rtol 1e-10 for
        float64 (1e-4 for float32).

    Returns
    -------
    Report
        Rows: every layer's output, the loss value and its gradient with respect to the
        network's output, then for every layer (last to first) each parameter's gradient and
        the input gradient.

    Raises
    ------
    TypeError
        A layer with no known tensorgrad expression (see :func:`engine_equivalent`).
    ValueError
        An empty network, or shapes the layers refuse.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import compare, reference as ref
    >>> net = [ref.Convolution((1, 5, 5), 3, 2, rng=0), ref.Sigmoid(),
    ...        ref.Reshape((2, 3, 3), (18, 1)), ref.Dense(18, 2, rng=1), ref.Sigmoid()]
    >>> x = np.random.default_rng(0).random((1, 5, 5))
    >>> report = compare.gradients(net, x, np.array([[1.0], [0.0]]))
    >>> report.max_rel < 1e-12
    True
    >>> [r.quantity for r in report.rows if r.layer == 0]
    ['output', 'kernels grad', 'bias grad', 'input grad']
    """
    layers = _check_layers(layers, "gradients")
    if learning_rate != 0:
        layers = copy.deepcopy(layers)
    equivalents = [_equivalent_of(layer, i) for i, layer in enumerate(layers)]
    model = _build(layers, equivalents, copy_parameters=False)
    x = _as_float_input(x, "gradients")
    target = np.asarray(y)

    # reference forward first: a hand-written layer's own message about a wrong shape is
    # the clearest one (the forward pass updates nothing)
    reference_outputs = []
    h = x
    for layer in layers:
        h = np.array(layer.forward(h), copy=True)
        reference_outputs.append(h)

    # tensorgrad: forward, loss, one reverse pass (all before any reference update)
    x_t = Tensor(x, requires_grad=True)
    outs = model.trace(x_t)
    loss_t = loss.engine(outs[-1], target)
    param_tensors = [list(layer.params.values()) for layer in model.layers]
    wanted = [x_t, *outs, *(t for ts in param_tensors for t in ts)]
    found = _grad(loss_t, wanted, allow_unused=True)
    found = [np.zeros(w.shape, w.dtype) if g is None else g.data for w, g in zip(wanted, found)]
    n = len(layers)
    in_grads = found[:n]  # gradient of the input of layer i
    out_grads = found[1:n + 1]  # gradient of the output of layer i
    flat_param_grads = iter(found[n + 1:])
    engine_param_grads = [{layer.attributes[kw]: next(flat_param_grads) for kw in layer.params}
                          for layer in model.layers]
    engine_inputs = [x] + [o.data.copy() for o in outs[:-1]]
    engine_outputs = [o.data.copy() for o in outs]
    engine_loss = np.asarray(loss_t.data).copy()

    rows = []
    for i, layer in enumerate(layers):
        if isolate:  # run again on tensorgrad's input to this layer (saved for backward)
            reference_outputs[i] = np.array(layer.forward(engine_inputs[i]), copy=True)
        rows.append(_diff("forward", i, _layer_name(layer), "output", reference_outputs[i],
                          engine_outputs[i]))
    prediction = engine_outputs[-1] if isolate else reference_outputs[-1]
    rows.append(_diff("loss", None, loss.name, "value", loss.value(target, prediction),
                      engine_loss))
    g = np.asarray(loss.prime(target, prediction))
    rows.append(_diff("loss", None, loss.name, "output grad", g, out_grads[-1]))

    # reference: backward, last layer first
    for i in reversed(range(n)):
        layer, eq = layers[i], equivalents[i]
        out_grad = out_grads[i] if isolate else g
        g, param_grads = _reference_backward(layer, eq, out_grad, learning_rate)
        for attr, (pg, recovered) in param_grads.items():
            rows.append(_diff("backward", i, _layer_name(layer),
                              f"{attr} grad" + ("*" if recovered else ""), pg,
                              engine_param_grads[i][attr]))
        rows.append(_diff("backward", i, _layer_name(layer), "input grad", g, in_grads[i]))
    return Report(rows, atol=atol, rtol=rtol, learning_rate=learning_rate, isolate=isolate,
                  n_layers=n)


# ---------------------------------------------------------------------------------------------
# Several SGD steps: TrajectoryReport
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepRecord(_Extremes):
    """One SGD step of :func:`trajectories`.

    Attributes
    ----------
    step : int
        1 for the first step.
    sample : int
        Index into ``xs``/``ys`` of the sample used.
    loss_reference, loss_engine : float
        The loss of each side at this step (before its update).
    rows : list of Row
        Each parameter after the update, reference against tensorgrad (``quantity`` is the
        parameter's name).
    """

    step: int
    sample: int
    loss_reference: float
    loss_engine: float
    rows: list

    def _parts(self) -> list:
        return self.rows

    @property
    def worst(self) -> Optional[Row]:
        """The parameter with the largest relative difference."""
        return max(self.rows, key=lambda r: (r.max_rel, r.max_abs), default=None)


class TrajectoryReport(_Extremes):
    """Parameter trajectories of the reference network and of tensorgrad under plain SGD.

    Made by :func:`trajectories`; ``print(report)`` shows one line per step.

    Attributes
    ----------
    steps : list of StepRecord
    learning_rate : float
    atol, rtol : float or None
        Tolerances of the ``ok`` column (None: atol 0, rtol 1e-10 for float64, 1e-4 for
        float32).
    reference : list of layers
        The reference network after the last step (a deep copy of the one passed in).
    model : EngineModel
        The tensorgrad network after the last step (over copies of the initial parameters).
    """

    def __init__(self, steps, *, learning_rate, atol, rtol, n_layers, loss_name,
                 reference=None, model=None) -> None:
        self.reference = reference
        self.model = model
        self.steps = list(steps)
        self.learning_rate = learning_rate
        self.atol = atol
        self.rtol = rtol
        self.n_layers = n_layers
        self.loss_name = loss_name

    def _parts(self) -> list:
        return self.steps

    def first_divergence(self, atol: Optional[float] = None,
                         rtol: Optional[float] = None) -> Optional[Tuple[int, Row]]:
        """``(step, row)`` of the first parameter outside the tolerance, or None."""
        atol = self.atol if atol is None else atol
        rtol = self.rtol if rtol is None else rtol
        for s in self.steps:
            for r in s.rows:
                if not r.passes(atol, rtol):
                    return s.step, r
        return None

    @property
    def ok(self) -> bool:
        """True when the trajectories agree within the report's tolerance at every step."""
        return self.first_divergence() is None

    def assert_close(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> None:
        """Raise unless every parameter agrees after every step.

        Raises
        ------
        AssertionError
            Naming the first step and parameter that diverge, the worst element's index and
            both values.
        """
        atol = self.atol if atol is None else atol
        rtol = self.rtol if rtol is None else rtol
        first = self.first_divergence(atol, rtol)
        if first is not None:
            step, row = first
            raise AssertionError(f"compare: the parameter trajectories diverge at step {step} "
                                 f"of {len(self.steps)}: {row.describe(atol, rtol)}")

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"diverge at step {self.first_divergence()[0]}"
        return (f"<compare.TrajectoryReport: {len(self.steps)} steps, {state}, "
                f"max abs diff {_fmt(self.max_abs)}, max rel diff {_fmt(self.max_rel)}>")

    def __str__(self) -> str:
        lines = [
            f"tensorgrad vs reference: {len(self.steps)} SGD steps, "
            f"learning_rate={self.learning_rate:g}, {self.n_layers} layers, "
            f"loss {self.loss_name}",
            "every parameter compared after each step: abs = max|reference - tensorgrad|, "
            "rel = abs / max|tensorgrad|",
            "ok if abs <= atol + rtol * max|tensorgrad| "
            f"({_tol_text(self.atol, self.rtol, [r for s in self.steps for r in s.rows])})",
            "",
        ]
        cells = []
        for s in self.steps:
            worst = s.worst
            ok = all(r.passes(self.atol, self.rtol) for r in s.rows)
            cells.append([
                str(s.step), str(s.sample), f"{s.loss_reference:.12g}", f"{s.loss_engine:.12g}",
                _fmt(s.max_abs), _fmt(s.max_rel),
                "" if worst is None else f"{worst.layer} {worst.name} {worst.quantity}",
                "ok" if ok else "FAIL",
            ])
        lines += _table(["step", "sample", "loss (reference)", "loss (tensorgrad)",
                         "max abs diff", "max rel diff", "worst parameter", "status"], cells,
                        right={0, 1, 4, 5})
        lines.append("")
        first = self.first_divergence()
        if first is None:
            lines.append(f"the trajectories agree over {len(self.steps)} steps: max abs diff "
                         f"{_fmt(self.max_abs)}, max rel diff {_fmt(self.max_rel)}")
        else:
            step, row = first
            lines.append(f"first divergence at step {step}: {row.describe(self.atol, self.rtol)}")
        return "\n".join(lines)


def trajectories(layers: Sequence[Any], xs, ys, learning_rate: float,
                 steps: Optional[int] = None, *, loss: Loss = BCE,
                 atol: Optional[float] = None, rtol: Optional[float] = None) -> TrajectoryReport:
    """Run plain SGD on the reference network and on tensorgrad; compare the trajectories.

    Both sides start from identical copies of the layers' parameters (the network you pass
    is never modified) and take one step per sample:

    * reference: the notebook's own loop, ``grad = loss.prime(y, output)`` then
      ``grad = layer.backward(grad, learning_rate)`` for each layer, last first;
    * tensorgrad: forward, ``loss.engine(output, y).backward()``, then
      ``p -= learning_rate * p.grad`` for every parameter (under ``no_grad``), gradients
      cleared.

    After each step every parameter of the two sides is compared.

    Parameters
    ----------
    layers : sequence of layers
        As for :func:`gradients`.
    xs, ys : sequence of array_like
        Samples and targets (same length); step ``k`` (from 0) uses sample
        ``k % len(xs)``.
    learning_rate : float
        The SGD step size.
    steps : int, optional
        Number of steps; defaults to ``len(xs)``.
    loss : Loss, default BCE
    atol, rtol : float, optional
        Tolerances as in :func:`gradients`.

    Returns
    -------
    TrajectoryReport

    Raises
    ------
    ValueError
        Empty ``xs``, ``xs`` and ``ys`` of different lengths, or a negative ``steps``.
    TypeError
        A layer with no known tensorgrad expression.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import compare, reference as ref
    >>> net = [ref.Dense(4, 2, rng=0), ref.Sigmoid()]
    >>> rng = np.random.default_rng(0)
    >>> xs = rng.random((3, 4, 1))
    >>> ys = [np.array([[1.0], [0.0]])] * 3
    >>> report = compare.trajectories(net, xs, ys, learning_rate=0.5, steps=6)
    >>> report.ok, len(report.steps)
    (True, 6)
    """
    layers = _check_layers(layers, "trajectories")
    xs, ys = list(xs), list(ys)
    if not xs:
        raise ValueError("compare.trajectories: expected at least one sample, got none")
    if len(xs) != len(ys):
        raise ValueError(f"compare.trajectories: expected as many targets as samples, got "
                         f"{len(xs)} samples and {len(ys)} targets")
    steps = len(xs) if steps is None else int(steps)
    if steps < 0:
        raise ValueError(f"compare.trajectories: steps must be >= 0, got {steps}")

    equivalents = [_equivalent_of(layer, i) for i, layer in enumerate(layers)]
    model = _build(layers, equivalents, copy_parameters=True)
    reference = copy.deepcopy(layers)
    params = model.parameters()
    records = []
    for k in range(steps):
        sample = k % len(xs)
        x = _as_float_input(xs[sample], "trajectories")
        target = np.asarray(ys[sample])

        output = x
        for layer in reference:
            output = layer.forward(output)
        loss_reference = float(loss.value(target, output))
        grad = loss.prime(target, output)
        for layer in reversed(reference):
            grad = layer.backward(grad, learning_rate)

        loss_t = loss.engine(model(x), target)
        loss_t.backward()
        with no_grad():
            for p in params:
                if p.grad is not None:
                    p.data -= learning_rate * p.grad.data
                p.grad = None

        rows = []  # last layer first: the order the backward pass computes them
        for i in reversed(range(len(reference))):
            raw, eng = _unwrap(reference[i]), model.layers[i]
            for kw, t in eng.params.items():
                attr = eng.attributes[kw]
                rows.append(_diff(f"step {k + 1}", i, eng.name, attr, getattr(raw, attr), t))
        records.append(StepRecord(k + 1, sample, loss_reference, float(loss_t.item()), rows))
    return TrajectoryReport(records, learning_rate=learning_rate, atol=atol, rtol=rtol,
                            n_layers=len(layers), loss_name=loss.name, reference=reference,
                            model=model)
