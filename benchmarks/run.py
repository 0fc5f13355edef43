"""tensorgrad's benchmarks against NumPy, the seed notebook's layers and PyTorch: one command.

Run from the repository root::

    python benchmarks/run.py                  # everything, a few minutes on 2 cores
    python benchmarks/run.py --quick          # a smoke run, about a minute
    python benchmarks/run.py --only network   # workloads whose name contains "network"
    python benchmarks/run.py --threads 1      # PyTorch and every BLAS on one thread
    python benchmarks/run.py --rounds 61       # more rounds for every timed workload
    python benchmarks/run.py --baseline HEAD~1 --only network,batch32
                                              # "not slower": this tree against a commit
    python benchmarks/run.py --against PATH   # ... or against another checkout
    python benchmarks/run.py --json PATH      # default benchmarks/results/results.json

Workloads (names for ``--only``, comma-separated, matched as substrings):

``gemm``
    NumPy's 1024x1024 matrix product, float64 and float32: this machine's GFLOP/s, used as
    the peak for every FLOP floor (FLOP count / peak).
``network-f64``, ``network-f32``
    The notebook's network (see ``workloads.py``) trained one image at a time, time per
    sample for forward + backward + SGD update and seconds per epoch of 2,000 images
    (extrapolated from the per-sample median): tensorgrad as ``correlate2d`` expressions,
    with ``tg.conv2d``, with ``tg.nn``, the expressions and ``tg.nn`` through ``tg.compile``
    ("compiled": recorded once, replayed; docs/compile.md); the reference layers; PyTorch.
``batch32-f32``
    The same network on batches of 32, float32: ``tg.conv2d``, ``tg.nn``, both compiled,
    PyTorch.
``ops``
    Per-op cost of add, mul, sigmoid on 10 elements and a 64x64 matmul (float64), forward
    (recorded) and forward + backward, against NumPy (the hand-written VJPs for the
    backward) and PyTorch; and the fixed cost of one backward call on a one-op graph.
``conv``
    The convolution benchmarks of ``benchmarks/bench_conv.py``.
``memory``
    Peak resident memory of a 2-epoch per-sample training run, one process per system
    (``benchmarks/memory.py``, under ``/usr/bin/time -v`` when present), and the resident
    size after epoch 1 and after epoch 2.

Method (``harness.py``): every system -- each tensorgrad variant, the reference layers, each
NumPy floor, PyTorch -- runs in a Python process of its own that imports only its library
(a tensorgrad or NumPy process never imports PyTorch; the PyTorch process gets its images
and initial values from a ``.npz`` file and never imports tensorgrad). The processes live
for one workload and take turns, one at a time: A, B, C, then C, B, A, ... (``repeat``
rounds, each timing ``number`` consecutive calls with ``timeit``), so that load from other
processes hits them alike; tables show the median over rounds and the interquartile range
as a percentage of it. Before timing, the systems' results are compared across the
processes (column "agrees": the network systems train two steps from the same start on the
same images and their parameter updates are compared). PyTorch runs with
``torch.set_num_threads(cores)`` and the BLAS libraries with their own default; ``--threads
N`` sets all of them in every process (threadpoolctl and ``torch.set_num_threads``).

"Not slower" (``--baseline REV`` or ``--against PATH``): every tensorgrad system is also run
from commit REV (``git archive`` of its ``tensorgrad/`` and ``examples/`` into a temporary
directory; the processes of those systems import that tensorgrad, which the harness checks)
or from the checkout at PATH, taking its turn right next to the current tree's. For each
such pair the table gives the median over rounds of the per-round ratio new/old and PASS
when it is at most 1.03. The protocol: at least five rounds (fewer are raised to five),
against the commit before the change.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_conv  # noqa: E402
import harness as H  # noqa: E402
import workloads as W  # noqa: E402
from report import table  # noqa: E402

WORKLOADS = ("gemm", "network-f64", "network-f32", "batch32-f32", "ops", "conv", "memory")
DEFAULT_JSON = HERE / "results" / "results.json"
DENSE_FLOOR = "NumPy floor: dense 2880x100 alone"
NOT_SLOWER = 1.03  # the largest median ratio new/old that passes "not slower"
MIN_BASELINE_ROUNDS = 5
UNSTABLE_IQR = 0.5  # a target judged on a row with a wider IQR is marked "?"

# (number of calls per timing, rounds) for each workload, full and quick
SETTINGS = {
    "full": {"gemm": (3, 11), "network": (30, 41), "batch32": (10, 41), "ops": (3000, 31),
             "backward": (5000, 31), "conv": {"quick": False}, "memory_images": 500},
    "quick": {"gemm": (2, 3), "network": (10, 5), "batch32": (2, 5), "ops": (500, 5),
              "backward": (1000, 5), "conv": {"quick": True}, "memory_images": 100},
}

TARGETS = {
    "compiled_nn_per_sample_vs_torch": 0.6,
    "compiled_expr_per_sample_vs_torch": 0.7,
    "compiled_batch32_vs_torch": 1.0,
    "batched_conv_vs_torch": {2: 1.0, 1: 1.2},  # by thread count
    "per_sample_vs_torch": 0.5,
    "per_sample_vs_reference": 0.1,
    "batch32_vs_torch": 1.0,
    "op_forward_overhead_us": 3.0,
}


# ---------------------------------------------------------------------------------------
# Machine
# ---------------------------------------------------------------------------------------
def machine() -> dict:
    """What the numbers depend on: CPU, cores, versions, environment, commit, load. The
    thread pools are reported by the workers (:func:`thread_pools`)."""
    import scipy

    info = {"python": platform.python_version(), "platform": platform.platform(),
            "numpy": np.__version__, "scipy": scipy.__version__, "cores": W.cores()}
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
    info["env"] = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                  "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                  "MKL_NUM_THREADS")}
    try:
        info["torch"] = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        info["torch"] = "not installed"
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
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items() if v is not None) or "none set"
    lines = [
        f"CPU: {info.get('cpu')}, {info['cores']} cores"
        + (f" ({info['lscpu'].get('Hypervisor vendor')} guest)" if info.get("lscpu") else ""),
        f"Python {info['python']}, NumPy {info['numpy']}, SciPy {info['scipy']}, "
        f"PyTorch {info['torch']}",
        f"BLAS/OpenMP environment: {env}",
        f"tensorgrad: commit {info.get('commit')}",
        f"load average at start: {', '.join(f'{v:.2f}' for v in info['load_average_start'])}",
    ]
    return "\n".join(lines)


def thread_pools(workers: dict) -> str:
    """One line on the thread pools the workers of a workload ran with (threadpoolctl's
    report from each process, deduplicated), and PyTorch's threads."""
    seen, parts = set(), []
    for info in workers.values():
        pools = info.get("threadpools")
        if not isinstance(pools, list):
            continue
        for p in pools:
            path = p.get("filepath") or ""
            owner = next((name for name in ("numpy", "scipy", "torch") if name in path), "?")
            if p["user_api"] == "blas":
                text = (f"{owner}: {p['internal_api']} {p['version']}, kernel "
                        f"{p['architecture']}, {p['num_threads']} threads")
            else:
                text = f"{owner}: {p['internal_api']} ({p['prefix']}), {p['num_threads']} threads"
            if text not in seen:
                seen.add(text)
                parts.append(text)
        if "torch_threads" in info and f"torch {info['torch_threads']}" not in seen:
            seen.add(f"torch {info['torch_threads']}")
            parts.append(f"torch.get_num_threads() {info['torch_threads']} "
                         f"(BLAS {info['torch_blas']})")
    return "thread pools in the workers (threadpoolctl): " + ("; ".join(parts) or "unknown")


