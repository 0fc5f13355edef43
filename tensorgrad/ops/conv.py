"""2-D convolution in PyTorch's NCHW layout: ``conv2d``, ``conv_transpose2d`` and the weight
gradient ``conv2d_weight_grad``, three primitives each the adjoint of the others in one of
their arguments.

With ``A(x, w)`` the strided, dilated, grouped cross-correlation of :func:`conv2d` (after
padding), and ``⟨·,·⟩`` the sum of elementwise products,

    ⟨A(x, w), y⟩ = ⟨x, T(y, w)⟩ = ⟨w, W(x, y)⟩

where ``T`` is :func:`conv_transpose2d` (the adjoint of ``A`` in ``x``) and ``W`` is
:func:`conv2d_weight_grad` (the adjoint of ``A`` in ``w``). So every VJP is a member of the
family, and second derivatives come for free:

    A(x, w):  dx = T(g, w),  dw = W(x, g)
    T(y, w):  dy = A(g, w),  dw = W(g, y)
    W(x, y):  dx = T(y, g),  dy = A(x, g)

Each primitive's forward works on canonical arguments (x 4-D or 3-D, pairs, padding as
(top, bottom, left, right)); the public signatures of ``conv2d`` and ``conv_transpose2d``
(PyTorch's, declared with ``defcall``) check and normalise their arguments and add the bias.
The NumPy kernels, their routes and their workspaces are in :mod:`._conv_kernels`.
"""
from __future__ import annotations

import numpy as np

from .. import inputs
from ..errors import ShapeError
from ..inputs import as_input
from ..registry import primitive
from ..tensor import shape_of
from ._conv_kernels import (
    conv_transpose_nchw,
    correlate_nchw,
    empty_cache,  # noqa: F401  (tensorgrad.ops.conv.empty_cache)
    weight_grad_nchw,
)
from .elementwise import add
from .reduce import sum
from .shape import getitem, reshape

__all__ = ["conv2d", "conv_transpose2d"]

# ----------------------------------------------------------------------------------------
# Argument checking (shared with pooling)
# ----------------------------------------------------------------------------------------


def is_int(v):
    """True for Python and NumPy integers, False for bools."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def pair(value, name, op, minimum):
    """An int or a pair of ints as a pair, each at least ``minimum``; ValueError naming
    ``op`` and the argument ``name`` otherwise."""
    if is_int(value):
        result = (int(value), int(value))
    else:
        try:
            result = tuple(value)
        except TypeError:
            result = None
        if result is None or len(result) != 2 or not all(is_int(v) for v in result):
            raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
        result = (int(result[0]), int(result[1]))
    if min(result) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return result


def check_size(op, what, shape, dtype):
    """:func:`tensorgrad.inputs.check_size` with the hint for convolutions and pools."""
    inputs.check_size(op, what, shape, dtype, hint="check kernel_size, padding, dilation and stride")


def input_4d(op, x, what="x"):
    """(``x``'s shape as 4-D, whether ``x`` is unbatched (3-D)); ShapeError for another
    rank."""
    shape = shape_of(x)
    if len(shape) not in (3, 4):
        raise ShapeError(f"{op}: expected {what} of shape (N, C, H, W) or (C, H, W), "
                         f"got shape {shape}")
    return shape if len(shape) == 4 else (1,) + shape, len(shape) == 3


def numeric_inputs(op, *arrays):
    """The array arguments of a public call as the op's forward takes them (lists stacked
    when they hold Tensors; None passed through for an absent bias); TypeError naming
    ``op`` and the input for anything that is not an array of real numbers."""
    return [a if a is None else as_input(op, i, a) for i, a in enumerate(arrays)]


def _check_weight(op, ws, layout):
    """ShapeError unless the weight is 4-D with a kernel of at least 1x1 and channels."""
    if len(ws) != 4:
        raise ShapeError(f"{op}: expected weight of shape {layout}, got shape {ws}")
    if min(ws) < 1:
        raise ShapeError(f"{op}: weight of shape {ws} is empty; expected {layout} with every "
                         "size at least 1")


def _check_groups(op, groups, c_in, c_out, x_shape, w_shape):
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if c_in % groups:
        raise ValueError(f"{op}: in_channels ({c_in}, from x of shape {x_shape}) must be "
                         f"divisible by groups ({groups})")
    if c_out % groups:
        raise ValueError(f"{op}: out_channels ({c_out}, from weight of shape {w_shape}) must "
                         f"be divisible by groups ({groups})")


def _check_bias(op, bias, c_out):
    if bias is not None and shape_of(bias) != (c_out,):
        raise ShapeError(f"{op}: expected bias of shape ({c_out},) (one per output channel), "
                         f"got shape {shape_of(bias)}")


def _dtype(a):
    """The dtype of an array or Tensor input (after :func:`numeric_inputs`)."""
    dtype = getattr(a, "dtype", None)
    return np.result_type(a) if dtype is None else dtype


def _add_bias(y, bias, c_out):
    if bias is None:
        return y
    return add(y, reshape(bias, shape=(c_out, 1, 1)))


def _crop_to(a, shape):
    """``a[..., :H, :W]`` when ``a`` is larger than ``shape`` (differentiable)."""
    if tuple(shape_of(a)) == tuple(shape):
        return a
    return getitem(a, index=(Ellipsis, slice(0, shape[-2]), slice(0, shape[-1])))


def _unbatched(fn, a):
    """``fn(a)`` for a 4-D ``a``; a 3-D (unbatched) ``a`` gets a batch axis of 1 and the
    result loses it."""
    if np.ndim(a) == 3:
        return fn(np.asarray(a)[None])[0]
    return fn(a)


# ----------------------------------------------------------------------------------------
# conv2d: A(x, w)
# ----------------------------------------------------------------------------------------

@primitive(optional=(2,))
def conv2d(x, weight, bias, *, stride, padding, dilation, groups):
    """Forward of :func:`conv2d` on canonical arguments: x (N, C, H, W) or (C, H, W), weight
    (O, C/G, kH, kW), bias (O,) of x and weight's common dtype or None, ``padding`` (top,
    bottom, left, right), ``stride`` and ``dilation`` pairs. Returns (N, O, Ho, Wo) (or
    (O, Ho, Wo)); the bias is added in place, image by image, as the kernel writes them."""
    return _unbatched(lambda a: correlate_nchw(a, weight, stride, padding, dilation, groups,
                                               bias=bias), x)


def _bias_grad(g, out, x, w, b, **p):
    """g summed over every axis but the channels': (N, H, W), or (H, W) unbatched."""
    return sum(g, axis=(0, 2, 3) if len(shape_of(g)) == 4 else (1, 2))


