"""Every system timed in a process of its own, the processes taking turns.

``run.py`` and ``bench_conv.py`` describe what to time as case dicts (``workloads.py``,
``bench_conv.py``) and use this module to time them:

- :func:`processes` starts one worker process (``worker.py``) per system: the tensorgrad
  variants, the reference layers, the NumPy floors and PyTorch each get their own Python,
  which imports only that system's library, so no two libraries' thread pools share a
  process. A worker lives for the whole workload rather than one round: imports (PyTorch's
  take seconds) and warm-up (first-call allocations, the convolution's workspaces) are paid
  once, and each round is a fresh timing of a process in its steady state, as in a training
  loop; a fresh process per round would time start-up states and multiply the run time.
- :func:`alternate` times them in rounds, one process at a time while the others wait on a
  pipe (no CPU): A, B, C, then C, B, A, then A, B, C, ... so that drift in the machine's
  load hits every system alike and no system always follows the same one. Each turn times
  ``number`` consecutive calls, then the next turn waits :data:`SETTLE` seconds for the idle
  threads of the process just timed to stop spinning. :func:`summary` gives the median over
  rounds and the interquartile range.
- :func:`compare_outputs` checks, before timing, that the systems compute the same thing:
  each worker saves its case's results to a ``.npz`` file and the parent compares them.
- :func:`tree_of` extracts another commit's ``tensorgrad/`` and ``examples/`` into a
  temporary directory (``git archive``, the repository is not touched), so that its workers
  import that commit's tensorgrad while the harness stays this one: the "not slower"
  comparison (:func:`paired_ratios`).
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "worker.py"

# Seconds between two turns. OpenBLAS's worker threads spin (sched_yield) for about 0.1 s
# after a call before they sleep: after a turn of batch-32 training the idle process used
# 30-40 ms of CPU in the next 0.1 s and none after, which the next process would lose.
SETTLE = 0.15
# what a worker of each library must not have imported
FORBIDDEN = {"tensorgrad": ("torch",), "torch": ("tensorgrad",), "numpy": ("tensorgrad", "torch")}


def exit_on_sigterm():
    """Turn SIGTERM (``timeout``, ``kill``) into ``SystemExit`` so that the context managers
    of this module end the workers and remove their temporary directories."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def torch_installed() -> bool:
    """Whether PyTorch can be imported, found without importing it (the parent process
    times nothing and keeps out of the workers' way)."""
    return importlib.util.find_spec("torch") is not None


class WorkerError(RuntimeError):
    """A worker answered with an error, or ended."""


@dataclass
class System:
    """What one worker process runs: ``label``, the library it may import (``tensorgrad``,
    ``torch`` or ``numpy``), its cases ``{case id: case dict}`` (the rows of the tables it
    supplies), the checkout whose tensorgrad it times, and, once started, the ``info`` the
    worker reported."""

    label: str
    library: str
    cases: dict
    tree: Path = ROOT
    info: dict = field(default_factory=dict)


class WorkerProcess:
    """The parent's end of one worker: requests are JSON lines on its stdin, answers JSON
    lines on its stdout, its stderr goes to ``log``."""

    def __init__(self, system: System, threads, logdir: Path, index: int):
        self.system = system
        self.log_path = logdir / f"worker-{index}.log"
        self.log = open(self.log_path, "w")
        cmd = [sys.executable, str(WORKER), "--tree", str(system.tree)]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1)

    def _answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            tail = self.log_path.read_text()[-2000:].strip()
            raise WorkerError(f"the worker of {self.system.label!r} ended (exit status "
                              f"{self.proc.returncode}): {tail}")
        msg = json.loads(line)
        if "error" in msg:
            raise WorkerError(f"{self.system.label}: {msg['error']}\n{msg.get('traceback', '')}")
        return msg

    def request(self, **msg) -> dict:
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def time(self, case_id, number: int) -> float:
        return self.request(cmd="time", id=case_id, number=number)["s"]

    def close(self):
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            self.log.close()


