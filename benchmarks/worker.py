"""One benchmark process: it builds the cases it is sent and times them on request.

    python benchmarks/worker.py --tree PATH [--threads N]

``harness.py`` starts one of these per system and talks to it over stdin/stdout, one JSON
object per line each way (anything a case prints goes to stderr). The worker puts ``PATH``
(a checkout holding ``tensorgrad/``) first on ``sys.path``, so a worker given another
commit's tree imports that commit's tensorgrad; it imports NumPy, and then only what the
cases it builds import (``workloads.py``, ``bench_conv.py``). Commands:

``{"cmd": "build", "id": ID, "case": {...}, "warmup": W}``
    build the case (``workloads.build`` / ``bench_conv.build``), call it ``W`` times.
``{"cmd": "time", "id": ID, "number": N}``
    ``{"s": seconds per call}``: ``N`` consecutive calls timed with ``timeit``, the garbage
    collector on, as in a training loop.
``{"cmd": "outputs", "id": ID, "path": P}``
    the case's ``outputs()`` (its results from a fresh start) saved to ``P`` (``.npz``).
``{"cmd": "run", "func": "module.name", "kwargs": {...}}``
    ``{"result": ...}``: calls a benchmark function that times inside this process.
``{"cmd": "info"}``
    versions, thread pools, which of tensorgrad/PyTorch/SciPy are imported, and the file
    tensorgrad was imported from.
``{"cmd": "quit"}``

Every answer is a JSON object; a failure answers ``{"error": message, "traceback": text}``
and the worker carries on.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import timeit
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def info(threads) -> dict:
    """What this process imported and runs with."""
    import numpy as np

    out = {"pid": os.getpid(), "python": platform.python_version(), "numpy": np.__version__,
           "executable": sys.executable, "threads_requested": threads,
           "imported": [m for m in ("tensorgrad", "torch", "scipy") if m in sys.modules]}
    if "tensorgrad" in sys.modules:
        out["tensorgrad_file"] = sys.modules["tensorgrad"].__file__
    if "scipy" in sys.modules:
        out["scipy"] = sys.modules["scipy"].__version__
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        out.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                   torch_blas="mkl" if torch.backends.mkl.is_available() else "other")
    try:
        from threadpoolctl import threadpool_info

        out["threadpools"] = [{k: p.get(k) for k in ("user_api", "internal_api", "version",
                                                     "architecture", "num_threads",
                                                     "threading_layer", "prefix", "filepath")}
                              for p in threadpool_info()]
    except ImportError:
        out["threadpools"] = "threadpoolctl not installed"
    return out


class Worker:
    """The worker's state: the built cases and the thread limits."""

    def __init__(self, threads):
        self.threads = threads
        self.cases = {}
        self.timers = {}
        self.limits = None
        import bench_conv
        import workloads

        self.kinds = {**workloads.KINDS, **bench_conv.KINDS}
        self.limit_threads()

    def limit_threads(self):
        """Apply ``--threads`` to every BLAS/OpenMP pool loaded so far (threadpoolctl sees
        only loaded libraries, hence after every build)."""
        if self.threads is None:
            return
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return
        self.limits = threadpool_limits(limits=self.threads)

    def handle(self, msg: dict) -> dict:
        cmd = msg["cmd"]
        if cmd == "build":
            kind = msg["case"]["kind"]
            if kind not in self.kinds:
                raise ValueError(f"worker: unknown case kind {kind!r}; expected one of "
                                 f"{sorted(self.kinds)}")
            case = self.kinds[kind](msg["case"])
            self.limit_threads()
            for _ in range(msg.get("warmup", 2)):
                case.fn()
            self.cases[msg["id"]] = case
            self.timers[msg["id"]] = timeit.Timer(case.fn, setup="gc.enable()")
            return {"ok": True}
        if cmd == "time":
            number = msg["number"]
            return {"s": self.timers[msg["id"]].timeit(number) / number}
        if cmd == "outputs":
            import numpy as np

            case = self.cases[msg["id"]]
            if case.outputs is None:
                return {"ok": False}
            np.savez(msg["path"], **case.outputs())
            return {"ok": True}
        if cmd == "run":
            module, _, name = msg["func"].rpartition(".")
            func = getattr(importlib.import_module(module), name)
            self.limit_threads()
            return {"result": func(**msg.get("kwargs", {}))}
        if cmd == "info":
            return info(self.threads)
        raise ValueError(f"worker: unknown command {cmd!r}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", required=True, help="checkout whose tensorgrad is timed")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of every BLAS/OpenMP pool and of PyTorch")
    args = parser.parse_args(argv)
    channel = sys.stdout
    sys.stdout = sys.stderr  # what cases print must not mix with the answers
    sys.path.insert(0, str(HERE))
    import workloads

    workloads.use_tree(args.tree)
    workloads.THREADS = args.threads
    worker = Worker(args.threads)

    def send(obj):
        channel.write(json.dumps(obj, default=float) + "\n")
        channel.flush()

    send({"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        msg = json.loads(line)
        if msg.get("cmd") == "quit":
            break
        try:
            send(worker.handle(msg))
        except Exception as err:  # answer with the error and keep serving
            send({"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()})


if __name__ == "__main__":
    main()
