"""Benchmarks of the convolution family (tg.conv2d and its gradients).

Run from the repository root::

    python benchmarks/bench_conv.py              # full run, about a minute
    python benchmarks/bench_conv.py --quick      # fewer rounds
    python benchmarks/bench_conv.py --threads 1  # one thread for BLAS and PyTorch

``run.py --only conv`` runs the same three benchmarks inside its report. Sections 1 and 2
time each system in a process of its own (``harness.py``: one worker per library, rounds
taking turns, medians over rounds), after checking that the systems' results agree.
Results go to ``benchmarks/results/conv.json`` (``conv_threads1.json`` with ``--threads 1``).

1. The seed notebook's first two layers on one 1x28x28 image (conv 1->5, 3x3, untied bias,
   sigmoid, conv 5->5, 3x3, untied bias), forward and backward: tg.conv2d against the
   notebook's per-channel ``scipy.signal`` loops (a lean copy of them, and the reference
   layers ``tensorgrad.reference.Convolution``/``Sigmoid`` themselves), and PyTorch if
   installed.
2. conv2d forward+backward at N=32, 16->32 channels, 32x32, 3x3, padding 1, float32, against
   PyTorch's CPU conv2d, with GFLOP/s next to a 512x512 float32 ``numpy.matmul``'s, and the
   parts of tg.conv2d's kernels timed apart, in a process of their own: their products
   alone and their least layout work alone (together, on one thread, a floor under the
   kernels' time).
3. The measurements behind the library's choice of route for each contraction: the input
   gradient (product + loop-free fold vs zero-dilation + correlation), the weight gradient
   (flat, reading the input in place, vs im2col columns) and the forward (im2col in blocks
   of about 64 output pixels vs one product per image), over channel counts, strides and
   dtypes; the route each rule picks is starred. These compare tensorgrad's own routes
   with each other, so they take turns inside one tensorgrad process.

Importing this module imports NumPy and SciPy only: each case imports its own library when
it is built (inside its worker).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import threading
import timeit
from pathlib import Path

import numpy as np
import scipy.signal
import scipy.special

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from report import agrees, table  # noqa: E402
from workloads import Case, import_torch  # noqa: E402

RESULTS = HERE / "results" / "conv.json"


# -- 1. the notebook's first two layers ---------------------------------------------------

LAYER_SYSTEMS = {"scipy per-channel loop": "numpy", "tg.reference layers": "tensorgrad",
                 "tg.conv2d": "tensorgrad", "torch conv2d": "torch"}


def _layers_data():
    rng = np.random.default_rng(0)
    x = rng.random((1, 28, 28))
    k1, b1 = rng.standard_normal((5, 1, 3, 3)), rng.random((5, 26, 26))
    k2, b2 = rng.standard_normal((5, 5, 3, 3)), rng.random((5, 24, 24))
    g2 = rng.standard_normal((5, 24, 24))
    return x, k1, b1, k2, b2, g2


def layers_case(system: str) -> Case:
    """One forward+backward of the notebook's layers 1-2 by ``system`` (a key of
    :data:`LAYER_SYSTEMS`); its outputs are the gradients of K1, B1 and K2."""
    x, k1, b1, k2, b2, g2 = _layers_data()
    if system == "scipy per-channel loop":
        corr, conv = scipy.signal.correlate2d, scipy.signal.convolve2d

        def fn():
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
            return dk1, dy1, dk2

        outputs = fn
    elif system == "tg.reference layers":
        from tensorgrad import reference as ref

        layers = [ref.Convolution((1, 28, 28), 3, 5, rng=0), ref.Sigmoid(),
                  ref.Convolution((5, 26, 26), 3, 5, rng=0)]
        layers[0].kernels[...], layers[0].bias[...] = k1, b1
        layers[2].kernels[...], layers[2].bias[...] = k2, b2

        def fn():
            out = x
            for layer in layers:
                out = layer.forward(out)
            grad = g2
            for layer in reversed(layers):
                grad = layer.backward(grad)
            return (layers[0].kernels_gradient, layers[0].bias_gradient,
                    layers[2].kernels_gradient)

        outputs = fn
    elif system == "tg.conv2d":
        import tensorgrad as tg

        params = [tg.tensor(a, requires_grad=True) for a in (k1, b1, k2, b2)]

        def fn():
            tk1, tb1, tk2, tb2 = params
            h = tg.sigmoid(tg.conv2d(x, tk1) + tb1)
            y = tg.conv2d(h, tk2) + tb2
            return tg.grad(y, params, grad_outputs=g2)

        def outputs():
            return [v.data for v in fn()[:3]]
    elif system == "torch conv2d":
        torch = import_torch()
        tparams = [torch.tensor(a, requires_grad=True) for a in (k1, b1, k2, b2)]
        tx, tg2 = torch.tensor(x[None]), torch.tensor(g2[None])

        def fn():
            tk1, tb1, tk2, tb2 = tparams
            h = torch.sigmoid(torch.nn.functional.conv2d(tx, tk1) + tb1)
            y = torch.nn.functional.conv2d(h, tk2) + tb2
            return torch.autograd.grad(y, tparams, grad_outputs=tg2)

        def outputs():
            return [v.numpy() for v in fn()[:3]]
    else:
        raise ValueError(f"layers_case: system must be one of {list(LAYER_SYSTEMS)}, "
                         f"got {system!r}")
    return Case(fn, lambda: dict(zip(("dK1", "dB1", "dK2"), outputs())))


def notebook_layers(number, repeat, threads=None, baseline=None):
    """Section 1, each system in its own process; ``baseline = (tree, tag)`` adds the
    tensorgrad systems of another checkout."""
    systems = [harness.System(name, lib, {name: {"kind": "conv_layers", "system": name}})
               for name, lib in LAYER_SYSTEMS.items() if lib != "torch" or harness.torch_installed()]
    if baseline:
        systems = harness.with_baseline(systems, *baseline)
    rows, workers = harness.measure(systems, number, repeat, threads,
                                    against="scipy per-channel loop")
    return {"medians_s": {k: r["median_s"] for k, r in rows.items()}, "rows": rows,
            "workers": workers, "agreement_tolerance": 1e-10}


# -- 2. a batched float32 convolution ------------------------------------------------------

# the parts of tg.conv2d's kernels, timed apart: this tree's kernels only, no baseline copy
PRODUCTS = "tg.conv2d's products alone"
LAYOUTS = "tg.conv2d's layouts alone"
PARTS = (PRODUCTS, LAYOUTS)
BATCHED_SYSTEMS = {"tg.conv2d": "tensorgrad", "tg.conv2d forward only": "tensorgrad",
                   "numpy.matmul 512x512": "numpy", "torch conv2d": "torch",
                   "torch conv2d forward only": "torch", PRODUCTS: "tensorgrad",
                   LAYOUTS: "tensorgrad"}
N, C_IN, C_OUT, HW, KSIZE = 32, 16, 32, 32, 3
FLOP_FORWARD = 2.0 * N * C_OUT * C_IN * KSIZE * KSIZE * HW * HW
FLOP = 3 * FLOP_FORWARD  # forward, input gradient, weight gradient


def _batched_data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C_IN, HW, HW)).astype(np.float32)
    w = (rng.standard_normal((C_OUT, C_IN, KSIZE, KSIZE)) * 0.1).astype(np.float32)
    b = rng.standard_normal(C_OUT).astype(np.float32)
    g = rng.standard_normal((N, C_OUT, HW, HW)).astype(np.float32)
    a = rng.standard_normal((512, 512)).astype(np.float32)
    return x, w, b, g, a


def batched_case(system: str) -> Case:
    """Section 2's case ``system`` (a key of :data:`BATCHED_SYSTEMS`); the outputs are the
    gradients of x, w, b (forward+backward) or the output (forward only)."""
    x, w, b, g, a = _batched_data()
    if system == "numpy.matmul 512x512":
        return Case(lambda: a @ a)
    if system == PRODUCTS:
        return Case(_products_alone(x, w, g))
    if system == LAYOUTS:
        return Case(_layouts_alone(x, w, b, g))
    if system.startswith("tg."):
        import tensorgrad as tg

        params = [tg.tensor(v, requires_grad=True) for v in (x, w, b)]
        if system == "tg.conv2d":
            def fn():
                return tg.grad(tg.conv2d(*params, padding=1), params, grad_outputs=g)
        else:
            def fn():
                with tg.no_grad():
                    return (tg.conv2d(x, w, b, padding=1),)
        return Case(fn, lambda: {f"{i}": v.data for i, v in enumerate(fn())})
    if system.startswith("torch"):
        torch = import_torch()
        F = torch.nn.functional
        if system == "torch conv2d":
            params = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
            rg = torch.tensor(g)

            def fn():
                return torch.autograd.grad(F.conv2d(*params, padding=1), params, grad_outputs=rg)
        else:
            rx, rw, rb = (torch.tensor(v) for v in (x, w, b))

            def fn():
                with torch.no_grad():
                    return (F.conv2d(rx, rw, rb, padding=1),)
        return Case(fn, lambda: {f"{i}": v.numpy() for i, v in enumerate(fn())})
    raise ValueError(f"batched_case: system must be one of {list(BATCHED_SYSTEMS)}, "
                     f"got {system!r}")


# section 2's padded grid (padding 1): rows of length WP, GRID_ROWS rows where windows start
WP = HW + 2
GRID_ROWS = WP - (KSIZE - 1)


def _fold_operands(w, g):
    """The operands of the fold route's product for image 0, as its kernel lays them out: the
    cotangent spread on the flat padded grid (1, O, L) and the kernel as (1, C·kH·kW, O)."""
    from tensorgrad.ops import _conv_kernels as kernels

    length = WP * WP + KSIZE - 1  # the padded image and the largest tap offset
    spread = kernels._spread(g[:1], GRID_ROWS, WP, length, (1, 1))
    return spread, w.reshape(1, C_OUT, -1).swapaxes(1, 2)


def _products_alone(x, w, g):
    """A function making the BLAS products of ``tg.conv2d``'s forward and both gradients on
    section 2's case exactly as its kernels make them (the routes their rules pick here:
    forward in blocks, weight gradient flat, input gradient by the fold), the batch split
    once over the threads (the kernels split it once per contraction), each thread
    multiplying into its own fold matrix, but with nothing else: no padding, im2col, spread
    cotangent, fold sum, bias or engine. Their operands are laid out once, for image
    0, and used for every image, so they stay in cache: a lower bound on the time of the
    kernels as they are built (other layouts make other products). The function returns the forward's products
    (each image's equal to image 0's, without the bias) and the summed weight-gradient
    products, (1, kH, kW, 1, O, C) (each image's the tap-major form of image 0's)."""
    from tensorgrad.ops import _conv_kernels as kernels

    unit = (1, 1)
    r = kernels.block_rows(HW, HW)
    xp = kernels.pad(x[:1], (1, 1, 1, 1))
    cols = kernels._columns(xp, 1, KSIZE, KSIZE, HW, HW, unit, unit, block_rows=r).copy()
    wm, y = w.reshape(1, C_OUT, -1), np.empty((N, C_OUT, HW, HW), x.dtype)
    spread, wt = _fold_operands(w, g)
    length = spread.shape[-1]
    flat = GRID_ROWS * WP - (KSIZE - 1)  # the weight gradient's columns
    taps = kernels.tap_matrices(xp, (KSIZE, KSIZE), unit, 1, flat)
    yf = spread[:, :, :flat].reshape(1, 1, 1, 1, C_OUT, flat)

    def half(lo, hi):
        for n in range(lo, hi):
            np.matmul(wm, cols, out=kernels.row_blocks(y[n:n + 1], r, 1))
        dw = np.matmul(yf, taps)
        for _ in range(lo + 1, hi):
            dw += np.matmul(yf, taps)
        fold = kernels.workspace("matrix", (1, 1, C_IN * KSIZE * KSIZE, length), x.dtype)
        for _ in range(lo, hi):  # each thread its own fold matrix, as in the kernel
            kernels._product_in_blocks(wt, spread.reshape(1, 1, C_OUT, length), fold)
        return dw

    def run():
        first, second = kernels._split(half, N, FLOP)
        return y, first + second

    return run


def _layouts_alone(x, w, b, g):
    """A function making the least layout work that ``tg.conv2d``'s kernels need on section
    2's case around their products (the routes their rules pick here: forward in blocks,
    weight gradient flat, input gradient by the fold), the batch split once over the threads
    as in :func:`_products_alone`, and nothing else: no product, no engine. Per image: the
    padding and the im2col, the bias added to the image's output, one spread cotangent (the
    kernels make two, one per gradient), and the fold's sum and crop; per half, the bias
    gradient. Each thread writes one image's output and input gradient, in cache, and folds
    image 0's fold matrix, made beforehand: a lower bound on the layout work of the kernels
    as they are built. With :func:`_products_alone`, the two bound from below the time of
    these kernels on one core: the sum of the two, timed on one thread; on two cores, half
    of it. The function returns the input gradient of image 0 (from the fold matrix) and
    the bias gradient."""
    from tensorgrad.ops import _conv_kernels as kernels

    unit, padding, size = (1, 1), (1, 1, 1, 1), (KSIZE, KSIZE)
    r = kernels.block_rows(HW, HW)
    spread0, wt = _fold_operands(w, g)
    length = spread0.shape[-1]
    fold0 = np.empty((1, 1, C_IN * KSIZE * KSIZE, length), x.dtype)
    kernels._product_in_blocks(wt, spread0.reshape(1, 1, C_OUT, length), fold0)
    bias = b.reshape(-1, 1, 1)
    local = threading.local()

    def half(lo, hi):
        if not hasattr(local, "buffers"):  # one set per thread, as the kernels' workspaces
            local.buffers = (np.zeros((1, C_OUT, HW, HW), x.dtype), np.zeros_like(spread0),
                             fold0.copy(), np.empty((1, C_IN, HW, HW), x.dtype))
        y, spread, fold, dx = local.buffers
        for n in range(lo, hi):
            xp = kernels.pad(x[n:n + 1], padding, scratch=True)
            kernels._columns(xp, 1, KSIZE, KSIZE, HW, HW, unit, unit, block_rows=r)
            y += bias
            kernels._spread_into(spread, g[n:n + 1], GRID_ROWS, WP, unit)
            folded = kernels.fold_rows(fold, C_IN, size, unit, HW, WP, padding[0])
            dx[...] = folded.reshape(1, C_IN, HW, WP)[..., padding[2]:padding[2] + HW]
        return dx.copy(), g[lo:hi].sum(axis=(0, 2, 3))

    def run():
        first, second = kernels._split(half, N, FLOP)
        return first[0], first[1] + second[1]

    return run


def batched_float32(number, repeat, threads=None, baseline=None):
    """Section 2, one process per library; ``baseline = (tree, tag)`` adds the tensorgrad
    systems of another checkout. The forward+backward rows are compared with PyTorch's
    (relative tolerance 2e-3 of the largest gradient), the forward-only rows likewise."""
    by_lib = {}
    for name, lib in BATCHED_SYSTEMS.items():
        if name not in PARTS and (lib != "torch" or harness.torch_installed()):
            by_lib.setdefault(lib, {})[name] = {"kind": "conv_batched", "system": name}
    systems = [harness.System(lib, lib, cases) for lib, cases in by_lib.items()]
    if baseline:
        systems = harness.with_baseline(systems, *baseline)
    against = {}
    if harness.torch_installed():
        for key in (cid for s in systems for cid in s.cases):
            name = key.split(" @ ")[0]
            if name.startswith(("tg.", "torch")):
                against[key] = name.replace("tg.", "torch ")
    # the parts of this tree's kernels, in a process of their own, after the baseline's
    # copies were made: an older tree's kernels may lack the functions they call
    systems.append(harness.System("tg.conv2d's parts", "tensorgrad",
                                  {p: {"kind": "conv_batched", "system": p} for p in PARTS}))
    rows, workers = harness.measure(systems, number, repeat, threads, against, tiny=1e-30)
    medians = {k: r["median_s"] for k, r in rows.items()}
    gflops = {k: (FLOP_FORWARD if "forward only" in k else FLOP) / t / 1e9
              for k, t in medians.items() if not k.startswith("numpy") and k != LAYOUTS}
    gflops["numpy.matmul 512x512"] = 2.0 * 512**3 / medians["numpy.matmul 512x512"] / 1e9
    result = {"medians_s": medians, "rows": rows, "gflops": gflops, "flop": FLOP,
              "workers": workers, "agreement_tolerance": 2e-3}
    if "torch conv2d" in medians:
        result["time_ratio_tg_over_torch"] = medians["tg.conv2d"] / medians["torch conv2d"]
        result["forward_time_ratio_tg_over_torch"] = (medians["tg.conv2d forward only"]
                                                      / medians["torch conv2d forward only"])
        for part, key in ((PRODUCTS, "products"), (LAYOUTS, "layouts")):
            result[f"{key}_time_ratio_over_torch"] = medians[part] / medians["torch conv2d"]
    return result


KINDS = {"conv_layers": lambda c: layers_case(c["system"]),
         "conv_batched": lambda c: batched_case(c["system"])}


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


def _in_turn(systems, number, repeat):
    """Median seconds per call of each system, timed in turn ``repeat`` times (one process:
    these are routes of the same library)."""
    for fn in systems.values():  # warm-up
        fn()
    times = {name: [] for name in systems}
    for _ in range(repeat):
        for name, fn in systems.items():
            times[name].append(timeit.timeit(fn, number=number) / number)
    return {name: float(np.median(t)) for name, t in times.items()}


def route_choice(number, repeat, cases=None):
    """Each contraction's two routes on the same arrays (3x3 kernels, padding 1): the input
    gradient (fold vs dilated), the weight gradient (flat vs im2col columns), the forward
    (row blocks vs one product per image), each forced with the kernels' ``route=``, for the
    first ``cases`` of :data:`ROUTE_CASES` (all by default). The rules in
    tensorgrad/ops/_conv_kernels.py come from these figures; the route each rule picks is
    marked with *."""
    from tensorgrad.ops import _conv_kernels as kernels

    rng = np.random.default_rng(2)
    out = {}
    for label, (n, c, o, hw, dtype) in list(ROUTE_CASES.items())[:cases]:
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
            systems = {route: functools.partial(fn, p, q, *args, route=route)
                       for route, (fn, p, q, args) in routes.items()}
            for a, b in (("fold", "dilated"), ("flat", "columns"), ("blocks", "whole")):
                if a in systems:  # both routes agree before they are timed
                    want = systems[b]()
                    np.testing.assert_allclose(systems[a](), want, rtol=1e-4,
                                               atol=1e-4 * np.abs(want).max())
            medians = _in_turn(systems, max(1, number // (20 if n > 8 else 1)), repeat)
            pick_t = kernels.transpose_route(c, o)
            pick_w = kernels.weight_grad_route((s, s), c)
            pick_f = kernels.forward_route(n, o, c * 9, *y.shape[2:])
            out[f"{label}, stride {s}"] = {"medians_s": medians,
                                           "picked": [pick_t, pick_w, pick_f]}
    return out


def run(quick=False, threads=None, baseline=None, repeat=None) -> dict:
    """The three sections (section 3 inside one tensorgrad worker; ``quick``: fewer calls and
    rounds, and only its two smallest cases); with ``baseline = (tree, tag)``, sections 1 and
    2 also time that checkout's tensorgrad. Errors are reported in the result, never
    raised."""
    repeat = repeat or (3 if quick else 15)
    calls = {
        "notebook_layers": lambda: notebook_layers(5 if quick else 20, repeat, threads, baseline),
        "batched_float32": lambda: batched_float32(1 if quick else 3, repeat, threads, baseline),
        "route_choice": lambda: _route_choice_in_worker(2 if quick else 20, repeat, threads,
                                                        2 if quick else None),
    }
    out = {}
    for key, call in calls.items():
        try:
            out[key] = call()
        except Exception as err:  # report, keep going
            out[key] = {"error": f"{type(err).__name__}: {err}"}
    return out


def _route_choice_in_worker(number, repeat, threads, cases):
    system = harness.System("tensorgrad routes", "tensorgrad", {})
    with harness.processes([system], threads) as procs:
        worker = procs[system.label]
        result = worker.request(cmd="run", func="bench_conv.route_choice",
                                kwargs={"number": number, "repeat": repeat,
                                        "cases": cases})["result"]
        system.info = worker.request(cmd="info")
        harness.check_imports(system)
    return result


def show(result, peak32=None) -> str:
    """Print the tables of :func:`run`'s result and return their text; ``peak32`` (GFLOP/s
    of a float32 GEMM) adds section 2's FLOP floor."""
    texts = []
    nl = result.get("notebook_layers", {})
    if "medians_s" in nl:
        base = nl["medians_s"].get("scipy per-channel loop")
        rows = [{"system": k, "ms": r["median_s"] * 1e3, "x": r["median_s"] / base,
                 "iqr": r["iqr"], "agrees": agrees(r, nl["agreement_tolerance"])}
                for k, r in nl["rows"].items()]
        texts.append(table("Conv (bench_conv 1): notebook layers 1-2 on one 1x28x28 image, "
                           "forward+backward, float64, one process per system",
                           [("system", "system", ""), ("ms", "ms", ".3f"),
                            ("x scipy loop", "x", ".2f"), ("IQR", "iqr", ".0%"),
                            ("agrees", "agrees", "")], rows))
    else:
        print(f"\nconv notebook_layers: {nl.get('error')}")
    bf = result.get("batched_float32", {})
    if "medians_s" in bf:
        rows = [{"system": k, "ms": r["median_s"] * 1e3, "gflops": bf["gflops"].get(k),
                 "iqr": r["iqr"], "agrees": agrees(r, bf["agreement_tolerance"])}
                for k, r in bf["rows"].items()]
        if peak32:
            rows.append({"system": f"FLOP floor ({bf['flop'] / 1e9:.3f} GFLOP at {peak32:.0f} "
                                   "GFLOP/s)", "ms": bf["flop"] / (peak32 * 1e9) * 1e3})
        texts.append(table("Conv (bench_conv 2): conv2d forward+backward, N=32, 16->32 "
                           "channels, 32x32, 3x3, pad 1, float32, one process per library",
                           [("system", "system", ""), ("ms", "ms", ".3f"),
                            ("GFLOP/s", "gflops", ".1f"), ("IQR", "iqr", ".0%"),
                            ("agrees", "agrees", "")], rows,
                           note=_parts_note(bf)))
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
                           "(* = the route the library picks), in one tensorgrad process",
                           [("case", "case", "")] + [(m, m, "") for m in routes], rows,
                           note="input gradient: fold / dilated; weight gradient: flat / "
                                "columns; forward: blocks / whole"))
    elif rc:
        print(f"\nconv route_choice: {rc.get('error')}")
    return "\n".join(texts)


