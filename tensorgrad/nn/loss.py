"""Loss modules: PyTorch's names around tensorgrad's loss functions."""
from __future__ import annotations

from .. import functional, ops
from .module import Module

__all__ = ["MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"]

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """``loss(input, target)``: mean squared error, :func:`tensorgrad.mse_loss`
    (``torch.nn.MSELoss``). input and target share one shape."""

    def forward(self, input, target):  # noqa: A002 - PyTorch's argument name
        return functional.mse_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    """``loss(p, target)``: binary cross-entropy on probabilities, logs clamped at -100,
    :func:`tensorgrad.binary_cross_entropy` (``torch.nn.BCELoss``)."""

    def forward(self, input, target):  # noqa: A002
        return ops.binary_cross_entropy(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``loss(z, target)``: binary cross-entropy on logits, stable for any magnitude,
    :func:`tensorgrad.binary_cross_entropy_with_logits` (``torch.nn.BCEWithLogitsLoss``)."""

    def forward(self, input, target):  # noqa: A002
        return ops.binary_cross_entropy_with_logits(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """``loss(logits (N, C), target (N,) class indices)``: softmax cross-entropy,
    :func:`tensorgrad.cross_entropy` (``torch.nn.CrossEntropyLoss``)."""

    def forward(self, input, target):  # noqa: A002
        return functional.cross_entropy(input, target, reduction=self.reduction)
