"""Adam and AdamW, PyTorch's ``torch.optim.Adam`` and ``torch.optim.AdamW``."""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..inputs import flag
from ..tensor import Tensor
from ..versions import subtract_in_place
from .optimizer import Optimizer, _hyper

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam, PyTorch's ``torch.optim.Adam`` (weight decay as an L2 term added to the gradient;
    :class:`AdamW` decouples it).

    For each parameter :math:`p` with gradient :math:`g`, at step :math:`t = 1, 2, \dots`:

    .. math::
        g_t &\leftarrow g_t + \lambda p_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \quad (m_0 = v_0 = 0) \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ with amsgrad, else } v_t \\
        p_t &= p_{t-1} - \frac{\eta}{1 - \beta_1^t}\, m_t \Big/
               \Big(\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon\Big)

    evaluated in PyTorch's order. The step count :math:`t` is kept per parameter (a parameter
    whose grad is None does not advance). State: ``step``, ``exp_avg`` (:math:`m`),
    ``exp_avg_sq`` (:math:`v`) and, with amsgrad, ``max_exp_avg_sq``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Each in ``[0, 1)``.
    eps : float, default 1e-8
    weight_decay : float, default 0.0
    amsgrad : bool, default False
        Use the running maximum of :math:`v` (Reddi et al., 2018).

    Raises
    ------
    ValueError
        ``lr``, ``eps`` or ``weight_decay`` negative or non-finite, a beta outside ``[0, 1)``,
        ``betas`` not a pair, or the parameter-list errors of :class:`Optimizer`.
    TypeError
        A hyper-parameter that is not a real number (``amsgrad`` not a bool).

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

    _decoupled = False

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad})

    def _check_group(self, group):
        owner = type(self).__name__
        group["lr"] = _hyper(group["lr"], "learning rate (lr)", owner)
        betas = group["betas"]
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got "
                             f"{betas!r}") from None
        group["betas"] = (_hyper(b1, "beta1 (betas[0])", owner, 0.0, 1.0, high_open=True),
                          _hyper(b2, "beta2 (betas[1])", owner, 0.0, 1.0, high_open=True))
        group["eps"] = _hyper(group["eps"], "eps", owner)
        group["weight_decay"] = _hyper(group["weight_decay"], "weight_decay", owner)
        group["amsgrad"] = flag(group["amsgrad"], "amsgrad", owner)

    def _update(self, i, p, g, group):
        lr, (b1, b2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        scratch = self._scratch(i, p)
        if weight_decay != 0:
            if self._decoupled:  # p *= 1 - lr * wd, written as p -= (lr * wd) * p
                subtract_in_place(p, np.multiply(p.data, lr * weight_decay, out=scratch),
                                  type(self).__name__, i)
            else:
                g = g + weight_decay * p.data
        s = self.state.get(i)
        if s is None:
            s = self.state[i] = {"step": 0, "exp_avg": np.zeros_like(p.data),
                                 "exp_avg_sq": np.zeros_like(p.data)}
        s["step"] += 1
        t = s["step"]
        m, v = s["exp_avg"], s["exp_avg_sq"]
        m *= b1  # the same arithmetic as below, with no temporaries
        m += np.multiply(g, 1 - b1, out=scratch)  # m += (1 - b1) * g
        v *= b2
        np.multiply(g, g, out=scratch)
        scratch *= 1 - b2
        v += scratch  # v += (1 - b2) * (g * g)
        if group["amsgrad"]:
            v_max = s.get("max_exp_avg_sq")
            if v_max is None:  # the first amsgrad step (or amsgrad switched on since)
                v_max = s["max_exp_avg_sq"] = np.zeros_like(p.data)
            v = np.maximum(v_max, v, out=v_max)
        step_size = lr / (1 - b1 ** t)
        denom = np.sqrt(v, out=scratch)
        denom /= math.sqrt(1 - b2 ** t)
        denom += group["eps"]  # sqrt(v) / sqrt(1 - b2**t) + eps
        ratio = np.divide(m, denom, out=scratch)
        ratio *= step_size
        subtract_in_place(p, ratio, type(self).__name__, i)  # p -= step_size * (m / denom)


class AdamW(Adam):
    r"""AdamW, PyTorch's ``torch.optim.AdamW``: Adam with decoupled weight decay
    (Loshchilov and Hutter, 2019).

    Each step first shrinks the parameter, :math:`p \leftarrow p\,(1 - \eta\lambda)`, then
    takes :class:`Adam`'s step on the gradient alone (no L2 term in :math:`m` and
    :math:`v`). The state is Adam's.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 1e-2
        :math:`\lambda` (PyTorch's default).
    amsgrad : bool, default False

    Raises
    ------
    ValueError, TypeError
        As :class:`Adam`.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn, optim
    >>> w = nn.Parameter(np.array([1.0, -2.0]))
    >>> (w * 0).sum().backward()                     # a zero gradient: only the decay acts
    >>> optim.AdamW([w], lr=0.1, weight_decay=0.5).step()
    >>> w.data                                       # p * (1 - 0.1 * 0.5)
    array([ 0.95, -1.9 ])
    """

    _decoupled = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