def tensorgrad_files(workers: dict) -> dict:
    """``{label: file tensorgrad was imported from}`` of a workload's workers."""
    return {label: info["tensorgrad_file"] for label, info in workers.items()
            if "tensorgrad_file" in info}


# ---------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------
def run_gemm(number, repeat, threads) -> dict:
    n = 1024
    system = H.System("numpy", "numpy", {d: {"kind": "gemm", "dtype": d, "n": n}
                                         for d in ("float64", "float32")})
    rows, workers = H.measure([system], number, repeat, threads)
    out = {}
    for name, r in rows.items():
        r["gflops"] = 2.0 * n**3 / r["median_s"] / 1e9
        r["best_gflops"] = 2.0 * n**3 / min(r["samples_s"]) / 1e9
        r["system"] = f"numpy.matmul {n}x{n} {name}"
        r["ms"] = r["median_s"] * 1e3
        out[name] = r
    return {"rows": out, "workers": workers}


def network_systems(names, dtype, batch, data_path) -> list:
    """The :class:`harness.System` of each network system (PyTorch left out when it is not
    installed) and of the dense layer's NumPy floor."""
    systems = []
    for name in names:
        if name == "torch" and not H.torch_installed():
            continue
        case = {"kind": "network", "system": name, "batch": batch, "data": data_path}
        systems.append(H.System(name, "torch" if name == "torch" else "tensorgrad",
                                {name: case}))
    floor = {"kind": "dense_floor", "dtype": dtype, "batch": batch}
    systems.append(H.System(DENSE_FLOOR, "numpy", {DENSE_FLOOR: floor}))
    return systems


