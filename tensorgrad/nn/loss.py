"""Loss modules: PyTorch's names and constructor signatures around tensorgrad's loss
functions. Each keeps its options as attributes and passes them on in ``forward``."""
from __future__ import annotations

from .. import functional, ops
from ..ops.loss import legacy_reduction
from ..tensor import Tensor
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss",
           "L1Loss", "MSELoss", "NLLLoss", "SmoothL1Loss"]


class _Loss(Module):
    """The reduction (checked, PyTorch's deprecated ``size_average``/``reduce`` folded in)
    and, for the weighted losses, a constant ``weight`` (a Tensor, or None)."""

    _reductions = ("mean", "sum", "none")

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if isinstance(size_average, str):  # tensorgrad's earlier Loss(reduction) order
            size_average, reduction = None, size_average
        self.reduction = legacy_reduction(type(self).__name__, size_average, reduce,
                                          reduction, self._reductions)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


def _constant(value):
    """A weight as a Tensor that does not require grad (None stays None)."""
    if value is None:
        return None
    return Tensor(value.data if isinstance(value, Tensor) else value)


class MSELoss(_Loss):
    """``loss(input, target)``: mean squared error, :func:`tensorgrad.mse_loss`
    (``torch.nn.MSELoss``). input and target share one shape."""

    def forward(self, input, target):  # noqa: A002 - PyTorch's argument name
        return functional.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """``loss(input, target)``: mean absolute error, :func:`tensorgrad.l1_loss`
    (``torch.nn.L1Loss``)."""

    def forward(self, input, target):  # noqa: A002
        return functional.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``loss(input, target)``: :func:`tensorgrad.smooth_l1_loss` with ``beta``
    (``torch.nn.SmoothL1Loss(size_average, reduce, reduction, beta)``)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return functional.smooth_l1_loss(input, target, reduction=self.reduction,
                                         beta=self.beta)


class HuberLoss(_Loss):
    """``loss(input, target)``: :func:`tensorgrad.huber_loss` with ``delta``
    (``torch.nn.HuberLoss(reduction, delta)``)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return functional.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """``loss(input, target)``: :func:`tensorgrad.kl_div` of log-probabilities
    (``torch.nn.KLDivLoss(size_average, reduce, reduction, log_target)``); reduction may be
    "batchmean" too."""

    _reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):  # noqa: A002
        return functional.kl_div(input, target, reduction=self.reduction,
                                 log_target=self.log_target)


class BCELoss(_Loss):
    """``loss(p, target)``: binary cross-entropy on probabilities, logs clamped at -100,
    :func:`tensorgrad.binary_cross_entropy` (``torch.nn.BCELoss(weight, size_average,
    reduce, reduction)``); ``weight`` rescales each element's loss (a constant)."""

    def __init__(self, weight=None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        if isinstance(weight, str):  # tensorgrad's earlier BCELoss(reduction) order
            weight, reduction = None, weight
        super().__init__(size_average, reduce, reduction)
        self.weight = _constant(weight)

    def forward(self, input, target):  # noqa: A002
        return ops.binary_cross_entropy(input, target, weight=self.weight,
                                        reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``loss(z, target)``: binary cross-entropy on logits, stable for any magnitude,
    :func:`tensorgrad.binary_cross_entropy_with_logits` (``torch.nn.BCEWithLogitsLoss(weight,
    size_average, reduce, reduction, pos_weight)``); both weights are constants."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None) -> None:
        if isinstance(weight, str):  # tensorgrad's earlier order
            weight, reduction = None, weight
        super().__init__(size_average, reduce, reduction)
        self.weight = _constant(weight)
        self.pos_weight = _constant(pos_weight)

    def forward(self, input, target):  # noqa: A002
        return ops.binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction,
            pos_weight=self.pos_weight)


class NLLLoss(_Loss):
    """``loss(log_probs (N, C, ...), target (N, ...) class indices)``:
    :func:`tensorgrad.nll_loss` (``torch.nn.NLLLoss(weight, size_average, ignore_index,
    reduce, reduction)``); ``weight`` (C,) is a constant."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.weight = _constant(weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return functional.nll_loss(input, target, weight=self.weight,
                                   ignore_index=self.ignore_index, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """``loss(logits (N, C, ...), target)``: softmax cross-entropy with class indices or
    class probabilities, :func:`tensorgrad.cross_entropy` (``torch.nn.CrossEntropyLoss(
    weight, size_average, ignore_index, reduce, reduction, label_smoothing)``)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        if isinstance(weight, str):  # tensorgrad's earlier CrossEntropyLoss(reduction) order
            weight, reduction = None, weight
        super().__init__(size_average, reduce, reduction)
        self.weight = _constant(weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002
        return functional.cross_entropy(input, target, weight=self.weight,
                                        ignore_index=self.ignore_index,
                                        reduction=self.reduction,
                                        label_smoothing=self.label_smoothing)
