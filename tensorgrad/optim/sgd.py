"""Stochastic gradient descent, PyTorch's ``torch.optim.SGD``."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..inputs import flag
from ..tensor import Tensor
from ..versions import subtract_in_place
from .optimizer import Optimizer, _hyper

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum (heavy-ball or Nesterov),
    dampening and L2 weight decay, PyTorch's ``torch.optim.SGD``.

    For each parameter :math:`p` with gradient :math:`g`, at step :math:`t`:

    .. math::
        d_t &= g_t + \lambda p_{t-1} \\
        b_t &= \begin{cases} d_1 & t = 1 \\ \mu b_{t-1} + (1 - \tau) d_t & t > 1 \end{cases}
        \\
        u_t &= \begin{cases} d_t + \mu b_t & \text{nesterov} \\ b_t & \text{otherwise}
        \end{cases}, \qquad p_t = p_{t-1} - \eta\, u_t

    (without momentum, :math:`u_t = d_t` and no buffer is kept). The buffer is
    ``state[i]["momentum_buffer"]``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0` (PyTorch 2's default).
    momentum : float, default 0.0
        :math:`\mu \ge 0`.
    dampening : float, default 0.0
        :math:`\tau \ge 0`.
    weight_decay : float, default 0.0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.
    nesterov : bool, default False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.

    Raises
    ------
    ValueError
        A negative or non-finite hyper-parameter, ``nesterov`` without momentum or with
        dampening, or the parameter-list errors of :class:`Optimizer`.
    TypeError
        A hyper-parameter that is not a real number (``nesterov`` not a bool).

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

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def _check_group(self, group):
        owner = type(self).__name__
        group["lr"] = _hyper(group["lr"], "learning rate (lr)", owner)
        group["momentum"] = _hyper(group["momentum"], "momentum", owner)
        group["dampening"] = _hyper(group["dampening"], "dampening", owner)
        group["weight_decay"] = _hyper(group["weight_decay"], "weight_decay", owner)
        group["nesterov"] = flag(group["nesterov"], "nesterov", owner)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{owner}: Nesterov momentum requires a momentum and zero dampening, "
                             f"got momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, i, p, g, group):
        scratch = self._scratch(i, p)
        d = g
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if weight_decay != 0:
            np.multiply(p.data, weight_decay, out=scratch)
            scratch += g
            d = scratch
        if momentum != 0:
            s = self.state.setdefault(i, {})
            buf = s.get("momentum_buffer")
            if buf is None:
                buf = np.array(d, dtype=p.dtype, copy=True)
            else:
                buf *= momentum
                dampening = group["dampening"]
                if dampening == 0:
                    buf += d
                else:
                    buf += (1 - dampening) * d
            s["momentum_buffer"] = buf
            if group["nesterov"]:
                if d is not scratch:
                    np.copyto(scratch, d)
                    d = scratch
                d += momentum * buf
            else:
                d = buf
        np.multiply(d, group["lr"], out=scratch)  # p -= lr * d, with no temporary array
        subtract_in_place(p, scratch, type(self).__name__, i)  # p.sub_(scratch), versioned