conv2d.defvjp(
    lambda g, out, x, w, b, **p: conv_transpose2d.bind(g, w, input_size=shape_of(x)[-2:],
                                                        **p),
    lambda g, out, x, w, b, **p: conv2d_weight_grad(x, g, kernel_size=shape_of(w)[2:],
                                                    **p),
    _bias_grad,
)


@conv2d.defcall
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
        x, weight or bias not an array of real numbers (object, string or complex dtype,
        or not array-like).

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
    x, weight, bias = numeric_inputs(op, x, weight, bias)
    xs, _ = input_4d(op, x)
    ws = shape_of(weight)
    _check_weight(op, ws, "(C_out, C_in/groups, kH, kW)")
    c_out, c_in = ws[0], xs[1]
    _check_groups(op, groups, c_in, c_out, shape_of(x), ws)
    if c_in != ws[1] * groups:
        raise ShapeError(f"{op}: x has {c_in} channels (shape {shape_of(x)}) but weight of "
                         f"shape {ws} with groups={groups} expects {ws[1] * groups}")
    _check_bias(op, bias, c_out)
    stride = pair(stride, "stride", op, 1)
    dilation = pair(dilation, "dilation", op, 1)
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
        ph, pw = pair(padding, "padding", op, 0)
        pad4 = (ph, ph, pw, pw)
    hp, wp = xs[2] + pad4[0] + pad4[1], xs[3] + pad4[2] + pad4[3]
    check_size(op, "padded input", (xs[0], xs[1], hp, wp), getattr(x, "dtype", None) or np.result_type(x))
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > hp or ew > wp or min(kh, kw) < 1:
        raise ShapeError(f"{op}: the kernel ({kh}x{kw}, dilation {dilation}: {eh}x{ew}) is "
                         f"larger than the padded input ({hp}x{wp}, from x of shape "
                         f"{shape_of(x)} and padding {pad4[::2]})")
    # the bias goes into the kernel's output unless it would change the result's dtype
    fused = bias is None or (np.result_type(_dtype(x), _dtype(weight))
                             == np.result_type(_dtype(x), _dtype(weight), _dtype(bias)))
    y = conv2d.bind(x, weight, bias if fused else None, stride=stride, padding=pad4,
                    dilation=dilation, groups=groups)
    return y if fused else _add_bias(y, bias, c_out)


# ----------------------------------------------------------------------------------------
# conv_transpose2d: T(y, w), the adjoint of A in x
# ----------------------------------------------------------------------------------------

@primitive
def conv_transpose2d(y, weight, *, input_size, stride, padding, dilation, groups):
    """Forward of :func:`conv_transpose2d` on canonical arguments: the adjoint in x of
    ``conv2d`` for an input of ``input_size`` (H, W); y (N, O, Ho', Wo') or (O, Ho', Wo')
    with Ho' at most conv2d's output height, weight (O, C/G, kH, kW), the other parameters
    as conv2d's. Returns (N, C, H, W) (or (C, H, W))."""
    return _unbatched(lambda a: conv_transpose_nchw(a, weight, tuple(input_size), stride,
                                                    padding, dilation, groups), y)


