"""One compared quantity (:class:`Row`), and the tolerance and table shared by every report."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from ..tensor import Tensor

__all__ = ["Row"]

_TINY = np.finfo(np.float64).tiny


def default_rtol(dtype) -> float:
    """1e-10 for float64 and wider, 1e-4 for float32, 1e-2 below."""
    dt = np.dtype(dtype)
    if dt.kind != "f" or dt.itemsize >= 8:
        return 1e-10
    return 1e-4 if dt.itemsize == 4 else 1e-2


@dataclass(frozen=True)
class Row:
    """The difference between one reference quantity and tensorgrad's.

    Attributes
    ----------
    phase : str
        ``"forward"``, ``"loss"``, ``"backward"``, or ``"step k"`` in a trajectory.
    layer : int or None
        Index of the layer in the network (None for the loss).
    name : str
        The layer's class name (or the loss's name).
    quantity : str
        ``"output"``, ``"input grad"``, ``"<parameter> grad"`` (a trailing ``*`` when the
        gradient was recovered from the layer's update), ``"value"`` and ``"output grad"``
        for the loss, or the parameter's name in a trajectory.
    shape, reference_shape : tuple of int
        Shapes of tensorgrad's value and of the reference's.
    max_abs : float
        ``max |reference - tensorgrad|`` (inf if the shapes differ or a NaN is on one side).
    max_rel : float
        ``max_abs / max |tensorgrad|``: normwise, relative to tensorgrad's largest magnitude.
    scale : float
        ``max |tensorgrad|`` over the finite elements.
    index : tuple of int
        Index of the worst element.
    reference_value, engine_value : float
        The two values at ``index``.
    dtype : str
        The dtype the default tolerance is chosen for (the narrower float of the two).
    """

    phase: str
    layer: Optional[int]
    name: str
    quantity: str
    shape: Tuple[int, ...]
    max_abs: float
    max_rel: float
    scale: float
    index: Tuple[int, ...]
    reference_value: float
    engine_value: float
    dtype: str
    reference_shape: Tuple[int, ...]

    def _resolved(self, atol, rtol) -> Tuple[float, float]:
        return (0.0 if atol is None else atol,
                default_rtol(self.dtype) if rtol is None else rtol)

    def tolerance(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> float:
        """``atol + rtol * max|tensorgrad|``; atol defaults to 0, rtol to the dtype's
        (1e-10 for float64, 1e-4 for float32)."""
        atol, rtol = self._resolved(atol, rtol)
        return atol + rtol * self.scale

    def passes(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> bool:
        """Whether ``max_abs <= atol + rtol * max|tensorgrad|`` (see :meth:`tolerance`)."""
        return bool(self.max_abs <= self.tolerance(atol, rtol))

    @property
    def where(self) -> str:
        """``"layer 7 (Dense) input grad"``: where this row is, in words."""
        if self.layer is None:
            return f"loss ({self.name}) {self.quantity}"
        return f"layer {self.layer} ({self.name}) {self.quantity}"

    def describe(self, atol: Optional[float] = None, rtol: Optional[float] = None) -> str:
        """One sentence on this row: the worst element, both values and the tolerance."""
        if self.shape != self.reference_shape:
            return (f"{self.where}: the reference value has shape {self.reference_shape}, "
                    f"tensorgrad's has shape {self.shape}")
        a, r = self._resolved(atol, rtol)
        return (f"{self.where} differs: worst element at index {self.index}: reference "
                f"{self.reference_value!r}, tensorgrad {self.engine_value!r}; "
                f"max abs diff {self.max_abs:.3e} > atol + rtol * max|tensorgrad| = "
                f"{fmt_tol(a)} + {fmt_tol(r)} * {self.scale:.3e} = "
                f"{self.tolerance(atol, rtol):.3e} (max rel diff {self.max_rel:.3e})")


def diff(phase, layer, name, quantity, reference, engine) -> Row:
    """Compare two arrays: max abs and normwise relative difference, and the worst element."""
    b = np.asarray(engine.data if isinstance(engine, Tensor) else engine)
    a = np.asarray(reference)
    floats = [d for d in (a.dtype, b.dtype) if d.kind == "f"]
    dtype = str(min(floats, key=lambda d: d.itemsize)) if floats else "float64"
    where = (phase, layer, name, quantity, tuple(b.shape))
    if a.shape != b.shape:
        return Row(*where, math.inf, math.inf, math.nan, (), math.nan, math.nan, dtype,
                   tuple(a.shape))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
        d = np.where(same, 0.0, np.abs(a64 - b64))
    d[np.isnan(d)] = math.inf
    finite_b = np.abs(b64[np.isfinite(b64)])
    scale = float(finite_b.max()) if finite_b.size else 0.0
    if d.size == 0:
        return Row(*where, 0.0, 0.0, scale, (), math.nan, math.nan, dtype, tuple(a.shape))
    flat = int(np.argmax(d))
    index = tuple(int(i) for i in np.unravel_index(flat, d.shape))
    max_abs = float(d.flat[flat])
    return Row(*where, max_abs, max_abs / max(scale, _TINY), scale, index,
               float(a64.flat[flat]), float(b64.flat[flat]), dtype, tuple(a.shape))


# ---------------------------------------------------------------------------------------------
# Formatting shared by Report, StepRecord and TrajectoryReport
# ---------------------------------------------------------------------------------------------

def fmt(x: float) -> str:
    return f"{x:.2e}" if math.isfinite(x) else str(x)


def fmt_tol(v: float) -> str:
    """1e-10 -> '1e-10', 1e-4 -> '1e-4', 0.5 -> '0.5'."""
    if v == 0 or v >= 1e-3:
        return f"{v:g}"
    mantissa, exponent = f"{v:e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _tol_text(atol, rtol, rows) -> str:
    if rtol is None:
        dtypes = sorted({r.dtype for r in rows})
        defaults = ", ".join(f"{fmt_tol(default_rtol(d))} for {d}" for d in dtypes)
        r = f"{defaults or '1e-10 for float64'}, the default"
    else:
        r = fmt_tol(rtol)
    return f"atol={fmt_tol(0.0 if atol is None else atol)}, rtol={r}"


def _table(columns: Sequence[Tuple[str, bool]], rows: Sequence[Sequence[str]]) -> list:
    """Fixed-width lines; ``columns`` are ``(header, right-aligned)``."""
    widths = [max([len(h)] + [len(r[c]) for r in rows]) for c, (h, _) in enumerate(columns)]

    def line(cells):
        return "  ".join(cell.rjust(w) if right else cell.ljust(w)
                         for cell, w, (_, right) in zip(cells, widths, columns)).rstrip()

    return [line([h for h, _ in columns]), line(["-" * w for w in widths]),
            *(line(r) for r in rows)]


#: The columns of a table of rows (Report, StepRecord).
ROW_COLUMNS = [("pass", False), ("#", True), ("layer", False), ("quantity", False),
               ("shape", False), ("max abs diff", True), ("max rel diff", True),
               ("status", False)]


def row_cells(rows: Sequence[Row], atol, rtol) -> list:
    """The cells of :data:`ROW_COLUMNS`, one list a row (the phase shown where it changes)."""
    cells, prev = [], None
    for r in rows:
        shape = "(" + ", ".join(map(str, r.shape)) + ("," if len(r.shape) == 1 else "") + ")"
        cells.append([r.phase if r.phase != prev else "",
                      "" if r.layer is None else str(r.layer), r.name, r.quantity, shape,
                      fmt(r.max_abs), fmt(r.max_rel),
                      "ok" if r.passes(atol, rtol) else "FAIL"])
        prev = r.phase
    return cells


class Result:
    """What every report shares: tolerances, the extremes, ``repr`` and the printed table.

    A subclass has ``atol``, ``rtol`` and :meth:`_rows`, the rows it holds.
    """

    atol: Optional[float] = None
    rtol: Optional[float] = None

    def _rows(self) -> list:
        raise NotImplementedError

    @property
    def max_abs(self) -> float:
        """The largest absolute difference over every row."""
        return max((r.max_abs for r in self._rows()), default=0.0)

    @property
    def max_rel(self) -> float:
        """The largest normwise relative difference over every row."""
        return max((r.max_rel for r in self._rows()), default=0.0)

    def _tolerances(self, atol, rtol) -> Tuple[Optional[float], Optional[float]]:
        return (self.atol if atol is None else atol, self.rtol if rtol is None else rtol)

    def _failing(self, rows, atol=None, rtol=None) -> list:
        atol, rtol = self._tolerances(atol, rtol)
        return [r for r in rows if not r.passes(atol, rtol)]

    def _extremes(self) -> str:
        return f"max abs diff {fmt(self.max_abs)}, max rel diff {fmt(self.max_rel)}"

    def _repr(self, *parts: str) -> str:
        return f"<compare.{type(self).__name__}: {', '.join(parts)}, {self._extremes()}>"

    def _render(self, title: str, legend: str, columns, cells, footer: Sequence[str]) -> str:
        """The printed report: a heading, the tolerance, a table, then ``footer``."""
        lines = [f"tensorgrad vs reference: {title}",
                 f"{legend}abs = max|reference - tensorgrad|, rel = abs / max|tensorgrad|",
                 "ok if abs <= atol + rtol * max|tensorgrad| "
                 f"({_tol_text(self.atol, self.rtol, self._rows())})",
                 "", *_table(columns, cells), "", *footer]
        return "\n".join(lines)

    def _verdict(self, noun: str) -> str:
        """The last line of a table of rows: all agree, or the first that fails."""
        rows = self._rows()
        bad = self._failing(rows)
        if bad:
            return (f"{len(bad)} of {len(rows)} {noun} FAIL; the first, in the order they are "
                    f"computed: {bad[0].where}")
        return f"all {len(rows)} {noun} agree: {self._extremes()}"
