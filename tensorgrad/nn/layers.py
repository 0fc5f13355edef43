"""Layers with PyTorch's names, shapes, default initialisation and call style.

Every differentiable computation goes through tensorgrad ops; NumPy is used only to draw
initial values (from the generator given as ``rng=``) and to check shapes.
"""
from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..tensor import shape_of
from . import functional as nn_functional
from ._utils import RngLike, float_dtype, make_rng, pair, positive_int
from .functional import (
    _padding_idx,
    _probability,
    _real,
    dropout,
    elu,
    embedding,
    leaky_relu,
    silu,
    softplus,
)
from .module import Module, Parameter

__all__ = [
    "Linear", "Conv2d", "UntiedConv2d", "MaxPool2d", "AvgPool2d", "Identity", "Sigmoid",
    "ReLU", "Tanh", "Softmax", "LogSoftmax", "Flatten", "Reshape", "Dropout", "Embedding",
    "LeakyReLU", "ELU", "SiLU", "Softplus",
]


def _uniform(rng: np.random.Generator, bound: float, shape, dtype) -> np.ndarray:
    """U(-bound, bound) drawn in float64 (a seed gives the same values in every dtype)."""
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def _init_weight_and_bias(module, gen, weight_shape, fan_in, bias, dtype) -> None:
    """PyTorch's default initialisation of a layer's ``weight`` and (optional) ``bias``:
    both U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the weight drawn first."""
    bound = 1.0 / np.sqrt(fan_in)
    module.weight = Parameter(_uniform(gen, bound, weight_shape, dtype))
    if bias:
        module.bias = Parameter(_uniform(gen, bound, (weight_shape[0],), dtype))
    else:
        module.register_parameter("bias", None)