def _parts_note(bf):
    """The note under section 2's table: tg.conv2d's time and its parts' times over torch's."""
    if "time_ratio_tg_over_torch" not in bf:
        return ""
    products, layouts = bf["products_time_ratio_over_torch"], bf["layouts_time_ratio_over_torch"]
    return (f"tg.conv2d / torch time ratio {bf['time_ratio_tg_over_torch']:.2f}; its products "
            f"alone (operands laid out beforehand, in cache) / torch {products:.2f}; its least "
            f"layout work alone / torch {layouts:.2f}; the two parts together "
            f"{products + layouts:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmarks of the convolution family.")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of BLAS and PyTorch in every worker (default: the "
                             "libraries' own choice, PyTorch one per core)")
    args = parser.parse_args(argv)
    harness.exit_on_sigterm()
    print("each system in a process of its own; load average "
          f"{os.getloadavg()[0]:.2f} at start")
    result = run(args.quick, args.threads)
    show(result)
    result["threads"] = args.threads or "default"
    result["load_average_at_end"] = os.getloadavg()
    path = RESULTS if args.threads is None else RESULTS.with_name(
        f"conv_threads{args.threads}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=float))
    print(f"\nwritten {path.relative_to(HERE.parent)} (load average {os.getloadavg()[0]:.2f}: "
          "other processes on the machine skew the timings)")


if __name__ == "__main__":
    main()
