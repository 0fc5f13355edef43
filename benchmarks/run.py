"""tensorgrad's benchmarks against NumPy, the seed notebook's layers and PyTorch: one command.

Run from the repository root::

    python benchmarks/run.py                  # everything: 1.5 min on 2 quiet cores, more under load
    python benchmarks/run.py --quick          # a smoke run, under a minute
    python benchmarks/run.py --only network   # workloads whose name contains "network"
    python benchmarks/run.py --threads 1      # PyTorch and NumPy's BLAS on one thread
    python benchmarks/run.py --json PATH      # default benchmarks/results/results.json

Workloads (names for ``--only``, comma-separated, matched as substrings):

``gemm``
    NumPy's 1024x1024 matrix product, float64 and float32: this machine's GFLOP/s, used as
    the peak for every FLOP floor (FLOP count / peak).
``network-f64``, ``network-f32``
    The notebook's network (see ``workloads.py``) trained one image at a time, time per
    sample for forward + backward + SGD update and seconds per epoch of 2,000 images
    (extrapolated from the per-sample median): tensorgrad as ``correlate2d`` expressions,
    with ``tg.conv2d``, with ``tg.nn``; the reference layers; PyTorch.
``batch32-f32``
    The same network on batches of 32, float32: ``tg.conv2d``, ``tg.nn``, PyTorch.
``ops``
    Per-op cost of add, mul, sigmoid on 10 elements and a 64x64 matmul (float64), forward
    (recorded) and forward + backward, against NumPy (the hand-written VJPs for the
    backward) and PyTorch; and the fixed cost of one backward call on a one-op graph.
``conv``
    The convolution benchmarks of ``benchmarks/bench_conv.py``, called as functions.
``memory``
    Peak resident memory of a 2-epoch per-sample training run, one process per system
    (``benchmarks/memory.py``, under ``/usr/bin/time -v`` when present), and the resident
    size after epoch 1 and after epoch 2.

Method: within a workload every system is timed round-robin in this one process, A, B, C,
A, B, C, ... (``repeat`` rounds, each timing ``number`` consecutive calls with
``timeit``), so that load from other processes hits them alike; tables show the median
over rounds and the interquartile range as a percentage of it. Before timing, the network
systems train two steps from the same start on the same images and their parameter updates
are compared (column "agrees"). PyTorch, when installed, runs with
``torch.set_num_threads(cores)`` and NumPy's BLAS with its own default; ``--threads N`` sets
both at run time (threadpoolctl), the OPENBLAS_* environment is never changed. On a shared
machine, multithreaded kernels stall when a thread is descheduled: run ``--threads 1`` too.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workloads as W  # noqa: E402

tg = W.tg

WORKLOADS = ("gemm", "network-f64", "network-f32", "batch32-f32", "ops", "conv", "memory")
DEFAULT_JSON = HERE / "results" / "results.json"
DENSE_FLOOR = "NumPy floor: dense 2880x100 alone"

# (number of calls per timing, rounds) for each workload, full and quick
SETTINGS = {
    "full": {"gemm": (3, 11), "network": (30, 41), "batch32": (10, 41), "ops": (3000, 31),
             "backward": (5000, 31), "conv": {"repeat": 15, "layers": 20, "batched": 3,
                                               "routes": 20},
             "memory_images": 500},
    "quick": {"gemm": (2, 3), "network": (10, 5), "batch32": (2, 3), "ops": (500, 5),
              "backward": (1000, 5), "conv": {"repeat": 3, "layers": 5, "batched": 1,
                                               "routes": 2},
              "memory_images": 100},
}

TARGETS = {
    "per_sample_vs_torch": 0.5,
    "per_sample_vs_reference": 0.1,
    "batch32_vs_torch": 1.0,
    "op_forward_overhead_us": 3.0,
}


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------
def round_robin(systems: dict, number: int, repeat: int, warmup: int = 2) -> dict:
    """Seconds per call of each system, one sample per round, systems in turn.

    ``systems`` maps a name to a callable or to ``(callable, before)``, where ``before()``
    runs (untimed) before each of that system's timings. Every system is first called
    ``warmup`` times. Returns {name: [seconds per call, one per round]}.
    """
    prepared = {}
    for name, s in systems.items():
        fn, before = s if isinstance(s, tuple) else (s, None)
        prepared[name] = (timeit.Timer(fn, setup="gc.enable()"), before)
        if before is not None:
            before()
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in systems}
    for _ in range(repeat):
        for name, (timer, before) in prepared.items():
            if before is not None:
                before()
            samples[name].append(timer.timeit(number) / number)
    return samples


def summary(samples: list) -> dict:
    """Median and interquartile range (as a fraction of the median) of timing samples."""
    med = statistics.median(samples)
    if len(samples) >= 4:
        q1, _, q3 = statistics.quantiles(samples, n=4)
        iqr = (q3 - q1) / med
    else:
        iqr = (max(samples) - min(samples)) / med
    return {"median_s": med, "iqr": iqr, "samples_s": samples}


# ---------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------
# Machine
# ---------------------------------------------------------------------------------------
def machine(torch) -> dict:
    """What the numbers depend on: CPU, cores, BLAS (threadpoolctl), versions, load."""
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "numpy": np.__version__, "cores": W.cores()}
    import scipy

    info["scipy"] = scipy.__version__
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        info["cpu"] = fields.get("Model name")
        info["lscpu"] = {k: fields.get(k) for k in ("CPU(s)", "Thread(s) per core",
                                                    "Core(s) per socket", "Hypervisor vendor",
                                                    "L2 cache", "L3 cache", "Flags")}
        flags = (fields.get("Flags") or "").split()
        info["lscpu"]["Flags"] = " ".join(f for f in flags if f.startswith(("avx", "fma")))
    except (OSError, subprocess.CalledProcessError):
        info["cpu"] = platform.processor() or None
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [{k: p.get(k) for k in ("user_api", "internal_api", "version",
                                                      "architecture", "num_threads",
                                                      "threading_layer", "prefix", "filepath")}
                               for p in threadpool_info()]
    except ImportError:
        info["threadpools"] = "threadpoolctl not installed"
    info["env"] = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                  "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                  "MKL_NUM_THREADS")}
    if torch is None:
        info["torch"] = "not installed"
    else:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_blas"] = "mkl" if torch.backends.mkl.is_available() else "other"
    try:
        rev = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain",
                                "--untracked-files=no", "tensorgrad"],
                               capture_output=True, text=True, check=True).stdout.strip()
        info["commit"] = rev + (" with local changes in tensorgrad/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = None
    info["load_average_start"] = os.getloadavg()
    return info


def describe(info: dict) -> str:
    blas = []
    if isinstance(info.get("threadpools"), list):
        for p in info["threadpools"]:
            path = p.get("filepath") or ""
            owner = next((name for name in ("numpy", "scipy", "torch") if name in path), "?")
            if p["user_api"] == "blas":
                blas.append(f"{owner}: {p['internal_api']} {p['version']}, kernel "
                            f"{p['architecture']}, {p['num_threads']} threads")
            else:
                blas.append(f"{owner}: {p['internal_api']} ({p['prefix']}), "
                            f"{p['num_threads']} threads")
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items() if v is not None) or "none set"
    lines = [
        f"CPU: {info.get('cpu')}, {info['cores']} cores"
        + (f" ({info['lscpu'].get('Hypervisor vendor')} guest)" if info.get("lscpu") else ""),
        f"Python {info['python']}, NumPy {info['numpy']}, SciPy {info['scipy']}, "
        f"PyTorch {info['torch']}"
        + (f" ({info['torch_threads']} thread{'s' if info['torch_threads'] > 1 else ''}, "
           f"BLAS {info['torch_blas']})"
           if "torch_threads" in info else ""),
        "Thread pools (threadpoolctl): " + ("; ".join(blas) if blas else str(info.get("threadpools"))),
        f"BLAS/OpenMP environment: {env}",
        f"tensorgrad: commit {info.get('commit')}",
        f"load average at start: {', '.join(f'{v:.2f}' for v in info['load_average_start'])}",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------
def run_gemm(number, repeat) -> dict:
    n = 1024
    samples = round_robin(W.gemm_systems(n), number, repeat, warmup=1)
    out = {}
    for name, s in samples.items():
        r = summary(s)
        r["gflops"] = 2.0 * n**3 / r["median_s"] / 1e9
        r["best_gflops"] = 2.0 * n**3 / min(s) / 1e9
        r["system"] = f"numpy.matmul {n}x{n} {name}"
        r["ms"] = r["median_s"] * 1e3
        out[name] = r
    return out


def run_network(dtype, batch, names, data, number, repeat, torch, peak_gflops) -> dict:
    """The notebook's network: rows per system, with agreement, medians and ratios."""
    dtype = np.dtype(dtype)
    available = [n for n in names if n != "torch" or torch is not None]
    agree = W.check_agreement(available, dtype, batch, data)
    systems = {name: W.make_network_system(name, dtype, batch, data)[0] for name in available}
    systems[DENSE_FLOOR] = W.dense_floor_system(dtype, batch)
    samples = round_robin(systems, number, repeat)
    rows = []
    tol = 1e-9 if dtype == np.float64 else 1e-3
    for name, s in samples.items():
        r = summary(s)
        r.update(system=name, per_sample_s=r["median_s"] / batch,
                 ms_per_sample=r["median_s"] / batch * 1e3,
                 s_per_epoch=r["median_s"] / batch * W.EPOCH_IMAGES)
        if name in agree:
            r.update(agreement=agree[name],
                     agrees="yes" if agree[name] <= tol else f"NO ({agree[name]:.1e})")
        rows.append(r)
    if torch is None:
        rows.append({"system": "torch", "agrees": "not installed"})
    flop = W.network_flop(batch)
    floor = flop / (peak_gflops * 1e9) / batch
    rows.append({"system": f"FLOP floor ({flop / batch / 1e6:.2f} MFLOP/image at "
                           f"{peak_gflops:.0f} GFLOP/s)",
                 "per_sample_s": floor, "ms_per_sample": floor * 1e3,
                 "s_per_epoch": floor * W.EPOCH_IMAGES})
    by = {r["system"]: r for r in rows}
    for r in rows:
        if "per_sample_s" not in r:
            continue
        for key, ref_name in (("x_torch", "torch"), ("x_reference", "reference layers")):
            ref_row = by.get(ref_name)
            if ref_row and "per_sample_s" in ref_row:
                r[key] = r["per_sample_s"] / ref_row["per_sample_s"]
    return {"dtype": dtype.name, "batch": batch, "flop_per_image": flop / batch,
            "rows": rows, "agreement_tolerance": tol}