def run_network(dtype, batch, names, data_path, number, repeat, threads, baseline,
                peak_gflops) -> dict:
    """The notebook's network: rows per system, with agreement, medians and ratios."""
    dtype = np.dtype(dtype)
    systems = network_systems(names, dtype.name, batch, data_path)
    if baseline:
        systems = H.with_baseline(systems, *baseline)
    stats, workers = H.measure(systems, number, repeat, threads, against=names[0],
                               tiny=np.finfo(dtype).tiny)
    tol = 1e-9 if dtype == np.float64 else 1e-3
    rows = []
    for name, r in stats.items():
        r.update(system=name, per_sample_s=r["median_s"] / batch,
                 ms_per_sample=r["median_s"] / batch * 1e3,
                 s_per_epoch=r["median_s"] / batch * W.EPOCH_IMAGES)
        if "agreement" in r:
            r["agrees"] = "yes" if r["agreement"] <= tol else f"NO ({r['agreement']:.1e})"
        rows.append(r)
    if not H.torch_installed():
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
            "rows": rows, "agreement_tolerance": tol, "workers": workers,
            "not_slower": not_slower({r["system"]: r["samples_s"] for r in rows
                                      if "samples_s" in r}, baseline)}


def show_network(title, result):
    cols = [("system", "system", ""), ("ms/sample", "ms_per_sample", ".3f"),
            ("s/epoch (2000)", "s_per_epoch", ".2f"), ("x torch", "x_torch", ".2f")]
    if any("x_reference" in r for r in result["rows"]):
        cols.append(("x reference", "x_reference", ".3f"))
    cols += [("IQR", "iqr", ".0%"), ("agrees", "agrees", "")]
    return table(title, cols, result["rows"],
                 note="each system in a process of its own, the processes taking turns; "
                      "x torch / x reference: time ratio to that row (below 1 is faster); "
                      "IQR: interquartile range of the rounds, relative to the median.")


