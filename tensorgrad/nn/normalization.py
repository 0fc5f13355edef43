"""Normalisation layers with PyTorch's semantics: ``BatchNorm1d``, ``BatchNorm2d`` (running
statistics kept as buffers) and ``LayerNorm``; computed by the composites of
:mod:`tensorgrad.nn.functional`."""
from __future__ import annotations

from numbers import Real

import numpy as np

from ..errors import ShapeError
from ..state import no_grad
from ..tensor import Tensor, shape_of
from ._utils import float_dtype, positive_int
from .functional import _normalized_shape, batch_norm, layer_norm
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


def _eps(eps, owner):
    if isinstance(eps, bool) or not isinstance(eps, Real) or not eps >= 0:
        raise ValueError(f"{owner}: eps must be a non-negative number, got {eps!r}")
    return float(eps)


class _BatchNorm(Module):
    _ndims: tuple[int, ...] = ()
    _expected = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", name)
        self.eps = _eps(eps, name)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, Real)
                                     or not 0 <= momentum <= 1):
            raise ValueError(f"{name}: momentum must be a number in [0, 1] or None, got "
                             f"{momentum!r}")
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dtype = float_dtype(dtype, name)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype=dtype))
            self.bias = Parameter(np.zeros(c, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(c, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(c, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            for b in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(b, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, ``num_batches_tracked`` 0 (in place)."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def forward(self, x):
        """Normalise ``x`` with the batch's statistics (training, or no running statistics)
        or the running ones (eval mode); update the running ones in training."""
        name = type(self).__name__
        s = tuple(shape_of(x))
        if len(s) not in self._ndims:
            raise ShapeError(f"{name}: expected {self._expected} input (got {len(s)}D input of "
                             f"shape {s})")
        if s[1] != self.num_features:
            raise ShapeError(f"{name}: expected {self.num_features} channels on axis 1 "
                             f"(num_features), got input of shape {s}")
        tracking = self.training and self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if tracking and self.momentum is None:  # cumulative moving average
            factor = 1.0 / (int(self.num_batches_tracked.data) + 1)
        use_batch_stats = self.training or self.running_mean is None
        try:
            y = batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                           use_batch_stats, factor, self.eps)
        except ValueError as e:
            raise type(e)(f"{name}: {e}") from None
        if tracking:
            with no_grad():
                self.num_batches_tracked.add_(1)
        return y

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


_BATCH_NORM_DOC = r"""Batch normalisation, ``torch.nn.{name}``, over {what}.

    .. math:: y = \frac{{x - \mathrm{{E}}[x]}}{{\sqrt{{\mathrm{{Var}}[x] + \epsilon}}}}\,\gamma + \beta

    In training mode the mean and the biased variance are those of the batch, per channel
    (axis 1), and the running estimates are updated:
    ``running = (1 - momentum) * running + momentum * batch``, with the unbiased variance
    (PyTorch's rule); ``num_batches_tracked`` counts the updates. In eval mode (``.eval()``)
    the running estimates are used, unless ``track_running_stats=False``, where the batch's
    statistics are always used. Computed by :func:`tensorgrad.nn.functional.batch_norm`.

    Parameters
    ----------
    num_features : int
        ``C``, the channels.
    eps : float, default 1e-5
    momentum : float or None, default 0.1
        None gives the cumulative average, ``1 / num_batches_tracked``.
    affine : bool, default True
        Learn ``weight`` (:math:`\gamma`, ones) and ``bias`` (:math:`\beta`, zeros).
    track_running_stats : bool, default True
        Keep the buffers ``running_mean`` (zeros), ``running_var`` (ones) and
        ``num_batches_tracked`` (int64 0); they are in ``state_dict()``.
    dtype : floating dtype, keyword-only
        Default ``tg.get_default_dtype()``.

    Shapes
    ------
    {shapes}

    Raises
    ------
    ValueError
        Bad sizes, ``eps`` or ``momentum``; in ``forward``, a training batch with a single
        value per channel.
    ShapeError (a ValueError)
        In ``forward``, an input of another number of axes or channels.
    """


class BatchNorm1d(_BatchNorm):
    _ndims = (2, 3)
    _expected = "2D or 3D"
    __doc__ = _BATCH_NORM_DOC.format(
        name="BatchNorm1d", what="``(N, C)`` or ``(N, C, L)`` inputs",
        shapes="``(N, C)`` or ``(N, C, L)`` -> the same shape.")


class BatchNorm2d(_BatchNorm):
    _ndims = (4,)
    _expected = "4D"
    __doc__ = _BATCH_NORM_DOC.format(
        name="BatchNorm2d", what="``(N, C, H, W)`` images",
        shapes="``(N, C, H, W)`` -> the same shape; statistics over N, H and W.")


class LayerNorm(Module):
    r"""Layer normalisation over the trailing ``normalized_shape`` axes of each sample,
    ``torch.nn.LayerNorm``: ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased
    variance; the same in training and eval mode. Computed by
    :func:`tensorgrad.nn.functional.layer_norm`.

    Parameters
    ----------
    normalized_shape : int or tuple of int
    eps : float, default 1e-5
    elementwise_affine : bool, default True
        Learn ``weight`` (ones) and ``bias`` (zeros), both of shape ``normalized_shape``.
    bias : bool, default True
        With ``elementwise_affine``, whether to learn the bias.
    dtype : floating dtype, keyword-only
        Default ``tg.get_default_dtype()``.

    Shapes
    ------
    ``(*, *normalized_shape)`` -> the same shape.

    Raises
    ------
    ValueError, TypeError
        A bad ``normalized_shape`` or ``eps``.
    ShapeError (a ValueError)
        In ``forward``, an input whose trailing shape is not ``normalized_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn
    >>> ln = nn.LayerNorm(4)
    >>> y = ln(np.array([[1.0, 2.0, 3.0, 4.0]]))
    >>> np.round(y.data, 4)
    array([[-1.3416, -0.4472,  0.4472,  1.3416]])
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, *, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.normalized_shape = _normalized_shape(normalized_shape, name)
        self.eps = _eps(eps, name)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = float_dtype(dtype, name)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if self.elementwise_affine and bias:
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        try:
            return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        except ShapeError as e:
            raise ShapeError(f"LayerNorm: {e}") from None

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
