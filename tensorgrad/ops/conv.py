"""Batched 2-D convolution and pooling in PyTorch's NCHW layout.

Three primitives make up the convolution family, each the adjoint of the others in one of
its arguments. With ``A(x, w)`` the strided, dilated, grouped cross-correlation of
:func:`conv2d` (after padding), and ``⟨·,·⟩`` the sum of elementwise products,

    ⟨A(x, w), y⟩ = ⟨x, T(y, w)⟩ = ⟨w, W(x, y)⟩

where ``T`` is :func:`conv_transpose2d` (the adjoint of ``A`` in ``x``) and ``W`` is
``conv2d_weight_grad`` (the adjoint of ``A`` in ``w``). So every VJP is a member of the
family, and second derivatives come for free:

    A(x, w):  dx = T(g, w),  dw = W(x, g)
    T(y, w):  dy = A(g, w),  dw = W(g, y)
    W(x, y):  dx = T(y, g),  dy = A(x, g)

Pooling: ``avg_pool2d`` and its adjoint ``avg_pool2d_adjoint`` are each other's VJP;
``max_pool2d``'s VJP routes the cotangent to the first maximum of each window through
``max_pool2d_scatter``, whose VJP is ``max_pool2d_gather`` (and vice versa).

Implementation: one matrix product (``np.matmul``, batched over samples and groups) per
op and strided views instead of Python loops; no loop over samples, channels, pixels or
kernel positions and no ``np.add.at``. Each contraction has two ways, and
``_correlate_nchw`` / ``_weight_grad_nchw`` / ``_conv_transpose_nchw`` pick one by a rule
measured in ``benchmarks/bench_conv.py`` (section 3). Large temporaries (padded input,
im2col and fold matrices) live in per-thread workspaces, since fresh large arrays cost page
faults on every call. The routes:

- A (forward): im2col, the windows of the padded input as a strided view laid out by one
  copy, times the kernel, written straight into the NCHW result; for large products the
  columns come in blocks of about 64 output pixels, which BLAS multiplies without packing.
- W (weight gradient): at stride 1, the "flat" route: the padded image flattened, each
  kernel tap is one fixed offset into it, so the product reads the input in place (no
  im2col copy); otherwise the im2col columns.
- T (input gradient): with fewer input than output channels, "product + fold": one product
  of the kernel with the cotangent laid on the flat grid, then col2im as a single sum over
  a strided view (the tap offsets are linear in the tap indices); otherwise zero-dilation
  of the cotangent and a stride-1 correlation with the flipped, channel-swapped kernel.
"""
from __future__ import annotations

import math
import threading

import numpy as np

from ..errors import ShapeError
from ..registry import primitive
from .elementwise import add
from .shape import getitem, reshape

__all__ = ["avg_pool2d", "conv2d", "conv_transpose2d", "max_pool2d"]

# ----------------------------------------------------------------------------------------
# Argument checking
# ----------------------------------------------------------------------------------------


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _pair(value, name, op, minimum):
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    if _is_int(value):
        pair = (int(value), int(value))
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = None
        if pair is None or len(pair) != 2 or not all(_is_int(v) for v in pair):
            raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
        pair = (int(pair[0]), int(pair[1]))
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return pair


def _out_len(n, k, s, d):
    """Output length of a correlation: floor((n - d(k-1) - 1)/s) + 1 (n already padded)."""
    return (n - d * (k - 1) - 1) // s + 1


def _input_4d(op, x, what="x"):
    shape = np.shape(x)
    if len(shape) not in (3, 4):
        raise ShapeError(f"{op}: expected {what} of shape (N, C, H, W) or (C, H, W), "
                         f"got shape {shape}")
    return shape if len(shape) == 4 else (1,) + shape, len(shape) == 3


def _check_numeric(op, **arrays):
    """TypeError unless every given array (or Tensor) holds numbers."""
    for name, a in arrays.items():
        if a is None:
            continue
        dtype = a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype
        if dtype.kind not in "biufc":
            raise TypeError(f"{op}: {name} must hold numbers (bool, int, float or complex), "
                            f"got dtype {dtype}")


def _check_weight(op, ws, layout):
    """ShapeError unless the weight is 4-D with a kernel of at least 1x1 and channels."""
    if len(ws) != 4:
        raise ShapeError(f"{op}: expected weight of shape {layout}, got shape {ws}")
    if min(ws) < 1:
        raise ShapeError(f"{op}: weight of shape {ws} is empty; expected {layout} with every "
                         "size at least 1")


def _check_groups(op, groups, c_in, c_out, x_shape, w_shape):
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if c_in % groups:
        raise ValueError(f"{op}: in_channels ({c_in}, from x of shape {x_shape}) must be "
                         f"divisible by groups ({groups})")
    if c_out % groups:
        raise ValueError(f"{op}: out_channels ({c_out}, from weight of shape {w_shape}) must "
                         f"be divisible by groups ({groups})")


def _check_bias(op, bias, c_out):
    if bias is not None and np.shape(bias) != (c_out,):
        raise ShapeError(f"{op}: expected bias of shape ({c_out},) (one per output channel), "
                         f"got shape {np.shape(bias)}")


def _add_bias(y, bias, c_out):
    if bias is None:
        return y
    return add(y, reshape(bias, shape=(c_out, 1, 1)))


