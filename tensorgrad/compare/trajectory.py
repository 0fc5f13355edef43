"""Several plain SGD steps on the reference network and on tensorgrad: :func:`trajectories`."""
from __future__ import annotations

import copy
from dataclasses import KW_ONLY, dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from ..state import no_grad
from .equivalents import BCE, Loss
from .model import as_float_input, build
from .rows import ROW_COLUMNS, Result, Row, diff, fmt, row_cells

__all__ = ["StepRecord", "TrajectoryReport", "trajectories"]


@dataclass(frozen=True, repr=False)
class StepRecord(Result):
    """One SGD step of :func:`trajectories`; ``print(step)`` shows its parameters.

    Attributes
    ----------
    step : int
        1 for the first step.
    sample : int
        Index into ``xs``/``ys`` of the sample used.
    loss_reference, loss_engine : float
        The loss of each side at this step (before its update).
    rows : list of Row
        Each parameter after the update, reference against tensorgrad (``quantity`` is the
        parameter's name), last layer first.
    atol, rtol : float or None
        The trajectory's tolerances.
    """

    step: int
    sample: int
    loss_reference: float
    loss_engine: float
    rows: list
    atol: Optional[float] = None
    rtol: Optional[float] = None

    def _rows(self) -> list:
        return self.rows

    @property
    def ok(self) -> bool:
        """True when every parameter agrees within the tolerance after this step."""
        return not self._failing(self.rows)

    @property
    def worst(self) -> Optional[Row]:
        """The parameter with the largest relative difference."""
        return max(self.rows, key=lambda r: (r.max_rel, r.max_abs), default=None)

    def __repr__(self) -> str:
        return self._repr(f"step {self.step}", f"sample {self.sample}",
                          f"{len(self.rows)} parameters", "ok" if self.ok else "FAIL")

    def __str__(self) -> str:
        return self._render(f"SGD step {self.step} on sample {self.sample}, loss "
                            f"{self.loss_reference:.12g} (reference), "
                            f"{self.loss_engine:.12g} (tensorgrad)",
                            "every parameter after the step: ", ROW_COLUMNS,
                            row_cells(self.rows, self.atol, self.rtol),
                            [self._verdict("parameters")])


_STEP_COLUMNS = [("step", True), ("sample", True), ("loss (reference)", False),
                 ("loss (tensorgrad)", False), ("max abs diff", True), ("max rel diff", True),
                 ("worst parameter", False), ("status", False)]


