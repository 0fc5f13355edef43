"""The NumPy kernels of the convolution family: the three contractions, their routes, and the
workspaces that hold their temporaries. NumPy in, NumPy out; nothing here records a graph.

With ``xp`` the input padded by (top, bottom, left, right), ``g = o // (O/G)`` the group of
output channel ``o`` and ``Cg = C/G``:

- :func:`correlate_nchw`, A(x, w): ``y[n, o, i, j] = Σ_{c,a,b} xp[n, g·Cg + c, s·i + d·a,
  s·j + d·b] w[o, c, a, b]`` (conv2d);
- :func:`weight_grad_nchw`, W(x, y): ``dw[o, c, a, b] = Σ_{n,i,j} y[n, o, i, j] xp[n, g·Cg + c,
  s·i + d·a, s·j + d·b]`` (the adjoint of A in w);
- :func:`conv_transpose_nchw`, T(y, w) = Aᵀ y (the adjoint of A in x).

Batched matrix products (``np.matmul``, over samples, groups and blocks of columns) and
strided views instead of Python loops: no loop over channels, pixels or kernel positions
and no ``np.add.at``. The one Python loop is over chunks of images whose im2col or fold
matrix fits in a core's L2 cache (:data:`CHUNK_BYTES`; for bench_conv 2's case, one image
per chunk): each chunk is padded, laid out and multiplied while it is there, which is
faster than laying out the whole batch first (one thread, its forward: 3.9 ms in chunks
of 1 MiB, 4.8-5.2 ms in chunks of 2-8 MiB), and faster still after an idle pause, when
reads from memory are slow. Each contraction has two routes; a rule picks one from the
shapes (:func:`forward_route`, :func:`weight_grad_route`, :func:`transpose_route`), and the
keyword ``route=`` forces one (tests and ``benchmarks/bench_conv.py`` use it). The rules come
from section 3 of ``benchmarks/bench_conv.py``; the figures behind them are in
``docs/performance.md``. The routes:

- A (forward): im2col, the windows of the padded input as a strided view laid out by one
  copy, times the kernel, written straight into the NCHW result; "blocks": the columns come
  in blocks of about 64 output pixels, which BLAS multiplies without packing, for products
  where K >= 64; "whole": one product per image.
- W (weight gradient): "flat" (stride 1): the padded image flattened, each kernel tap is one
  fixed offset into it, so the product reads the input in place (no im2col copy);
  "columns": the im2col columns.
- T (input gradient): "fold": one product of the kernel with the cotangent laid on the flat
  grid, then col2im as a single sum over a strided view (the tap offsets are linear in the
  tap indices); "dilated": zero-dilation of the cotangent and a stride-1 correlation with
  the flipped, channel-swapped kernel.

Large temporaries (padded input, im2col and fold matrices, spread cotangents) live in
per-thread workspaces (:func:`workspace`), since fresh large arrays cost page faults on
every call; only results are fresh arrays.

Both cores: a batch of at least two images whose contraction is large (at least
:data:`SPLIT_FLOP` multiply-adds) is computed as two halves, run at once by two threads
(NumPy and BLAS release the GIL), each with OpenBLAS on one thread, and written into one
result (the weight gradient: the two partial sums added), the two threads held on two
cores while they run (:class:`_Cores`). Measured against letting OpenBLAS
thread NumPy's batched products itself, see docs/compile.md. With one thread (OpenBLAS
limited to one by threadpoolctl or ``OPENBLAS_NUM_THREADS=1``, or :func:`set_num_threads`
(1)) the halves run one after the other: the results never depend on the threads.
"""
from __future__ import annotations

import ctypes
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _openblas

# ----------------------------------------------------------------------------------------
# Two threads for a batch
# ----------------------------------------------------------------------------------------
SPLIT_FLOP = 2e7  # below it, a thread's hand-over costs more than half the product saves
CHUNK_BYTES = 1 << 20  # im2col matrix of one chunk of images: within a core's L2 cache
_THREADS = {"n": min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else (os.cpu_count() or 1)), "pool": None}
_SPLITTING = threading.local()  # .on inside a half: no nested split


def set_num_threads(n: int) -> None:
    """Threads for one batched convolution kernel: 2 (the default on two or more cores)
    runs the two halves of a large batch at once; 1 runs them on the calling thread.

    Raises
    ------
    ValueError
        ``n`` not 1 or 2.
    """
    if n not in (1, 2) or isinstance(n, bool):
        raise ValueError(f"set_num_threads: n must be 1 or 2, got {n!r}")
    _THREADS["n"] = n