# ----------------------------------------------------------------------------------------
# The one implementation of the contractions (NumPy in, NumPy out)
# ----------------------------------------------------------------------------------------

def _raw_dtype(dtype):
    """``dtype``, for views made over raw memory: TypeError for Python objects, whose
    pointers such a view would forge (the public ops refuse them earlier, naming the op)."""
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise TypeError(f"convolution: arrays of dtype {dtype} are not supported (numbers only)")
    return dtype


_WORKSPACE = threading.local()


def _workspace(slot, shape, dtype):
    """An uninitialised scratch array of ``shape`` for a temporary that never leaves the
    function asking for it, carved from one buffer per ``slot`` and thread that grows to the
    largest request and is then reused. Two slots: "pad" (a padded input) and "matrix" (an
    im2col or fold matrix; never two at once).

    Large fresh arrays cost page faults on every call (the allocator hands the memory back
    to the system): at N=32, 16->32, 32x32, float32, 2,191 faults and a third of the time of
    a forward+backward step. The buffers stay allocated until :func:`empty_cache` or the
    thread's end: the largest padded input and the largest im2col or fold matrix seen."""
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


def _pad(x, padding, value=0, scratch=False):
    """Pad the last two axes by (top, bottom, left, right) with ``value``; no copy when all
    are 0. ``scratch=True`` writes into the "pad" workspace (the caller must not return or
    keep the result)."""
    top, bottom, left, right = padding
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    shape = (n, c, h + top + bottom, w + left + right)
    if scratch:
        out = _workspace("pad", shape, x.dtype)
        out.fill(value)
    else:
        out = np.full(shape, value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _strided(a, shape, strides):
    """A strided view of C-contiguous ``a``, only ever read (or written when its elements do
    not overlap): ``as_strided`` without its Python overhead (a tenth of the cost, which
    matters for small images)."""
    return np.ndarray(shape, _raw_dtype(a.dtype), a, 0, strides)


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
        view = _strided(xp, (n, c, kh, kw, ho, wo),
                        (sn, sc, d0 * sh, d1 * sw, s0 * sh, s1 * sw))
        shape = (n, groups, cg * kh * kw, ho * wo)
    else:
        r = block_rows
        view = _strided(xp, (n, ho // r, groups, cg, kh, kw, r, wo),
                        (sn, r * s0 * sh, cg * sc, sc, d0 * sh, d1 * sw, s0 * sh, s1 * sw))
        shape = (n, ho // r, groups, cg * kh * kw, r * wo)
    cols = _workspace("matrix", view.shape, xp.dtype)
    np.copyto(cols, view)
    return cols.reshape(shape)


def _forward_block_rows(n, o, k, ho, wo):
    """Output rows per im2col block for the forward product, or 0 for one product per image:
    the rule of :func:`_correlate_nchw`, from ``benchmarks/bench_conv.py`` section 3.

    OpenBLAS multiplies (O, K) @ (K, ~64) blocks without packing them: 3.1 ms against 5.0 ms
    for whole (144, 1024) images at N=32, 16->32, 32x32, float32 (blocks of 32 or 128
    pixels: 3.4 ms). Blocks are r rows, r the largest divisor of Ho with r·Wo <= 64 (1 if
    Wo > 64). They lose to whole images for small products (under 2^22 multiply-adds, the
    extra calls cost 1-3 us), short columns (K < 64: 3 channels) and blocks of fewer than 32
    pixels (when Ho's divisors fit badly)."""
    if n * o * k * ho * wo < 1 << 22 or k < 64:
        return 0
    r = _block_rows(ho, wo)
    return r if r * wo >= 32 else 0


def _block_rows(ho, wo):
    """The largest divisor r of Ho with r·Wo <= 64 (1 if Wo > 64)."""
    top = max(1, min(ho, 64 // wo))
    return max(d for d in range(1, top + 1) if ho % d == 0)


def _common(*arrays):
    dtype = np.result_type(*arrays)
    return [np.asarray(a, dtype=dtype) for a in arrays]


def _correlate_nchw(x, w, stride, padding, dilation, groups):
    """A(x, w): y[n, o, i, j] = Σ_{c,a,b} xp[n, g·Cg + c, s·i + d·a, s·j + d·b] w[o, c, a, b],
    xp = x padded by ``padding`` (top, bottom, left, right), g = o // (O/G).

    One batched product (G, O/G, Cg·kH·kW) @ (N, Ho/r, G, Cg·kH·kW, r·Wo) over blocks of r
    output rows (:func:`_forward_block_rows`), written straight into the NCHW result; or
    one product (G, O/G, Cg·kH·kW) @ (N, G, Cg·kH·kW, Ho·Wo) per image."""
    x, w = _common(x, w)
    xp = _pad(x, padding, scratch=True)
    n = xp.shape[0]
    kh, kw = w.shape[2:]
    ho = _out_len(xp.shape[2], kh, stride[0], dilation[0])
    wo = _out_len(xp.shape[3], kw, stride[1], dilation[1])
    o = w.shape[0]
    wm = w.reshape(groups, o // groups, -1)
    size = ho * wo
    r = _forward_block_rows(n, o, wm.shape[-1], ho, wo)
    if not r:
        cols = _columns(xp, groups, kh, kw, ho, wo, stride, dilation)
        return np.matmul(wm, cols).reshape(n, o, ho, wo)
    cols = _columns(xp, groups, kh, kw, ho, wo, stride, dilation, block_rows=r)
    y = np.empty((n, o, ho, wo), dtype=x.dtype)
    it = y.itemsize
    # block t of sample n, group g: rows g·O/G.. of y[n], columns t·r·Wo.. (a strided view)
    blocks = _strided(y, (n, ho // r, groups, o // groups, r * wo),
                      (o * size * it, r * wo * it, (o // groups) * size * it, size * it, it))
    np.matmul(wm, cols, out=blocks)
    return y


def _spread(y, rows, row_len, length, stride):
    """Zeros (N, C, ``length``) holding y[n, c, i, j] at flat position s0·i·row_len + s1·j.

    This lays ``y`` on the stride-1 output grid of a padded image whose rows are ``row_len``
    long, flattened: a window starting at flat position q then covers q + d0·a·row_len +
    d1·b, one fixed offset per kernel tap. Positions of windows that would wrap around a row
    end hold zeros, so they contribute nothing."""
    n, c, ho, wo = y.shape
    out = np.zeros((n, c, max(length, rows * row_len)), dtype=y.dtype)
    grid = out[:, :, :rows * row_len].reshape(n, c, rows, row_len)
    s0, s1 = stride
    grid[:, :, :s0 * (ho - 1) + 1:s0, :s1 * (wo - 1) + 1:s1] = y
    return out[:, :, :length]


def _weight_grad_nchw(x, y, kernel_size, stride, padding, dilation, groups):
    """W(x, y): dw[o, c, a, b] = Σ_{n,i,j} y[n, o, i, j] xp[n, g·Cg + c, s·i + d·a, s·j + d·b]
    over the windows that ``y`` covers (``y`` may be shorter than A's output).

    Two ways, chosen by measurement (``benchmarks/bench_conv.py``, section 3): at stride 1
    with at least 4 input channels per group, :func:`_weight_grad_flat` (no copy of the
    input; 3.7 against 7.6 ms at N=32, 16->32, 32x32, float32); otherwise
    :func:`_weight_grad_columns` (faster for strided convolutions, where the flat route
    would multiply s0·s1 times as many zeros, and for 1-3 channels)."""
    x, y = _common(x, y)
    xp = _pad(x, padding, scratch=True)
    if _weight_grad_route(stride, x.shape[1] // groups) == "flat":
        dw = _weight_grad_flat(xp, y, kernel_size, dilation, groups)
        # the flat route multiplies input pixels outside any window by zero: inf or NaN
        # there would leak in, so a non-finite result is recomputed window by window
        if np.isfinite(dw).all():
            return dw
    return _weight_grad_columns(xp, y, kernel_size, stride, dilation, groups)


def _weight_grad_route(stride, in_per_group):
    """"flat" or "columns": the rule of :func:`_weight_grad_nchw`."""
    return "flat" if stride == (1, 1) and in_per_group >= 4 else "columns"


def _weight_grad_columns(xp, y, kernel_size, stride, dilation, groups):
    """W(x, y) from the im2col columns of the padded input ``xp``: one batched product
    (N, G, O/G, Ho·Wo) @ (N, G, Ho·Wo, Cg·kH·kW), summed over N."""
    kh, kw = kernel_size
    n, o, ho, wo = y.shape
    cols = _columns(xp, groups, kh, kw, ho, wo, stride, dilation)
    ym = y.reshape(n, groups, o // groups, ho * wo)
    dw = np.matmul(ym, cols.swapaxes(-1, -2)).sum(axis=0)
    return dw.reshape(o, xp.shape[1] // groups, kh, kw)


def _weight_grad_flat(xp, y, kernel_size, dilation, groups):
    """W(x, y) at stride 1 with no copy of the padded input ``xp``.

    With the image flattened (rows of length Wp) and ``y`` spread on the same grid
    (:func:`_spread`), tap (a, b) of every window reads the flat input at one offset
    o_ab = d0·a·Wp + d1·b, so ``xp_flat[n, c, o_ab : o_ab + L]`` is a plain strided matrix
    (C/G, L) that BLAS reads in place. One batched product over (N, kH, kW, G) of
    (O/G, L) @ (L, C/G), summed over N."""
    xp = np.ascontiguousarray(xp)
    n, c, hp, wp = xp.shape
    kh, kw = kernel_size
    d0, d1 = dilation
    o = y.shape[1]
    cg, og = c // groups, o // groups
    rows = hp - d0 * (kh - 1)
    length = rows * wp - d1 * (kw - 1)  # the last window ends at the array's last element
    yf = _spread(y, rows, wp, length, (1, 1))
    sn, sc = xp.strides[:2]
    it = xp.itemsize
    taps = _strided(xp, (n, kh, kw, groups, length, cg),
                    (sn, d0 * wp * it, d1 * it, cg * sc, it, sc))
    dw = np.matmul(yf.reshape(n, 1, 1, groups, og, length), taps).sum(axis=0)
    return dw.transpose(2, 3, 4, 0, 1).reshape(o, cg, kh, kw)


def _flip_swap(w, groups):
    """(O, C/G, kH, kW) -> (C, O/G, kH, kW) rotated by 180°: the kernel of the transposed
    correlation."""
    o, cg, kh, kw = w.shape
    w = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)
    return w.reshape(groups * cg, o // groups, kh, kw)[:, :, ::-1, ::-1]


def _dilate_into(y, size, offset, stride):
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


def _conv_transpose_nchw(y, w, input_size, stride, padding, dilation, groups):
    """T(y, w) = Aᵀ y: the x-shaped (N, C, H, W) adjoint of :func:`_correlate_nchw`.

    Two ways, chosen by measurement (``benchmarks/bench_conv.py``, section 3), both one
    product and no Python loop over kernel positions: with fewer input than output channels
    per group (C/G < O/G), :func:`_conv_transpose_fold` (5.9 against 6.6 ms at N=32,
    16->32, 32x32, float32; 0.30 against 0.81 ms at N=16, 3->16, 28x28); otherwise
    :func:`_conv_transpose_dilated`, whose product has the larger C/G as its long side (2.1
    against 3.0 ms at N=16, 32->16, 28x28)."""
    y, w = _common(y, w)
    # an inf or NaN weight: only the fold keeps it out of pixels its tap never reaches
    fold = (_transpose_route(w.shape[1], w.shape[0] // groups) == "fold"
            or not np.isfinite(w).all())
    return (_conv_transpose_fold if fold else _conv_transpose_dilated)(
        y, w, input_size, stride, padding, dilation, groups)


def _transpose_route(in_per_group, out_per_group):
    """"fold" or "dilated": the rule of :func:`_conv_transpose_nchw` (channels of A)."""
    return "fold" if in_per_group < out_per_group else "dilated"


def _conv_transpose_dilated(y, w, input_size, stride, padding, dilation, groups):
    """T(y, w) as a correlation: ``y`` zero-dilated by the stride and padded by d(k-1) - p
    (cropped where negative), correlated at stride 1 with the flipped, channel-swapped
    kernel."""
    kh, kw = w.shape[2:]
    h, wd = input_size
    ext = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
    f = _dilate_into(y, (h + ext[0], wd + ext[1]), (ext[0] - padding[0], ext[1] - padding[2]),
                     stride)
    return _correlate_nchw(f, np.ascontiguousarray(_flip_swap(w, groups)), (1, 1),
                           (0, 0, 0, 0), dilation, groups)


def _conv_transpose_fold(y, w, input_size, stride, padding, dilation, groups):
    """T(y, w) as one product and one loop-free fold (col2im).

    ``y`` spread on the flattened padded grid (:func:`_spread`, rows of length Wp, zeros
    where a window would wrap around a row) and multiplied once by the kernel:
    cols[n, (c, a, b), q] = Σ_o w[o, c, a, b] y_flat[n, o, q]. Tap (a, b) of the window at q
    lands on flat pixel q + o_ab, o_ab = d0·a·Wp + d1·b, so the fold is
    out[n, c, p] = Σ_{a,b} cols[n, (c, a, b), p - o_ab]: one strided view of ``cols`` (the
    offsets are linear in a and b) summed over (a, b). Each row of ``cols`` ends in at least
    max o_ab zeros, so reads before a row's start see zeros. Then the padding is cropped."""
    h, wd = input_size
    top, bottom, left, right = padding
    hp, wp = h + top + bottom, wd + left + right
    o, cg, kh, kw = w.shape
    n = y.shape[0]
    c, og = groups * cg, o // groups
    d0, d1 = dilation
    rows = hp - d0 * (kh - 1)
    length = hp * wp + d1 * (kw - 1)  # = rows·Wp + max offset
    yf = _spread(y, rows, wp, length, stride)
    cols = np.matmul(w.reshape(groups, og, cg * kh * kw).swapaxes(1, 2),
                     yf.reshape(n, groups, og, length),
                     out=_workspace("matrix", (n, groups, cg * kh * kw, length), y.dtype))
    if not np.isfinite(w).all():  # 0·inf is NaN: clear the columns where no window starts
        starts = _spread(np.ones((1, 1) + y.shape[2:], bool), rows, wp, length, stride)[0, 0]
        cols[..., ~starts] = 0
    it = cols.itemsize
    shifted = _strided(cols, (n, c, kh, kw, hp * wp),
                       (c * kh * kw * length * it, kh * kw * length * it,
                        (kw * length - d0 * wp) * it, (length - d1) * it, it))
    out = np.add.reduce(shifted, axis=(2, 3)).reshape(n, c, hp, wp)
    return out[:, :, top:top + h, left:left + wd]


# ----------------------------------------------------------------------------------------
# Primitives (canonical arguments: 4-D or 3-D arrays, pairs, (top, bottom, left, right))
# ----------------------------------------------------------------------------------------

def _crop_to(a, shape):
    """``a[..., :H, :W]`` when ``a`` is larger than ``shape`` (differentiable)."""
    if tuple(np.shape(a)) == tuple(shape):
        return a
    return getitem(a, index=(Ellipsis, slice(0, shape[-2]), slice(0, shape[-1])))


def _unbatched(fn, a):
    """``fn(a)`` for a 4-D ``a``; a 3-D (unbatched) ``a`` gets a batch axis of 1 and the
    result loses it."""
    if np.ndim(a) == 3:
        return fn(np.asarray(a)[None])[0]
    return fn(a)


@primitive(name="conv2d")
def _conv2d(x, weight, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """The correlation of :func:`conv2d` on canonical arguments: x (N, C, H, W) or
    (C, H, W), weight (O, C/G, kH, kW), ``padding`` (top, bottom, left, right). Returns
    (N, O, Ho, Wo) (or (O, Ho, Wo))."""
    return _unbatched(lambda a: _correlate_nchw(a, weight, stride, padding, dilation, groups),
                      x)


@primitive(name="conv_transpose2d")
def _conv_transpose2d(y, weight, input_size=None, stride=(1, 1), padding=(0, 0, 0, 0),
                      dilation=(1, 1), groups=1):
    """The adjoint in x of ``conv2d`` on canonical arguments: y (N, O, Ho', Wo') or
    (O, Ho', Wo') with Ho' at most conv2d's output height for an input of ``input_size``
    (H, W); weight (O, C/G, kH, kW). Returns (N, C, H, W) (or (C, H, W))."""
    return _unbatched(lambda a: _conv_transpose_nchw(a, weight, tuple(input_size), stride,
                                                     padding, dilation, groups), y)


@primitive(name="conv2d_weight_grad")
def _conv2d_weight_grad(x, y, kernel_size=None, stride=(1, 1), padding=(0, 0, 0, 0),
                        dilation=(1, 1), groups=1):
    """The adjoint in the weight of ``conv2d``: x (N, C, H, W), y (N, O, Ho', Wo') (or both
    unbatched). Returns (O, C/G, kH, kW) with (kH, kW) = ``kernel_size``."""
    if np.ndim(x) == 3:
        x, y = np.asarray(x)[None], np.asarray(y)[None]
    return _weight_grad_nchw(x, y, tuple(kernel_size), stride, padding, dilation, groups)


def _conv2d_vjp_x(g, out, x, w, **p):
    return _conv_transpose2d(g, w, input_size=np.shape(x)[-2:], **p)


def _conv2d_vjp_w(g, out, x, w, **p):
    return _conv2d_weight_grad(x, g, kernel_size=np.shape(w)[2:], **p)


_conv2d.defvjp(_conv2d_vjp_x, _conv2d_vjp_w)


def _conv_transpose2d_vjp_y(g, out, y, w, input_size=None, **p):
    return _crop_to(_conv2d(g, w, **p), np.shape(y))


def _conv_transpose2d_vjp_w(g, out, y, w, input_size=None, **p):
    return _conv2d_weight_grad(g, y, kernel_size=np.shape(w)[2:], **p)


_conv_transpose2d.defvjp(_conv_transpose2d_vjp_y, _conv_transpose2d_vjp_w)


def _weight_grad_vjp_x(g, out, x, y, kernel_size=None, **p):
    return _conv_transpose2d(y, g, input_size=np.shape(x)[-2:], **p)


def _weight_grad_vjp_y(g, out, x, y, kernel_size=None, **p):
    return _crop_to(_conv2d(x, g, **p), np.shape(y))


_conv2d_weight_grad.defvjp(_weight_grad_vjp_x, _weight_grad_vjp_y)


# ----------------------------------------------------------------------------------------
# Public convolutions
# ----------------------------------------------------------------------------------------

def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of a batch of multi-channel images (PyTorch's ``conv2d``).

    ``y[n, o] = bias[o] + Σ_{c} Σ_{a,b} x_pad[n, g·C_in/G + c, s·i + d·a, s·j + d·b] ·
    weight[o, c, a, b]``, with ``g = o // (C_out/G)`` the group of output channel ``o``:
    cross-correlation (the kernel is not flipped), as in ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : Tensor or array, shape (N, C_in, H, W) or (C_in, H, W)
        The unbatched form gives an unbatched result.
    weight : Tensor or array, shape (C_out, C_in / groups, kH, kW)
    bias : Tensor or array, shape (C_out,), optional
    stride : int or (int, int)
        Step between windows, >= 1.
    padding : int, (int, int), "valid" or "same"
        Zeros added on both sides of each spatial axis; "valid" is 0; "same" (stride 1
        only) pads d(k-1) in total, the extra one at the bottom/right when it is odd, as
        PyTorch does, so that the output has the input's size.
    dilation : int or (int, int)
        Spacing between kernel taps, >= 1.
    groups : int
        Input and output channels split into ``groups`` independent blocks.

    Returns
    -------
    Tensor, shape (N, C_out, H_out, W_out) (or (C_out, H_out, W_out))
        ``H_out = floor((H + 2·p - d·(kH - 1) - 1) / s) + 1``, likewise for W. dtype is
        NumPy's promotion of the inputs.

    Raises
    ------
    ShapeError (a ValueError)
        x not 3-D/4-D, weight not 4-D or with a size 0, ``C_in != weight.shape[1]·groups``,
        bias not (C_out,), or the dilated kernel larger than the padded input.
    ValueError
        Bad stride/padding/dilation/groups, groups not dividing the channel counts, or
        ``padding="same"`` with a stride other than 1.
    TypeError
        x, weight or bias not numbers (object or string dtype).

    Notes
    -----
    Gradients: dx = conv_transpose2d(g, weight), dweight = the correlation of x with g
    (stride and dilation exchanging roles), dbias = g summed over (N, H_out, W_out); each is
    itself differentiable.

    Examples
    --------
    >>> x = np.arange(25.0).reshape(1, 1, 5, 5)
    >>> k = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> tg.conv2d(x, k, stride=2)
    tensor([[[[312., 384.],
              [672., 744.]]]], dtype=float64)
    """
    op = "conv2d"
    _check_numeric(op, x=x, weight=weight, bias=bias)
    xs, _ = _input_4d(op, x)
    ws = np.shape(weight)
    _check_weight(op, ws, "(C_out, C_in/groups, kH, kW)")
    c_out, c_in = ws[0], xs[1]
    _check_groups(op, groups, c_in, c_out, np.shape(x), ws)
    if c_in != ws[1] * groups:
        raise ShapeError(f"{op}: x has {c_in} channels (shape {np.shape(x)}) but weight of "
                         f"shape {ws} with groups={groups} expects {ws[1] * groups}")
    _check_bias(op, bias, c_out)
    stride = _pair(stride, "stride", op, 1)
    dilation = _pair(dilation, "dilation", op, 1)
    kh, kw = ws[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pad4 = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride}), as in PyTorch")
            th, tw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            pad4 = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', "
                             f"got {padding!r}")
    else:
        ph, pw = _pair(padding, "padding", op, 0)
        pad4 = (ph, ph, pw, pw)
    hp, wp = xs[2] + pad4[0] + pad4[1], xs[3] + pad4[2] + pad4[3]
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > hp or ew > wp or min(kh, kw) < 1:
        raise ShapeError(f"{op}: the kernel ({kh}x{kw}, dilation {dilation}: {eh}x{ew}) is "
                         f"larger than the padded input ({hp}x{wp}, from x of shape "
                         f"{np.shape(x)} and padding {pad4[::2]})")
    y = _conv2d(x, weight, stride=stride, padding=pad4, dilation=dilation, groups=groups)
    return _add_bias(y, bias, c_out)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                     dilation=1, groups=1):
    """2-D transposed convolution (PyTorch's ``conv_transpose2d``): the adjoint of
    :func:`conv2d` with the same stride, padding, dilation and groups.

    ``y = bias + conv2dᵀ(x)``: every input pixel ``x[n, c, i, j]`` adds ``x·weight[c, o]``
    at rows ``s·i + d·a - p`` and columns ``s·j + d·b - p`` of output channel ``o`` (in its
    group). It is the gradient of conv2d with respect to its input.

    Parameters
    ----------
    x : Tensor or array, shape (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor or array, shape (C_in, C_out / groups, kH, kW)
    bias : Tensor or array, shape (C_out,), optional
    stride, padding, dilation : int or (int, int)
        As for the conv2d this is the adjoint of (``padding`` crops the output).
    output_padding : int or (int, int)
        Rows/columns added at the bottom/right of the output, to pick among the input sizes
        that a strided conv2d maps to the same size; each must be smaller than the stride
        or the dilation.
    groups : int

    Returns
    -------
    Tensor, shape (N, C_out, H_out, W_out) (or unbatched)
        ``H_out = (H - 1)·s - 2·p + d·(kH - 1) + output_padding + 1``, likewise for W.

    Raises
    ------
    ShapeError (a ValueError)
        Wrong ranks, a weight with a size 0, ``C_in != weight.shape[0]``, bias not (C_out,),
        or a non-positive output size.
    ValueError
        Bad stride/padding/dilation/groups, groups not dividing the channel counts, or
        output_padding not smaller than stride or dilation.
    TypeError
        x, weight or bias not numbers (object or string dtype).

    Examples
    --------
    >>> tg.conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), stride=2).shape
    (1, 1, 4, 4)
    """
    op = "conv_transpose2d"
    _check_numeric(op, x=x, weight=weight, bias=bias)
    xs, _ = _input_4d(op, x)
    ws = np.shape(weight)
    _check_weight(op, ws, "(C_in, C_out/groups, kH, kW)")
    c_in = xs[1]
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if c_in != ws[0]:
        raise ShapeError(f"{op}: x has {c_in} channels (shape {np.shape(x)}) but weight of "
                         f"shape {ws} expects {ws[0]} (weight is (C_in, C_out/groups, kH, kW))")
    if c_in % groups:
        raise ValueError(f"{op}: in_channels ({c_in}) must be divisible by groups ({groups})")
    c_out = ws[1] * groups
    _check_bias(op, bias, c_out)
    stride = _pair(stride, "stride", op, 1)
    dilation = _pair(dilation, "dilation", op, 1)
    ph, pw = _pair(padding, "padding", op, 0)
    oph, opw = _pair(output_padding, "output_padding", op, 0)
    if not (oph < max(stride[0], dilation[0]) and opw < max(stride[1], dilation[1])):
        raise ValueError(f"{op}: output_padding {(oph, opw)} must be smaller than either "
                         f"stride {stride} or dilation {dilation}")
    kh, kw = ws[2:]
    h = (xs[2] - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    w = (xs[3] - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if h < 1 or w < 1:
        raise ShapeError(f"{op}: the output size {(h, w)} for x of shape {np.shape(x)}, "
                         f"kernel {kh}x{kw}, stride {stride}, padding {(ph, pw)} is not "
                         "positive")
    y = _conv_transpose2d(x, weight, input_size=(h, w), stride=stride,
                          padding=(ph, ph, pw, pw), dilation=dilation, groups=groups)
    return _add_bias(y, bias, c_out)


# ----------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------

def _pool_args(op, x, kernel_size, stride, padding):
    xs, unbatched = _input_4d(op, x)
    k = _pair(kernel_size, "kernel_size", op, 1)
    s = k if stride is None else _pair(stride, "stride", op, 1)
    p = _pair(padding, "padding", op, 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}, "
                         "as in PyTorch")
    hp, wp = xs[2] + 2 * p[0], xs[3] + 2 * p[1]
    if k[0] > hp or k[1] > wp:
        raise ShapeError(f"{op}: the window {k} is larger than the (padded) input {hp}x{wp} "
                         f"of x with shape {np.shape(x)}")
    return xs, unbatched, k, s, p


def _pool_windows(xp, kernel, stride):
    """(N, C, Ho, Wo, kH, kW) strided view of padded ``xp`` (no copy)."""
    xp = np.ascontiguousarray(xp)
    n, c, h, w = xp.shape
    ho, wo = _out_len(h, kernel[0], stride[0], 1), _out_len(w, kernel[1], stride[1], 1)
    sn, sc, sh, sw = xp.strides
    return _strided(xp, (n, c, ho, wo) + tuple(kernel),
                    (sn, sc, stride[0] * sh, stride[1] * sw, sh, sw))


@primitive(name="avg_pool2d")
def _avg_pool2d(x, kernel_size=(1, 1), stride=(1, 1), padding=(0, 0)):
    """Mean of each window on canonical arguments (x 4-D, pairs; zero padding counted)."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    xp = _pad(x, (padding[0], padding[0], padding[1], padding[1]))
    total = _pool_windows(xp, kernel_size, stride).sum(axis=(4, 5))
    return total / (kernel_size[0] * kernel_size[1])


@primitive(name="avg_pool2d_adjoint")
def _avg_pool2d_adjoint(g, input_size=None, kernel_size=(1, 1), stride=(1, 1),
                        padding=(0, 0)):
    """The adjoint of ``avg_pool2d``: each g[n, c, i, j] / (kH·kW) spread over its window,
    windows summed where they overlap, cropped to ``input_size`` (H, W)."""
    g = np.asarray(g)
    (kh, kw), (ph, pw) = kernel_size, padding
    h, w = input_size
    f = _dilate_into(g, (h + kh - 1, w + kw - 1), (kh - 1 - ph, kw - 1 - pw), stride)
    return _pool_windows(f, kernel_size, (1, 1)).sum(axis=(4, 5)) / (kh * kw)


_avg_pool2d.defvjp(lambda g, out, x, **p: _avg_pool2d_adjoint(g, input_size=np.shape(x)[2:],
                                                               **p))
_avg_pool2d_adjoint.defvjp(lambda g, out, y, input_size=None, **p: _avg_pool2d(g, **p))


def _max_pool_index(x, kernel, stride, padding):
    """Flat index into the padded (N, C, Hp, Wp) array of the first maximum of each window
    (row-major order inside the window, NaN counting as the maximum), shape (N, C, Ho, Wo).
    Padding cells never win: a window whose input cells all hold the dtype's lowest value
    (-inf, or the integer minimum) ties with its padding, and then its first input cell is
    the maximum, as in PyTorch."""
    x = np.asarray(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if padding != (0, 0):
        if np.issubdtype(x.dtype, np.inexact):
            low = -np.inf
        elif x.dtype == np.bool_:
            low = False
        else:
            low = np.iinfo(x.dtype).min
        x = _pad(x, (ph, ph, pw, pw), value=low)
    n, c, hp, wp = x.shape
    win = _pool_windows(x, kernel, stride)
    ho, wo = win.shape[2:4]
    local = win.reshape(n, c, ho, wo, kh * kw).argmax(axis=-1)
    a, b = np.divmod(local, kw)
    rows = sh * np.arange(ho)[:, None] + a
    cols = sw * np.arange(wo)[None, :] + b
    if padding != (0, 0):  # a padding cell chosen: the window's first input cell instead
        first_row = np.maximum(sh * np.arange(ho), ph)[:, None]
        first_col = np.maximum(sw * np.arange(wo), pw)[None, :]
        in_padding = (rows < ph) | (rows >= hp - ph) | (cols < pw) | (cols >= wp - pw)
        rows = np.where(in_padding, first_row, rows)
        cols = np.where(in_padding, first_col, cols)
    plane = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * (hp * wp)
    return plane[:, :, None, None] + rows * wp + cols


def _padded_size(input_size, padding):
    return (input_size[0] + 2 * padding[0], input_size[1] + 2 * padding[1])


@primitive(name="max_pool2d")
def _max_pool2d(x, kernel_size=(1, 1), stride=(1, 1), padding=(0, 0)):
    """Maximum of each window on canonical arguments (x 4-D, pairs; padding is -inf)."""
    index = _max_pool_index(x, kernel_size, stride, padding)
    return _max_pool2d_gather.forward(x, index=index, padding=padding)


def _max_pool2d_vjp(g, out, x, kernel_size=(1, 1), stride=(1, 1), padding=(0, 0)):
    index = _max_pool_index(getattr(x, "data", x), kernel_size, stride, padding)
    return _max_pool2d_scatter(g, index=index, input_size=np.shape(x)[2:], padding=padding,
                               overlapping=stride[0] < kernel_size[0]
                               or stride[1] < kernel_size[1])


@primitive(name="max_pool2d_gather")
def _max_pool2d_gather(x, index=None, padding=(0, 0)):
    """x (N, C, H, W) zero-padded by ``padding`` and read at the flat positions ``index``
    (N, C, Ho, Wo): the linear map that max pooling is for a fixed pattern of maxima."""
    x = np.asarray(x)
    if padding != (0, 0):
        x = _pad(x, (padding[0], padding[0], padding[1], padding[1]))
    return x.reshape(-1)[index]


@primitive(name="max_pool2d_scatter")
def _max_pool2d_scatter(g, index=None, input_size=None, padding=(0, 0), overlapping=True):
    """The adjoint of ``max_pool2d_gather``: zeros (N, C, H, W) with g (N, C, Ho, Wo) added
    at the flat padded positions ``index`` (accumulated where windows overlap)."""
    g = np.asarray(g)
    n, c = g.shape[:2]
    hp, wp = _padded_size(input_size, padding)
    size = n * c * hp * wp
    if overlapping:
        flat = np.bincount(index.reshape(-1), weights=g.reshape(-1), minlength=size)
        flat = flat.astype(np.result_type(g, np.float16), copy=False)
    else:
        flat = np.zeros(size, dtype=g.dtype)
        flat[index.reshape(-1)] = g.reshape(-1)  # windows do not overlap: positions unique
    out = flat.reshape(n, c, hp, wp)
    if padding != (0, 0):
        out = out[:, :, padding[0]:hp - padding[0], padding[1]:wp - padding[1]]
    return out


_max_pool2d.defvjp(_max_pool2d_vjp)
_max_pool2d_gather.defvjp(
    lambda g, out, x, index=None, padding=(0, 0): _max_pool2d_scatter(
        g, index=index, input_size=np.shape(x)[2:], padding=padding))
_max_pool2d_scatter.defvjp(
    lambda g, out, y, index=None, input_size=None, padding=(0, 0), overlapping=True:
    _max_pool2d_gather(g, index=index, padding=padding))


def _pool(op, prim, x, kernel_size, stride, padding):
    _check_numeric(op, x=x)
    xs, unbatched, k, s, p = _pool_args(op, x, kernel_size, stride, padding)
    if unbatched:
        x = reshape(x, shape=xs)
    y = prim(x, kernel_size=k, stride=s, padding=p)
    return reshape(y, shape=np.shape(y)[1:]) if unbatched else y


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """2-D max pooling (PyTorch's ``max_pool2d``, floor output sizes).

    ``y[n, c, i, j] = max_{a<kH, b<kW} x_pad[n, c, s0·i + a, s1·j + b]``, ``x_pad`` padded
    with -inf.

    Parameters
    ----------
    x : Tensor or array, shape (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (non-overlapping windows).
    padding : int or (int, int)
        At most half the kernel size, as in PyTorch.

    Returns
    -------
    Tensor, shape (N, C, H_out, W_out) (or unbatched), x's dtype
        ``H_out = floor((H + 2·p - kH) / s) + 1``, likewise for W.

    Raises
    ------
    ShapeError (a ValueError)
        x not 3-D/4-D, or a window larger than the padded input.
    ValueError
        Bad kernel_size/stride/padding.
    TypeError
        x not numbers (object or string dtype).

    Notes
    -----
    Gradient: each window's cotangent goes entirely to ONE element, its first maximum in
    row-major order inside the window (PyTorch's CPU rule; ``np.argmax``), not shared among
    ties. Where windows overlap an element collects the cotangents of every window it is the
    maximum of. A NaN counts as the maximum. Padding never wins: a window whose input cells
    all hold -inf (or the integer minimum) takes its first input cell, as PyTorch does.

    Examples
    --------
    >>> tg.max_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)
    tensor([[[ 5.,  7.],
             [13., 15.]]], dtype=float64)
    """
    return _pool("max_pool2d", _max_pool2d, x, kernel_size, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """2-D average pooling (PyTorch's ``avg_pool2d`` with ``count_include_pad=True``, floor
    output sizes).

    ``y[n, c, i, j] = (1 / (kH·kW)) Σ_{a<kH, b<kW} x_pad[n, c, s0·i + a, s1·j + b]``,
    ``x_pad`` zero-padded; linear in x, its gradient spreads g / (kH·kW) over each window.

    Parameters
    ----------
    x : Tensor or array, shape (N, C, H, W) or (C, H, W)
        Integer input gives float64.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int)
        At most half the kernel size; the zeros count in the mean.

    Returns
    -------
    Tensor, shape (N, C, H_out, W_out) (or unbatched)
        ``H_out = floor((H + 2·p - kH) / s) + 1``, likewise for W.

    Raises
    ------
    ShapeError (a ValueError)
        x not 3-D/4-D, or a window larger than the padded input.
    ValueError
        Bad kernel_size/stride/padding.
    TypeError
        x not numbers (object or string dtype).

    Examples
    --------
    >>> tg.avg_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)
    tensor([[[ 2.5,  4.5],
             [10.5, 12.5]]], dtype=float64)
    """
    return _pool("avg_pool2d", _avg_pool2d, x, kernel_size, stride, padding)