def run_ops(number, repeat, bw_number, threads, baseline) -> dict:
    """Per-op costs: one process per system (NumPy, tensorgrad, PyTorch), each holding
    every op case; for each case the processes take turns."""
    libraries = ["numpy", "tensorgrad"] + (["torch"] if H.torch_installed() else [])
    systems = []
    for lib in libraries:
        cases = {f"{op} | {mode}": {"kind": "op", "op": op, "mode": mode, "system": lib}
                 for op in W.OPS for mode in ("forward", "forward+backward")}
        if lib != "numpy":
            cases["backward"] = {"kind": "backward", "system": lib}
        systems.append(H.System(lib, lib, cases))
    if baseline:
        systems = H.with_baseline(systems, *baseline)
    samples = {}
    with H.processes(systems, threads) as procs:
        groups = {}
        for s in systems:
            for cid in s.cases:
                groups.setdefault(cid.split(" @ ")[0], {})[s.label] = (procs[s.label], cid)
        for cid, entries in groups.items():
            matmul = cid.startswith("matmul")
            n = bw_number if cid == "backward" else (max(1, number // 4) if matmul else number)
            # only the matmul may wake BLAS threads that spin after the turn
            settle = H.SETTLE if matmul else 0.0
            for label, s in H.alternate(entries, n, repeat, settle).items():
                samples[f"{cid}: {label}"] = s
    rows = []
    for cid in groups:
        if cid == "backward":
            continue
        op, mode = cid.split(" | ")
        row = {"op": op, "mode": mode}
        for s in systems:
            row[f"{s.label}_us"] = H.summary(samples[f"{cid}: {s.label}"])["median_s"] * 1e6
        row["tg_overhead_us"] = row["tensorgrad_us"] - row["numpy_us"]
        if "torch_us" in row:
            row["torch_overhead_us"] = row["torch_us"] - row["numpy_us"]
            row["tg_x_torch"] = row["tensorgrad_us"] / row["torch_us"]
        else:
            row["torch_us"] = "not installed"
        rows.append(row)
    brow = {"op": "backward() of y = x.sum()", "mode": "backward only"}
    for s in systems:
        if s.library != "numpy":
            brow[f"{s.label}_us"] = H.summary(samples[f"backward: {s.label}"])["median_s"] * 1e6
    if "torch_us" in brow:
        brow["tg_x_torch"] = brow["tensorgrad_us"] / brow["torch_us"]
    else:
        brow["torch_us"] = "not installed"
    return {"rows": rows, "backward": brow, "flop_matmul64": 2.0 * 64**3,
            "samples_s": samples, "workers": {s.label: s.info for s in systems},
            "not_slower": not_slower(samples, baseline)}


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


def run_conv(cfg, threads, baseline, repeat) -> dict:
    """bench_conv.py's three benchmarks (sections 1 and 2 one process per system)."""
    out = bench_conv.run(cfg["quick"], threads, baseline, repeat)
    samples = {}
    for key in ("notebook_layers", "batched_float32"):
        samples.update({k: r["samples_s"] for k, r in out[key].get("rows", {}).items()})
    out["not_slower"] = not_slower(samples, baseline)
    return out


def run_memory(images, with_torch) -> dict:
    """One process per system: peak RSS and RSS after each of two epochs."""
    timer = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    rows = []
    for name in W.NETWORK_SYSTEMS:
        if name == "torch" and not with_torch:
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


def targets(results) -> list:
    """(description, value text, PASS/MISS/n/a) for every target the run can judge."""
    out = []
    n = results["machine"]["threads"]
    torch_name = f"torch ({n} thread{'s' if n > 1 else ''})"

    def rows_of(key):
        return {r["system"]: r for r in results.get(key, {}).get("rows", [])}

    def verdict(ok, *rows):
        """PASS/MISS, with "?" when a row compared has an IQR above UNSTABLE_IQR."""
        shaky = any(r is not None and r.get("iqr", 0) > UNSTABLE_IQR for r in rows)
        return ("PASS" if ok else "MISS") + ("?" if shaky else "")

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
                other_row = net.get("torch" if key == "x_torch" else "reference layers")
                out.append((label, f"{r[key]:.3f}x", verdict(r[key] <= limit, r, other_row)))
    def against_torch(label, r, limit, torch_row, extra=""):
        if r is None or "x_torch" not in r:
            out.append((label, "PyTorch not installed", "n/a"))
        else:
            out.append((label, f"{r['x_torch']:.3f}x{extra}",
                        verdict(r["x_torch"] <= limit, r, torch_row)))

    for key in ("network-f64", "network-f32"):  # compiled, per sample
        rows = rows_of(key)
        for name, limit in (("tg nn compiled", TARGETS["compiled_nn_per_sample_vs_torch"]),
                            ("tg expr compiled", TARGETS["compiled_expr_per_sample_vs_torch"])):
            if not rows:
                continue
            eager = rows.get(W.COMPILED[name], {})
            against_torch(f"per sample {key[-3:].replace('f', 'float')}: {name} <= {limit}x "
                          f"{torch_name}", rows.get(name), limit, rows.get("torch"),
                          f" (eager {eager['x_torch']:.2f}x)" if "x_torch" in eager else "")
    conv = results.get("conv", {}).get("batched_float32", {})
    if "time_ratio_tg_over_torch" in conv:
        limit = TARGETS["batched_conv_vs_torch"].get(n, 1.0)
        v = conv["time_ratio_tg_over_torch"]
        products = conv.get("products_time_ratio_over_torch")
        layouts = conv.get("layouts_time_ratio_over_torch")
        parts = (f" (its products alone {products:.2f}x, its layouts alone {layouts:.2f}x)"
                 if products and layouts else "")
        out.append((f"batched conv2d forward + backward (N=32, 16->32, 32x32, float32) <= "
                    f"{limit}x {torch_name}", f"{v:.3f}x" + parts,
                    "PASS" if v <= limit else "MISS"))
    b32 = rows_of("batch32-f32")
    for name, limit in ((("tg conv2d compiled", TARGETS["compiled_batch32_vs_torch"]),
                         ("tg nn compiled", TARGETS["compiled_batch32_vs_torch"]),
                         ("tg conv2d", TARGETS["batch32_vs_torch"]),
                         ("tg nn", TARGETS["batch32_vs_torch"])) if b32 else ()):
        against_torch(f"batch 32 float32: {name} <= {limit}x {torch_name}", b32.get(name), limit,
                      b32.get("torch"))
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
        for name, eager_name in W.COMPILED.items():
            r, e = mem.get(name, {}), mem.get(eager_name, {})
            if isinstance(r.get("peak_mib"), float) and isinstance(e.get("peak_mib"), float):
                out.append((f"peak RSS: {name} not above {eager_name}",
                            f"{r['peak_mib']:.0f} MiB vs {e['peak_mib']:.0f} MiB",
                            "PASS" if r["peak_mib"] <= e["peak_mib"] * 1.01 else "MISS"))
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
    note = ""
    if any(c.endswith("?") for _, _, c in items):
        note = (f"?: a row compared has an IQR above {UNSTABLE_IQR:.0%}, its threads stalling "
                "on a busy machine; judge it with --threads 1 or on a quiet machine.")
    return table("Targets", [("target", "target", ""), ("measured", "measured", ""),
                             ("result", "result", "")], rows, note=note)


def not_slower(samples: dict, baseline) -> dict:
    """For every key of ``samples`` whose `` @ tag`` twin (the same system from the baseline
    tree) was timed in the same rounds: :func:`harness.paired_ratios` new/old, and
    "PASS" when its median is at most :data:`NOT_SLOWER` ("MISS" otherwise), with "?" when
    the 95% interval of that median contains :data:`NOT_SLOWER` (the rounds cannot tell).
    Empty without a baseline."""
    if not baseline:
        return {}
    tag = baseline[1]
    out = {}
    for key, new in samples.items():
        old = samples.get(f"{key} @ {tag}")
        if old is not None:
            r = H.paired_ratios(new, old)
            lo, hi = r["ci95"]
            r.update(new_median_s=H.summary(new)["median_s"],
                     old_median_s=H.summary(old)["median_s"], rounds=len(new),
                     result=("PASS" if r["ratio"] <= NOT_SLOWER else "MISS")
                     + ("?" if lo <= NOT_SLOWER <= hi else ""))
            out[key] = r
    return out


def show_not_slower(results, tag) -> str:
    rows = []
    for workload in WORKLOADS:
        for key, r in results.get(workload, {}).get("not_slower", {}).items():
            rows.append({"workload": workload, "system": key, "new": r["new_median_s"] * 1e3,
                         "old": r["old_median_s"] * 1e3, "ratio": r["ratio"],
                         "of_medians": r["ratio_of_medians"], "iqr": r["iqr"],
                         "ci": f"{r['ci95'][0]:.3f}-{r['ci95'][1]:.3f}",
                         "rounds": r["rounds"], "result": r["result"]})
    if not rows:
        text = f"\nNot slower than {tag}: no tensorgrad system in the selected workloads"
        print(text)
        return text
    missed = sum(r["result"].startswith("MISS") for r in rows)
    unsure = sum(r["result"].endswith("?") for r in rows)
    return table(f"Not slower than {tag}: this tree (new) against {tag} (old), the same "
                 "harness, their processes in adjacent turns",
                 [("workload", "workload", ""), ("system", "system", ""),
                  ("new ms/call", "new", ".4g"), ("old ms/call", "old", ".4g"),
                  ("new/old", "ratio", ".3f"), ("95% CI", "ci", ""),
                  ("of medians", "of_medians", ".3f"), ("IQR", "iqr", ".0%"),
                  ("rounds", "rounds", "d"),
                  (f"<= {NOT_SLOWER}", "result", "")], rows,
                 note=f"new/old: median over rounds of the round's ratio, with a 95% confidence "
                      f"interval of that median (order statistics; a wide one asks for more "
                      f"rounds); of medians: ratio of the two medians; IQR of the round "
                      f"ratios. {'All PASS' if not missed else f'{missed} MISS'}"
                      + (f"; ?: the interval contains {NOT_SLOWER}, more rounds or a quieter "
                         f"machine can tell ({unsure})." if unsure else "."))


# ---------------------------------------------------------------------------------------
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description="tensorgrad benchmarks: medians and ratios against NumPy, the notebook's "
                    "layers and PyTorch, each system in a process of its own, the processes "
                    "taking turns.")
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run")
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the results")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of PyTorch and of every BLAS/OpenMP pool in every "
                             "process; default: PyTorch one per core, BLAS its own default")
    parser.add_argument("--only", default=None,
                        help=f"comma-separated substrings of workload names {WORKLOADS}")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of every timed workload (default: the mode's)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--baseline", metavar="REV",
                       help="also time the tensorgrad systems of commit REV (not slower: "
                            f"median new/old <= {NOT_SLOWER})")
    group.add_argument("--against", metavar="PATH",
                       help="like --baseline, with the tensorgrad of the checkout at PATH")
    args = parser.parse_args(argv)
    selected = list(WORKLOADS)
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        selected = [w for w in WORKLOADS if any(k in w for k in keys)]
        if not selected:
            parser.error(f"--only {args.only!r} matches none of {WORKLOADS}")
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    W.use_tree(W.ROOT)  # this process loads the digits with this tree's tensorgrad.data
    H.exit_on_sigterm()
    with contextlib.ExitStack() as stack:
        baseline = None
        if args.baseline:
            try:
                baseline = stack.enter_context(H.tree_of(args.baseline))
            except (ValueError, subprocess.CalledProcessError) as err:
                parser.error(str(err))
        elif args.against:
            path = Path(args.against).resolve()
            if not (path / "tensorgrad" / "__init__.py").is_file():
                parser.error(f"--against {args.against}: no tensorgrad package under {path}")
            baseline = (path, path.name)
        return run(args, selected, baseline, argv)


