"""PyTorch's ``torch.nn.functional`` vocabulary: ``import tensorgrad.nn.functional as F``.

Most names are tensorgrad's own ops and composites under PyTorch's names (``F.relu`` is
:func:`tensorgrad.relu`, ``F.conv2d`` is :func:`tensorgrad.conv2d`, ...). The functions
defined here are those whose PyTorch signature differs from tensorgrad's (``softmax(input,
dim)``, ``linear(input, weight, bias)``) and the layer computations that have no op of their
own: ``dropout``, ``batch_norm``, ``layer_norm``, ``embedding``, ``pad`` and a few
activations, each a composite of existing ops (no VJP code: the gradients follow from the
ops', and are checked by ``tg.gradcheck`` in the tests).

Randomness (``dropout``) comes from the keyword ``rng=`` (None, an int seed or a
``numpy.random.Generator``), else from the default generator that ``tg.manual_seed`` reseeds.
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np

from .. import ops
from .._random import as_generator
from ..errors import ShapeError
from ..functional import (  # + the losses listed in __all__ below
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from ..functional import log_softmax as _log_softmax
from ..functional import softmax as _softmax
from ..inputs import as_input
from ..ops import (
    avg_pool2d,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    conv2d,
    conv_transpose2d,
    max_pool2d,
    max_unpool2d,
    relu,
    sigmoid,
    tanh,
)
from ..state import no_grad
from ..tensor import Tensor, shape_of

__all__ = [
    # re-exported ops and composites of tensorgrad, PyTorch's names and signatures
    "avg_pool2d", "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d",
    "conv_transpose2d", "cross_entropy", "max_pool2d", "mse_loss", "relu", "sigmoid", "tanh",
    "huber_loss", "kl_div", "l1_loss", "max_unpool2d", "nll_loss", "smooth_l1_loss",
    # defined below
    "batch_norm", "dropout", "elu", "embedding", "layer_norm", "leaky_relu", "linear",
    "log_softmax", "one_hot", "pad", "silu", "softmax", "softplus",
]


# -- PyTorch's signatures over tensorgrad's ops ----------------------------------------------

def _softmax_dim(dim, input, name):
    if dim is not None:
        return dim
    ndim = len(shape_of(input))
    dim = 0 if ndim in (0, 1, 3) else 1
    warnings.warn(f"{name}: implicit dimension choice is deprecated (as in PyTorch); "
                  f"dim={dim} was used for a {ndim}-D input. Pass dim explicitly.",
                  UserWarning, stacklevel=3)
    return dim


def softmax(input, dim=None, dtype=None):  # noqa: A002 - PyTorch's argument names
    """exp(x) / sum(exp(x)) along ``dim``, ``torch.nn.functional.softmax``; computed by
    :func:`tensorgrad.softmax` (stable for logits of any magnitude).

    Parameters
    ----------
    input : Tensor or array, any shape
    dim : int
        Without it, PyTorch's deprecated implicit choice (0 for 0-, 1- and 3-D inputs, else
        1) with a UserWarning.
    dtype : NumPy dtype, optional
        The input is cast to it first (PyTorch's ``dtype=``).

    Returns
    -------
    Tensor, the input's shape. Errors as :func:`tensorgrad.softmax`.
    """
    dim = _softmax_dim(dim, input, "softmax")
    return _softmax(input, axis=dim, dtype=dtype)


def log_softmax(input, dim=None, dtype=None):  # noqa: A002
    """x - logsumexp(x) along ``dim``, ``torch.nn.functional.log_softmax``; computed by
    :func:`tensorgrad.log_softmax`. Arguments as :func:`softmax`."""
    dim = _softmax_dim(dim, input, "log_softmax")
    return _log_softmax(input, axis=dim, dtype=dtype)


def linear(input, weight, bias=None):  # noqa: A002
    """``input @ weight.T + bias``, ``torch.nn.functional.linear``.

    Parameters
    ----------
    input : Tensor, shape ``(..., in_features)``
    weight : Tensor, shape ``(out_features, in_features)``
    bias : Tensor, shape ``(out_features,)``, optional

    Returns
    -------
    Tensor, shape ``(..., out_features)``.

    Raises
    ------
    ShapeError
        Shapes that do not fit (from :func:`tensorgrad.linear`, or for the bias).
    """
    y = ops.linear(input, weight)
    if bias is None:
        return y
    bias = as_input("linear", 2, bias)
    b = shape_of(bias)
    if len(b) > 1 or (b and b[0] != shape_of(y)[-1]):
        raise ShapeError(f"linear: bias must have shape ({shape_of(y)[-1]},) for a weight of "
                         f"shape {shape_of(weight)}, got {b}")
    return y + bias


def _as_tensor(x):
    """``x`` as a Tensor (an array or number wrapped, sharing its data)."""
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _real(value, what, name):
    """A real-number parameter as a float; TypeError naming the function otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name}: {what} must be a real number, got {value!r}")
    return float(value)


