"""2-D pooling in PyTorch's NCHW layout: ``max_pool2d`` and ``avg_pool2d``.

``avg_pool2d`` is linear: it and its adjoint ``avg_pool2d_adjoint`` are each other's VJP.
``max_pool2d`` is a gather: the public call finds the flat position of each window's first
maximum once (:func:`max_pool_index`) and records it with the node; the forward reads x at
those positions, and the VJP scatters the cotangent back to them through
``max_pool2d_scatter``, whose VJP is the gather ``max_pool2d_gather`` (and vice versa), so
second derivatives reuse the same index and no argmax is recomputed.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..registry import primitive
from ..tensor import Tensor, shape_of
from ._conv_kernels import dilate_into, out_len, pad, strided
from .conv import check_size, input_4d, numeric_inputs, pair
from .reduce import tie_distance
from .shape import reshape

__all__ = ["avg_pool2d", "max_pool2d"]

# ----------------------------------------------------------------------------------------
# Arguments and windows
# ----------------------------------------------------------------------------------------


def _pool_args(op, x, kernel_size, stride, padding):
    """Checked canonical arguments of a public pooling call: (x as 4-D, kernel, stride,
    padding pairs, whether x was unbatched)."""
    (x,) = numeric_inputs(op, x)
    xs, unbatched = input_4d(op, x)
    k = pair(kernel_size, "kernel_size", op, 1)
    s = k if stride is None else pair(stride, "stride", op, 1)
    p = pair(padding, "padding", op, 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}, "
                         "as in PyTorch")
    hp, wp = xs[2] + 2 * p[0], xs[3] + 2 * p[1]
    check_size(op, "padded input", (xs[0], xs[1], hp, wp), getattr(x, "dtype", None) or np.result_type(x))
    if k[0] > hp or k[1] > wp:
        raise ShapeError(f"{op}: the window {k} is larger than the (padded) input {hp}x{wp} "
                         f"of x with shape {shape_of(x)}")
    if unbatched:
        x = reshape(x, shape=xs)
    return x, k, s, p, unbatched


def _drop_batch(y, unbatched):
    return reshape(y, shape=shape_of(y)[1:]) if unbatched else y


def _windows(xp, kernel, stride):
    """(N, C, Ho, Wo, kH, kW) strided view of padded ``xp`` (no copy)."""
    xp = np.ascontiguousarray(xp)
    n, c, h, w = xp.shape
    ho, wo = out_len(h, kernel[0], stride[0], 1), out_len(w, kernel[1], stride[1], 1)
    sn, sc, sh, sw = xp.strides
    return strided(xp, (n, c, ho, wo) + tuple(kernel),
                   (sn, sc, stride[0] * sh, stride[1] * sw, sh, sw))


# ----------------------------------------------------------------------------------------
# avg_pool2d and its adjoint
# ----------------------------------------------------------------------------------------

@primitive
def avg_pool2d(x, *, kernel_size, stride, padding):
    """Forward of :func:`avg_pool2d` on canonical arguments: the mean of each window of x
    (N, C, H, W) zero-padded by ``padding`` (the zeros counted); pairs for the parameters."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    xp = pad(x, (padding[0], padding[0], padding[1], padding[1]))
    total = _windows(xp, kernel_size, stride).sum(axis=(4, 5))
    return total / (kernel_size[0] * kernel_size[1])


@primitive
def avg_pool2d_adjoint(g, *, input_size, kernel_size, stride, padding):
    """The adjoint of ``avg_pool2d``: each g[n, c, i, j] / (kH·kW) spread over its window,
    windows summed where they overlap, cropped to ``input_size`` (H, W)."""
    g = np.asarray(g)
    (kh, kw), (ph, pw) = kernel_size, padding
    h, w = input_size
    f = dilate_into(g, (h + kh - 1, w + kw - 1), (kh - 1 - ph, kw - 1 - pw), stride)
    return _windows(f, kernel_size, (1, 1)).sum(axis=(4, 5)) / (kh * kw)


avg_pool2d.defvjp(
    lambda g, out, x, **p: avg_pool2d_adjoint(g, input_size=shape_of(x)[2:], **p))
avg_pool2d_adjoint.defvjp(
    lambda g, out, y, *, input_size, **p: avg_pool2d.bind(g, **p))


