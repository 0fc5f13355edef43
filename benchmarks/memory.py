"""Resident memory of per-sample training, one system per process (run by ``run.py``).

    python benchmarks/memory.py --system "tg conv2d" --images 500 --epochs 2

Builds the notebook's network with one system of :mod:`workloads` (float64 unless
``--dtype float32``), trains it one image at a time with SGD for ``--epochs`` passes over
``--images`` random images, and prints one JSON line: the resident set size (``VmRSS`` of
``/proc/self/status``) after the imports, after building the model, and after each epoch,
and the peak (``getrusage(RUSAGE_SELF).ru_maxrss``), all in MiB. Only the chosen system's
library is imported: PyTorch for ``--system torch``, tensorgrad for the others.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path


def rss_mib() -> float:
    """Current resident set size in MiB (``VmRSS``), or NaN where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", required=True)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    import workloads

    workloads.use_tree(workloads.ROOT)  # this repository's tensorgrad, not an installed one
    if args.system not in workloads.NETWORK_SYSTEMS:
        parser.error(f"--system must be one of {workloads.NETWORK_SYSTEMS}, got {args.system!r}")
    if args.system == "torch" and workloads.import_torch() is None:
        print(json.dumps({"system": args.system, "error": "PyTorch is not installed"}))
        return {}
    if args.system != "torch":
        import tensorgrad  # noqa: F401 (counted in the resident size after the imports)
    after_import = rss_mib()
    dtype = np.dtype(args.dtype)
    x, t = workloads.make_data(args.images, dtype, seed=0)
    x *= x > 0.8  # mostly zero, like digits
    step, _ = workloads.make_network_system(args.system, dtype, 1, (x, t))
    after_build = rss_mib()
    per_epoch = []
    for _ in range(args.epochs):
        for _ in range(args.images):
            step()
        per_epoch.append(rss_mib())
    result = {"system": args.system, "dtype": args.dtype, "images": args.images,
              "epochs": args.epochs, "rss_after_import_mib": after_import,
              "rss_after_build_mib": after_build, "rss_after_epoch_mib": per_epoch,
              "peak_rss_self_mib": peak_mib()}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
