"""Composite ops built only from primitives: no VJP code here, gradients come for free.

Softmax and the losses that exist only in PyTorch, with PyTorch's signatures and formulas
(including its deprecated ``size_average``/``reduce`` flags, see
:func:`tensorgrad.ops.loss.legacy_reduction`). Weights are constants, as in PyTorch.

The layer above :mod:`tensorgrad.ops`; the package exports ``__all__`` from here as well."""
import numpy as np

from .errors import ShapeError
from .inputs import as_input
from .ops.conv import is_int
from .ops.elementwise import abs, cast, divide, exp, log, multiply, negative, where
from .ops.loss import constant_weight, legacy_reduction, reduce_loss, same_shape
from .ops.reduce import logsumexp, sum
from .ops.shape import getitem
from .tensor import Tensor, shape_of

__all__ = ["cross_entropy", "huber_loss", "kl_div", "l1_loss", "log_softmax", "mse_loss",
           "nll_loss", "smooth_l1_loss", "softmax"]

# ----------------------------------------------------------------------------------------
# softmax and log_softmax
# ----------------------------------------------------------------------------------------


def log_softmax(x, axis=-1, dtype=None):
    """log(softmax(x)) = (x - m) - logsumexp(x - m) along ``axis``, with m the maximum taken
    as a constant (the result does not depend on it): stable for logits of any magnitude and
    accurate in float32 at |x| of 1e4 (PyTorch's ``log_softmax``). Same shape as x.

    A 0-d x takes axis 0 or -1 (result 0, as PyTorch); a zero-length axis gives an empty
    result. Integer and bool inputs are promoted to float64 (SciPy's ``softmax``). With
    ``dtype`` (a floating dtype) x is cast to it first and the computation runs in it
    (PyTorch's ``dtype=``); the gradient is cast back to x's dtype.

    Raises ShapeError for an axis out of range, TypeError for an axis that is not an int, a
    dtype that is not a floating dtype or an input that is not an array of real numbers."""
    return _log_softmax(as_input("log_softmax", 0, x), axis, dtype, "log_softmax")


def _log_softmax(x, axis, dtype, name):
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")
    if dtype is not None:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
        if dt is None or dt.kind != "f":
            raise TypeError(f"{name}: dtype must be None or a floating NumPy dtype (float16, "
                            f"float32, float64), got {dtype!r}")
        x = cast(x, dtype=dt)
    elif np.result_type(x).kind in "biu":  # SciPy's softmax promotes to float64
        x = cast(x, dtype=np.dtype(np.float64))
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not -max(data.ndim, 1) <= axis < max(data.ndim, 1):
        raise ShapeError(f"{name}: axis {axis} is out of range for an input of shape "
                         f"{data.shape}")
    m = np.max(data, axis=axis, keepdims=True) if data.size else 0
    shifted = x - np.where(np.isfinite(m), m, 0).astype(data.dtype, copy=False)
    return shifted - logsumexp(shifted, axis=axis, keepdims=True)


def softmax(x, axis=-1, dtype=None):
    """exp(x) / sum(exp(x)) along ``axis``, computed as exp(log_softmax(x)): no overflow for
    logits of magnitude 1000 (PyTorch's ``softmax``). Same shape as x; sums to 1 on ``axis``
    (a 0-d x gives 1; a zero-length axis an empty result). ``dtype``, dtypes and errors as
    :func:`log_softmax`."""
    return exp(_log_softmax(as_input("softmax", 0, x), axis, dtype, "softmax"))


# ----------------------------------------------------------------------------------------
# Regression losses: elementwise on input - target
# ----------------------------------------------------------------------------------------


def _pair_inputs(op, input, target, size_average, reduce, reduction):  # noqa: A002
    """(input, target, reduction) of an elementwise loss: checked, of one shape. A str in
    ``size_average``'s place is the reduction (tensorgrad's earlier positional order)."""
    if isinstance(size_average, str):
        size_average, reduction = None, size_average
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    input, target = as_input(op, 0, input), as_input(op, 1, target)
    same_shape(op, input, target)
    return input, target, reduction


