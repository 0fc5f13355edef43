"""Learning-rate schedulers, PyTorch's ``torch.optim.lr_scheduler``: :class:`StepLR`,
:class:`ExponentialLR`, :class:`CosineAnnealingLR`, :class:`OneCycleLR` and :class:`LambdaLR`.

A scheduler sets ``group["lr"]`` of its optimiser's parameter groups. Creating it sets the
learning rate of step 0 (and records ``group["initial_lr"]``); each :meth:`LRScheduler.step`
(called after ``optimizer.step()``, once per epoch or per batch as the schedule means) moves
to the next value. The formulas and their order of evaluation are PyTorch's, including the
recursive forms (``StepLR`` and ``ExponentialLR`` multiply the current rate by ``gamma``;
``CosineAnnealingLR`` updates the current rate by the ratio of two cosines), so that the
values agree with torch's to rounding over any number of steps.

Examples
--------
>>> import numpy as np
>>> from tensorgrad import nn, optim
>>> opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1)
>>> sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     opt.step()
...     lrs.append(sched.get_last_lr()[0])
...     sched.step()
>>> lrs
[0.1, 0.1, 0.05, 0.05, 0.025]
"""
from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

from .optimizer import Optimizer, _plain

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "ExponentialLR", "CosineAnnealingLR",
           "OneCycleLR"]