def run(args, selected, baseline, argv) -> dict:
    cfg = dict(SETTINGS["quick" if args.quick else "full"])
    rounds_floor = MIN_BASELINE_ROUNDS if baseline else 1
    for key in ("gemm", "network", "batch32", "ops", "backward"):
        number, repeat = cfg[key]
        cfg[key] = (number, max(args.rounds or repeat, rounds_floor))
    conv_rounds = max(args.rounds, rounds_floor) if args.rounds else (
        MIN_BASELINE_ROUNDS if args.quick and baseline else None)
    started = time.perf_counter()
    threads = args.threads
    info = machine()
    info["threads"] = threads or W.cores()
    print("tensorgrad benchmarks" + (" (--quick)" if args.quick else ""))
    print(describe(info))
    print("Each system runs in a Python process of its own; the processes take turns (A, B, "
          "C, C, B, A, ...); medians over rounds. The machine may be shared: compare ratios "
          "within a table, not across runs.")
    if baseline:
        print(f"Baseline: the tensorgrad systems also run from {baseline[0]} ('@ {baseline[1]}'"
              f" rows), at least {MIN_BASELINE_ROUNDS} rounds.")
    results = {"machine": info, "mode": "quick" if args.quick else "full",
               "selected": selected, "settings": cfg, "command": " ".join(
                   ["python benchmarks/run.py"] + (argv if argv is not None else sys.argv[1:])),
               "baseline": None if not baseline else {"tree": str(baseline[0]),
                                                      "tag": baseline[1]}}
    texts = {}
    elapsed = results["elapsed_by_workload_s"] = {}
    mark = [time.perf_counter()]
    pools_shown = []

    def done(name, workers=None):
        now = time.perf_counter()
        elapsed[name] = now - mark[0]
        mark[0] = now
        results.setdefault("load_average_after", {})[name] = os.getloadavg()
        if workers and not pools_shown and any("torch_threads" in i for i in workers.values()):
            pools_shown.append(thread_pools(workers))
            print(pools_shown[0])
        if workers:
            for label, path in tensorgrad_files(workers).items():
                results.setdefault("tensorgrad_files", {})[label] = path

    gemm = run_gemm(*cfg["gemm"], threads)
    results["gemm"] = gemm
    peak = {k: v["gflops"] for k, v in gemm["rows"].items()}
    if "gemm" in selected:
        texts["gemm"] = table("GEMM: numpy.matmul 1024x1024 (this machine's peak for the floors)",
                              [("system", "system", ""), ("ms", "ms", ".2f"),
                               ("GFLOP/s (median)", "gflops", ".1f"),
                               ("GFLOP/s (best)", "best_gflops", ".1f"), ("IQR", "iqr", ".0%")],
                              list(gemm["rows"].values()))
    done("gemm")

    with tempfile.TemporaryDirectory(prefix="tensorgrad-bench-data-") as data_dir:
        if any(w.startswith(("network", "batch32")) for w in selected):
            x, t, source = W.load_digits()
            results["data"] = source
            print(f"\ndata: {source}")
            paths = {d: W.save_network_data(Path(data_dir) / f"network_{d}.npz", x, t, d)
                     for d in ("float64", "float32")}
            done("data")
        for dtype in ("float64", "float32"):
            key = f"network-f{dtype[-2:]}"
            if key not in selected:
                continue
            res = run_network(dtype, 1, W.NETWORK_SYSTEMS, paths[dtype], *cfg["network"],
                              threads, baseline, peak[dtype])
            results[key] = res
            texts[key] = show_network(f"The notebook's network, one image per step, {dtype} "
                                      "(forward + backward + SGD update)", res)
            done(key, res["workers"])
        if "batch32-f32" in selected:
            res = run_network("float32", 32, W.BATCHED_SYSTEMS, paths["float32"],
                              *cfg["batch32"], threads, baseline, peak["float32"])
            results["batch32-f32"] = res
            texts["batch32-f32"] = show_network("The notebook's network, batches of 32, "
                                                "float32 (forward + backward + SGD update; per "
                                                "sample = per step / 32)", res)
            done("batch32-f32", res["workers"])
    if "ops" in selected:
        res = run_ops(*cfg["ops"], cfg["backward"][0], threads, baseline)
        results["ops"] = res
        texts["ops"] = show_ops(res, peak["float64"])
        done("ops", res["workers"])
    if "conv" in selected:
        res = run_conv(cfg["conv"], threads, baseline, conv_rounds)
        results["conv"] = res
        texts["conv"] = bench_conv.show(res, peak["float32"])
        done("conv", res.get("batched_float32", {}).get("workers"))
    if "memory" in selected:
        res = run_memory(cfg["memory_images"], H.torch_installed())
        results["memory"] = res
        texts["memory"] = show_memory(res)
        done("memory")

    judged = targets(results)
    results["targets"] = [{"target": a, "measured": b, "result": c} for a, b, c in judged]
    texts["targets"] = show_targets(judged)
    if baseline:
        texts["not_slower"] = show_not_slower(results, baseline[1])
    if results.get("tensorgrad_files"):
        files = sorted(set(results["tensorgrad_files"].values()))
        print("\ntensorgrad imported by the workers from: " + "; ".join(files))
    info["load_average_end"] = os.getloadavg()
    results["elapsed_s"] = time.perf_counter() - started
    results["tables"] = texts
    print(f"\nload average at end: {', '.join(f'{v:.2f}' for v in info['load_average_end'])}; "
          f"elapsed {results['elapsed_s']:.0f} s ("
          + ", ".join(f"{k} {v:.0f} s, then load {results['load_average_after'][k][0]:.1f}"
                      for k, v in elapsed.items()) + ")")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=float))
    print(f"written {path}")
    return results


if __name__ == "__main__":
    main()