# -- activations as composites ---------------------------------------------------------------

def leaky_relu(input, negative_slope=0.01):  # noqa: A002
    """``x`` where x >= 0, ``negative_slope * x`` elsewhere (``torch.nn.functional.leaky_relu``;
    gradient ``negative_slope`` at 0, as PyTorch). Any shape."""
    x = as_input("leaky_relu", 0, input)
    negative_slope = _real(negative_slope, "negative_slope", "leaky_relu")
    return ops.where(ops.greater(x, 0), x, x * negative_slope)


def elu(input, alpha=1.0):  # noqa: A002
    """``x`` where x > 0, ``alpha * (exp(x) - 1)`` elsewhere (``torch.nn.functional.elu``).
    Any shape; exp is taken of min(x, 0) only, so large x does not overflow."""
    x = as_input("elu", 0, input)
    alpha = _real(alpha, "alpha", "elu")
    positive = ops.greater(x, 0)
    negative_part = ops.exp(ops.where(positive, 0.0, x)) - 1
    return ops.where(positive, x, negative_part * alpha)


def silu(input):  # noqa: A002
    """``x * sigmoid(x)`` (``torch.nn.functional.silu``, also called swish). Any shape."""
    x = as_input("silu", 0, input)
    return x * ops.sigmoid(x)


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``
    (``torch.nn.functional.softplus``). Computed as ``max(z, 0) + log1p(exp(-|z|))`` over
    ``beta`` with ``z = beta x`` (each part chosen by ``where``, so the gradient at 0 is 1/2):
    no overflow for any x. Any shape."""
    x = as_input("softplus", 0, input)
    beta, threshold = _real(beta, "beta", "softplus"), _real(threshold, "threshold", "softplus")
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    z = x * beta
    positive = ops.greater(z, 0)
    smooth = (ops.log1p(ops.exp(ops.where(positive, -z, z))) + ops.where(positive, z, 0.0)) / beta
    return ops.where(ops.greater(z, threshold), x, smooth)


# -- dropout ---------------------------------------------------------------------------------

def _probability(p, name):
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, Real) or not 0 <= p <= 1:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def dropout(input, p=0.5, training=True, inplace=False, *, rng=None):  # noqa: A002
    """Inverted dropout, ``torch.nn.functional.dropout``: in training, each element is zeroed
    with probability ``p`` and the others are scaled by ``1 / (1 - p)``, so the expected value
    is unchanged; otherwise the input is returned as is.

    Parameters
    ----------
    input : Tensor or array of floats, any shape
    p : float in [0, 1], default 0.5
        ``p = 1`` gives zeros (and zero gradients), ``p = 0`` the input.
    training : bool, default True
    inplace : bool, default False
        Accepted for PyTorch's signature; the result is always a new Tensor (tensorgrad
        records values, not mutations), the same values PyTorch writes in place.
    rng : None, int or numpy.random.Generator, keyword-only
        Draws the mask (``rng.random(shape) < 1 - p``); None uses the default generator.

    Returns
    -------
    Tensor, the input's shape and dtype: the input itself (an array wrapped in a Tensor)
    when not training or ``p = 0``.

    Raises
    ------
    ValueError
        ``p`` outside [0, 1].
    TypeError
        An input that is not floating point, or an invalid ``rng``.
    """
    p = _probability(p, "dropout")
    x = as_input("dropout", 0, input)
    if not training or p == 0:
        return _as_tensor(x)
    dt = np.result_type(x)
    if dt.kind != "f":
        raise TypeError(f"dropout: input must be floating point, got dtype {dt}")
    gen = as_generator(rng, "dropout")
    shape = shape_of(x)
    if p == 1:
        return ops.multiply(x, np.zeros(shape, dtype=dt))
    return ops.multiply(x, _dropout_scale(gen, shape, p, dt))


def _dropout_scale(gen, shape, p, dtype):
    """Inverted dropout's factors: ``1 / (1 - p)`` where an element is kept
    (``gen.random(shape) < 1 - p``), else 0, as an array of ``dtype``."""
    keep = gen.random(shape) < 1 - p
    return (keep * (1.0 / (1.0 - p))).astype(dtype, copy=False)


# -- normalisation ---------------------------------------------------------------------------

def _write_running(buffer, value, what):
    """``buffer[...] = value`` as a versioned in-place write (a Tensor) or a plain one (an
    ndarray), under no_grad; errors name batch_norm and the buffer."""
    try:
        if isinstance(buffer, Tensor):
            with no_grad():
                buffer.copy_(value)
        else:
            np.copyto(buffer, value, casting="same_kind")
    except (TypeError, ValueError) as e:
        raise type(e)(f"batch_norm: cannot update {what} in place: {e}") from None


def _data(a):
    return a.data if isinstance(a, Tensor) else np.asarray(a)


def _check_channel_vector(name, what, v, c):
    if what.startswith("running") and v is not None and (
            not isinstance(v, (Tensor, np.ndarray)) or v.dtype.kind not in "biuf"):
        raise TypeError(f"{name}: {what} must be a Tensor or ndarray of real numbers, or None; "
                        f"got {type(v).__name__}" + (f" of dtype {v.dtype}" if hasattr(v, "dtype")
                                                     else ""))
    if v is not None and tuple(shape_of(v)) != (c,):
        raise ShapeError(f"{name}: {what} must have shape ({c},) for an input with {c} "
                         f"channels, got {tuple(shape_of(v))}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    r"""Batch normalisation over every axis but the channel axis 1,
    ``torch.nn.functional.batch_norm``.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}}\,\gamma + \beta

    In training the mean and the biased variance of the batch (over axes 0, 2, 3, ...) are
    used, and the running estimates, when given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch`` with the *unbiased* batch
    variance (``n / (n - 1)`` times the biased one, ``n`` the values per channel), as PyTorch.
    Otherwise ``running_mean`` and ``running_var`` are used (constants for the gradient).

    Parameters
    ----------
    input : Tensor, shape ``(N, C, ...)``
    running_mean, running_var : Tensor or ndarray of shape ``(C,)``, or None
        Updated in training through a versioned in-place write; required when not training.
    weight, bias : Tensor of shape ``(C,)``, optional
        :math:`\gamma` and :math:`\beta`.
    training : bool, default False
    momentum : float, default 0.1
    eps : float, default 1e-5

    Returns
    -------
    Tensor, the input's shape.

    Raises
    ------
    ShapeError
        An input with fewer than 2 axes, or statistics/affine vectors not of shape ``(C,)``.
    ValueError
        Training on a single value per channel (PyTorch's "Expected more than 1 value per
        channel when training"), or not training without running statistics.
    """
    x = as_input("batch_norm", 0, input)
    weight = None if weight is None else as_input("batch_norm", 3, weight)
    bias = None if bias is None else as_input("batch_norm", 4, bias)
    momentum, eps = _real(momentum, "momentum", "batch_norm"), _real(eps, "eps", "batch_norm")
    shape = tuple(shape_of(x))
    if len(shape) < 2:
        raise ShapeError(f"batch_norm: expected an input of shape (N, C, ...), got {shape}")
    c = shape[1]
    for what, v in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channel_vector("batch_norm", what, v, c)
    axes = (0, *range(2, len(shape)))
    per_channel = (1, c) + (1,) * (len(shape) - 2)
    if training:
        n = int(np.prod(shape)) // c if c else 0
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {shape}")
        mean, var, y = _standardise(x, axes, eps)
        if running_mean is not None:
            _write_running(running_mean, (1 - momentum) * _data(running_mean)
                           + momentum * mean.data.reshape(c), "running_mean")
        if running_var is not None:
            _write_running(running_var, (1 - momentum) * _data(running_var)
                           + momentum * var.data.reshape(c) * (n / (n - 1)), "running_var")
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are required when not "
                             "training")
        dt = np.result_type(x)
        if dt.kind != "f":  # integers or bools: float64, as their mean in training mode
            dt = np.dtype(np.float64)
        rm = _data(running_mean).astype(dt, copy=False).reshape(per_channel)
        inv = (1.0 / np.sqrt(_data(running_var) + eps)).astype(dt, copy=False).reshape(per_channel)
        y = ops.multiply(ops.subtract(x, rm), inv)
    if weight is not None:
        y = y * ops.reshape(weight, shape=per_channel)
    if bias is not None:
        y = y + ops.reshape(bias, shape=per_channel)
    return y


def _standardise(x, axes, eps):
    """``(mean, var, (x - mean) / sqrt(var + eps))`` over ``axes`` (kept, size 1), the
    variance biased: batch_norm's and layer_norm's normalisation."""
    mean = ops.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    var = ops.mean(centred * centred, axis=axes, keepdims=True)
    return mean, var, centred * ops.power(var + eps, -0.5)  # one small power, one large product


def _normalized_shape(normalized_shape, name):
    if isinstance(normalized_shape, Integral) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    try:
        shape = tuple(normalized_shape)
    except TypeError:
        raise TypeError(f"{name}: normalized_shape must be an int or a tuple of ints, got "
                        f"{normalized_shape!r}") from None
    if not shape or any(isinstance(v, bool) or not isinstance(v, Integral) or v < 1 for v in shape):
        raise ValueError(f"{name}: normalized_shape must be a non-empty tuple of positive ints, "
                         f"got {normalized_shape!r}")
    return tuple(int(v) for v in shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    r"""Layer normalisation over the trailing ``normalized_shape`` axes,
    ``torch.nn.functional.layer_norm``: ``(x - mean) / sqrt(var + eps) * weight + bias``, the
    mean and the biased variance taken over those axes of each sample.

    Parameters
    ----------
    input : Tensor, shape ``(*, *normalized_shape)``
    normalized_shape : int or tuple of int
    weight, bias : Tensor of shape ``normalized_shape``, optional
    eps : float, default 1e-5

    Returns
    -------
    Tensor, the input's shape.

    Raises
    ------
    ShapeError
        The input's trailing shape, or the weight's or bias's shape, is not
        ``normalized_shape``.
    """
    norm = _normalized_shape(normalized_shape, "layer_norm")
    x = as_input("layer_norm", 0, input)
    weight = None if weight is None else as_input("layer_norm", 2, weight)
    bias = None if bias is None else as_input("layer_norm", 3, bias)
    eps = _real(eps, "eps", "layer_norm")
    shape = tuple(shape_of(x))
    k = len(norm)
    if shape[len(shape) - k:] != norm or len(shape) < k:
        raise ShapeError(f"layer_norm: normalized_shape={norm} expects an input of shape "
                         f"(*, {', '.join(map(str, norm))}), got {shape}")
    for what, v in (("weight", weight), ("bias", bias)):
        if v is not None and tuple(shape_of(v)) != norm:
            raise ShapeError(f"layer_norm: {what} must have shape {norm}, got "
                             f"{tuple(shape_of(v))}")
    _, _, y = _standardise(x, tuple(range(len(shape) - k, len(shape))), eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


# -- embedding and one-hot -------------------------------------------------------------------

def _indices(input, name):
    idx = _data(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: input must hold integer indices, got dtype {idx.dtype}")
    return idx


def embedding(input, weight, padding_idx=None):  # noqa: A002
    """Rows of ``weight`` picked by the integer indices ``input``,
    ``torch.nn.functional.embedding``: ``out[..., :] = weight[input[...], :]``.

    The gradient of a row is the sum of the output gradients of every position that picked
    it; the row ``padding_idx``, when given, receives no gradient (its values are still
    returned, as PyTorch).

    Parameters
    ----------
    input : Tensor or array of ints, any shape
    weight : Tensor, shape ``(num_embeddings, embedding_dim)``
    padding_idx : int, optional
        In ``[-num_embeddings, num_embeddings)``; a negative one counts from the end.

    Returns
    -------
    Tensor, shape ``input.shape + (embedding_dim,)``.

    Raises
    ------
    TypeError
        Non-integer indices.
    IndexError
        An index outside ``[0, num_embeddings)`` (PyTorch's "index out of range").
    ShapeError
        A weight that is not 2-D.
    ValueError
        ``padding_idx`` out of range.
    """
    idx = _indices(input, "embedding")
    w = as_input("embedding", 1, weight)
    wshape = tuple(shape_of(w))
    if len(wshape) != 2:
        raise ShapeError(f"embedding: weight must have shape (num_embeddings, embedding_dim), "
                         f"got {wshape}")
    num = wshape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError(f"embedding: index out of range: indices must lie in [0, {num}) for a "
                         f"weight with {num} rows, got values from {idx.min()} to {idx.max()}")
    out = ops.getitem(w, index=idx)
    if padding_idx is None:
        return out
    pad = _padding_idx(padding_idx, num, "embedding")
    is_pad = idx == pad
    if not is_pad.any():
        return out
    return ops.where(~is_pad[..., None], out, _data(w)[idx])


def _padding_idx(padding_idx, num, name):
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, Integral) \
            or not -num <= padding_idx < num:
        raise ValueError(f"{name}: padding_idx must be an int in [-{num}, {num}) (num_embeddings "
                         f"{num}), got {padding_idx!r}")
    return int(padding_idx) % num


def one_hot(tensor, num_classes=-1):
    """One-hot encoding of integer class indices, ``torch.nn.functional.one_hot``.

    Parameters
    ----------
    tensor : Tensor or array of non-negative ints, any shape
    num_classes : int, default -1
        -1 means ``max(tensor) + 1``.

    Returns
    -------
    Tensor of int64 (no gradient), shape ``tensor.shape + (num_classes,)``.

    Raises
    ------
    TypeError
        Non-integer indices.
    ValueError
        Negative indices, or indices >= ``num_classes``.
    """
    idx = _indices(tensor, "one_hot")
    if isinstance(num_classes, bool) or not isinstance(num_classes, Integral) or num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be -1 or a non-negative int, got "
                         f"{num_classes!r}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {idx.min()}")
    if num_classes == -1:
        if not idx.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor")
        num_classes = int(idx.max()) + 1
    if idx.size and idx.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes "
                         f"({num_classes}), got {idx.max()}")
    return Tensor((idx[..., None] == np.arange(num_classes)).astype(np.int64))


# -- padding ---------------------------------------------------------------------------------

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_index(n, left, right, mode):
    """Indices into an axis of length ``n`` that make it ``left + n + right`` long."""
    i = np.arange(-left, n + right)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...
    i = np.abs(i) % period if period else np.zeros_like(i)
    return np.where(i >= n, period - i, i)


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Pad (or, with negative sizes, crop) the last axes, ``torch.nn.functional.pad``.

    Parameters
    ----------
    input : Tensor, any shape
    pad : sequence of ints, even length ``2k <= 2 * input.ndim``
        ``(left_last, right_last, left_second_last, right_second_last, ...)``, PyTorch's
        order (the last axis first).
    mode : {"constant", "reflect", "replicate", "circular"}
        ``constant`` fills with ``value`` (default 0) and accepts negative sizes (cropping);
        the others repeat the input's own values (``reflect`` without repeating the edge,
        needing sizes < the axis length; ``circular`` sizes <= the axis length); their
        gradients add up where a value was used several times.
    value : float, optional
        The fill value of ``constant`` mode only.

    Returns
    -------
    Tensor with ``shape[d] + left_d + right_d`` along each padded axis.

    Raises
    ------
    ValueError
        An odd-length or too long ``pad``, an unknown mode, ``value`` with another mode,
        negative sizes with another mode, sizes too large for reflect/circular, or a result
        with a negative size.
    """
    x = as_input("pad", 0, input)
    shape = tuple(shape_of(x))
    try:
        sizes = [int(v) for v in pad]
        bad = any(isinstance(v, bool) or not isinstance(v, Integral) for v in pad)
    except TypeError:
        bad = True
    if bad or len(sizes) % 2 or len(sizes) > 2 * len(shape):
        raise ValueError(f"pad: pad must be a sequence of ints of even length at most "
                         f"2 * ndim = {2 * len(shape)}, got {pad!r} for an input of shape {shape}")
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    if value is not None and mode != "constant":
        raise ValueError(f"pad: value is only used by mode='constant', got value={value!r} with "
                         f"mode={mode!r}")
    if value is not None:
        value = _real(value, "value", "pad")
    for j in range(len(sizes) // 2):
        axis = len(shape) - 1 - j
        left, right = sizes[2 * j], sizes[2 * j + 1]
        n = shape_of(x)[axis]
        if n + left + right < 0:
            raise ValueError(f"pad: padding ({left}, {right}) of axis {axis} (length {n}) gives "
                             "a negative size")
        if mode == "constant":
            x = _pad_constant(x, axis, left, right, 0.0 if value is None else value)
            continue
        if left < 0 or right < 0:
            raise ValueError(f"pad: negative padding is only supported by mode='constant', got "
                             f"{pad!r} with mode={mode!r}")
        limit = n - 1 if mode == "reflect" else n
        if max(left, right) > limit or n == 0:
            raise ValueError(f"pad: {mode} padding ({left}, {right}) of axis {axis} must be at "
                             f"most {limit} for an axis of length {n}")
        index = (slice(None),) * axis + (_pad_index(n, left, right, mode),)
        x = ops.getitem(x, index=index)
    return _as_tensor(x)


def _pad_constant(x, axis, left, right, value):
    shape = list(shape_of(x))
    n = shape[axis]
    if left < 0 or right < 0:
        crop = (slice(None),) * axis + (slice(max(-left, 0), n - max(-right, 0)),)
        x = ops.getitem(x, index=crop)
        left, right = max(left, 0), max(right, 0)
    if not left and not right:
        return x
    dt = np.result_type(x)
    parts = []
    for size in (left, right):
        shape[axis] = size
        parts.append(np.full(shape, value, dtype=dt) if size else None)
    seq = [p for p in (parts[0], x, parts[1]) if p is not None]
    return ops.concatenate(seq, axis=axis)
