"""Optimisers with PyTorch's names and exact update formulas: :class:`SGD` and :class:`Adam`.

An optimiser holds a list of parameters (leaf Tensors, usually ``model.parameters()``) and
updates their ``.data`` in place, outside the graph, in :meth:`Optimizer.step`. This is the
only place where parameters change. Each update is an in-place op (``p.sub_``) under
``no_grad``: it advances the parameter's version, so a graph recorded before the step and
differentiated after it (``retain_graph=True``) raises instead of using the new values.

Examples
--------
>>> import numpy as np
>>> import tensorgrad as tg
>>> from tensorgrad import nn, optim
>>> model = nn.Linear(2, 1, rng=0)
>>> opt = optim.SGD(model.parameters(), lr=0.1)
>>> x, y = np.ones((4, 2)), np.zeros((4, 1))
>>> for _ in range(3):
...     opt.zero_grad()
...     loss = tg.mse_loss(model(x), y)
...     loss.backward()
...     opt.step()
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Real
from typing import Any

import numpy as np

from .errors import ShapeError
from .state import enable_grad, no_grad
from .tensor import Tensor
from .versions import subtract_in_place

__all__ = ["Optimizer", "SGD", "Adam"]


def _hyper(value, name: str, owner: str, low: float = 0.0, high: float | None = None,
           high_open: bool = False) -> float:
    """A real, finite hyper-parameter in [low, high] (or [low, high) with ``high_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    v = float(value)
    ok = math.isfinite(v) and v >= low
    if high is not None:
        ok = ok and (v < high if high_open else v <= high)
    if not ok:
        if high is None:
            expected = f">= {low}"
        else:
            expected = f"in [{low}, {high})" if high_open else f"in [{low}, {high}]"
        raise ValueError(f"{owner}: invalid {name} {value!r}, expected a finite value {expected}")
    return v


class Optimizer:
    """Base class: a list of parameters, :meth:`zero_grad` and :meth:`step`.

    Parameters
    ----------
    params : iterable of Tensor
        Leaf Tensors (usually :class:`~tensorgrad.nn.Parameter` from
        ``model.parameters()``), each listed once.
    defaults : dict
        The hyper-parameters, kept as ``self.defaults``.

    Attributes
    ----------
    params : list of Tensor
    state : dict
        Per-parameter state (momentum buffers, moment estimates), keyed by the parameter's
        position in ``params``.

    Raises
    ------
    TypeError
        ``params`` is a single Tensor (pass a list) or holds something that is not a Tensor.
    ValueError
        ``params`` is empty, holds a non-leaf Tensor or the same Tensor twice.

    Subclasses implement ``_update(index, p, grad)``, which computes on ndarrays.
    """

    def __init__(self, params: Iterable[Tensor], defaults: dict[str, Any]) -> None:
        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{owner}: params must be an iterable of Tensors, got a single "
                            "Tensor (wrap it in a list)")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{owner}: params must be an iterable of Tensors, got "
                            f"{type(params).__name__}") from None
        if not params:
            raise ValueError(f"{owner}: got an empty parameter list (did the model register "
                             "its Parameters, and is the parameters() iterator exhausted?)")
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{owner}: params[{i}] is a {type(p).__name__}, expected a "
                                "Tensor")
            if not p.is_leaf:
                raise ValueError(f"{owner}: params[{i}] (shape {p.shape}) is not a leaf "
                                 f"Tensor (it was produced by '{p.grad_fn.name}'); only leaves "
                                 "can be optimised")
            if id(p) in seen:
                raise ValueError(f"{owner}: params[{i}] (shape {p.shape}) appears more than "
                                 "once in the parameter list")
            seen.add(id(p))
        self.params: list[Tensor] = params
        self.defaults: dict[str, Any] = dict(defaults)
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to ``None`` (PyTorch's default,
        ``set_to_none=True``)."""
        for p in self.params:
            p._grad = None

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient, in place; parameters whose ``.grad``
        is ``None`` are skipped.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (called with recording on, before
            the update), as in PyTorch.

        Returns
        -------
        The closure's loss, or None.

        Raises
        ------
        ShapeError (a ValueError)
            A ``.grad`` whose shape differs from its parameter's.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for i, p in enumerate(self.params):
                grad = p._grad  # the slot behind .grad (parameters are leaves)
                if grad is None:
                    continue
                g = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
                if g.shape != p.shape:
                    raise ShapeError(f"{type(self).__name__}.step: params[{i}] has shape "
                                     f"{p.shape} but its grad has shape {g.shape}")
                self._update(i, p, g)
        return loss

    def _update(self, i: int, p: Tensor, g: np.ndarray) -> None:
        raise NotImplementedError(f"{type(self).__name__}: _update is not implemented")

    def _scratch(self, i: int, p: Tensor) -> np.ndarray:
        """A work array of p's shape and dtype, kept between steps: updates then allocate
        nothing, which matters where fresh large arrays cost page faults (per-sample SGD)."""
        buffers = self.__dict__.setdefault("_buffers", {})
        buf = buffers.get(i)
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
            buf = buffers[i] = np.empty_like(p.data)
        return buf

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state and hyper-parameters, with ndarray copies.

        Returns
        -------
        dict
            ``{"state": {index: {name: value}}, "defaults": {...}}``; indices are positions
            in ``params``.
        """
        state = {i: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for i, s in self.state.items()}
        return {"state": state, "defaults": dict(self.defaults)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (for the same parameter list).

        Raises
        ------
        ValueError
            A state index outside the parameter list, or hyper-parameter names that differ.
        ShapeError (a ValueError)
            A state array whose shape differs from its parameter's.
        """
        owner = type(self).__name__
        defaults = dict(state_dict["defaults"])
        if set(defaults) != set(self.defaults):
            raise ValueError(f"{owner}.load_state_dict: hyper-parameters {sorted(defaults)} do "
                             f"not match this optimiser's {sorted(self.defaults)}")
        new_state = {}
        for i, s in state_dict["state"].items():
            i = int(i)
            if not 0 <= i < len(self.params):
                raise ValueError(f"{owner}.load_state_dict: state for parameter {i}, but there "
                                 f"are only {len(self.params)} parameters")
            p = self.params[i]
            entry = {}
            for k, v in s.items():
                if isinstance(v, np.ndarray):
                    if v.shape != p.shape:
                        raise ShapeError(f"{owner}.load_state_dict: '{k}' of parameter {i} has "
                                         f"shape {v.shape}, the parameter has shape {p.shape}")
                    v = v.astype(p.dtype, copy=True)
                entry[k] = v
            new_state[i] = entry
        self.defaults = defaults
        for k, v in defaults.items():
            setattr(self, k, v)
        self.state = new_state

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum and L2 weight decay, PyTorch's
    ``torch.optim.SGD`` (``dampening=0``, ``nesterov=False``).

    For each parameter :math:`p` with gradient :math:`g`, at step :math:`t`:

    .. math::
        d_t = g_t + \lambda p_{t-1}, \qquad
        b_t = \begin{cases} d_1 & t = 1 \\ \mu b_{t-1} + d_t & t > 1 \end{cases}, \qquad
        p_t = p_{t-1} - \eta\, b_t

    (without momentum, :math:`b_t = d_t`).

    Parameters
    ----------
    params : iterable of Tensor
    lr : float
        Learning rate :math:`\eta \ge 0`.
    momentum : float, default 0.0
        :math:`\mu \ge 0`.
    weight_decay : float, default 0.0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.

    Raises
    ------
    ValueError
        A negative or non-finite hyper-parameter, or the parameter-list errors of
        :class:`Optimizer`.
    TypeError
        A hyper-parameter that is not a real number.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn, optim
    >>> w = nn.Parameter(np.array([1.0, 2.0]))
    >>> (w * w).sum().backward()
    >>> optim.SGD([w], lr=0.1).step()
    >>> w.data
    array([0.8, 1.6])
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        owner = type(self).__name__
        self.lr = _hyper(lr, "learning rate (lr)", owner)
        self.momentum = _hyper(momentum, "momentum", owner)
        self.weight_decay = _hyper(weight_decay, "weight_decay", owner)
        super().__init__(params, {"lr": self.lr, "momentum": self.momentum,
                                  "weight_decay": self.weight_decay})

    def _update(self, i, p, g):
        scratch = self._scratch(i, p)
        d = g
        if self.weight_decay != 0:
            np.multiply(p.data, self.weight_decay, out=scratch)
            scratch += g
            d = scratch
        if self.momentum != 0:
            s = self.state.setdefault(i, {})
            buf = s.get("momentum_buffer")
            if buf is None:
                buf = np.array(d, dtype=p.dtype, copy=True)
            else:
                buf *= self.momentum
                buf += d
            s["momentum_buffer"] = buf
            d = buf
        np.multiply(d, self.lr, out=scratch)  # p -= lr * d, with no temporary array
        subtract_in_place(p, scratch, type(self).__name__, i)  # p.sub_(scratch), versioned


class Adam(Optimizer):
    r"""Adam, PyTorch's ``torch.optim.Adam`` (``amsgrad=False``; weight decay as an L2 term
    added to the gradient, not AdamW's decoupled decay).

    For each parameter :math:`p` with gradient :math:`g`, at step :math:`t = 1, 2, \dots`:

    .. math::
        g_t &\leftarrow g_t + \lambda p_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \quad (m_0 = v_0 = 0) \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
        p_t &= p_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    evaluated in PyTorch's order: ``p -= (lr / (1 - b1**t)) * m / (sqrt(v) / sqrt(1 - b2**t)
    + eps)``. The step count :math:`t` is kept per parameter (a parameter whose grad is None
    does not advance).

    Parameters
    ----------
    params : iterable of Tensor
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Each in ``[0, 1)``.
    eps : float, default 1e-8
    weight_decay : float, default 0.0

    Raises
    ------
    ValueError
        ``lr``, ``eps`` or ``weight_decay`` negative or non-finite, a beta outside ``[0, 1)``,
        ``betas`` not a pair, or the parameter-list errors of :class:`Optimizer`.
    TypeError
        A hyper-parameter that is not a real number.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn, optim
    >>> w = nn.Parameter(np.array([1.0, -2.0]))
    >>> (w * w).sum().backward()
    >>> optim.Adam([w], lr=0.1).step()   # the first step moves each entry by about lr
    >>> np.round(w.data, 6)
    array([ 0.9, -1.9])
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        owner = type(self).__name__
        self.lr = _hyper(lr, "learning rate (lr)", owner)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got "
                             f"{betas!r}") from None
        self.betas = (_hyper(b1, "beta1 (betas[0])", owner, 0.0, 1.0, high_open=True),
                      _hyper(b2, "beta2 (betas[1])", owner, 0.0, 1.0, high_open=True))
        self.eps = _hyper(eps, "eps", owner)
        self.weight_decay = _hyper(weight_decay, "weight_decay", owner)
        super().__init__(params, {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                                  "weight_decay": self.weight_decay})

    def _update(self, i, p, g):
        b1, b2 = self.betas
        if self.weight_decay != 0:
            g = g + self.weight_decay * p.data
        s = self.state.get(i)
        if s is None:
            s = self.state[i] = {"step": 0, "exp_avg": np.zeros_like(p.data),
                                 "exp_avg_sq": np.zeros_like(p.data)}
        s["step"] += 1
        t = s["step"]
        m, v = s["exp_avg"], s["exp_avg_sq"]
        scratch = self._scratch(i, p)  # the same arithmetic as below, with no temporaries
        m *= b1
        m += np.multiply(g, 1 - b1, out=scratch)  # m += (1 - b1) * g
        v *= b2
        np.multiply(g, g, out=scratch)
        scratch *= 1 - b2
        v += scratch  # v += (1 - b2) * (g * g)
        step_size = self.lr / (1 - b1 ** t)
        denom = np.sqrt(v, out=scratch)
        denom /= math.sqrt(1 - b2 ** t)
        denom += self.eps  # sqrt(v) / sqrt(1 - b2**t) + eps
        ratio = np.divide(m, denom, out=scratch)
        ratio *= step_size
        subtract_in_place(p, ratio, type(self).__name__, i)  # p -= step_size * (m / denom)