def get_num_threads() -> int:
    """The threads :func:`set_num_threads` set (2 on a machine with two or more cores)."""
    return _THREADS["n"]




def _split(kernel, n, flop, *args):
    """``(kernel(0, n//2, *args), kernel(n//2, n, *args))`` for a batch of ``n`` whose
    contraction is large, else None (the caller runs it whole). The halves are computed
    whatever the threads, so a result never depends on them; they run at once on two
    threads when :func:`set_num_threads` allows it and OpenBLAS has two or more (one there,
    set by threadpoolctl or ``OPENBLAS_NUM_THREADS=1``: one after the other).

    The second half goes to a worker thread, the two threads held on two different cores
    while they run (:class:`_Cores`); if the worker has not started when the first half is
    done, the calling thread computes the second half too."""
    if n < 2 or flop < SPLIT_FLOP or getattr(_SPLITTING, "on", False):
        return None
    half = n // 2
    if (_THREADS["n"] < 2 or not _openblas.available()
            or _openblas.get_num_threads() < 2):
        return _half(kernel, 0, half, args), _half(kernel, half, n, args)
    pool = _THREADS["pool"]
    if pool is None:
        pool = _THREADS["pool"] = ThreadPoolExecutor(1, thread_name_prefix="tensorgrad-conv")
        _THREADS["cores"] = _Cores(pool.submit(threading.get_native_id).result())
    previous = _openblas.get_num_threads()
    _openblas.set_num_threads(1)  # each half's products on one BLAS thread: two in all
    saved = _THREADS["cores"].hold()
    try:
        second = pool.submit(_half, kernel, half, n, args)
        first = _half(kernel, 0, half, args)
        if second.cancel():  # not started: its core was busy
            return first, _half(kernel, half, n, args)
        return first, second.result()
    finally:
        _Cores.release(saved)
        _openblas.set_num_threads(previous)


_SCHED_GETCPU = getattr(ctypes.CDLL(None), "sched_getcpu", None) if os.name == "posix" else None


class _Cores:
    """While a split runs: the calling thread held on the core it is on, the worker thread
    ``tid`` on the others (:meth:`hold`), the caller's affinity restored afterwards
    (:meth:`release`).

    Left to itself, Linux wakes a thread on the core of the thread that wakes it: the worker
    on the caller's core when a half is handed over, and the caller on the worker's core
    each time the worker hands it the GIL between two NumPy calls. Measured here (forward
    of bench_conv 2, two halves of 2.3 ms of CPU time each): the worker started 0.8-1.3 ms
    late with both on one core, and with the worker alone held elsewhere the caller's half
    took 4.8 ms, the caller having moved to the worker's core. Nothing is changed where
    ``sched_getcpu`` or ``sched_setaffinity`` is missing or refused."""

    def __init__(self, tid):
        self.tid, self.worker_mask = tid, None

    def hold(self):
        """Hold the calling thread on its core and the worker off it; the calling thread's
        previous affinity (for :meth:`release`), or None when nothing was changed."""
        if _SCHED_GETCPU is None or not hasattr(os, "sched_setaffinity"):
            return None
        try:
            allowed = os.sched_getaffinity(0)
            core = _SCHED_GETCPU()
            others = allowed - {core}
            if not others or core not in allowed:
                return None
            if others != self.worker_mask:
                os.sched_setaffinity(self.tid, others)
                self.worker_mask = others
            os.sched_setaffinity(0, {core})
            return allowed
        except OSError:  # not allowed here: the scheduler places the threads
            return None

    @staticmethod
    def release(saved):
        """Give the calling thread back the affinity :meth:`hold` returned."""
        if saved is not None:
            try:
                os.sched_setaffinity(0, saved)
            except OSError:
                pass


def _half(kernel, lo, hi, args):
    _SPLITTING.on = True
    try:
        return kernel(lo, hi, *args)
    finally:
        _SPLITTING.on = False


# ----------------------------------------------------------------------------------------
# Workspaces and views
# ----------------------------------------------------------------------------------------


def _raw_dtype(dtype):
    """``dtype``, for views made over raw memory: TypeError for Python objects, whose
    pointers such a view would forge (the public ops refuse them earlier, naming the op)."""
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise TypeError(f"convolution: arrays of dtype {dtype} are not supported (numbers only)")
    return dtype


_WORKSPACE = threading.local()


