"""The README's Performance section, as Markdown, from the JSON of one ``run.py`` run.

    python benchmarks/run.py                      # writes benchmarks/results/results.json
    python benchmarks/readme_table.py             # prints the section's tables from it
    python benchmarks/readme_table.py other.json --compile-targets

Every figure of the output comes from that one file: the machine and its load, the
training step of the notebook's network per image (float64 and float32) and per batch of
32 (float32), eager and compiled, as milliseconds per image and as a ratio to PyTorch's;
the batched convolution; peak memory; and the targets with the verdicts ``run.py``
printed (PASS / MISS; "?" where PyTorch's row was unstable).
"""
from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "results.json"

# rows of the training table: (label, system name in run.py's workloads)
SYSTEMS = [("expressions", "tg expr (correlate2d)"),
           ("expressions, `tg.compile`", "tg expr compiled"),
           ("`tg.conv2d`", "tg conv2d"),
           ("`tg.conv2d`, `tg.compile`", "tg conv2d compiled"),
           ("`tg.nn`", "tg nn"),
           ("`tg.nn`, `tg.compile`", "tg nn compiled"),
           ("the notebook's layers", "reference layers"),
           ("PyTorch", "torch")]
COLUMNS = [("float64, one image", "network-f64"), ("float32, one image", "network-f32"),
           ("float32, batches of 32", "batch32-f32")]


def _rows(results, key):
    return {r["system"]: r for r in results.get(key, {}).get("rows", [])}


def _cell(row):
    if not row or "ms_per_sample" not in row:
        return "-"
    ms = row["ms_per_sample"]
    text = f"{ms:.3f}" if ms < 1 else f"{ms:.2f}"
    return f"{text} ({row['x_torch']:.2f}×)" if "x_torch" in row and row["system"] != "torch" \
        else text


def markdown(results: dict, compile_only: bool = False) -> str:
    """The section's Markdown (see the module docstring); ``compile_only``: of the targets,
    only ``tg.compile``'s (the others counted in one line)."""
    m = results["machine"]
    threads = m.get("threads")
    threads = f"PyTorch and BLAS on {threads} thread{'s' * (threads != 1)}" if threads else (
        "PyTorch on one thread per core, BLAS on its default")
    end = m.get("load_average_end", [float("nan")])[0]
    lines = [f"One run of `{results.get('command', 'python benchmarks/run.py')}` at commit "
             f"{m.get('commit', '?')}, on {m.get('cores', '?')} cores of an "
             f"{m.get('cpu') or 'unknown CPU'}, NumPy {m['numpy']}, PyTorch {m.get('torch')}, "
             f"{threads}; load average {m['load_average_start'][0]:.1f} at the start, "
             f"{end:.1f} at the end ({results.get('elapsed_s', 0) / 60:.0f} min). One "
             "training step of the notebook's network (forward, backward, SGD update), ms per "
             "image and the ratio to PyTorch's time (below 1: faster):", ""]
    present = [(label, key) for label, key in COLUMNS if key in results]
    lines.append("| | " + " | ".join(label for label, _ in present) + " |")
    lines.append("| --- |" + " --- |" * len(present))
    tables = {key: _rows(results, key) for _, key in present}
    for label, name in SYSTEMS:
        cells = [_cell(tables[key].get(name)) for _, key in present]
        if any(c != "-" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    conv = results.get("conv", {}).get("batched_float32", {})
    medians = conv.get("medians_s", {})
    if "tg.conv2d" in medians and "torch conv2d" in medians:
        lines += ["", f"Batched `conv2d` forward + backward (N = 32, 16 → 32 channels, 32×32, "
                      f"3×3, float32): {medians['tg.conv2d'] * 1e3:.1f} ms against PyTorch's "
                      f"{medians['torch conv2d'] * 1e3:.1f} ms "
                      f"({conv['time_ratio_tg_over_torch']:.2f}×); forward alone "
                      f"{medians['tg.conv2d forward only'] * 1e3:.1f} ms against "
                      f"{medians['torch conv2d forward only'] * 1e3:.1f} ms."]
        products = medians.get("tg.conv2d's products alone")
        if products:
            lines[-1] += (f" The BLAS products of `tg.conv2d`'s kernels alone, their operands "
                          f"laid out beforehand and in cache: {products * 1e3:.1f} ms "
                          f"({products / medians['torch conv2d']:.2f}×).")
        layouts = medians.get("tg.conv2d's layouts alone")
        if layouts:
            lines[-1] += (f" The least layout work of those kernels alone (padding, im2col, "
                          f"bias, spread cotangent, fold): {layouts * 1e3:.1f} ms "
                          f"({layouts / medians['torch conv2d']:.2f}×).")
    mem = {r["system"]: r for r in results.get("memory", {}).get("rows", [])}
    peaks = [(label, mem[name]["peak_mib"]) for label, name in SYSTEMS
             if isinstance(mem.get(name, {}).get("peak_mib"), float)]
    if peaks:
        lines += ["", "Peak resident memory of two epochs of 500 images, one image per step, "
                      "float64: " + ", ".join(f"{label} {v:.0f} MiB" for label, v in peaks) + "."]
    targets = results.get("targets", [])
    shown = [t for t in targets if not compile_only or _about_compile(t["target"])]
    if shown:
        lines += ["", "| target | measured | |", "| --- | --- | --- |"]
        lines += [f"| {t['target']} | {t['measured']} | {t['result']} |" for t in shown]
    if len(shown) < len(targets):
        lines += ["", f"The run's {len(targets) - len(shown)} other targets (eager speed, "
                      "op overhead, memory against PyTorch): "
                      + ", ".join(f"{sum(t['result'].startswith(r) for t in targets if t not in shown)}"
                                  f" {r}" for r in ("PASS", "MISS")) + "."]
    return "\n".join(textwrap.fill(line, WIDTH, break_on_hyphens=False)
                     if not line.startswith("|") else line for line in lines)


WIDTH = 95  # the README's prose lines


def _about_compile(label):
    """Whether a target of run.py's is one of ``tg.compile``'s: the compiled systems, the
    batched convolution, and memory of the compiled systems."""
    return "compiled" in label or label.startswith("batched conv2d")


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="?", default=str(DEFAULT_JSON))
    parser.add_argument("--compile-targets", action="store_true",
                        help="list only tg.compile's targets (the others counted)")
    args = parser.parse_args(argv)
    text = markdown(json.loads(Path(args.json).read_text()), args.compile_targets)
    print(text)
    return text


if __name__ == "__main__":
    main()
