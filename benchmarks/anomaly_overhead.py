"""What anomaly mode costs on the notebook's network trained one image at a time.

Run from the repository root::

    python benchmarks/anomaly_overhead.py [--rounds 21] [--number 50]

For each tensorgrad system of the per-sample network workload (``correlate2d`` expressions,
``tg.conv2d``, ``tg.nn``; float64), one process times the training step with anomaly mode
off and on in alternating rounds (off, on, on, off, ...), so that load from other processes
hits both alike, and prints the median over rounds of the per-round ratio on/off with its
interquartile range. Both runs are the same library in the same process, so no thread pool
of another library is involved. The cost of the mode when it is *off* is measured against
the commit before it with ``benchmarks/run.py --only network --baseline REV``.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import timeit

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import workloads  # noqa: E402

import tensorgrad as tg  # noqa: E402

SYSTEMS = {"expressions": "tg expr (correlate2d)", "tg.conv2d": "tg conv2d", "tg.nn": "tg nn"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--number", type=int, default=50, help="steps timed per round")
    args = parser.parse_args(argv)
    np.seterr(all="ignore")   # the random weights saturate sigmoids; no warning is timed
    print(f"{'system':<14}{'off ms':>9}{'on ms':>9}{'on/off':>9}{'IQR':>8}")
    for label, name in SYSTEMS.items():
        step, _ = workloads.make_network_system(name)
        for _ in range(20):
            step()
        times = {False: [], True: []}
        for r in range(args.rounds):
            for mode in ((False, True) if r % 2 == 0 else (True, False)):
                tg.set_detect_anomaly(mode)
                times[mode].append(timeit.timeit(step, number=args.number) / args.number)
        tg.set_detect_anomaly(False)
        off, on = np.array(times[False]), np.array(times[True])
        ratio = on / off
        q1, q3 = np.percentile(ratio, [25, 75])
        print(f"{label:<14}{1e3 * np.median(off):9.3f}{1e3 * np.median(on):9.3f}"
              f"{np.median(ratio):9.3f}{100 * (q3 - q1) / np.median(ratio):7.1f}%")


if __name__ == "__main__":
    main()
