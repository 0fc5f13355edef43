"""Gradient health: per-parameter gradient statistics and activation saturation.

:func:`gradient_report` is called after ``loss.backward()``: it reads each parameter's
``.grad`` and gives its norm, mean absolute value, share of exact zeros and (for a learning
rate) the update-to-weight ratio. :func:`watch_activations` installs forward hooks on the
activation modules of a model (``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU``) that keep the
saturation counts of their last output (numbers only, no arrays); a report on a watched
model includes them. :class:`GradientHistory` keeps the reports of a training run and plots
them. docs/gradient_report.md shows each.
"""
from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..nn import Module, ReLU, Sigmoid, Tanh
from ..tensor import Tensor

__all__ = ["ActivationStats", "ActivationWatch", "GradientHistory", "GradientReport",
           "ParamStats", "gradient_report", "watch_activations"]

SATURATION = 1e-3  # a sigmoid or tanh output this close to a bound counts as saturated
_BOUNDS = {Sigmoid: (0.0, 1.0), Tanh: (-1.0, 1.0)}
_watches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> ActivationWatch


@dataclass
class ParamStats:
    """The gradient statistics of one parameter (:func:`gradient_report`).

    Attributes
    ----------
    name : str
    shape : tuple of int
    norm : float or None
        ``||g||``, the Euclidean norm of the gradient (None when ``.grad`` is None).
    mean_abs : float or None
        ``mean(|g|)``.
    zero_share : float or None
        The share of gradient elements that are exactly 0.
    weight_norm : float
        ``||w||``.
    update_ratio : float or None
        ``lr * ||g|| / ||w||`` (the relative size of a plain SGD step); None without a
        learning rate or a gradient, ``inf`` when ``||w|| = 0``.
    """

    name: str
    shape: tuple
    norm: float | None
    mean_abs: float | None
    zero_share: float | None
    weight_norm: float
    update_ratio: float | None


@dataclass
class ActivationStats:
    """The saturation of one activation module's last forward output.

    Attributes
    ----------
    name : str
        The module's path in the model (``"6"``, ``"features.1"``).
    kind : str
        ``"Sigmoid"``, ``"Tanh"`` or ``"ReLU"``.
    size : int
        The number of output elements (units times batch) of the last forward.
    low, high : int
        Elements within ``1e-3`` of the lower / upper bound (sigmoid 0 and 1, tanh -1 and
        1); for ReLU ``low`` counts the elements exactly 0 (dead) and ``high`` is 0.
    """

    name: str
    kind: str
    size: int
    low: int
    high: int

    @property
    def saturated(self) -> float:
        """The share of saturated (sigmoid, tanh) or dead (ReLU) output elements."""
        return (self.low + self.high) / self.size if self.size else 0.0