def _number(op, name, value, positive):
    """A real number > 0 (``positive``) or >= 0, as a float; ValueError naming op otherwise."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)) and np.isfinite(value)
    if not ok or value < 0 or positive and value == 0:
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{op}: {name} must be a finite number {bound}, got {value!r}")
    return float(value)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """Mean squared error (input - target)², PyTorch's ``mse_loss``.

    input and target share one shape (ShapeError otherwise); ``reduction`` is one of
    "mean", "sum", "none" (``size_average``/``reduce``: PyTorch's deprecated flags)."""
    input, target, reduction = _pair_inputs("mse_loss", input, target, size_average, reduce,
                                            reduction)
    diff = input - target
    return reduce_loss(diff * diff, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """Mean absolute error |input - target|, PyTorch's ``l1_loss``.

    The gradient at input == target is 0 (sign(0), as PyTorch). Shapes and ``reduction`` as
    :func:`mse_loss`.

    Examples
    --------
    >>> tg.l1_loss(tg.tensor([1.0, -2.0]), [0.0, 0.0])
    tensor(1.5, dtype=float64)
    """
    input, target, reduction = _pair_inputs("l1_loss", input, target, size_average, reduce,
                                            reduction)
    return reduce_loss(abs(input - target), reduction)


def _smooth(d, threshold, quadratic_scale, linear_scale):
    """``quadratic_scale·d²/2`` where |d| < threshold, else ``linear_scale·(|d| -
    threshold/2)``: continuous with a continuous derivative at |d| = threshold."""
    ad = abs(d)
    small = (ad.data if isinstance(ad, Tensor) else np.asarray(ad)) < threshold
    return where(small, (0.5 * quadratic_scale) * (d * d), linear_scale * (ad - 0.5 * threshold))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
                   beta=1.0):
    """Smooth L1 loss, PyTorch's ``smooth_l1_loss``: with d = input - target,
    ``0.5·d²/beta`` where |d| < beta, else ``|d| - 0.5·beta``; ``beta = 0`` is
    :func:`l1_loss`. Shapes and ``reduction`` as :func:`mse_loss`.

    Raises ValueError for a negative or non-finite beta.

    Examples
    --------
    >>> tg.smooth_l1_loss(tg.tensor([0.5, 3.0]), [0.0, 0.0], reduction="none")
    tensor([0.125, 2.5  ], dtype=float64)
    """
    op = "smooth_l1_loss"
    beta = _number(op, "beta", beta, positive=False)
    input, target, reduction = _pair_inputs(op, input, target, size_average, reduce, reduction)
    d = input - target
    loss = abs(d) if beta == 0 else _smooth(d, beta, 1.0 / beta, 1.0)
    return reduce_loss(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    """Huber loss, PyTorch's ``huber_loss``: with d = input - target, ``0.5·d²`` where
    |d| < delta, else ``delta·(|d| - 0.5·delta)`` (delta times :func:`smooth_l1_loss` with
    beta = delta). Shapes and ``reduction`` as :func:`mse_loss`.

    Raises ValueError for a delta that is not a finite number > 0.

    Examples
    --------
    >>> tg.huber_loss(tg.tensor([0.5, 3.0]), [0.0, 0.0], reduction="none", delta=2.0)
    tensor([0.125, 4.   ], dtype=float64)
    """
    op = "huber_loss"
    delta = _number(op, "delta", delta, positive=True)
    input, target, reduction = _pair_inputs(op, input, target, None, None, reduction)
    return reduce_loss(_smooth(input - target, delta, 1.0, delta), reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
           log_target=False):
    """Kullback-Leibler divergence with log-probabilities as input, PyTorch's ``kl_div``.

    Elementwise ``target·(log(target) - input)`` (0 where target = 0, NaN where it is
    negative, as PyTorch's ``xlogy``), or with ``log_target=True``
    ``exp(target)·(target - input)``.

    Parameters
    ----------
    input : Tensor
        Log-probabilities.
    target : Tensor or array of the same shape
        Probabilities (log-probabilities with ``log_target``); may require grad.
    size_average, reduce : bool, optional
        PyTorch's deprecated flags; prefer ``reduction``.
    reduction : {"mean", "batchmean", "sum", "none"}
        "mean" averages over every element (PyTorch's default, which is not the KL
        divergence); "batchmean" divides the sum by the batch size ``input.shape[0]`` (the
        sum for a 0-d input), the KL divergence per sample.
    log_target : bool

    Returns
    -------
    Tensor: a scalar, or the elementwise terms for ``"none"``.

    Raises
    ------
    ShapeError if the shapes differ; ValueError for an unknown reduction; TypeError for a
    log_target that is not a bool.

    Examples
    --------
    >>> p = np.array([[0.5, 0.5]])
    >>> tg.kl_div(np.log([[0.25, 0.75]]), p, reduction="batchmean")
    tensor(0.14384104, dtype=float64)
    """
    op = "kl_div"
    if not isinstance(log_target, (bool, np.bool_)):
        raise TypeError(f"{op}: log_target must be True or False, got {log_target!r}")
    reduction = legacy_reduction(op, size_average, reduce, reduction,
                                 ("mean", "batchmean", "sum", "none"))
    input, target, _ = _pair_inputs(op, input, target, None, None, "none")
    if log_target:
        loss = exp(target) * (target - input)
    else:
        t = target.data if isinstance(target, Tensor) else np.asarray(target)
        positive = t > 0
        # xlogy(t, t): 0 at t = 0, NaN for a negative (or NaN) target, no log of either
        fill = np.where(t == 0, 0, np.nan).astype(np.result_type(t, np.float16))
        t_log_t = where(positive, target * log(where(positive, target, 1)), fill)
        loss = t_log_t - target * input
    if reduction != "batchmean":
        return reduce_loss(loss, reduction)
    total = sum(loss)
    batch = shape_of(input)[0] if shape_of(input) else 1
    return multiply(total, np.nan) if batch == 0 else divide(total, batch)


# ----------------------------------------------------------------------------------------
# Classification losses: nll_loss and cross_entropy
# ----------------------------------------------------------------------------------------


def _class_targets(op, shape, target, ignore_index):
    """Class-index ``target`` for an input of ``shape`` (C,) or (N, C, d1, ...), checked: the
    indices as an ndarray of target's shape (), (N,) or (N, d1, ...). Errors name ``op``."""
    if not is_int(ignore_index):
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    if t.dtype.kind not in "iu":
        raise ValueError(f"{op}: target must hold integer class indices (or, for "
                         f"cross_entropy, class probabilities of the input's shape), got "
                         f"dtype {t.dtype} and shape {t.shape} for input of shape {shape}")
    want = () if len(shape) == 1 else shape[:1] + shape[2:]
    if len(shape) == 0 or t.shape != want:
        raise ShapeError(f"{op}: expected input (N, C), (N, C, d1, ...) or (C,) and target "
                         f"(N,), (N, d1, ...) or () of class indices, got {shape} and "
                         f"{t.shape}")
    valid = t != ignore_index
    classes = shape[0] if len(shape) == 1 else shape[1]
    chosen = t[valid]
    if chosen.size and (chosen.min() < 0 or chosen.max() >= classes):
        raise ValueError(f"{op}: target classes must lie in [0, {classes}) or equal "
                         f"ignore_index ({ignore_index}), got values from {chosen.min()} "
                         f"to {chosen.max()}")
    return t


def _class_weight(op, weight, shape, dtype):
    """The per-class ``weight`` (C,) as an ndarray of ``dtype``, or None."""
    classes = shape[0] if len(shape) == 1 else shape[1] if len(shape) > 1 else 0
    return constant_weight(op, "weight", weight, (classes,), dtype, exact=True)


def _along_classes(w, ndim):
    """Per-class weights (C,) shaped to broadcast along axis 1 of an ndim-D input."""
    return w if ndim <= 1 else w.reshape((-1,) + (1,) * (ndim - 2))


def _class_index(t, ignore_index, ndim):
    """``(index, valid)``: the index that picks each target's class from log-probabilities
    of ``ndim`` dimensions (class 0 where the target is ``ignore_index``), and where it is
    not ``ignore_index``. For ``ndim`` 1 the index is an int, else a tuple of index arrays
    (the sample grids and the classes)."""
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    if ndim == 1:
        return int(safe), valid
    grids = np.indices(t.shape, sparse=True)
    return (grids[0], safe) + tuple(grids[1:]), valid


def _nll_terms(logp, t, ignore_index, w, label_smoothing):
    """Per-target losses of log-probabilities ``logp`` (C,) or (N, C, ...) at class indices
    ``t`` (0 where ``ignore_index``), with PyTorch's label smoothing, and the sum of the
    weights that the mean divides by."""
    ndim = len(shape_of(logp))
    index, valid = _class_index(t, ignore_index, ndim)
    safe = index if ndim == 1 else index[1]
    picked = getitem(logp, index=index)
    every = bool(np.all(valid))
    if every and w is None:  # the common case: -logp[t], the mean over the targets
        loss, total = negative(picked), float(valid.size)
    else:
        weights = valid if w is None else np.where(valid, w[safe], 0)
        weights = weights.astype(logp.dtype)
        loss = negative(multiply(picked if every else where(valid, picked, 0), weights))
        total = float(np.sum(weights))
    if label_smoothing:
        classes = shape_of(logp)[0 if ndim == 1 else 1]
        scaled = logp if w is None else multiply(logp, _along_classes(w, ndim))
        smooth = negative(sum(scaled, axis=0 if ndim == 1 else 1))
        smooth = smooth if every else where(valid, smooth, 0)
        loss = (1 - label_smoothing) * loss + (label_smoothing / classes) * smooth
    return loss, total


def _weighted_mean(loss, total):
    """sum(loss) / total, NaN when total is 0 (every target ignored), as PyTorch."""
    return multiply(sum(loss), np.nan) if total == 0 else divide(sum(loss), total)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
             reduce=None, reduction="mean"):
    """Negative log-likelihood of class indices (PyTorch's ``nll_loss``).

    ``loss[n, d...] = -w[t]·input[n, t, d...]`` with ``t = target[n, d...]``, and 0 where
    ``t == ignore_index``.

    Parameters
    ----------
    input : Tensor, shape (N, C), (N, C, d1, ...) or (C,)
        Log-probabilities (e.g. :func:`log_softmax` along axis 1).
    target : Tensor or array of ints, shape (N,), (N, d1, ...) or ()
        Class indices in [0, C), or ``ignore_index``.
    weight : Tensor or array, shape (C,), optional
        Per-class weights; a constant (no gradient, as in PyTorch).
    size_average, reduce : bool, optional
        PyTorch's deprecated flags; prefer ``reduction``.
    ignore_index : int
        Targets equal to it contribute nothing, to the sum or to the mean's divisor.
    reduction : {"mean", "sum", "none"}
        "mean" divides the sum by the summed weights ``Σ w[t]`` of the targets not ignored:
        NaN when every target is ignored, as in PyTorch.

    Returns
    -------
    Tensor: a scalar, or the losses of target's shape for ``"none"``.

    Raises
    ------
    ShapeError for shapes other than these, or a weight not of shape (C,); ValueError for
    classes outside [0, C), a target that is not integers or an unknown reduction;
    TypeError for an ignore_index that is not an int.

    Examples
    --------
    >>> logp = np.log([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]])
    >>> tg.nll_loss(logp, np.array([0, -100]))
    tensor(0.69314718, dtype=float64)
    """
    op = "nll_loss"
    if isinstance(weight, str):  # a reduction in weight's place: say where it goes
        raise TypeError(f"{op}: the third argument is weight (PyTorch's order); pass "
                        f"reduction={weight!r} by keyword")
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    input = as_input(op, 0, input)
    if np.result_type(input).kind != "f":
        input = cast(input, dtype=np.dtype(np.float64))
    shape = shape_of(input)
    t = _class_targets(op, shape, target, ignore_index)
    w = _class_weight(op, weight, shape, input.dtype)
    loss, total = _nll_terms(input, t, ignore_index, w, 0.0)
    return _weighted_mean(loss, total) if reduction == "mean" else reduce_loss(loss, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy (PyTorch's ``cross_entropy``), with class indices or class
    probabilities as targets.

    With class indices, :func:`nll_loss` of ``log_softmax(input, axis=1)`` (axis 0 for a
    (C,) input); with ``label_smoothing`` = ε each target becomes the mixture of its class
    (weight 1 - ε) and the uniform distribution (ε / C):
    ``(1 - ε)·nll + (ε / C)·Σ_c -w[c]·logp[c]``, the mean dividing both by the same summed
    weights. With probabilities p (a float target of the input's shape):
    ``-Σ_c w[c]·p'[c]·logp[c]``, ``p' = (1 - ε)·p + ε / C``, the mean dividing by the number
    of samples (N·d1·...), as PyTorch does; the target then receives a gradient too.

    Parameters
    ----------
    input : Tensor, shape (N, C), (N, C, d1, ...) or (C,)
        Logits; stable for magnitudes of 1000 (via :func:`log_softmax`).
    target : Tensor or array
        Class indices (ints) of shape (N,), (N, d1, ...) or (), values in [0, C) or
        ``ignore_index``; or class probabilities (floats) of the input's shape.
    weight : Tensor or array, shape (C,), optional
        Per-class weights; a constant.
    size_average, reduce : bool, optional
        PyTorch's deprecated flags; prefer ``reduction``.
    ignore_index : int
        Class-index targets equal to it contribute nothing (see :func:`nll_loss`).
    reduction : {"mean", "sum", "none"}
    label_smoothing : float in [0, 1]

    Returns
    -------
    Tensor: a scalar, or per-sample losses (target's shape without the class axis) for
    ``"none"``.

    Raises
    ------
    ShapeError for other shapes; ValueError for classes outside [0, C), integer targets of
    the input's shape, an unknown reduction or a label_smoothing outside [0, 1]; TypeError
    for an ignore_index that is not an int.

    Examples
    --------
    >>> logits = np.array([[2.0, 0.0, 0.0]])
    >>> tg.cross_entropy(logits, np.array([0]), label_smoothing=0.3)
    tensor(0.63954477, dtype=float64)
    """
    op = "cross_entropy"
    if isinstance(weight, str):  # tensorgrad's earlier (input, target, reduction) order
        weight, reduction = None, weight
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    smoothing = _number(op, "label_smoothing", label_smoothing, positive=False)
    if smoothing > 1:
        raise ValueError(f"{op}: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    input = as_input(op, 0, input)
    shape = shape_of(input)
    if len(shape) == 0:
        raise ShapeError(f"{op}: expected input (N, C), (N, C, d1, ...) or (C,), got a 0-d "
                         "input")
    axis = 0 if len(shape) == 1 else 1
    logp = _log_softmax(input, axis, None, op)
    w = _class_weight(op, weight, shape, logp.dtype)
    target = as_input(op, 1, target)
    if shape_of(target) == shape and np.result_type(
            target.data if isinstance(target, Tensor) else target).kind == "f":
        return _probability_cross_entropy(logp, target, w, smoothing, reduction, axis)
    t = _class_targets(op, shape, target, ignore_index)
    loss, total = _nll_terms(logp, t, ignore_index, w, smoothing)
    return _weighted_mean(loss, total) if reduction == "mean" else reduce_loss(loss, reduction)


def _probability_cross_entropy(logp, p, w, smoothing, reduction, axis):
    shape = shape_of(logp)
    if smoothing:
        p = p * (1 - smoothing) + smoothing / shape[axis]
    terms = multiply(logp, p)
    if w is not None:
        terms = multiply(terms, _along_classes(w, len(shape)))
    loss = negative(sum(terms, axis=axis))
    if reduction != "mean":
        return reduce_loss(loss, reduction)
    samples = int(np.prod(shape)) // shape[axis] if shape[axis] else 0
    return multiply(sum(loss), np.nan) if samples == 0 else divide(sum(loss), samples)