@contextlib.contextmanager
def processes(systems: list, threads=None, warmup: int = 2):
    """Start one worker per :class:`System`, build its cases (each called ``warmup`` times),
    check what it imported, and yield ``{label: WorkerProcess}``; the workers end on exit.

    Raises WorkerError when a case cannot be built, when a worker imported a library its
    system must not (PyTorch next to tensorgrad or NumPy, tensorgrad next to PyTorch), or
    when a tensorgrad worker imported tensorgrad from outside its tree.
    """
    started = {}
    with tempfile.TemporaryDirectory(prefix="tensorgrad-bench-logs-") as logdir:
        try:
            for i, s in enumerate(systems):
                started[s.label] = WorkerProcess(s, threads, Path(logdir), i)
            for w in started.values():  # all import at once, then each builds its cases
                w._answer()
            for w in started.values():
                for case_id, case in w.system.cases.items():
                    w.request(cmd="build", id=case_id, case=case, warmup=warmup)
                w.system.info = w.request(cmd="info")
                check_imports(w.system)
            yield started
        finally:
            for w in started.values():
                w.close()


def check_imports(system: System):
    """Raise WorkerError unless ``system``'s process imported only what its library allows,
    and a tensorgrad process imported the tensorgrad of its own tree."""
    info = system.info
    wrong = [m for m in FORBIDDEN[system.library] if m in info["imported"]]
    if wrong:
        raise WorkerError(f"the process of {system.label!r} ({system.library}) imported "
                          f"{', '.join(wrong)}")
    if "tensorgrad" in info["imported"]:
        got = Path(info["tensorgrad_file"]).resolve()
        want = Path(system.tree).resolve() / "tensorgrad"
        if want not in got.parents:
            raise WorkerError(f"the process of {system.label!r} imported tensorgrad from "
                              f"{got}, not from {want}")


def alternate(entries: dict, number: int, repeat: int, settle: float = SETTLE) -> dict:
    """Seconds per call of every entry, one timing per round, one process at a time.

    ``entries`` maps a key to ``(WorkerProcess, case id)``. Rounds alternate in direction
    (A, B, C, then C, B, A, ...). After each turn the next waits ``settle`` seconds, the
    time the idle threads of the process just timed keep spinning (:data:`SETTLE`).
    Returns ``{key: [seconds per call, one per round]}``.
    """
    order = list(entries)
    samples = {key: [] for key in order}
    for r in range(repeat):
        for key in (order if r % 2 == 0 else order[::-1]):
            worker, case_id = entries[key]
            samples[key].append(worker.time(case_id, number))
            time.sleep(settle)
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


def median_interval(samples: list, level: float = 0.95) -> tuple:
    """A distribution-free confidence interval of the median: the order statistics
    ``(x_(k), x_(n+1-k))`` with the largest ``k`` whose binomial tail P(Bin(n, 1/2) < k)
    is at most ``(1 - level) / 2``; ``(min, max)`` when no ``k`` qualifies (n < 6 at 95%)."""
    xs = sorted(samples)
    n = len(xs)
    k, tail = 1, 0.0
    while True:
        tail += math.comb(n, k - 1) / 2**n  # P(Bin(n, 1/2) <= k - 1)
        if tail > (1 - level) / 2 or k > n // 2:
            break
        k += 1
    k = max(k - 1, 1)
    return xs[k - 1], xs[n - k]


def paired_ratios(new: list, old: list) -> dict:
    """The "not slower" statistic: the per-round ratios new/old of two systems timed in the
    same rounds (adjacent turns, so drift cancels), their median, interquartile range and
    95% confidence interval of the median (:func:`median_interval`)."""
    ratios = [a / b for a, b in zip(new, old)]
    s = summary(ratios)
    return {"ratio": s["median_s"], "iqr": s["iqr"], "ci95": median_interval(ratios),
            "ratios": ratios, "ratio_of_medians": statistics.median(new) / statistics.median(old)}