class Linear(Module):
    r"""Affine map :math:`y = x W^T + b` (PyTorch's ``torch.nn.Linear``).

    Parameters
    ----------
    in_features : int
        Size of each input sample, the last axis of ``x``.
    out_features : int
        Size of each output sample.
    bias : bool, default True
        Whether to learn an additive bias.
    rng : None, int or numpy.random.Generator, keyword-only
        Source of the initial values; an int is a seed, ``None`` the default generator
        (``tg.manual_seed``).
    dtype : floating dtype, keyword-only
        Default ``tg.get_default_dtype()`` (float64 unless changed).

    Attributes
    ----------
    weight : Parameter, shape ``(out_features, in_features)``
    bias : Parameter, shape ``(out_features,)``, or None
        Both initialised from :math:`U(-1/\sqrt{in}, 1/\sqrt{in})`, PyTorch's default
        (``kaiming_uniform_`` with ``a = sqrt(5)`` gives exactly this bound).

    Shapes
    ------
    input ``(..., in_features)`` -> output ``(..., out_features)``; a 1-D input
    ``(in_features,)`` gives ``(out_features,)``.

    Raises
    ------
    ValueError
        Sizes that are not positive ints.
    TypeError
        A non-floating ``dtype`` or an invalid ``rng``.
    ShapeError (a ValueError)
        In ``forward``, an input whose last axis is not ``in_features``.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn
    >>> layer = nn.Linear(3, 2, rng=0)
    >>> layer.weight.shape, layer.bias.shape
    ((2, 3), (2,))
    >>> layer(np.ones((4, 3))).shape
    (4, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 rng: RngLike = None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_features = positive_int(in_features, "in_features", name)
        self.out_features = positive_int(out_features, "out_features", name)
        dtype = float_dtype(dtype, name)
        gen = make_rng(rng, name)
        _init_weight_and_bias(self, gen, (self.out_features, self.in_features),
                              self.in_features, bias, dtype)

    def forward(self, x):
        """``x @ weight.T + bias`` for ``x`` of shape ``(..., in_features)``."""
        s = shape_of(x)
        if len(s) == 0 or s[-1] != self.in_features:
            raise ShapeError(f"Linear: expected an input of shape (..., {self.in_features}), "
                             f"got {s}")
        y = ops.linear(x, self.weight)
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Conv2d(Module):
    r"""2-D convolution (cross-correlation) over ``(N, C, H, W)`` images, PyTorch's
    ``torch.nn.Conv2d``; computed by :func:`tensorgrad.conv2d`.

    .. math::
        y[n, o, i, j] = b[o] + \sum_{c, a, e} w[o, c, a, e]\,
        x_p[n, g\,C_{in}/G + c,\ s_0 i + d_0 a,\ s_1 j + d_1 e]

    with :math:`x_p` the zero-padded input and :math:`g` the group of output channel
    :math:`o`.

    Parameters
    ----------
    in_channels, out_channels : int
        Both divisible by ``groups``.
    kernel_size : int or (int, int)
    stride : int or (int, int), default 1
    padding : int, (int, int), "valid" or "same", default 0
        Zeros added on both sides of each spatial axis; ``"same"`` (stride 1 only) keeps
        the input's size, as in PyTorch.
    dilation : int or (int, int), default 1
    groups : int, default 1
    bias : bool, default True
    rng : None, int or numpy.random.Generator, keyword-only
    dtype : floating dtype, keyword-only
        Default ``tg.get_default_dtype()`` (float64 unless changed).

    Attributes
    ----------
    weight : Parameter, shape ``(out_channels, in_channels // groups, kH, kW)``
    bias : Parameter, shape ``(out_channels,)``, or None
        Both from :math:`U(-1/\sqrt{k}, 1/\sqrt{k})`, ``k = in_channels / groups * kH * kW``
        (PyTorch's default initialisation).

    Shapes
    ------
    input ``(N, C_in, H, W)`` or ``(C_in, H, W)`` -> output ``(N, C_out, H_out, W_out)`` or
    ``(C_out, H_out, W_out)``, with
    ``H_out = floor((H + 2 p_0 - d_0 (kH - 1) - 1) / s_0) + 1`` (likewise ``W_out``).

    Raises
    ------
    ValueError
        Non-positive sizes, negative padding, channels not divisible by ``groups``,
        ``padding="same"`` with a stride other than 1.
    ShapeError (a ValueError)
        In ``forward``, an input that is not 3-D or 4-D with ``in_channels`` channels.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn
    >>> conv = nn.Conv2d(1, 5, 3, rng=0)
    >>> conv
    Conv2d(1, 5, kernel_size=(3, 3), stride=(1, 1))
    >>> conv.weight.shape
    (5, 1, 3, 3)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, *, rng: RngLike = None,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_channels = positive_int(in_channels, "in_channels", name)
        self.out_channels = positive_int(out_channels, "out_channels", name)
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = pair(stride, "stride", name)
        self.dilation = pair(dilation, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: padding must be an int, a pair, 'valid' or 'same', "
                                 f"got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride={self.stride}), as in PyTorch")
            self.padding = padding
        else:
            self.padding = pair(padding, "padding", name, minimum=0)
        self.groups = positive_int(groups, "groups", name)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{name}: in_channels ({self.in_channels}) and out_channels "
                             f"({self.out_channels}) must both be divisible by groups "
                             f"({self.groups})")
        dtype = float_dtype(dtype, name)
        gen = make_rng(rng, name)
        kh, kw = self.kernel_size
        _init_weight_and_bias(self, gen, (self.out_channels, self.in_channels // self.groups, kh, kw),
                              self.in_channels // self.groups * kh * kw, bias, dtype)

    def forward(self, x):
        """``tg.conv2d(x, weight, bias, stride, padding, dilation, groups)``."""
        s = shape_of(x)
        if len(s) not in (3, 4) or s[-3] != self.in_channels:
            raise ShapeError(f"Conv2d: expected an input of shape (N, {self.in_channels}, H, W) "
                             f"or ({self.in_channels}, H, W), got {s}")
        return ops.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                          dilation=self.dilation, groups=self.groups)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class UntiedConv2d(Module):
    r"""Valid, stride-1 convolution with an *untied* bias: one bias value per output element.

    The layer of the classic "CNN from scratch" derivation, as
    :class:`tensorgrad.reference.Convolution`:

    .. math:: Y_i = B_i + \sum_{j} X_j \star K_{ij}, \qquad
              Y[i, u, v] = B[i, u, v] + \sum_{j, a, b} X[j, u + a, v + b]\, K[i, j, a, b]

    computed as ``tg.conv2d(x, weight) + bias``.

    Parameters
    ----------
    input_shape : (int, int, int)
        ``(C, H, W)`` of one input image.
    kernel_size : int
        ``k``, with ``k <= H`` and ``k <= W``.
    depth : int
        ``d``, the number of kernels (output channels).
    rng : None, int or numpy.random.Generator, keyword-only
        Draws the kernels, then the bias, exactly as ``reference.Convolution`` does: the same
        seed gives the same initial values.
    dtype : floating dtype, keyword-only
        Default ``tg.get_default_dtype()`` (float64 unless changed).

    Attributes
    ----------
    weight : Parameter, shape ``(d, C, k, k)``
        ``reference.Convolution.kernels``; standard normal initial values.
    bias : Parameter, shape ``(d, H - k + 1, W - k + 1)``
        ``reference.Convolution.bias``; uniform on ``[0, 1)``.
    input_shape, output_shape : tuple of int

    Shapes
    ------
    input ``(C, H, W)`` -> output ``(d, H - k + 1, W - k + 1)``; a batch ``(N, C, H, W)`` ->
    ``(N, d, H - k + 1, W - k + 1)`` (the bias is shared by the batch).

    Raises
    ------
    ValueError
        ``input_shape`` not three positive ints, non-positive ``kernel_size`` or ``depth``,
        or a kernel larger than the image.
    ShapeError (a ValueError)
        In ``forward``, an input whose trailing shape is not ``input_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn
    >>> conv = nn.UntiedConv2d((1, 28, 28), 3, 5, rng=0)
    >>> conv.weight.shape, conv.bias.shape
    ((5, 1, 3, 3), (5, 26, 26))
    """

    def __init__(self, input_shape, kernel_size: int, depth: int, *, rng: RngLike = None,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        try:
            shape = tuple(input_shape)
        except TypeError:
            raise ValueError(f"{name}: input_shape must be (channels, height, width), got "
                             f"{input_shape!r}") from None
        if len(shape) != 3:
            raise ValueError(f"{name}: input_shape must be (channels, height, width), got "
                             f"{shape}")
        c, h, w = (positive_int(v, "input_shape", name) for v in shape)
        k = positive_int(kernel_size, "kernel_size", name)
        d = positive_int(depth, "depth", name)
        if k > h or k > w:
            raise ValueError(f"{name}: kernel_size {k} is larger than the input's height x width "
                             f"{h} x {w}")
        dtype = float_dtype(dtype, name)
        gen = make_rng(rng, name)
        self.input_shape = (c, h, w)
        self.kernel_size = k
        self.depth = d
        self.output_shape = (d, h - k + 1, w - k + 1)
        # the order and distributions of reference.Convolution: kernels, then bias
        self.weight = Parameter(gen.standard_normal((d, c, k, k)).astype(dtype))
        self.bias = Parameter(gen.random(self.output_shape).astype(dtype))

    def forward(self, x):
        """``conv2d(x, weight) + bias`` (valid, stride 1) for ``(C, H, W)`` or a batch."""
        s = shape_of(x)
        if len(s) not in (3, 4) or tuple(s[-3:]) != self.input_shape:
            c, h, w = self.input_shape
            raise ShapeError(f"UntiedConv2d: expected an input of shape ({c}, {h}, {w}) or "
                             f"(N, {c}, {h}, {w}), got {s}")
        return ops.conv2d(x, self.weight) + self.bias

    def extra_repr(self) -> str:
        return (f"input_shape={self.input_shape}, kernel_size={self.kernel_size}, "
                f"depth={self.depth}")


class _Pool2d(Module):
    _fn = staticmethod(ops.max_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", name)
        self.padding = pair(padding, "padding", name, minimum=0)
        for p, k in zip(self.padding, self.kernel_size):
            if 2 * p > k:
                raise ValueError(f"{name}: padding {self.padding} must be at most half the "
                                 f"kernel size {self.kernel_size}, as in PyTorch")

        self.options = {}   # the pooling function's other options, passed on as given

    def forward(self, x):
        return self._fn(x, self.kernel_size, stride=self.stride, padding=self.padding,
                        **self.options)

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        return s + "".join(f", {k}={v}" for k, v in self.options.items())


class MaxPool2d(_Pool2d):
    """2-D max pooling, PyTorch's ``torch.nn.MaxPool2d``; calls :func:`tensorgrad.max_pool2d`.

    Parameters
    ----------
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int), default 0
        At most half the kernel size; padded with -inf.
    dilation, return_indices, ceil_mode
        As :func:`tensorgrad.max_pool2d` (PyTorch's order of the arguments).

    Shapes
    ------
    ``(N, C, H, W)`` or ``(C, H, W)`` ->
    ``H_out = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1`` (likewise W; the ceiling with
    ``ceil_mode``).

    Raises
    ------
    ValueError
        Non-positive sizes, or padding more than half the kernel.
    """

    _fn = staticmethod(ops.max_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False) -> None:
        super().__init__(kernel_size, stride, padding)
        self.options = {k: v for k, v, default in (
            ("dilation", dilation, 1), ("return_indices", return_indices, False),
            ("ceil_mode", ceil_mode, False)) if v is not default}


class AvgPool2d(_Pool2d):
    """2-D average pooling, PyTorch's ``torch.nn.AvgPool2d``; calls
    :func:`tensorgrad.avg_pool2d`. ``kernel_size``, ``stride``, ``padding`` (zeros) and the
    shapes as :class:`MaxPool2d`; ``ceil_mode``, ``count_include_pad`` and
    ``divisor_override`` as :func:`tensorgrad.avg_pool2d` (PyTorch's order)."""

    _fn = staticmethod(ops.avg_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None) -> None:
        super().__init__(kernel_size, stride, padding)
        self.options = {k: v for k, v, default in (
            ("ceil_mode", ceil_mode, False), ("count_include_pad", count_include_pad, True),
            ("divisor_override", divisor_override, None)) if v is not default}


class Identity(Module):
    """Returns its input unchanged (``torch.nn.Identity``); any constructor arguments are
    ignored, as PyTorch's are."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x):
        return x


class Dropout(Module):
    """Inverted dropout, ``torch.nn.Dropout``: in training mode each element is zeroed with
    probability ``p`` and the others scaled by ``1 / (1 - p)``; in eval mode (``.eval()``) the
    input passes unchanged. Computed by :func:`tensorgrad.nn.functional.dropout`.

    Parameters
    ----------
    p : float in [0, 1], default 0.5
    inplace : bool, default False
        Accepted for PyTorch's signature; the result is always a new Tensor.
    rng : None, int or numpy.random.Generator, keyword-only
        The masks' source: a Generator is used (and advanced) as is, an int seeds one
        Generator made now, so successive calls draw different masks; None draws from the
        default generator at each call (``tg.manual_seed`` reseeds it).

    Shapes
    ------
    Any shape; the output has the input's shape and dtype.

    Raises
    ------
    ValueError
        ``p`` outside [0, 1].
    TypeError
        An invalid ``rng``; in ``forward``, an input that is not floating point.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn
    >>> drop = nn.Dropout(0.5, rng=0)
    >>> y = drop(np.ones(6))
    >>> sorted(set(y.data.tolist())) in ([0.0, 2.0], [0.0], [2.0])
    True
    >>> drop.eval()(np.ones(3)).data
    array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, *, rng: RngLike = None) -> None:
        super().__init__()
        self.p = _probability(p, type(self).__name__)
        self.inplace = bool(inplace)
        self._rng = None if rng is None else make_rng(rng, type(self).__name__)

    def forward(self, x):
        return dropout(x, self.p, self.training, rng=self._rng)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``,
    ``torch.nn.Embedding``: ``out[..., :] = weight[input[...], :]``
    (:func:`tensorgrad.nn.functional.embedding`).

    Parameters
    ----------
    num_embeddings, embedding_dim : int
    padding_idx : int, optional
        That row starts at zeros and receives no gradient; a negative one counts from the end.
    rng : None, int or numpy.random.Generator, keyword-only
    dtype : floating dtype, keyword-only
        Default ``tg.get_default_dtype()``.

    Attributes
    ----------
    weight : Parameter, shape ``(num_embeddings, embedding_dim)``
        Initialised from N(0, 1), PyTorch's default (drawn in float64, then cast).

    Shapes
    ------
    input: integer indices of any shape -> output ``input.shape + (embedding_dim,)``.

    Raises
    ------
    ValueError
        Sizes that are not positive ints, ``padding_idx`` out of range.
    TypeError, IndexError
        In ``forward``, non-integer indices or indices out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorgrad import nn
    >>> emb = nn.Embedding(10, 3, padding_idx=0, rng=0)
    >>> emb(np.array([[1, 2], [0, 9]])).shape
    (2, 2, 3)
    >>> emb.weight.data[0]
    array([0., 0., 0.])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 *, rng: RngLike = None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", name)
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", name)
        self.padding_idx = (None if padding_idx is None else
                            _padding_idx(padding_idx, self.num_embeddings, name))
        dtype = float_dtype(dtype, name)
        gen = make_rng(rng, name)
        w = gen.standard_normal((self.num_embeddings, self.embedding_dim)).astype(dtype)
        if self.padding_idx is not None:
            w[self.padding_idx] = 0
        self.weight = Parameter(w)

    def forward(self, x):
        """``weight[x]`` for integer indices ``x`` of any shape."""
        try:
            return embedding(x, self.weight, self.padding_idx)
        except (TypeError, IndexError) as e:
            raise type(e)(f"Embedding({self.num_embeddings}, {self.embedding_dim}): "
                          f"{e}") from None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


class Sigmoid(Module):
    """Elementwise logistic sigmoid 1 / (1 + exp(-x)), stable for large |x|
    (:func:`tensorgrad.sigmoid`). Any shape."""

    def forward(self, x):
        return ops.sigmoid(x)


class ReLU(Module):
    """Elementwise max(x, 0) (:func:`tensorgrad.relu`; gradient 0 at 0). Any shape.

    ``inplace`` is accepted for PyTorch's signature (``nn.ReLU(inplace=True)``); the result
    is always a new Tensor (tensorgrad records values, not mutations)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        return ops.relu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` where x > 0, ``negative_slope * x`` elsewhere, ``torch.nn.LeakyReLU``
    (:func:`tensorgrad.nn.functional.leaky_relu`). Any shape; ``inplace`` as :class:`ReLU`."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = _real(negative_slope, "negative_slope", "LeakyReLU")
        self.inplace = bool(inplace)

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` where x > 0, ``alpha * (exp(x) - 1)`` elsewhere, ``torch.nn.ELU``
    (:func:`tensorgrad.nn.functional.elu`). Any shape; ``inplace`` as :class:`ReLU`."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = _real(alpha, "alpha", "ELU")
        self.inplace = bool(inplace)

    def forward(self, x):
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SiLU(Module):
    """``x * sigmoid(x)``, ``torch.nn.SiLU`` (:func:`tensorgrad.nn.functional.silu`). Any
    shape; ``inplace`` as :class:`ReLU`."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        return silu(x)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta`` (``x`` above ``threshold``), ``torch.nn.Softplus``
    (:func:`tensorgrad.nn.functional.softplus`). Any shape."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = _real(beta, "beta", "Softplus")
        self.threshold = _real(threshold, "threshold", "Softplus")
        if self.beta == 0:
            raise ValueError("Softplus: beta must be non-zero")

    def forward(self, x):
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Tanh(Module):
    """Elementwise hyperbolic tangent (:func:`tensorgrad.tanh`). Any shape."""

    def forward(self, x):
        return ops.tanh(x)


class _AlongDim(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is not None and (isinstance(dim, (bool, np.bool_)) or not isinstance(dim, Integral)):
            raise TypeError(f"{type(self).__name__}: dim must be an int or None, got {dim!r}")
        self.dim = None if dim is None else int(dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along ``dim``, stable for large logits, ``torch.nn.Softmax``.
    Without ``dim``, PyTorch's implicit choice with its warning (dim 0 for 0-, 1- and 3-D
    inputs, else 1; :func:`tensorgrad.nn.functional.softmax`). Same shape as the input."""

    def forward(self, x):
        return nn_functional.softmax(x, self.dim)


class LogSoftmax(_AlongDim):
    """x - logsumexp(x) along ``dim``, ``torch.nn.LogSoftmax``; ``dim`` as :class:`Softmax`.
    Same shape as the input."""

    def forward(self, x):
        return nn_functional.log_softmax(x, self.dim)


class Flatten(Module):
    """Flatten the axes ``start_dim`` to ``end_dim`` (inclusive) into one, PyTorch's
    ``torch.nn.Flatten``.

    Parameters
    ----------
    start_dim : int, default 1
        The batch axis 0 is kept by default: ``(N, C, H, W) -> (N, C*H*W)``.
    end_dim : int, default -1

    Raises
    ------
    ShapeError (a ValueError)
        In ``forward``, axes outside the input's dimensions or ``start_dim`` after
        ``end_dim``.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for n, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, Integral):
                raise TypeError(f"Flatten: {n} must be an int, got {v!r}")
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x):
        s = tuple(shape_of(x))
        n = len(s)
        start = self.start_dim + n if self.start_dim < 0 else self.start_dim
        end = self.end_dim + n if self.end_dim < 0 else self.end_dim
        if not (0 <= start < max(n, 1) and 0 <= end < max(n, 1)) or start > end:
            raise ShapeError(f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do not "
                             f"select a range of axes of an input of shape {s}")
        new = s[:start] + (math.prod(s[start:end + 1]),) + s[end + 1:]
        return ops.reshape(x, shape=new)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Reshape(Module):
    """Reshape the whole input to ``shape`` (NumPy's ``reshape``; one ``-1`` allowed).

    The batch axis is not treated specially: ``Reshape(-1, 2880)`` turns ``(N, 5, 24, 24)``
    into ``(N, 2880)``, and ``Reshape(2880, 1)`` turns one ``(5, 24, 24)`` image into the
    column vector of :class:`tensorgrad.reference.Reshape`.

    Parameters
    ----------
    *shape : int
        Or one tuple of ints.

    Raises
    ------
    ValueError
        Entries that are not positive ints or ``-1``, or more than one ``-1``.
    ShapeError (a ValueError)
        In ``forward``, an input whose size does not fit ``shape``.
    """

    def __init__(self, *shape) -> None:
        super().__init__()
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        for v in shape:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, Integral) or (v < 1 and v != -1):
                raise ValueError(f"Reshape: shape entries must be positive ints or -1, got "
                                 f"{shape!r}")
        if sum(1 for v in shape if v == -1) > 1:
            raise ValueError(f"Reshape: at most one entry may be -1, got {shape!r}")
        self.shape = tuple(int(v) for v in shape)

    def forward(self, x):
        return ops.reshape(x, shape=self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"