class ActivationWatch:
    """Forward hooks on a model's ``Sigmoid``, ``Tanh`` and ``ReLU`` modules that keep the
    saturation counts of each one's last output (made by :func:`watch_activations`).

    Attributes
    ----------
    stats : dict of str to ActivationStats
        By module path, filled in by each forward (empty before the first).

    ``watch.remove()`` (or leaving a ``with`` block) removes the hooks.
    """

    def __init__(self, model: Module):
        self.stats: dict[str, ActivationStats] = {}
        self._handles = []
        for name, m in model.named_modules():
            kind = type(m)
            if kind in _BOUNDS or kind is ReLU:
                self._handles.append(m.register_forward_hook(self._hook(name, kind)))
        self._model = weakref.ref(model)
        _watches[model] = self

    def _hook(self, name, kind):
        stats = self.stats

        def keep_saturation(module, args, output):
            y = output.data if isinstance(output, Tensor) else np.asarray(output)
            if kind is ReLU:
                low, high = int(np.count_nonzero(y == 0)), 0
            else:
                lo, hi = _BOUNDS[kind]
                low = int(np.count_nonzero(y <= lo + SATURATION))
                high = int(np.count_nonzero(y >= hi - SATURATION))
            stats[name] = ActivationStats(name, kind.__name__, int(y.size), low, high)

        return keep_saturation

    def remove(self) -> None:
        """Remove the hooks (reports on the model then show no activations)."""
        for h in self._handles:
            h.remove()
        self._handles = []
        model = self._model()
        if model is not None and _watches.get(model) is self:
            del _watches[model]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def watch_activations(model: Module) -> ActivationWatch:
    """Keep the saturation of each activation module's last output, for gradient reports.

    Installs a forward hook on every ``nn.Sigmoid``, ``nn.Tanh`` and ``nn.ReLU`` in
    ``model`` (``model.named_modules()``); each forward stores counts only (the share of
    outputs within 1e-3 of the bounds, or exactly 0 after a ReLU), never the arrays. Call
    it once before the forward; :func:`gradient_report` on the model then includes them.
    Watching again replaces the previous watch's place in reports (remove it to drop its
    hooks).

    Parameters
    ----------
    model : nn.Module

    Returns
    -------
    ActivationWatch
        ``.stats`` by module path; ``.remove()`` removes the hooks.

    Raises
    ------
    TypeError
        ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, Module):
        raise TypeError(f"watch_activations: model must be an nn.Module, got "
                        f"{type(model).__name__}")
    return ActivationWatch(model)


def _named_tensors(source, owner):
    if isinstance(source, Module):
        return list(source.named_parameters())
    items = source.items() if isinstance(source, Mapping) else source
    try:
        pairs = [(str(n), t) for n, t in items]
    except (TypeError, ValueError):
        pairs = None
    if pairs is None or not all(isinstance(t, Tensor) for _, t in pairs):
        raise TypeError(f"{owner}: expected an nn.Module, a dict name -> Tensor or "
                        f"(name, Tensor) pairs, got {type(source).__name__}")
    return pairs


def _param_stats(name, t, lr) -> ParamStats:
    w = t.data
    weight_norm = float(np.linalg.norm(np.ravel(w)))
    if t.grad is None:
        return ParamStats(name, t.shape, None, None, None, weight_norm, None)
    g = np.ravel(t.grad.data)
    norm = float(np.linalg.norm(g))
    ratio = None
    if lr is not None:
        ratio = lr * norm / weight_norm if weight_norm else float("inf")
    return ParamStats(name, t.shape, norm, float(np.mean(np.abs(g))) if g.size else 0.0,
                      float(np.count_nonzero(g == 0) / g.size) if g.size else 0.0,
                      weight_norm, ratio)


def gradient_report(model_or_named_tensors, lr=None) -> GradientReport:
    """The health of the gradients after a backward: per parameter and per activation.

    Call it after ``loss.backward()``. Per parameter: ``||g||``, ``mean |g|``, the share
    of exact zeros in ``g`` and, with ``lr``, the update-to-weight ratio
    ``lr * ||g|| / ||w||`` (about 1e-3 is the usual rule of thumb for SGD; much smaller
    means the layer barely learns). Per activation module of a model watched by
    :func:`watch_activations`: the share of its last forward's outputs that are saturated
    (sigmoid within 1e-3 of 0 or 1, tanh within 1e-3 of -1 or 1) or dead (ReLU output
    exactly 0), where the gradient through it is (nearly) zero.

    Parameters
    ----------
    model_or_named_tensors : nn.Module, dict of str to Tensor, or iterable of (str, Tensor)
        The parameters (``model.named_parameters()``, or ``{"W1": W1, ...}`` for a model
        written as expressions; activations are then not reported).
    lr : float, optional
        The learning rate of the update the gradients are for.

    Returns
    -------
    GradientReport
        ``print(report)`` for a table, ``report[name]`` for one row, ``report.plot()``.

    Raises
    ------
    TypeError
        ``model_or_named_tensors`` is of another form.
    ValueError
        ``lr`` is not a positive finite number.
    """
    pairs = _named_tensors(model_or_named_tensors, "gradient_report")
    if lr is not None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)) \
                or not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"gradient_report: lr must be a positive number, got {lr!r}")
        lr = float(lr)
    params = [_param_stats(n, t, lr) for n, t in pairs]
    watch = _watches.get(model_or_named_tensors) if isinstance(model_or_named_tensors,
                                                               Module) else None
    activations = list(watch.stats.values()) if watch is not None else []
    return GradientReport(params, activations, lr)


def _num(v, fmt=".3e") -> str:
    return "-" if v is None else format(v, fmt)


class GradientReport:
    """What :func:`gradient_report` returns.

    Attributes
    ----------
    params : list of ParamStats
        One per parameter, in the order given.
    activations : list of ActivationStats
        One per watched activation module, in the order of their last forward.
    lr : float or None
    """

    def __init__(self, params, activations, lr):
        self.params, self.activations, self.lr = params, activations, lr

    def __getitem__(self, name: str):
        """The :class:`ParamStats` (or :class:`ActivationStats`) named ``name``."""
        for row in (*self.params, *self.activations):
            if row.name == name:
                return row
        raise KeyError(f"GradientReport: no parameter or activation named {name!r}")

    def __str__(self) -> str:
        rows = [("parameter", "shape", "|g|", "mean |g|", "zeros",
                 "lr|g|/|w|" if self.lr is not None else "|w|")]
        for p in self.params:
            last = _num(p.update_ratio if self.lr is not None else p.weight_norm)
            rows.append((p.name, "x".join(map(str, p.shape)) or "()", _num(p.norm),
                         _num(p.mean_abs), _num(p.zero_share, ".1%"), last))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        if self.activations:
            lines += ["", "activation  kind     outputs  saturated (low / high)"]
            for a in self.activations:
                what = "dead" if a.kind == "ReLU" else f"{a.low} / {a.high}"
                lines.append(f"{a.name:<10}  {a.kind:<7}  {a.size:>7}  {a.saturated:7.1%} ({what})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<GradientReport: {len(self.params)} parameters, "
                f"{len(self.activations)} activations>")

    def plot(self, ax=None):
        """Gradient flow per layer: ``||g||`` and ``mean |g|`` per parameter as bars on a
        log scale, in model order (inputs to outputs); with watched activations a second
        panel shows their saturated share.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw the bars (the activation panel is then left out).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        if ax is None:
            n = 2 if self.activations else 1
            fig, axes = plt.subplots(1, n, figsize=(5 + 0.5 * len(self.params) + 3 * (n - 1), 3.6),
                                     squeeze=False,
                                     gridspec_kw={"width_ratios": [3, 1][:n]})
            ax, side = axes[0][0], (axes[0][1] if n == 2 else None)
        else:
            fig, side = ax.figure, None
        rows = [p for p in self.params if p.norm is not None]
        pos = np.arange(len(rows))
        tiny = np.finfo(float).tiny
        ax.bar(pos - 0.2, [max(p.norm, tiny) for p in rows], 0.4, label="|g|")
        ax.bar(pos + 0.2, [max(p.mean_abs, tiny) for p in rows], 0.4, label="mean |g|")
        ax.set_yscale("log")
        ax.set_xticks(pos, [p.name for p in rows], rotation=45, ha="right")
        ax.set_ylabel("gradient")
        ax.set_title("gradient flow per parameter")
        ax.legend()
        if side is not None:
            acts = self.activations
            side.barh(np.arange(len(acts)), [100 * a.saturated for a in acts], color="tab:red")
            side.set_yticks(np.arange(len(acts)), [f"{a.name} {a.kind}" for a in acts])
            side.invert_yaxis()
            side.set_xlim(0, 100)
            side.set_xlabel("% saturated / dead")
            side.set_title("activations")
        fig.tight_layout()
        return fig


