"""Benchmarks of the convolution family (tg.conv2d and its gradients).

Run from the repository root::

    python benchmarks/bench_conv.py            # full run, about a minute
    python benchmarks/bench_conv.py --quick    # fewer repeats
    python benchmarks/bench_conv.py --threads 1  # single-threaded BLAS and PyTorch

Every comparison times all its systems round-robin in the same process (one timing of each
system in turn, ``repeat`` times, each timing the mean of ``number`` calls), so that load
from other processes hits them alike; the medians are reported, with ratios. Results go to
``benchmarks/results/conv.json`` (``conv_threads1.json`` with ``--threads 1``). On a machine
shared with other processes, multithreaded BLAS can stall badly (a thread waiting for a
descheduled one): prefer ``--threads 1`` there.

1. The seed notebook's first two layers on one 1x28x28 image (conv 1->5, 3x3, untied bias,
   sigmoid, conv 5->5, 3x3, untied bias), forward and backward: tg.conv2d against the
   notebook's per-channel ``scipy.signal`` loops (a lean copy of them, and the reference
   layers ``tensorgrad.reference.Convolution``/``Sigmoid`` themselves), and PyTorch if
   importable.
2. conv2d forward+backward at N=32, 16->32 channels, 32x32, 3x3, padding 1, float32, against
   PyTorch's CPU conv2d, with GFLOP/s next to a 512x512 float32 ``numpy.matmul``'s.
3. The measurements behind the library's choice of route for each contraction: the input
   gradient (product + loop-free fold vs zero-dilation + correlation), the weight gradient
   (flat, reading the input in place, vs im2col columns) and the forward (im2col in blocks
   of about 64 output pixels vs one product per image), over channel counts, strides and
   dtypes; the route each rule picks is starred.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import timeit

PARSER = argparse.ArgumentParser(description="Benchmarks of the convolution family.")
PARSER.add_argument("--quick", action="store_true", help="fewer repeats")
PARSER.add_argument("--threads", type=int, default=None,
                    help="BLAS and PyTorch threads (default: the libraries' own choice); "
                         "1 gives stable numbers on a machine shared with other processes")
ARGS = PARSER.parse_known_args()[0]  # also importable from run.py
if ARGS.threads is not None:  # must be set before NumPy loads its BLAS
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402
import scipy.special  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorgrad as tg  # noqa: E402
from tensorgrad import reference as ref  # noqa: E402
from tensorgrad.ops import _conv_kernels as kernels  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None
if torch is not None and ARGS.threads is not None:
    torch.set_num_threads(ARGS.threads)

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "conv.json")


def round_robin(systems, number, repeat):
    """Median seconds per call of each system, timed in turn ``repeat`` times."""
    for fn in systems.values():  # warm-up
        fn()
    times = {name: [] for name in systems}
    for _ in range(repeat):
        for name, fn in systems.items():
            times[name].append(timeit.timeit(fn, number=number) / number)
    return {name: float(np.median(t)) for name, t in times.items()}


def show(title, medians, baseline, unit=1e-3, unit_name="ms"):
    print(f"\n{title}")
    for name, t in medians.items():
        ratio = medians[baseline] / t
        print(f"  {name:<28s} {t / unit:10.3f} {unit_name}   {ratio:6.2f}x vs {baseline}")


# -- 1. the notebook's first two layers ---------------------------------------------------

def notebook_layers(number, repeat):
    rng = np.random.default_rng(0)
    x = rng.random((1, 28, 28))
    k1, b1 = rng.standard_normal((5, 1, 3, 3)), rng.random((5, 26, 26))
    k2, b2 = rng.standard_normal((5, 5, 3, 3)), rng.random((5, 24, 24))
    g2 = rng.standard_normal((5, 24, 24))
    corr, conv = scipy.signal.correlate2d, scipy.signal.convolve2d

    def scipy_loop():
        y1 = b1.copy()
        for i in range(5):
            y1[i] += corr(x[0], k1[i, 0], mode="valid")
        h = scipy.special.expit(y1)
        y2 = b2.copy()
        for i in range(5):
            for j in range(5):
                y2[i] += corr(h[j], k2[i, j], mode="valid")
        dk2, dh = np.zeros_like(k2), np.zeros_like(h)
        for i in range(5):
            for j in range(5):
                dk2[i, j] = corr(h[j], g2[i], mode="valid")
                dh[j] += conv(g2[i], k2[i, j], mode="full")
        dy1 = dh * h * (1 - h)
        dk1, dx = np.zeros_like(k1), np.zeros_like(x)
        for i in range(5):
            dk1[i, 0] = corr(x[0], dy1[i], mode="valid")
            dx[0] += conv(dy1[i], k1[i, 0], mode="full")
        return dk1, dy1, dk2, g2

    layers = [ref.Convolution((1, 28, 28), 3, 5, rng=0), ref.Sigmoid(),
              ref.Convolution((5, 26, 26), 3, 5, rng=0)]
    layers[0].kernels[...], layers[0].bias[...] = k1, b1
    layers[2].kernels[...], layers[2].bias[...] = k2, b2

    def reference_layers():
        out = x
        for layer in layers:
            out = layer.forward(out)
        grad = g2
        for layer in reversed(layers):
            grad = layer.backward(grad)
        return layers[0].kernels_gradient, layers[0].bias_gradient, layers[2].kernels_gradient

    params = [tg.tensor(a, requires_grad=True) for a in (k1, b1, k2, b2)]

    def tensorgrad_conv2d():
        tk1, tb1, tk2, tb2 = params
        h = tg.sigmoid(tg.conv2d(x, tk1) + tb1)
        y = tg.conv2d(h, tk2) + tb2
        return tg.grad(y, params, grad_outputs=g2)

    systems = {"scipy per-channel loop": scipy_loop, "tg.reference layers": reference_layers,
               "tg.conv2d": tensorgrad_conv2d}
    if torch is not None:
        tparams = [torch.tensor(a, requires_grad=True) for a in (k1, b1, k2, b2)]
        tx, tg2 = torch.tensor(x[None]), torch.tensor(g2[None])

        def torch_conv2d():
            tk1, tb1, tk2, tb2 = tparams
            h = torch.sigmoid(torch.nn.functional.conv2d(tx, tk1) + tb1)
            y = torch.nn.functional.conv2d(h, tk2) + tb2
            return torch.autograd.grad(y, tparams, grad_outputs=tg2)

        systems["torch conv2d"] = torch_conv2d
    # the systems agree before they are timed
    dk1, dy1, dk2, _ = scipy_loop()
    got = tensorgrad_conv2d()
    np.testing.assert_allclose(got[0].data, dk1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1].data, dy1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[2].data, dk2, rtol=1e-10, atol=1e-12)
    medians = round_robin(systems, number, repeat)
    show("1. notebook layers 1-2 on one 1x28x28 image, forward+backward (float64)", medians,
         "scipy per-channel loop")
    return {"medians_s": medians,
            "speedup_vs_scipy_loop": medians["scipy per-channel loop"] / medians["tg.conv2d"],
            "speedup_vs_reference_layers": medians["tg.reference layers"] / medians["tg.conv2d"],
            "target_speedup": 5.0}


# -- 2. a batched float32 convolution ------------------------------------------------------

def batched_float32(number, repeat):
    rng = np.random.default_rng(1)
    n, c, o, hw, k = 32, 16, 32, 32, 3
    x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((o, c, k, k)) * 0.1).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    g = rng.standard_normal((n, o, hw, hw)).astype(np.float32)
    flops_fwd = 2.0 * n * o * c * k * k * hw * hw
    flops = 3 * flops_fwd  # forward, input gradient, weight gradient
    tparams = [tg.tensor(a, requires_grad=True) for a in (x, w, b)]

    def tensorgrad_conv2d():
        y = tg.conv2d(*tparams, padding=1)
        return tg.grad(y, tparams, grad_outputs=g)

    def tensorgrad_forward():
        with tg.no_grad():
            return tg.conv2d(x, w, b, padding=1)

    a = rng.standard_normal((512, 512)).astype(np.float32)
    systems = {"tg.conv2d": tensorgrad_conv2d, "tg.conv2d forward only": tensorgrad_forward,
               "numpy.matmul 512x512": lambda: a @ a}
    if torch is not None:
        rparams = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
        rg = torch.tensor(g)
        rx, rw, rb = (torch.tensor(v) for v in (x, w, b))

        def torch_conv2d():
            y = torch.nn.functional.conv2d(*rparams, padding=1)
            return torch.autograd.grad(y, rparams, grad_outputs=rg)

        def torch_forward():
            with torch.no_grad():
                return torch.nn.functional.conv2d(rx, rw, rb, padding=1)

        systems["torch conv2d"] = torch_conv2d
        systems["torch conv2d forward only"] = torch_forward
        got, want = tensorgrad_conv2d(), torch_conv2d()
        for u, v in zip(got, want):
            np.testing.assert_allclose(u.data, v.numpy(), rtol=2e-3, atol=2e-3 * np.abs(v.numpy()).max())
    medians = round_robin(systems, number, repeat)
    gflops = {"tg.conv2d": flops / medians["tg.conv2d"] / 1e9,
              "tg.conv2d forward only": flops_fwd / medians["tg.conv2d forward only"] / 1e9,
              "numpy.matmul 512x512": 2.0 * 512**3 / medians["numpy.matmul 512x512"] / 1e9}
    if torch is not None:
        gflops["torch conv2d"] = flops / medians["torch conv2d"] / 1e9
        gflops["torch conv2d forward only"] = (flops_fwd / medians["torch conv2d forward only"]
                                               / 1e9)
    print("\n2. conv2d forward+backward, N=32, 16->32 channels, 32x32, 3x3, padding 1, float32 "
          f"({flops / 1e9:.3f} GFLOP)")
    for name, t in medians.items():
        print(f"  {name:<28s} {t * 1e3:10.3f} ms   {gflops[name]:7.1f} GFLOP/s")
    result = {"medians_s": medians, "gflops": gflops, "flop": flops,
              "conv_fraction_of_matmul_gflops": gflops["tg.conv2d"] / gflops["numpy.matmul 512x512"]}
    if torch is not None:
        result["time_ratio_tg_over_torch"] = medians["tg.conv2d"] / medians["torch conv2d"]
        result["forward_time_ratio_tg_over_torch"] = (medians["tg.conv2d forward only"]
                                                      / medians["torch conv2d forward only"])
        result["target_time_ratio"] = 1.5
        print(f"  tg.conv2d / torch time ratio: {result['time_ratio_tg_over_torch']:.2f} "
              f"(target <= 1.5); forward only {result['forward_time_ratio_tg_over_torch']:.2f}")
    return result


# -- 3. the measurements behind each choice of route -------------------------------------

ROUTE_CASES = {
    # label: (N, C_in, C_out, H=W, dtype)
    "1x5x26x26, 5->5": (1, 5, 5, 26, np.float64),
    "8x8x16x16, 8->16": (8, 8, 16, 16, np.float64),
    "16x32x28x28, 32->32": (16, 32, 32, 28, np.float64),
    "16x32x28x28, 32->16": (16, 32, 16, 28, np.float32),
    "16x3x28x28, 3->16": (16, 3, 16, 28, np.float32),
    "32x16x32x32, 16->32": (32, 16, 32, 32, np.float32),
}


def route_choice(number, repeat):
    """Each contraction's two routes on the same arrays (3x3 kernels, padding 1): the input
    gradient (fold vs dilated), the weight gradient (flat vs im2col columns), the forward
    (row blocks vs one product per image), each forced with the kernels' ``route=``. The
    rules in tensorgrad/ops/_conv_kernels.py come from these figures; the route each rule
    picks is marked with *."""
    rng = np.random.default_rng(2)
    out = {}
    print("\n3. routes of each contraction (ms; * = the one the library picks)")
    print(f"  {'case':<34s} {'input grad: fold  dilated':>27s} {'weight grad: flat  columns':>28s}"
          f" {'forward: blocks  whole':>24s}")
    for label, (n, c, o, hw, dtype) in ROUTE_CASES.items():
        for s in (1, 2):
            x = rng.standard_normal((n, c, hw, hw)).astype(dtype)
            w = rng.standard_normal((o, c, 3, 3)).astype(dtype)
            pad = (1, 1, 1, 1)
            f_args = ((s, s), pad, (1, 1), 1)  # stride, padding, dilation, groups
            y = kernels.correlate_nchw(x, w, *f_args)
            g = rng.standard_normal(y.shape).astype(dtype)
            t_args, w_args = ((hw, hw),) + f_args, ((3, 3),) + f_args
            routes = {
                "fold": (kernels.conv_transpose_nchw, g, w, t_args),
                "dilated": (kernels.conv_transpose_nchw, g, w, t_args),
                "columns": (kernels.weight_grad_nchw, x, g, w_args),
                "blocks": (kernels.correlate_nchw, x, w, f_args),
                "whole": (kernels.correlate_nchw, x, w, f_args),
            }
            if s == 1:
                routes["flat"] = (kernels.weight_grad_nchw, x, g, w_args)
            systems = {route: functools.partial(fn, a, b, *args, route=route)
                       for route, (fn, a, b, args) in routes.items()}
            for a, b in (("fold", "dilated"), ("flat", "columns"), ("blocks", "whole")):
                if a in systems:  # both routes agree before they are timed
                    want = systems[b]()
                    np.testing.assert_allclose(systems[a](), want, rtol=1e-4,
                                               atol=1e-4 * np.abs(want).max())
            medians = round_robin(systems, max(1, number // (20 if n > 8 else 1)), repeat)
            pick_t = kernels.transpose_route(c, o)
            pick_w = kernels.weight_grad_route((s, s), c)
            pick_f = kernels.forward_route(n, o, c * 9, *y.shape[2:])
            cells = [_cell(medians, m, pick) for m, pick in
                     (("fold", pick_t), ("dilated", pick_t), ("flat", pick_w),
                      ("columns", pick_w), ("blocks", pick_f), ("whole", pick_f))]
            key = f"{label}, stride {s}"
            out[key] = {"medians_s": medians, "picked": [pick_t, pick_w, pick_f]}
            print(f"  {key:<34s} {cells[0]}{cells[1]}        {cells[2]}{cells[3]}    "
                  f"{cells[4]}{cells[5]}")
    return out


def _cell(medians, name, pick):
    if name not in medians:
        return f"{'-':>8s} "
    return f"{medians[name] * 1e3:8.3f}{'*' if name == pick else ' '}"


def main():
    repeat = 5 if ARGS.quick else 15
    results = {
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "platform": platform.platform(), "cpus": os.cpu_count(),
                    "blas_threads": ARGS.threads or "default",
                    "torch": None if torch is None else torch.__version__,
                    "torch_threads": None if torch is None else torch.get_num_threads(),
                    "load_average_at_start": os.getloadavg()},
        "method": "round-robin timeit in one process; medians over repeats",
        "repeat": repeat,
        "notebook_layers": notebook_layers(number=20, repeat=repeat),
        "batched_float32": batched_float32(number=3, repeat=repeat),
        "route_choice": route_choice(number=20, repeat=repeat),
    }
    results["machine"]["load_average_at_end"] = os.getloadavg()
    path = RESULTS if ARGS.threads is None else RESULTS.replace(".json",
                                                                 f"_threads{ARGS.threads}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nwritten {os.path.relpath(path)} (load average {os.getloadavg()[0]:.2f}: other "
          "processes on the machine skew the timings)")


if __name__ == "__main__":
    main()