@dataclass(repr=False, eq=False)
class TrajectoryReport(Result):
    """Parameter trajectories of the reference network and of tensorgrad under plain SGD.

    Made by :func:`trajectories`; ``print(report)`` shows one line per step.

    Attributes
    ----------
    steps : list of StepRecord
    learning_rate : float
    atol, rtol : float or None
        Tolerances of the ``ok`` column (None: atol 0, rtol 1e-10 for float64, 1e-4 for
        float32).
    n_layers : int
    loss_name : str
    reference : list of layers
        The reference network after the last step (a deep copy of the one passed in).
    model : EngineModel
        The tensorgrad network after the last step (over copies of the initial parameters).
    """

    steps: list
    _: KW_ONLY
    learning_rate: float
    atol: Optional[float]
    rtol: Optional[float]
    n_layers: int
    loss_name: str
    reference: Optional[list] = None
    model: Any = None

    def _rows(self) -> list:
        return [r for s in self.steps for r in s.rows]

    def first_divergence(self, atol: Optional[float] = None,
                         rtol: Optional[float] = None) -> Optional[Tuple[int, Row]]:
        """``(step, row)`` of the first parameter outside the tolerance, or None."""
        for s in self.steps:
            bad = self._failing(s.rows, atol, rtol)
            if bad:
                return s.step, bad[0]
        return None

    @property
    def ok(self) -> bool:
        """True when the trajectories agree within the report's tolerance at every step."""
        return self.first_divergence() is None

    def assert_close(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> None:
        """Raise unless every parameter agrees after every step.

        Raises
        ------
        AssertionError
            Naming the first step and parameter that diverge, the worst element's index and
            both values.
        """
        atol, rtol = self._tolerances(atol, rtol)
        first = self.first_divergence(atol, rtol)
        if first is not None:
            step, row = first
            raise AssertionError(f"compare: the parameter trajectories diverge at step {step} "
                                 f"of {len(self.steps)}: {row.describe(atol, rtol)}")

    def __repr__(self) -> str:
        first = self.first_divergence()
        return self._repr(f"{len(self.steps)} steps",
                          "ok" if first is None else f"diverge at step {first[0]}")

    def __str__(self) -> str:
        cells = []
        for s in self.steps:
            worst = s.worst
            cells.append([str(s.step), str(s.sample), f"{s.loss_reference:.12g}",
                          f"{s.loss_engine:.12g}", fmt(s.max_abs), fmt(s.max_rel),
                          "" if worst is None else f"{worst.layer} {worst.name} {worst.quantity}",
                          "ok" if not self._failing(s.rows) else "FAIL"])
        first = self.first_divergence()
        if first is None:
            verdict = (f"the trajectories agree over {len(self.steps)} steps: "
                       f"{self._extremes()}")
        else:
            verdict = (f"first divergence at step {first[0]}: "
                       f"{first[1].describe(self.atol, self.rtol)}")
        return self._render(f"{len(self.steps)} SGD steps, learning_rate={self.learning_rate:g}, "
                            f"{self.n_layers} layers, loss {self.loss_name}",
                            "every parameter compared after each step: ", _STEP_COLUMNS, cells,
                            [verdict])


def trajectories(layers: Sequence[Any], xs, ys, learning_rate: float,
                 steps: Optional[int] = None, *, loss: Loss = BCE,
                 atol: Optional[float] = None, rtol: Optional[float] = None) -> TrajectoryReport:
    """Run plain SGD on the reference network and on tensorgrad; compare the trajectories.

    Both sides start from identical copies of the layers' parameters (the network passed in
    is never modified) and take one step per sample:

    * reference: the notebook's own loop, ``grad = loss.prime(y, output)`` then
      ``grad = layer.backward(grad, learning_rate)`` for each layer, last first;
    * tensorgrad: forward, ``loss.engine(output, y).backward()``, then
      ``p -= learning_rate * p.grad`` for every parameter (under ``no_grad``), gradients
      cleared.

    After each step every parameter of the two sides is compared.

    Parameters
    ----------
    layers : sequence of layers
        As for :func:`~tensorgrad.compare.gradients`.
    xs, ys : sequence of array_like
        Samples and targets (same length); step ``k`` (from 0) uses sample ``k % len(xs)``.
    learning_rate : float
        The SGD step size.
    steps : int, optional
        Number of steps; defaults to ``len(xs)``.
    loss : Loss, default BCE
    atol, rtol : float, optional
        Tolerances as in :func:`~tensorgrad.compare.gradients`.

    Returns
    -------
    TrajectoryReport

    Raises
    ------
    ValueError
        Empty ``xs``, ``xs`` and ``ys`` of different lengths, or a negative ``steps``.
    TypeError
        A layer with no known tensorgrad expression.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import compare, reference as ref
    >>> net = [ref.Dense(4, 2, rng=0), ref.Sigmoid()]
    >>> rng = np.random.default_rng(0)
    >>> xs = rng.random((3, 4, 1))
    >>> ys = [np.array([[1.0], [0.0]])] * 3
    >>> report = compare.trajectories(net, xs, ys, learning_rate=0.5, steps=6)
    >>> report.ok, len(report.steps)
    (True, 6)
    """
    layers, model = build(layers, "trajectories", copy=True)
    xs, ys = list(xs), list(ys)
    if not xs:
        raise ValueError("compare.trajectories: expected at least one sample, got none")
    if len(xs) != len(ys):
        raise ValueError(f"compare.trajectories: expected as many targets as samples, got "
                         f"{len(xs)} samples and {len(ys)} targets")
    steps = len(xs) if steps is None else int(steps)
    if steps < 0:
        raise ValueError(f"compare.trajectories: steps must be >= 0, got {steps}")

    reference = copy.deepcopy(layers)
    params = model.parameters()
    records = []
    for k in range(steps):
        sample = k % len(xs)
        x = as_float_input(xs[sample], "trajectories")
        target = np.asarray(ys[sample])

        output = x
        for layer in reference:
            output = layer.forward(output)
        loss_reference = float(loss.value(target, output))
        g = loss.prime(target, output)
        for layer in reversed(reference):
            g = layer.backward(g, learning_rate)

        loss_t = loss.engine(model(x), target)
        loss_t.backward()
        with no_grad():
            for p in params:
                if p.grad is not None:
                    p.data -= learning_rate * p.grad.data
                p.grad = None

        rows = []  # last layer first: the order the backward pass computes them
        for i in reversed(range(len(reference))):
            eng = model.layers[i]
            for kw, t in eng.params.items():
                attr = eng.equivalent.params[kw]
                rows.append(diff(f"step {k + 1}", i, eng.name, attr,
                                 getattr(reference[i], attr), t))
        records.append(StepRecord(k + 1, sample, loss_reference, float(loss_t.item()), rows,
                                  atol, rtol))
    return TrajectoryReport(records, learning_rate=learning_rate, atol=atol, rtol=rtol,
                            n_layers=len(layers), loss_name=loss.name, reference=reference,
                            model=model)
