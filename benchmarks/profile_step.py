"""Where the time of one training step goes: pyinstrument on one system of ``workloads.py``.

    python benchmarks/profile_step.py "tg conv2d"                      # float64, one image
    python benchmarks/profile_step.py "tg nn" --dtype float32 --batch 32 --steps 200
    python benchmarks/profile_step.py "tg conv2d" --tree                # the call tree too

Trains ``--steps`` steps of the notebook's network (after 10 untimed ones) under
pyinstrument's sampling profiler and prints the functions with the largest self time
(time spent in the function itself, not in what it calls), as a percentage of the total,
grouped by function and file; ``--tree`` adds pyinstrument's call tree.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def self_times(frame, out):
    """Accumulate each function's self time (its time less its children's) into ``out``;
    pyinstrument's synthetic ``[self]`` frames count for the function that holds them."""
    key = (frame.function, Path(frame.file_path or "?").name, frame.line_no)
    out[key] += frame.time - sum(c.time for c in frame.children)
    for c in frame.children:
        if c.is_synthetic:
            out[key] += c.time
        else:
            self_times(c, out)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", help="one of workloads.NETWORK_SYSTEMS")
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--interval", type=float, default=0.0005,
                        help="sampling interval in seconds (smaller: finer, more overhead)")
    parser.add_argument("--tree", action="store_true", help="print the call tree too")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of NumPy's BLAS (threadpoolctl) and PyTorch")
    args = parser.parse_args(argv)

    import numpy as np
    import workloads as W
    from pyinstrument import Profiler

    W.use_tree(W.ROOT)
    if args.system not in W.NETWORK_SYSTEMS:
        parser.error(f"system must be one of {W.NETWORK_SYSTEMS}")
    torch = W.import_torch() if args.system == "torch" else None
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads, user_api="blas")
        if torch is not None:
            torch.set_num_threads(args.threads)
    x, t, source = W.load_digits()
    dtype = np.dtype(args.dtype)
    step, _ = W.make_network_system(args.system, dtype, args.batch,
                                    (x.astype(dtype), t.astype(dtype)))
    for _ in range(10):
        step()
    profiler = Profiler(interval=args.interval)
    profiler.start()
    for _ in range(args.steps):
        step()
    profiler.stop()
    session = profiler.last_session
    root = session.root_frame()
    total = root.time
    print(f"{args.system}, {args.dtype}, batch {args.batch}: {args.steps} steps in "
          f"{session.duration:.3f} s wall ({session.cpu_time:.3f} s CPU), "
          f"{session.duration / args.steps * 1e3:.3f} ms per step; data: {source}")
    if args.tree:
        print(profiler.output_text(unicode=False, color=False))
    own = self_times(root, defaultdict(float))
    print(f"\n{'self %':>7}  {'ms/step':>8}  function")
    for (fn, file, line), s in sorted(own.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"{100 * s / total:6.1f}%  {s / args.steps * 1e3:8.4f}  {fn}  ({file}:{line})")


if __name__ == "__main__":
    main()