def compare_outputs(entries: dict, against: dict, tiny: float) -> dict:
    """Ask the workers for their cases' outputs (their results from a fresh start, saved to
    ``.npz``) and compare each entry ``key`` of ``against`` with entry ``against[key]``:
    ``{key: largest relative difference}``, that of one array being
    max |a - a0| / max |a0| (``tiny`` guards a zero denominator). ``entries`` maps a key to
    ``(WorkerProcess, case id)``; keys whose case has no outputs are left out."""
    got = {}
    with tempfile.TemporaryDirectory(prefix="tensorgrad-bench-outputs-") as tmp:
        for i, key in enumerate(sorted(set(against) | set(against.values()))):
            worker, case_id = entries[key]
            path = Path(tmp) / f"{i}.npz"
            if worker.request(cmd="outputs", id=case_id, path=str(path))["ok"]:
                with np.load(path) as f:
                    got[key] = {k: f[k] for k in f.files}
    out = {}
    for key, ref_key in against.items():
        if key in got and ref_key in got:
            ref = got[ref_key]
            out[key] = max(float(np.max(np.abs(got[key][k] - ref[k])))
                           / max(float(np.max(np.abs(ref[k]))), tiny) for k in ref)
    return out


@contextlib.contextmanager
def tree_of(rev: str, repo: Path = ROOT):
    """Yield ``(path, short hash)``: ``tensorgrad/`` and ``examples/`` of commit ``rev`` of
    ``repo`` extracted into a temporary directory (removed on exit) with ``git archive``.
    Raises ValueError when ``rev`` is not a commit."""
    def git(*args, text=True):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                              text=text, check=True).stdout

    try:
        full = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except subprocess.CalledProcessError:
        raise ValueError(f"--baseline {rev!r} is not a commit of {repo}") from None
    short = git("rev-parse", "--short", full).strip()
    paths = [p for p in ("tensorgrad", "examples") if git("ls-tree", full, p).strip()]
    if "tensorgrad" not in paths:
        raise ValueError(f"--baseline {rev}: commit {short} has no tensorgrad/ directory")
    archive = git("archive", "--format=tar", full, *paths, text=False)
    with tempfile.TemporaryDirectory(prefix=f"tensorgrad-{short}-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp, **safe)
        yield Path(tmp), short


def with_baseline(systems: list, tree: Path, tag: str) -> list:
    """``systems`` with, after each tensorgrad system, its copy timing the tensorgrad of
    ``tree``: label and case ids suffixed `` @ tag``, so that the two take adjacent turns.
    A compiled system gets no copy when ``tree`` predates ``tg.compile``."""
    has_compile = (Path(tree) / "tensorgrad" / "compiled.py").exists()
    out = []
    for s in systems:
        out.append(s)
        if s.library == "tensorgrad" and (has_compile or "compiled" not in s.label):
            out.append(System(f"{s.label} @ {tag}", s.library,
                              {f"{cid} @ {tag}": case for cid, case in s.cases.items()}, tree))
    return out


def measure(systems: list, number: int, repeat: int, threads=None, against=None,
            tiny: float = np.finfo(np.float64).tiny) -> tuple:
    """Time every case of every system (:func:`processes`, :func:`alternate`) after comparing
    their outputs (:func:`compare_outputs`): ``against`` is a case id that every case is
    compared with, or ``{case id: case id to compare it with}``, or None (no comparison).
    Returns ``({case id: summary, with "agreement" where compared}, {label: worker info})``.
    """
    with processes(systems, threads) as procs:
        entries = {cid: (procs[s.label], cid) for s in systems for cid in s.cases}
        if isinstance(against, str):
            against = {key: against for key in entries}
        agree = compare_outputs(entries, against, tiny) if against else {}
        samples = alternate(entries, number, repeat)
    rows = {key: summary(s) for key, s in samples.items()}
    for key, d in agree.items():
        rows[key]["agreement"] = d
    return rows, {s.label: s.info for s in systems}