def workspace(slot, shape, dtype):
    """An uninitialised scratch array of ``shape`` for a temporary that never leaves the
    function asking for it, carved from one buffer per ``slot`` and thread that grows to the
    largest request and is then reused. Three slots: "pad" (a padded input, or the fold's
    rows before cropping), "matrix" (an im2col or fold matrix) and "spread" (a cotangent
    laid on the flat grid); a function holds at most one array per slot at a time.

    Large fresh arrays cost page faults on every call (the allocator hands the memory back
    to the system). The buffers stay allocated until :func:`empty_cache` or the thread's
    end: the largest padded input and the largest im2col or fold matrix seen."""
    dtype = _raw_dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    buf = getattr(_WORKSPACE, slot, None)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(nbytes, np.uint8)
        setattr(_WORKSPACE, slot, buf)
    return np.ndarray(shape, dtype, buf)


def empty_cache():
    """Free the convolution workspaces of the calling thread.

    conv2d, conv_transpose2d and their gradients keep their largest temporaries (the padded
    input, the im2col or fold matrix: up to about 9x an input's size for a 3x3 kernel) in
    per-thread buffers that grow to the largest size seen and are then reused, because
    fresh arrays of that size cost page faults on every call. After one very large
    convolution this memory stays held; ``empty_cache()`` returns it (the next convolution
    allocates again). Other threads' buffers go when those threads end. Like
    ``torch.cuda.empty_cache``, it changes memory use, never results.

    Returns
    -------
    int
        The number of bytes released.

    Examples
    --------
    >>> _ = tg.conv2d(np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)))
    >>> tg.ops.conv.empty_cache() > 0
    True
    """
    held = sum(buf.nbytes for buf in vars(_WORKSPACE).values())
    vars(_WORKSPACE).clear()
    return held