def _positive_int(value, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{owner}: expected a positive integer {name}, got {value!r}")
    return int(value)


def _real(value, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise TypeError(f"{owner}: {name} must be a finite real number, got {value!r}")
    return float(value)


def _per_group(value, name: str, optimizer: Optimizer, owner: str) -> list:
    """One value per parameter group: a list or tuple of that length, or one value for all."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: {name} must have one value per parameter group: got "
                             f"{len(value)} values for {n} groups")
        values = list(value)
    else:
        values = [value] * n
    return [_real(v, name, owner) for v in values]


class LRScheduler:
    """Base class of the schedulers, as ``torch.optim.lr_scheduler.LRScheduler``.

    Parameters
    ----------
    optimizer : Optimizer
        Its groups' ``"lr"`` are set at creation (step 0) and at every :meth:`step`.
    last_epoch : int, default -1
        The index of the last step taken. -1 starts the schedule (each group's current
        ``"lr"`` is recorded as its ``"initial_lr"``); another value resumes it and needs
        ``"initial_lr"`` in every group (restore the optimiser's state dict first).

    Attributes
    ----------
    base_lrs : list of float
        Each group's ``"initial_lr"``.
    last_epoch : int
        The number of :meth:`step` calls since the start (0 after creation).

    Raises
    ------
    TypeError
        ``optimizer`` is not a :class:`~tensorgrad.optim.Optimizer`.
    KeyError
        Resuming (``last_epoch >= 0``) with a group that has no ``"initial_lr"``.

    Notes
    -----
    Subclasses give ``get_lr()``, the learning rates of step ``last_epoch`` (PyTorch's
    chainable form, which may read the groups' current rates). Unlike PyTorch, calling the
    scheduler's step before the optimiser's is not warned about.
    """

    _is_initial = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        owner = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner}: {type(optimizer).__name__} is not an Optimizer")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, Integral) or last_epoch < -1:
            raise ValueError(f"{owner}: last_epoch must be an int >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{owner}: param_groups[{i}] has no 'initial_lr', needed to "
                                   f"resume with last_epoch={last_epoch} (load the optimiser's "
                                   "state dict before creating the scheduler)")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            del self._is_initial  # back to the class's False

    def get_lr(self) -> list[float]:
        """The learning rate of each group at step ``last_epoch`` (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__}: get_lr is not implemented")

    def step(self) -> None:
        """Advance to the next step and set each group's ``"lr"`` (call it after
        ``optimizer.step()``)."""
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` (or the creation) set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimiser (numbers, bools, strings and lists), as PyTorch's;
        ``tg.save`` can store it."""
        return {key: (list(value) if isinstance(value, list) else value)
                for key, value in self.__dict__.items() if key not in self._not_saved}

    _not_saved = ("optimizer",)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (also as ``tg.load`` gives it back:
        0-d and 1-d arrays become numbers and lists)."""
        self.__dict__.update({key: _plain(value) for key, value in state_dict.items()
                              if key not in self._not_saved})

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(last_epoch={self.last_epoch}, "
                f"last_lr={self._last_lr})")


class LambdaLR(LRScheduler):
    r"""Each group's rate is its initial rate times a function of the step:
    :math:`\eta_t = \eta_0 \cdot f(t)`, as ``torch.optim.lr_scheduler.LambdaLR``.

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callable
        ``f(step) -> float``; one for all groups or one per group.
    last_epoch : int, default -1

    Raises
    ------
    ValueError
        A list of functions whose length is not the number of groups.
    TypeError
        A ``lr_lambda`` that is not callable.

    Notes
    -----
    :meth:`state_dict` does not hold the functions (PyTorch keeps only the attributes of
    callable objects); pass the same ones when re-creating the scheduler.
    """

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]
                 | list[Callable[[int], float]], last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter group), "
                                 f"got {len(lr_lambda)}")
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * n
        for f in lambdas:
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {f!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * f(self.last_epoch) for f, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class StepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps, as
    ``torch.optim.lr_scheduler.StepLR``: :math:`\eta_t = \eta_0\,
    \gamma^{\lfloor t / \text{step\_size} \rfloor}` (computed recursively, as PyTorch does).

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
        Period of the decay, >= 1.
    gamma : float, default 0.1
    last_epoch : int, default -1

    Raises
    ------
    ValueError
        ``step_size`` not a positive int.
    TypeError
        ``gamma`` not a finite real number.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = _positive_int(step_size, "step_size", "StepLR")
        self.gamma = _real(gamma, "gamma", "StepLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every step, as
    ``torch.optim.lr_scheduler.ExponentialLR``: :math:`\eta_t = \eta_0 \gamma^t`
    (computed recursively).

    Parameters
    ----------
    optimizer : Optimizer
    gamma : float
    last_epoch : int, default -1

    Raises
    ------
    TypeError
        ``gamma`` not a finite real number.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _real(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial rate to ``eta_min`` over ``T_max`` steps, as
    ``torch.optim.lr_scheduler.CosineAnnealingLR``:

    .. math::
        \eta_t = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})
                 \bigl(1 + \cos(\pi t / T_{\max})\bigr),

    computed by PyTorch's recursion :math:`\eta_t = \eta_{\min} + (\eta_{t-1} - \eta_{\min})
    \frac{1 + \cos(\pi t / T_{\max})}{1 + \cos(\pi (t - 1) / T_{\max})}`. Past ``T_max`` the
    rate rises again (a period of ``2 T_max``; there are no restarts).

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int
        Steps of the half period, >= 1.
    eta_min : float, default 0.0
    last_epoch : int, default -1

    Raises
    ------
    ValueError
        ``T_max`` not a positive int.
    TypeError
        ``eta_min`` not a finite real number.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = _positive_int(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = _real(eta_min, "eta_min", "CosineAnnealingLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups, t, T, eta_min = self.optimizer.param_groups, self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (group["lr"] - eta_min) + eta_min for group in groups]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith and Topin, 2017), as ``torch.optim.lr_scheduler.OneCycleLR``:
    the rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of
    ``total_steps``, then falls to ``max_lr / (div_factor * final_div_factor)``; the momentum
    (``momentum``, or ``betas[0]`` for Adam-like optimisers) moves the opposite way between
    ``max_momentum`` and ``base_momentum``. Call :meth:`step` after every batch.

    Each phase interpolates with ``anneal_strategy``: ``"cos"``,
    :math:`e + (s - e)(1 + \cos \pi x) / 2`, or ``"linear"``, :math:`s + (e - s) x`, where
    :math:`x` runs from 0 to 1 over the phase. The phases end at steps
    ``pct_start * total_steps - 1`` and ``total_steps - 1``; with ``three_phase`` the rate
    goes back to the initial rate at ``2 * pct_start * total_steps - 2`` and then falls to the
    minimum.

    Parameters
    ----------
    optimizer : Optimizer
    max_lr : float or list of float
        Peak rate, one for all groups or one per group.
    total_steps : int, optional
        Steps in the cycle; else ``epochs * steps_per_epoch``.
    epochs, steps_per_epoch : int, optional
    pct_start : float, default 0.3
        Fraction of the cycle spent raising the rate, in [0, 1].
    anneal_strategy : {"cos", "linear"}, default "cos"
    cycle_momentum : bool, default True
    base_momentum, max_momentum : float or list of float, default 0.85, 0.95
    div_factor : float, default 25.0
    final_div_factor : float, default 1e4
    three_phase : bool, default False
    last_epoch : int, default -1

    Raises
    ------
    ValueError
        Neither ``total_steps`` nor both ``epochs`` and ``steps_per_epoch`` given, or one not a
        positive int; ``pct_start`` outside [0, 1]; an unknown ``anneal_strategy``;
        ``cycle_momentum`` with an optimiser that has neither ``momentum`` nor ``betas``; a
        per-group list of the wrong length; a :meth:`step` beyond ``total_steps``.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        owner = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner}: {type(optimizer).__name__} is not an Optimizer")
        if total_steps is not None:
            self.total_steps = _positive_int(total_steps, "total_steps", owner)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_positive_int(epochs, "epochs", owner)
                                * _positive_int(steps_per_epoch, "steps_per_epoch", owner))
        else:
            raise ValueError(f"{owner}: give either total_steps or (epochs and steps_per_epoch)")
        if (isinstance(pct_start, bool) or not isinstance(pct_start, Real)
                or not 0 <= pct_start <= 1):
            raise ValueError(f"{owner}: expected pct_start in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{owner}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.pct_start = float(pct_start)
        self.three_phase = bool(three_phase)
        self.anneal_strategy = anneal_strategy
        div_factor = _real(div_factor, "div_factor", owner)
        final_div_factor = _real(final_div_factor, "final_div_factor", owner)
        max_lrs = _per_group(max_lr, "max_lr", optimizer, owner)
        if last_epoch == -1:
            for lr, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = lr / div_factor
                group["max_lr"] = lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{owner}: cycle_momentum needs an optimiser with momentum or "
                                 f"betas, {type(optimizer).__name__} has neither (pass "
                                 "cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            max_ms = _per_group(max_momentum, "max_momentum", optimizer, owner)
            base_ms = _per_group(base_momentum, "base_momentum", optimizer, owner)
            if last_epoch == -1:
                for m_max, m_base, group in zip(max_ms, base_ms, optimizer.param_groups):
                    self._set_momentum(group, m_max)
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _phases(self):
        """(end_step, start key, end key, start momentum key, end momentum key) per phase."""
        n, pct = self.total_steps, self.pct_start
        if self.three_phase:
            return [(float(pct * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                    (float(2 * pct * n) - 2, "max_lr", "initial_lr", "base_momentum",
                     "max_momentum"),
                    (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        return [(float(pct * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; the specified number of "
                             f"total steps is {self.total_steps}")
        phases = self._phases()
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr0, lr1, m0, m1) in enumerate(phases):
                if step <= end_step or i == len(phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lr = self._anneal(group[lr0], group[lr1], pct)
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start_step = end_step
            lrs.append(lr)
        return lrs