def show_network(title, result):
    cols = [("system", "system", ""), ("ms/sample", "ms_per_sample", ".3f"),
            ("s/epoch (2000)", "s_per_epoch", ".2f"), ("x torch", "x_torch", ".2f")]
    if any("x_reference" in r for r in result["rows"]):
        cols.append(("x reference", "x_reference", ".3f"))
    cols += [("IQR", "iqr", ".0%"), ("agrees", "agrees", "")]
    return table(title, cols, result["rows"],
                 note="x torch / x reference: time ratio to that row (below 1 is faster); "
                      "IQR: interquartile range of the rounds, relative to the median.")


OPS = ("add", "mul", "sigmoid", "matmul 64x64")


def run_ops(number, repeat, bw_number, torch) -> dict:
    rows = []
    for op in OPS:
        for mode in ("forward", "forward+backward"):
            n = number if not op.startswith("matmul") else max(1, number // 4)
            samples = round_robin(W.op_systems(op, mode, torch), n, repeat)
            med = {k: summary(v) for k, v in samples.items()}
            row = {"op": op, "mode": mode, "medians": med}
            for k, v in med.items():
                row[f"{k}_us"] = v["median_s"] * 1e6
            row["tg_overhead_us"] = row["tensorgrad_us"] - row["numpy_us"]
            if "torch_us" in row:
                row["torch_overhead_us"] = row["torch_us"] - row["numpy_us"]
                row["tg_x_torch"] = row["tensorgrad_us"] / row["torch_us"]
            else:
                row["torch_us"] = "not installed"
            rows.append(row)
    samples = round_robin(W.backward_fixed_systems(torch), bw_number, repeat)
    backward = {k: summary(v) for k, v in samples.items()}
    brow = {"op": "backward() of y = x.sum()", "mode": "backward only"}
    for k, v in backward.items():
        brow[f"{k}_us"] = v["median_s"] * 1e6
    if "torch_us" in brow:
        brow["tg_x_torch"] = brow["tensorgrad_us"] / brow["torch_us"]
    else:
        brow["torch_us"] = "not installed"
    return {"rows": rows, "backward": brow, "flop_matmul64": 2.0 * 64**3}


def show_ops(result, peak64):
    rows = result["rows"] + [result["backward"]]
    for r in rows:
        if r["op"].startswith("matmul"):
            r["floor_us"] = result["flop_matmul64"] * (3 if "backward" in r["mode"] else 1) \
                / (peak64 * 1e9) * 1e6
    return table("Per-op cost, float64 (us per call)",
                 [("op", "op", ""), ("mode", "mode", ""), ("numpy", "numpy_us", ".2f"),
                  ("tensorgrad", "tensorgrad_us", ".2f"), ("torch", "torch_us", ".2f"),
                  ("tg - numpy", "tg_overhead_us", ".2f"),
                  ("torch - numpy", "torch_overhead_us", ".2f"),
                  ("tg / torch", "tg_x_torch", ".2f"), ("FLOP floor", "floor_us", ".2f")],
                 rows,
                 note="10-element vectors (64x64 for matmul); inputs require grad; numpy's "
                      "forward+backward row runs the hand-written VJPs. Last row: the backward "
                      "call alone, graph built once with retain_graph=True.")


def run_conv(cfg) -> dict:
    """bench_conv.py's three benchmarks, called as functions; their printout captured."""
    try:
        import bench_conv
    except Exception as err:  # report, never end the run
        return {"error": f"benchmarks/bench_conv.py could not be imported: {err!r}"}
    out = {}
    calls = {"notebook_layers": lambda: bench_conv.notebook_layers(cfg["layers"], cfg["repeat"]),
             "batched_float32": lambda: bench_conv.batched_float32(cfg["batched"], cfg["repeat"]),
             "route_choice": lambda: bench_conv.route_choice(cfg["routes"], cfg["repeat"])}
    for key, call in calls.items():
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                out[key] = call()
        except Exception as err:  # report, keep going
            out[key] = {"error": repr(err)}
        out[key + "_printout"] = buf.getvalue()
    return out


def show_conv(result, peak32):
    texts = []
    if "error" in result:
        print(f"\nconv: {result['error']}")
        return result["error"]
    nl = result.get("notebook_layers", {})
    if "medians_s" in nl:
        base = nl["medians_s"].get("scipy per-channel loop")
        rows = [{"system": k, "ms": v * 1e3, "x": v / base if base else None}
                for k, v in nl["medians_s"].items()]
        texts.append(table("Conv (bench_conv 1): notebook layers 1-2 on one 1x28x28 image, "
                           "forward+backward, float64",
                           [("system", "system", ""), ("ms", "ms", ".3f"),
                            ("x scipy loop", "x", ".2f")], rows))
    else:
        print(f"\nconv notebook_layers: {nl.get('error')}")
    bf = result.get("batched_float32", {})
    if "medians_s" in bf:
        floor = bf["flop"] / (peak32 * 1e9)
        rows = [{"system": k, "ms": v * 1e3, "gflops": bf["gflops"].get(k)}
                for k, v in bf["medians_s"].items()]
        rows.append({"system": f"FLOP floor ({bf['flop'] / 1e9:.3f} GFLOP at {peak32:.0f} "
                               "GFLOP/s)", "ms": floor * 1e3})
        texts.append(table("Conv (bench_conv 2): conv2d forward+backward, N=32, 16->32 "
                           "channels, 32x32, 3x3, pad 1, float32",
                           [("system", "system", ""), ("ms", "ms", ".3f"),
                            ("GFLOP/s", "gflops", ".1f")], rows,
                           note=(f"tg.conv2d / torch time ratio "
                                 f"{bf['time_ratio_tg_over_torch']:.2f}"
                                 if "time_ratio_tg_over_torch" in bf else "")))
    else:
        print(f"\nconv batched_float32: {bf.get('error')}")
    rc = result.get("route_choice", {})
    if rc and "error" not in rc:
        routes = ["fold", "dilated", "flat", "columns", "blocks", "whole"]
        rows = []
        for case, d in rc.items():
            row = {"case": case}
            for m in routes:
                t = d["medians_s"].get(m)
                row[m] = "-" if t is None else (f"{t * 1e3:.3f}" + ("*" if m in d["picked"] else ""))
            rows.append(row)
        texts.append(table("Conv (bench_conv 3): each contraction's two routes, ms "
                           "(* = the route the library picks)",
                           [("case", "case", "")] + [(m, m, "") for m in routes], rows,
                           note="input gradient: fold / dilated; weight gradient: flat / "
                                "columns; forward: blocks / whole"))
    elif rc:
        print(f"\nconv route_choice: {rc.get('error')}")
    return "\n".join(texts)


def run_memory(images, torch_installed) -> dict:
    """One process per system: peak RSS and RSS after each of two epochs."""
    timer = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    rows = []
    for name in W.NETWORK_SYSTEMS:
        if name == "torch" and not torch_installed:
            rows.append({"system": name, "peak_mib": "not installed"})
            continue
        cmd = [sys.executable, str(HERE / "memory.py"), "--system", name,
               "--images", str(images), "--epochs", "2"]
        if timer:
            cmd = [timer, "-v"] + cmd
        proc = subprocess.run(cmd, capture_output=True, text=True)
        try:
            child = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            own = proc.stderr.split("\tCommand being timed")[0].strip().splitlines()
            reason = own[-1] if own else f"exit status {proc.returncode}"
            rows.append({"system": name, "peak_mib": f"failed: {reason[:200]}"})
            continue
        if "error" in child:
            rows.append({"system": name, "peak_mib": child["error"]})
            continue
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        peak = int(m.group(1)) / 1024 if m else child["peak_rss_self_mib"]
        e1, e2 = child["rss_after_epoch_mib"][:2]
        rows.append({"system": name, "peak_mib": peak, "peak_source":
                     "/usr/bin/time -v" if m else "getrusage(RUSAGE_SELF)",
                     "import_mib": child["rss_after_import_mib"],
                     "build_mib": child["rss_after_build_mib"],
                     "epoch1_mib": e1, "epoch2_mib": e2, "growth_mib": e2 - e1,
                     "training_mib": peak - child["rss_after_import_mib"], "child": child})
    return {"images_per_epoch": images, "epochs": 2, "dtype": "float64", "rows": rows,
            "measured_with": "/usr/bin/time -v" if timer else "getrusage(RUSAGE_SELF)"}


def show_memory(result):
    return table(f"Memory: per-sample training, 2 epochs of {result['images_per_epoch']} "
                 "images, float64, one process per system (MiB)",
                 [("system", "system", ""), ("peak RSS", "peak_mib", ".1f"),
                  ("after import", "import_mib", ".1f"), ("model built", "build_mib", ".1f"),
                  ("after epoch 1", "epoch1_mib", ".1f"), ("after epoch 2", "epoch2_mib", ".1f"),
                  ("growth 1->2", "growth_mib", "+.2f"),
                  ("peak - import", "training_mib", ".1f")],
                 result["rows"],
                 note=f"peak from {result['measured_with']}; the others are VmRSS read by the "
                      "process itself.")


# ---------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------
def targets(results) -> list:
    """(description, value text, PASS/MISS/n/a) for every target the run can judge."""
    out = []
    n = results["machine"]["threads"]
    torch_name = f"torch ({n} thread{'s' if n > 1 else ''})"

    def rows_of(key):
        return {r["system"]: r for r in results.get(key, {}).get("rows", [])}

    net = rows_of("network-f64")
    for name in ("tg expr (correlate2d)", "tg conv2d", "tg nn") if net else ():
        r = net.get(name)
        for key, limit, other in (("x_torch", TARGETS["per_sample_vs_torch"], torch_name),
                                  ("x_reference", TARGETS["per_sample_vs_reference"],
                                   "reference layers")):
            label = f"per sample float64: {name} <= {limit}x {other}"
            if r is None or key not in r:
                out.append((label, "PyTorch not installed" if key == "x_torch" else "-", "n/a"))
            else:
                out.append((label, f"{r[key]:.3f}x", "PASS" if r[key] <= limit else "MISS"))
    b32 = rows_of("batch32-f32")
    for name in ("tg conv2d", "tg nn") if b32 else ():
        r = b32.get(name)
        limit = TARGETS["batch32_vs_torch"]
        label = f"batch 32 float32: {name} <= {limit}x {torch_name}"
        if r is None or "x_torch" not in r:
            out.append((label, "PyTorch not installed", "n/a"))
        else:
            out.append((label, f"{r['x_torch']:.3f}x", "PASS" if r["x_torch"] <= limit else "MISS"))
    ops = results.get("ops")
    if ops:
        limit = TARGETS["op_forward_overhead_us"]
        for r in ops["rows"]:
            if r["mode"] != "forward":
                continue
            label = f"forward overhead over NumPy, {r['op']}: <= {limit} us"
            v = r["tg_overhead_us"]
            out.append((label, f"{v:.2f} us", "PASS" if v <= limit else "MISS"))
        b = ops["backward"]
        label = "backward fixed cost (1-op graph) below PyTorch's"
        if isinstance(b.get("torch_us"), float):
            out.append((label, f"{b['tensorgrad_us']:.2f} us vs {b['torch_us']:.2f} us",
                        "PASS" if b["tensorgrad_us"] < b["torch_us"] else "MISS"))
        else:
            out.append((label, "PyTorch not installed", "n/a"))
    mem = rows_of("memory")
    if mem:
        t = mem.get("torch", {})
        for name in ("tg expr (correlate2d)", "tg conv2d", "tg nn"):
            r = mem.get(name, {})
            label = f"peak RSS: {name} below PyTorch's"
            if isinstance(r.get("peak_mib"), float) and isinstance(t.get("peak_mib"), float):
                out.append((label, f"{r['peak_mib']:.0f} MiB vs {t['peak_mib']:.0f} MiB",
                            "PASS" if r["peak_mib"] < t["peak_mib"] else "MISS"))
            else:
                out.append((label, "PyTorch not installed" if t.get("peak_mib") ==
                            "not installed" else "not measured", "n/a"))
        for name, r in mem.items():
            if name == "torch" or not isinstance(r.get("growth_mib"), float):
                continue
            label = f"no RSS growth epoch 1 -> 2: {name} (<= 1 MiB)"
            out.append((label, f"{r['growth_mib']:+.2f} MiB",
                        "PASS" if r["growth_mib"] <= 1.0 else "MISS"))
    return out


def show_targets(items):
    if not items:
        text = "\nTargets: none applies to the selected workloads"
        print(text)
        return text
    rows = [{"target": a, "measured": b, "result": c} for a, b, c in items]
    return table("Targets", [("target", "target", ""), ("measured", "measured", ""),
                             ("result", "result", "")], rows)


# ---------------------------------------------------------------------------------------
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description="tensorgrad benchmarks: medians and ratios against NumPy, the notebook's "
                    "layers and PyTorch, all systems of a workload timed round-robin.")
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run (< 1 min)")
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the results")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of PyTorch and of NumPy's BLAS (threadpoolctl); default: "
                             "the number of cores")
    parser.add_argument("--only", default=None,
                        help=f"comma-separated substrings of workload names {WORKLOADS}")
    args = parser.parse_args(argv)
    selected = list(WORKLOADS)
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        selected = [w for w in WORKLOADS if any(k in w for k in keys)]
        if not selected:
            parser.error(f"--only {args.only!r} matches none of {WORKLOADS}")
    cfg = SETTINGS["quick" if args.quick else "full"]
    started = time.perf_counter()
    threads = args.threads or W.cores()
    torch = W.import_torch()
    if torch is not None:
        torch.set_num_threads(threads)
    limits = None
    if args.threads is not None:
        try:
            from threadpoolctl import threadpool_limits

            limits = threadpool_limits(limits=threads, user_api="blas")  # noqa: F841 (kept)
        except ImportError:
            print("--threads: threadpoolctl is not installed; NumPy's BLAS threads unchanged")
    info = machine(torch)
    info["threads"] = threads
    print("tensorgrad benchmarks" + (" (--quick)" if args.quick else ""))
    print(describe(info))
    print("All systems of a workload are timed round-robin in this process; medians over "
          "rounds. The machine may be shared: compare ratios within a table, not across runs.")
    results = {"machine": info, "mode": "quick" if args.quick else "full",
               "selected": selected, "settings": cfg, "command": " ".join(
                   ["python benchmarks/run.py"] + (argv if argv is not None else sys.argv[1:]))}
    texts = {}
    elapsed = results["elapsed_by_workload_s"] = {}
    mark = [time.perf_counter()]

    def done(name):
        now = time.perf_counter()
        elapsed[name] = now - mark[0]
        mark[0] = now

    gemm = run_gemm(*cfg["gemm"])
    results["gemm"] = gemm
    peak = {k: v["gflops"] for k, v in gemm.items()}
    if "gemm" in selected:
        texts["gemm"] = table("GEMM: numpy.matmul 1024x1024 (this machine's peak for the floors)",
                              [("system", "system", ""), ("ms", "ms", ".2f"),
                               ("GFLOP/s (median)", "gflops", ".1f"),
                               ("GFLOP/s (best)", "best_gflops", ".1f"), ("IQR", "iqr", ".0%")],
                              list(gemm.values()))
    done("gemm")

    if any(w.startswith(("network", "batch32")) for w in selected):
        x, t, source = W.load_digits()
        results["data"] = source
        print(f"\ndata: {source}")
        done("data")
    for dtype in ("float64", "float32"):
        key = f"network-f{dtype[-2:]}"
        if key not in selected:
            continue
        res = run_network(dtype, 1, W.NETWORK_SYSTEMS, (x.astype(dtype), t.astype(dtype)),
                          *cfg["network"], torch, peak[dtype])
        results[key] = res
        texts[key] = show_network(f"The notebook's network, one image per step, {dtype} "
                                  "(forward + backward + SGD update)", res)
        done(key)
    if "batch32-f32" in selected:
        res = run_network("float32", 32, W.BATCHED_SYSTEMS,
                          (x.astype(np.float32), t.astype(np.float32)), *cfg["batch32"], torch,
                          peak["float32"])
        results["batch32-f32"] = res
        texts["batch32-f32"] = show_network("The notebook's network, batches of 32, float32 "
                                            "(forward + backward + SGD update; per sample = per "
                                            "step / 32)", res)
        done("batch32-f32")
    if "ops" in selected:
        res = run_ops(*cfg["ops"], cfg["backward"][0], torch)
        results["ops"] = res
        texts["ops"] = show_ops(res, peak["float64"])
        done("ops")
    if "conv" in selected:
        res = run_conv(cfg["conv"])
        results["conv"] = res
        texts["conv"] = show_conv(res, peak["float32"])
        done("conv")
    if "memory" in selected:
        res = run_memory(cfg["memory_images"], torch is not None)
        results["memory"] = res
        texts["memory"] = show_memory(res)
        done("memory")

    judged = targets(results)
    results["targets"] = [{"target": a, "measured": b, "result": c} for a, b, c in judged]
    texts["targets"] = show_targets(judged)
    info["load_average_end"] = os.getloadavg()
    results["elapsed_s"] = time.perf_counter() - started
    results["tables"] = texts
    print(f"\nload average at end: {', '.join(f'{v:.2f}' for v in info['load_average_end'])}; "
          f"elapsed {results['elapsed_s']:.0f} s ("
          + ", ".join(f"{k} {v:.0f} s" for k, v in elapsed.items()) + ")")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=float))
    print(f"written {path}")
    return results


if __name__ == "__main__":
    main()