class GradientHistory:
    """Gradient reports over training steps.

    ``history.record(model, lr)`` after each ``loss.backward()`` (before the optimiser's
    step) keeps that step's :class:`GradientReport` (numbers only); ``history.plot()``
    draws each parameter's ``||g||`` over the steps (and the watched activations'
    saturated share).

    Attributes
    ----------
    steps : list of int
        The step of each recorded report (0, 1, ... unless ``step=`` is given).
    reports : list of GradientReport
    """

    def __init__(self):
        self.steps: list[int] = []
        self.reports: list[GradientReport] = []

    def record(self, model_or_named_tensors, lr=None, step=None) -> GradientReport:
        """Take :func:`gradient_report` now and keep it; returns it. ``step`` defaults to
        the number of reports recorded before."""
        report = gradient_report(model_or_named_tensors, lr)
        self.steps.append(len(self.reports) if step is None else int(step))
        self.reports.append(report)
        return report

    def __len__(self) -> int:
        return len(self.reports)

    def series(self, name: str, field: str = "norm") -> np.ndarray:
        """One parameter's ``field`` (``"norm"``, ``"mean_abs"``, ``"zero_share"``,
        ``"update_ratio"``) or one activation's ``"saturated"`` over the recorded steps
        (NaN where it is missing)."""
        out = []
        for r in self.reports:
            try:
                v = getattr(r[name], field)
            except KeyError:
                v = None
            out.append(np.nan if v is None else v)
        return np.array(out, dtype=float)

    def plot(self):
        """``||g||`` per parameter over the steps on a log scale (and, for a watched model,
        the saturated share of each activation). Returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        names = list(dict.fromkeys(p.name for r in self.reports for p in r.params))
        acts = list(dict.fromkeys(a.name for r in self.reports for a in r.activations))
        n = 2 if acts else 1
        fig, axes = plt.subplots(1, n, figsize=(6 + 4 * (n - 1), 3.8), squeeze=False)
        ax = axes[0][0]
        for name in names:
            ax.plot(self.steps, self.series(name), label=name)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("|g|")
        ax.set_title("gradient norm per parameter")
        ax.legend(fontsize=7, ncol=2)
        if acts:
            side = axes[0][1]
            kinds = {a.name: a.kind for r in self.reports for a in r.activations}
            for name in acts:
                side.plot(self.steps, 100 * self.series(name, "saturated"),
                          label=f"{name} {kinds[name]}")
            side.set_ylim(0, 100)
            side.set_xlabel("step")
            side.set_ylabel("% saturated / dead")
            side.set_title("activations")
            side.legend(fontsize=7)
        fig.tight_layout()
        return fig
