"""2-D pooling in PyTorch's NCHW layout: ``max_pool2d``, ``max_unpool2d`` and ``avg_pool2d``.

Output sizes follow PyTorch (:func:`pooled_len`): ``floor((n + 2p - d(k-1) - 1) / s) + 1``,
or with ``ceil_mode`` the ceiling, one less when the last window would start past the input
and its left padding. Windows that ``ceil_mode`` extends past the padded input read nothing
there (-inf for max, excluded from avg's count).

``avg_pool2d`` is linear: it and its adjoint ``avg_pool2d_adjoint`` are each other's VJP.
``max_pool2d`` is a gather: the public call finds the flat position of each window's first
maximum once (:func:`max_pool_index`) and records it with the node; the forward reads x at
those positions, and the VJP scatters the cotangent back to them through
``max_pool2d_scatter``, whose VJP is the gather ``max_pool2d_gather`` (and vice versa), so
second derivatives reuse the same index and no argmax is recomputed. ``max_unpool2d``
writes its input at such positions; its VJP is the same gather.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..inputs import flag
from ..registry import primitive
from ..tensor import Tensor, shape_of
from ._conv_kernels import dilate_into, pad, strided
from .conv import check_size, input_4d, is_int, numeric_inputs, pair
from .elementwise import where
from .reduce import tie_distance
from .shape import reshape

__all__ = ["avg_pool2d", "max_pool2d", "max_unpool2d"]

# ----------------------------------------------------------------------------------------
# Arguments, output sizes and windows
# ----------------------------------------------------------------------------------------


def pooled_len(n, k, s, p, d, ceil_mode):
    """PyTorch's pooled length of an axis of ``n`` cells (kernel k, stride s, padding p,
    dilation d): ``floor((n + 2p - d(k-1) - 1) / s) + 1``; with ``ceil_mode`` the ceiling,
    less one when the last window would start at ``n + p`` or later (every window must
    start inside the input or its left padding)."""
    span = n + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_args(op, x, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """Checked canonical arguments of a public pooling call: (x as 4-D, dict of the
    canonical parameters kernel_size, stride, padding, dilation (pairs) and ceil_mode, the
    output size (Ho, Wo), whether x was unbatched)."""
    (x,) = numeric_inputs(op, x)
    xs, unbatched = input_4d(op, x)
    k = pair(kernel_size, "kernel_size", op, 1)
    s = k if stride is None else pair(stride, "stride", op, 1)
    p = pair(padding, "padding", op, 0)
    d = pair(dilation, "dilation", op, 1)
    ceil_mode = flag(ceil_mode, "ceil_mode", op)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}, "
                         "as in PyTorch")
    hp, wp = xs[2] + 2 * p[0], xs[3] + 2 * p[1]
    out = tuple(pooled_len(xs[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2))
    # the padded input, extended as far as ceil_mode's last window reaches
    reach = [max(n, (o - 1) * st + dl * (kk - 1) + 1) for n, o, st, dl, kk in
             zip((hp, wp), out, s, d, k)]
    check_size(op, "padded input", (xs[0], xs[1], *reach),
               getattr(x, "dtype", None) or np.result_type(x))
    if min(out) < 1:
        extent = "" if d == (1, 1) else f" (dilated to {d[0] * (k[0] - 1) + 1}x{d[1] * (k[1] - 1) + 1})"
        raise ShapeError(f"{op}: the window {k}{extent} is larger than the (padded) input "
                         f"{hp}x{wp} of x with shape {shape_of(x)}: no output")
    if unbatched:
        x = reshape(x, shape=xs)
    params = {"kernel_size": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil_mode}
    return x, params, out, unbatched


def _drop_batch(y, unbatched):
    return reshape(y, shape=shape_of(y)[1:]) if unbatched else y


def _windows(x, out_size, kernel, stride, padding=(0, 0), dilation=(1, 1), value=0):
    """(N, C, Ho, Wo, kH, kW) strided view of x (N, C, H, W) padded with ``value`` by
    ``padding`` on the top and left, and on the bottom and right as far as the last of the
    ``out_size`` windows reaches (ceil_mode's windows may reach past the usual padding)."""
    h, w = x.shape[2:]
    bottom, right = ((o - 1) * s + d * (k - 1) + 1 - n - p for o, s, d, k, n, p in
                     zip(out_size, stride, dilation, kernel, (h, w), padding))
    xp = pad(x, (padding[0], max(bottom, 0), padding[1], max(right, 0)), value=value)
    xp = np.ascontiguousarray(xp)
    sn, sc, sh, sw = xp.strides
    return strided(xp, xp.shape[:2] + tuple(out_size) + tuple(kernel),
                   (sn, sc, stride[0] * sh, stride[1] * sw, dilation[0] * sh, dilation[1] * sw))


# ----------------------------------------------------------------------------------------
# avg_pool2d and its adjoint
# ----------------------------------------------------------------------------------------


def avg_divisor(input_size, out_size, kernel_size, stride, padding, count_include_pad,
                divisor_override, dtype):
    """The divisor of each window of ``avg_pool2d`` (PyTorch's): ``divisor_override`` when
    given; else the number of the window's cells inside the padded input
    (``count_include_pad``) or inside the input alone. A number when all windows share it,
    else an array (Ho, Wo) of ``dtype``."""
    if divisor_override is not None:
        return divisor_override
    counts = []
    for n, o, k, s, p in zip(input_size, out_size, kernel_size, stride, padding):
        start = s * np.arange(o) - p
        end = np.minimum(start + k, n + p)
        counts.append(end - start if count_include_pad else
                      np.minimum(end, n) - np.maximum(start, 0))
    divisor = counts[0][:, None] * counts[1][None, :]
    full = kernel_size[0] * kernel_size[1]
    return full if np.all(divisor == full) else divisor.astype(dtype)


@primitive
def avg_pool2d(x, *, kernel_size, stride, padding, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Forward of :func:`avg_pool2d` on canonical arguments (pairs; x (N, C, H, W)): the sum
    of each window of x zero-padded by ``padding`` over :func:`avg_divisor`."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    size = x.shape[2:]
    out = tuple(pooled_len(n, k, s, p, 1, ceil_mode)
                for n, k, s, p in zip(size, kernel_size, stride, padding))
    total = _windows(x, out, kernel_size, stride, padding).sum(axis=(4, 5))
    return total / avg_divisor(size, out, kernel_size, stride, padding, count_include_pad,
                               divisor_override, total.dtype)


@primitive
def avg_pool2d_adjoint(g, *, input_size, kernel_size, stride, padding, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """The adjoint of ``avg_pool2d``: each g[n, c, i, j] over its window's divisor spread
    over the window, windows summed where they overlap, cropped to ``input_size`` (H, W)."""
    g = np.asarray(g)
    (kh, kw), (ph, pw) = kernel_size, padding
    h, w = input_size
    g = g / avg_divisor(input_size, g.shape[2:], kernel_size, stride, padding,
                        count_include_pad, divisor_override, g.dtype)
    f = dilate_into(g, (h + kh - 1, w + kw - 1), (kh - 1 - ph, kw - 1 - pw), stride)
    return _windows(f, (h, w), kernel_size, (1, 1)).sum(axis=(4, 5))


avg_pool2d.defvjp(
    lambda g, out, x, **p: avg_pool2d_adjoint(g, input_size=shape_of(x)[2:], **p))
avg_pool2d_adjoint.defvjp(
    lambda g, out, y, *, input_size, **p: avg_pool2d.bind(g, **p))


@avg_pool2d.defcall
def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling (PyTorch's ``avg_pool2d``, all its options).

    ``y[n, c, i, j] = (1 / D[i, j]) Σ_{a<kH, b<kW} x_pad[n, c, s0·i + a, s1·j + b]``,
    ``x_pad`` zero-padded; linear in x, its gradient spreads g / D over each window.
    ``D`` is ``divisor_override`` if given; else the number of cells of the window inside
    the padded input (``count_include_pad=True``: kH·kW except for ``ceil_mode``'s last
    windows) or inside the input alone (``False``).

    Parameters
    ----------
    x : Tensor or array, shape (N, C, H, W) or (C, H, W)
        Integer input gives float64.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int)
        At most half the kernel size.
    ceil_mode : bool
        Round the output size up (PyTorch's rule: the last window starts inside the input
        or its left padding); the cells such windows reach past the padding are not counted.
    count_include_pad : bool
        Count the zero padding in the divisor.
    divisor_override : int, optional
        A fixed nonzero divisor for every window.

    Returns
    -------
    Tensor, shape (N, C, H_out, W_out) (or unbatched)
        ``H_out = floor((H + 2·p - kH) / s) + 1`` (ceiling with ``ceil_mode``, see
        :func:`pooled_len`), likewise for W.

    Raises
    ------
    ShapeError (a ValueError)
        x not 3-D/4-D, or a window larger than the padded input.
    ValueError
        Bad kernel_size/stride/padding/divisor_override.
    TypeError
        x not an array of real numbers; ceil_mode or count_include_pad not a bool.

    Examples
    --------
    >>> tg.avg_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)
    tensor([[[ 2.5,  4.5],
             [10.5, 12.5]]], dtype=float64)
    >>> tg.avg_pool2d(np.arange(9.0).reshape(1, 3, 3), 2, ceil_mode=True)
    tensor([[[2. , 3.5],
             [6.5, 8. ]]], dtype=float64)
    """
    op = "avg_pool2d"
    x, params, _, unbatched = _pool_args(op, x, kernel_size, stride, padding, 1, ceil_mode)
    del params["dilation"]
    params["count_include_pad"] = flag(count_include_pad, "count_include_pad", op)
    if divisor_override is not None:
        if not is_int(divisor_override) or divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must be None or a nonzero int, "
                             f"got {divisor_override!r}")
        params["divisor_override"] = int(divisor_override)
    return _drop_batch(avg_pool2d.bind(x, **params), unbatched)


# ----------------------------------------------------------------------------------------
# max_pool2d: a gather at a precomputed index, and the gather/scatter pair
# ----------------------------------------------------------------------------------------


def _first_inside(start, n, k, d):
    """For windows starting at ``start`` (cells start + d·a, a < k) on an axis of n cells:
    each window's first cell inside [0, n), and whether it has one."""
    first = start + d * np.maximum(-(start // d), 0)  # start + d·ceil(-start / d) if start < 0
    return first, first < np.minimum(n, start + d * (k - 1) + 1)


def max_pool_index(x, kernel, stride, padding, dilation=(1, 1), out_size=None):
    """Flat index into ``x`` (N, C, H, W) of the first maximum of each window of ``x``
    padded by ``padding`` (row-major order inside the window, NaN counting as the maximum,
    as ``np.argmax``), shape (N, C, Ho, Wo), dtype intp. ``out_size`` (Ho, Wo) defaults to
    the floor output size; larger (ceil_mode) windows reach past the padding.

    Padding cells never win: a window whose input cells all hold the dtype's lowest value
    (-inf, or the integer minimum) ties with its padding, and then its first input cell is
    the maximum, as in PyTorch. So every index points into ``x`` itself (each window must
    hold an input cell)."""
    x = np.asarray(x)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    if out_size is None:
        out_size = (pooled_len(h, kh, sh, ph, dh, False), pooled_len(w, kw, sw, pw, dw, False))
    ho, wo = out_size
    if np.issubdtype(x.dtype, np.inexact):
        low = -np.inf
    elif x.dtype == np.bool_:
        low = False
    else:
        low = np.iinfo(x.dtype).min
    win = _windows(x, out_size, kernel, stride, padding, dilation, value=low)
    a, b = np.divmod(win.reshape(n, c, ho, wo, kh * kw).argmax(axis=-1), kw)
    top, left = sh * np.arange(ho) - ph, sw * np.arange(wo) - pw
    rows = top[:, None] + dh * a  # in x's coordinates
    cols = left[None, :] + dw * b
    if (ph or pw or (ho - 1) * sh + dh * (kh - 1) >= h
            or (wo - 1) * sw + dw * (kw - 1) >= w):  # a window reaches outside x
        outside = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
        # a padding cell chosen: the window's first input cell instead
        rows = np.where(outside, _first_inside(top, h, kh, dh)[0][:, None], rows)
        cols = np.where(outside, _first_inside(left, w, kw, dw)[0][None, :], cols)
    plane = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * (h * w)
    return plane[:, :, None, None] + rows * w + cols


def _gather(x, index):
    return np.asarray(x).reshape(-1)[index]


def _overlapping(kernel_size, stride, dilation):
    """Whether windows may share cells: a stride shorter than the dilated kernel."""
    return any(s < d * (k - 1) + 1 for k, s, d in zip(kernel_size, stride, dilation))


@primitive
def max_pool2d(x, *, index, kernel_size, stride, padding, dilation=(1, 1), ceil_mode=False):
    """Forward of :func:`max_pool2d`: x (N, C, H, W) read at ``index``, the flat positions
    of each window's first maximum (:func:`max_pool_index` of x with the pooling parameters,
    which the node records). The VJP scatters the cotangent to the same positions."""
    return _gather(x, index)


max_pool2d.defvjp(
    lambda g, out, x, *, index, kernel_size, stride, padding, dilation, ceil_mode:
    max_pool2d_scatter(g, index=index, input_size=shape_of(x)[2:],
                       overlapping=_overlapping(kernel_size, stride, dilation)))


def _max_pool2d_kinks(x, *, index, kernel_size, stride, padding, dilation, ceil_mode):
    """Kinks at ties for a window's maximum: each element's distance to one
    (:func:`tie_distance`), the least over the windows it is in, inf outside every window."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    x = np.asarray(x, dtype=np.float64)
    out_size = tuple(pooled_len(m, *a, ceil_mode) for m, *a in
                     zip(x.shape[2:], kernel_size, stride, padding, dilation))
    win = _windows(x, out_size, kernel_size, stride, padding, dilation, value=-np.inf)
    n, c, ho, wo = win.shape[:4]
    distance = tie_distance(win.reshape(n, c, ho, wo, kh * kw), -1, np.max)
    rows = sh * np.arange(ho)[:, None, None, None] + dh * np.arange(kh)[:, None]  # (Ho, 1, kH, 1)
    cols = sw * np.arange(wo)[:, None, None] + dw * np.arange(kw)  # (Wo, 1, kW)
    size = (max(x.shape[2] + 2 * ph, int(rows.max()) + 1), max(x.shape[3] + 2 * pw, int(cols.max()) + 1))
    out = np.full((n, c) + size, np.inf)
    np.minimum.at(out, (np.arange(n)[:, None, None, None, None, None],
                        np.arange(c)[:, None, None, None, None], rows, cols),
                  distance.reshape(n, c, ho, wo, kh, kw))
    return out[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


max_pool2d.defkinks(_max_pool2d_kinks)


@max_pool2d.defcall
def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling (PyTorch's ``max_pool2d``, all its options).

    ``y[n, c, i, j] = max_{a<kH, b<kW} x_pad[n, c, s0·i + d0·a, s1·j + d1·b]``, ``x_pad``
    padded with -inf.

    Parameters
    ----------
    x : Tensor or array, shape (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (non-overlapping windows).
    padding : int or (int, int)
        At most half the kernel size, as in PyTorch.
    dilation : int or (int, int)
        Spacing between the cells of a window.
    ceil_mode : bool
        Round the output size up (PyTorch's rule: the last window starts inside the input
        or its left padding); cells such windows reach past the padding count as -inf.
    return_indices : bool
        Also return where each maximum is.

    Returns
    -------
    Tensor, shape (N, C, H_out, W_out) (or unbatched), x's dtype
        ``H_out = floor((H + 2·p - d·(kH - 1) - 1) / s) + 1`` (ceiling with ``ceil_mode``,
        see :func:`pooled_len`), likewise for W.
    indices : Tensor of int64, the same shape (only with ``return_indices=True``)
        The flat position ``row·W + col`` of each maximum in its (H, W) plane of x, as
        PyTorch's (the input of :func:`max_unpool2d`); no gradient.

    Raises
    ------
    ShapeError (a ValueError)
        x not 3-D/4-D, or a window larger than the padded input.
    ValueError
        Bad kernel_size/stride/padding/dilation, or a dilated window that lies entirely in
        the padding (PyTorch returns -inf there).
    TypeError
        x not an array of real numbers (object, string or complex dtype, or not array-like);
        ceil_mode or return_indices not a bool.

    Notes
    -----
    The position of each window's maximum is found once, in the forward, and recorded with
    the node (``grad_fn.params["index"]``, flat positions in the batched x); the backward
    scatters to those positions.

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
    >>> y, i = tg.max_pool2d(np.arange(9.0).reshape(1, 3, 3), 2, ceil_mode=True,
    ...                      return_indices=True)
    >>> i
    tensor([[[4, 5],
             [7, 8]]], dtype=int64)
    """
    op = "max_pool2d"
    x, params, out, unbatched = _pool_args(op, x, kernel_size, stride, padding, dilation,
                                           ceil_mode)
    return_indices = flag(return_indices, "return_indices", op)
    k, s, p, d = (params[key] for key in ("kernel_size", "stride", "padding", "dilation"))
    size = shape_of(x)[2:]
    for axis in range(2):
        start = s[axis] * np.arange(out[axis]) - p[axis]
        if not _first_inside(start, size[axis], k[axis], d[axis])[1].all():
            raise ValueError(f"{op}: with padding {p} and dilation {d}, a window of the "
                             f"(H, W) = {tuple(size)} input lies entirely in the padding "
                             "(PyTorch returns -inf there); use less padding")
    index = max_pool_index(x.data if isinstance(x, Tensor) else x, k, s, p, d, out)
    y = _drop_batch(max_pool2d.bind(x, index=index, **params), unbatched)
    if not return_indices:
        return y
    local = (index % (size[0] * size[1])).astype(np.int64)
    return y, Tensor(local[0] if unbatched else local)


@primitive
def max_pool2d_gather(x, *, index):
    """x (N, C, H, W) read at the flat positions ``index`` (N, C, Ho, Wo): the linear map
    that max pooling is for a fixed pattern of maxima."""
    return _gather(x, index)


@primitive
def max_pool2d_scatter(g, *, index, input_size, overlapping):
    """The adjoint of ``max_pool2d_gather``: zeros (N, C, H, W), (H, W) = ``input_size``,
    with g (N, C, Ho, Wo) added at the flat positions ``index`` (accumulated where windows
    overlap; ``overlapping=False`` promises that the positions are distinct)."""
    g = np.asarray(g)
    n, c = g.shape[:2]
    size = n * c * input_size[0] * input_size[1]
    if overlapping:
        flat = np.bincount(index.reshape(-1), weights=g.reshape(-1), minlength=size)
        flat = flat.astype(np.result_type(g, np.float16), copy=False)
    else:
        flat = np.zeros(size, dtype=g.dtype)
        flat[index.reshape(-1)] = g.reshape(-1)
    return flat.reshape((n, c) + tuple(input_size))


max_pool2d_gather.defvjp(lambda g, out, x, *, index: max_pool2d_scatter(
    g, index=index, input_size=shape_of(x)[2:], overlapping=True))
max_pool2d_scatter.defvjp(lambda g, out, y, *, index, input_size, overlapping:
                          max_pool2d_gather(g, index=index))

# ----------------------------------------------------------------------------------------
# max_unpool2d: max_pool2d's values written back at their indices
# ----------------------------------------------------------------------------------------


@primitive
def max_unpool2d(x, *, index, output_size, keep=None):
    """Forward of :func:`max_unpool2d`: zeros (N, C) + ``output_size`` with x (N, C, H, W)
    written at the flat positions ``index`` (N, C, H, W). ``keep`` is None when the
    positions are distinct, else a bool mask of the entries written: the last of each
    repeated position, as PyTorch's CPU loop leaves it. The VJP gathers the cotangent at
    ``index`` (zero for the entries not kept)."""
    x = np.asarray(x)
    flat = np.zeros(x.shape[0] * x.shape[1] * output_size[0] * output_size[1], dtype=x.dtype)
    if keep is None:
        flat[index.reshape(-1)] = x.reshape(-1)
    else:
        flat[index[keep]] = x[keep]
    return flat.reshape(x.shape[:2] + tuple(output_size))


def _unpool_vjp(g, out, x, *, index, output_size, keep):
    gathered = max_pool2d_gather(g, index=index)
    return gathered if keep is None else where(keep, gathered, 0)


max_unpool2d.defvjp(_unpool_vjp)


def _unpool_size(op, output_size, default, stride, x_shape):
    """The (H_out, W_out) of max_unpool2d: ``default`` or the last two entries of
    ``output_size``, each strictly within ``stride`` of the default (PyTorch's rule)."""
    if output_size is None:
        size = default
    else:
        try:
            size = tuple(output_size)
        except TypeError:
            size = None
        if size is None or len(size) not in (2, 4, len(x_shape)) or not all(
                is_int(v) for v in size):
            raise ValueError(f"{op}: output_size must be None or a sequence of 2 ints (or a "
                             f"whole shape, whose last 2 are used), got {output_size!r}")
        size = tuple(int(v) for v in size[-2:])
        for n, m, s in zip(size, default, stride):
            if not m - s < n < m + s:
                raise ValueError(f"{op}: output_size {size} must lie strictly between "
                                 f"{tuple(m - s for m, s in zip(default, stride))} and "
                                 f"{tuple(m + s for m, s in zip(default, stride))} for input of "
                                 f"shape {x_shape} (the default is {default})")
    if min(size) < 1:
        raise ShapeError(f"{op}: the output size {size} for input of shape {x_shape} is not "
                         "positive; check kernel_size, stride and padding")
    return size


@max_unpool2d.defcall
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    """The partial inverse of :func:`max_pool2d` (PyTorch's ``max_unpool2d``): zeros with
    each value of ``input`` written at its index.

    ``y[n, c].flat[indices[n, c, i, j]] = input[n, c, i, j]``, zeros elsewhere.

    Parameters
    ----------
    input : Tensor or array, shape (N, C, H, W) or (C, H, W)
    indices : Tensor or array of ints, input's shape
        Flat positions in each (H_out, W_out) plane, as ``max_pool2d(...,
        return_indices=True)`` gives.
    kernel_size, stride, padding : int or (int, int)
        Those of the pooling; ``stride`` defaults to ``kernel_size``.
    output_size : sequence of ints, optional
        (H_out, W_out), or a whole shape (3 or 4 entries) whose last two are used; each
        strictly within the stride of the default ``(H - 1)·s - 2p + k``. Pass the pooled
        input's shape when the default differs from it: the indices are positions in it.

    Returns
    -------
    Tensor, shape (N, C, H_out, W_out) (or unbatched), input's dtype

    Raises
    ------
    ShapeError (a ValueError)
        input not 3-D/4-D, indices of another shape, or an output size below 1.
    ValueError
        Bad kernel_size/stride/padding/output_size, or an index outside the output plane.
    TypeError
        input not an array of real numbers, or indices not integers.

    Notes
    -----
    A position that several entries name keeps the last of them, as PyTorch's CPU loop
    does; the gradient then reaches that entry only (the derivative of the result), where
    PyTorch gives every entry naming the position its cotangent. With distinct indices
    (non-overlapping pooling windows) the two agree.

    Examples
    --------
    >>> y, i = tg.max_pool2d(np.array([[[1.0, 4.0], [3.0, 2.0]]]), 2, return_indices=True)
    >>> tg.max_unpool2d(y, i, 2)
    tensor([[[0., 4.],
             [0., 0.]]], dtype=float64)
    """
    op = "max_unpool2d"
    (x,) = numeric_inputs(op, input)
    xs, unbatched = input_4d(op, x, "input")
    ind = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if ind.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an array of integers (as max_pool2d(..., "
                        f"return_indices=True) gives), got dtype {ind.dtype}")
    if ind.shape != shape_of(x):
        raise ShapeError(f"{op}: indices of shape {ind.shape} must have the input's shape "
                         f"{shape_of(x)}")
    k = pair(kernel_size, "kernel_size", op, 1)
    s = k if stride is None else pair(stride, "stride", op, 1)
    p = pair(padding, "padding", op, 0)
    default = tuple((xs[2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(2))
    size = _unpool_size(op, output_size, default, s, shape_of(x))
    plane = size[0] * size[1]
    if ind.size and (ind.min() < 0 or ind.max() >= plane):
        raise ValueError(f"{op}: indices must lie in [0, {plane}) (the output plane "
                         f"{size[0]}x{size[1]}), got values from {ind.min()} to {ind.max()}")
    check_size(op, "output", xs[:2] + size, getattr(x, "dtype", None) or np.result_type(x))
    offsets = (np.arange(xs[0])[:, None] * xs[1] + np.arange(xs[1])[None, :]) * plane
    index = offsets[:, :, None, None] + ind.reshape(xs).astype(np.intp)
    keep = None
    backwards = index.reshape(-1)[::-1]
    _, last = np.unique(backwards, return_index=True)  # first in reverse: the last writer
    if len(last) < backwards.size:
        keep = np.zeros(backwards.size, dtype=bool)
        keep[backwards.size - 1 - last] = True
        keep = keep.reshape(xs)
    if unbatched:
        x = reshape(x, shape=xs)
    return _drop_batch(max_unpool2d.bind(x, index=index, output_size=size, keep=keep),
                       unbatched)