def pad(x, padding, value=0, scratch=False):
    """Pad the last two axes of 4-D ``x`` by (top, bottom, left, right) with ``value``; no
    copy when all are 0. ``scratch=True`` writes into the "pad" workspace (the caller must
    not return or keep the result)."""
    top, bottom, left, right = padding
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    shape = (n, c, h + top + bottom, w + left + right)
    if scratch:
        out = workspace("pad", shape, x.dtype)
        out.fill(value)
    else:
        out = np.full(shape, value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def strided(a, shape, strides, offset=0):
    """A strided view of C-contiguous ``a`` starting ``offset`` bytes in, only ever read (or
    written when its elements do not overlap): ``as_strided`` without its Python overhead,
    which matters for small images."""
    return np.ndarray(shape, _raw_dtype(a.dtype), a, offset, strides)


def out_len(n, k, s, d):
    """Output length of a correlation: floor((n - d(k-1) - 1)/s) + 1 (n already padded)."""
    return (n - d * (k - 1) - 1) // s + 1


def dilate_into(y, size, offset, stride):
    """Zeros (N, C) + ``size`` with y[..., i, j] placed at (offset0 + s0·i, offset1 + s1·j);
    entries falling outside are dropped (they lie in the padding)."""
    out = np.zeros(y.shape[:2] + tuple(size), dtype=y.dtype)
    index = [slice(None), slice(None)]
    source = [slice(None), slice(None)]
    for axis in range(2):
        q0, s, n, length = offset[axis], stride[axis], y.shape[2 + axis], size[axis]
        lo = max(0, -(q0 // s) if q0 < 0 else 0)
        hi = min(n, (length - 1 - q0) // s + 1)
        if hi <= lo:
            return out
        index.append(slice(q0 + s * lo, q0 + s * (hi - 1) + 1, s))
        source.append(slice(lo, hi))
    out[tuple(index)] = y[tuple(source)]
    return out


def _common(*arrays):
    dtype = np.result_type(*arrays)
    return [np.asarray(a, dtype=dtype) for a in arrays]


def _check_route(route, routes, what):
    if route is not None and route not in routes:
        raise ValueError(f"{what}: route must be None or one of {routes}, got {route!r}")


def _columns(xp, groups, kh, kw, ho, wo, stride, dilation, block_rows=None):
    """im2col: the windows of padded ``xp`` (N, C, Hp, Wp) as (N, G, C/G·kH·kW, Ho·Wo), in
    the "matrix" workspace (valid until the next im2col or fold).

    A strided view (no copy) laid out by one copy; row (c, a, b) and column (i, j) of sample
    n hold ``xp[n, g·C/G + c, s0·i + d0·a, s1·j + d1·b]``. With ``block_rows`` = r (a divisor
    of Ho) the columns come in blocks of r output rows instead, shape
    (N, Ho/r, G, C/G·kH·kW, r·Wo), each block contiguous."""
    xp = np.ascontiguousarray(xp)
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    (s0, s1), (d0, d1) = stride, dilation
    cg = c // groups
    if block_rows is None:
        view = strided(xp, (n, c, kh, kw, ho, wo), (sn, sc, d0 * sh, d1 * sw, s0 * sh, s1 * sw))
        shape = (n, groups, cg * kh * kw, ho * wo)
    else:
        r = block_rows
        view = strided(xp, (n, ho // r, groups, cg, kh, kw, r, wo),
                       (sn, r * s0 * sh, cg * sc, sc, d0 * sh, d1 * sw, s0 * sh, s1 * sw))
        shape = (n, ho // r, groups, cg * kh * kw, r * wo)
    cols = workspace("matrix", view.shape, xp.dtype)
    np.copyto(cols, view)
    return cols.reshape(shape)


def _spread(y, rows, row_len, length, stride, scratch=False):
    """Zeros (N, C, ``length``) holding y[n, c, i, j] at flat position s0·i·row_len + s1·j.

    This lays ``y`` on the stride-1 output grid of a padded image whose rows are ``row_len``
    long, flattened: a window starting at flat position q then covers q + d0·a·row_len +
    d1·b, one fixed offset per kernel tap. Positions of windows that would wrap around a row
    end hold zeros, so they contribute nothing. ``scratch=True`` puts it in the "spread"
    workspace (the caller must not return or keep it)."""
    n, c = y.shape[:2]
    shape = (n, c, max(length, rows * row_len))
    out = workspace("spread", shape, y.dtype) if scratch else np.empty(shape, y.dtype)
    out.fill(0)
    _spread_into(out, y, rows, row_len, stride)
    return out[:, :, :length]


def _spread_into(out, y, rows, row_len, stride):
    """Write ``y`` into the grid positions of :func:`_spread`'s ``out`` (N, C, >= rows·row_len),
    whose other positions are left as they are (zeros, from an earlier spread of the same
    shape)."""
    n, c, ho, wo = y.shape
    grid = out[:, :, :rows * row_len].reshape(n, c, rows, row_len)
    s0, s1 = stride
    grid[:, :, :s0 * (ho - 1) + 1:s0, :s1 * (wo - 1) + 1:s1] = y


# ----------------------------------------------------------------------------------------
# A: the forward correlation
# ----------------------------------------------------------------------------------------

def block_rows(ho, wo):
    """The largest divisor r of Ho with r·Wo <= 64 (1 if Wo > 64)."""
    top = max(1, min(ho, 64 // wo))
    return max(d for d in range(1, top + 1) if ho % d == 0)


def forward_route(n, o, k, ho, wo):
    """"blocks" or "whole": the rule of :func:`correlate_nchw` for a product of (O, K) by
    (K, Ho·Wo) per image of N.

    OpenBLAS multiplies (O, K) @ (K, ~64) blocks without packing them, which makes forward
    blocks of ~64 output pixels faster where K >= 64. Blocks are r rows, r the largest
    divisor of Ho with r·Wo <= 64 (1 if Wo > 64) (:func:`block_rows`). They lose to whole
    images for small products (under 2^22 multiply-adds, where the extra calls cost more
    than they save), short columns (K < 64: few channels) and blocks of fewer than 32 pixels
    (when Ho's divisors fit badly)."""
    if n * o * k * ho * wo < 1 << 22 or k < 64:
        return "whole"
    return "blocks" if block_rows(ho, wo) * wo >= 32 else "whole"


def correlate_nchw(x, w, stride, padding, dilation, groups, route=None, bias=None, out=None):
    """A(x, w) on 4-D ``x`` (N, C, H, W) and ``w`` (O, C/G, kH, kW), ``padding`` (top,
    bottom, left, right), plus ``bias`` (O,) if given: a fresh (N, O, Ho, Wo) array of
    ``x`` and ``w``'s common dtype (the bias is cast to it), or ``out``, a C-contiguous
    array of that shape and dtype, written in place.

    "blocks": batched products (G, O/G, Cg·kH·kW) @ (Ho/r, G, Cg·kH·kW, r·Wo) over blocks of
    r output rows (:func:`block_rows`), written straight into the NCHW result; "whole": one
    product (G, O/G, Cg·kH·kW) @ (G, Cg·kH·kW, Ho·Wo) per image. ``route`` None takes
    :func:`forward_route`'s choice for the whole batch. The images go through in chunks
    whose im2col matrix fits in a core's cache (:data:`CHUNK_BYTES`), each padded, laid out,
    multiplied and given its bias while it is there; the values do not depend on the
    chunks (each image's products are the same)."""
    _check_route(route, ("blocks", "whole"), "correlate_nchw")
    x, w = _common(x, w)
    if bias is not None:
        bias = np.asarray(bias, dtype=x.dtype).reshape(-1, 1, 1)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho = out_len(h + padding[0] + padding[1], kh, stride[0], dilation[0])
    wo = out_len(wd + padding[2] + padding[3], kw, stride[1], dilation[1])
    route = route or forward_route(n, o, cg * kh * kw, ho, wo)
    y = np.empty((n, o, ho, wo), dtype=x.dtype) if out is None else out
    args = (x, w, stride, padding, dilation, groups, route, bias, y)
    if _split(_correlate_into, n, 2.0 * y.size * cg * kh * kw, *args) is None:
        _correlate_into(0, n, *args)
    return y


def _correlate_into(lo, hi, x, w, stride, padding, dilation, groups, route, bias, y):
    """Samples ``lo:hi`` of :func:`correlate_nchw` written into ``y[lo:hi]``, chunk by
    chunk (small batches: one chunk, no copy of the images into a padded chunk)."""
    n, o, ho, wo = y.shape
    r = block_rows(ho, wo) if route == "blocks" else None
    step = max(1, CHUNK_BYTES // (w.size // o * groups * ho * wo * y.itemsize))
    if hi - lo <= step:
        if hi - lo < n:
            x, y = x[lo:hi], y[lo:hi]
        _correlate_chunk(pad(x, padding, scratch=True), w, stride, dilation, groups, r, bias, y)
        return
    padded = any(padding)
    if padded:  # one padded chunk in the workspace: its borders stay 0 from chunk to chunk
        xp = pad(x[lo:lo + step], padding, scratch=True)
        interior = (slice(None), slice(None), slice(padding[0], padding[0] + x.shape[2]),
                    slice(padding[2], padding[2] + x.shape[3]))
    for start in range(lo, hi, step):
        stop = min(start + step, hi)
        if not padded:
            chunk = x[start:stop]
        else:
            chunk = xp[:stop - start]
            if start != lo:
                chunk[interior] = x[start:stop]
        _correlate_chunk(chunk, w, stride, dilation, groups, r, bias, y[start:stop])


def _correlate_chunk(xp, w, stride, dilation, groups, r, bias, out):
    """A(xp, w) (+ bias) of padded images ``xp`` written into ``out``: one product per
    image (``r`` None) or per block of ``r`` output rows."""
    m, o, ho, wo = out.shape
    kh, kw = w.shape[2:]
    wm = w.reshape(groups, o // groups, -1)
    cols = _columns(xp, groups, kh, kw, ho, wo, stride, dilation, block_rows=r)
    if r is None:
        np.matmul(wm, cols, out=out.reshape(m, groups, o // groups, ho * wo))
    else:
        np.matmul(wm, cols, out=row_blocks(out, r, groups))
    if bias is not None:
        out += bias


def row_blocks(out, r, groups):
    """The (M, Ho/r, G, O/G, r·Wo) view of C-contiguous ``out`` (M, O, Ho, Wo) that the
    "blocks" route's products write: block t of sample n, group g is rows g·O/G.. of
    out[n] and its output rows t·r.. (columns t·r·Wo.. of the flattened image)."""
    m, o, ho, wo = out.shape
    it, size = out.itemsize, ho * wo
    return strided(out, (m, ho // r, groups, o // groups, r * wo),
                   (o * size * it, r * wo * it, (o // groups) * size * it, size * it, it))


# ----------------------------------------------------------------------------------------
# W: the weight gradient
# ----------------------------------------------------------------------------------------

def weight_grad_route(stride, in_per_group):
    """"flat" or "columns": the rule of :func:`weight_grad_nchw`. Flat at stride 1 with at
    least 4 input channels per group (no copy of the input); columns otherwise (faster for
    strided convolutions, where the flat route would multiply s0·s1 times as many zeros,
    and for 1-3 channels)."""
    return "flat" if stride == (1, 1) and in_per_group >= 4 else "columns"


def weight_grad_nchw(x, y, kernel_size, stride, padding, dilation, groups, route=None):
    """W(x, y) on 4-D ``x`` (N, C, H, W) and ``y`` (N, O, Ho', Wo'), ``padding`` (top,
    bottom, left, right): (O, C/G, kH, kW), over the windows that ``y`` covers (``y`` may be
    shorter than A's output).

    ``route`` None takes :func:`weight_grad_route`'s choice; the flat route multiplies input
    pixels outside any window by zero, so when an inf or NaN there makes its result
    non-finite, the columns recompute it window by window. "flat" or "columns" forces that
    route ("flat" only at stride 1)."""
    _check_route(route, ("flat", "columns"), "weight_grad_nchw")
    if route == "flat" and stride != (1, 1):
        raise ValueError(f"weight_grad_nchw: the flat route needs stride (1, 1), got {stride}")
    x, y = _common(x, y)
    halves = _split(_weight_grad_half, x.shape[0], 2.0 * y.size * x.shape[1] * math.prod(
        kernel_size) / groups, x, y, kernel_size, stride, padding, dilation, groups, route)
    if halves is not None:
        dw = halves[0]
        dw += halves[1]
        return dw
    if (route or weight_grad_route(stride, x.shape[1] // groups)) == "flat":
        dw = _weight_grad_flat(x, y, kernel_size, padding, dilation, groups)
        if route is not None or np.isfinite(dw).all():
            return dw
    xp = pad(x, padding, scratch=True)
    return _weight_grad_columns(xp, y, kernel_size, stride, dilation, groups)


def _weight_grad_half(lo, hi, x, y, kernel_size, stride, padding, dilation, groups, route):
    return weight_grad_nchw(x[lo:hi], y[lo:hi], kernel_size, stride, padding, dilation, groups,
                            route)


def _weight_grad_columns(xp, y, kernel_size, stride, dilation, groups):
    """W(x, y) from the im2col columns of the padded input ``xp``: one batched product
    (N, G, O/G, Ho·Wo) @ (N, G, Ho·Wo, Cg·kH·kW), summed over N."""
    kh, kw = kernel_size
    n, o, ho, wo = y.shape
    cols = _columns(xp, groups, kh, kw, ho, wo, stride, dilation)
    ym = y.reshape(n, groups, o // groups, ho * wo)
    dw = np.matmul(ym, cols.swapaxes(-1, -2)).sum(axis=0)
    return dw.reshape(o, xp.shape[1] // groups, kh, kw)


def _weight_grad_flat(x, y, kernel_size, padding, dilation, groups):
    """W(x, y) at stride 1 with no im2col copy of the padded input.

    With the padded image flattened (rows of length Wp) and ``y`` spread on the same grid
    (:func:`_spread`), tap (a, b) of every window reads the flat input at one offset
    o_ab = d0·a·Wp + d1·b, so ``xp_flat[n, c, o_ab : o_ab + L]`` is a plain strided matrix
    (C/G, L) that BLAS reads in place. One batched product over (N, kH, kW, G) of
    (O/G, L) @ (L, C/G) per chunk of images (:data:`CHUNK_BYTES`: the padded chunk and its
    spread cotangent in the workspaces), summed over N."""
    n, c, h, wd = x.shape
    hp, wp = h + padding[0] + padding[1], wd + padding[2] + padding[3]
    o = y.shape[1]
    rows = hp - dilation[0] * (kernel_size[0] - 1)
    step = max(1, CHUNK_BYTES // ((c + o) * hp * wp * x.itemsize))
    if n <= step:  # one chunk
        spread = workspace("spread", (n, o, rows * wp), x.dtype)
        spread.fill(0)
        return _weight_grad_flat_chunk(pad(x, padding, scratch=True), y, spread, kernel_size,
                                       dilation, groups)
    padded = any(padding)
    if padded:  # the borders stay 0 from chunk to chunk
        xp = pad(x[:step], padding, scratch=True)
        interior = (slice(None), slice(None), slice(padding[0], padding[0] + h),
                    slice(padding[2], padding[2] + wd))
    spread = workspace("spread", (step, o, rows * wp), x.dtype)
    spread.fill(0)
    dw = None
    for start in range(0, n, step):
        stop = min(start + step, n)
        if padded:
            chunk = xp[:stop - start]
            if start:
                chunk[interior] = x[start:stop]
        else:
            chunk = x[start:stop]
        part = _weight_grad_flat_chunk(chunk, y[start:stop], spread[:stop - start], kernel_size,
                                       dilation, groups)
        if dw is None:
            dw = part
        else:
            dw += part
    return dw


def _weight_grad_flat_chunk(xp, y, spread, kernel_size, dilation, groups):
    """:func:`_weight_grad_flat` of padded images ``xp`` and their cotangent ``y``, laid on
    ``spread`` (N, O, rows·Wp: zeros off the grid, as :func:`_spread_into` leaves them)."""
    xp = np.ascontiguousarray(xp)
    m, c, hp, wp = xp.shape
    kh, kw = kernel_size
    d0, d1 = dilation
    o = y.shape[1]
    cg, og = c // groups, o // groups
    rows = hp - d0 * (kh - 1)
    length = rows * wp - d1 * (kw - 1)  # the last window ends at the image's last element
    _spread_into(spread, y, rows, wp, (1, 1))
    taps = tap_matrices(xp, kernel_size, dilation, groups, length)
    yf = spread[:, :, :length].reshape(m, 1, 1, groups, og, length)
    dw = np.matmul(yf, taps).sum(axis=0)
    return dw.transpose(2, 3, 4, 0, 1).reshape(o, cg, kh, kw)


def tap_matrices(xp, kernel_size, dilation, groups, length):
    """The flat route's view of C-contiguous padded images ``xp`` (M, C, Hp, Wp): shape
    (M, kH, kW, G, ``length``, C/G), entry [n, a, b, g, q, c] = the flattened xp[n, g·C/G +
    c] at q + d0·a·Wp + d1·b. Each (length, C/G) matrix is strided, read by BLAS in place."""
    m, c, _, wp = xp.shape
    kh, kw = kernel_size
    sn, sc = xp.strides[:2]
    it, cg = xp.itemsize, c // groups
    return strided(xp, (m, kh, kw, groups, length, cg),
                   (sn, dilation[0] * wp * it, dilation[1] * it, cg * sc, it, sc))


# ----------------------------------------------------------------------------------------
# T: the transposed correlation (the input gradient)
# ----------------------------------------------------------------------------------------

def transpose_route(in_per_group, out_per_group):
    """"fold" or "dilated": the rule of :func:`conv_transpose_nchw` (channels of A). The
    fold with fewer input than output channels per group (C/G < O/G); otherwise the dilated
    route, whose product has the larger C/G as its long side."""
    return "fold" if in_per_group < out_per_group else "dilated"


def conv_transpose_nchw(y, w, input_size, stride, padding, dilation, groups, route=None):
    """T(y, w) = Aᵀ y: the x-shaped (N, C, H, W) adjoint of :func:`correlate_nchw` for an
    input of ``input_size`` (H, W); ``y`` (N, O, Ho', Wo') at most A's output size, ``w``
    (O, C/G, kH, kW), ``padding`` (top, bottom, left, right).

    Both routes are one product and no Python loop over kernel positions. ``route`` None
    takes :func:`transpose_route`'s choice, or the fold for a weight holding inf or NaN (only
    the fold keeps it out of pixels its tap never reaches); "fold" or "dilated" forces that
    route."""
    _check_route(route, ("fold", "dilated"), "conv_transpose_nchw")
    y, w = _common(y, w)
    if route is None:
        route = ("fold" if transpose_route(w.shape[1], w.shape[0] // groups) == "fold"
                 or not np.isfinite(w).all() else "dilated")
    n = y.shape[0]
    out = np.empty((n, w.shape[1] * groups) + tuple(input_size), dtype=y.dtype)
    args = (y, w, tuple(input_size), stride, padding, dilation, groups, route, out)
    if _split(_transpose_into, n, 2.0 * y.size * w[0].size, *args) is None:
        _transpose_into(0, n, *args)
    return out


def _transpose_into(lo, hi, y, w, input_size, stride, padding, dilation, groups, route, out):
    kernel = _conv_transpose_fold if route == "fold" else _conv_transpose_dilated
    kernel(y[lo:hi], w, input_size, stride, padding, dilation, groups, out[lo:hi])


FOLD_BLOCK = 128  # columns per product of the fold


def _product_in_blocks(a, b, out):
    """``np.matmul(a, b, out=out)`` for ``a`` (G, M, K), ``b`` (N, G, K, L) and C-contiguous
    ``out`` (N, G, M, L), the L columns taken :data:`FOLD_BLOCK` at a time: strided views,
    products that OpenBLAS runs faster than one with all the columns (M = 144, K = 32,
    L = 1158: 125-147 against 95 GFLOP/s, one thread)."""
    n, g, k, length = b.shape
    m = a.shape[1]
    nb = length // FOLD_BLOCK
    if nb < 2:
        np.matmul(a, b, out=out)
        return
    it = out.itemsize
    sb, so = b.strides, out.strides
    wide = nb * FOLD_BLOCK
    np.matmul(a[:, None], strided(b, (n, g, nb, k, FOLD_BLOCK), (sb[0], sb[1], FOLD_BLOCK * it, sb[2], it)),
              out=strided(out, (n, g, nb, m, FOLD_BLOCK), (so[0], so[1], FOLD_BLOCK * it, so[2], it)))
    if wide < length:
        np.matmul(a, b[..., wide:], out=out[..., wide:])


def _flip_swap(w, groups):
    """(O, C/G, kH, kW) -> (C, O/G, kH, kW) rotated by 180°: the kernel of the transposed
    correlation."""
    o, cg, kh, kw = w.shape
    w = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)
    return w.reshape(groups * cg, o // groups, kh, kw)[:, :, ::-1, ::-1]


def _conv_transpose_dilated(y, w, input_size, stride, padding, dilation, groups, out):
    """T(y, w) into ``out`` as a correlation: ``y`` zero-dilated by the stride and padded by
    d(k-1) - p (cropped where negative), correlated at stride 1 with the flipped,
    channel-swapped kernel. At stride 1 with no cropping, ``y`` is padded as the
    correlation reads it, with no dilated copy."""
    kh, kw = w.shape[2:]
    h, wd = input_size
    ext = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
    kernel = np.ascontiguousarray(_flip_swap(w, groups))
    top, left = ext[0] - padding[0], ext[1] - padding[2]
    bottom, right = h + ext[0] - y.shape[2] - top, wd + ext[1] - y.shape[3] - left
    if stride == (1, 1) and min(top, left, bottom, right) >= 0:  # no zeros between pixels
        correlate_nchw(y, kernel, (1, 1), (top, bottom, left, right), dilation, groups, out=out)
        return
    f = dilate_into(y, (h + ext[0], wd + ext[1]), (top, left), stride)
    correlate_nchw(f, kernel, (1, 1), (0, 0, 0, 0), dilation, groups, out=out)


def _conv_transpose_fold(y, w, input_size, stride, padding, dilation, groups, out):
    """T(y, w) into ``out`` as one product and one loop-free fold (col2im) per chunk of
    images.

    ``y`` spread on the flattened padded grid (:func:`_spread`, rows of length Wp, zeros
    where a window would wrap around a row) and multiplied once by the kernel:
    cols[n, (c, a, b), q] = Σ_o w[o, c, a, b] y_flat[n, o, q]. Tap (a, b) of the window at q
    lands on flat pixel q + o_ab, o_ab = d0·a·Wp + d1·b, so the fold is
    out[n, c, p] = Σ_{a,b} cols[n, (c, a, b), p - o_ab]: one strided view of ``cols`` (the
    offsets are linear in a and b) summed over (a, b), read only at the pixels inside the
    padding. Each row of ``cols`` ends in at least max o_ab zeros, so reads before a row's
    start see zeros. The spread and ``cols`` of a chunk (:data:`CHUNK_BYTES`) stay in the
    workspaces."""
    h, wd = input_size
    top, bottom, left, right = padding
    hp, wp = h + top + bottom, wd + left + right
    o, cg, kh, kw = w.shape
    n = y.shape[0]
    c, og = groups * cg, o // groups
    rows = hp - dilation[0] * (kh - 1)
    length = hp * wp + dilation[1] * (kw - 1)  # = rows·Wp + max offset
    wt = w.reshape(groups, og, cg * kh * kw).swapaxes(1, 2)
    it = y.itemsize
    step = max(1, CHUNK_BYTES // (c * kh * kw * length * it))
    yf = _spread(y[:min(step, n)], rows, wp, length, stride, scratch=True)
    finite = np.isfinite(w).all()
    if not finite:  # 0·inf is NaN: the columns where no window starts are cleared
        starts = _spread(np.ones((1, 1) + y.shape[2:], bool), rows, wp, length, stride)[0, 0]
    for start in range(0, n, step):
        stop = min(start + step, n)
        m = stop - start
        if start:
            _spread_into(yf[:m], y[start:stop], rows, wp, stride)
        cols = workspace("matrix", (m, groups, cg * kh * kw, length), y.dtype)
        _product_in_blocks(wt, yf[:m].reshape(m, groups, og, length), cols)
        if not finite:
            cols[..., ~starts] = 0
        rows_out = fold_rows(cols, c, (kh, kw), dilation, h, wp, top)
        out[start:stop] = rows_out.reshape(m, c, h, wp)[..., left:left + wd]


def fold_rows(cols, c, kernel_size, dilation, h, wp, top):
    """The fold's sum (col2im) of fold matrices ``cols`` (M, G, C/G·kH·kW, L), padded rows of
    length Wp flattened, into the "pad" workspace: (M, C, h·Wp), the ``h`` padded rows from row
    ``top`` on, each still holding its left and right padding.

    out[n, c, p] = Σ_{a,b} cols[n, (c, a, b), top·Wp + p - d0·a·Wp - d1·b]: one strided view
    (the tap offsets are linear in a and b) summed over (a, b)."""
    m, length, it = cols.shape[0], cols.shape[-1], cols.itemsize
    kh, kw = kernel_size
    d0, d1 = dilation
    shifted = strided(cols, (m, c, kh, kw, h * wp),
                      (c * kh * kw * length * it, kh * kw * length * it,
                       (kw * length - d0 * wp) * it, (length - d1) * it, it), top * wp * it)
    return np.add.reduce(shifted, axis=(2, 3), out=workspace("pad", (m, c, h * wp), cols.dtype))