@avg_pool2d.defcall
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
        x not an array of real numbers (object, string or complex dtype, or not array-like).

    Examples
    --------
    >>> tg.avg_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)
    tensor([[[ 2.5,  4.5],
             [10.5, 12.5]]], dtype=float64)
    """
    x, k, s, p, unbatched = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
    return _drop_batch(avg_pool2d.bind(x, kernel_size=k, stride=s, padding=p), unbatched)


# ----------------------------------------------------------------------------------------
# max_pool2d: a gather at a precomputed index, and the gather/scatter pair
# ----------------------------------------------------------------------------------------

def max_pool_index(x, kernel, stride, padding):
    """Flat index into ``x`` (N, C, H, W) of the first maximum of each window of ``x`` padded
    by ``padding`` (row-major order inside the window, NaN counting as the maximum, as
    ``np.argmax``), shape (N, C, Ho, Wo), dtype intp.

    Padding cells never win: a window whose input cells all hold the dtype's lowest value
    (-inf, or the integer minimum) ties with its padding, and then its first input cell is
    the maximum, as in PyTorch. So every index points into ``x`` itself."""
    x = np.asarray(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    if padding != (0, 0):
        if np.issubdtype(x.dtype, np.inexact):
            low = -np.inf
        elif x.dtype == np.bool_:
            low = False
        else:
            low = np.iinfo(x.dtype).min
        x = pad(x, (ph, ph, pw, pw), value=low)
    win = _windows(x, kernel, stride)
    ho, wo = win.shape[2:4]
    a, b = np.divmod(win.reshape(n, c, ho, wo, kh * kw).argmax(axis=-1), kw)
    rows = (sh * np.arange(ho) - ph)[:, None] + a  # in x's coordinates
    cols = (sw * np.arange(wo) - pw)[None, :] + b
    if padding != (0, 0):  # a padding cell chosen: the window's first input cell instead
        in_padding = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
        rows = np.where(in_padding, np.maximum(sh * np.arange(ho) - ph, 0)[:, None], rows)
        cols = np.where(in_padding, np.maximum(sw * np.arange(wo) - pw, 0)[None, :], cols)
    plane = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * (h * w)
    return plane[:, :, None, None] + rows * w + cols


def _gather(x, index):
    return np.asarray(x).reshape(-1)[index]


@primitive
def max_pool2d(x, *, index, kernel_size, stride, padding):
    """Forward of :func:`max_pool2d`: x (N, C, H, W) read at ``index``, the flat positions
    of each window's first maximum (:func:`max_pool_index` of x with the pooling parameters,
    which the node records). The VJP scatters the cotangent to the same positions."""
    return _gather(x, index)


max_pool2d.defvjp(
    lambda g, out, x, *, index, kernel_size, stride, padding: max_pool2d_scatter(
        g, index=index, input_size=shape_of(x)[2:],
        overlapping=stride[0] < kernel_size[0] or stride[1] < kernel_size[1]))


def _max_pool2d_kinks(x, *, index, kernel_size, stride, padding):
    """Kinks at ties for a window's maximum: each element's distance to one
    (:func:`tie_distance`), the least over the windows it is in, inf outside every window."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    x = np.asarray(x, dtype=np.float64)
    win = _windows(pad(x, (ph, ph, pw, pw), value=-np.inf), kernel_size, stride)
    n, c, ho, wo = win.shape[:4]
    distance = tie_distance(win.reshape(n, c, ho, wo, kh * kw), -1, np.max)
    rows = sh * np.arange(ho)[:, None, None, None] + np.arange(kh)[:, None]  # (Ho, 1, kH, 1)
    cols = sw * np.arange(wo)[:, None, None] + np.arange(kw)  # (Wo, 1, kW)
    out = np.full((n, c, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), np.inf)
    np.minimum.at(out, (np.arange(n)[:, None, None, None, None, None],
                        np.arange(c)[:, None, None, None, None], rows, cols),
                  distance.reshape(n, c, ho, wo, kh, kw))
    return out[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


max_pool2d.defkinks(_max_pool2d_kinks)


@max_pool2d.defcall
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
        x not an array of real numbers (object, string or complex dtype, or not array-like).

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
    """
    x, k, s, p, unbatched = _pool_args("max_pool2d", x, kernel_size, stride, padding)
    index = max_pool_index(x.data if isinstance(x, Tensor) else x, k, s, p)
    y = max_pool2d.bind(x, index=index, kernel_size=k, stride=s, padding=p)
    return _drop_batch(y, unbatched)


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
