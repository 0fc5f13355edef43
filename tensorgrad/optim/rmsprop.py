"""RMSprop, PyTorch's ``torch.optim.RMSprop``."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..inputs import flag
from ..tensor import Tensor
from ..versions import subtract_in_place
from .optimizer import Optimizer, _hyper

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's ``torch.optim.RMSprop``.

    For each parameter :math:`p` with gradient :math:`g`, at every step:

    .. math::
        g &\leftarrow g + \lambda p \\
        v &\leftarrow \alpha v + (1 - \alpha) g^2 \quad (v_0 = 0) \\
        \bar g &\leftarrow \bar g + (1 - \alpha)(g - \bar g), \quad
            s = \sqrt{v - \bar g^2} + \epsilon \quad \text{(centered)};
            \qquad s = \sqrt{v} + \epsilon \quad \text{(otherwise)} \\
        b &\leftarrow \mu b + g / s, \quad p \leftarrow p - \eta\, b \quad (\mu > 0);
            \qquad p \leftarrow p - \eta\, g / s \quad (\mu = 0)

    State: ``step``, ``square_avg`` (:math:`v`), ``momentum_buffer`` (:math:`b`, when
    :math:`\mu > 0`) and ``grad_avg`` (:math:`\bar g`, when centered).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-2
    alpha : float, default 0.99
        Smoothing constant :math:`\alpha \ge 0`.
    eps : float, default 1e-8
    weight_decay : float, default 0.0
    momentum : float, default 0.0
    centered : bool, default False
        Normalise by an estimate of the gradient's variance instead of its second moment.

    Raises
    ------
    ValueError
        A negative or non-finite hyper-parameter, or the parameter-list errors of
        :class:`Optimizer`.
    TypeError
        A hyper-parameter that is not a real number (``centered`` not a bool).

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn, optim
    >>> w = nn.Parameter(np.array([1.0, -2.0]))
    >>> (w * w).sum().backward()                 # g = 2w; v = 0.01 g^2, so g / sqrt(v) = 10
    >>> optim.RMSprop([w], lr=0.01).step()
    >>> np.round(w.data, 6)
    array([ 0.9, -1.9])
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered})

    def _check_group(self, group):
        owner = type(self).__name__
        group["lr"] = _hyper(group["lr"], "learning rate (lr)", owner)
        group["alpha"] = _hyper(group["alpha"], "alpha", owner)
        group["eps"] = _hyper(group["eps"], "eps", owner)
        group["weight_decay"] = _hyper(group["weight_decay"], "weight_decay", owner)
        group["momentum"] = _hyper(group["momentum"], "momentum", owner)
        group["centered"] = flag(group["centered"], "centered", owner)

    def _update(self, i, p, g, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        s = self.state.get(i)
        if s is None:
            s = self.state[i] = {"step": 0, "square_avg": np.zeros_like(p.data)}
        if momentum > 0 and "momentum_buffer" not in s:
            s["momentum_buffer"] = np.zeros_like(p.data)
        if group["centered"] and "grad_avg" not in s:
            s["grad_avg"] = np.zeros_like(p.data)
        s["step"] += 1
        scratch = self._scratch(i, p)
        v = s["square_avg"]
        v *= alpha
        np.multiply(g, g, out=scratch)
        scratch *= 1 - alpha
        v += scratch  # v = alpha v + (1 - alpha) g^2
        if group["centered"]:
            g_avg = s["grad_avg"]
            g_avg += (1 - alpha) * (g - g_avg)  # torch's lerp for a weight below 0.5
            avg = np.multiply(g_avg, g_avg, out=scratch)
            np.subtract(v, avg, out=avg)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(v, out=scratch)
        avg += group["eps"]
        if momentum > 0:
            buf = s["momentum_buffer"]
            buf *= momentum
            buf += np.divide(g, avg, out=avg)  # b = mu b + g / avg
            step = np.multiply(buf, group["lr"], out=scratch)
        else:
            step = np.divide(g, avg, out=avg)
            step *= group["lr"]
        subtract_in_place(p, step, type(self).__name__, i)