conv_transpose2d.defvjp(
    lambda g, out, y, w, *, input_size, **p: _crop_to(conv2d.bind(g, w, None, **p),
                                                      shape_of(y)),
    lambda g, out, y, w, *, input_size, **p: conv2d_weight_grad(
        g, y, kernel_size=shape_of(w)[2:], **p),
)


@conv_transpose2d.defcall
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (PyTorch's ``conv_transpose2d``, with its argument order):
    the adjoint of :func:`conv2d` with the same stride, padding, dilation and groups.

    ``y = bias + conv2dᵀ(x)``: every input pixel ``x[n, c, i, j]`` adds ``x·weight[c, o]``
    at rows ``s·i + d·a - p`` and columns ``s·j + d·b - p`` of output channel ``o`` (in its
    group). It is the gradient of conv2d with respect to its input.

    Parameters
    ----------
    x : Tensor or array, shape (N, C_in, H, W) or (C_in, H, W)
    weight : Tensor or array, shape (C_in, C_out / groups, kH, kW)
    bias : Tensor or array, shape (C_out,), optional
    stride, padding : int or (int, int)
        As for the conv2d this is the adjoint of (``padding`` crops the output).
    output_padding : int or (int, int)
        Rows/columns added at the bottom/right of the output, to pick among the input sizes
        that a strided conv2d maps to the same size; each must be smaller than the stride
        or the dilation.
    groups : int
    dilation : int or (int, int)
        ``groups`` comes before ``dilation``, as in ``torch.nn.functional.conv_transpose2d``
        (unlike :func:`conv2d`).

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
        x, weight or bias not an array of real numbers (object, string or complex dtype,
        or not array-like).

    Examples
    --------
    >>> tg.conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), stride=2).shape
    (1, 1, 4, 4)
    """
    op = "conv_transpose2d"
    x, weight, bias = numeric_inputs(op, x, weight, bias)
    xs, _ = input_4d(op, x)
    ws = shape_of(weight)
    _check_weight(op, ws, "(C_in, C_out/groups, kH, kW)")
    c_in = xs[1]
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if c_in != ws[0]:
        raise ShapeError(f"{op}: x has {c_in} channels (shape {shape_of(x)}) but weight of "
                         f"shape {ws} expects {ws[0]} (weight is (C_in, C_out/groups, kH, kW))")
    if c_in % groups:
        raise ValueError(f"{op}: in_channels ({c_in}) must be divisible by groups ({groups})")
    c_out = ws[1] * groups
    _check_bias(op, bias, c_out)
    stride = pair(stride, "stride", op, 1)
    dilation = pair(dilation, "dilation", op, 1)
    ph, pw = pair(padding, "padding", op, 0)
    oph, opw = pair(output_padding, "output_padding", op, 0)
    if not (oph < max(stride[0], dilation[0]) and opw < max(stride[1], dilation[1])):
        raise ValueError(f"{op}: output_padding {(oph, opw)} must be smaller than either "
                         f"stride {stride} or dilation {dilation}")
    kh, kw = ws[2:]
    h = (xs[2] - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    w = (xs[3] - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if h < 1 or w < 1:
        raise ShapeError(f"{op}: the output size {(h, w)} for x of shape {shape_of(x)}, "
                         f"kernel {kh}x{kw}, stride {stride}, padding {(ph, pw)} is not "
                         "positive")
    check_size(op, "padded output", (xs[0], c_out, h + 2 * ph, w + 2 * pw),
               getattr(x, "dtype", None) or np.result_type(x))
    y = conv_transpose2d.bind(x, weight, input_size=(h, w), stride=stride,
                              padding=(ph, ph, pw, pw), dilation=dilation, groups=groups)
    return _add_bias(y, bias, c_out)


# ----------------------------------------------------------------------------------------
# conv2d_weight_grad: W(x, y), the adjoint of A in w (not public: the VJPs' third member)
# ----------------------------------------------------------------------------------------

@primitive
def conv2d_weight_grad(x, y, *, kernel_size, stride, padding, dilation, groups):
    """The adjoint in the weight of ``conv2d``: x (N, C, H, W), y (N, O, Ho', Wo') (or both
    unbatched), Ho' at most conv2d's output height; the other parameters canonical as for
    conv2d's forward. Returns (O, C/G, kH, kW) with (kH, kW) = ``kernel_size``."""
    if np.ndim(x) == 3:
        x, y = np.asarray(x)[None], np.asarray(y)[None]
    return weight_grad_nchw(x, y, tuple(kernel_size), stride, padding, dilation, groups)


conv2d_weight_grad.defvjp(
    lambda g, out, x, y, *, kernel_size, **p: conv_transpose2d.bind(
        y, g, input_size=shape_of(x)[-2:], **p),
    lambda g, out, x, y, *, kernel_size, **p: _crop_to(conv2d.bind(x, g, None, **p),
                                                       shape_of(y)),
)
