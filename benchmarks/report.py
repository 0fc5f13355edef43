"""Text tables for the benchmark reports (``run.py``, ``bench_conv.py``)."""
from __future__ import annotations


def fmt(value, spec):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return format(value, spec)


def table(title: str, columns: list, rows: list, note: str = "") -> str:
    """Text table: columns are (header, key, format spec); rows are dicts."""
    cells = [[h for h, _, _ in columns]]
    for r in rows:
        cells.append([fmt(r.get(k), spec) for _, k, spec in columns])
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    lines = [f"\n{title}"]
    for j, c in enumerate(cells):
        line = "  " + "  ".join(s.ljust(w) if i == 0 else s.rjust(w)
                                for i, (s, w) in enumerate(zip(c, widths)))
        lines.append(line.rstrip())
        if j == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    if note:
        lines.append(f"  {note}")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def agrees(row, tol):
    """The "agrees" cell of a row: yes, NO (difference), or "-" when not compared."""
    if "agreement" not in row:
        return "-"
    return "yes" if row["agreement"] <= tol else f"NO ({row['agreement']:.1e})"
